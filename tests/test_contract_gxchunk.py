"""GX's chunker hands GX the staged tables as they come (issue 16, session 33): a chunk of the staging
pass is a table of the staged tables' own Arrow chunks (sliced, not copied into one block); its
few-valued text columns are dictionary-encoded over all those chunks at once (one dictionary).  GX's
results, the quarantine, the passed rows and the verdict are those of the file-based path
(`validate_source`, chunks read from the staged file), whatever the staged tables' sizes: rows failing
two rules, rules failing in some chunks only, chunks spanning several staged tables, an empty delivery.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from test_validate import RUN_DATE, write_staged

CHUNK = 6


def _rows(n: int) -> list[dict]:
    """Vehicle rows: some failing two rules (status and price), some one, a few soft bad IDs."""
    rows = []
    for i in range(n):
        if i % 7 == 3:
            rows.append({"vehicle_status": "报废车", "purchase_price_yuan": -1.0})
        elif i % 11 == 5:
            rows.append({"purchase_price_yuan": -2.0})
        elif i == 9:
            rows.append({"first_registration_date": dt.date(2030, 1, 1)})
        else:
            rows.append({})
    return rows + [{"id_status": "bad_check", "id_norm": None}] * (2 if n else 0)


def _saved(docs: Path) -> dict:
    data = json.loads((docs / "_results" / "stg_vehicle.json").read_text(encoding="utf-8"))
    for r in data["results"]:
        r["expectation_config"].pop("id")
    data["meta"].pop("validation_id")
    return data


def _by_file(tmp_path: Path, staged: Path):
    from hedui.steps.validate.check import validate_source

    out = tmp_path / "file"
    result = validate_source("vehicle", staged, RUN_DATE, out / "passed.parquet", out / "quarantine.parquet",
                             out / "docs", chunk_rows=CHUNK, expected_rows=pq.read_metadata(staged).num_rows)
    return result, _saved(out / "docs")


def _by_stream(tmp_path: Path, staged: Path, sizes: list[int]):
    """The staged rows fed to the chunker as staging hands them: tables of `sizes` rows (lineage text
    dictionary-encoded, as staging's ENUMs are); returns the result, the saved GX result and the chunks."""
    from hedui.steps.validate import check, stream

    seen: list[pa.Table] = []

    class Recording(check.StreamValidation):
        def chunk(self, table):
            seen.append(table)
            super().chunk(table)

    table = pq.read_table(staged)
    for name in ("run_date", "source", "delivery_date", "file_name"):
        i = table.schema.get_field_index(name)
        table = table.set_column(i, name, table.column(name).dictionary_encode())
    out = tmp_path / "stream"
    validation = Recording("vehicle", staged, RUN_DATE, out / "passed.parquet", out / "quarantine.parquet", CHUNK)
    writer = stream.stage_writer(validation)(None, table.schema)
    start, fed = 0, []
    for size in sizes:
        fed.append(table.slice(start, size).combine_chunks())  # each staged table one block, as staging's
        writer.write(fed[-1])
        start += size
    assert start == table.num_rows
    writer.commit()
    result = validation.finish(out / "docs", expected_rows=table.num_rows)
    return result, _saved(out / "docs"), seen, fed


def _assert_same(file_result, file_saved, stream_result, stream_saved) -> None:
    assert pq.read_table(file_result.passed_out).equals(pq.read_table(stream_result.passed_out))
    assert pq.read_table(file_result.quarantine_out).equals(pq.read_table(stream_result.quarantine_out))
    for name in ("status", "reasons_zh", "warnings_zh", "rows_in", "rows_passed", "rows_quarantined",
                 "quarantine_lines", "chunks", "expectations", "counts"):
        assert getattr(file_result, name) == getattr(stream_result, name), name
    assert file_saved == stream_saved


def test_ca01_a_chunk_is_the_staged_tables_chunks_not_a_copy(tmp_path):
    """A chunk spanning several staged tables holds their buffers (sliced): text is not copied."""
    staged = write_staged(tmp_path / "vehicle.parquet", "vehicle", _rows(20))
    _, _, seen, fed = _by_stream(tmp_path, staged, [4, 1, 5, 3, 7, 2])
    assert [t.num_rows for t in seen] == [6, 6, 6, 4]
    fed_text = {c.buffers()[2].address for t in fed for c in t.column("record_id").chunks}
    for chunk in seen:
        for name in ("record_id", "name"):
            pieces = chunk.column(name).chunks
            # every piece is a slice of a fed table's own text buffer (nothing gathered into a new one)
            assert {p.buffers()[2].address for p in pieces} <= {
                c.buffers()[2].address for t in fed for c in t.column(name).chunks}, name
    assert fed_text
    assert seen[0].column("record_id").num_chunks == 3  # rows 0-3, 4, 5: of tables of 4, 1 and 5 rows
    categorical = seen[0].column("vehicle_status")
    assert pa.types.is_dictionary(categorical.type)
    dictionaries = {tuple(c.dictionary.to_pylist()) for c in categorical.chunks}
    assert len(dictionaries) == 1  # one dictionary over the chunk's pieces


def test_ca02_results_equal_the_file_based_path_whatever_the_staged_tables_sizes(tmp_path):
    """Rows failing two rules, rules failing in some chunks only, chunks spanning staged tables."""
    staged = write_staged(tmp_path / "vehicle.parquet", "vehicle", _rows(30))
    file_result, file_saved = _by_file(tmp_path, staged)
    assert file_result.chunks == 6 and file_result.rows_quarantined > 0
    assert file_result.quarantine_lines > file_result.rows_quarantined  # some rows fail two rules
    for sizes in ([32], [1] * 32, [5, 9, 2, 11, 1, 4]):
        stream_result, stream_saved, seen, _ = _by_stream(tmp_path / str(len(sizes)), staged, sizes)
        assert [t.num_rows for t in seen] == [6, 6, 6, 6, 6, 2]
        _assert_same(file_result, file_saved, stream_result, stream_saved)


def test_ca03_an_empty_delivery_gives_one_empty_chunk_as_the_file_does(tmp_path):
    staged = write_staged(tmp_path / "vehicle.parquet", "vehicle", [])
    file_result, file_saved = _by_file(tmp_path, staged)
    stream_result, stream_saved, seen, _ = _by_stream(tmp_path, staged, [])
    assert [t.num_rows for t in seen] == [0] and file_result.chunks == 1
    _assert_same(file_result, file_saved, stream_result, stream_saved)
