"""Session 34's ledger round (BENCHMARKS.md, Session 34: ledger): the query ledger's storage chosen when the table
is made (hedui.audit.ledger.LEDGER_COMPRESSION) leaves its shape, its rows and the migration unchanged."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from hedui import db
from hedui.audit.ledger import LEDGER_COMPRESSION, ensure_query_ledger, write_query_ledger

RUN = "20261128"
AT = dt.datetime(2026, 12, 7, 8, 30, tzinfo=dt.UTC)

# hostile request rows: NULL pseudonym, blank and padded authorizations (a blank one is never looked up),
# CJK and very long texts, a quote, duplicates of a request, another run's rows
REQUESTS = [
    (RUN, "WT1", "低保", " SQ-001 ", dt.date(2026, 11, 1), "p1:" + "a" * 32, "requests:r.csv:2"),
    (RUN, "WT1", "低保", "SQ-001", dt.date(2026, 11, 1), None, "requests:r.csv:3"),
    (RUN, "WT1", "低保", "   ", dt.date(2026, 11, 1), "p1:" + "b" * 32, "requests:r.csv:4"),
    (RUN, "WT2", "特困", None, None, "p1:" + "c" * 32, "requests:r.csv:5"),
    (RUN, "WT2", "特困", "授权书第０２号", None, "p1:" + "d" * 32, "requests:r.csv:6"),
    (RUN, "WT'3", "医疗救助" * 40, "x" * 300, dt.date(2020, 2, 29), "p1:" + "e" * 32, "requests:" + "长" * 200 + ":7"),
    (RUN, "WT0", "低保", "SQ-9", dt.date(2026, 1, 1), "p1:" + "f" * 32, "requests:r.csv:10"),
    ("20261127", "WT9", "低保", "SQ-8", dt.date(2026, 1, 1), "p1:" + "9" * 32, "requests:q.csv:2"),
]
STATUS = [(RUN, "requests", "passed"), (RUN, "bank", "passed"), (RUN, "civil_affairs", "warning"),
          (RUN, "tax", "missing"), (RUN, "public_security", "failed"), ("20261127", "vehicle", "passed")]


def _inputs(con: duckdb.DuckDBPyConnection, n_extra: int = 0) -> None:
    con.sql("create table stg_requests (run_date varchar, request_id varchar, program varchar, "
            "authorization_no varchar, authorization_date date, id_norm varchar, record_id varchar)")
    con.executemany("insert into stg_requests values (?, ?, ?, ?, ?, ?, ?)", REQUESTS)
    if n_extra:
        con.execute("insert into stg_requests select ?, 'WT' || lpad((i // 3)::varchar, 7, '0'), '低保', "
                    "'SQ-' || (i // 3), date '2026-11-01', 'p1:' || md5(i::varchar), "
                    "'requests:big.csv:' || (i + 2) from range(?) t(i)", [RUN, n_extra])
    con.sql("create table source_status (run_date varchar, source varchar, status varchar)")
    con.executemany("insert into source_status values (?, ?, ?)", STATUS)


def _model_rows(con: duckdb.DuckDBPyConnection) -> list:
    """The rows the ledger's model gives (what the earlier code inserted), in the model's order."""
    return con.execute(db.sql_text("publish/query_ledger.sql"),
                       {"run_date": RUN, "run_id": f"hedui-{RUN}", "queried_at": AT}).fetchall()


def _plain_shape() -> list:
    con = duckdb.connect()
    con.sql(db.sql_text("publish/schema.sql"))
    return con.sql("describe query_ledger").fetchall()


def test_CL01_a_fresh_ledger_has_schema_sqls_columns_and_types_in_order():
    con = duckdb.connect()
    assert ensure_query_ledger(con) is False
    assert con.sql("describe query_ledger").fetchall() == _plain_shape()
    assert con.sql("select count(*) from query_ledger").fetchall() == [(0,)]
    assert {"audit_runs", "audit_anchors"} <= {r[0] for r in con.sql("show tables").fetchall()}
    assert ensure_query_ledger(con) is False  # made once: a second call keeps the table (and its rows)


def test_CL02_the_ledgers_rows_are_the_models_rows_on_hostile_requests(tmp_path):
    con = db.connect(tmp_path / "w.duckdb", threads=1)
    _inputs(con)
    want = _model_rows(con)
    con.sql("begin transaction")
    assert write_query_ledger(con, RUN, queried_at=AT) == len(want) == 5
    con.sql("commit")
    con.sql("checkpoint")
    assert con.sql("select * from query_ledger order by request_id, member_record_id").fetchall() == want
    assert {r[6] for r in want} >= {None}
    assert all(r[8] == ["bank", "civil_affairs", "public_security"] for r in want)
    assert write_query_ledger(con, RUN, queried_at=AT) == 5  # replaced, not appended
    assert con.sql("select count(*) from query_ledger").fetchall() == [(5,)]


def test_CL03_the_ledgers_per_member_columns_are_stored_as_chosen(tmp_path):
    path = tmp_path / "w.duckdb"
    con = db.connect(path, threads=1)
    _inputs(con, n_extra=3000)
    want = _model_rows(con)
    con.sql("begin transaction")
    write_query_ledger(con, RUN, queried_at=AT)
    con.sql("commit")
    con.close()
    con = duckdb.connect(str(path))
    con.sql("checkpoint")
    stored = dict(con.sql("select column_name, list(distinct lower(compression)) from "
                          "pragma_storage_info('query_ledger') where segment_type = 'VARCHAR' "
                          "group by all").fetchall())
    assert stored["member_pseudonym"] == ["uncompressed"]
    assert stored["member_record_id"] == ["zstd"]
    assert LEDGER_COMPRESSION == {"member_pseudonym": "uncompressed", "member_record_id": "zstd"}
    assert con.sql("select * from query_ledger order by request_id, member_record_id").fetchall() == want


def test_CL04_the_earlier_shape_migrates_to_the_same_rows_and_the_chosen_storage(tmp_path):
    path = tmp_path / "w.duckdb"
    con = duckdb.connect(str(path))
    _inputs(con)
    want = _model_rows(con)
    con.execute("create table query_ledger as select q.* exclude (sources, queried_at), u.source, "
                "'passed' as source_status, q.queried_at from (" + db.sql_text("publish/query_ledger.sql")
                + ") q, unnest(q.sources) as u(source)", {"run_date": RUN, "run_id": f"hedui-{RUN}", "queried_at": AT})
    assert ensure_query_ledger(con) is True
    assert con.sql("describe query_ledger").fetchall() == _plain_shape()
    assert con.sql("select * from query_ledger order by request_id, member_record_id").fetchall() == want
    con.sql("checkpoint")
    stored = dict(con.sql("select column_name, list(distinct lower(compression)) from "
                          "pragma_storage_info('query_ledger') where segment_type = 'VARCHAR' "
                          "group by all").fetchall())
    assert stored["member_pseudonym"] == ["uncompressed"]
    assert ensure_query_ledger(con) is False


@pytest.mark.parametrize("rows", [0, 1])
def test_CL05_an_existing_ledger_of_the_current_shape_is_kept_as_it_is(rows):
    con = duckdb.connect()
    con.sql(db.sql_text("publish/schema.sql"))
    con.sql("insert into query_ledger select '20261101', 'r', 'WT', '低保', 'SQ', null, 'p1:x', 'requests:a:2', "
            f"['bank'], timestamptz '2026-11-01 00:00:00+00' from range({rows})")
    before = con.sql("select * from query_ledger").fetchall()
    oid = con.sql("select table_oid from duckdb_tables() where table_name = 'query_ledger'").fetchall()
    assert ensure_query_ledger(con) is False
    assert con.sql("select * from query_ledger").fetchall() == before
    assert con.sql("select table_oid from duckdb_tables() where table_name = 'query_ledger'").fetchall() == oid
