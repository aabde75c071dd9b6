"""The rows GX failed: quarantine lines with their reasons, and the passed rows written on."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from hedui.steps.validate.reasons import ID_STATUS_ZH, format_value, mask_value, reason_zh
from hedui.steps.validate.suites import (
    Suite,
    expectation_columns,
)

QUARANTINE_COLUMNS = [
    "run_date", "source", "file_name", "row_no", "column_name", "value_masked", "rule", "reason_zh",
]


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
        other = (suite.labels.get(other_col, other_col), mask_value(others[i], suite.kinds.get(other_col))) if others else None
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
