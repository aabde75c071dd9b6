"""Candidate pairs from blocking rules, in SQL.

A blocking rule is an SQL condition on ``l.`` and ``r.`` columns of the
prepared tables, e.g. ``l.name__py = r.name__py and l.birth__v = r.birth__v``;
DuckDB turns its equalities into a hash join.  The candidate pairs are the
union of the rules: each rule's join yields only the two record numbers, and
a pair that several rules admit is kept once, under the first of them
(``blocking_rule`` in the output).
"""

from __future__ import annotations

from matching.linkage.exceptions import BlockingError


def rule_from_where(rules: tuple[str, ...] | list[str], i: int, left: str, right: str) -> str:
    """``FROM … JOIN … ON rule_i WHERE not rule_0 … not rule_(i-1)``: the pairs rule ``i``
    adds to the earlier ones."""
    where = [f"not coalesce(({r}), false)" for r in rules[:i]]
    sql = f"from {left} l join {right} r on ({rules[i]})"
    if where:
        sql += " where " + " and ".join(where)
    return sql


def candidate_pairs_sql(rules: tuple[str, ...] | list[str], left: str, right: str) -> str:
    """SELECT of the distinct candidate pairs ``li, ri`` (record numbers ``__rid``) and
    ``rule``, the first rule that admits the pair."""
    joins = " union all ".join(
        f"select l.__rid as li, r.__rid as ri, {i} as rule from {left} l join {right} r on ({rule})"
        for i, rule in enumerate(rules)
    )
    return f"select li, ri, min(rule)::tinyint as rule from ({joins}) group by li, ri"


def count_pairs(con, rules, left: str, right: str) -> list[int]:
    """New candidate pairs each rule adds (joins are counted, not materialized)."""
    return [
        con.sql(f"select count(*) {rule_from_where(rules, i, left, right)}").fetchall()[0][0]
        for i in range(len(rules))
    ]


def check_max_pairs(con, rules, left: str, right: str, max_pairs: int) -> list[int]:
    """Raise BlockingError when the rules admit more than ``max_pairs`` pairs."""
    counts = count_pairs(con, rules, left, right)
    if sum(counts) > max_pairs:
        detail = "; ".join(f"rule {i} ({r!r}): {n:,}" for i, (r, n) in enumerate(zip(rules, counts, strict=True)))
        raise BlockingError(
            f"the blocking rules admit {sum(counts):,} candidate pairs, more than max_pairs={max_pairs:,} "
            f"({detail}). Tighten the loosest rule or raise max_pairs."
        )
    return counts
