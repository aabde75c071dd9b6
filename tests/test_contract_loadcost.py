"""Session 28 (loadcost): how `load` stores a staged file's tokens — the rows exactly, the storage by their repeats."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq

from hedui import db
from hedui.privacy.protect import COUNTS_KEY

RUN_DATE = "20261128"


def _staged(path, rows: int, *, people: int, counts: bool = True) -> str:
    """A staged bank file of `rows` accounts of `people` persons, with the distinct counts staging writes."""
    ids = [f"a1:id{i % people:07d}{'x' * 60}" for i in range(rows)]
    table = pa.table({
        "id_number": ids,
        "account_no": [f"a1:acct{i:07d}{'y' * 50}" for i in range(rows)],
        "id_norm": [f"p1:{i % people:032x}" for i in range(rows)],
        "run_date": [RUN_DATE] * rows,
        "row_no": pa.array(range(rows), pa.int32()),
        "record_id": [f"bank:bank/f.csv:{i}" for i in range(rows)],
    })
    if counts:
        table = table.replace_schema_metadata({COUNTS_KEY: json.dumps(
            {"id_norm": people, "id_number": people, "account_no": rows}).encode()})
    pq.write_table(table, path)
    return f"read_parquet('{path}')"


def _staged_path(path, rows, *, people, counts=True):
    _staged(path, rows, people=people, counts=counts)
    return path


def _methods(con, table: str) -> dict[str, str]:
    con.sql("checkpoint")
    return dict(con.sql(f"select column_name, string_agg(distinct compression) from pragma_storage_info('{table}') "
                        "where segment_type = 'VARCHAR' group by all").fetchall())


def test_BK01_tokens_nearly_all_distinct_are_stored_uncompressed_repeated_ones_keep_the_dictionary(tmp_path):
    """BK01 (new behaviour, fails on the old code: no `staged_compression`, every token DICT_FSST): a token
    column with a distinct value on at least half the rows (the staged file's own counts) is stored
    uncompressed — DuckDB's dictionary and FSST cannot pay on random ciphertext and cost a third of load's CPU
    for such a table; a token repeated on many rows keeps DICT_FSST, pseudonyms and other text as before."""
    many, few = tmp_path / "many.parquet", tmp_path / "few.parquet"
    con = db.connect(tmp_path / "w.duckdb")
    db.replace_staged(con, "stg_bank", _staged(many, 4000, people=3000), RUN_DATE,
                      db.staged_compression(many, "bank"))
    # (session 34: the pseudonym `id_norm`, 3,000 of 4,000 rows distinct, follows the same rule — CK01)
    assert db.staged_compression(many, "bank") == {"record_id": "zstd", "id_norm": "uncompressed",
                                                   "id_number": "uncompressed", "account_no": "uncompressed"}
    assert _methods(con, "stg_bank") == {"id_number": "Uncompressed", "account_no": "Uncompressed",
                                         "id_norm": "Uncompressed", "run_date": "DICT_FSST", "record_id": "ZSTD"}
    # 18 rows a person (social insurance's months): the person's token repeats, the dictionary pays
    assert db.staged_compression(_staged_path(few, 1800, people=100), "bank") == {
        "record_id": "zstd", "account_no": "uncompressed"}


def test_BK02_a_file_without_counts_and_an_older_table_keep_the_old_storage(tmp_path):
    """BK02 (the fallback; fails on the old code only for want of `staged_compression`): a staged file without
    staging's counts stores every text column as STAGED_COMPRESSION says; a table made before keeps its
    columns' storage whatever the new file's counts say; the rows are the file's, exactly, either way."""
    plain = _staged_path(tmp_path / "plain.parquet", 500, people=500, counts=False)
    assert db.staged_compression(plain, "bank") == db.STAGED_COMPRESSION
    con = db.connect(tmp_path / "w.duckdb")
    db.replace_staged(con, "stg_bank", f"read_parquet('{plain}')", RUN_DATE)  # as the code before made it
    new = _staged(tmp_path / "new.parquet", 600, people=600)
    db.replace_staged(con, "stg_bank", new, RUN_DATE, db.staged_compression(tmp_path / "new.parquet", "bank"))
    assert _methods(con, "stg_bank")["id_number"] == "DICT_FSST"
    assert not con.sql(f"(select * from stg_bank except all select * from {new}) "
                       f"union all (select * from {new} except all select * from stg_bank)").fetchall()
    assert con.sql("select count(*) from stg_bank").fetchall() == [(600,)]
