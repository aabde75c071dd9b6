"""GX fed by the staging pass (issue 16): `ingest_and_validate` validates the staged rows as staging
produces them — no plain `staged_pre/<source>.parquet` is written or read back — and everything it
writes (staged rows, the GX and staging quarantines, the quarantined subjects, GX's saved result, the
source's status) is what the file-based path (`ingest_source`, then `validate_source`) writes.

Real files through the connector, DuckDB staging and GX; the chunk size is made small so that
GX runs on several chunks, and rows are made that staging passes and GX quarantines.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from conftest import RUN_DATE

from matching.idnum import check_char

TAX_HEADER = ["纳税人识别号", "姓名", "所得项目", "所属期", "收入额", "已缴税额", "扣缴义务人"]
KINDS = ("staged", "quarantine_stage", "quarantine_gx", "quarantine_ids")


def _id(i: int) -> str:
    body = f"360102{1960 + i % 40:04d}0101{i % 1000:03d}"
    return body + check_char(body)


def _line(i: int) -> str:
    item = "彩票所得" if i % 13 == 5 else "工资薪金所得"  # outside the suite's set: GX quarantines
    income = "-5000.00" if i % 9 == 4 else "约5千" if i % 17 == 3 else "5000.00"  # GX / staging quarantine
    return f"{_id(i)},张{i % 7}三,{item},2026-{1 + i // 10 % 10:02d},{income},12.50,某公司{i}"


def _deliver(inbox: Path, rows: int, announced: int | None = None) -> None:
    folder = inbox / "tax" / RUN_DATE
    folder.mkdir(parents=True, exist_ok=True)
    lines = [",".join(TAX_HEADER)] + [_line(i) for i in range(rows)]
    (folder / "tax_202611.csv").write_bytes(("\n".join(lines) + "\n").encode("gb18030"))
    (folder / "tax_202611.csv.ok").write_text(str(rows if announced is None else announced), encoding="ascii")


def _run(tmp_path: Path, name: str, streamed: bool):
    from hedui import pipeline

    ctx = pipeline.RunContext.of(tmp_path / "inbox", tmp_path / name, RUN_DATE)
    if streamed:
        out = pipeline.ingest_and_validate(ctx, "tax")
    else:
        pipeline.ingest_source(ctx, "tax")
        out = pipeline.validate_source(ctx, "tax")
    return out, ctx


def _without_run_specifics(value):
    """A status or GX result less what differs between two runs of the same rows (times, paths, ids)."""
    drop = {"seconds", "passed_out", "quarantine_out", "gx_result_path", "id", "run_id", "validation_id",
            "validation_time"}
    if isinstance(value, dict):
        return {k: _without_run_specifics(v) for k, v in value.items() if k not in drop}
    if isinstance(value, list):
        return [_without_run_specifics(v) for v in value]
    return value


def _plain(table, keys):
    from bench.compare_runs import _plain as decrypted  # tokens: a fresh nonce each run

    return decrypted(table, keys)


def _assert_same_outputs(file_ctx, stream_ctx, file_out: dict, stream_out: dict) -> None:
    from hedui.privacy.keys import load_keys

    keys = load_keys()
    for kind in KINDS:
        a, b = pq.read_table(file_ctx.path(kind, "tax")), pq.read_table(stream_ctx.path(kind, "tax"))
        assert a.schema == b.schema, kind
        assert _plain(a, keys).equals(_plain(b, keys)), kind
    gx = Path("datadocs") / "_results" / "stg_tax.json"
    file_gx = json.loads((file_ctx.report_dir / gx).read_text(encoding="utf-8"))
    stream_gx = json.loads((stream_ctx.report_dir / gx).read_text(encoding="utf-8"))
    assert _without_run_specifics(file_gx) == _without_run_specifics(stream_gx)
    assert _without_run_specifics(file_out) == _without_run_specifics(stream_out)


@pytest.fixture
def small_chunks(monkeypatch):
    from hedui.steps.validate import check

    monkeypatch.setattr(check, "CHUNK_ROWS", 7)


def test_BD01_no_plain_staged_file_is_written_and_the_outputs_equal_the_file_based_path(tmp_path, small_chunks):
    _deliver(tmp_path / "inbox", 60)
    file_out, file_ctx = _run(tmp_path, "file", streamed=False)
    stream_out, stream_ctx = _run(tmp_path, "stream", streamed=True)
    assert file_ctx.path("staged_pre", "tax").is_file()  # the file-based path still writes and reads it
    assert not stream_ctx.path("staged_pre", "tax").exists()
    assert sorted(p.name for p in (stream_ctx.run_dir / "staged_pre").glob("*.parquet")) == ["tax.protected.parquet"]
    validation = stream_out["validation"]
    assert validation["rows_quarantined"] > 0 and validation["quarantine_lines"] >= validation["rows_quarantined"]
    assert validation["chunks"] == file_out["validation"]["chunks"] > 1
    gx_rules = set(pq.read_table(stream_ctx.path("quarantine_gx", "tax")).column("rule").to_pylist())
    assert gx_rules == {"expect_column_values_to_be_in_set", "expect_column_values_to_be_between"}
    assert pq.read_table(stream_ctx.path("quarantine_stage", "tax")).num_rows > 0
    _assert_same_outputs(file_ctx, stream_ctx, file_out, stream_out)


def test_BD02_the_row_count_check_runs_once_after_the_last_chunk_as_on_the_file(tmp_path, small_chunks):
    _deliver(tmp_path / "inbox", 40, announced=43)  # the markers announce 3 rows the file does not hold
    file_out, file_ctx = _run(tmp_path, "file", streamed=False)
    stream_out, stream_ctx = _run(tmp_path, "stream", streamed=True)
    assert stream_out["status"] == "incomplete"  # every row staging-quarantined: GX gets one empty chunk
    validation = stream_out["validation"]
    row_counts = [e for e in validation["expectations"] if e["rule"] == "expect_table_row_count_to_equal"]
    assert [(e["observed_value"], e["kwargs"]["value"], e["success"]) for e in row_counts] == [(0, 3, False)]
    assert validation["chunks"] == 1 and validation["rows_in"] == 0
    _assert_same_outputs(file_ctx, stream_ctx, file_out, stream_out)


def test_BD02b_a_row_count_other_than_expected_fails_over_several_chunks(tmp_path):
    from test_validate import write_staged

    from hedui.steps.validate.check import validate_source

    staged = write_staged(tmp_path / "staged.parquet", "tax", [{}] * 23)
    for expected, status in ((23, "passed"), (24, "failed")):
        result = validate_source("tax", staged, RUN_DATE, tmp_path / "p.parquet", tmp_path / "q.parquet",
                                 chunk_rows=5, expected_rows=expected)
        row_counts = [e for e in result.expectations if e.rule == "expect_table_row_count_to_equal"]
        assert result.chunks == 5 and result.status == status, result.reasons_zh
        assert [(e.observed_value, e.success) for e in row_counts] == [(23, status == "passed")]
    result = validate_source("tax", staged, RUN_DATE, tmp_path / "p.parquet", tmp_path / "q.parquet", chunk_rows=5)
    assert not [e for e in result.expectations if e.rule == "expect_table_row_count_to_equal"]  # not known: skipped


def test_BD03_rows_as_the_markers_announce_pass_the_row_count_check(tmp_path, small_chunks):
    _deliver(tmp_path / "inbox", 30)
    file_out, file_ctx = _run(tmp_path, "file", streamed=False)
    stream_out, stream_ctx = _run(tmp_path, "stream", streamed=True)
    row_counts = [e for e in stream_out["validation"]["expectations"] if e["rule"] == "expect_table_row_count_to_equal"]
    assert [e["success"] for e in row_counts] == [True]
    _assert_same_outputs(file_ctx, stream_ctx, file_out, stream_out)


def test_BD04_chunks_of_the_stream_are_the_chunks_of_the_file_with_the_same_types(tmp_path):
    """What GX is given per chunk: the same rows, values and Arrow types (dictionary-encoded columns
    too) as read from the plain staged file; a dictionary may hold other unused values (the row group's)."""
    from hedui import pipeline
    from hedui.steps.validate import check, stream

    _deliver(tmp_path / "inbox", 25)
    ctx = pipeline.RunContext.of(tmp_path / "inbox", tmp_path / "file", RUN_DATE)
    pipeline.ingest_source(ctx, "tax")
    seen: dict[str, list] = {"file": [], "stream": []}

    class Recording(check.StreamValidation):
        def __init__(self, kind, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.kind = kind

        def chunk(self, table):
            seen[self.kind].append(table)
            super().chunk(table)

    plain = ctx.path("staged_pre", "tax")
    by_file = Recording("file", "tax", plain, RUN_DATE, tmp_path / "a.parquet", tmp_path / "qa.parquet", 10)
    by_file.start(pq.read_schema(plain))
    parquet = pq.ParquetFile(plain, read_dictionary=by_file.categorical)
    for table in check._chunks(parquet, 10, by_file.read_columns):
        by_file.chunk(table)
    by_stream = Recording("stream", "tax", plain, RUN_DATE, tmp_path / "b.parquet", tmp_path / "qb.parquet", 10)
    from connectors import load_map
    from hedui.steps.ingest import stage_source

    stage_source(ctx.path("raw", "tax"), load_map("tax"), RUN_DATE, tmp_path / "unused.parquet",
                 tmp_path / "q.parquet", plain=stream.stage_writer(by_stream), manifest=json.loads(
                     ctx.path("manifests", "tax", "json").read_text(encoding="utf-8"))["manifest"])
    assert not (tmp_path / "unused.parquet").exists()
    assert [t.num_rows for t in seen["stream"]] == [t.num_rows for t in seen["file"]] == [10, 10, 3]  # 2 rows staging-quarantined
    for a, b in zip(seen["file"], seen["stream"], strict=True):
        assert a.schema == b.schema
        for name in a.column_names:
            assert a.column(name).to_pylist() == b.column(name).to_pylist(), name
        lineage = [n for n in ("run_date", "source", "delivery_date", "file_name") if n in a.column_names]
        assert lineage
        for name in lineage:  # the lineage ENUM's dictionary, as staging wrote it
            assert a.column(name).equals(b.column(name)), name
