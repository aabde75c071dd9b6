"""Header maps: a department's Chinese headers → canonical columns (``maps/<source>.yaml``).

A map lists, per column, the department's ``header``, the canonical
``column``, its value ``type`` (``text id name date month amount number enum
region account``), optional ``values`` (enum), ``required`` and ``aliases``
(other headers seen for the same column), for amounts, ``unit`` (``元``
or ``万元``: the department's convention when its header names no unit;
default ``元``), for text, ``none_words``: cell texts that say there is
no value (``无``, ``/``…), staged as empty, and for enums, ``synonyms``: finer words a department writes
for one of the ``values`` (``儿媳`` for ``其他``, ``孙子`` for ``孙子女``), staged as that value, and for amounts,
``parts``: the headers of columns a department splits the amount into (``活期余额``, ``定期余额`` for ``余额``), read
by :mod:`connectors.amount_columns`, and for months, ``starts`` and ``ends``: the headers of a period given as two
columns (``所属期起``, ``所属期止``), read as one period (``2026-03-01至2026-03-31``: its month, where both ends fall in it),
and ``lookalikes``: headers that look like the column but name another value (``可用余额`` beside ``余额``), each with why
in Chinese: never read as the column, and the file's problems say why rather than inviting an alias.

Header matching ignores whitespace, full-width/half-width differences, case
and a unit in brackets or at the end (``注册资本（万元）``, ``注册资本万元`` and
``余额(元)`` match ``注册资本`` and ``余额``; ``建筑面积㎡`` matches ``建筑面积``).  An amount column's scale is the
header's unit where it names one (``万``… → 10000, ``元``/``人民币`` → 1), else
the map's ``unit``.  A unit written in a cell wins over both (staging:
``hd_amount`` / :func:`matching.normalize.parse_amount`).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import yaml

MAPS_DIR = Path(str(resources.files("connectors") / "maps"))  # package data of connectors
TYPES = frozenset({"text", "id", "name", "date", "month", "amount", "number", "enum", "region", "account"})
_IDENT = re.compile(r"[a-z][a-z0-9_]*")
_UNIT = re.compile(r"^(.*?)[(\[【]([^()\[\]【】]*)[)\]】]$")
_TRAILING_UNIT = re.compile(r"^(.+?)[/:：_-]?(亿元|千万元|百万元|万元|千元|万|元)$")
#: an area's unit written after a number column's header without brackets (建筑面积㎡, 建筑面积/平方米; NFKC makes ㎡ m2)
_TRAILING_AREA = re.compile(r"^(.+?)[/:：_-]?(m2|平方米|平米)$")
#: a header unit's magnitude, longest first (``千万`` before ``万``): yuan × this
_MAGNITUDES = (("千万", 1e7), ("百万", 1e6), ("亿", 1e8), ("万", 1e4), ("千", 1e3))
#: a header unit naming a foreign currency: its values cannot be taken as yuan
_FOREIGN = re.compile(r"美元|美金|港元|港币|澳门元|澳元|欧元|日元|英镑|外币|usd|hkd|eur|jpy|gbp")
_YUAN = re.compile(r"元|人民币|rmb|cny")
_WS = re.compile(r"\s+")
#: a header followed by its database field name (户名/ACCT_NAME, 余额（元）\nBALANCE): the Chinese part is the header
_CODE_TAIL = re.compile(r"^(.*[^\x00-\x7f].*?(?:[^\x00-\x7f]|[)\]】]))[/:：_-]?([a-z][a-z0-9_]{2,})$")
_UNIT_WORDS = re.compile(r"wan|yuan|rmb|cny|usd|hkd|eur|jpy|gbp|sqm|m2")  # a unit, not a field name: never cut
#: the header of a column naming each row's currency (a bank answer's 币种, a registry's 注册资本币种), as header_key
#: gives it: the amounts of a row whose currency is not yuan cannot be taken as yuan
CURRENCY_HEADERS = frozenset({"币种", "币别", "货币", "货币种类", "币种名称", "币种代码", "货币代码", "账户币种", "余额币种",
                              "注册资本币种", "出资币种", "认缴出资币种", "认缴币种", "注册资本币种名称"})
#: a currency cell meaning yuan (NFKC, upper-case, without whitespace, brackets and separators): the words, ISO 4217's
#: code and number and the sign, alone or together (人民币(元), 人民币/CNY, 156-人民币); a bank's own code (01) is not known
YUAN_CURRENCY = r"^(?:人民币|元|CNY|RMB|156|本币|¥)+$"
CURRENCY_NOISE = r"[\s()\[\]【】/\\\-_:：,，.·]+"
#: a title row's (or a footer's) statement of the amounts' unit: 单位：万元, 金额单位:元, （单位：万元）, 金额单位为万元
_TITLE_UNIT = re.compile(r"单位(?:[:：]|为|是)?[:：(\[【]?(亿元|千万元|百万元|万元|千元|元|万)(?=$|人民币|[)\]】,，;；。、/|])")  # not 单位：万达集团
#: a title row's (or a footer's) statement that the amounts are in a foreign currency: 金额单位：美元, 币种：港币
_TITLE_FOREIGN = re.compile(r"(?:单位|币种|币别|货币)(?:[:：]|为|是)?[:：(\[【]?(?:亿|千万|百万|万|千)?"
                            r"(美元|美金|港元|港币|澳门元|澳元|欧元|日元|英镑|外币|usd|hkd|eur|jpy|gbp)", re.IGNORECASE)
#: traditional forms of the characters a unit is written with (單位：萬元, 人民幣)
TRADITIONAL = _TRADITIONAL = str.maketrans("萬單幣", "万单币")
#: the marks of a required column in an import template (NFKC folds ＊ to *): never part of the column's name
_REQUIRED_MARKS = "*★☆※"
WAN = 10000.0
#: the units a map's ``unit`` may name, as scales
UNITS = {"元": 1.0, "万元": WAN}


def stated_units(rows: list[list[object]]) -> set[str]:
    """The amount units rows of a title or a footer state (``单位：万元``, ``金额单位为元``), and the foreign currency
    they state (``金额单位：美元``: ``美元``)."""
    texts = [_WS.sub("", unicodedata.normalize("NFKC", str(v))).translate(_TRADITIONAL) for row in rows for v in row
             if v is not None]
    return {m.group(1) for t in texts for rx in (_TITLE_UNIT, _TITLE_FOREIGN) for m in [rx.search(t)] if m}


def is_foreign(unit: str) -> bool:
    """A unit naming a currency other than the yuan (美元, HKD)."""
    return bool(_FOREIGN.search(unit.casefold()))


def unit_scale(unit: str) -> float:
    """Yuan per one of ``unit`` (a unit :func:`stated_units` gives: 万元 10000, 千元 1000, 元 1)."""
    return next((scale for word, scale in _MAGNITUDES if word in unit), 1.0)


def read_in_another_unit(smap: SourceMap, match: HeaderMatch, units: set[str]) -> str:
    """How ``match``'s amount columns were read where a footer states ``units`` other than theirs (Chinese), else ''."""
    scales = {unit_scale(u) for u in units}
    shown = {1.0: "元", 1e3: "千元", 1e4: "万元", 1e6: "百万元", 1e7: "千万元", 1e8: "亿元"}
    foreign = any(is_foreign(u) for u in units)  # 单位：美元 under amounts read as yuan
    wrong = [f"“{smap.spec(c).header}”按{shown.get(s, s)}读取" for c, s in match.scales.items()
             if c in smap.amount_columns and (foreign or len(scales) > 1 or s not in scales)]
    return "、".join(wrong)


class MapError(ValueError):
    """A header map file is missing or malformed; the message names the file and the fix."""


@dataclass(frozen=True)
class ColumnSpec:
    """One column of a header map."""

    header: str
    column: str
    type: str
    values: tuple[str, ...] = ()
    required: bool = False
    aliases: tuple[str, ...] = ()
    unit: str = "元"
    none_words: tuple[str, ...] = ()
    synonyms: tuple[tuple[str, str], ...] = ()
    parts: tuple[str, ...] = ()
    starts: tuple[str, ...] = ()  # a month's period given as two columns (所属期起, 所属期止): their headers
    ends: tuple[str, ...] = ()
    lookalikes: tuple[tuple[str, str], ...] = ()  # (header, why it is not this column, Chinese)

    @property
    def default_scale(self) -> float:
        """The scale of this amount column when its header names no unit (the map's ``unit``)."""
        return UNITS[self.unit]

    @property
    def essential(self) -> bool:
        """Without this column a file cannot be used at all (the ID column, or ``required``)."""
        return self.required or self.type == "id"


@dataclass(frozen=True)
class HeaderMatch:
    """How a file's header row lines up with a map.

    ``columns[i]`` is the canonical column of the file's i-th column (or None);
    ``scales`` the scale of each matched amount column; ``missing`` the map's
    columns the file lacks; ``extra`` the file's headers the map does not know;
    ``twins`` the later header cells naming an already matched column (the
    file's position, the column, its scale): :class:`connectors.raw.RawWriter`
    reads a row's value from them only where they agree with the first.
    """

    columns: tuple[str | None, ...]
    scales: dict[str, float]
    missing: tuple[ColumnSpec, ...]
    extra: tuple[str, ...]
    foreign: tuple[str, ...] = ()  # amount headers in a foreign currency: not used (their values are unknown)
    twins: tuple[tuple[int, str, float], ...] = ()
    currency: tuple[int, ...] = ()  # the file's positions of columns naming each row's currency (CURRENCY_HEADERS)
    foreign_at: tuple[tuple[int, str, str], ...] = ()  # the ``foreign`` headers: position, column, header as delivered
    parts: tuple[tuple[int, str, float, str], ...] = ()  # the parts of an amount column (``ColumnSpec.parts``): position,
    # column, scale, header as delivered
    periods: tuple[tuple[int, str, bool, str], ...] = ()  # a month's period ends (ColumnSpec.starts / ends): position,
    # column, whether the start, header as delivered

    @property
    def score(self) -> int:
        return sum(c is not None for c in self.columns)


def header_key(header: object) -> tuple[str, str]:
    """``(key, unit)`` of a header: NFKC, no whitespace, casefolded, a bracketed unit split off, the variant 帐 as 账
    (帐号, 帐户余额: the older writing of the same word, still in many systems' exports) and the marks an import
    template puts on a required column (``*证件号码``, ``证件号码★``) dropped."""
    s = _WS.sub("", unicodedata.normalize("NFKC", str(header or ""))).replace("\ufeff", "").strip("\"'")
    s = s.casefold().translate(_TRADITIONAL).replace("帐", "账").strip(_REQUIRED_MARKS)  # 余额（萬元）: 万 scales
    m = _UNIT.match(s)
    if m and m.group(1):
        return m.group(1).strip(_REQUIRED_MARKS), m.group(2)
    return s, ""


@dataclass(frozen=True)
class SourceMap:
    """A source's header map (see the module docstring)."""

    source: str
    title_zh: str
    columns: tuple[ColumnSpec, ...]
    _lookup: dict[str, ColumnSpec] = field(default_factory=dict, repr=False, compare=False)
    _parts: dict[str, ColumnSpec] = field(default_factory=dict, repr=False, compare=False)
    _ends: dict[str, tuple[ColumnSpec, bool]] = field(default_factory=dict, repr=False, compare=False)
    _lookalikes: dict[str, tuple[ColumnSpec, str]] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        lookup: dict[str, ColumnSpec] = {}
        for spec in self.columns:
            for h in (spec.header, *spec.aliases):
                lookup.setdefault(header_key(h)[0], spec)
        object.__setattr__(self, "_lookup", lookup)
        object.__setattr__(self, "_parts", {header_key(h)[0]: spec for spec in self.columns for h in spec.parts})
        object.__setattr__(self, "_ends", {header_key(h)[0]: (spec, h in spec.starts) for spec in self.columns
                                           for h in (*spec.starts, *spec.ends)})
        object.__setattr__(self, "_lookalikes", {header_key(h)[0]: (spec, why) for spec in self.columns
                                                 for h, why in spec.lookalikes})

    @property
    def canonical_columns(self) -> list[str]:
        return [c.column for c in self.columns]

    @property
    def amount_columns(self) -> list[str]:
        return [c.column for c in self.columns if c.type == "amount"]

    def spec(self, column: str) -> ColumnSpec:
        for c in self.columns:
            if c.column == column:
                return c
        raise KeyError(column)

    def first_of_type(self, type_: str) -> ColumnSpec | None:
        return next((c for c in self.columns if c.type == type_), None)

    def lookup(self, header: object) -> tuple[ColumnSpec | None, float | None]:
        """The column a delivered header means (or None) and its scale: for an amount, 10000
        when the header names 万元 (or 万; 千元 1000, 百万元, 千万元, 亿元 likewise), 1 when it
        names 元 or 人民币, else the map's unit; ``None`` when the header names a foreign
        currency (its values cannot be taken as yuan: the column is not used)."""
        key, unit = header_key(header)
        spec = self._lookup.get(key)
        if spec is None and (m := _TRAILING_UNIT.match(key)):
            spec = self._lookup.get(m.group(1))
            unit = unit or m.group(2)
        if spec is None and _FOREIGN.search(key):  # 外币余额, 美元余额, 余额usd: the amount in a foreign currency
            named = self._lookup.get(_FOREIGN.sub("", key))
            if named is not None and named.type == "amount":
                return named, None
        if spec is None and (m := _TRAILING_AREA.match(key)):
            spec = self._lookup.get(m.group(1))
            spec = spec if spec is not None and spec.type == "number" else None  # 余额m2 is no balance
        if spec is None and (m := _CODE_TAIL.match(key)) and not _UNIT_WORDS.search(m.group(2)):
            return self.lookup(m.group(1))  # 户名/ACCT_NAME: the header before its field name
        if spec is None or spec.type != "amount":
            return spec, 1.0
        if _FOREIGN.search(unit):
            return spec, None
        for word, scale in _MAGNITUDES:
            if word in unit:
                return spec, scale
        if _YUAN.search(unit):
            return spec, 1.0
        return spec, spec.default_scale

    def names_unit(self, header: object) -> bool:
        """The header names its amount's unit (``余额（万元）``, ``余额万元``), not the map's default."""
        key, unit = header_key(header)
        return bool(unit) or (self._lookup.get(key) is None and _TRAILING_UNIT.match(key) is not None)

    def lookalike(self, header: object) -> tuple[ColumnSpec, str] | None:
        """The column ``header`` looks like but is not (``可用余额``: ``余额``) and why (Chinese), else None."""
        key, _ = header_key(header)
        found = self._lookalikes.get(key)
        if found is None and (m := _TRAILING_UNIT.match(key)):
            found = self._lookalikes.get(m.group(1))
        return found

    def with_title_unit(self, title_rows: list[list[object]], header: list[str]) -> list[str]:
        """``header`` with the unit a title row above it states (``单位：万元``, ``金额单位：元``) written after
        each amount header that names none, as if the header said it: the header's own unit and a cell's
        still win.  Title rows stating two different units change nothing (which column is which?)."""
        units = stated_units(title_rows)
        foreign = sorted(u for u in units if is_foreign(u))
        if not foreign and len(units) != 1:
            return header
        unit = foreign[0] if foreign else units.pop()  # a foreign currency: the columns are not used (lookup)
        out = []
        for h in header:
            key, named = header_key(h)
            spec = self._lookup.get(key)
            bare = spec is not None and spec.type == "amount" and not named
            out.append(f"{h}（{unit}）" if bare else h)
        return out

    def match_headers(self, headers: list[object]) -> HeaderMatch:
        """Line a file's header row up with this map (first occurrence of a column wins; later ones are ``twins``)."""
        cols: list[str | None] = []
        scales: dict[str, float] = {}
        extra: list[str] = []
        foreign: list[str] = []
        twins: list[tuple[int, str, float]] = []
        currency: list[int] = []
        foreign_at: list[tuple[int, str, str]] = []
        parts: list[tuple[int, str, float, str]] = []
        periods: list[tuple[int, str, bool, str]] = []
        for i, h in enumerate(headers):
            spec, scale = self.lookup(h)
            if spec is None and (end := self._ends.get(header_key(h)[0])) is not None:
                cols.append(None)
                periods.append((i, end[0].column, end[1], str(h).strip()))
                continue
            if spec is None and (part := self._parts.get(header_key(h)[0])) is not None:
                spec, scale = self.lookup(f"{part.header}（{header_key(h)[1]}）") if header_key(h)[1] else (part, None)
                if scale is not None or not header_key(h)[1]:  # a part in yuan (or 万元): summed into its column
                    cols.append(None)
                    parts.append((i, part.column, scale if scale is not None else part.default_scale, str(h).strip()))
                    continue
            if spec is not None and scale is None:
                cols.append(None)
                foreign.append(str(h).strip())
                foreign_at.append((i, spec.column, str(h).strip()))
                continue
            if spec is not None and spec.column in scales:
                cols.append(None)
                twins.append((i, spec.column, scale))
                continue
            if spec is None:
                cols.append(None)
                if header_key(h)[0] in CURRENCY_HEADERS:
                    currency.append(i)
                elif h is not None and str(h).strip():
                    extra.append(str(h).strip())
                continue
            cols.append(spec.column)
            scales[spec.column] = scale
        missing = tuple(c for c in self.columns if c.column not in scales)
        return HeaderMatch(tuple(cols), scales, missing, tuple(extra), tuple(foreign), tuple(twins), tuple(currency),
                           tuple(foreign_at), tuple(parts), tuple(periods))


def _parse(data: object, path: Path) -> SourceMap:
    if not isinstance(data, dict) or not isinstance(data.get("columns"), list):
        raise MapError(f"表头映射文件{path}格式不对：需要 source、title_zh 和 columns 列表")
    specs = []
    for i, c in enumerate(data["columns"], 1):
        try:
            spec = ColumnSpec(
                header=str(c["header"]), column=str(c["column"]), type=str(c["type"]),
                values=tuple(str(v) for v in c.get("values") or ()), required=bool(c.get("required", False)),
                aliases=tuple(str(a) for a in c.get("aliases") or ()),
                unit=str(c.get("unit") or "元"),
                none_words=tuple(str(w) for w in c.get("none_words") or ()),
                synonyms=tuple((str(k), str(v)) for k, v in (c.get("synonyms") or {}).items()),
                parts=tuple(str(h) for h in c.get("parts") or ()),
                starts=tuple(str(h) for h in c.get("starts") or ()),
                ends=tuple(str(h) for h in c.get("ends") or ()),
                lookalikes=tuple((str(k), str(v)) for k, v in (c.get("lookalikes") or {}).items()),
            )
        except (KeyError, TypeError) as exc:
            raise MapError(f"表头映射文件{path}第{i}列缺少 header/column/type：{c!r}") from exc
        if spec.type not in TYPES:
            raise MapError(f"表头映射文件{path}第{i}列类型{spec.type!r}未知，可用：{', '.join(sorted(TYPES))}")
        if spec.unit not in UNITS or (spec.unit != "元" and spec.type != "amount"):
            raise MapError(f"表头映射文件{path}第{i}列的单位{spec.unit!r}不可用：只有金额列可写 unit，取值 元 或 万元")
        if spec.none_words and spec.type != "text":
            raise MapError(f"表头映射文件{path}第{i}列：只有文本列（type: text）可写 none_words")
        if spec.synonyms and (spec.type != "enum" or any(v not in spec.values for _, v in spec.synonyms)):
            raise MapError(f"表头映射文件{path}第{i}列：synonyms 只可写在枚举列（type: enum），且每个词须对应 values 中的一个值")
        if spec.parts and spec.type != "amount":
            raise MapError(f"表头映射文件{path}第{i}列：只有金额列（type: amount）可写 parts")
        if (spec.starts or spec.ends) and (spec.type != "month" or not (spec.starts and spec.ends)):
            raise MapError(f"表头映射文件{path}第{i}列：starts/ends（所属期起、止两列）只可写在月份列（type: month），且须成对")
        if not _IDENT.fullmatch(spec.column):
            raise MapError(f"表头映射文件{path}第{i}列的列名{spec.column!r}须为小写英文、数字和下划线")
        specs.append(spec)
    names = [s.column for s in specs]
    if len(set(names)) != len(names):
        raise MapError(f"表头映射文件{path}有重复的列名")
    source = str(data.get("source") or path.stem)
    return SourceMap(source=source, title_zh=str(data.get("title_zh") or source), columns=tuple(specs))


def load_map(source: str, maps_dir: Path | None = None) -> SourceMap:
    """The map of ``source`` from ``maps_dir`` (default ``connectors/maps``).

    Raises :class:`MapError` when the file is missing or malformed.
    """
    if not _IDENT.fullmatch(source):
        raise MapError(f"来源名{source!r}不合法：须为小写英文、数字和下划线")
    path = (maps_dir or MAPS_DIR) / f"{source}.yaml"
    try:
        stat = path.stat()
    except OSError:
        stat = None
    if stat is None or not path.is_file():
        raise MapError(f"没有来源{source!r}的表头映射文件{path}；请在 connectors/maps/ 下添加")
    return _parsed(path, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=256)
def _parsed(path: Path, _mtime_ns: int, _size: int) -> SourceMap:
    """A map file parsed once per version (its mtime and size): the urgent path asks for each map many times."""
    return _parse(yaml.safe_load(path.read_text(encoding="utf-8")), path)


def list_sources(maps_dir: Path | None = None) -> list[str]:
    """Every source with a map, sorted."""
    return sorted(p.stem for p in (maps_dir or MAPS_DIR).glob("*.yaml"))
