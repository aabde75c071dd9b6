"""link_tables: prepare → block and compare → estimate → score, on a caller's DuckDB connection."""

from __future__ import annotations

import logging
import math
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from matching.linkage import blocking, em
from matching.linkage.comparisons import Comparison, build_comparison, referenced_columns, to_suffix_style
from matching.linkage.exceptions import InputError, SpecError
from matching.linkage.predict import decide_select, prior_weight, score_sql
from matching.linkage.prepare import prepare
from matching.linkage.spec import LinkSpec

log = logging.getLogger(__name__)


@dataclass
class FieldModel:
    """Estimated parameters of one field, levels strongest first."""

    name: str
    kind: str
    levels: list[str]
    m: list[float]
    u: list[float]
    weights: list[float]


@dataclass
class LinkModel:
    """The trained model: prior and per-field m, u and partial weights."""

    prior: float
    prior_weight: float
    fields: list[FieldModel]

    def to_dict(self) -> dict[str, Any]:
        return {
            "prior": self.prior,
            "prior_weight": self.prior_weight,
            "fields": [f.__dict__ for f in self.fields],
        }


@dataclass
class LinkResult:
    """What a linkage did: sizes, decisions, the model and where the time went."""

    out_table: str
    n_left: int
    n_right: int
    n_candidates: int
    candidates_per_rule: list[int]
    n_link: int
    n_review: int
    n_vetoed: int
    model: LinkModel
    em_iterations: int
    em_converged: bool
    seconds: dict[str, float] = field(default_factory=dict)  # wall time per step and total
    cpu_seconds: dict[str, float] = field(default_factory=dict)  # process CPU time (all threads)


class _Clock:
    """Wall and CPU time per step."""

    def __init__(self) -> None:
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self._w0 = self._w = time.perf_counter()
        self._c0 = self._c = time.process_time()

    def lap(self, step: str) -> None:
        w, c = time.perf_counter(), time.process_time()
        self.wall[step], self.cpu[step] = w - self._w, c - self._c
        self._w, self._c = w, c

    def total(self) -> None:
        self.wall["total"] = time.perf_counter() - self._w0
        self.cpu["total"] = time.process_time() - self._c0


def _comparisons(spec: LinkSpec) -> list[Comparison]:
    comps = [build_comparison(f) for f in spec.fields]
    for f, c in zip(spec.fields, comps, strict=True):
        for key, val in (("m", f.m), ("u", f.u)):
            if val is not None and len(val) != c.n_levels:
                raise SpecError(
                    f"fields[{f.name}].{key}: {len(val)} values given, the {f.kind!r} comparison has "
                    f"{c.n_levels} levels ({', '.join(lv.label for lv in c.levels)})"
                )
    return comps


def _pattern_arrays(con, sql: str, n_fields: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rows = con.sql(sql).fetchall()
    if not rows:
        return np.zeros((0, n_fields), dtype=np.int64), np.zeros(0), np.zeros(0, dtype=bool)
    arr = np.array(rows, dtype=np.float64)
    return arr[:, :n_fields].astype(np.int64), arr[:, n_fields + 1], arr[:, n_fields].astype(bool)


def _marginals(G: np.ndarray, counts: np.ndarray, comps: list[Comparison]) -> list[np.ndarray]:
    out = []
    for k, c in enumerate(comps):
        g = G[:, k]
        ok = g >= 0
        out.append(np.bincount(g[ok], weights=counts[ok], minlength=c.n_levels).astype(float))
    return out


def compare_sql(comps: list[Comparison], source: str, keep: list[str], veto: str | None = None) -> str:
    """SELECT of the comparison vectors of the pairs in ``source`` (a FROM clause with the
    records aliased ``l`` and ``r``): the ``keep`` columns, ``gamma_<field>``,
    ``tf_<field>`` and, with ``veto``, the number of the first veto rule met.  The columns
    the conditions read come from an inner select, suffixed ``_l``/``_r``, where each
    field's similarity is computed once."""
    gammas = [c.gamma_sql(c.sim_column if c.similarity else None) for c in comps]
    tf_comps = [c for c in comps if c.tf_column]
    tfs = [f"greatest(l.{c.tf_column}, r.{c.tf_column})" for c in tf_comps]
    read: dict[str, set[str]] = {"l": set(), "r": set()}
    for sql in [*gammas, *tfs, veto or ""]:
        for side, names in referenced_columns(sql).items():
            read[side].update(names)
    inner = list(keep)
    inner += [f'{side}."{c}" as "{c}_{side}"' for side in ("l", "r") for c in sorted(read[side])]
    inner += [f"{c.similarity} as {c.sim_column}" for c in comps if c.similarity]
    outer = [k.split(".")[-1] for k in keep]
    outer += [f"{to_suffix_style(g)} as {c.gamma_column}" for g, c in zip(gammas, comps, strict=True)]
    outer += [f"{to_suffix_style(t)}::float as tf_{c.field}" for t, c in zip(tfs, tf_comps, strict=True)]
    if veto is not None:
        outer.append(f"({to_suffix_style(veto)})::tinyint as veto")
    return f"select {', '.join(outer)} from (select {', '.join(inner)} from {source})"


def _sample_sql(table: str, seed: int, k: int) -> str:
    """``k`` records of a prepared table chosen by a seeded md5 of their unique id (the same
    records in every run and DuckDB version); a top-k, not a sort.  (A seeded integer hash
    of ``__rid`` would spare the 2 × n string hashes, ~1 CPU s at 1M × 1M, but picks
    other records, and on synth_200k the u they gave lost 5 of 160,000 links.)"""
    return f"select * from {table} order by md5_number_lower(__uid || '#{int(seed)}'), __uid limit {int(k)}"


def exact_rule_fields(spec: LinkSpec) -> set[str]:
    """Fields some blocking rule joins on their exact value alone (``l.f__v = r.f__v``): every
    pair agreeing exactly on them is a candidate, so the candidates count those pairs."""
    rules = {" ".join(r.lower().split()) for r in spec.blocking_rules}
    out = set()
    for f in spec.fields:
        v = f"{f.name}__v".lower()
        if f.kind != "custom" and not f.null_when and (f"l.{v} = r.{v}" in rules or f"r.{v} = l.{v}" in rules):
            out.add(f.name)
    return out


def _u_counts(
    con, prep, spec: LinkSpec, comps: list[Comparison], cand_agree: dict[str, float] | None = None
) -> tuple[list[np.ndarray], list[float]]:
    """Counts per level (before removing the matches among them, after EM) and the
    smallest u each field may take.

    Levels other than exact come from ``u_sample_pairs`` random pairs (all pairs
    when there are fewer).  The exact level of a field compared on its value is
    counted over *all* pairs from the value frequencies of both sides (sum of
    count_left × count_right): exact and cheap; the sampled levels are scaled to
    the remaining pairs.  Where a blocking rule joins on the field's value alone,
    ``cand_agree`` gives that count from the candidates instead (every pair
    agreeing exactly is a candidate, so no extra pass over the values).  No u goes below half a pair of the sample: a level never
    seen among the sampled pairs is rare, not impossible.
    """
    L, R = prep.left, prep.right
    n_total = float(prep.n_left) * float(prep.n_right)
    if n_total <= spec.em.u_sample_pairs:
        source = f"{L} l cross join {R} r"
    else:
        # k records of each side, chosen by a seeded hash of their unique id, crossed: k² pairs
        # (as Splink samples); no join against the full tables
        s = int(spec.em.seed)
        k_l = min(prep.n_left, max(1, int(math.sqrt(spec.em.u_sample_pairs))))
        k_r = min(prep.n_right, max(1, spec.em.u_sample_pairs // k_l))
        source = f"({_sample_sql(L, s, k_l)}) l cross join ({_sample_sql(R, s + 1, k_r)}) r"
    glist = ", ".join(c.gamma_column for c in comps)
    Gu, cu, _ = _pattern_arrays(
        con, f"select {glist}, false, count(*) from ({compare_sql(comps, source, [])}) group by all", len(comps)
    )
    sampled = _marginals(Gu, cu, comps)
    floors = [0.5 / max(c.sum(), 1.0) for c in sampled]
    if n_total <= spec.em.u_sample_pairs:
        return sampled, floors
    out = []
    for f, c, counts in zip(spec.fields, comps, sampled, strict=True):
        top = c.n_levels - 1
        rest = counts[:top].sum()
        if f.kind == "custom" or rest == 0:
            out.append(counts)
            continue
        v = f"{f.name}__v"
        if cand_agree and f.name in cand_agree:  # the pairs agreeing exactly are all candidates
            nn = con.sql(
                f"select (select count({v}) from {L})::double * (select count({v}) from {R})::double"
            ).fetchall()[0][0]
            agree = cand_agree[f.name]
        else:
            agree, nn = con.sql(
                f"select coalesce(sum(nl * nr), 0)::double, sum(nl)::double * sum(nr)::double from ("
                f"select count(*) filter (s = 0) as nl, count(*) filter (s = 1) as nr from ("
                f"select {v} as v, 0 as s from {L} union all select {v}, 1 from {R}) where v is not null group by v)"
            ).fetchall()[0]
        if not nn:
            out.append(counts)
            continue
        full = counts.astype(float) * ((nn - agree) / rest)
        full[top] = agree
        out.append(full)
    return out, floors


def link_tables(con, left_table: str, right_table: str, spec: LinkSpec, out_table: str) -> LinkResult:
    """Link two DuckDB tables by the spec and write the scored pairs to ``out_table``.

    ``out_table`` (replaced) has ``left_id, right_id, match_weight,
    match_probability, decision ('link'|'review'|'none'), veto, gamma_<field>…,
    breakdown, blocking_rule`` for the pairs at or above the output weight
    (the review threshold unless the spec says otherwise).

    The connection's ``threads`` and ``memory_limit`` change only if the spec
    sets them (``duckdb:``); its progress bar is turned off.  Working tables are
    temporary and dropped at the end.

    Raises SpecError (bad spec), InputError (missing column, non-unique id),
    BlockingError (more candidates than ``max_pairs``).
    """
    clock = _Clock()
    con.sql("set enable_progress_bar = false")
    if spec.threads:
        con.sql(f"set threads = {int(spec.threads)}")
    if spec.memory_limit:
        con.sql(f"set memory_limit = '{spec.memory_limit.replace(chr(39), '')}'")
    comps = _comparisons(spec)
    prefix = f"__lk_{uuid.uuid4().hex[:8]}"
    prep = prepare(con, left_table, right_table, spec, prefix)
    clock.lap("prepare")
    try:
        return _link_prepared(con, prep, spec, comps, prefix, out_table, clock)
    finally:
        for t in (prep.left, prep.right, f"{prefix}_pairs", f"{prefix}_cmp"):
            con.sql(f"drop table if exists {t}")


def _link_prepared(con, prep, spec, comps, prefix, out_table, clock: _Clock) -> LinkResult:
    L, R = prep.left, prep.right
    rules = spec.blocking_rules
    if spec.max_pairs is not None:
        blocking.check_max_pairs(con, rules, L, R, spec.max_pairs)

    # 1. candidate pairs (record numbers only), then one pass computing the comparison
    # vectors: the columns it reads come from an inner select, suffixed _l/_r, with each
    # field's similarity computed once
    pairs = f"{prefix}_pairs"
    try:
        con.sql(f"create or replace temp table {pairs} as {blocking.candidate_pairs_sql(rules, L, R)}")
    except Exception as e:
        raise SpecError(f"a blocking rule failed in DuckDB ({'; '.join(rules)}): {e}") from e
    by_rule = dict(con.sql(f"select rule, count(*) from {pairs} group by rule").fetchall())
    per_rule = [int(by_rule.get(i, 0)) for i in range(len(rules))]

    gcols = [c.gamma_column for c in comps]
    veto = "0"
    if spec.veto_rules:
        veto = "case " + " ".join(f"when ({v.when}) then {i + 1}" for i, v in enumerate(spec.veto_rules)) + " else 0 end"
    cmp = f"{prefix}_cmp"
    try:
        con.sql(
            f"create or replace temp table {cmp} as "
            + compare_sql(comps, f"{pairs} p join {L} l on l.__rid = p.li join {R} r on r.__rid = p.ri",
                          ["p.li", "p.ri", "p.rule"], veto)
        )
    except Exception as e:
        raise SpecError(f"a comparison or veto rule failed in DuckDB: {e}") from e
    con.sql(f"drop table {pairs}")
    n_cand = sum(per_rule)
    clock.lap("block_compare")
    log.info("linkage: %s candidate pairs (%s per rule)", n_cand, per_rule)

    # 2. estimation on pattern counts
    glist = ", ".join(gcols)
    G, counts, vetoed = _pattern_arrays(
        con, f"select {glist}, max(veto) > 0, count(*) from {cmp} group by {glist}, veto > 0", len(comps)
    )
    n_total = float(prep.n_left) * float(prep.n_right)
    if all(f.u is not None for f in spec.fields):
        # every u fixed by the spec: the random pairs' counts would set none (fixed_or_initial and
        # correct_u_for_matches skip a fixed u), and sampling them is the estimate's one real query
        u_counts, u_floors = [None] * len(comps), [None] * len(comps)
    else:
        tops = {c.field: c.n_levels - 1 for c in comps}
        cand_agree = {
            c.field: float(counts[G[:, k] == tops[c.field]].sum())
            for k, c in enumerate(comps) if c.field in exact_rule_fields(spec)
        }
        u_counts, u_floors = _u_counts(con, prep, spec, comps, cand_agree)
    params = em.fixed_or_initial(
        comps, [f.m for f in spec.fields], [f.u for f in spec.fields], u_counts, u_floors
    )
    within = spec.em.u_from == "em"
    prior0 = spec.prior if spec.prior is not None else (
        0.5 if within else 1.0 / max(prep.n_left, prep.n_right)
    )
    kwargs = dict(
        fix_prior=spec.prior is not None,
        within_candidates=within,
        max_iterations=spec.em.max_iterations,
        tolerance=spec.em.tolerance,
    )
    res = em.run_em(G, counts, vetoed, params, max(n_cand, 1) if within else n_total, prior0, **kwargs)
    if not within and len(G):
        em.correct_u_for_matches(u_counts, u_floors, params, res.prior)
        res = em.run_em(G, counts, vetoed, params, n_total, res.prior, **kwargs)
    clock.lap("estimate")
    log.info("linkage: EM %s iterations (converged %s), prior %.3g", res.iterations, res.converged, res.prior)

    # 3. scoring: weight every candidate, keep those at or above the output weight, decide,
    # (one-to-one: demote all but each record's best link to review), then name the records
    weight, _ = score_sql(comps, params, res.prior, spec, "c", prep.tf_totals)
    _, breakdown = score_sql(comps, params, res.prior, spec, "s", prep.tf_totals)
    min_w = spec.output_min_weight if spec.output_min_weight is not None else spec.thresholds.review
    keep = "" if spec.output_all else f"where match_weight >= {min_w!r}"
    gsel = ", ".join(f"s.{g}" for g in gcols)
    con.sql(
        f"""
        create or replace table {out_table} as
        with weighted as (
            select c.*, {weight} as match_weight from {cmp} c
        ),
        kept as (
            select * from weighted {keep}
        ),
        decided as (
            select k.*, {decide_select(spec, [v.name for v in spec.veto_rules], "k")} from kept k
        ),
        ranked as (
            {_one_to_one_sql("decided", spec.one_to_one)}
        ),
        final as (
            select l.__uid as left_id, r.__uid as right_id, s.match_weight, s.match_probability, s.decision,
                   s.veto_name as veto, {gsel}, {breakdown} as breakdown, s.rule as blocking_rule
            from ranked s
            join {L} l on l.__rid = s.li
            join {R} r on r.__rid = s.ri
        )
        select * from final
        """
    )
    n_link, n_review, n_vetoed = con.sql(
        f"select count(*) filter (decision = 'link'), count(*) filter (decision = 'review'), "
        f"count(*) filter (veto is not null) from {out_table}"
    ).fetchall()[0]
    clock.lap("score")
    clock.total()

    model = LinkModel(
        prior=res.prior,
        prior_weight=prior_weight(res.prior),
        fields=[
            FieldModel(
                name=c.field,
                kind=c.kind,
                levels=[lv.label for lv in c.levels],
                m=[float(x) for x in p.m[::-1]],
                u=[float(x) for x in p.u[::-1]],
                weights=[float(x) for x in p.weights[::-1]],
            )
            for c, p in zip(comps, params, strict=True)
        ],
    )
    return LinkResult(
        out_table=out_table,
        n_left=prep.n_left,
        n_right=prep.n_right,
        n_candidates=n_cand,
        candidates_per_rule=per_rule,
        n_link=n_link,
        n_review=n_review,
        n_vetoed=n_vetoed,
        model=model,
        em_iterations=res.iterations,
        em_converged=res.converged,
        seconds=clock.wall,
        cpu_seconds=clock.cpu,
    )


def _one_to_one_sql(table: str, sides: str) -> str:
    """SELECT over ``table`` keeping 'link' only for the best link of each record on the
    constrained side(s) (``left``: a left record links at most once; ``both``: mutual
    best; ties go to the lower record number); the other links of those records become
    'review'."""
    if sides == "none":
        return f"select * from {table}"
    worse = {"left": "bl.best <> d.ri", "right": "br.best <> d.li", "both": "(bl.best <> d.ri or br.best <> d.li)"}
    return f"""
        select d.* replace (
            case when d.decision = 'link' and {worse[sides]} then 'review' else d.decision end as decision)
        from {table} d
        left join (select li, arg_max(ri, {_rank_key("ri")}) as best
                   from {table} where decision = 'link' group by li) bl on bl.li = d.li
        left join (select ri, arg_max(li, {_rank_key("li")}) as best
                   from {table} where decision = 'link' group by ri) br on br.ri = d.ri"""


def _rank_key(other: str) -> str:
    """One HUGEINT ordering links by weight (to 1e-9), then by the lower record number."""
    return (
        f"round(match_weight * 1e9)::hugeint * 18446744073709551616::hugeint "
        f"+ (18446744073709551615::hugeint - {other}::hugeint)"
    )


def _read_sql(path: Path) -> str:
    p = str(path).replace("'", "''")
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        return f"read_parquet('{p}')"
    if suffix in (".csv", ".txt", ".tsv"):
        return f"read_csv('{p}', all_varchar = true, header = true)"
    raise InputError(f"{path}: unknown table format {suffix!r}; use .csv or .parquet")


def cli_link(left_path: str | Path, right_path: str | Path, spec_path: str | Path, out_path: str | Path,
             *, threads: int | None = None, memory_limit: str | None = None) -> LinkResult:
    """``hedui link LEFT RIGHT --spec SPEC --out PAIRS``: link two CSV/Parquet files.

    Reads both files into an in-memory DuckDB (2 threads and a 2 GB memory limit
    unless the spec or the arguments say otherwise; CSV columns as text, so ID
    numbers keep their leading zeros), links them and writes the pairs to
    ``out_path`` (CSV or Parquet by extension) and the trained model beside it
    (``<out>.model.json``).  Raises InputError for an unreadable input or an
    unknown extension, SpecError for a bad spec.
    """
    import json

    import duckdb

    spec = LinkSpec.from_yaml(spec_path)
    left_path, right_path, out_path = Path(left_path), Path(right_path), Path(out_path)
    for p in (left_path, right_path):
        if not p.exists():
            raise InputError(f"{p}: no such file")
    out_fmt = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv"}.get(out_path.suffix.lower())
    if out_fmt is None:
        raise InputError(f"{out_path}: write pairs as .csv or .parquet")
    con = duckdb.connect()
    con.sql("set enable_progress_bar = false")
    con.sql(f"set threads = {int(threads or spec.threads or 2)}")
    con.sql(f"set memory_limit = '{(memory_limit or spec.memory_limit or '2GB').replace(chr(39), '')}'")
    try:
        con.sql(f"create table left_input as select * from {_read_sql(left_path)}")
        con.sql(f"create table right_input as select * from {_read_sql(right_path)}")
    except duckdb.Error as e:
        raise InputError(f"cannot read input: {e}") from e
    result = link_tables(con, "left_input", "right_input", spec, "pairs")
    out = str(out_path).replace("'", "''")
    con.sql(f"copy (select * from pairs) to '{out}' (format {out_fmt})")
    model = result.model.to_dict() | {"n_candidates": result.n_candidates, "seconds": result.seconds}
    Path(str(out_path) + ".model.json").write_text(
        json.dumps(model, ensure_ascii=False, indent=2, default=lambda x: None if math.isnan(x) else x),
        encoding="utf-8",
    )
    con.close()
    return result


__all__ = ["LinkModel", "LinkResult", "cli_link", "link_tables"]
