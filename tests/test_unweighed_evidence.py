"""CLEAR is earned: one household per kind of unweighed evidence (a record waiting for review, a
quarantined record, an empty needed value) comes out INCOMPLETE with its code, its report names the
record, and confirming or fixing the evidence gives FINDINGS or CLEAR — nothing else moves."""

from __future__ import annotations

import csv
import re
import shutil

import duckdb
import pytest
from conftest import RUN_DATE


def _csv(path):
    with open(path, encoding="utf-8") as fh:
        return {r["request_id"]: r for r in csv.DictReader(fh)}


def _household(world, scenario):
    return next(rid for rid, r in _csv(world / "truth.csv").items() if r["scenario"] == scenario)


def _page(ctx, rid):
    return (ctx.report_dir / "households" / f"{rid}.html").read_text(encoding="utf-8")


@pytest.fixture
def work_copy(world_run, tmp_path):
    """A copy of the world's run (database and run folder) to change."""
    from hedui.pipeline import RunContext

    ctx, _ = world_run
    dst = tmp_path / "work"
    shutil.copytree(ctx.workdir, dst, ignore=shutil.ignore_patterns("reports", "tmp"))
    return RunContext.of(ctx.inbox, dst, RUN_DATE)


@pytest.mark.parametrize("scenario, code, named", [
    ("pending_vehicle", "UNCONFIRMED_LINK", "待人工确认的可能匹配记录"),
    ("quarantined_record", "RECORD_QUARANTINED", "无法识别为金额"),
    ("unknown_balance", "VALUE_UNKNOWN", "缺少“余额”"),
])
def test_unweighed_evidence_holds_the_household_and_its_report_names_the_record(world, world_run, scenario,
                                                                                 code, named):
    ctx, _ = world_run
    rid = _household(world, scenario)
    assert _csv(ctx.report_dir / "outcomes.csv")[rid] == {"request_id": rid, "outcome": "INCOMPLETE",
                                                         "findings": code}
    page = _page(ctx, rid)
    section = page[page.index("待核实的信息"):page.index("家庭指标与政策限额")]
    assert named in section
    assert "文件 " in section and " 行" in section  # the record, by file and row
    assert re.search(r"[\u4e00-\u9fff]{2,}（\d{6}\*{8}\d{3}[\dX]", section)  # its member: name, masked ID
    assert "p1:" not in section and "a1:" not in section


def test_the_waiting_record_shows_its_match_weight(world, world_run):
    ctx, _ = world_run
    rid = _household(world, "pending_vehicle")
    con = duckdb.connect(str(ctx.database), read_only=True)
    weight = con.sql("select match_weight from evidence_gaps where run_date = ? and request_id = ? "
                     "and code = 'UNCONFIRMED_LINK'", params=[RUN_DATE, rid]).fetchall()[0][0]
    con.close()
    assert f"{weight:.2f}" in _page(ctx, rid)


@pytest.mark.parametrize("decision, outcome, findings", [("confirmed", "FINDINGS", "VEHICLE"),
                                                          ("rejected", "CLEAR", "")])
def test_deciding_the_waiting_pair_settles_the_household(world, work_copy, decision, outcome, findings):
    from hedui.review.decisions import record_decision

    rid = _household(world, "pending_vehicle")
    con = duckdb.connect(str(work_copy.database), read_only=True)
    key = con.sql("select decision_key from review_queue where run_date = ? and request_id = ? "
                  "and status = 'pending'", params=[RUN_DATE, rid]).fetchall()[0][0]
    before = dict(con.sql("select request_id, outcome || '/' || findings from outcomes where run_date = ?",
                          params=[RUN_DATE]).fetchall())
    con.close()
    got = record_decision(work_copy, key, decision, "审核员甲", "核对车辆登记资料")
    assert (got["outcome"], got["findings"]) == (outcome, findings)
    con = duckdb.connect(str(work_copy.database), read_only=True)
    after = dict(con.sql("select request_id, outcome || '/' || findings from outcomes where run_date = ?",
                         params=[RUN_DATE]).fetchall())
    con.close()
    assert {r: v for r, v in after.items() if v != before[r]} == {rid: f"{outcome}/{findings}"}
    assert "待核实的信息" not in _page(work_copy, rid)


def test_a_corrected_bank_delivery_makes_both_bank_households_clear_and_moves_nothing_else(world, work_copy,
                                                                                           tmp_path):
    """The re-delivered bank file: the unreadable balance readable, the empty balance filled."""
    from hedui.pipeline import RunContext, assess, ingest_and_validate, link, load, report

    quarantined, unknown = _household(world, "quarantined_record"), _household(world, "unknown_balance")
    applicant = next(r["身份证号"].strip().upper() for r in csv.DictReader(
        open(next((world / "requests" / RUN_DATE).glob("*.csv")), encoding="utf-8-sig"))
        if r["委托编号"] == unknown and r["与申请人关系"] == "本人")
    inbox = tmp_path / "inbox"
    shutil.copytree(world, inbox)
    fixed = 0
    for f in (inbox / "bank" / RUN_DATE).glob("bank_BOC*.csv"):
        rows = list(csv.reader(open(f, encoding="utf-8", newline="")))
        for r in rows[1:]:
            if r[5] == "8O0.00":
                r[5], fixed = "800.00", fixed + 1
            elif r[2].strip().upper() == applicant and r[5] == "":
                r[5], fixed = "300.00", fixed + 1
        with open(f, "w", encoding="utf-8", newline="") as fh:
            csv.writer(fh, lineterminator="\n").writerows(rows)
    assert fixed == 2
    ctx = RunContext.of(inbox, work_copy.workdir, RUN_DATE)
    con = duckdb.connect(str(ctx.database), read_only=True)
    before = dict(con.sql("select request_id, outcome || '/' || findings from outcomes where run_date = ?",
                          params=[RUN_DATE]).fetchall())
    con.close()
    ingest_and_validate(ctx, "bank")
    load(ctx)
    link(ctx)
    assess(ctx)
    report(ctx, only={quarantined, unknown})
    con = duckdb.connect(str(ctx.database), read_only=True)
    after = dict(con.sql("select request_id, outcome || '/' || findings from outcomes where run_date = ?",
                         params=[RUN_DATE]).fetchall())
    con.close()
    assert {r: v for r, v in after.items() if v != before[r]} == {quarantined: "CLEAR/", unknown: "CLEAR/"}
    assert "待核实的信息" not in _page(ctx, quarantined)


def test_a_figure_finding_cites_its_rows_with_window_and_policy_marks(world, world_run):
    ctx, _ = world_run
    page = _page(ctx, _household(world, "income_over"))
    cell = page[page.index("家庭月人均收入高于保障标准"):page.index("</details>")]
    assert "家庭指标（见下表）" not in cell
    assert "不计入（窗口外）" in cell and "计入" in cell  # 18 months delivered, 12 in the window
    assert "<details><summary>逐条记录" in cell and "第 " in cell


def test_a_jointly_owned_unit_is_one_finding(world_run):
    ctx, _ = world_run
    con = duckdb.connect(str(ctx.database), read_only=True)
    rows = con.sql("select f.request_id, r.unit_no, count(*) from findings f "
                   "join stg_real_estate r on r.record_id = f.record_id and r.run_date = f.run_date "
                   "where f.run_date = ? and f.code in ('RESIDENTIAL_UNITS_OVER_LIMIT', 'NON_RESIDENTIAL_PROPERTY') "
                   "group by all", params=[RUN_DATE]).fetchall()
    joint = con.sql("select count(*) from stg_real_estate r join links l on l.record_id = r.record_id "
                    "where r.run_date = ? and r.co_ownership = '共同共有' and r.use_type = '住宅'",
                    params=[RUN_DATE]).fetchall()[0][0]
    con.close()
    assert rows and joint  # the world holds findings on units and jointly owned flats of members
    assert [r for r in rows if r[2] > 1] == []
