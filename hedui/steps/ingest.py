"""Staging: one source's raw Parquet → typed staged rows and quarantine, set-based in DuckDB.

The SQL is in ``sql/staging/``: ``parsed.sql`` (the parse, as CTEs), ``duplicates.sql``
(the quarantine lines of exact duplicates: a small table) and ``split.sql`` (every raw
row once, with its row number, with its staged columns and, if a rule keeps it out, its
quarantine line).  It uses the macros of ``sql/macros.sql``.  This module fills the
column slots from the header map, binds the values, streams ``split.sql``'s result as
Arrow batches into the staged and quarantine Parquet files (no per-row Python: each
batch is split with one vectorized filter), and checks that every raw row landed in
exactly one of the two.  Nothing holds the whole delivery in memory: DuckDB only
materializes the duplicate candidates.

IDs: split.sql leaves ``id_norm`` and ``id_status`` empty; each batch's distinct IDs are parsed
by ``sql/staging/ids.sql`` (the ``hd_id_*`` macros) and mapped back to the rows, so an ID that
recurs on many rows (monthly records) is parsed once per batch, and the protector gets the IDs
already dictionary-encoded.  The IDs on ids.sql's fast path (17 digits and a digit or X) are
parsed in numpy instead (:mod:`hedui.steps.id_fast`: the same answers, a tenth of the CPU).

Names: the SQL macro ``hd_name_norm`` does not convert traditional to
simplified characters; the distinct names holding a character where the SQL
and Python normalizers may differ (:func:`matching.normalize.name_sql_exceptions`)
are normalized with :func:`matching.normalize.normalize_name` — a Python
call per *distinct exceptional name* of the delivery, never per row — and put
in place of the SQL's answer for them (``_NameNormalizer``, per batch).
"""

from __future__ import annotations

import logging
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from connectors import DeliveryManifest, SourceMap
from connectors.maps import ColumnSpec
from hedui.errors import ReconciliationError
from hedui.privacy.masking import mask_long_numbers
from hedui.privacy.request_ids import protect_request_column
from hedui.steps import dupkeys, staging_checks
from hedui.steps.dupkeys import dup_slots, enum_sql, find_duplicates, id_lookups, names_as_staged, rule_only
from hedui.steps.id_fast import fast_ids
from hedui.steps.stage_db import SQL_DIR, arrow_of, load_macros, stage_connection
from hedui.steps.staged_writer import StagedWriter
from hedui.steps.staging_checks import (
    ambiguous_month_keys,
    id_checks,
    lookup_types,
    month_lookups,
    uncertain_checks,
    value_reason,
)
from matching.normalize import name_sql_exceptions, normalize_name

log = logging.getLogger(__name__)

#: value type → (macro call template, rule, what the value should have been)
CHECKS = {
    "date": ("hd_date({col})", "bad_date", "日期"),
    "month": ("hd_month({col})", "bad_month", "月份"),
    "amount": ("hd_amount({col}, {scale})", "bad_amount", "金额"),
    "number": ("hd_number({col})", "bad_number", "数值"),
}
#: amount columns whose canonical name contains one of these must not be negative
NON_NEGATIVE_MARKERS = ("balance",)


@dataclass
class StageCounts:
    """Rows in and out of staging for one source and run."""

    source: str
    run_date: str
    raw_rows: int = 0
    staged_rows: int = 0
    quarantined_rows: int = 0
    by_rule: dict[str, int] = field(default_factory=dict)
    names_renormalized: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)


def _q(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _mask(spec: ColumnSpec, col: str) -> str:
    if spec.type == "id":
        return f"hd_mask_id({col})"
    if spec.type == "account":
        return f"hd_mask_account({col})"
    if spec.type == "name":
        return f"hd_mask_name({col})"
    return col


def _slots(smap: SourceMap, reasons: bool = True, months: dict[str, str] | None = None,
           lookups: dict[str, str] | None = None) -> dict[str, str]:
    parsed, checks, conditions, staged = [], [], [], []
    for spec in smap.columns:
        col = _q(spec.column)
        value = _q(spec.column + "__v")
        if spec.type == "account":  # Excel kept 3 digits of a card number (6.23E+18): which account is lost
            sci = f"regexp_full_match({col}, '\\s*[0-9](\\.[0-9]+)?[eE]\\+[0-9]{{2}}\\s*')"
            lost = f"'\"{spec.header.replace(chr(39), chr(39) * 2)}\"值\"' || {col} || '\"被Excel转成了科学计数法，原号码无法恢复'"
            conditions.append(sci)
            checks.append(f"case when {sci} then {{'column_name': {_lit(spec.column)}, 'value_masked': {col}, "
                          f"'rule': 'scientific_account', 'reason': {lost}}} end")
        id_checks(spec, col, conditions, checks)
        if spec.type in CHECKS:
            call, rule, kind = CHECKS[spec.type]
            if months and spec.column in months:  # parsed once per distinct value (month_lookups)
                call = months[spec.column]
            parsed.append(call.format(col=col, scale=_q(spec.column + "__scale")) + f" as {value},")
            conditions.append(f"({value} is null and {col} is not null)")
            checks.append(
                f"case when {value} is null and {col} is not null and not hd_blank({col}) and not hd_none({col}) then "
                f"{{'column_name': {_lit(spec.column)}, 'value_masked': {_mask(spec, col)}, "
                f"'rule': {_lit(rule)}, 'reason': {value_reason(spec, col, kind)}}} end"
            )
            if spec.type == "amount" and any(m in spec.column for m in NON_NEGATIVE_MARKERS):
                negative = f"'\"{spec.header.replace(chr(39), chr(39) * 2)}\"为负数（' || {col} || '），余额不应为负'"
                conditions.append(f"{value} < 0")
                checks.append(
                    f"case when {value} < 0 then "
                    f"{{'column_name': {_lit(spec.column)}, 'value_masked': {col}, "
                    f"'rule': 'negative_balance', 'reason': {negative}}} end"
                )
            uncertain_checks(spec, col, value, conditions, checks)  # parsed, yet no date for certain
            staged.append(f"{value} as {col},")
        elif spec.none_words:  # a text that says there is none (无, /…) is no value
            words = ", ".join(_lit(w.upper()) for w in spec.none_words)
            staged.append(f"case when upper(hd_strip_ws({col})) in ({words}) then null else nullif(hd_strip_ws({col}), '') end as {col},")
        elif spec.type == "enum":
            staged.append(f"{enum_sql(spec, col)} as {col},")
        elif spec.type == "region":
            staged.append(f"hd_region({col}) as {col},")
        elif spec.type == "account":
            staged.append(f"hd_account({col}) as {col},")
        else:  # hd_strip_ws: trim() keeps U+3000 (a request id "TR01　" made a household of its own)
            staged.append(f"nullif(hd_strip_ws({col}), '') as {col},")
    id_spec = smap.first_of_type("id")
    name_spec = smap.first_of_type("name")
    return {
        "parsed_values": "\n        ".join(parsed),
        "value_checks": ",\n                ".join(checks if reasons else map(rule_only, checks)) or "cast(null as struct(column_name varchar, value_masked varchar, rule varchar, reason varchar))",
        "any_problem": " or ".join(conditions) or "false",
        **dup_slots(smap, months, lookups),
        "staged_columns": "\n        ".join(staged),
        "name_column": _q(name_spec.column) if name_spec else "cast(null as varchar)",
        "id_norm": "cast(null as varchar)",  # filled per distinct ID by _IdParser (none without an ID column)
        "id_status": "cast(null as varchar)" if id_spec else "'missing'",
        "row_mask": f"hd_mask_id({_q(id_spec.column)})" if id_spec else "cast(null as varchar)",
    }


#: the raw rows parsed.sql starts from, per statement
_ROWS = {
    "split": "select * from read_parquet($raw_parquet, file_row_number = true)",
    "duplicates": ("select * from read_parquet($raw_parquet, file_row_number = true) as delivered\n"
                   "    semi join _hd_dup_candidates as c on c.file_row_number = delivered.file_row_number"),
}


def render(name: str, smap: SourceMap, months: dict[str, str] | None = None,
           lookups: dict[str, str] | None = None) -> str:
    """The SQL of ``sql/staging/<name>.sql`` with its slots (and parsed.sql's CTEs) filled for ``smap``; ``months``
    (:func:`~hedui.steps.staging_checks.month_lookups`) the month columns parsed per distinct value (default:
    ``hd_month`` on every row); ``lookups`` (:func:`~hedui.steps.dupkeys.id_lookups`) the pre-filter's slow IDs."""
    sql = (SQL_DIR / "staging" / f"{name}.sql").read_text(encoding="utf-8")
    if "{{parsed}}" in sql:
        parsed = (SQL_DIR / "staging" / "parsed.sql").read_text(encoding="utf-8")
        body = parsed[parsed.index("raw as ("):].rstrip()
        sql = sql.replace("{{parsed}}", body.replace("{{rows}}", _ROWS[name]))
    for key, value in _slots(smap, reasons=name != "duplicates", months=months, lookups=lookups).items():
        sql = sql.replace("{{" + key + "}}", value)
    return sql


def _manifest_for(raw_parquet: Path, smap: SourceMap, manifest) -> DeliveryManifest | None:
    if isinstance(manifest, DeliveryManifest):
        return manifest
    if isinstance(manifest, dict):
        return DeliveryManifest.from_dict(manifest.get("manifest", manifest))
    candidate = raw_parquet.parent.parent / "manifests" / f"{smap.source}.json"
    if candidate.is_file():
        return DeliveryManifest.load(candidate)
    log.warning("no manifest for %s: no file is treated as incomplete", smap.source)
    return None


def _mask_numbers(column) -> pa.Array:
    """A quarantined value (and the reason quoting it) with any long number masked: a date, month or
    amount column that holds an ID or account number typed into the wrong column must not show it."""
    return pa.array([mask_long_numbers(v) for v in column.to_pylist()], pa.string())


#: columns of split.sql that are not staged columns
_SPLIT_EXTRA = ("_file_row_number", "_rule", "_q_column_name", "_q_value_masked", "_q_reason_zh")
QUARANTINE_COLUMNS = ("run_date", "source", "file_name", "row_no", "column_name", "value_masked", "rule", "reason_zh")
SPLIT_BATCH_ROWS = 1_000_000
#: split.sql's lineage columns: one value per run, source, delivery or file, cast to the ENUM
#: ``_hd_lineage`` (made per source from the raw file's values, :func:`_create_lineage_type`) so
#: DuckDB hands them to Arrow dictionary-encoded and the Parquet writers write each dictionary once
#: (not one string per row: ≈ 15 % of the split query's CPU, and the writers' hashing of them).
#: The files keep them as plain strings (the writers store no Arrow schema: see :class:`~hedui.steps.staged_writer.StagedWriter`).
LINEAGE_COLUMNS = ("run_date", "source", "delivery_date", "file_name")
LINEAGE_TYPE = "_hd_lineage"


class _IdParser:
    """Fills a table's ``id_norm`` and ``id_status`` (empty as split.sql leaves them) from its ID column
    (``column``), parsed by ``sql/staging/ids.sql`` once per distinct ID of the table (IDs repeat:
    one person, many rows)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, column: str, macros: bool = False) -> None:
        self.cur = con.cursor()  # the split's result streams on `con`
        self.column = column
        self.sql = (SQL_DIR / "staging" / "ids.sql").read_text(encoding="utf-8")
        if not macros:  # the staging database's (stage_db) are there already
            load_macros(self.cur, self.sql)
        self.encoded: dict[str, pa.DictionaryArray] = {}

    def __call__(self, table: pa.Table) -> pa.Table:
        enc = pc.dictionary_encode(table.column(self.column).combine_chunks(), null_encoding="encode")
        parsed = self._parse(enc.dictionary)
        for name in ("id_norm", "id_status"):
            i = table.schema.get_field_index(name)
            table = table.set_column(i, table.schema.field(i), pc.take(parsed[name], enc.indices))
        # the same columns dictionary-encoded, for the protector (no second encoding of a million IDs)
        self.encoded = {self.column: enc, "id_norm": pa.DictionaryArray.from_arrays(enc.indices, parsed["id_norm"])}
        return table

    def _parse(self, values: pa.Array) -> dict[str, pa.Array]:
        """id_norm and id_status of each of ``values``: the fast path's in numpy (:func:`fast_ids`), the rest by ids.sql."""
        fast = fast_ids(values)
        is_fast = np.zeros(len(values), bool)
        if fast is not None:
            is_fast[fast[0]] = True
        rest = values.filter(pa.array(~is_fast))
        parsed = {"id_norm": pa.array([], pa.string()), "id_status": pa.array([], pa.string())}
        if len(rest):
            self.cur.register("_hd_ids", pa.table({"v": rest}))
            try:
                out = arrow_of(self.cur, self.sql)
            finally:
                self.cur.unregister("_hd_ids")
            parsed = {n: out.column(n).combine_chunks().cast(pa.string()) for n in parsed}
        if fast is None:
            return parsed
        where, norm, status = fast
        order = np.empty(len(values), np.int64)  # each value's place in fast ‖ rest
        order[where] = np.arange(len(where))
        order[~is_fast] = len(where) + np.arange(len(rest))
        return {"id_norm": pc.take(pa.concat_arrays([norm, parsed["id_norm"]]), pa.array(order)),
                "id_status": pc.take(pa.concat_arrays([status, parsed["id_status"]]), pa.array(order))}

    def close(self) -> None:
        self.cur.close()


class _NameNormalizer:
    """Replaces a table's ``name_norm`` (the delivered name, as split.sql leaves it) by its normalization,
    computed once per distinct name of the table (names repeat: one person, many rows): ``hd_name_norm``,
    or :func:`matching.normalize.normalize_name` for the names holding a character where the two may
    differ (``name_sql_exceptions``; one Python call per such distinct name of the delivery, kept in
    ``fixes``).  Given every raw row, ``fixes`` ends as the delivery's distinct such names."""

    def __init__(self, con: duckdb.DuckDBPyConnection, macros: bool = False) -> None:
        self.cur = con.cursor()  # the split's result streams on `con`
        self.params = {"name_exceptions": "[" + name_sql_exceptions() + "]"}
        # the pattern is long: matched once per distinct name of a table
        self.sql = "select regexp_matches(v, $name_exceptions) as fix, hd_name_norm(v) as norm from _hd_names"
        if not macros:
            load_macros(self.cur, self.sql)
        self.fixes: dict[str, str | None] = {}

    def __call__(self, table: pa.Table) -> pa.Table:
        i = table.schema.get_field_index("name_norm")
        enc = pc.dictionary_encode(table.column(i).combine_chunks())
        self.cur.register("_hd_names", pa.table({"v": enc.dictionary}))
        try:
            parsed = arrow_of(self.cur, self.sql, self.params)
        finally:
            self.cur.unregister("_hd_names")
        norms, fix = parsed.column("norm").combine_chunks(), pc.fill_null(parsed.column("fix").combine_chunks(), False)
        if pc.any(fix).as_py():
            fixes = self.fixes
            names = enc.dictionary.filter(fix).to_pylist()
            for v in names:
                if v not in fixes:
                    fixes[v] = normalize_name(v)
            norms = pc.replace_with_mask(norms, fix, pa.array([fixes[v] for v in names], pa.string()))
        return table.set_column(i, table.schema.field(i), pc.take(norms, enc.indices))

    def close(self) -> None:
        self.cur.close()


def _split(con: duckdb.DuckDBPyConnection, smap: SourceMap, params: dict, staged_out: Path,
           quarantine_out: Path, spill: Path, protect=None, macros: bool = False,
           plain=None, months: dict[str, str] | None = None) -> tuple[int, int, int]:
    """Stream split.sql: staged rows to ``staged_out``; quarantine lines (rules, then the duplicates
    of ``_hd_dups``, in delivery order) to ``quarantine_out``.  With ``protect`` (see
    :func:`stage_source`) the staged rows also go, protected, to ``protect.out`` in the same pass and
    ``staged_out`` keeps only ``protect.plain_columns``.  Returns (staged, quarantined, names renormalized
    in Python: the distinct raw names where the SQL and Python normalizers may differ)."""
    dups = con.sql("select * from _hd_dups").to_arrow_table()
    dup_rows = dups.column("file_row_number")
    sql = render("split", smap, months)
    bound = {k: v for k, v in params.items() if "$" + k in sql}
    reader = arrow_of(con, sql, bound, SPLIT_BATCH_ROWS)
    staged_names = [n for n in reader.schema.names if n not in _SPLIT_EXTRA]
    staged_schema = pa.schema([reader.schema.field(n) for n in staged_names])
    plain_writer, plain = plain, staged_names
    names = _NameNormalizer(con, macros) if smap.first_of_type("name") else None
    id_spec = smap.first_of_type("id")
    ids = _IdParser(con, id_spec.column, macros) if id_spec else None
    if protect is not None:
        guarded = StagedWriter(protect.out, protect.schema(staged_schema), protect.row_group_rows)
        if protect.plain_columns is not None:
            plain = [n for n in staged_names if n in protect.plain_columns]
    staged = (plain_writer or StagedWriter)(staged_out, pa.schema([reader.schema.field(n) for n in plain]))
    q_schema = pa.schema([pa.field(n, pa.string()) for n in ("run_date", "source", "file_name")]
                         + [reader.schema.field("row_no")]
                         + [pa.field(n, pa.string()) for n in ("column_name", "value_masked", "rule", "reason_zh")]
                         + [pa.field("file_row_number", pa.int64())])
    ruled = StagedWriter(spill / "quarantine_rules.parquet", q_schema)
    try:
        for batch in reader:
            kept_out = pc.is_valid(batch.column("_rule"))
            keep = pc.invert(kept_out)
            if dups.num_rows:
                keep = pc.and_(keep, pc.invert(pc.is_in(batch.column("_file_row_number"), value_set=dup_rows)))
            rows = pa.Table.from_batches([batch.select(staged_names)])
            if names is not None:  # before the filter: every raw row's name counts in names.fixes
                rows = names(rows)
            if not pc.all(keep).as_py():  # most batches keep every row: no copy of them then
                rows = rows.filter(keep)
            if ids is not None and rows.num_rows:
                rows = ids(rows)
            if protect is not None and rows.num_rows:  # a request id holding an ID number: masked, kept apart
                rows = protect_request_column(rows, protect.keys)
            staged.write(rows.select(plain))
            if protect is not None and rows.num_rows:
                guarded.write(protect(rows, ids.encoded if ids is not None else None))
            if pc.any(kept_out).as_py():
                out = batch.filter(kept_out)
                ruled.write(pa.table([
                    *(pc.cast(out.column(n), pa.string()) for n in ("run_date", "source", "file_name")),
                    out.column("row_no"),
                    out.column("_q_column_name"), _mask_numbers(out.column("_q_value_masked")), out.column("_rule"),
                    _mask_numbers(out.column("_q_reason_zh")), pc.cast(out.column("_file_row_number"), pa.int64()),
                ], schema=q_schema))
        if protect is not None:  # the distinct values each column had protected, in the file's metadata
            guarded.add_key_value_metadata(protect.metadata())
            guarded.commit()
        staged.commit()
        ruled.commit()
    except BaseException:
        staged.abort()
        ruled.abort()
        if protect is not None:
            guarded.abort()
        raise
    finally:
        if protect is not None:
            protect.close()
        if names is not None:
            names.close()
        if ids is not None:
            ids.close()
    quarantined = _write_quarantine(con, ruled.out, dups, q_schema, quarantine_out)
    return staged.rows, quarantined, len(names.fixes) if names is not None else 0


def _create_lineage_type(con: duckdb.DuckDBPyConnection, params: dict) -> None:
    """The ENUM split.sql casts the lineage columns to: the run date and the raw file's distinct
    sources, delivery dates and file names (a scan of each of those columns: cheap, their Parquet
    pages are dictionaries)."""
    con.execute(f"drop type if exists {LINEAGE_TYPE}")
    con.execute(
        f"create temp type {LINEAGE_TYPE} as enum ("
        "select v from (select cast($run_date as varchar) as v "
        + "".join(f"union select distinct {c} from read_parquet($raw_parquet) " for c in LINEAGE_COLUMNS[1:])
        + ") where v is not null order by v)",
        {"run_date": params["run_date"], "raw_parquet": params["raw_parquet"]},
    )


def _write_quarantine(con: duckdb.DuckDBPyConnection, ruled: Path, dups: pa.Table, schema: pa.Schema,
                      out: Path) -> int:
    """The quarantine file: the rule lines and the duplicate lines merged in delivery order."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    columns = ", ".join(QUARANTINE_COLUMNS)
    con.register("_hd_dup_lines", dups.cast(schema))
    try:
        con.execute(
            f"copy (select {columns} from (select * from read_parquet($ruled) union all select * from _hd_dup_lines) "
            f"order by file_row_number) to {_lit(str(tmp))} (format parquet, compression zstd)",
            {"ruled": str(ruled)},
        ).fetchall()
    finally:
        con.unregister("_hd_dup_lines")
    tmp.replace(out)
    return pq.ParquetFile(str(out)).metadata.num_rows


def stage_source(raw_parquet: Path, source_map: SourceMap, run_date: str, staged_out: Path, quarantine_out: Path,
                 con: duckdb.DuckDBPyConnection | None = None, *, manifest: DeliveryManifest | dict | None = None,
                 threads: int | None = None, memory_limit: str | None = None,
                 temp_directory: Path | None = None, protect=None, plain=None) -> StageCounts:
    """Stage one source's raw rows; write ``staged_out`` and ``quarantine_out`` (Parquet, replaced atomically).

    ``manifest`` says which files are incomplete (default: the ``runs/<date>/manifests/<source>.json`` beside the raw
    folder, if any).  Without ``con`` a connection of the process's staging database is used (macros made
    once per process: :func:`hedui.steps.stage_db.stage_connection`): ``threads`` (default ``HEDUI_THREADS``, see
    :class:`hedui.settings.Settings`), ``memory_limit`` (default ``HEDUI_MEMORY_LIMIT`` or 4GB) and ``temp_directory``
    (default a folder beside ``staged_out``, one per process, removed at its end) apply to it; on a given ``con``
    ``threads`` and ``memory_limit`` are SET when passed.  Raises :class:`hedui.errors.ReconciliationError`
    when staged + quarantined ≠ raw rows (or ≠ the manifest's rows).

    ``protect`` (a :class:`hedui.privacy.protect.StreamProtector`) also writes the staged
    rows protected to ``protect.out`` in the same pass, and ``staged_out`` then keeps only
    the columns ``protect.plain_columns`` names (those validation reads); ``plain(staged_out, schema)``
    (default :class:`StagedWriter`) makes its writer (GX fed by the staging pass: ``validate.stream.stage_writer``)."""
    started = time.perf_counter()
    raw_parquet, staged_out, quarantine_out = Path(raw_parquet), Path(staged_out), Path(quarantine_out)
    own = con is None
    if own:  # a connection of this process's staging database, its macros made (stage_db)
        from hedui.settings import settings

        con = stage_connection(threads or settings().threads, memory_limit or settings().memory_limit,
                               staged_out.parent, temp_directory)
    else:
        if threads:
            con.execute(f"set threads = {int(threads)}")
        if memory_limit:
            con.execute("set memory_limit = $m", {"m": memory_limit})
    assert con is not None
    counts = StageCounts(source_map.source, str(run_date))
    work = staged_out.parent / f".staging_{source_map.source}"
    work.mkdir(parents=True, exist_ok=True)
    restore_optimizers = staging_checks.lazy_checks(con)
    try:
        con.sql("set enable_progress_bar = false")
        if not own:
            load_macros(con, "".join(render(n, source_map) for n in ("dup_candidates", "duplicates", "split")))
        man = _manifest_for(raw_parquet, source_map, manifest)
        incomplete = man.incomplete_files() if man else {}
        params = {"raw_parquet": str(raw_parquet), "run_date": str(run_date),
                  "incomplete_files": list(incomplete), "incomplete_reasons": list(incomplete.values()),
                  "ambiguous_months": ambiguous_month_keys(con, raw_parquet, source_map)}
        months = month_lookups(con, raw_parquet, source_map)
        lookups = id_lookups(con, raw_parquet, source_map)  # the pre-filter's slow IDs (dup_candidates.sql)
        with names_as_staged(con):  # a copy under the traditional form of the name is the same row
            find_duplicates(con, render("dup_candidates", source_map, months, lookups),
                            render("duplicates", source_map, months), params)
        _create_lineage_type(con, params)
        counts.staged_rows, counts.quarantined_rows, counts.names_renormalized = _split(
            con, source_map, params, staged_out, quarantine_out, work, protect, own, plain, months)
        counts.raw_rows = pq.ParquetFile(str(raw_parquet)).metadata.num_rows
        counts.by_rule = dict(con.sql(
            "select rule, count(*) from read_parquet($q) group by rule order by rule", params={"q": str(quarantine_out)}
        ).fetchall())
    finally:
        con.sql(f"drop table if exists _hd_dups; drop table if exists _hd_dup_candidates; drop type if exists {LINEAGE_TYPE}"
                + "".join(f"; drop type if exists {t}" for t in lookup_types(source_map))
                + "".join(f"; drop type if exists {dupkeys.ID_TYPE}{i}"
                          for i in range(sum(s.type == "id" for s in source_map.columns))))
        restore_optimizers()
        if own:
            con.close()
        shutil.rmtree(work, ignore_errors=True)
    counts.seconds = round(time.perf_counter() - started, 3)
    expected = counts.raw_rows
    if counts.staged_rows + counts.quarantined_rows != expected or (man and man.rows_total != expected):
        raise ReconciliationError(
            f"{source_map.source}对账不平：原始{expected}行（清单{man.rows_total if man else '-'}行），"
            f"入库{counts.staged_rows}行，隔离{counts.quarantined_rows}行；请检查{raw_parquet}后重跑"
        )
    log.info("staged %s: %d raw → %d staged, %d quarantined %s in %.1fs", source_map.source, counts.raw_rows,
             counts.staged_rows, counts.quarantined_rows, counts.by_rule, counts.seconds)
    return counts
