"""Contract of publication's CPU cut of session 36 (publish): findings' citations read per source.

CW01  `auditor.findings` published from `findings_sql()` equals the findings SQL over every staged record
      (`source_records`, as before), EXCEPT ALL both ways, with findings that cite a record of every
      department's source, a request row, a quarantined row and no record.
CW02  a department's source that no finding cites is not read: its table scan stops at once (a few
      thousand rows of 200,000), while a cited source's rows are found.
"""

from __future__ import annotations

import json

import duckdb
from conftest import RUN_DATE

from hedui import db
from hedui.audit.auditor import default_audit_db
from hedui.settings import REQUESTS, sources
from hedui.steps.publish import _register_mask_udf, publish_audit_db
from hedui.steps.publish_sql import findings_sql
from tests.test_publish import keys, workdir  # noqa: F401  (the run's keys; a copy of the world's database)

_CITED = "run_date, record_id, file_name, row_no, delivery_date"


def _every_record_sql() -> str:
    """The findings SQL as before session 36: the citations are every department's staged record."""
    return db.sql_text("publish/auditor_findings.sql").format(records=f"select {_CITED} from source_records")


def _count(con, sql: str) -> int:
    return con.sql(f"select count(*) from ({sql})").fetchall()[0][0]


def test_CW01_published_findings_equal_those_cited_from_every_record(workdir):  # noqa: F811
    con = duckdb.connect(str(workdir / "hedui.duckdb"))
    # a finding citing one record of each department's source that has one (social insurance, tax too)
    departments = [s for s in sources() if s != REQUESTS and db.table_exists(con, f"stg_{s}")]
    for s in departments:
        con.execute("insert into findings (run_date, request_id, code, member_id, source, record_id, "
                    "detail_zh, is_confirmed, method, match_weight) "
                    "select run_date, 'CW01', 'CW01_CODE', 'p1:cw', source, record_id, '引用', true, "
                    f"'exact_id', 1.0 from stg_{s} where run_date = ? order by record_id limit 1", [RUN_DATE])
    con.execute("insert into findings (run_date, request_id, code, record_id) values "
                "(?, 'CW01', 'CW01_NONE', 'nowhere:f.csv:2'), (?, 'CW01', 'CW01_NULL', null)",
                [RUN_DATE, RUN_DATE])
    cited = {r[0] for r in con.sql("select distinct split_part(record_id, ':', 1) from findings "
                                   "where record_id is not null").fetchall()}
    assert {"social_insurance", "tax", "bank", REQUESTS, "nowhere"} <= cited
    con.close()
    target = default_audit_db(workdir)
    publish_audit_db(workdir / "hedui.duckdb", target, RUN_DATE, code_version="v", keys=keys())
    con = duckdb.connect(str(workdir / "hedui.duckdb"), read_only=True)
    _register_mask_udf(con)
    con.sql(f"attach '{target}' as auditor (read_only)")
    # detail_zh is masked with the run's names in publication (not here): the citation columns are compared
    cols = "run_date, request_id, code, member_pseudonym, source, record_id, delivery_date, file_name, row_no"
    before = f"select {cols} from ({_every_record_sql()})"
    published = f"select {cols} from auditor.findings"
    assert _count(con, published) == _count(con, before) > 10
    assert _count(con, f"{published} except all {before}") == 0
    assert _count(con, f"{before} except all {published}") == 0
    # every department's finding found its staged record (delivery date, file, row): none lost by the split
    assert _count(con, "select * from auditor.findings where request_id = 'CW01' and code = 'CW01_CODE' "
                       "and (file_name is null or row_no is null or delivery_date is null)") == 0
    assert _count(con, "select * from auditor.findings where code = 'CW01_CODE'") == len(departments)
    con.close()


def _scanned(con, sql: str) -> dict[str, int]:
    """{table: rows its scans emitted} of one run of `sql` (DuckDB's JSON profile)."""
    path = f"/tmp/cw02_{id(con)}.json"
    con.sql("pragma enable_profiling = 'json'")
    con.sql(f"set profiling_output = '{path}'")
    try:
        con.sql(f"select count(*) from ({sql})").fetchall()
    finally:
        con.sql("pragma disable_profiling")
    rows: dict[str, int] = {}

    def walk(node: dict) -> None:
        info = node.get("extra_info") or {}
        if node.get("name") in ("TABLE_SCAN", "SEQ_SCAN") and isinstance(info, dict) and "Table" in info:
            table = info["Table"].split(".")[-1]
            rows[table] = rows.get(table, 0) + int(node.get("intermediate_rows") or 0)
        for child in node.get("children") or ():
            walk(child)

    for node in json.load(open(path, encoding="utf-8"))["operator"]:
        walk(node)
    return rows


def test_CW02_a_source_no_finding_cites_is_not_read():
    con = duckdb.connect()
    departments = [s for s in sources() if s != REQUESTS]
    # the findings' record IDs range over tax's: 'bank:' < 'tax:' < 'vehicle:'
    big, cited, last = "tax", "bank", "vehicle"
    assert {big, cited, last} <= set(departments)
    for s in departments:
        n = 200_000 if s == big else 300
        con.sql(f"create table stg_{s} as select '{RUN_DATE}' as run_date, "
                f"'{s}:{s}.csv:' || (i + 2) as record_id, '{s}.csv' as file_name, "
                f"(i + 2)::integer as row_no, '{RUN_DATE}' as delivery_date "
                f"from range({n}) t(i)")
    con.sql(f"create table stg_requests as select * from stg_{cited} limit 0")
    con.sql("create view source_records as "  # as hedui.pipeline makes it (the columns the findings read)
            + " union all ".join(f"select {_CITED} from stg_{s}" for s in departments))
    con.sql("create table quarantine_subjects (run_date varchar, source varchar, file_name varchar, "
            "row_no integer, delivery_date varchar)")
    con.sql("create table findings (run_date varchar, request_id varchar, code varchar, member_id varchar, "
            "source varchar, record_id varchar, detail_zh varchar, is_confirmed boolean, method varchar, "
            "match_weight double)")
    # 150 records of each cited source: too many for an IN list, their range spans tax's
    con.execute("insert into findings select ?, 'R1', 'C', 'p1:a', source, record_id, '说明', true, "
                f"'exact_id', 1.0 from (select '{cited}' as source, * from stg_{cited} union all "
                f"select '{last}', * from stg_{last}) where row_no % 2 = 0", [RUN_DATE])
    _register_mask_udf(con)
    sql = findings_sql()
    assert con.sql(f"select source, count(*), count(file_name), sum(row_no % 2) from ({sql}) group by all "
                   "order by all").fetchall() == [(cited, 150, 150, 0), (last, 150, 150, 0)]
    scanned = _scanned(con, sql)
    assert scanned[f"stg_{cited}"] >= 1
    assert scanned.get(f"stg_{big}", 0) < 20_000, scanned  # stopped at once, not 200,000 rows probed
    con.close()
