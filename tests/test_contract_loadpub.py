"""Session 34 (loadpub): `load` stores a staged file's pseudonyms uncompressed where nearly every row has its own
(one row a person: public security, bank, requests, the small sources), as it already did the tokens — the rows
exactly the file's, only the column's storage differs; a person's pseudonym repeated on many rows keeps the
dictionary."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq

from hedui import db
from hedui.privacy.protect import COUNTS_KEY

RUN_DATE = "20261128"

# hostile pseudonym cells: NULL, empty, not a pseudonym at all (a raw ID the staging left), non-ASCII, long, quotes
ODD = [None, "", "110101199001011234", "p1:名字", "p1:" + "f" * 400, "p1:'; drop table x; --", "p1:\x00\x01"]


def _write(path, ids: list[str | None], counts: dict | None, run_date: str = RUN_DATE) -> str:
    n = len(ids)
    table = pa.table({
        "id_norm": pa.array(ids, pa.string()),
        "id_number": [f"a1:tok{i:07d}{'z' * 40}" for i in range(n)],
        "name": [f"名{i % 97}" for i in range(n)],
        "run_date": [run_date] * n,
        "row_no": pa.array(range(n), pa.int32()),
        "record_id": [f"public_security:ps/f.csv:{i}" for i in range(n)],
    })
    if counts is not None:
        table = table.replace_schema_metadata({COUNTS_KEY: json.dumps(counts).encode()})
    pq.write_table(table, path)
    return f"read_parquet('{path}')"


def _methods(con, table: str) -> dict[str, str]:
    con.sql("checkpoint")
    return dict(con.sql(f"select column_name, string_agg(distinct compression) from pragma_storage_info('{table}') "
                        "where segment_type = 'VARCHAR' group by all").fetchall())


def _same_rows(con, table: str, src: str) -> None:
    assert not con.sql(f"(select * from {table} except all select * from {src}) "
                       f"union all (select * from {src} except all select * from {table})").fetchall()
    assert con.sql(f"select count(*) from {table}").fetchall() == con.sql(f"select count(*) from {src}").fetchall()


def test_CK01_a_pseudonym_of_one_row_a_person_is_stored_uncompressed_its_rows_exactly_the_files(tmp_path):
    """CK01 (fails on the old code: `id_norm` was not among the columns `staged_compression` weighs, so DICT_FSST):
    a staged file whose `id_norm` has a distinct value on at least half its rows (staging's counts) gets it stored
    uncompressed — with NULL, empty, non-pseudonym, non-ASCII, 400-character and control-character cells among
    them — and every row reads back as the file has it."""
    ids = [f"p1:{i:032x}" for i in range(3000)] + ODD * 10
    path = tmp_path / "ps.parquet"
    src = _write(path, ids, {"id_norm": 3000, "id_number": len(ids)})
    assert db.staged_compression(path, "public_security") == {
        "record_id": "zstd", "id_norm": "uncompressed", "id_number": "uncompressed"}
    con = db.connect(tmp_path / "w.duckdb")
    db.replace_staged(con, "stg_public_security", src, RUN_DATE, db.staged_compression(path, "public_security"))
    assert _methods(con, "stg_public_security") == {"id_norm": "Uncompressed", "id_number": "Uncompressed",
                                                    "name": "DICT_FSST", "run_date": "DICT_FSST", "record_id": "ZSTD"}
    _same_rows(con, "stg_public_security", src)
    # a re-run of the date replaces the rows, the storage stays; the odd cells are still there, byte for byte
    db.replace_staged(con, "stg_public_security", src, RUN_DATE, db.staged_compression(path, "public_security"))
    _same_rows(con, "stg_public_security", src)
    assert sorted(con.sql("select id_norm from stg_public_security where not regexp_matches(id_norm, '^p1:[0-9a-f]{32}$') "
                          "or id_norm is null").fetchall(), key=repr) == sorted([(v,) for v in ODD] * 10, key=repr)


def test_CK02_a_pseudonym_repeated_on_many_rows_keeps_the_dictionary_the_threshold_is_half(tmp_path):
    """CK02 (fails if the rule is broken into "always uncompressed" or a threshold other than half): 18 rows a
    person (social insurance's months) keep DICT_FSST for `id_norm`; one distinct value fewer than half the rows
    keeps it, exactly half stores it uncompressed; a file without counts stores it as before."""
    rows = 1800
    few = tmp_path / "few.parquet"
    _write(few, [f"p1:{i % 100:032x}" for i in range(rows)], {"id_norm": 100, "id_number": rows})
    assert "id_norm" not in db.staged_compression(few, "public_security")
    below, half = tmp_path / "below.parquet", tmp_path / "half.parquet"
    _write(below, [f"p1:{i % 899:032x}" for i in range(rows)], {"id_norm": 899, "id_number": rows})
    _write(half, [f"p1:{i % 900:032x}" for i in range(rows)], {"id_norm": 900, "id_number": rows})
    assert "id_norm" not in db.staged_compression(below, "public_security")
    assert db.staged_compression(half, "public_security")["id_norm"] == "uncompressed"
    plain = tmp_path / "plain.parquet"
    _write(plain, [f"p1:{i:032x}" for i in range(rows)], None)
    assert db.staged_compression(plain, "public_security") == db.STAGED_COMPRESSION
    con = db.connect(tmp_path / "w.duckdb")
    src = f"read_parquet('{few}')"
    db.replace_staged(con, "stg_public_security", src, RUN_DATE, db.staged_compression(few, "public_security"))
    assert _methods(con, "stg_public_security")["id_norm"] == "DICT_FSST"
    _same_rows(con, "stg_public_security", src)


def test_CK03_a_table_made_before_keeps_its_storage_and_takes_the_new_rows_exactly(tmp_path):
    """CK03: a working database whose `stg_*` was made by the code before (`id_norm` DICT_FSST) keeps that column
    as it is (DuckDB cannot change a column's compression in place; a new database gets the new storage), and a
    new file's rows — of one row a person — replace the date's rows exactly; the other dates' rows stay."""
    con = db.connect(tmp_path / "w.duckdb")
    old = tmp_path / "old.parquet"
    src_old = _write(old, [f"p1:{i % 10:032x}" for i in range(200)], None, "20261127")
    db.replace_staged(con, "stg_public_security", src_old, "20261127")  # as the code before made it
    new = tmp_path / "new.parquet"
    ids = [f"p1:{i:032x}" for i in range(500)] + ODD
    src_new = _write(new, ids, {"id_norm": 500, "id_number": len(ids)})
    assert db.staged_compression(new, "public_security")["id_norm"] == "uncompressed"  # what a new table would get
    db.replace_staged(con, "stg_public_security", src_new, RUN_DATE, db.staged_compression(new, "public_security"))
    assert _methods(con, "stg_public_security")["id_norm"] == "DICT_FSST"
    _same_rows(con, f"(select * from stg_public_security where run_date = '{RUN_DATE}')", src_new)
    _same_rows(con, "(select * from stg_public_security where run_date = '20261127')", src_old)
    assert con.sql("select count(*) from stg_public_security").fetchall() == [(200 + len(ids),)]
