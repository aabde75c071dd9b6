"""Chinese name keys: normalized form, toneless pinyin, surname.

The functions here run in Python on the *distinct* names of a column (far
fewer than rows) and the results are joined back in DuckDB
(:func:`build_name_key_table`).  Per-character work (pinyin, traditional →
simplified) is done once per character; names of plain CJK characters are
then keyed with polars list expressions over that per-character table, the
others one by one with :func:`normalize_name`.

Normalization (``normalize_name``):

- NFKC (full-width Latin letters, digits and ``＊？`` become half-width), and a CJK radical that stands for a
  whole character (``⻩`` for 黄, ``matching.normalize.RADICALS``) that character;
- middle dots ``· • . ・ ‧ ∙ ⋅ ･``, the full stop ``。`` and hyphens ``-`` become ``·`` (minority and foreign names);
- placeholders for a character the system could not type (``* ? □ ■ ○ ×``)
  become ``*``;
- whitespace is removed inside Chinese names, collapsed in Latin ones;
- traditional characters become simplified (OpenCC ``t2s``, per character);
- Latin letters are lower-cased.

Pinyin (``pinyin_tokens``): one toneless syllable per Chinese character
(``ü`` written ``v``); a run of Latin letters is kept as one token, so a rare
character written in pinyin (``王yan明``) compares equal to the character; a
placeholder or a character without a known reading is the wildcard ``*``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from functools import cache, lru_cache

from matching.normalize import RADICALS

#: as matching.normalize.DOTS: middle-dot look-alikes, the ideographic full stop an input method types for `.` and a
#: hyphen separate a name's parts
_DOTS = str.maketrans({c: "·" for c in "·•.・‧∙⋅･。｡-‐‑‒–−－"})
_PLACEHOLDERS = str.maketrans({c: "*" for c in "*?□■○×"})

# two-character surnames (复姓) recognised at the start of a name
COMPOUND_SURNAMES = frozenset(
    "欧阳 司马 上官 诸葛 东方 皇甫 尉迟 公孙 慕容 长孙 宇文 司徒 夏侯 轩辕 令狐 钟离 端木 南宫 万俟 独孤 "
    "西门 呼延 澹台 公冶 濮阳 太史 申屠 赫连 闻人 百里 东郭 南门 羊舌 微生 梁丘 左丘 第五 拓跋 司空 "
    "仲孙 淳于 单于 宗政 公羊 谷梁 乐正 漆雕 壤驷 巫马 亓官 司寇 子车 颛孙 鲜于 闾丘".split()
)

# the reading of a polyphonic character when it is a surname (first character)
SURNAME_READINGS = {
    "单": "shan", "曾": "zeng", "仇": "qiu", "解": "xie", "查": "zha", "区": "ou", "朴": "piao",
    "盖": "ge", "缪": "miao", "乐": "yue", "覃": "qin", "翟": "zhai", "召": "shao", "种": "chong",
    "员": "yun", "繁": "po", "宓": "mi", "秘": "bi", "隗": "wei", "莘": "shen", "谌": "chen",
    "句": "gou", "阚": "kan", "长": "chang", "重": "chong", "折": "she", "尉": "yu", "万": "wan",
    "沈": "shen", "藏": "zang", "柏": "bai", "薄": "bo", "都": "du", "纪": "ji", "燕": "yan",
}


def is_cjk(ch: str) -> bool:
    """True for a CJK unified ideograph (basic block, extension A, compatibility, extensions B+)."""
    o = ord(ch)
    return 0x4E00 <= o <= 0x9FFF or 0x3400 <= o <= 0x4DBF or 0xF900 <= o <= 0xFAFF or 0x20000 <= o <= 0x3134F


@cache
def _t2s_converter():
    from opencc import OpenCC

    return OpenCC("t2s")


@lru_cache(maxsize=65536)
def _simplified(ch: str) -> str:
    out = _t2s_converter().convert(ch)
    return out if len(out) == 1 else ch


@lru_cache(maxsize=1)
def _pinyin_dict() -> dict[int, str]:
    # the per-character dictionary only (pypinyin's phrase dictionary costs ~60 MB and
    # a name's characters are read one by one anyway)
    from pypinyin.pinyin_dict import pinyin_dict

    return pinyin_dict


@lru_cache(maxsize=65536)
def _char_pinyin(ch: str) -> str:
    """Toneless pinyin of a character's first reading (as ``lazy_pinyin``), ``ü`` → ``v``;
    ``*`` when it has none."""
    from pypinyin.contrib.tone_convert import to_normal

    readings = _pinyin_dict().get(ord(ch))
    if not readings:
        return "*"
    s = to_normal(readings.split(",")[0], v_to_u=False)
    return s if s.isascii() and s.isalpha() else "*"


def normalize_name(name: str | None) -> str | None:
    """The comparable form of a name (see the module docstring); None for empty input."""
    if name is None:
        return None
    s = unicodedata.normalize("NFKC", str(name)).translate(RADICALS).translate(_DOTS).translate(_PLACEHOLDERS)
    has_cjk = any(is_cjk(c) for c in s)
    if has_cjk:
        s = "".join(s.split())
        s = "".join(_simplified(c) if is_cjk(c) else c for c in s)
    else:
        s = " ".join(s.split())
    s = s.lower().strip("·")
    while "··" in s:
        s = s.replace("··", "·")
    return s or None


def _toneless(c: str) -> str:
    """A Latin letter as pinyin is typed without tone marks (``á`` → ``a``, ``ǚ`` → ``v``); other characters as
    they are."""
    if c.isascii() or is_cjk(c):
        return c
    d = unicodedata.normalize("NFD", c)
    if not (d[0].isascii() and d[0].isalpha()):
        return c
    return "v" if d[0] == "u" and "\u0308" in d else d[0]


@lru_cache(maxsize=1)
def _syllable_set() -> frozenset[str]:
    """Every toneless pinyin syllable with a vowel (``zhang``, ``lv``; not the interjections ``m``, ``n``, ``ng``)."""
    from pypinyin.contrib.tone_convert import to_normal

    # ≈ 42,000 characters share ≈ 1,500 toned readings: each reading made toneless once (0.39 → 0.02 CPU-s a process)
    toned = {r for readings in _pinyin_dict().values() for r in readings.split(",")}
    out = set()
    for r in toned:
        s = to_normal(r, v_to_u=False)
        if s.isascii() and s.isalpha() and any(v in s for v in "aeiouv"):
            out.add(s)
    return frozenset(out)


@lru_cache(maxsize=65536)
def _syllables(run: str) -> tuple[str, ...]:
    """A run of Latin letters as pinyin syllables when it is nothing but pinyin (``zhangsanfeng`` → zhang san feng,
    longest syllable first: ``changan`` → chang an); any other run (``smith``) as one token."""
    known = _syllable_set()
    if run in known:
        return (run,)

    @cache
    def split(i: int) -> tuple[str, ...] | None:
        if i == len(run):
            return ()
        for j in range(min(len(run), i + 6), i, -1):
            if run[i:j] in known and (rest := split(j)) is not None:
                return (run[i:j], *rest)
        return None

    return split(0) or (run,)


def pinyin_tokens(norm: str | None) -> list[str]:
    """Toneless pinyin syllables of a normalized name (pinyin typed with tone marks, 王yáo明, loses them; a name
    written in pinyin, ``ZHANG SANFENG``, one token per syllable as its characters would give); ``*`` for
    unknown characters."""
    if not norm:
        return []
    out: list[str] = []
    run: list[str] = []
    first = True
    for c in map(_toneless, norm):
        if c.isascii() and c.isalpha():
            run.append(c)
            continue
        if run:
            out.extend(_syllables("".join(run)))
            run = []
            first = False
        if is_cjk(c):
            out.append((SURNAME_READINGS.get(c) or _char_pinyin(c)) if first else _char_pinyin(c))
            first = False
        elif c == "*":
            out.append("*")
            first = False
        elif c == "ü":
            run.append("v")
    if run:
        out.extend(_syllables("".join(run)))
    return out


def _typed_surname(norm: str) -> str | None:
    """A Chinese name's rare surname as the system could type it: the placeholder ``*`` (``*国强``) or its
    pinyin (``xuan国强``) before the Chinese characters; None for any other name."""
    if not any(is_cjk(c) for c in norm):
        return None
    if norm[0] == "*":
        return "*"
    m = re.match("[a-z]+", "".join(map(_toneless, norm)))  # xuán国强 as xuan国强
    return norm[: m.end()] if m and is_cjk(norm[m.end():][:1] or "a") else None


def surname_of(norm: str | None) -> str | None:
    """The surname of a normalized name: a compound surname, the first character,
    the part before ``·`` for transliterated names, a rare surname typed as ``*`` or in pinyin
    (``*国强``, ``xuan国强``), or the last word of a Latin name."""
    if not norm:
        return None
    if "·" in norm:
        return norm.split("·", 1)[0] or None
    if typed := _typed_surname(norm):
        return typed
    if not is_cjk(norm[0]):
        return norm.split(" ")[-1] if " " in norm else norm
    if len(norm) > 2 and norm[:2] in COMPOUND_SURNAMES:
        return norm[:2]
    return norm[0]


KEY_COLUMNS = ("norm", "py", "pat", "nsyl", "surname", "surname_py", "given_py", "bag")

# plain CJK character → (simplified character, pinyin): the fast path of name_keys
_PLAIN: dict[str, tuple[str, str]] = {}


def _keys_slow(raw: str | None) -> tuple:
    norm = normalize_name(raw)
    if norm and "·" in norm and any(is_cjk(c) for c in norm):
        # the dot of a minority name is a separator a clerk may write as `·`, `•`, `.`, `．`, a space or leave out
        # (阿依古丽买买提): one name, so its keys are those of the name without it — the same norm, pinyin, surname
        # (the first character, as for any Chinese name) and given name whichever way it was written
        norm = norm.replace("·", "")
    toks = pinyin_tokens(norm)
    sur = surname_of(norm)
    if not norm or not sur:
        sur_toks, given_toks = [], toks
    elif "·" not in norm and sur == _typed_surname(norm):
        n = len(pinyin_tokens(sur))  # the placeholder: one token; the pinyin run: its syllables (ouyang: ou yang)
        sur_toks, given_toks = toks[:n], toks[n:]
    elif not is_cjk(norm[0]):
        # Latin: "given surname"; the surname is the last word
        sur_toks, given_toks = (toks[-1:], toks[:-1]) if " " in norm else (toks, [])
    elif "·" in norm:
        n = len(pinyin_tokens(sur))
        sur_toks, given_toks = toks[:n], toks[n:]
    else:
        sur_toks, given_toks = toks[: len(sur)], toks[len(sur):]
    if norm:
        for c in norm:
            if is_cjk(c) and not 0xF900 <= ord(c) <= 0xFAFF and c not in _PLAIN:
                _PLAIN[c] = (_simplified(c), _char_pinyin(c))
    return norm, toks, sur, sur_toks, given_toks


def name_keys(names: Iterable[str | None]) -> dict[str, list]:
    """Keys for each name, as columns (lists aligned with ``names``; ``raw`` echoes the input).

    - ``norm``: normalized name; ``py``: pinyin syllables joined by spaces;
    - ``pat``: a LIKE pattern (``*`` → ``%``) when the name has a wildcard, else None;
    - ``nsyl``: number of syllables; ``surname`` / ``surname_py`` / ``given_py``;
    - ``bag``: the syllables sorted, joined by spaces: one name whatever the order of its parts (``Wei Wang``
      and 王伟, 买买提·艾力 and 艾力·买买提 have one bag).

    Names made only of plain CJK characters (nearly all) go through polars
    expressions on a per-character table; the rest through ``normalize_name``.
    """
    df = name_keys_frame(list(names))
    return {c: df[c].to_list() for c in df.columns}


def name_keys_frame(names: Sequence[str | None]):
    """:func:`name_keys` as a polars DataFrame (columns ``raw`` and KEY_COLUMNS)."""
    import polars as pl

    df = pl.DataFrame({"raw": pl.Series("raw", names, dtype=pl.String)}).with_row_index("i")
    df = df.with_columns(c=pl.col("raw").str.split(""))
    for c in df["c"].explode().drop_nulls().unique().to_list():
        if c and c not in _PLAIN and is_cjk(c) and not 0xF900 <= ord(c) <= 0xFAFF:
            _PLAIN[c] = (_simplified(c), _char_pinyin(c))
    simp = {c: v[0] for c, v in _PLAIN.items()}
    py = {c: v[1] for c, v in _PLAIN.items()}
    df = df.with_columns(
        plain=pl.col("c").list.eval(pl.element().is_in(list(_PLAIN))).list.all().fill_null(False)
        & (pl.col("c").list.len() > 0).fill_null(False),
        norm=pl.col("c").list.eval(pl.element().replace(simp)).list.join(""),
        toks=pl.col("c").list.eval(pl.element().replace_strict(py, default="*")),
    )
    fast = df.filter("plain").with_columns(
        toks=pl.concat_list(
            pl.col("norm").str.slice(0, 1).replace_strict(SURNAME_READINGS, default=pl.col("toks").list.first()),
            pl.col("toks").list.slice(1),
        ),
        n_sur=pl.when(
            (pl.col("norm").str.len_chars() > 2) & pl.col("norm").str.slice(0, 2).is_in(list(COMPOUND_SURNAMES))
        ).then(2).otherwise(1),
    ).select(
        "i",
        "raw",
        "norm",
        py=pl.col("toks").list.join(" "),
        pat=pl.when(pl.col("toks").list.contains("*"))
        .then(pl.col("toks").list.join(" ").str.replace_all("*", "%", literal=True)),
        nsyl=pl.col("toks").list.len().cast(pl.Int32),
        surname=pl.col("norm").str.slice(0, pl.col("n_sur")),
        surname_py=pl.col("toks").list.head(pl.col("n_sur")).list.join(" "),
        given_py=pl.col("toks").list.slice(pl.col("n_sur")).list.join(" ").replace("", None),
        bag=pl.col("toks").list.sort().list.join(" "),
    )
    rows = []
    for i, raw in df.filter(~pl.col("plain")).select("i", "raw").iter_rows():
        norm, toks, sur, sur_toks, given_toks = _keys_slow(raw)
        p = " ".join(toks) or None
        rows.append((i, raw, norm, p, p.replace("*", "%") if p and "*" in p else None, len(toks), sur,
                     " ".join(sur_toks) or None, " ".join(given_toks) or None, " ".join(sorted(toks)) or None))
    slow = pl.DataFrame(rows, schema=fast.schema, orient="row")
    return pl.concat([fast, slow]).sort("i").drop("i")


def build_name_key_table(
    con, sources: Sequence[tuple[str, str]], prefix: str, key_table: str, chunk: int = 100_000
) -> int:
    """Create ``key_table`` (``raw``, ``<prefix>__v`` (the normalized name), ``<prefix>__py`` …,
    ``<prefix>__tf``) from the distinct values of the ``(table, column)`` sources; callers
    join it back on ``raw``.  ``__tf`` is the share of the normalized name among all
    non-null names of the sources (term frequency).  Names are keyed ``chunk`` at a time
    (a chunk's per-character lists are the largest intermediate).

    Returns the total: the number of non-null names of the sources (the denominator of
    ``__tf``; scoring floors it, see :func:`matching.linkage.predict.score_sql`)."""
    import polars as pl

    union = " union all ".join(f'select "{c}"::varchar as v from {t}' for t, c in sources)
    counts = con.sql(f"select v, count(*)::bigint as n from ({union}) where v is not null group by v").pl()
    n_names = int(counts["n"].sum() or 0)
    total = max(n_names, 1)
    parts = []
    for off in range(0, len(counts), chunk):
        part = counts.slice(off, chunk)
        parts.append(name_keys_frame(part["v"]).with_columns(n=part["n"]))
    keys = pl.concat(parts) if parts else name_keys_frame([]).with_columns(n=pl.lit(0, pl.Int64))
    keys = keys.with_columns(tf=(pl.col("n").sum().over("norm") / total).cast(pl.Float32)).drop("n")
    keys = keys.rename({k: f"{prefix}__{'v' if k == 'norm' else k}" for k in KEY_COLUMNS} | {"tf": f"{prefix}__tf"})
    arrow = keys.to_arrow()
    del parts, keys
    con.register("__linkage_name_keys", arrow)
    try:
        con.sql(f"create or replace temp table {key_table} as select * from __linkage_name_keys")
    finally:
        con.unregister("__linkage_name_keys")
    return n_names
