"""Session 28 (psbank): public security and bank staged at less CPU, the same outputs.

BH01 is a pure equivalence pin (passes on the old code too): `_IdParser` (now the numpy fast path of
`hedui.steps.id_fast` plus ids.sql for the rest) gives each ID the id_norm and id_status ids.sql alone
gives it.  BH02–BH03 pin new behaviour of `StagedWriter` (fail on the old code: no `dictionary_columns`)."""

from __future__ import annotations

import random

import pyarrow as pa
import pyarrow.parquet as pq

from hedui.steps import stage_db
from hedui.steps.ingest import _IdParser
from hedui.steps.stage_db import SQL_DIR
from hedui.steps.staged_writer import StagedWriter, dictionary_columns

_W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def _check(body: str) -> str:
    return "10X98765432"[sum(int(c) * w for c, w in zip(body, _W, strict=True)) % 11]


def _ids() -> list[str | None]:
    rnd = random.Random(28)
    out: list[str | None] = [None, "", " ", "x", "11010519900307123x", "１１０１０５１９９００３０７１２３４"]
    for year in ("1799", "1800", "1899", "1900", "2000", "2023", "2099", "2100", "0000", "9999"):
        for month in ("00", "01", "02", "04", "09", "12", "13", "19"):
            for day in ("00", "01", "28", "29", "30", "31", "32", "39"):
                body = f"{rnd.randrange(100000, 999999)}{year}{month}{day}{rnd.randrange(0, 999):03d}"
                out += [body + _check(body), body + rnd.choice("0123456789X")]
    for _ in range(3000):  # random bodies: mostly bad dates and bad checks
        body = "".join(rnd.choice("0123456789") for _ in range(17))
        out += [body + _check(body), body + rnd.choice("0123456789X")]
    for v in list(out[6:400]):  # near misses the SQL handles: spaces, a 15-digit ID, a remark, 19 digits
        out += [v + " ", " " + v, v[:15], v + "0", v[:17] + "x", v + "。", "身份证" + v]
    return out


def test_BH01_the_id_parse_gives_each_id_what_ids_sql_alone_gives_it(tmp_path):
    """BH01 (equivalence): id_norm / id_status per row, against ids.sql run on every distinct value."""
    con = stage_db.stage_connection(1, "1GB", tmp_path)
    try:
        values = _ids()
        table = pa.table({"id_number": pa.array(values, pa.string()),
                          "id_norm": pa.nulls(len(values), pa.string()), "id_status": pa.nulls(len(values), pa.string())})
        parser = _IdParser(con, "id_number", macros=True)
        got = parser(table)
        parser.close()
        cur = con.cursor()
        cur.register("_hd_ids", pa.table({"v": pa.array(values, pa.string())}))
        want = cur.sql((SQL_DIR / "staging" / "ids.sql").read_text(encoding="utf-8")).to_arrow_table()
        assert got.column("id_norm").to_pylist() == want.column("id_norm").to_pylist()
        assert got.column("id_status").to_pylist() == want.column("id_status").to_pylist()
        statuses = set(want.column("id_status").to_pylist())
        assert {"valid", "bad_check", "malformed", "missing"} <= statuses  # the cases are all there
        assert parser.encoded["id_norm"].to_pylist() == want.column("id_norm").to_pylist()
    finally:
        con.close()


def test_BH02_nearly_unique_string_columns_are_written_without_a_dictionary_with_the_same_values(tmp_path):
    """BH02 (new): a unique string column gets no dictionary, a repeating one keeps it; values and metadata as given."""
    n = 5000
    table = pa.table({"token": pa.array([f"a1:{i:08d}" for i in range(n)]),
                      "status": pa.array(["valid", "bad_check"] * (n // 2)),
                      "row_no": pa.array(range(n), pa.int32())})
    assert dictionary_columns(table) == ["status"]
    w = StagedWriter(tmp_path / "t.parquet", table.schema, row_group_rows=2000)
    w.write(table.slice(0, 3000))
    w.write(table.slice(3000))
    w.add_key_value_metadata({b"k": b"v"})
    w.commit()
    f = pq.ParquetFile(tmp_path / "t.parquet")
    assert f.read().equals(table)
    assert f.metadata.metadata[b"k"] == b"v"
    encodings = {f.metadata.row_group(0).column(i).path_in_schema: f.metadata.row_group(0).column(i).encodings
                 for i in range(3)}
    assert "PLAIN_DICTIONARY" not in encodings["token"] and "RLE_DICTIONARY" not in encodings["token"]
    assert "RLE_DICTIONARY" in encodings["status"] or "PLAIN_DICTIONARY" in encodings["status"]


def test_BH03_a_writer_given_no_rows_writes_an_empty_file_of_its_schema(tmp_path):
    """BH03 (new: the Parquet writer is made at the first flush): no rows still make the file, and abort leaves none."""
    schema = pa.schema([pa.field("a", pa.string()), pa.field("row_no", pa.int32())])
    w = StagedWriter(tmp_path / "e.parquet", schema)
    w.commit()
    assert pq.read_table(tmp_path / "e.parquet").schema.names == ["a", "row_no"]
    a = StagedWriter(tmp_path / "x.parquet", schema)
    a.write(pa.table({"a": ["x"], "row_no": pa.array([1], pa.int32())}))
    a.abort()
    assert not (tmp_path / "x.parquet").exists() and not (tmp_path / "x.parquet.tmp").exists()
