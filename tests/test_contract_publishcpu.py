"""Contract of publication's CPU cuts (session 32, publishcpu): the same auditor database, less work.

BY01  `_links_of_their_source` is True only where the evidence part for links of no source has no rows.
BY02  a working database with links of no source still publishes them: `auditor.evidence` equals the whole
      evidence SQL (every part, the one for links of no source too), EXCEPT ALL both ways.
BY03  a publication that fails puts the run's `outcome_history` back as it was (kept in a temp table now).
BY04  the catalog written in one transaction: its rows and comments; nothing left of it when it fails.
"""

from __future__ import annotations

import duckdb
import pytest
from conftest import RUN_DATE

from hedui.audit.auditor import default_audit_db
from hedui.audit.catalog import write_catalog
from hedui.audit.log import AuditError
from hedui.settings import REQUESTS, sources
from hedui.steps.publish import _links_of_their_source, _union, evidence_parts, publish_audit_db
from tests.test_publish import keys, workdir  # noqa: F401  (the run's keys; a copy of the world's database)

ID_A = "11010519491231002X"  # an ID number's shape: the unmasked-ID guard refuses it


def _links_con(rows: list[tuple]) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.sql("create table links (run_date varchar, source varchar, record_id varchar, request_id varchar, "
            "member_id varchar, method varchar, match_weight double, is_confirmed boolean)")
    con.sql("create table figure_lineage (run_date varchar, request_id varchar, record_id varchar, item varchar, "
            "period_month date, amount_yuan double, is_in_window boolean, is_excluded boolean, "
            "exclusion_zh varchar, is_counted boolean)")
    con.sql("create view source_records as select run_date, record_id, '' as delivery_date, '' as file_name, "
            "0 as row_no from links")
    if rows:
        con.executemany("insert into links values (?, ?, ?, 'R1', 'p1:m', 'exact', 1.0, true)",
                        [(RUN_DATE, s, r) for s, r in rows])
    return con


def test_BY01_the_check_is_true_only_when_the_part_of_no_source_has_no_rows():
    dept = [s for s in sources() if s != REQUESTS]
    a, b = dept[0], dept[1]
    cases = {
        "all of their source": ([(a, f"{a}:f.csv:2"), (b, f"{b}:g.xlsx:3")], True),
        "none": ([], True),
        "record ID of another source": ([(a, f"{b}:f.csv:2")], False),
        "record ID of no source": ([(a, "elsewhere:f.csv:2")], False),
        "record ID without a colon": ([(a, a)], False),
        "NULL record ID": ([(a, None)], False),
        "NULL source": ([(None, f"{a}:f.csv:2")], False),
        "source of no department": ([("elsewhere", "elsewhere:f.csv:2")], False),
        "the requests' source": ([(REQUESTS, f"{REQUESTS}:r.csv:2")], False),
        "a source's name only as a prefix": ([(a, f"{a}x:f.csv:2")], False),
    }
    none_part = evidence_parts()[-1]
    for name, (rows, expected) in cases.items():
        con = _links_con(rows)
        n = con.sql(f"select count(*) from ({none_part})").fetchall()[0][0]
        assert _links_of_their_source(con) is expected, name
        if expected:
            assert n == 0, name  # skipping the part loses no row
        else:
            # a record ID of a department's source is that source's part's, whatever the link's source says
            assert n == (0 if name in ("record ID of another source", "NULL source") else 1), name
        con.close()


def _evidence_rows(con, sql: str) -> int:
    return con.sql(f"select count(*) from ({sql})").fetchall()[0][0]


def test_BY02_links_of_no_source_are_still_published(workdir):  # noqa: F811
    con = duckdb.connect(str(workdir / "hedui.duckdb"))
    con.sql("insert into links select run_date, source, 'elsewhere:' || record_id, request_id, member_id, method, "
            "match_weight, is_confirmed from links where run_date = ? limit 3", params=[RUN_DATE])
    con.sql("insert into links select run_date, 'elsewhere', record_id, request_id, member_id, method, "
            "match_weight, is_confirmed from links where run_date = ? limit 2", params=[RUN_DATE])
    assert not _links_of_their_source(con)
    con.close()
    target = default_audit_db(workdir)
    publish_audit_db(workdir / "hedui.duckdb", target, RUN_DATE, code_version="v", keys=keys())
    con = duckdb.connect(str(workdir / "hedui.duckdb"), read_only=True)
    con.sql(f"attach '{target}' as auditor (read_only)")
    whole = _union(evidence_parts())
    assert con.sql("select count(*) from auditor.evidence where starts_with(record_id, 'elsewhere:')"
                   ).fetchall() == [(3,)]
    whole = f"select * from ({whole})"  # (a union of parts: one operand of the EXCEPT ALL)
    assert _evidence_rows(con, whole) == _evidence_rows(con, "select * from auditor.evidence") > 5
    assert _evidence_rows(con, f"select * from auditor.evidence except all {whole}") == 0
    assert _evidence_rows(con, f"{whole} except all select * from auditor.evidence") == 0
    con.close()


def test_BY03_a_failed_publication_leaves_outcome_history_as_it_was(workdir):  # noqa: F811
    target = default_audit_db(workdir)
    publish_audit_db(workdir / "hedui.duckdb", target, RUN_DATE, code_version="v", keys=keys())
    con = duckdb.connect(str(workdir / "hedui.duckdb"))
    history = sorted(con.sql("select * from outcome_history").fetchall())
    assert history
    # a changed outcome (the attempt adds a version to outcome_history) and an unmasked ID (the attempt fails)
    con.execute("update outcomes set outcome = 'INCOMPLETE' where run_date = ? and request_id = "
                "(select min(request_id) from outcomes where run_date = ? and outcome <> 'INCOMPLETE')",
                [RUN_DATE, RUN_DATE])
    con.execute(f"update households set policy_source_zh = '{ID_A}' where run_date = ?", [RUN_DATE])
    con.close()
    with pytest.raises(AuditError):
        publish_audit_db(workdir / "hedui.duckdb", target, RUN_DATE, code_version="v", keys=keys())
    con = duckdb.connect(str(workdir / "hedui.duckdb"), read_only=True)
    assert sorted(con.sql("select * from outcome_history").fetchall()) == history
    con.close()


def test_BY04_the_catalog_in_one_transaction(tmp_path):
    con = duckdb.connect()
    con.sql(f"attach '{tmp_path / 'a.duckdb'}' as auditor")
    con.sql("create table auditor.outcomes (run_date varchar, request_id varchar, outcome varchar)")
    write_catalog(con, "auditor")
    assert con.sql("select count(*) from auditor.catalog").fetchall() == [(3,)]
    assert con.sql("select count(*) from auditor.catalog_columns").fetchall() == [(9,)]
    comments = con.sql("select count(*) from duckdb_columns() where database_name = 'auditor' "
                       "and comment is not null and comment <> ''").fetchall()[0][0]
    assert comments == 9
    con.sql("drop table auditor.catalog")
    con.sql("drop table auditor.catalog_columns")
    con.sql("create table auditor.catalog_columns (x int)")  # the second table cannot be made: all rolled back
    with pytest.raises(duckdb.Error):
        write_catalog(con, "auditor")
    tables = {r[0] for r in con.sql("select table_name from duckdb_tables() where database_name = 'auditor'"
                                    ).fetchall()}
    assert tables == {"outcomes", "catalog_columns"}
