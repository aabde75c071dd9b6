"""Staged files in whole row groups: the writer keeps a batch's remainder for the next one (session 31).

A remainder written as its own group (14,460 rows in the middle of social insurance's staged file at tenth) made
DuckDB's parallel insert in `load` merge partial groups by copying their rows a second time."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq

from hedui.steps.staged_writer import StagedWriter


def _groups(path) -> list[int]:
    meta = pq.ParquetFile(path).metadata
    return [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]


def test_BU01_batches_of_any_size_make_whole_row_groups_in_order(tmp_path):
    out = tmp_path / "staged.parquet"
    schema = pa.schema([("row_no", pa.int64()), ("v", pa.string())])
    writer = StagedWriter(out, schema, row_group_rows=100)
    start = 0
    for size in (250, 130, 0, 400, 7, 1, 99):
        writer.write(pa.table({"row_no": list(range(start, start + size)),
                               "v": [f"x{i % 7}" for i in range(start, start + size)]}, schema=schema))
        start += size
    writer.commit()
    assert _groups(out) == [100] * 8 + [87]
    assert pq.read_table(out).column("row_no").to_pylist() == list(range(start))


def test_BU02_fewer_rows_than_a_group_and_an_exact_multiple(tmp_path):
    schema = pa.schema([("row_no", pa.int64())])
    for sizes, expected in (((30, 20), [50]), ((100, 100), [100, 100]), ((100, 100, 1), [100, 100, 1])):
        out = tmp_path / f"s{len(expected)}_{sum(sizes)}.parquet"
        writer = StagedWriter(out, schema, row_group_rows=100)
        for n in sizes:
            writer.write(pa.table({"row_no": list(range(n))}, schema=schema))
        writer.commit()
        assert _groups(out) == expected
        assert pq.read_table(out).num_rows == sum(sizes)
