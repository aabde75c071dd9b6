"""Staging: one source's raw Parquet → typed staged rows and quarantine, set-based in DuckDB.

The SQL is in ``sql/staging/`` (``parsed.sql``, ``duplicates.sql`` → ``staged.sql``
and ``quarantine.sql``) and uses the macros of ``sql/macros.sql``; this module
fills the column slots from the header map, binds the values, runs it, and
checks that every raw row landed in exactly one of the two outputs.

Names: the SQL macro ``hd_name_norm`` does not convert traditional to
simplified characters; the distinct names holding a character where the SQL
and Python normalizers may differ (:func:`matching.normalize.name_sql_exceptions`)
are re-normalized with :func:`matching.normalize.normalize_name` — a Python
call per *distinct exceptional name*, never per row.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from connectors import DeliveryManifest, SourceMap
from connectors.maps import ColumnSpec
from hedui.errors import ReconciliationError
from matching.normalize import name_sql_exceptions, normalize_name

log = logging.getLogger(__name__)

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
#: memory for a staging run's own DuckDB (HEDUI_MEMORY_LIMIT overrides); beyond it DuckDB
#: spills to a temporary folder beside the staged output
DEFAULT_MEMORY_LIMIT = "4GB"
#: value type → (macro call template, rule, what the value should have been)
CHECKS = {
    "date": ("hd_date({col})", "bad_date", "日期"),
    "month": ("hd_month({col})", "bad_month", "月份"),
    "amount": ("hd_amount({col}, {scale})", "bad_amount", "金额"),
    "number": ("hd_amount({col}, 1)", "bad_number", "数值"),
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


def load_macros(con: duckdb.DuckDBPyConnection) -> None:
    """Create (or replace) the ``hd_*`` macros of ``sql/macros.sql`` on ``con``."""
    con.sql((SQL_DIR / "macros.sql").read_text(encoding="utf-8"))


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


def _slots(smap: SourceMap) -> dict[str, str]:
    parsed, checks, conditions, staged = [], [], [], []
    for spec in smap.columns:
        col = _q(spec.column)
        value = _q(spec.column + "__v")
        if spec.type in CHECKS:
            call, rule, kind = CHECKS[spec.type]
            parsed.append(call.format(col=col, scale=_q(spec.column + "__scale")) + f" as {value},")
            reason = f"'\"{spec.header.replace(chr(39), chr(39) * 2)}\"值\"' || {col} || '\"无法识别为{kind}'"
            conditions.append(f"({value} is null and {col} is not null)")
            checks.append(
                f"case when {value} is null and {col} is not null and not hd_blank({col}) then "
                f"{{'column_name': {_lit(spec.column)}, 'value_masked': {_mask(spec, col)}, "
                f"'rule': {_lit(rule)}, 'reason': {reason}}} end"
            )
            if spec.type == "amount" and any(m in spec.column for m in NON_NEGATIVE_MARKERS):
                negative = f"'\"{spec.header.replace(chr(39), chr(39) * 2)}\"为负数（' || {col} || '），余额不应为负'"
                conditions.append(f"{value} < 0")
                checks.append(
                    f"case when {value} < 0 then "
                    f"{{'column_name': {_lit(spec.column)}, 'value_masked': {col}, "
                    f"'rule': 'negative_balance', 'reason': {negative}}} end"
                )
            staged.append(f"{value} as {col},")
        else:
            staged.append(f"nullif(trim({col}), '') as {col},")
    id_spec = smap.first_of_type("id")
    name_spec = smap.first_of_type("name")
    dup_key = [_q(c) for c in smap.canonical_columns] + [_q(c + "__scale") for c in smap.amount_columns]
    return {
        "parsed_values": "\n        ".join(parsed),
        "value_checks": ",\n            ".join(checks) or "cast(null as struct(column_name varchar, value_masked varchar, rule varchar, reason varchar))",
        "any_problem": " or ".join(conditions) or "false",
        "dup_key": ", ".join(dup_key),
        "staged_columns": "\n    ".join(staged),
        "id_column": _q(id_spec.column) if id_spec else "cast(null as varchar)",
        "name_column": _q(name_spec.column) if name_spec else "cast(null as varchar)",
        "row_mask": f"hd_mask_id({_q(id_spec.column)})" if id_spec else "cast(null as varchar)",
    }


def render(name: str, smap: SourceMap) -> str:
    """The SQL of ``sql/staging/<name>.sql`` with its slots filled for ``smap``."""
    sql = (SQL_DIR / "staging" / f"{name}.sql").read_text(encoding="utf-8")
    for key, value in _slots(smap).items():
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


def _renormalize_names(con: duckdb.DuckDBPyConnection, smap: SourceMap) -> int:
    spec = smap.first_of_type("name")
    if spec is None:
        return 0
    col = _q(spec.column)
    rows = con.execute(
        f"select distinct {col} from _hd_parsed where regexp_matches({col}, $pattern)",
        {"pattern": "[" + name_sql_exceptions() + "]"},
    ).fetchall()
    if not rows:
        return 0
    raw = [r[0] for r in rows]
    fixes = pa.table({"raw": pa.array(raw, pa.string()),
                      "norm": pa.array([normalize_name(v) for v in raw], pa.string())})
    con.register("_hd_name_fix", fixes)
    try:
        con.sql(f"update _hd_parsed set _name_norm = f.norm from _hd_name_fix as f where _hd_parsed.{col} = f.raw")
    finally:
        con.unregister("_hd_name_fix")
    return len(raw)


def _copy(con: duckdb.DuckDBPyConnection, select_sql: str, params: dict, out: Path) -> int:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.unlink(missing_ok=True)
    con.execute(f"copy ({select_sql}) to {_lit(str(tmp))} (format parquet, compression zstd)", params).fetchall()
    tmp.replace(out)
    return pq.ParquetFile(str(out)).metadata.num_rows


def stage_source(raw_parquet: Path, source_map: SourceMap, run_date: str, staged_out: Path, quarantine_out: Path,
                 con: duckdb.DuckDBPyConnection | None = None, *, manifest: DeliveryManifest | dict | None = None,
                 threads: int | None = None, memory_limit: str | None = None,
                 temp_directory: Path | None = None) -> StageCounts:
    """Stage one source's raw rows; write ``staged_out`` and ``quarantine_out`` (Parquet, replaced atomically).

    ``manifest`` says which files are incomplete (default: the
    ``runs/<date>/manifests/<source>.json`` beside the raw folder, if any).
    Without ``con`` an in-memory DuckDB is used: ``threads`` (default
    ``HEDUI_THREADS`` or all cores), ``memory_limit`` (default
    ``HEDUI_MEMORY_LIMIT`` or 4GB) and ``temp_directory`` (default a folder
    beside ``staged_out``, removed afterwards) apply to it; on a given ``con``
    ``threads`` and ``memory_limit`` are SET when passed.  Raises :class:`hedui.errors.ReconciliationError`
    when staged + quarantined ≠ raw rows (or ≠ the manifest's rows).
    """
    started = time.perf_counter()
    raw_parquet, staged_out, quarantine_out = Path(raw_parquet), Path(staged_out), Path(quarantine_out)
    own = con is None
    spill = None
    if own:
        threads = threads or int(os.environ.get("HEDUI_THREADS", "0")) or None
        config: dict = {"memory_limit": memory_limit or os.environ.get("HEDUI_MEMORY_LIMIT", DEFAULT_MEMORY_LIMIT)}
        if threads:
            config["threads"] = threads
        spill = Path(temp_directory) if temp_directory else staged_out.parent / f".duckdb_tmp_{source_map.source}"
        spill.mkdir(parents=True, exist_ok=True)
        config["temp_directory"] = str(spill)
        con = duckdb.connect(":memory:", config=config)
    else:
        if threads:
            con.execute(f"set threads = {int(threads)}")
        if memory_limit:
            con.execute("set memory_limit = $m", {"m": memory_limit})
    assert con is not None
    counts = StageCounts(source_map.source, str(run_date))
    try:
        con.sql("set enable_progress_bar = false")
        load_macros(con)
        man = _manifest_for(raw_parquet, source_map, manifest)
        incomplete = man.incomplete_files() if man else {}
        con.sql("create or replace temp table _hd_incomplete (file_name varchar, reason varchar)")
        if incomplete:
            con.executemany("insert into _hd_incomplete values (?, ?)", list(incomplete.items()))
        con.execute(render("parsed", source_map), {"raw_parquet": str(raw_parquet)})
        con.sql(render("duplicates", source_map))  # marks duplicates in _hd_parsed
        counts.names_renormalized = _renormalize_names(con, source_map)
        params = {"run_date": str(run_date)}
        counts.staged_rows = _copy(con, render("staged", source_map), params, staged_out)
        counts.quarantined_rows = _copy(con, render("quarantine", source_map), params, quarantine_out)
        counts.raw_rows = pq.ParquetFile(str(raw_parquet)).metadata.num_rows
        counts.by_rule = dict(con.sql(
            "select rule, count(*) from read_parquet($q) group by rule order by rule", params={"q": str(quarantine_out)}
        ).fetchall())
    finally:
        con.sql("drop table if exists _hd_parsed")
        con.sql("drop table if exists _hd_incomplete")
        if own:
            con.close()
            if spill is not None and not temp_directory:
                shutil.rmtree(spill, ignore_errors=True)
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
