"""Prepared tables: one row per input record with the comparison values.

For each side the linker builds a temporary table with

- ``__rid`` (a 64-bit hash of the unique id: stable across runs) and ``__uid``;
- every input column a blocking rule, veto rule or custom level reads;
- per field ``f``: ``f__v`` (the normalized comparison value), for ``name``
  fields also ``f__py``, ``f__pat``, ``f__nsyl``, ``f__surname``,
  ``f__surname_py``, ``f__given_py`` (see :mod:`matching.linkage.names`), for
  ``id_number`` fields ``f__valid`` (an 18-character mainland resident ID
  whose GB 11643 check character is right), for ``address`` fields ``f__h`` and
  ``f__tail<n>`` (hashes of the value and of its last n characters), for ``date`` fields ``f__swap`` (``YYYYDDMM``), and
  with ``term_frequency`` on,
  ``f__tf`` (share of the value among the non-null values of both sides; the number of
  those values, the field's total, is kept in ``Prepared.tf_totals`` for the floor
  scoring applies, see :func:`matching.linkage.predict.score_sql`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from matching.linkage.comparisons import referenced_columns
from matching.linkage.exceptions import InputError
from matching.linkage.names import KEY_COLUMNS, build_name_key_table
from matching.linkage.spec import FieldSpec, LinkSpec

DATE_FORMATS = ["%Y-%m-%d", "%Y/%m/%d", "%Y年%m月%d日", "%Y.%m.%d"]


@dataclass(frozen=True)
class Prepared:
    left: str
    right: str
    n_left: int
    n_right: int
    # per term-frequency field: the number of non-null values of both sides (``f__tf``'s denominator)
    tf_totals: dict[str, int] = field(default_factory=dict)


def q(ident: str) -> str:
    """Quote an identifier for DuckDB."""
    return '"' + ident.replace('"', '""') + '"'


def _columns(con, table: str) -> dict[str, str]:
    try:
        rows = con.sql(f"describe select * from {table}").fetchall()
    except Exception as e:  # duckdb.CatalogException and friends
        raise InputError(f"cannot read table {table!r}: {e}") from e
    return {r[0]: r[1].upper() for r in rows}


def derived_columns(spec: LinkSpec) -> set[str]:
    out: set[str] = set()
    for f in spec.fields:
        out.add(f"{f.name}__v")
        if f.kind == "name":
            out.update(f"{f.name}__{k}" for k in KEY_COLUMNS if k != "norm")
        if f.kind == "id_number":
            out.add(f"{f.name}__valid")
        if f.kind == "address":
            out.add(f"{f.name}__h")
            out.update(f"{f.name}__tail{int(n)}" for n in f.thresholds)
        if f.kind == "date":
            out.add(f"{f.name}__swap")
        if f.term_frequency:
            out.add(f"{f.name}__tf")
    return out


_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def id_valid_sql(v: str, n: str | None = None) -> str:
    """SQL: ``v`` is an 18-character resident ID with a correct GB 11643 check character.
    ``n`` may name a column holding ``try_cast(substr(v, 1, 17) as bigint)`` (cheaper)."""
    n = n or f"try_cast(substr({v}, 1, 17) as bigint)"
    total = " + ".join(f"({n} // {10 ** (16 - i)} % 10) * {w}" for i, w in enumerate(_ID_WEIGHTS))
    return (
        f"coalesce(case when {n} >= 0 and length({v}) = 18 then "
        f"substr('10X98765432', (({total}) % 11)::integer + 1, 1) = substr({v}, 18, 1) end, false)"
    )


def _value_sql(f: FieldSpec, col: str, col_type: str) -> tuple[list[str], str]:
    """How a field's comparison value is computed: expressions for the inner select (named
    ``<field>__*``) and the final expression over them (``b.<field>__*``)."""
    c = q(col)
    k, v = f.kind, f"{f.name}__v"
    if k == "date" and not col_type.startswith(("DATE", "TIMESTAMP")):
        fmts = ", ".join(f"'{x}'" for x in DATE_FORMATS)
        d, raw = f"{f.name}__d", f"{f.name}__raw"
        return (
            [f"translate(trim({c}::varchar), '-/. ', '') as {d}", f"trim({c}::varchar) as {raw}"],
            f"(case when length(b.{d}) = 8 and try_cast(b.{d} as integer) >= 0 then b.{d}"
            f" else strftime(try_strptime(b.{raw}, [{fmts}]), '%Y%m%d') end)",
        )
    if k == "date":
        inner = f"strftime({c}, '%Y%m%d')"
    elif k == "id_number":
        # digits and capitals only (nearly every ID): already normalized; the regexp costs a
        # third of the translate it spares
        inner = (
            f"case when regexp_full_match({c}::varchar, '[0-9A-Z]+') then {c}::varchar "
            f"else nullif(upper(translate({c}::varchar, ' -\t\r\n\u3000', '')), '') end"
        )
    elif k == "numeric":
        inner = f"try_cast({c} as double)"
    elif k == "custom":
        inner = f"nullif(trim({c}::varchar), '')"
    elif k == "address":
        # punctuation, spaces and the ordinal/number marks 第 号 do not tell addresses apart
        inner = rf"nullif(regexp_replace(lower({c}::varchar), '[\s,，.。、·#()（）\-—第号]', '', 'g'), '')"
    else:
        inner = f"nullif(lower(trim({c}::varchar)), '')"
    return [f"{inner} as {v}"], f"b.{v}"


def _value_expr(f: FieldSpec, col: str, col_type: str, table_alias: str = "t") -> str:
    """The comparison value as one expression over the input row (for small lookups)."""
    inner, outer = _value_sql(f, col, col_type)
    for item in inner:
        expr, name = item.rsplit(" as ", 1)
        outer = outer.replace(f"b.{name}", f"({expr})")
    return outer


def prepare(con, left_table: str, right_table: str, spec: LinkSpec, prefix: str) -> Prepared:
    """Create ``<prefix>_l`` and ``<prefix>_r`` (temporary tables); raises InputError
    when a column the spec needs is missing or the unique id is not unique."""
    sides = {"l": (left_table, spec.left_id), "r": (right_table, spec.right_id)}
    cols = {s: _columns(con, t) for s, (t, _) in sides.items()}
    derived = derived_columns(spec)

    # input columns read by rules / custom levels (carried into the prepared tables), and the
    # derived columns anything reads (only those are computed)
    carried: dict[str, set[str]] = {"l": set(), "r": set()}
    used: set[str] = set()
    sqls = list(spec.blocking_rules) + [v.when for v in spec.veto_rules]
    for f in spec.fields:
        sqls += [lv.when for lv in f.levels] + ([f.null_when] if f.null_when else [])
    from matching.linkage.comparisons import build_comparison

    for f in spec.fields:
        c = build_comparison(f)
        sqls += [c.null_condition] + [c.condition(lv) for lv in c.levels]
    for sql in sqls:
        for side, names in referenced_columns(sql).items():
            carried[side].update(n for n in names if n not in derived)
            used.update(n for n in names if n in derived)
    for side, (table, uid) in sides.items():
        must = carried[side] | {uid} | {f.left_column if side == "l" else f.right_column for f in spec.fields}
        missing = sorted(c for c in must if c not in cols[side])
        if missing:
            raise InputError(
                f"table {table!r} ({'left' if side == 'l' else 'right'}) has no column(s) {missing}; "
                f"it has {sorted(cols[side])}. Fix the spec or the input."
            )

    # name keys (with their term frequency): once per field, on the distinct names of both sides
    key_tables: dict[str, str] = {}
    tf_totals: dict[str, int] = {}
    for f in spec.fields:
        if f.kind == "name":
            kt = f"{prefix}_names_{f.name}"
            total = build_name_key_table(
                con, [(left_table, f.left_column), (right_table, f.right_column)], f.name, kt
            )
            key_tables[f.name] = kt
            if f.term_frequency:
                tf_totals[f.name] = total
    # term frequencies of other fields: share of the normalized value among both sides' values
    tf_tables: dict[str, str] = {}
    for f in spec.fields:
        if f.term_frequency and f.kind != "name":
            tt = f"{prefix}_tf_{f.name}"
            vl = _value_expr(f, f.left_column, cols["l"][f.left_column])
            vr = _value_expr(f, f.right_column, cols["r"][f.right_column])
            con.sql(
                f"create or replace temp table {tt} as select v, count(*) as n, "
                f"(count(*) / sum(count(*)) over ())::float as tf "
                f"from (select {vl} as v from {left_table} union all select {vr} from {right_table}) "
                f"where v is not null group by v"
            )
            tf_tables[f.name] = tt
            tf_totals[f.name] = int(con.sql(f"select coalesce(sum(n), 0) from {tt}").fetchall()[0][0])

    counts = {}
    for side, (table, uid) in sides.items():
        # __rid: a 64-bit md5 of the unique id (md5, not hash(): stable across DuckDB versions; no
        # sort, no join, the same in every run); in the unlikely event of a collision, the rank of
        # the id instead.  The table is built first and checked after (one md5 per row, not two).
        for rank_ids in (False, True):
            n, n_rids, n_null = _build_side(
                con, spec, side, table, uid, carried[side], cols[side], used, key_tables, tf_tables,
                f"{prefix}_{side}", rank_ids,
            )
            if n_rids == n and not n_null:
                break
            n_distinct = con.sql(f"select count(distinct __uid) from {prefix}_{side}").fetchall()[0][0]
            if n_null or n_distinct != n:
                con.sql(f"drop table if exists {prefix}_{side}")
                raise InputError(
                    f"unique id column {uid!r} of {table!r} must be non-null and unique: "
                    f"{n} rows, {n_distinct} distinct values, {n_null} nulls"
                )
        counts[side] = n
    for t in (*key_tables.values(), *tf_tables.values()):
        con.sql(f"drop table {t}")
    return Prepared(f"{prefix}_l", f"{prefix}_r", counts["l"], counts["r"], tf_totals)


def _build_side(con, spec, side, table, uid, carried, cols, used, key_tables, tf_tables, out, rank_ids):
    """Create the prepared table ``out`` of one side; returns (rows, distinct __rid, null ids)."""
    select = [f"t.{q(uid)}::varchar as __uid"]
    select += [f"t.{q(c)}" for c in sorted(carried)]
    joins = []
    if not rank_ids:
        select.insert(0, f"md5_number_lower(t.{q(uid)}::varchar) as __rid")
    else:
        select.insert(0, "ids.__rid")
        joins.append(
            f"join (select u, (row_number() over (order by u))::ubigint as __rid "
            f"from (select {q(uid)} as u from {table})) ids on ids.u = t.{q(uid)}"
        )
    # three layers: b reads the input (and the name keys), c finishes the comparison values
    # f__v, d derives columns from them (each expression computed once per row)
    finals, hidden, derived, joins_d, dropped = [], [], [], [], []
    for f in spec.fields:
        col = f.left_column if side == "l" else f.right_column
        v = f"{f.name}__v"
        if f.kind == "name":
            a = f"k_{f.name}"
            joins.append(f"left join {key_tables[f.name]} {a} on {a}.raw = t.{q(col)}::varchar")
            select += [f"{a}.{v}"] + [
                f"{a}.{f.name}__{k}" for k in KEY_COLUMNS if k != "norm" and f"{f.name}__{k}" in used
            ]
            if f.term_frequency:
                select.append(f"{a}.{f.name}__tf")
            continue
        inner, final = _value_sql(f, col, cols[col])
        select += inner
        if final != f"b.{v}":
            hidden += [i.rsplit(" as ", 1)[1] for i in inner]
            finals.append(f"{final} as {v}")
        cv = f"c.{v}"
        if f.kind == "address":
            derived.append(f"case when {cv} is not null then hash({cv}) end as {f.name}__h")
            derived += [
                f"case when {cv} is not null then hash(right({cv}, {int(n)})) end as {f.name}__tail{int(n)}"
                for n in f.thresholds
            ]
        if f.kind == "date":
            derived.append(f"substr({cv}, 1, 4) || substr({cv}, 7, 2) || substr({cv}, 5, 2) as {f.name}__swap")
        if f.kind == "id_number" and f"{f.name}__valid" in used:
            finals.append(f"try_cast(substr({final}, 1, 17) as bigint) as {f.name}__n")
            derived.append(f"{id_valid_sql(cv, f'c.{f.name}__n')} as {f.name}__valid")
            dropped.append(f"{f.name}__n")
        if f.name in tf_tables:
            a = f"tf_{f.name}"
            joins_d.append(f"left join {tf_tables[f.name]} {a} on {a}.v = {cv}")
            derived.append(f"{a}.tf as {f.name}__tf")
    star_b = f"b.* exclude ({', '.join(hidden)})" if hidden else "b.*"
    con.sql(
        f"create or replace temp table {out} as "
        f"with b as (select {', '.join(select)} from {table} t {' '.join(joins)}), "
        f"c as (select {', '.join([star_b, *finals])} from b) "
        f"select {', '.join([f'c.* exclude ({chr(44).join(dropped)})' if dropped else 'c.*', *derived])} "
        f"from c {' '.join(joins_d)}"
    )
    return con.sql(f"select count(*), count(distinct __rid), count(*) - count(__uid) from {out}").fetchall()[0]
