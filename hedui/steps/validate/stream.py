"""GX fed chunk by chunk: the body of `validate_source`, usable on the staging pass's rows.

`StreamValidation` validates a source's staged rows one chunk at a time (`chunk`) and, after
the last one, runs the suite's row-count check, writes the passed rows and the quarantine and
saves GX's merged result (`finish`).  `validate_source` feeds it the chunks of the staged file;
`hedui.pipeline.ingest_and_validate` feeds it the staged rows as staging produces them
(`writer`: the plain-writer hook of `hedui.steps.ingest.stage_source`), so no plain staged file
is written and read back.  Either way GX sees the same chunks with the same types: a column's
type as the staged file reads back (lineage columns plain strings), the few-valued text columns
dictionary-encoded as `read_dictionary` gives them.

The row-count check (`expected_rows`: the rows the `.ok` markers announce less those staging
quarantined, known only after staging) runs once, after the last chunk, on a frame of as many
rows as the chunks held (no columns: it counts rows); GX's merged result sums the chunks' counts
the same way.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from hedui.steps.validate.check import (
    CATEGORICAL_COLUMNS,
    CATEGORICAL_KINDS,
    COUNTS,
    RUN_FAILED_ALONE,
    ValidationResult,
    _columns,
    _Definitions,
    _found_rows,
    _gx_columns,
    _gx_frame,
    _line_columns,
    _parse_run_date,
    _run,
)
from hedui.steps.validate.quarantine import _quarantine_lines, _write_passed, _write_quarantine
from hedui.steps.validate.reasons import (
    NUMBER_FREE_KINDS,
    PERSONAL_KINDS,
    ExpectationOutcome,
    _delivery_reasons,
    _reject_reasons,
    _threshold_reasons,
    _warnings,
    docs_value,
)
from hedui.steps.validate.suites import load_suite
from hedui.steps.validate.verdict import FileCounts, file_counts, totals

log = logging.getLogger(__name__)

CHUNK_ROWS = 1_000_000
ROW_COUNT_PARAMETER = {"$PARAMETER": "expected_rows"}


class StreamValidation:
    """One source's GX validation, fed chunk by chunk (see the module's docstring).

    `staged_parquet` names the staged file (its protected twin is where the passed rows come
    from, `hedui.privacy.protect.passed_rows`); it need not exist when the chunks come from
    staging.  `start(schema)` (the staged file's schema as read) comes first; `writer` calls it."""

    def __init__(self, source: str, staged_parquet: Path, run_date: str, passed_out: Path, quarantine_out: Path,
                 chunk_rows: int = CHUNK_ROWS, *, suites: Path | None = None) -> None:
        self.source, self.staged_parquet, self.run_date = source, Path(staged_parquet), run_date
        self.passed_out, self.quarantine_out = Path(passed_out), Path(quarantine_out)
        self.chunk_rows, self.suites = chunk_rows, suites
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

    def writer(self, out: Path, schema: pa.Schema) -> _Chunker:
        """The plain-writer hook of `stage_source` (in place of a `StagedWriter` of `out`): the staged
        rows of `schema` go to GX in chunks, nothing is written."""
        return _Chunker(self, schema)


def read_back(schema: pa.Schema) -> pa.Schema:
    """The types a staged file written from rows of `schema` reads back with (it stores no Arrow schema:
    dictionary-encoded columns read back as their values' type; see `StagedWriter`)."""
    return pa.schema([pa.field(f.name, f.type.value_type) if pa.types.is_dictionary(f.type) else f for f in schema])


class _Chunker:
    """Gathers staged tables into GX's chunks of `chunk_rows` rows, typed as the file reads them back
    (`read_back`, the few-valued text columns dictionary-encoded as `read_dictionary` gives them)."""

    def __init__(self, stream: StreamValidation, schema: pa.Schema) -> None:
        self.stream = stream
        plain = read_back(schema)
        stream.start(plain)
        self.columns = stream.read_columns
        categorical = set(stream.categorical)
        self.schema = pa.schema([pa.field(n, pa.dictionary(pa.int32(), pa.string())) if n in categorical
                                 else plain.field(n) for n in self.columns])
        self.pending: list[pa.Table] = []
        self.pending_rows = self.rows = 0

    def _typed(self, table: pa.Table) -> pa.Table:
        arrays = []
        for field in self.schema:
            col = table.column(field.name)
            if pa.types.is_dictionary(col.type):
                col = pc.cast(col, col.type.value_type)
            if pa.types.is_dictionary(field.type):
                col = pc.dictionary_encode(col.combine_chunks())
            arrays.append(col)
        return pa.table(arrays, schema=self.schema)

    def write(self, table: pa.Table) -> None:
        if not table.num_rows:
            return
        self.pending.append(table.select(self.columns))
        self.pending_rows += table.num_rows
        self.rows += table.num_rows
        size = self.stream.chunk_rows
        while self.pending_rows >= size:
            gathered = pa.concat_tables(self.pending)
            self.stream.chunk(self._typed(gathered.slice(0, size).combine_chunks()))
            rest = gathered.slice(size)
            self.pending, self.pending_rows = ([rest] if rest.num_rows else []), rest.num_rows

    def commit(self) -> None:
        if self.pending or not self.rows:  # an empty delivery: one empty chunk (GX still runs)
            gathered = pa.concat_tables(self.pending) if self.pending else self.schema.empty_table()
            self.stream.chunk(self._typed(gathered.combine_chunks()))
            self.pending, self.pending_rows = [], 0

    def abort(self) -> None:
        self.pending, self.pending_rows = [], 0


__all__ = ["CHUNK_ROWS", "StreamValidation", "read_back"]
