"""Validate one source's staged rows with its Great Expectations suite.

`validate_source` reads `runs/<date>/staged/<source>.parquet` in chunks, runs the
suite `expectations/stg_<source>.json` on each chunk with GX (pandas) — all rules at
once for their counts, then each rule that found unexpected rows alone for its full
result (the failing rows, the most frequent values) — and splits the rows: those that
pass go on to `passed_out`; those that fail an expectation marked `"on_fail": "quarantine"`
go to `quarantine_out`, one line per failed column, with the value masked where it is
personal and a reason in Chinese.
Expectations marked `"reject_source"` and the suite's `meta.hedui.thresholds`
judge the delivery as a whole: a source that breaks one is `failed` for the run.
The suite format is described in `expectations/README.md`.

Great Expectations is imported inside the functions (it costs seconds), so this
module is cheap to import from a DAG file.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Collection
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from hedui.errors import ConfigError
from hedui.steps.validate.quarantine import _chunks
from hedui.steps.validate.reasons import ExpectationOutcome, mask_value
from hedui.steps.validate.suites import (
    Suite,
    expectation_columns,
    load_suite,
    maps_dir,
    suites_dir,
)

__all__ = ["ValidationResult", "ExpectationOutcome", "validate_source", "load_suite", "maps_dir", "suites_dir",
           "mask_value", "expectation_columns", "read_columns"]


log = logging.getLogger(__name__)


# Text columns with few distinct values: read as dictionaries (pandas Categoricals).
CATEGORICAL_KINDS = {"enum", "region"}


CATEGORICAL_COLUMNS = {"id_status", "source", "run_date", "delivery_date", "file_name"}




# Lowest and highest dates a pandas datetime64[ns] holds; staged dates outside are clipped
# for GX only (the quarantine line shows the staged value).
_NS_MIN, _NS_MAX = dt.date(1677, 9, 22), dt.date(2262, 4, 11)


# Text columns stay in Arrow memory inside pandas (no per-value Python objects): GX's
# isin/isna/regex/unique then run in Arrow's C++ kernels.
_ARROW_STRINGS = {pa.string(): pd.StringDtype("pyarrow"), pa.large_string(): pd.StringDtype("pyarrow")}




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


# Each chunk is validated first with GX's BASIC results (success and counts, no row lists: the
# fewest metrics); a rule that found unexpected rows in the chunk is run again alone on it for
# its full result (below).
COUNTS = {"result_format": "BASIC"}
ROWS = {"result_format": "COMPLETE", "unexpected_index_column_names": ["record_id"]}
SUMMARY = {"result_format": "SUMMARY"}


# A rule that found unexpected rows in a chunk runs alone in the later chunks (False: counted first).
RUN_FAILED_ALONE = True

# A chunk of at least this many rows is validated column group by column group (below); a
# smaller one in one run (each run costs GX a fixed overhead that a small chunk does not repay).
GROUPED_ROWS = 250_000


class _Definitions:
    """The suite's GX validation definitions on one pandas batch.

    `counts` holds every expectation (less the row-count check when `expected_rows` is
    None), run with BASIC results.  `groups` holds the same expectations split by the
    columns they read (the table-level ones, with none, together), each group a definition
    run on a frame of its columns only: GX copies the whole frame it is given for each
    column rule (dropping the nulls of the column, `df[df[col].notnull()]`, then again to
    list unexpected values), so a narrow frame saves copying every other column (the long
    record_id above all); results are the same, being computed from those columns alone.
    `alone(i)` is expectation i by itself, made on first use, with the result format its
    full result needs: a row-level rule that quarantines gets COMPLETE results (the failing
    record_ids), any other rule SUMMARY (its most frequent unexpected values, for Data
    Docs; a source-level rule may fail on many rows, and COMPLETE would copy each of them),
    and the columns it runs on.  `index` maps GX's id of each expectation (in any of the
    definitions) to its position in `expectations`.
    """

    def __init__(self, context, suite: Suite, expected_rows: int | None, columns: list[str]) -> None:
        self.context, self.suite = context, suite
        self.expectations = [
            e for e in suite.expectations
            if expected_rows is not None or e.get("kwargs", {}).get("value") != {"$PARAMETER": "expected_rows"}
        ]
        self.batch = (
            context.data_sources.add_pandas("staged")
            .add_dataframe_asset(suite.name)
            .add_batch_definition_whole_dataframe("chunk")
        )
        self.index: dict[str, int] = {}
        self._needs: list[list[str]] = []
        for e in self.expectations:
            condition = e.get("kwargs", {}).get("row_condition")
            wanted = set(expectation_columns(e)) | _condition_columns(condition)
            if condition is not None and not isinstance(condition, dict):  # a condition string: any column
                wanted = set(columns)
            self._needs.append([n for n in columns if n in wanted])
        self._passes: dict[tuple[bool, tuple[int, ...]], Any] = {}
        self._alone: dict[int, Any] = {}

    def passes(self, rows: int, skip: Collection[int] = ()) -> list[tuple[list[str] | None, Any]]:
        """The BASIC runs of a chunk of `rows` rows, less the expectations at `skip` (run alone
        anyway, see `validate_source`): (columns, definition); columns None = all."""
        if rows < GROUPED_ROWS:
            groups = {(): list(range(len(self.expectations)))}
        else:
            groups = {}
            for i, needs in enumerate(self._needs):
                groups.setdefault(tuple(needs), []).append(i)
        out = []
        for cols, indexes in groups.items():
            indexes = tuple(i for i in indexes if i not in skip)
            key = (rows < GROUPED_ROWS, indexes)
            if indexes and key not in self._passes:
                name = f"{self.suite.name}.counts" + (f".{len(self._passes)}" if self._passes else "")
                self._passes[key] = self._add(name, indexes)
            if indexes:
                out.append((None if rows < GROUPED_ROWS else list(cols), self._passes[key]))
        return out

    def alone(self, i: int, rows: int) -> tuple[Any, dict, list[str] | None]:
        """Expectation i's own definition, its result format and the columns it runs on (in a
        chunk of `rows` rows: all of them when that is too small to group)."""
        if i not in self._alone:
            self._alone[i] = self._add(f"{self.suite.name}.{i}", [i])
        quarantines = self.expectations[i]["meta"]["on_fail"] == "quarantine"
        columns = None if rows < GROUPED_ROWS else [
            *self._needs[i], *(["record_id"] if quarantines and "record_id" not in self._needs[i] else [])]
        return self._alone[i], ROWS if quarantines else SUMMARY, columns

    def _add(self, name: str, indexes):
        import great_expectations as gx
        from great_expectations.core.expectation_suite import ExpectationSuite

        indexes = list(indexes)
        gx_suite = self.context.suites.add(ExpectationSuite(
            name=name,
            expectations=[{k: self.expectations[i][k] for k in ("type", "kwargs", "meta", "severity")
                           if k in self.expectations[i]} for i in indexes],
        ))
        for i, e in zip(indexes, gx_suite.expectations, strict=True):
            self.index[e.id] = i
        vd = gx.ValidationDefinition(name=name, data=self.batch, suite=gx_suite)
        return self.context.validation_definitions.add(vd)


def _found_rows(exp_result) -> bool:
    """Whether a BASIC result counted unexpected rows (so the rule runs again for its full result)."""
    return bool((exp_result.result or {}).get("unexpected_count"))


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


def _columns(frame: pd.DataFrame, columns: list[str] | None) -> pd.DataFrame:
    """The frame narrowed to `columns` (all of it for None); same index, so GX's row indexes stay."""
    return frame if columns is None else frame[columns]


def _run(suite: Suite, vd, result_format: dict, frame, params: dict, run_id):
    """One validation definition on one chunk; raises ConfigError when an expectation could not run."""
    result = vd.run(batch_parameters={"dataframe": frame}, expectation_parameters=params,
                    result_format=result_format, run_id=run_id)
    _raise_on_gx_error(suite, result)
    return result


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
    from hedui.steps.validate.stream import StreamValidation

    stream = StreamValidation(source, staged_parquet, run_date, passed_out, quarantine_out, chunk_rows, suites=suites)
    stream.start(pq.read_schema(staged_parquet))
    parquet = pq.ParquetFile(staged_parquet, read_dictionary=stream.categorical)
    for table in _chunks(parquet, chunk_rows, stream.read_columns):
        stream.chunk(table)
    return stream.finish(docs_dir, expected_rows=expected_rows, write_passed=write_passed, manifest=manifest,
                         stage_quarantine=stage_quarantine)


def _parse_run_date(run_date: str) -> dt.date:
    try:
        return dt.date.fromisoformat(run_date if "-" in run_date else f"{run_date[:4]}-{run_date[4:6]}-{run_date[6:]}")
    except ValueError:
        raise ConfigError(f"run_date {run_date!r} is not a date: use YYYY-MM-DD or YYYYMMDD") from None


def read_columns(source: str, suites: Path | None = None) -> set[str]:
    """The staged columns `validate_source` reads for `source` (what GX checks, what a quarantine
    line shows): a staged file for validation alone needs no others."""
    suite = load_suite(source, suites)
    return _checked(suite) | _shown(suite)


def _checked(suite: Suite) -> set[str]:
    """Columns the suite's expectations check (and their row conditions refer to)."""
    wanted = {"record_id"}
    for exp in suite.expectations:
        wanted.update(expectation_columns(exp))
        wanted.update(_condition_columns(exp.get("kwargs", {}).get("row_condition")))
    return wanted


def _gx_columns(suite: Suite, schema: pa.Schema) -> list[str]:
    wanted = _checked(suite)
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


def _shown(suite: Suite) -> set[str]:
    """Columns a quarantine line takes values from besides the checked ones: lineage, the ID."""
    wanted = {"row_no", "file_name", "run_date"}
    if suite.id_column:
        wanted.add(suite.id_column)
    for exp in suite.expectations:
        if exp.get("kwargs", {}).get("column_B"):
            wanted.add(exp["kwargs"]["column_B"])
    return wanted


def _line_columns(suite: Suite, schema: pa.Schema) -> set[str]:
    return _shown(suite) & set(schema.names)
