"""Incremental publication of the auditor database, and the query ledger's migration to one row per member.

On a copy of the 60-household world run (conftest's `world_run`), a second run date is made by copying every
per-run row of the working database to it (with some households changed, so that the two dates differ).
Publishing the first date, then the second incrementally, must give exactly what a full rebuild of both gives.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from conftest import RUN_DATE

from bench.publish import DAY2, copy_run_date
from hedui import db
from hedui.audit.auditor import default_audit_db, default_log_path, open_auditor
from hedui.audit.ledger import ensure_query_ledger, write_query_ledger
from hedui.audit.log import AuditLog
from hedui.privacy.keys import Keys
from hedui.steps.publish import PUBLICATION_TABLE, publish_audit_db

VOLATILE = {"published_at", "checked_at", "anchored_at"}  # when a publication ran: differs between two publications


def keys() -> Keys:
    return Keys(b"\x01" * 32, b"\x02" * 32)


@pytest.fixture
def workdir(world_run, tmp_path) -> Path:
    ctx, _ = world_run
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(ctx.database, work / "hedui.duckdb")
    return work


def _add_second_date(database: Path) -> None:
    """Copy every per-run row of RUN_DATE to DAY2, then make DAY2 differ (an outcome, a finding less)."""
    tables = copy_run_date(database, RUN_DATE, DAY2)
    assert {"outcomes", "findings", "links", "query_ledger", "stg_requests", "audit_runs"} <= set(tables)
    con = duckdb.connect(str(database))
    try:
        con.execute("update outcomes set outcome = 'INCOMPLETE' where run_date = ? and request_id = "
                    "(select min(request_id) from outcomes where run_date = ?)", [DAY2, DAY2])
        con.execute("delete from findings where run_date = ? and request_id = "
                    "(select max(request_id) from findings where run_date = ?)", [DAY2, DAY2])
    finally:
        con.close()


def _contents(path: Path) -> dict[str, list[tuple]]:
    """Every table of an auditor database, every row (in order), less `publication` and publication times."""
    con = open_auditor(path)
    try:
        out = {}
        for (table,) in con.sql("select table_name from duckdb_tables() order by 1").fetchall():
            if table == PUBLICATION_TABLE:
                continue
            cols = [r[0] for r in con.sql(f"describe {table}").fetchall() if r[0] not in VOLATILE]
            rows = con.sql("select " + ", ".join(f'"{c}"' for c in cols) + f" from {table} order by all").fetchall()
            out[table] = [tuple(map(str, r)) for r in rows]  # lists and maps compared as text
        return out
    finally:
        con.close()


def _modes(path: Path) -> set[str]:
    con = open_auditor(path)
    try:
        return {r[0] for r in con.sql(f"select distinct mode from {PUBLICATION_TABLE}").fetchall()}
    finally:
        con.close()


def _publish(workdir: Path, run_date: str, target: Path | None = None, **kw) -> dict:
    return publish_audit_db(workdir / "hedui.duckdb", target or default_audit_db(workdir), run_date,
                            code_version="v-test", audit_log=AuditLog(default_log_path(workdir)), keys=keys(), **kw)


def test_two_dates_published_incrementally_equal_a_full_rebuild_and_a_re_run_replaces(workdir):
    target, rebuilt = default_audit_db(workdir), workdir / "audit" / "rebuilt.duckdb"
    AuditLog(default_log_path(workdir)).append(actor="tester", action="run", subject=RUN_DATE)
    assert _publish(workdir, RUN_DATE)["mode"] == "full"  # no published file yet
    _add_second_date(workdir / "hedui.duckdb")
    first = _publish(workdir, DAY2)
    assert first["mode"] == "incremental"
    assert _publish(workdir, DAY2, rebuilt, full=True)["mode"] == "full"
    got, want = _contents(target), _contents(rebuilt)
    assert set(got) == set(want) and {"evidence", "findings", "query_ledger", "runs", "access_log"} <= set(got)
    for table in want:
        assert got[table] == want[table], table
    con = open_auditor(target)
    assert con.sql("select run_date, count(*) from outcomes group by all order by 1").fetchall() == [
        (RUN_DATE, 60), (DAY2, 60)]
    assert con.sql("select count(*) from outcomes where run_date = ? and outcome = 'INCOMPLETE'",
                   params=[DAY2]).fetchall()[0][0] > con.sql(
        "select count(*) from outcomes where run_date = ? and outcome = 'INCOMPLETE'",
        params=[RUN_DATE]).fetchall()[0][0]
    con.close()

    again = _publish(workdir, DAY2)  # a re-run of the date: its rows replaced, not added
    assert again["mode"] == "incremental" and again["tables"] == first["tables"]
    got = _contents(target)
    for table in want:
        assert got[table] == want[table], table
    assert not list(target.parent.glob(".*.tmp*"))


def test_a_changed_definition_or_a_missing_record_forces_a_full_rebuild(workdir, tmp_path, monkeypatch):
    target = default_audit_db(workdir)
    _publish(workdir, RUN_DATE)
    _add_second_date(workdir / "hedui.duckdb")
    # the SQL of one published table changes (a new column): the whole file is rebuilt, every date gets it
    sql_dir = tmp_path / "sql"
    shutil.copytree(db.SQL_DIR, sql_dir)
    q = sql_dir / "publish" / "auditor_outcomes.sql"
    q.write_text(q.read_text(encoding="utf-8").replace("select run_date, request_id, outcome, findings",
                                                       "select run_date, request_id, outcome, findings, "
                                                       "len(findings) as n_codes"), encoding="utf-8")
    monkeypatch.setattr(db, "SQL_DIR", sql_dir)
    assert _publish(workdir, DAY2)["mode"] == "full"
    con = open_auditor(target)
    assert con.sql("select run_date, count(n_codes) from outcomes group by all order by 1").fetchall() == [
        (RUN_DATE, 60), (DAY2, 60)]
    con.close()
    assert _publish(workdir, DAY2)["mode"] == "incremental"  # the new definition is now the published one
    monkeypatch.undo()

    # a column type changes in the working database: rebuilt whole
    assert _publish(workdir, DAY2)["mode"] == "full"
    con = duckdb.connect(str(workdir / "hedui.duckdb"))
    con.sql("alter table households add column note_zh varchar")
    con.close()
    assert _publish(workdir, DAY2)["mode"] == "full"
    assert _publish(workdir, DAY2, full=True)["mode"] == "full"  # asked for
    # a published file without its `publication` record (an earlier version's): rebuilt whole
    con = duckdb.connect(str(target))
    con.sql(f"drop table {PUBLICATION_TABLE}")
    con.close()
    assert _publish(workdir, DAY2)["mode"] == "full"
    assert _modes(target) == {"full"}
    assert _publish(workdir, RUN_DATE)["mode"] == "incremental"
    assert _modes(target) == {"incremental"}


def test_an_auditor_reading_the_published_file_meanwhile_keeps_a_whole_file(workdir):
    target = default_audit_db(workdir)
    _publish(workdir, RUN_DATE)
    reader = open_auditor(target)
    before = reader.sql("select count(*) from evidence").fetchall()
    _add_second_date(workdir / "hedui.duckdb")
    assert _publish(workdir, DAY2)["mode"] == "incremental"
    assert reader.sql("select count(*) from evidence").fetchall() == before  # its file, replaced, not changed
    reader.close()
    con = open_auditor(target)
    assert con.sql("select count(*) from evidence").fetchall()[0][0] == 2 * before[0][0]
    con.close()


def test_an_incremental_publication_killed_before_its_swap_leaves_the_published_file_whole(workdir):
    target = default_audit_db(workdir)
    _publish(workdir, RUN_DATE)
    _add_second_date(workdir / "hedui.duckdb")
    published = target.read_bytes()
    code = ("import sys; from pathlib import Path; from hedui.privacy.keys import Keys; "
            "from hedui.steps.publish import publish_audit_db; "
            "publish_audit_db(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], code_version='v-test', "
            "keys=Keys(b'\\x01' * 32, b'\\x02' * 32))")
    proc = subprocess.run([sys.executable, "-c", code, str(workdir / "hedui.duckdb"), str(target), DAY2],
                          env={**os.environ, "HEDUI_TEST_KILL_AT": "publish"}, capture_output=True, text=True,
                          timeout=300, start_new_session=True)  # the hook kills its own process group
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-3000:]
    assert target.read_bytes() == published  # the copy was complete, never swapped in
    assert list(target.parent.glob(".*.tmp"))
    from hedui.workdir import clean_leftovers

    clean_leftovers(workdir)
    assert not list(target.parent.glob(".*.tmp*"))
    assert _publish(workdir, DAY2)["mode"] == "incremental"
    rebuilt = workdir / "audit" / "rebuilt.duckdb"
    _publish(workdir, DAY2, rebuilt, full=True)
    assert _contents(target) == _contents(rebuilt)


def test_a_ledger_of_the_earlier_shape_is_migrated_once(workdir):
    database = workdir / "hedui.duckdb"
    con = duckdb.connect(str(database))
    want = con.sql("select * from query_ledger order by all").fetchall()
    assert want and all(len(r[8]) > 1 for r in want)
    # the earlier shape: one row per member per source, with the source's status
    con.sql("""
        create table old_ledger as
        select q.run_date, q.run_id, q.request_id, q.purpose, q.authorization_no, q.authorization_date,
            q.member_pseudonym, q.member_record_id, s.source, s.status as source_status, q.queried_at
        from query_ledger q, unnest(q.sources) as u(source)
        join source_status s on s.run_date = q.run_date and s.source = u.source
    """)
    n_old = con.sql("select count(*) from old_ledger").fetchall()[0][0]
    assert n_old == sum(len(r[8]) for r in want)
    con.sql("drop table query_ledger")
    con.sql("alter table old_ledger rename to query_ledger")
    assert ensure_query_ledger(con) is True
    assert [r[0] for r in con.sql("describe query_ledger").fetchall()] == [
        "run_date", "run_id", "request_id", "purpose", "authorization_no", "authorization_date",
        "member_pseudonym", "member_record_id", "sources", "queried_at"]
    assert con.sql("select * from query_ledger order by all").fetchall() == want
    assert ensure_query_ledger(con) is False  # once
    assert con.sql("select count(*) from query_ledger").fetchall()[0][0] == len(want)
    con.close()

    # a working database still of the old shape is migrated by the link step's writer and by publication
    con = duckdb.connect(str(database))
    con.sql("create table old_ledger as select * exclude (sources), unnest(sources) as source, "
            "'passed' as source_status from query_ledger")
    con.sql("drop table query_ledger")
    con.sql("create table query_ledger as select * exclude (queried_at, source, source_status), source, "
            "source_status, queried_at from old_ledger")
    con.close()
    out = _publish(workdir, RUN_DATE)
    assert out["tables"]["query_ledger"] == len(want)
    con = open_auditor(default_audit_db(workdir))
    assert con.sql("select count(*) from query_ledger where len(sources) > 1").fetchall() == [(len(want),)]
    con.close()
    con = duckdb.connect(str(database))
    con.sql("drop table query_ledger")
    con.sql("create table query_ledger as select * exclude (queried_at, source, source_status), source, "
            "source_status, queried_at from old_ledger")
    assert write_query_ledger(con, RUN_DATE) == len(want)
    assert "sources" in [r[0] for r in con.sql("describe query_ledger").fetchall()]
    con.close()


def test_the_auditor_tables_store_their_text_columns_as_chosen_and_keep_their_comments(workdir):
    """A published table is created with its text columns' compression named (a record ID zstd, other texts
    dictionary + FSST; hedui.steps.publish.AUDITOR_COMPRESSION), not left to DuckDB's analysis of every
    method on every column; the catalog's comments (one script, one transaction) are on every column."""
    target = default_audit_db(workdir)
    assert _publish(workdir, RUN_DATE, full=True)["mode"] == "full"
    con = duckdb.connect(str(target), read_only=True)
    try:
        def methods(table: str, column: str) -> set[str]:
            return {r[0] for r in con.sql(
                f"select distinct compression from pragma_storage_info('{table}') where column_name = '{column}' "
                "and segment_type = 'VARCHAR'").fetchall()}

        assert methods("evidence", "record_id") == {"ZSTD"}
        assert methods("query_ledger", "member_record_id") == {"ZSTD"}
        assert methods("evidence", "member_pseudonym") <= {"DICT_FSST", "Constant"}
        assert methods("evidence", "member_pseudonym") and methods("members", "member_pseudonym")
        # every column's comment is its description in catalog_columns, every table's in catalog
        assert con.sql("select count(*) from catalog_columns c left join duckdb_columns() d "
                       "on d.database_name = current_database() and d.table_name = c.table_name "
                       "and d.column_name = c.column_name where d.comment is distinct from c.description"
                       ).fetchall() == [(0,)]
        assert con.sql("select count(*) from catalog c left join duckdb_tables() d "
                       "on d.database_name = current_database() and d.table_name = c.table_name "
                       "where d.comment is distinct from c.description").fetchall() == [(0,)]
        assert con.sql("select count(*) from catalog_columns").fetchall()[0][0] > 100
    finally:
        con.close()
