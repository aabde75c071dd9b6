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
import time
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
from hedui.steps.validate.quarantine import _chunks, _quarantine_lines, _write_passed, _write_quarantine
from hedui.steps.validate.reasons import (
    NUMBER_FREE_KINDS,
    PERSONAL_KINDS,
    ExpectationOutcome,
    _delivery_reasons,
    _reject_reasons,
    _threshold_reasons,
    _warnings,
    docs_value,
    mask_value,
)
from hedui.steps.validate.suites import (
    Suite,
    _condition_columns,
    _gx_columns,
    _line_columns,
    _parse_run_date,
    expectation_columns,
    load_suite,
    maps_dir,
    read_columns,
    suites_dir,
)
from hedui.steps.validate.verdict import FileCounts, file_counts, totals

__all__ = ["ValidationResult", "ExpectationOutcome", "validate_source", "load_suite", "maps_dir", "suites_dir",
           "mask_value", "expectation_columns", "read_columns", "StreamValidation"]


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
    chunk_rows: int | None = None,
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
    stream = StreamValidation(source, staged_parquet, run_date, passed_out, quarantine_out, chunk_rows, suites=suites)
    stream.start(pq.read_schema(staged_parquet))
    parquet = pq.ParquetFile(staged_parquet, read_dictionary=stream.categorical)
    for table in _chunks(parquet, stream.chunk_rows, stream.read_columns):
        stream.chunk(table)
    return stream.finish(docs_dir, expected_rows=expected_rows, write_passed=write_passed, manifest=manifest,
                         stage_quarantine=stage_quarantine)


CHUNK_ROWS = 1_000_000
ROW_COUNT_PARAMETER = {"$PARAMETER": "expected_rows"}


class StreamValidation:
    """One source's GX validation, fed chunk by chunk (see the module's docstring).

    `staged_parquet` names the staged file (its protected twin is where the passed rows come
    from, `hedui.privacy.protect.passed_rows`); it need not exist when the chunks come from
    staging.  `start(schema)` (the staged file's schema as read) comes first; `stream.stage_writer` calls it."""

    def __init__(self, source: str, staged_parquet: Path, run_date: str, passed_out: Path, quarantine_out: Path,
                 chunk_rows: int | None = None, *, suites: Path | None = None) -> None:
        self.source, self.staged_parquet, self.run_date = source, Path(staged_parquet), run_date
        self.passed_out, self.quarantine_out = Path(passed_out), Path(quarantine_out)
        self.chunk_rows, self.suites = chunk_rows or CHUNK_ROWS, suites  # CHUNK_ROWS: 1 M rows
        self.seconds = 0.0  # GX's own time (chunk and finish), not staging's between the chunks
        self.day = _parse_run_date(run_date)
        self.suite = load_suite(source, suites)
        self.schema: pa.Schema | None = None

    def start(self, schema: pa.Schema) -> None:
        """Make GX's definitions for staged rows of `schema` (types as the staged file reads back)."""
        from great_expectations.core.run_identifier import RunIdentifier

        from hedui.steps.validate.datadocs import ResultMerger
        from hedui.steps.validate.suites import gx_context

        suite, day = self.suite, self.day
        self.schema = schema
        # few-valued text columns arrive as dictionaries, so pandas gets Categoricals: GX's isin,
        # null checks and frame filters then work on small integer codes
        self.categorical = [n for n in schema.names if pa.types.is_string(schema.field(n).type)
                            and (suite.kinds.get(n) in CATEGORICAL_KINDS or n in CATEGORICAL_COLUMNS)]
        self.gx_columns = _gx_columns(suite, schema)
        # only what GX checks and what a quarantine line shows is read; the passed rows are the
        # staged file less the quarantined ones, written once at the end (no rewrite when none)
        self.read_columns = [n for n in schema.names if n in set(self.gx_columns) | _line_columns(suite, schema)]
        context = gx_context()
        # ValidationDefinition.run serializes each chunk's whole result (every failing row) into the
        # context's in-memory results store; results are merged and saved here, so GX's copy is dropped.
        context.validation_results_store.store_validation_results = lambda **_: True
        # the row-count check is made whatever expected_rows turns out to be: it runs in `finish`
        self.definitions = _Definitions(context, suite, 0, self.gx_columns)
        self.expectations = self.definitions.expectations
        self.deferred = {i for i, e in enumerate(self.expectations)
                         if e.get("kwargs", {}).get("value") == ROW_COUNT_PARAMETER}
        shown = {c: k for c, k in suite.kinds.items() if k in PERSONAL_KINDS | NUMBER_FREE_KINDS}
        self.merger = ResultMerger(suite.name, self.expectations, self.definitions.index, shown, docs_value)
        self.run_id = RunIdentifier(run_name=day.isoformat(), run_time=dt.datetime.combine(day, dt.time(), dt.UTC))
        self.params = {"run_date": pd.Timestamp(day), "expected_rows": None}
        if any(e.get("kwargs", {}).get("regex") == {"$PARAMETER": "policy_region_regex"} for e in self.expectations):
            from hedui.steps.policy import region_regex  # the request list: a region some policy covers

            self.params["policy_region_regex"] = region_regex(day.year)
        self.lines: list[dict] = []
        self.bad_rows: list[np.ndarray] = []
        # a rule that found unexpected rows in a chunk is likely to find some in the next ones: it runs
        # there alone, for its full result, at once (not counted first and then run again)
        self.failed: set[int] = set()
        self.offset = 0

    def chunk(self, table: pa.Table) -> None:
        """Validate one chunk (`read_columns`, `chunk_rows` rows but the last)."""
        started = time.perf_counter()
        suite, definitions, merger, params, run_id = (self.suite, self.definitions, self.merger, self.params,
                                                      self.run_id)
        frame = _gx_frame(table, self.gx_columns)
        bad = np.zeros(table.num_rows, dtype=bool)
        counted = [_run(suite, vd, COUNTS, _columns(frame, columns), params, run_id)
                   for columns, vd in definitions.passes(table.num_rows, skip=self.failed | self.deferred)]
        again = sorted(self.failed.union(definitions.index[r.expectation_config.id]
                                         for c in counted for r in c.results if _found_rows(r)))
        if RUN_FAILED_ALONE:
            self.failed.update(again)
        for c in counted:
            list(merger.add(c, skip=again))
        for i in again:
            vd, result_format, columns = definitions.alone(i, table.num_rows)
            for index, exp_result in merger.add(_run(suite, vd, result_format, _columns(frame, columns), params,
                                                     run_id)):
                exp = self.expectations[index]
                failing = [row["record_id"] for row in exp_result.result.get("unexpected_index_list") or []]
                if exp["meta"]["on_fail"] != "quarantine" or not failing:
                    continue
                positions = np.flatnonzero(frame["record_id"].isin(failing).to_numpy())
                bad[positions] = True
                self.lines.extend(_quarantine_lines(suite, exp, exp_result, table, positions, self.offset, index))
        merger.chunks += 1
        if bad.any():
            self.bad_rows.append(np.flatnonzero(bad) + self.offset)
        self.offset += table.num_rows
        self.seconds += time.perf_counter() - started

    def _count_rows(self, expected_rows: int | None) -> None:
        """The row-count check, once: on a frame of the rows the chunks held (it reads no column)."""
        if expected_rows is None:
            return
        params = {**self.params, "expected_rows": expected_rows}
        frame = pd.DataFrame(index=pd.RangeIndex(self.offset))
        for i in sorted(self.deferred):
            vd, _, _ = self.definitions.alone(i, 0)
            list(self.merger.add(_run(self.suite, vd, COUNTS, frame, params, self.run_id)))

    def finish(self, docs_dir: Path | None = None, *, expected_rows: int | None = None, write_passed=None,
               manifest: dict | None = None, stage_quarantine: Path | None = None) -> ValidationResult:
        """After the last chunk: the row-count check, the passed rows, the quarantine, the verdict and
        (with `docs_dir`) GX's saved result and Data Docs; arguments as `validate_source`'s."""
        from hedui.steps.validate.datadocs import build_data_docs

        started = time.perf_counter()
        suite, source, run_date, merger = self.suite, self.source, self.run_date, self.merger
        self._count_rows(expected_rows)
        keep = [i for i in range(len(self.expectations)) if expected_rows is not None or i not in self.deferred]
        expectations = [self.expectations[i] for i in keep]
        bad_positions = np.concatenate(self.bad_rows) if self.bad_rows else np.zeros(0, dtype=np.int64)
        (write_passed or _write_passed)(self.staged_parquet, bad_positions, self.passed_out)

        rows_in, rows_quarantined = self.offset, len(bad_positions)
        rows_passed = rows_in - rows_quarantined
        _write_quarantine(self.lines, self.schema, source, run_date, self.quarantine_out)
        every = merger.outcomes()
        outcomes = [ExpectationOutcome(**every[i]) for i in keep]
        reasons = _reject_reasons(expectations, outcomes, suite.thresholds.get("min_bad_rows", 1))
        files: list[FileCounts] = []
        if manifest is None:
            reasons += _threshold_reasons(suite, rows_in, rows_quarantined)
            counts = {"delivered": rows_in, "duplicates": 0, "quarantined": rows_quarantined, "staged": rows_passed}
        else:
            files = file_counts(manifest, [stage_quarantine, self.quarantine_out])
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
            build_data_docs(Path(docs_dir), self.suites, only=[suite.name])
        seconds = round(self.seconds + time.perf_counter() - started, 3)
        log.info("validated %s: %d rows, %d quarantined, %s, %.1fs", source, rows_in, rows_quarantined, status,
                 seconds)
        return ValidationResult(
            source=source, run_date=run_date, status=status, reasons_zh=reasons, rows_in=rows_in,
            rows_passed=rows_passed, rows_quarantined=rows_quarantined, quarantine_lines=len(self.lines),
            chunks=merger.chunks, seconds=seconds, passed_out=str(self.passed_out),
            quarantine_out=str(self.quarantine_out), gx_result_path=str(gx_path) if gx_path else None,
            expectations=outcomes, counts=counts, files=[f.to_dict() for f in files], warnings_zh=warnings,
        )
