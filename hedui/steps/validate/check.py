"""Validate one source's staged rows with its Great Expectations suite.

`validate_source` reads `runs/<date>/staged/<source>.parquet` in chunks, runs the
suite `expectations/stg_<source>.json` on each chunk with GX (pandas), and splits
the rows: those that pass go on to `passed_out`; those that fail an expectation
marked `"on_fail": "quarantine"` go to `quarantine_out`, one line per failed
column, with the value masked where it is personal and a reason in Chinese.
Expectations marked `"reject_source"` and the suite's `meta.hedui.thresholds`
judge the delivery as a whole: a source that breaks one is `failed` for the run.
The suite format is described in `expectations/README.md`.

Great Expectations is imported inside the functions (it costs seconds), so this
module is cheap to import from a DAG file.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from hedui.errors import ConfigError
from hedui.privacy.masking import mask_account, mask_id
from hedui.steps.validate.suites import (
    Suite,
    expectation_columns,
    gx_context,
    load_suite,
    maps_dir,
    suites_dir,
)
from hedui.steps.validate.verdict import FileCounts, file_counts, threshold_reasons, totals

__all__ = ["ValidationResult", "ExpectationOutcome", "validate_source", "load_suite", "maps_dir", "suites_dir",
           "mask_value", "expectation_columns"]

log = logging.getLogger(__name__)

QUARANTINE_COLUMNS = [
    "run_date", "source", "file_name", "row_no", "column_name", "value_masked", "rule", "reason_zh",
]
ID_STATUS_ZH = {
    "valid": "有效",
    "converted_15": "由15位旧号码转换",
    "bad_check": "校验位错误",
    "malformed": "格式错误",
    "scientific": "被 Excel 转成了科学计数法，无法恢复",
    "missing": "缺失",
}
# Text columns with few distinct values: read as dictionaries (pandas Categoricals).
CATEGORICAL_KINDS = {"enum", "region"}
CATEGORICAL_COLUMNS = {"id_status", "source", "run_date", "delivery_date", "file_name"}
# Column kinds whose values are personal and never shown in full.
PERSONAL_KINDS = {"id", "account", "name"}
# Lowest and highest dates a pandas datetime64[ns] holds; staged dates outside are clipped
# for GX only (the quarantine line shows the staged value).
_NS_MIN, _NS_MAX = dt.date(1677, 9, 22), dt.date(2262, 4, 11)
# Text columns stay in Arrow memory inside pandas (no per-value Python objects): GX's
# isin/isna/regex/unique then run in Arrow's C++ kernels.
_ARROW_STRINGS = {pa.string(): pd.StringDtype("pyarrow"), pa.large_string(): pd.StringDtype("pyarrow")}


@dataclass(frozen=True)
class ExpectationOutcome:
    """One expectation of the suite, summed over all chunks."""

    rule: str
    columns: list[str]
    on_fail: str
    success: bool
    element_count: int | None
    unexpected_count: int | None
    observed_value: Any = None
    kwargs: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ValidationResult:
    """What `validate_source` found for one source and run.

    `status` is `passed` or `failed` (a `reject_source` expectation or a suite
    threshold broken; `reasons_zh` says which). `rows_quarantined` counts distinct
    rows; `quarantine_lines` counts lines (one per failed column of a row).
    `counts` are the delivery's rows (delivered, duplicates, quarantined, staged;
    see `hedui.steps.validate.verdict`), `files` the same per file, and `warnings_zh` the
    failed `report` rules of severity warning (implausible values, shown in
    Data Docs; they neither quarantine rows nor fail the source).
    """

    source: str
    run_date: str
    status: str
    reasons_zh: list[str]
    rows_in: int
    rows_passed: int
    rows_quarantined: int
    quarantine_lines: int
    chunks: int
    seconds: float
    passed_out: str
    quarantine_out: str
    gx_result_path: str | None = None
    expectations: list[ExpectationOutcome] = field(default_factory=list)
    counts: dict = field(default_factory=dict)
    files: list[dict] = field(default_factory=list)
    warnings_zh: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return self.status == "failed"

    def to_dict(self) -> dict:
        """JSON-ready dict (for XCom or a run record)."""
        return asdict(self)


# --------------------------------------------------------------------------- masking and wording


def mask_value(value: Any, kind: str | None) -> str:
    """Text of a value for people to read: IDs `360102********1234`, accounts `****1234`,
    names `张**`; other values as they are (dates ISO, whole numbers without `.0`)."""
    text = format_value(value)
    if not text or kind not in PERSONAL_KINDS:
        return text
    if kind == "id":
        return mask_id(text)
    if kind == "account":
        return mask_account(text)
    return text[0] + "*" * (len(text) - 1)


def format_value(value: Any) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float | np.floating):
        value = float(value)
        return str(int(value)) if value.is_integer() and abs(value) < 1e16 else repr(value)
    return str(value).strip()


def reason_zh(exp: dict, kwargs: dict, label: str, raw: Any, shown: str,
              other: tuple[str, str] | None = None) -> str:
    """Chinese reason for one failing value of one expectation.

    `raw` is the staged value, `shown` the text to show (masked where personal);
    `kwargs` are the expectation's arguments as GX ran them. An expectation's
    `meta.reason_zh` template (with `{label}` and `{value}`) wins.
    """
    meta = exp.get("meta", {})
    if meta.get("reason_zh"):
        return meta["reason_zh"].format(label=label, value=shown)
    kind = exp["type"]
    if kind == "expect_column_values_to_not_be_null":
        return f'"{label}"为空，此项必填'
    if kind == "expect_column_values_to_be_in_set":
        return f'"{label}"值"{shown}"不在允许范围（{"/".join(map(str, kwargs["value_set"]))}）内'
    if kind == "expect_column_values_to_be_between":
        return _between_reason(exp, kwargs, label, raw, shown)
    if kind == "expect_column_values_to_match_regex":
        return f'"{label}"值"{shown}"格式不正确（应为{meta.get("format_zh", kwargs.get("regex"))}）'
    if kind == "expect_column_values_to_be_unique":
        return f'"{label}"值"{shown}"重复'
    if kind == "expect_column_pair_values_a_to_be_greater_than_b" and other:
        return f'"{label}"（{shown}）早于"{other[0]}"（{other[1]}）'
    return f'"{label}"值"{shown}"不符合规则 {kind}'


def _between_reason(exp: dict, kwargs: dict, label: str, raw: Any, shown: str) -> str:
    lo, hi = kwargs.get("min_value"), kwargs.get("max_value")
    if raw is None:
        return f'"{label}"值无效'
    if isinstance(raw, dt.date):
        value, lo, hi = _as_date(raw), _as_date(lo), _as_date(hi)
        if lo is not None and (value < lo or (kwargs.get("strict_min") and value == lo)):
            return f'"{label}"值"{shown}"早于 {lo.isoformat()}，不合理'
        if exp["kwargs"].get("max_value") == {"$PARAMETER": "run_date"}:
            return f'"{label}"值"{shown}"晚于核对日期 {hi.isoformat()}，日期不能在未来'
        return f'"{label}"值"{shown}"晚于 {hi.isoformat()}，不合理'
    value = float(raw)
    if lo is not None and (value < lo or (kwargs.get("strict_min") and value == lo)):
        if value < 0 <= lo:
            return f'"{label}"值"{shown}"为负数，不能为负'
        if kwargs.get("strict_min"):
            return f'"{label}"值"{shown}"须大于 {format_value(float(lo))}'
        return f'"{label}"值"{shown}"小于下限 {format_value(float(lo))}'
    if value != value:  # NaN
        return f'"{label}"值不是有效数值'
    return f'"{label}"值"{shown}"超过合理上限 {format_value(float(hi))}'


def _as_date(v: Any) -> dt.date | None:
    if v is None:
        return None
    if isinstance(v, str):
        return dt.date.fromisoformat(v[:10])
    if isinstance(v, np.datetime64):
        v = v.astype("datetime64[D]").item()
    if isinstance(v, dt.datetime):
        return v.date()
    return v


# --------------------------------------------------------------------------- GX


def _validation_definitions(context, suite: Suite, expected_rows: int | None):
    """Two validation definitions on one pandas batch: the row-level rules that quarantine
    (COMPLETE results, to get the failing record_ids) and the rest (SUMMARY results: a
    source-level rule may fail on many rows, and GX would copy each of them into the result).

    Returns ([(definition, result_format), ...], expectations, ids) where `expectations`
    is the suite's list (less the row-count check when `expected_rows` is None) and `ids`
    GX's id for each of them.
    """
    import great_expectations as gx
    from great_expectations.core.expectation_suite import ExpectationSuite

    expectations = [
        e for e in suite.expectations
        if expected_rows is not None or e.get("kwargs", {}).get("value") != {"$PARAMETER": "expected_rows"}
    ]
    batch = (
        context.data_sources.add_pandas("staged")
        .add_dataframe_asset(suite.name)
        .add_batch_definition_whole_dataframe("chunk")
    )
    parts = {
        "rows": ({"result_format": "COMPLETE", "unexpected_index_column_names": ["record_id"]},
                 [i for i, e in enumerate(expectations) if e["meta"]["on_fail"] == "quarantine"]),
        "source": ({"result_format": "SUMMARY"},
                   [i for i, e in enumerate(expectations) if e["meta"]["on_fail"] != "quarantine"]),
    }
    ids: list[str] = [""] * len(expectations)
    definitions = []
    for part, (result_format, indexes) in parts.items():
        if not indexes:
            continue
        gx_suite = context.suites.add(ExpectationSuite(
            name=f"{suite.name}.{part}",
            expectations=[{k: expectations[i][k] for k in ("type", "kwargs", "meta", "severity") if k in expectations[i]}
                          for i in indexes],
        ))
        for i, e in zip(indexes, gx_suite.expectations, strict=True):
            ids[i] = e.id
        vd = gx.ValidationDefinition(name=f"{suite.name}.{part}", data=batch, suite=gx_suite)
        definitions.append((context.validation_definitions.add(vd), result_format))
    return definitions, expectations, ids


def _gx_frame(table: pa.Table, columns: list[str]):
    """The chunk as pandas for GX: dates as datetime64[ns] (GX compares those vectorized)."""
    arrays = {}
    for name in columns:
        col = table.column(name)
        if pa.types.is_date(col.type) or pa.types.is_timestamp(col.type):
            days = pc.cast(col, pa.date32())
            days = pc.max_element_wise(days, pa.scalar(_NS_MIN), skip_nulls=False)
            days = pc.min_element_wise(days, pa.scalar(_NS_MAX), skip_nulls=False)
            col = pc.cast(days, pa.timestamp("ns"))
        arrays[name] = col
    return pa.table(arrays).to_pandas(types_mapper=_ARROW_STRINGS.get)


def _raise_on_gx_error(suite: Suite, result) -> None:
    for r in result.results:
        info = r.exception_info or {}
        infos = [info] if "raised_exception" in info else list(info.values())
        for i in infos:
            if i.get("raised_exception"):
                raise ConfigError(
                    f"suite {suite.name}: {r.expectation_config.type} "
                    f"{r.expectation_config.kwargs.get('column', '')} failed to run: {i.get('exception_message')}"
                )


# --------------------------------------------------------------------------- validation


def validate_source(
    source: str,
    staged_parquet: Path,
    run_date: str,
    passed_out: Path,
    quarantine_out: Path,
    docs_dir: Path | None = None,
    chunk_rows: int = 1_000_000,
    *,
    expected_rows: int | None = None,
    suites: Path | None = None,
    write_passed: Callable[[Path, np.ndarray, Path], None] | None = None,
    manifest: dict | None = None,
    stage_quarantine: Path | None = None,
) -> ValidationResult:
    """Validate `staged_parquet` with `stg_<source>.json`; write passed rows and quarantine lines.

    `run_date` (`YYYY-MM-DD` or `YYYYMMDD`) bounds every date: none may be later.
    `expected_rows` (rows the delivery's `.ok` markers announce minus rows staging
    quarantined) enables the suite's row-count check; without it that check is skipped.
    With `docs_dir`, the source's GX result (summed over chunks, masked) is saved as
    `docs_dir/_results/stg_<source>.json` and the run's Data Docs in `docs_dir` are
    rebuilt for offline reading. Outputs are replaced atomically: re-running a date
    overwrites them.  `write_passed(staged, bad_positions, passed_out)` writes the
    passed rows (default: the staged rows less the quarantined ones, unchanged);
    the pipeline passes one that also protects the personal columns.

    With the connector's ``manifest`` (and staging's quarantine file
    ``stage_quarantine``) the suite's thresholds judge each delivered file over
    all its rows — unreadable and staging-quarantined rows included, duplicates
    not (`hedui.steps.validate.verdict`) — and `counts`/`files` give delivered, duplicates,
    quarantined and staged rows as the run summary counts them; without it the
    thresholds judge the staged rows only.

    Raises ConfigError when the suite is missing or broken, names a column the
    staged file lacks, or an expectation cannot run on the staged types.
    """
    from great_expectations.core.run_identifier import RunIdentifier

    from hedui.steps.validate.datadocs import ResultMerger, build_data_docs

    started = time.perf_counter()
    day = _parse_run_date(run_date)
    suite = load_suite(source, suites)
    schema = pq.read_schema(staged_parquet)
    # few-valued text columns arrive as dictionaries, so pandas gets Categoricals: GX's isin,
    # null checks and frame filters then work on small integer codes
    categorical = [n for n in schema.names if pa.types.is_string(schema.field(n).type)
                   and (suite.kinds.get(n) in CATEGORICAL_KINDS or n in CATEGORICAL_COLUMNS)]
    parquet = pq.ParquetFile(staged_parquet, read_dictionary=categorical)
    gx_columns = _gx_columns(suite, schema)
    context = gx_context()
    # ValidationDefinition.run serializes each chunk's whole result (every failing row) into the
    # context's in-memory results store; results are merged and saved here, so GX's copy is dropped.
    context.validation_results_store.store_validation_results = lambda **_: True
    definitions, expectations, ids = _validation_definitions(context, suite, expected_rows)
    personal = {c: k for c, k in suite.kinds.items() if k in PERSONAL_KINDS}
    merger = ResultMerger(suite.name, expectations, ids, personal, mask_value)
    run_id = RunIdentifier(run_name=day.isoformat(), run_time=dt.datetime.combine(day, dt.time(), dt.UTC))
    params = {"run_date": pd.Timestamp(day), "expected_rows": expected_rows}

    lines: list[dict] = []
    bad_rows: list[np.ndarray] = []
    offset = 0
    passed_out, quarantine_out = Path(passed_out), Path(quarantine_out)
    # only what GX checks and what a quarantine line shows is read; the passed rows are the
    # staged file less the quarantined ones, written once at the end (no rewrite when none)
    read_columns = [n for n in schema.names if n in set(gx_columns) | _line_columns(suite, schema)]
    for table in _chunks(parquet, chunk_rows, read_columns):
        frame = _gx_frame(table, gx_columns)
        bad = np.zeros(table.num_rows, dtype=bool)
        for vd, result_format in definitions:
            result = vd.run(
                batch_parameters={"dataframe": frame}, expectation_parameters=params,
                result_format=result_format, run_id=run_id,
            )
            _raise_on_gx_error(suite, result)
            for index, exp_result in merger.add(result):
                exp = expectations[index]
                failing = [row["record_id"] for row in exp_result.result.get("unexpected_index_list") or []]
                if exp["meta"]["on_fail"] != "quarantine" or not failing:
                    continue
                positions = np.flatnonzero(frame["record_id"].isin(failing).to_numpy())
                bad[positions] = True
                lines.extend(_quarantine_lines(suite, exp, exp_result, table, positions, offset, index))
        merger.chunks += 1
        if bad.any():
            bad_rows.append(np.flatnonzero(bad) + offset)
        offset += table.num_rows
    bad_positions = np.concatenate(bad_rows) if bad_rows else np.zeros(0, dtype=np.int64)
    (write_passed or _write_passed)(Path(staged_parquet), bad_positions, passed_out)

    rows_in, rows_quarantined = offset, len(bad_positions)
    rows_passed = rows_in - rows_quarantined
    _write_quarantine(lines, schema, source, run_date, quarantine_out)
    outcomes = [ExpectationOutcome(**o) for o in merger.outcomes()]
    reasons = _reject_reasons(expectations, outcomes)
    files: list[FileCounts] = []
    if manifest is None:
        reasons += _threshold_reasons(suite, rows_in, rows_quarantined)
        counts = {"delivered": rows_in, "duplicates": 0, "quarantined": rows_quarantined, "staged": rows_passed}
    else:
        files = file_counts(manifest, [stage_quarantine, quarantine_out])
        counts = totals(files)
        reasons = _delivery_reasons(expectations, outcomes, files, counts, suite.thresholds)
    status = "failed" if reasons else "passed"
    warnings = _warnings(expectations, outcomes)
    gx_path = None
    if docs_dir is not None:
        gx_path = merger.save(Path(docs_dir), {
            "source": source, "title_zh": suite.data.get("meta", {}).get("hedui", {}).get("title_zh"),
            "status": status, "reasons_zh": reasons, "warnings_zh": warnings, "rows_in": rows_in,
            "rows_passed": rows_passed, "rows_quarantined": rows_quarantined,
            "counts": counts, "files": [f.to_dict() for f in files],
        })
        build_data_docs(Path(docs_dir), suites)
    seconds = round(time.perf_counter() - started, 3)
    log.info("validated %s: %d rows, %d quarantined, %s, %.1fs", source, rows_in, rows_quarantined, status, seconds)
    return ValidationResult(
        source=source, run_date=run_date, status=status, reasons_zh=reasons, rows_in=rows_in,
        rows_passed=rows_passed, rows_quarantined=rows_quarantined, quarantine_lines=len(lines),
        chunks=merger.chunks, seconds=seconds, passed_out=str(passed_out), quarantine_out=str(quarantine_out),
        gx_result_path=str(gx_path) if gx_path else None, expectations=outcomes,
        counts=counts, files=[f.to_dict() for f in files], warnings_zh=warnings,
    )


def _reject_reasons(expectations: list[dict], outcomes: list[ExpectationOutcome]) -> list[str]:
    """Chinese reasons for the failed `reject_source` expectations: the rule's `meta.reject_zh`
    (what is wrong) with the numbers (share and allowed share, or rows expected and found)."""
    reasons = []
    for exp, o in zip(expectations, outcomes, strict=True):
        if o.on_fail != "reject_source" or o.success:
            continue
        text = exp["meta"].get("reject_zh") or f"规则 {o.rule} 未通过"
        if o.rule == "expect_table_row_count_to_equal":
            reasons.append(f"{text}：应为 {o.kwargs.get('value')} 行，实际 {o.observed_value} 行")
        elif o.rule == "expect_table_row_count_to_be_between":
            reasons.append(f"{text}：实际 {o.observed_value} 行")
        elif o.unexpected_count is not None and o.element_count:
            allowed = 1 - (o.kwargs.get("mostly") or 1.0)
            reasons.append(f"{text}占 {o.unexpected_count / o.element_count:.1%}（{o.unexpected_count}/"
                           f"{o.element_count} 行），超过允许的 {allowed:.1%}")
        else:
            reasons.append(text)
    return reasons


def _delivery_reasons(expectations: list[dict], outcomes: list[ExpectationOutcome], files: list[FileCounts], counts: dict, thresholds: dict) -> list[str]:
    """The reasons judged over the whole delivery: the files over a share of `thresholds` first
    (they name the real cause); an empty staged table is "交付为空" only when nothing was delivered."""
    out = threshold_reasons(files, thresholds)
    emptied = counts["delivered"] > 0 and counts["staged"] == 0
    for exp, o in zip(expectations, outcomes, strict=True):
        if o.on_fail != "reject_source" or o.success:
            continue
        text = _reject_reasons([exp], [o])[0]
        if emptied and o.rule in ("expect_table_row_count_to_be_between", "expect_table_row_count_to_equal"):
            if not out:
                out.append(f"交付 {counts['delivered']:,} 行，全部被隔离（逐行原因见隔离表），没有可用的行")
            continue
        out.append(text)
    return out


def _warnings(expectations: list[dict], outcomes: list[ExpectationOutcome]) -> list[str]:
    """Chinese warnings for the failed `report` rules of severity warning (e.g. a limited company's
    registered capital under 1 元): `meta.warn_zh` with the number of rows."""
    out = []
    for exp, o in zip(expectations, outcomes, strict=True):
        if o.on_fail != "report" or o.success or exp.get("severity") != "warning":
            continue
        text = exp["meta"].get("warn_zh") or f"规则 {o.rule} 未通过"
        out.append(f"{text}：{o.unexpected_count:,} 行" if o.unexpected_count else text)
    return out


def _parse_run_date(run_date: str) -> dt.date:
    try:
        return dt.date.fromisoformat(run_date if "-" in run_date else f"{run_date[:4]}-{run_date[4:6]}-{run_date[6:]}")
    except ValueError:
        raise ConfigError(f"run_date {run_date!r} is not a date: use YYYY-MM-DD or YYYYMMDD") from None


def _gx_columns(suite: Suite, schema: pa.Schema) -> list[str]:
    wanted = {"record_id"}
    for exp in suite.expectations:
        wanted.update(expectation_columns(exp))
        wanted.update(_condition_columns(exp.get("kwargs", {}).get("row_condition")))
    missing = sorted(wanted - set(schema.names))
    if missing:
        raise ConfigError(f"staged rows for {suite.source} lack columns {missing} that {suite.name} checks")
    return [n for n in schema.names if n in wanted]


def _condition_columns(condition: Any) -> set[str]:
    """Columns a GX row condition (JSON form: `{"type": "comparison", "column": {"name": ...}, ...}`,
    possibly nested in `and`/`or` conditions) refers to."""
    if isinstance(condition, dict):
        found = {condition["column"]["name"]} if isinstance(condition.get("column"), dict) else set()
        return found.union(*(_condition_columns(v) for v in condition.values()))
    if isinstance(condition, list):
        return set().union(*(_condition_columns(v) for v in condition))
    return set()


def _line_columns(suite: Suite, schema: pa.Schema) -> set[str]:
    """Columns a quarantine line takes values from besides the checked ones: lineage, the ID."""
    wanted = {"row_no", "file_name", "run_date"}
    if suite.id_column:
        wanted.add(suite.id_column)
    for exp in suite.expectations:
        if exp.get("kwargs", {}).get("column_B"):
            wanted.add(exp["kwargs"]["column_B"])
    return wanted & set(schema.names)


def _chunks(parquet: pq.ParquetFile, chunk_rows: int, columns: list[str]):
    """Tables of `columns` of `chunk_rows` rows (the last one fewer), however small the file's row
    groups (each chunk costs GX a fixed overhead); one empty table for an empty file (so GX still runs)."""
    pending: list[pa.RecordBatch] = []
    size = 0
    empty = True
    for batch in parquet.iter_batches(batch_size=chunk_rows, columns=columns):
        empty = False
        while batch.num_rows:
            take = min(chunk_rows - size, batch.num_rows)
            pending.append(batch.slice(0, take))
            size += take
            batch = batch.slice(take)
            if size == chunk_rows:
                yield pa.Table.from_batches(pending).combine_chunks()
                pending, size = [], 0
    if pending:
        yield pa.Table.from_batches(pending).combine_chunks()
    elif empty:
        yield parquet.schema_arrow.empty_table().select(columns)


def _write_passed(staged: Path, bad_positions: np.ndarray, out: Path) -> None:
    """`out` := the staged rows less those at `bad_positions` (a copy of the file when there are none)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.unlink(missing_ok=True)
    try:
        if len(bad_positions) == 0:
            try:
                os.link(staged, tmp)  # the staged file is never modified in place: a hard link is a copy
            except OSError:
                shutil.copyfile(staged, tmp)
        else:
            parquet = pq.ParquetFile(staged)
            bad = np.sort(bad_positions)
            with pq.ParquetWriter(tmp, parquet.schema_arrow, compression="zstd", compression_level=1) as writer:
                offset = 0
                for batch in parquet.iter_batches(batch_size=1_000_000):
                    lo, hi = np.searchsorted(bad, [offset, offset + batch.num_rows])
                    keep = np.ones(batch.num_rows, dtype=bool)
                    keep[bad[lo:hi] - offset] = False
                    writer.write_table(pa.Table.from_batches([batch]).filter(pa.array(keep)))
                    offset += batch.num_rows
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _quarantine_lines(suite: Suite, exp: dict, exp_result, table: pa.Table, positions, offset: int,
                      index: int) -> list[dict]:
    """One quarantine line per failing row of one expectation (the row's lineage, the value, why)."""
    kwargs = exp_result.expectation_config.kwargs
    cols = expectation_columns(exp)
    column = cols[0] if cols else ""
    # A rule on id_status is about the ID number: show that (masked).
    shown_col = suite.id_column if column == "id_status" and suite.id_column else column
    label = suite.labels.get(column, column)
    take = pa.array(positions, pa.int64())

    def values(name: str | None) -> list:
        return table.column(name).take(take).to_pylist() if name else [None] * len(positions)

    raw = values(column)
    shown_raw = values(shown_col) if shown_col != column else raw
    other_col = exp.get("kwargs", {}).get("column_B")
    others = values(other_col) if other_col else None
    row_no, file_name = values("row_no"), values("file_name")
    run_date = values("run_date") if "run_date" in table.column_names else [None] * len(positions)
    out = []
    for i, pos in enumerate(positions):
        if column == "id_status":  # the reason names the status, the line shows the ID number
            text = ID_STATUS_ZH.get(raw[i], format_value(raw[i]))
            masked = mask_value(shown_raw[i], suite.kinds.get(shown_col))
        else:
            text = masked = mask_value(raw[i], suite.kinds.get(column))
            if suite.kinds.get(column) == "month":
                text = masked = text[:7]
        other = (suite.labels.get(other_col, other_col), format_value(others[i])) if others else None
        out.append({
            "_order": (offset + int(pos), index),
            "run_date": run_date[i], "file_name": file_name[i], "row_no": row_no[i],
            "column_name": shown_col,
            "value_masked": masked,
            "rule": exp["type"],
            "reason_zh": reason_zh(exp, kwargs, label, raw[i], text, other),
        })
    return out


def _write_quarantine(lines, schema: pa.Schema, source: str, run_date: str, path: Path) -> None:
    lines.sort(key=lambda r: r["_order"])
    run_date_type = schema.field("run_date").type if "run_date" in schema.names else pa.string()
    row_no_type = schema.field("row_no").type if "row_no" in schema.names else pa.int64()
    types = {"run_date": run_date_type, "row_no": row_no_type}
    cols = {
        c: pa.array([r[c] if c != "source" else source for r in lines], types.get(c, pa.string()))
        for c in QUARANTINE_COLUMNS
    }
    if "run_date" not in schema.names:
        cols["run_date"] = pa.array([run_date] * len(lines), pa.string())
    tmp = path.with_name(path.name + ".tmp")
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(cols), tmp)
    os.replace(tmp, path)


def _threshold_reasons(suite: Suite, rows_in: int, rows_quarantined: int) -> list[str]:
    """Without the delivery's manifest: the quarantined share of the rows validated (the
    pipeline passes the manifest and `hedui.steps.validate.verdict` judges each delivered file instead)."""
    limit = suite.thresholds.get("max_quarantined_share")
    if limit is None or rows_in == 0:
        return []
    share = rows_quarantined / rows_in
    if share <= limit:
        return []
    return [f"被隔离的记录占 {share:.1%}（{rows_quarantined}/{rows_in} 行），超过允许的 {limit:.1%}"]

