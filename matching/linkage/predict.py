"""Scoring: match weight, probability, decision and the readable breakdown.

The weight of a pair is the prior's log-odds plus, per field, the partial
weight log2(m/u) of its level, plus a term-frequency adjustment
log2(u_exact / tf(value)) where the field agrees exactly and has
``term_frequency`` on (a common value weighs less than a rare one).  The term
frequency has a floor: tf = n / max(total, 1/u_exact), with n the value's
count and total the number of values of both sides, so a value seen once
never weighs less than the exact level itself (without it, a rare name in a
table of a few records would have tf ≫ u_exact and lose many bits).  The
parts are constants per level, so scoring is one ``CASE`` per field in SQL.

``breakdown`` is a JSON list of ``[label, level, weight]`` (the field's label),
prior first; the weights add up to ``match_weight`` (to rounding: 4 decimals).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from matching.linkage.comparisons import Comparison, level_label_zh
from matching.linkage.em import FieldParams
from matching.linkage.spec import LinkSpec


def _lit(s: str) -> str:
    """An SQL string literal (for labels the spec chose; data never goes through here)."""
    return "'" + s.replace("'", "''") + "'"


def _fmt_w(weight: float) -> str:
    return f"{weight:.4f}".rstrip("0").rstrip(".") if weight else "0"


def _entry(label: str, level: str, weight: float | None = None) -> str:
    """JSON text of one breakdown entry ``[label, level, weight]``; with weight None the
    caller appends the weight and the closing bracket."""
    head = json.dumps([label, level], ensure_ascii=False)[:-1] + ", "
    return head if weight is None else head + _fmt_w(weight) + "]"


def _num(x: float) -> str:
    """A DOUBLE literal (a bare ``1.5`` would be DECIMAL in DuckDB)."""
    return f"{float(x)!r}::double"


def prior_weight(prior: float) -> float:
    return math.log2(prior / (1 - prior))


def score_sql(
    comparisons: list[Comparison],
    params: list[FieldParams],
    prior: float,
    spec: LinkSpec,
    c: str = "c",
    tf_totals: Mapping[str, float] | None = None,
) -> tuple[str, str]:
    """SQL expressions ``(match_weight, breakdown)`` over a row ``c`` of the comparison
    table (gamma_<field>, tf_<field>); the weight ignores vetoes (it is the evidence).

    ``tf_totals`` (``Prepared.tf_totals``) gives, per term-frequency field, the
    denominator of its ``tf`` column (n / total); the floored frequency is
    ``tf · total / max(total, 1/u_exact)``.  A field without a total is not floored."""
    labels = {f.name: f.label for f in spec.fields}
    pw = prior_weight(prior)
    weight_terms = [_num(pw)]
    pieces = [_lit(_entry("prior", "prior", pw))]
    for comp, p in zip(comparisons, params, strict=True):
        g = f"{c}.{comp.gamma_column}"
        w = p.weights
        label = labels[comp.field]
        whens = " ".join(f"when {gam} then {_num(w[gam])}" for gam in range(comp.n_levels))
        weight_terms.append(f"(case {g} {whens} else 0::double end)")
        jwhens = " ".join(
            f"when {gam} then {_lit(_entry(label, comp.label_of(gam), w[gam]))}" for gam in range(comp.n_levels)
        )
        pieces.append(f"(case {g} {jwhens} else {_lit(_entry(label, 'null', 0.0))} end)")
        if comp.tf_column:
            top = comp.n_levels - 1
            u_top = float(p.u[top])
            adj = f"log2({_num(u_top)} / ({c}.tf_{comp.field}{tf_scale_sql(comp.field, u_top, tf_totals)}))"
            cond = f"{g} = {top} and {c}.tf_{comp.field} > 0"
            weight_terms.append(f"(case when {cond} then {adj} else 0::double end)")
            head = _lit(_entry(label, "term_frequency"))
            pieces.append(f"(case when {cond} then {head} || round({adj}, 4)::varchar || ']' end)")
    weight = "(" + " + ".join(weight_terms) + ")"
    breakdown = "'[' || concat_ws(', ', " + ", ".join(pieces) + ") || ']'"
    return weight, breakdown


def tf_scale(total: float | None, u_exact: float) -> float:
    """The factor turning ``n / total`` into ``n / max(total, 1/u_exact)`` (1 without a total)."""
    if not total or total <= 0 or u_exact <= 0:
        return 1.0
    return float(total) / max(float(total), 1.0 / u_exact)


def tf_scale_sql(field: str, u_exact: float, tf_totals: Mapping[str, float] | None) -> str:
    """`` * factor`` for the SQL of the term frequency, or nothing when the floor does not bite."""
    k = tf_scale((tf_totals or {}).get(field), u_exact)
    return "" if k == 1.0 else f" * {_num(k)}"


def decide_select(spec: LinkSpec, veto_names: list[str], c: str = "c") -> str:
    """SELECT list: ``match_probability``, ``decision`` and ``veto_name`` from
    ``c.match_weight`` and ``c.veto`` (the 1-based number of the first veto rule met, or 0)."""
    t = spec.thresholds
    veto_case = "null::varchar"
    if veto_names:
        veto_case = f"case {c}.veto " + " ".join(f"when {i + 1} then {_lit(n)}" for i, n in enumerate(veto_names))
        veto_case += " end"
    w = f"{c}.match_weight"
    return ", ".join(
        [
            f"case when {c}.veto > 0 then 0.0 else 1.0 / (1.0 + pow(2.0, -{w})) end as match_probability",
            f"case when {c}.veto > 0 then 'none' when {w} >= {t.link!r} then 'link' "
            f"when {w} >= {t.review!r} then 'review' else 'none' end as decision",
            f"{veto_case} as veto_name",
        ]
    )


def waterfall(row: Mapping[str, Any] | Any | str, lang: str = "en") -> list[tuple[str, float]]:
    """The parts of a pair's match weight, prior first, as ``(label, weight)``.

    ``row`` is a row of the pairs table (a mapping, or an object with a
    ``breakdown`` attribute such as a named tuple) or the breakdown text
    itself.  The weights add up to ``match_weight`` (to 1e-3: they are rounded
    to 4 decimals).  With ``lang="zh"`` level names are Chinese
    (``姓名: 拼音相同``).  A vetoed pair keeps its weight (the evidence) but has
    probability 0: see its ``veto``.
    """
    if isinstance(row, str):
        text = row
    elif isinstance(row, Mapping) or hasattr(row, "__getitem__") and not hasattr(row, "breakdown"):
        text = row["breakdown"]
    else:
        text = row.breakdown
    out = []
    for label, level, weight in json.loads(text):
        if lang == "zh":
            level = level_label_zh(level)
        out.append((level if label == "prior" and level in ("prior", "先验") else f"{label}: {level}", float(weight)))
    return out
