"""Comparison levels per field kind, as SQL conditions on prepared columns.

Each field ``f`` of the spec becomes a :class:`Comparison`: a null condition
and an ordered list of levels, strongest first, the last one ``different``
(always true).  The comparison value gamma is ``-1`` for null, then counts
down from ``len(levels) - 1`` (strongest) to ``0`` (different), like Splink.

Conditions are written on the prepared columns (``l.f__v``, ``r.f__py`` …,
see :mod:`matching.linkage.prepare`) with ``l.``/``r.`` prefixes;
:func:`to_suffix_style` rewrites them as ``f__v_l``/``f__v_r`` for engines that
name columns that way (the benchmark hands the same levels to Splink).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from matching.linkage.spec import FieldSpec

# Chinese display labels of the level labels used below (waterfall(lang="zh"))
LEVEL_LABELS_ZH = {
    "null": "缺失",
    "exact": "完全相同",
    "pinyin": "拼音相同",
    "swapped": "姓名各部分顺序颠倒",
    "one_edit": "一位之差",
    "day_month_swapped": "日月颠倒",
    "year_month": "年月相同",
    "different": "不同",
    "prior": "先验",
    "term_frequency": "常见度调整",
}
_BANDS_ZH = [
    (re.compile(r"^jw>=(.+)$"), "相似(JW≥{})"),
    (re.compile(r"^lev<=(.+)$"), "编辑距离≤{}"),
    (re.compile(r"^diff<=(.+)$"), "相差≤{}"),
    (re.compile(r"^prefix(\d+)$"), "前{}位相同"),
    (re.compile(r"^last(\d+)$"), "末{}字相同"),
]


def level_label_zh(label: str) -> str:
    """The Chinese display label of a level label (custom labels are returned as they are)."""
    if label in LEVEL_LABELS_ZH:
        return LEVEL_LABELS_ZH[label]
    for pattern, text in _BANDS_ZH:
        m = pattern.match(label)
        if m:
            return text.format(m.group(1))
    return label


@dataclass(frozen=True)
class Level:
    """One comparison level: a label and its SQL condition (on ``l.``/``r.`` columns)."""

    label: str
    condition: str


SIM = "__SIM__"  # placeholder in level conditions for the field's similarity expression


@dataclass(frozen=True)
class Comparison:
    """The comparison of one field: null condition, levels strongest first, tf column.

    ``similarity`` (optional) is an SQL expression the band levels share (a
    Jaro-Winkler or an edit distance); their conditions name it ``__SIM__`` so
    that it can be computed once per pair and not once per band.
    """

    field: str
    kind: str
    null_condition: str
    levels: tuple[Level, ...]
    tf_column: str | None = None  # prepared column holding the term frequency of the value
    similarity: str | None = None

    @property
    def gamma_column(self) -> str:
        return f"gamma_{self.field}"

    @property
    def sim_column(self) -> str:
        return f"__sim_{self.field}"

    @property
    def n_levels(self) -> int:
        return len(self.levels)

    def gamma_of(self, index: int) -> int:
        """The gamma value of ``levels[index]``."""
        return self.n_levels - 1 - index

    def label_of(self, gamma: int) -> str:
        return "null" if gamma < 0 else self.levels[self.n_levels - 1 - gamma].label

    def condition(self, level: Level, sim_column: str | None = None) -> str:
        """A level's condition with the similarity inlined, or read from ``sim_column``."""
        if self.similarity is None:
            return level.condition
        return level.condition.replace(SIM, sim_column or f"({self.similarity})")

    def gamma_sql(self, sim_column: str | None = None) -> str:
        """``CASE`` expression giving gamma for a joined pair ``l``, ``r``."""
        whens = [f"when {self.null_condition} then -1"]
        for i, lvl in enumerate(self.levels[:-1]):
            whens.append(f"when {self.condition(lvl, sim_column)} then {self.gamma_of(i)}")
        return "(case " + " ".join(whens) + " else 0 end)::tinyint"


def _fmt(x: float) -> str:
    return f"{x:g}"


def build_comparison(f: FieldSpec) -> Comparison:
    """The comparison levels of a field spec (see ``docs/linkage.md`` for each kind)."""
    v = f"{f.name}__v"
    lv, rv = f"l.{v}", f"r.{v}"
    null = f"{lv} is null or {rv} is null"
    exact = Level("exact", f"{lv} = {rv}")
    different = Level("different", "true")
    sim: str | None = None
    k = f.kind
    if k == "exact":
        levels = [exact]
    elif k == "name":
        py, pat, nsyl = f"{f.name}__py", f"{f.name}__pat", f"{f.name}__nsyl"
        levels = [
            exact,
            Level(
                "pinyin",
                f"(l.{py} = r.{py} or (l.{nsyl} = r.{nsyl} and (l.{py} like r.{pat} or r.{py} like l.{pat})))",
            ),
        ]
        if f.swapped_names:
            # the same syllables in another order: a surname written last (Wei Wang for 王伟), the parts of a
            # minority name swapped around the dot (买买提·艾力 for 艾力·买买提); the Jaro-Winkler of the two
            # orders is low (0.58, 0.80), so without this level no band would hold them
            bag = f"{f.name}__bag"
            levels.append(Level("swapped", f"l.{bag} = r.{bag} and l.{nsyl} > 1"))
        # the bands share one Jaro-Winkler per pair (most pairs below the pinyin level reach both)
        sim = f"jaro_winkler_similarity(l.{py}, r.{py})"
        if f.given_name_bands:  # 王芳/王伟: the shared surname must not make the names look alike
            sur, given = f"{f.name}__surname_py", f"{f.name}__given_py"
            sim = f"case when l.{sur} = r.{sur} then jaro_winkler_similarity(l.{given}, r.{given}) else {sim} end"
        levels += [Level(f"jw>={_fmt(t)}", f"{SIM} >= {t!r}") for t in f.thresholds]
    elif k == "id_number":
        # one substitution or one adjacent transposition: same length, Hamming distance 1 or 2
        levels = [
            exact,
            Level(
                "one_edit",
                f"(case when length({lv}) = length({rv}) then hamming({lv}, {rv}) end) <= 2"
                f" and damerau_levenshtein({lv}, {rv}) = 1",
            ),
        ]
    elif k == "date":
        levels = [
            exact,
            Level("day_month_swapped", f"{lv} = r.{f.name}__swap"),
            # values are 8 digits: hamming first (cheap), Damerau only for the few left
            Level("one_edit", f"hamming({lv}, {rv}) <= 2 and damerau_levenshtein({lv}, {rv}) = 1"),
            Level("year_month", f"substr({lv}, 1, 6) = substr({rv}, 1, 6)"),
        ]
    elif k == "text_jw":
        sim = f"jaro_winkler_similarity({lv}, {rv})"
        levels = [exact] + [Level(f"jw>={_fmt(t)}", f"{SIM} >= {t!r}") for t in f.thresholds]
    elif k == "levenshtein":
        sim = f"levenshtein({lv}, {rv})"
        levels = [exact] + [Level(f"lev<={int(t)}", f"{SIM} <= {int(t)}") for t in f.thresholds]
    elif k == "numeric":
        levels = [exact] + [Level(f"diff<={_fmt(t)}", f"abs({lv} - {rv}) <= {t!r}") for t in f.thresholds]
    elif k == "prefix":
        levels = [exact] + [
            Level(f"prefix{int(n)}", f"substr({lv}, 1, {int(n)}) = substr({rv}, 1, {int(n)})") for n in f.thresholds
        ]
    elif k == "address":
        # a Chinese address runs from province to house number: its end tells people apart and
        # a missing prefix should cost little, so the bands compare its last n characters; the
        # prepared table holds hashes, so a level costs an integer equality per pair
        h = f"{f.name}__h"
        null = f"l.{h} is null or r.{h} is null"
        exact = Level("exact", f"l.{h} = r.{h}")
        levels = [exact] + [
            Level(f"last{int(n)}", f"l.{f.name}__tail{int(n)} = r.{f.name}__tail{int(n)}") for n in f.thresholds
        ]
    elif k == "custom":
        levels = [Level(c.label, f"({c.when})") for c in f.levels]
        null = f.null_when or f'l."{f.left_column}" is null or r."{f.right_column}" is null'
    else:  # pragma: no cover - spec validation rejects unknown kinds
        raise ValueError(k)
    if f.null_when and k != "custom":
        null = f"({null}) or ({f.null_when})"
    return Comparison(
        field=f.name,
        kind=k,
        null_condition=f"({null})",
        levels=(*levels, different),
        tf_column=f"{f.name}__tf" if f.term_frequency else None,
        similarity=sim,
    )


_L_R = re.compile(r'\b([lr])\."?([A-Za-z_][A-Za-z0-9_]*)"?')


def to_suffix_style(sql: str) -> str:
    """Rewrite ``l.col`` / ``r.col`` as ``col_l`` / ``col_r`` (Splink's comparison style)."""
    return _L_R.sub(lambda m: f'"{m.group(2)}_{m.group(1)}"', sql)


def referenced_columns(sql: str) -> dict[str, set[str]]:
    """Columns an SQL condition reads on each side: ``{"l": {...}, "r": {...}}``."""
    out: dict[str, set[str]] = {"l": set(), "r": set()}
    for side, col in _L_R.findall(sql):
        out[side].add(col)
    return out
