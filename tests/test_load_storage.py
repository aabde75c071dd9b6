"""How `load` stores a staged file: the rows exactly, the text columns by a chosen compression."""

from __future__ import annotations

from hedui import db


def _staged(con, path, run_date, rows, *, masked=False):
    extra = ", 'x' as id_masked" if masked else ""
    con.sql(f"copy (select 'p1:' || md5(i::varchar) as id_norm, 'a1:' || i as id_number, i as row_no, "
            f"'{run_date}' as run_date, 'tax:tax/f.csv:' || i as record_id{extra} from range({rows}) t(i)) "
            f"to '{path}' (format parquet)")
    return f"read_parquet('{path}')"


def test_a_new_staged_table_stores_record_id_by_zstd_and_the_other_text_by_dict_fsst(tmp_path):
    con = db.connect(tmp_path / "w.duckdb")
    db.replace_staged(con, "stg_tax", _staged(con, tmp_path / "a.parquet", "20261128", 3000), "20261128")
    con.sql("checkpoint")
    used = dict(con.sql("select column_name, string_agg(distinct compression) from pragma_storage_info('stg_tax') "
                        "where segment_type = 'VARCHAR' group by all").fetchall())
    assert used == {"record_id": "ZSTD", "id_norm": "DICT_FSST", "id_number": "DICT_FSST", "run_date": "DICT_FSST"}
    assert con.sql("select count(*) from stg_tax").fetchall() == [(3000,)]
    assert not con.sql(f"select * from stg_tax except all select * from read_parquet('{tmp_path / 'a.parquet'}')"
                       ).fetchall()


def test_an_older_staged_table_keeps_its_columns_and_gets_the_new_ones(tmp_path):
    con = db.connect(tmp_path / "w.duckdb")
    old = _staged(con, tmp_path / "old.parquet", "20261127", 10)
    con.sql(f"create table stg_tax as select * from {old}")  # as the code before made it
    new = _staged(con, tmp_path / "new.parquet", "20261128", 20, masked=True)
    db.replace_staged(con, "stg_tax", new, "20261128")
    db.replace_staged(con, "stg_tax", new, "20261128")  # a re-run replaces its date's rows
    sql = con.sql("select sql from duckdb_tables() where table_name = 'stg_tax'").fetchall()[0][0]
    assert sql.count("USING COMPRESSION") == 1 and "id_masked VARCHAR USING COMPRESSION DICT_FSST" in sql
    assert con.sql("select run_date, count(*), count(id_masked) from stg_tax group by all order by 1").fetchall() == [
        ("20261127", 10, 0), ("20261128", 20, 20)]
    assert [c for c, *_ in con.sql("describe stg_tax").fetchall()][-1] == "id_masked"
