"""BL: the run's steps keep the ``hd_*`` macros in the working database, made again only when ``sql/macros.sql``
changes (`hedui.db.connect(stored_macros=True)`): a connection no longer binds 82 macro bodies (≈ 0.4 CPU-s)
before it runs anything, five to seven times a run."""

from __future__ import annotations

import duckdb

from hedui import db


def _digest(con) -> str:
    return con.sql(f"select {db.MACROS_DIGEST}()").fetchall()[0][0]


def test_bl01_the_first_connection_stores_the_macros_and_the_next_takes_them_as_stored(tmp_path):
    path = tmp_path / "hedui.duckdb"
    with db.connect(path, stored_macros=True) as con:
        assert con.sql("select hd_name_norm(' 张 三 ')").fetchall() == [("张三",)]
        digest = _digest(con)
        made = con.sql("select count(*) from duckdb_functions() where function_name like 'hd_%' "
                       "and database_name = 'hedui'").fetchall()[0][0]
    assert made >= 80  # every macro of sql/macros.sql, and the digest
    with db.connect(path, stored_macros=True) as con:  # taken as stored: nothing made in this connection
        assert con.sql("select count(*) from duckdb_functions() where function_name like 'hd_%' "
                       "and database_name = 'temp'").fetchall() == [(0,)]
        assert _digest(con) == digest
    with db.connect(path, read_only=True) as con:  # a reader (hedui serve) sees them too
        assert con.sql("select hd_name_norm('李 四')").fetchall() == [("李四",)]


def test_bl02_macros_of_another_macros_sql_are_made_again(tmp_path):
    """An upgrade: the file's macros came from an earlier sql/macros.sql (its digest differs): all are replaced."""
    path = tmp_path / "hedui.duckdb"
    db.connect(path, stored_macros=True).close()
    with duckdb.connect(str(path)) as con:
        con.execute("create or replace macro hd_name_norm(v) as 'stale'")
        con.execute(f"create or replace macro {db.MACROS_DIGEST}() as 'an earlier file'")
    with db.connect(path, stored_macros=True) as con:
        assert con.sql("select hd_name_norm(' 王 五 ')").fetchall() == [("王五",)]
        assert _digest(con) == db._stored_macros_script()[0]


def test_bl03_a_database_made_without_stored_macros_gets_them_and_a_memory_database_keeps_its_own(tmp_path):
    path = tmp_path / "hedui.duckdb"
    with db.connect(path) as con:  # temp macros only (e.g. an earlier version's run): none stored
        con.execute("create table t as select 1 as x")
    with duckdb.connect(str(path)) as con:
        assert con.sql("select count(*) from duckdb_functions() where function_name like 'hd_%'").fetchall() == [(0,)]
    with db.connect(path, stored_macros=True) as con:
        assert con.sql("select hd_name_norm('赵 六'), x from t").fetchall() == [("赵六", 1)]
    with db.connect(stored_macros=True) as con:  # nothing to keep them in: the connection's own
        assert con.sql("select hd_name_norm('钱 七')").fetchall() == [("钱七",)]
        assert con.sql("select count(*) from duckdb_functions() where function_name like 'hd_%' "
                       "and database_name <> 'temp'").fetchall() == [(0,)]
