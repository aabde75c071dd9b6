"""A model table's `record_id` is stored zstd (hedui.db.MODEL_COMPRESSION): the table replace_rows creates
holds the same columns, types and rows as `create table … as` made, only its storage differs."""

import duckdb

from hedui.db import replace_rows

QUERY = """select $run_date as run_date, 'tax' as source, 'tax:tax_2026.csv:' || (i + 2) as record_id,
                  'M' || (i % 7) as member_id, cast(i as decimal(18, 2)) as amount, [i, i + 1] as months,
                  {'a': i} as s, i % 2 = 0 as is_confirmed
           from range(200000) t(i)"""


def _storage(con, table: str) -> dict[str, set[str]]:
    rows = con.sql(f"select column_name, compression from pragma_storage_info('{table}') "
                   "where segment_type = 'VARCHAR'").fetchall()
    out: dict[str, set[str]] = {}
    for column, method in rows:
        out.setdefault(column, set()).add(method)
    return out


def test_cd01_a_new_model_table_stores_record_id_zstd_and_the_same_rows(tmp_path):
    """CD01: the created table's record_id is zstd (every segment but a constant one), the other text columns
    DuckDB's choice; columns, types and rows as `create table … as` gives them, on a first run and a re-run."""
    con = duckdb.connect(str(tmp_path / "t.duckdb"))
    for run in ("20261128", "20261128", "20261129"):
        assert replace_rows(con, "links", QUERY, {"run_date": run}, run) == 200000
        con.sql("checkpoint")
    first, second = (QUERY.replace("$run_date", f"'{run}'") for run in ("20261128", "20261129"))
    con.sql(f"create table plain as select * from ({first})")
    con.sql(f"insert into plain select * from ({second})")
    assert con.sql("describe links").fetchall() == con.sql("describe plain").fetchall()
    for a, b in (("links", "plain"), ("plain", "links")):
        assert con.sql(f"select count(*) from (select * from {a} except all select * from {b})").fetchall() == [(0,)]
    con.sql("checkpoint")
    storage = _storage(con, "links")
    assert storage["record_id"] - {"Constant"} == {"ZSTD"}
    assert "ZSTD" not in storage["member_id"] and "ZSTD" not in _storage(con, "plain")["record_id"]


def test_cd02_a_column_named_with_a_quote_or_a_keyword_still_creates(tmp_path):
    """CD02: the table is created from the query's described columns, quoted: odd names and nested types pass."""
    con = duckdb.connect()
    sql = """select $run_date as run_date, 'x' as "record_id", 1 as "select", 'q' as "a""b", [{'k': 1}] as l"""
    assert replace_rows(con, "odd", sql, {"run_date": "1"}, "1") == 1
    assert [r[0] for r in con.sql("describe odd").fetchall()] == ["run_date", "record_id", "select", 'a"b', "l"]
    assert con.sql("select * from odd").fetchall() == [("1", "x", 1, "q", [{"k": 1}])]
