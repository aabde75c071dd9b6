"""Probabilistic links end to end: unconfirmed evidence, staff decisions, the review page."""

from __future__ import annotations

import csv
import shutil

import duckdb
import pytest


@pytest.fixture
def run_copy(world_run, tmp_path):
    """A private copy of the world's working folder (decisions change it)."""
    from hedui.pipeline import RunContext

    ctx, _ = world_run
    work = tmp_path / "work"
    shutil.copytree(ctx.workdir, work)
    return RunContext.of(ctx.inbox, work, ctx.run_date)


def _scenario_request(ctx, scenario):
    with open(ctx.inbox / "truth.csv", encoding="utf-8") as fh:
        return next(r["request_id"] for r in csv.DictReader(fh) if r["scenario"] == scenario)


def _pair(ctx, request_id, source):
    con = duckdb.connect(str(ctx.database), read_only=True)
    try:
        return con.sql("select decision_key, band, status, breakdown from review_queue "
                       "where request_id = ? and source = ?", params=[request_id, source]).fetchall()
    finally:
        con.close()


def _outcome(ctx, request_id):
    with open(ctx.report_dir / "outcomes.csv", encoding="utf-8") as fh:
        r = next(r for r in csv.DictReader(fh) if r["request_id"] == request_id)
    return r["outcome"], r["findings"]


def test_a_vehicle_without_owner_id_is_linked_but_unconfirmed(run_copy):
    rid = _scenario_request(run_copy, "fuzzy_vehicle")
    [(key, band, status, breakdown)] = _pair(run_copy, rid, "vehicle")
    assert (band, status) == ("link", "pending")
    from matching.linkage import waterfall

    parts = dict(waterfall(breakdown, lang="zh"))
    assert any(label.startswith("姓名") and w > 0 for label, w in parts.items())
    assert _outcome(run_copy, rid) == ("INCOMPLETE", "UNCONFIRMED_LINK;VEHICLE")


def test_confirming_the_vehicle_makes_the_household_findings_at_once(run_copy):
    from hedui.pipeline import record_decision

    rid = _scenario_request(run_copy, "fuzzy_vehicle")
    [(key, *_)] = _pair(run_copy, rid, "vehicle")
    result = record_decision(run_copy, key, "confirmed", "张审核", "车管所档案照片与申请人一致")
    assert (result["outcome"], result["findings"]) == ("FINDINGS", "VEHICLE")
    assert _outcome(run_copy, rid) == ("FINDINGS", "VEHICLE")
    page = (run_copy.report_dir / "households" / f"{rid}.html").read_text(encoding="utf-8")
    assert "概率匹配" in page and "发现以下情形" in page


def test_rejecting_the_bank_account_leaves_what_the_other_evidence_says(run_copy):
    from hedui.pipeline import record_decision

    rid = _scenario_request(run_copy, "fuzzy_bank")
    assert _outcome(run_copy, rid) == ("INCOMPLETE", "FINANCIAL_ASSETS_OVER_LIMIT;UNCONFIRMED_LINK")
    [(key, *_)] = _pair(run_copy, rid, "bank")
    assert record_decision(run_copy, key, "rejected", "李审核", "开户证件号与申请人不符")["outcome"] == "CLEAR"


def test_a_decision_applies_on_every_later_run(run_copy):
    from hedui.pipeline import assess, link, load, record_decision

    rid = _scenario_request(run_copy, "fuzzy_bank")
    [(key, *_)] = _pair(run_copy, rid, "bank")
    record_decision(run_copy, key, "confirmed", "李审核", "银行回函确认")
    load(run_copy)  # a re-run of the date rebuilds staging, links and queue from scratch
    link(run_copy)
    assess(run_copy)
    assert _pair(run_copy, rid, "bank")[0][2] == "confirmed"
    con = duckdb.connect(str(run_copy.database), read_only=True)
    assert con.sql("select outcome, findings from outcomes where request_id = ?", params=[rid]).fetchall() == \
        [("FINDINGS", "FINANCIAL_ASSETS_OVER_LIMIT")]
    con.close()


def test_a_decision_without_a_reason_is_refused(run_copy):
    from hedui.pipeline import record_decision
    from hedui.review.queue import ReviewError

    rid = _scenario_request(run_copy, "fuzzy_bank")
    [(key, *_)] = _pair(run_copy, rid, "bank")
    with pytest.raises(ReviewError, match="理由"):
        record_decision(run_copy, key, "confirmed", "李审核", " ")


def test_a_rich_namesake_with_his_own_id_never_touches_the_applicant(run_copy):
    rid = _scenario_request(run_copy, "trap_namesake")
    con = duckdb.connect(str(run_copy.database), read_only=True)
    assert con.sql("select count(*) from review_queue where request_id = ?", params=[rid]).fetchall()[0][0] == 0
    assert con.sql("select count(*) from links where request_id = ? and method = 'probabilistic'",
                   params=[rid]).fetchall()[0][0] == 0
    con.close()
    assert _outcome(run_copy, rid) == ("CLEAR", "")
