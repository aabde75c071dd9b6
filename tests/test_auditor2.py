"""The auditors' side over several nights (DESIGN.md: auditors query the results in DuckDB after the fact — who was
verified, on what evidence, under which rules, and who looked at what; docs/auditors.md), on a world written by
hand (tests/contract_world.py) run through the real pipeline: night 1 (20261128), night 2 (20261129), two staff
decisions on night 2's probabilistic pair (confirm, then reject), and a re-run of night 2.

- AZ01: every published column is described in the catalog (and as a DuckDB comment), the same columns every night;
- AZ02: an outcome a review decision replaced stays queryable (`outcome_history`), the current one marked;
- AZ03: a staff decision a later one replaced is marked superseded in `review_decisions`;
- AZ04: outcomes.csv, the auditor `outcomes`, `runs`' counts and the household pages agree, night by night;
- AZ05: reconciliation: delivered = staged + quarantined per file, and the same rows as `input_files`;
- AZ06: every finding and evidence row cites its origin; every household its policy version, in `runs`;
- AZ07: no ID number, account or name in the clear, no key and no pseudonym→ID table;
- AZ08: the auditor connection cannot write, read files, attach, load extensions or change settings."""

from __future__ import annotations

import base64
import csv
import json
import re

import contract_world
import duckdb
import pytest
from contract_world import WINDOW, World

NIGHT1, NIGHT2 = "20261128", "20261129"
CHECKS = "10X98765432"


def _build() -> World:
    w = World()
    (a,) = w.household("AZ01", [("郑收入", "本人")])
    w.wages(a, WINDOW, "3000", tax="20")
    (b,) = w.household("AZ02", [("冯车主", "本人")])
    wrong = b["id"][:17] + next(c for c in CHECKS if c != b["id"][17])
    w.car({"name": b["name"], "id": wrong}, "200000")  # a probabilistic link: staff review it
    (c,) = w.household("AZ03", [("杨清白", "本人")])
    w.bank(c, "100", account="6216000055550000801")
    w.in_every_source({"name": "路人", "id": contract_world.new_id()})
    return w


def _auditor(work):
    from hedui.audit.auditor import default_audit_db, open_auditor

    return open_auditor(default_audit_db(work))


def _snapshot(work) -> dict:
    con = _auditor(work)
    try:
        q = lambda sql: con.sql(sql).fetchall()  # noqa: E731
        return {
            "columns": q("select table_name, column_name, data_type from duckdb_columns() "
                         "where database_name = current_database() order by all"),
            "outcomes": q("select run_date, request_id, outcome, findings from outcomes order by all"),
            "runs": q("select run_date, run_id, started_at, finished_at, published_at from runs order by 1"),
            "summary": _summary(work),
            "history": q("select run_date, request_id, version, outcome, findings, is_current, "
                         "superseded_at is not null from outcome_history order by all"),
        }
    finally:
        con.close()


def _summary(work) -> dict | None:
    """Night 2's stored run summary (outcome counts) and outcomes.csv counts, when there is a summary."""
    report = work / "reports" / NIGHT2
    if not (report / "run_summary.json").exists():
        return None
    with open(report / "outcomes.csv", encoding="utf-8") as fh:
        rows = [r["outcome"] for r in csv.DictReader(fh)]
    stored = json.loads((report / "run_summary.json").read_text(encoding="utf-8"))
    return {"summary": stored["outcomes"], "csv": {o: rows.count(o) for o in set(rows)}}


@pytest.fixture(scope="module")
def nights(tmp_path_factory):
    from hedui.cli import main
    from hedui.pipeline import RunContext, run
    from hedui.review.decisions import record_decision

    w = _build()
    base = tmp_path_factory.mktemp("az")
    inbox, work = base / "inbox", base / "work"
    for d in (NIGHT1, NIGHT2):
        w.write(inbox, d)
    snaps = {}
    run(RunContext.of(inbox, work, NIGHT1))
    snaps["night1"] = _snapshot(work)
    ctx2 = RunContext.of(inbox, work, NIGHT2)
    assert main(["run", "--inbox", str(inbox), "--workdir", str(work), "--date", NIGHT2]) == 0  # with its summary
    snaps["night2"] = _snapshot(work)
    key = contract_world.query(ctx2, "select decision_key from review_queue where run_date = ? and request_id = 'AZ02'",
                               [NIGHT2])[0][0]
    record_decision(ctx2, key, "confirmed", "李审核", "证件号仅校验位不同，姓名一致")
    snaps["confirmed"] = _snapshot(work)
    record_decision(ctx2, key, "rejected", "王审核", "复查户籍后确认非同一人")
    snaps["rejected"] = _snapshot(work)
    run(RunContext.of(inbox, work, NIGHT2))  # the same night re-run
    snaps["rerun"] = _snapshot(work)
    w.rows["requests"] = [r for r in w.rows["requests"] if r["委托编号"] != "AZ03"]  # the agency withdrew AZ03
    w.write(inbox, NIGHT2)
    run(RunContext.of(inbox, work, NIGHT2))
    snaps["withdrawn"] = _snapshot(work)
    return {"world": w, "inbox": inbox, "work": work, "snaps": snaps, "key": key}


def test_az01_every_published_column_is_described_and_the_same_every_night(nights):
    """AZ01: catalog_columns and the DuckDB comments describe every column of every table in words of its own (not
    the name-pattern fallback `字段：…`), and the tables and columns an auditor's queries name stay the same night by
    night (a decision and a re-run change rows, never the shape)."""
    snaps = nights["snaps"]
    shapes = {name: s["columns"] for name, s in snaps.items()}
    assert len({json.dumps(v) for v in shapes.values()}) == 1, {k: len(v) for k, v in shapes.items()}
    con = _auditor(nights["work"])
    try:
        undocumented = con.sql("select table_name, column_name from duckdb_columns() "
                               "where database_name = current_database() and (comment is null "
                               "or comment like '字段：%') order by all").fetchall()
        listed = set(con.sql("select table_name, column_name from catalog_columns").fetchall())
        published = set(con.sql("select table_name, column_name from duckdb_columns() "
                                 "where database_name = current_database()").fetchall())
        tables = con.sql("select table_name from duckdb_tables() where comment is null or comment like '数据表：%'"
                         ).fetchall()
    finally:
        con.close()
    assert undocumented == [] and tables == []
    assert listed == published


def test_az02_an_outcome_a_decision_replaced_stays_queryable(nights):
    """AZ02: night 2's AZ02 waits for review (INCOMPLETE), a confirmation makes it FINDINGS, a rejection CLEAR: the
    auditor database keeps the three outcomes in order in `outcome_history` (the current one the same as `outcomes`),
    a re-run that changes nothing adds no version, and night 1's row is untouched."""
    snaps = nights["snaps"]
    night2 = [r for r in snaps["night2"]["outcomes"] if r[:2] == (NIGHT2, "AZ02")][0]
    assert night2[2] == "INCOMPLETE"
    assert snaps["rerun"]["history"] == snaps["rejected"]["history"]
    final = snaps["rerun"]["history"]
    az02 = [(v, o, f, cur) for d, rid, v, o, f, cur, _ in final if (d, rid) == (NIGHT2, "AZ02")]
    assert [(v, o, cur) for v, o, f, cur in az02] == [(1, "INCOMPLETE", False), (2, "FINDINGS", False),
                                                       (3, "CLEAR", True)], az02
    assert az02[1][2] == "VEHICLE"
    current = sorted((d, rid, o, f) for d, rid, _, o, f, cur, _ in final if cur)
    assert current == sorted(snaps["rerun"]["outcomes"])
    assert [r for r in final if r[0] == NIGHT1] == snaps["night1"]["history"]
    assert len(snaps["night1"]["history"]) == 3


def test_az03_a_superseded_decision_is_marked_superseded(nights):
    """AZ03: both decisions on the pair are in `review_decisions`, the confirmation marked superseded by the
    rejection (its time), the rejection current — the one the outcome now rests on."""
    con = _auditor(nights["work"])
    try:
        rows = con.sql("select decision, reviewer, is_superseded, superseded_at, decided_at from review_decisions "
                       "where decision_key = ? order by decided_at", params=[nights["key"]]).fetchall()
    finally:
        con.close()
    assert [(r[0], r[2]) for r in rows] == [("confirmed", True), ("rejected", False)]
    assert rows[0][3] == rows[1][4] and rows[1][3] is None


def test_az04_outcomes_agree_between_csv_auditor_runs_and_pages(nights):
    """AZ04: for each night, outcomes.csv, the auditor's `outcomes`, `runs`' counts per outcome and the household
    pages (one per household, no page of a withdrawn one) say the same."""
    work = nights["work"]
    con = _auditor(work)
    try:
        for d in (NIGHT1, NIGHT2):
            with open(work / "reports" / d / "outcomes.csv", encoding="utf-8") as fh:
                csv_rows = sorted((r["request_id"], r["outcome"], r["findings"]) for r in csv.DictReader(fh))
            db_rows = con.sql("select request_id, outcome, findings from outcomes where run_date = ? order by all",
                              params=[d]).fetchall()
            assert csv_rows == db_rows
            counts = con.sql("select n_households, n_clear, n_findings, n_incomplete from runs where run_date = ?",
                             params=[d]).fetchall()[0]
            by = {o: sum(r[1] == o for r in db_rows) for o in ("CLEAR", "FINDINGS", "INCOMPLETE")}
            assert counts == (len(db_rows), by["CLEAR"], by["FINDINGS"], by["INCOMPLETE"])
            pages = {p.stem: re.findall(r'data-outcome="([A-Z]+)"', p.read_text(encoding="utf-8"))
                     for p in (work / "reports" / d / "households").glob("*.html")}
            assert pages == {rid: [outcome] for rid, outcome, _ in db_rows}
    finally:
        con.close()


def test_az05_reconciliation_adds_up_and_matches_the_input_files(nights):
    """AZ05: per run and file, rows delivered = staged + quarantined, and every delivered file is reconciled with
    the row count `input_files` gives it."""
    con = _auditor(nights["work"])
    try:
        bad = con.sql("select * from reconciliation where rows_delivered <> rows_staged + rows_quarantined"
                      ).fetchall()
        files = con.sql("select run_date, count(*), sum(rows_delivered) from input_files group by 1 order by 1"
                        ).fetchall()
        recon = con.sql("select run_date, count(*), sum(rows_delivered) from reconciliation group by 1 order by 1"
                        ).fetchall()
        runs = con.sql("select run_date, n_input_files, n_input_rows from runs order by 1").fetchall()
    finally:
        con.close()
    assert bad == []
    assert files == recon == runs and [r[0] for r in runs] == [NIGHT1, NIGHT2]


def test_az06_every_finding_and_fact_cites_its_origin_and_policy(nights):
    """AZ06: a finding on a record and every evidence row name source, delivery date, file and row; a figure's
    finding rests on evidence rows that name the figure; each household's policy version is in its run's record."""
    con = _auditor(nights["work"])
    try:
        q = lambda sql: con.sql(sql).fetchall()  # noqa: E731
        assert q("select * from findings where record_id is not null and (delivery_date is null or file_name is null "
                 "or row_no is null or source is null)") == []
        assert q("select * from evidence where delivery_date is null or file_name is null or row_no is null") == []
        assert q("select f.run_date, f.request_id from findings f where f.method = 'figure' and not exists (select 1 "
                 "from evidence e where e.run_date = f.run_date and e.request_id = f.request_id and e.is_counted)") == []
        assert q("select h.run_date, h.request_id from households h join runs r using (run_date) "
                 "where h.policy_id is null or not list_contains(r.policy_versions, h.policy_id)") == []
        assert q("select count(*) from runs where policy_files is null or code_version is null")[0][0] == 0
    finally:
        con.close()


def test_az07_nothing_in_the_clear_and_no_way_back(nights):
    """AZ07: no text cell of the auditor database holds a delivered ID number, an account number or a member's
    name, no column holds a key, and no table pairs a pseudonym with an ID."""
    from hedui.privacy.keys import load_keys

    w = nights["world"]
    ids = {r["身份证号"] for r in w.rows["requests"]} | {r["证件号码"] for r in w.rows["vehicle"]}
    accounts = {r["账号"] for r in w.rows["bank"]}
    names = {r["姓名"] for r in w.rows["requests"]}
    keys = load_keys()
    secrets = {f(k) for k in (keys.pseudonym_key, keys.data_key) for f in (bytes.hex, lambda b: base64.b64encode(b).decode())}
    con = _auditor(nights["work"])
    try:
        cols = con.sql("select table_name, column_name from duckdb_columns() where database_name = current_database() "
                       "and data_type like 'VARCHAR%'").fetchall()
        texts = set()
        for t, c in cols:
            texts |= {r[0] for r in con.sql(f'select distinct cast("{c}" as varchar) from "{t}"').fetchall() if r[0]}
        id_cols = con.sql("select table_name, column_name from duckdb_columns() where database_name = current_database()"
                          " and regexp_matches(column_name, '^(id_number|id_norm|id_plain|account_no|.*_token|.*_cipher|pseudonym_key|data_key|key)$')"
                          ).fetchall()
    finally:
        con.close()
    blob = "\n".join(texts)
    assert not [i for i in ids if i in blob]
    assert not [a for a in accounts if a in blob]
    assert not [n for n in names if n in blob]
    assert not [s for s in secrets if s in blob]
    assert not re.search(r"(?<![0-9A-Za-z])[0-9]{17}[0-9Xx](?![0-9A-Za-z])", blob)
    assert id_cols == []


@pytest.mark.parametrize("sql", [
    "select * from read_csv('/etc/passwd')",
    "select * from read_text('/etc/hostname')",
    "select * from glob('/tmp/*')",
    "copy outcomes to '/tmp/az_out.csv'",
    "attach ':memory:' as other",
    "attach '/tmp/az_other.duckdb' as other",
    "load httpfs",
    "install httpfs",
    "create table t as select 1",
    "insert into outcomes select * from outcomes",
    "delete from outcomes",
    "set enable_external_access = true",
    "set lock_configuration = false",
    "detach hedui_audit",
])
def test_az08_the_auditor_connection_reads_only_this_database(nights, sql):
    """AZ08: enable_external_access is false and locked; writes, COPY, ATTACH, file readers and extensions fail."""
    con = _auditor(nights["work"])
    try:
        assert con.sql("select current_setting('enable_external_access')").fetchall()[0][0] is False
        n = con.sql("select count(*) from outcomes").fetchall()[0][0]
        with pytest.raises(duckdb.Error):
            con.sql(sql)
        assert con.sql("select count(*) from outcomes").fetchall()[0][0] == n
        assert con.sql("select count(*) from duckdb_databases() where not internal").fetchall()[0][0] == 1
    finally:
        con.close()


def test_az09_a_withdrawn_household_keeps_its_earlier_outcome(nights):
    """AZ09: night 2 re-run without AZ03 (withdrawn from the request list): `outcomes` no longer has it, and
    `outcome_history` keeps its CLEAR of the earlier publications, superseded by a current version without outcome."""
    snaps = nights["snaps"]
    assert [r for r in snaps["withdrawn"]["outcomes"] if r[:2] == (NIGHT2, "AZ03")] == []
    az03 = [(v, o, cur) for d, rid, v, o, f, cur, _ in snaps["withdrawn"]["history"] if (d, rid) == (NIGHT2, "AZ03")]
    assert az03 == [(1, "CLEAR", False), (2, None, True)]
    assert [r for r in snaps["withdrawn"]["history"] if r[0] == NIGHT1] == snaps["night1"]["history"]


def test_az10_a_review_decision_keeps_the_runs_record(nights):
    """AZ10: the auditor database re-published after a review decision (and a late delivery, the same call) kept
    night 2's run id, start and end time in `runs` (it wrote them empty and `hedui-<date>`): only the publication
    time moves."""
    snaps = nights["snaps"]
    night2 = {r[0]: r for r in snaps["night2"]["runs"]}[NIGHT2]
    for step in ("confirmed", "rejected"):
        after = {r[0]: r for r in snaps[step]["runs"]}[NIGHT2]
        assert after[:4] == night2[:4] and after[4] > night2[4], step
    assert night2[2] is not None and night2[3] is not None
    assert snaps["confirmed"]["runs"][0] == snaps["night2"]["runs"][0]  # night 1 untouched


def test_az11_the_run_summary_follows_a_review_decision(nights):
    """AZ11: night 2's run_summary.json (`hedui run`) counted AZ02 INCOMPLETE; after the confirmation and the
    rejection it counts the outcomes `runs` of the auditor database and outcomes.csv count (it kept the night's)."""
    snaps = nights["snaps"]
    assert snaps["night2"]["summary"]["summary"].get("INCOMPLETE") == 1
    for step in ("night2", "confirmed", "rejected"):
        got = snaps[step]["summary"]
        night = [r for r in snaps[step]["outcomes"] if r[0] == NIGHT2]
        by = {o: sum(r[2] == o for r in night) for o in {r[2] for r in night}}
        assert got["summary"] == got["csv"] == by, step
    assert snaps["rejected"]["summary"]["summary"] == {"CLEAR": 2, "FINDINGS": 1}
