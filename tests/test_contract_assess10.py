"""Assess, tenth pass (policy.md: CLEAR is earned, never a default): deliveries of monthly income rows that do not
cover the income window, built by hand (tests/contract_world.py) and run through the real pipeline.

Settled where the contract is open:
- AW01, a small delivery (a county's few people, fewer than ten monthly series) whose every series stops in one month,
  two months or more before the window's end, no row of anyone after it: several people's incomes do not all stop in
  one month, a delivery does.  The ten-series rule (test_contract_assess9 AV04) let it through: the months after read
  as months without income and a pension of 900 delivered to 2026-06 averaged 600 under a standard of 800 — CLEAR.
  Series ending in different months stay what they are (a job ending): no gap (AW05's run).
- AW02, a delivery starting after the window does (an extract of the last six months): the months before its first are
  not delivered, not months without income — a wage of 1,500 from 2026-05 averaged 750 under 800, CLEAR.
- AW03, months inside a delivery (rows before and after) of which nobody has a row while two people's series or more
  run across them: a month's file not delivered, not a month without income — a wage of 1,000 with 2026-03 to 2026-05
  missing averaged 750 under 800, CLEAR.  One person's months missing alone (others' rows in those months) are his own.
- AW04, "more residential units than allowed" stands on its own confirmed evidence only when the units on confirmed
  links alone are over the limit (test_contract_traps8 TH15).  Those were counted by the 不动产单元号 as written: one
  flat of husband and wife, the wife's row writing the number with spaces, was two confirmed units, and a second flat
  linked by name alone made FINDINGS where it is INCOMPLETE (the figure counts the number as hd_key reads it).
- AW05, a member whose rows end where the whole delivery ends, two months or more early, in a delivery too small to be
  judged short (one person's series): whether his pension stopped or the delivery did cannot be told — a pension of 900
  to 2026-06 averaged 600, CLEAR.  A member whose rows end before the delivery does is one whose income stopped.

Policy of the run (hedui/policies/jiangxi_demo.yaml, 2026, 城市): standard 800 yuan/person/month; window 2025-11 to
2026-10 (run 2026-11-28).
"""

from __future__ import annotations

import pytest
from contract_world import WINDOW, World, fresh_ids, new_id, outcomes, query, run_world
from test_contract_traps10 import fill


def build_small_end() -> World:
    """AW01: social insurance of three people's contributions, every series ending in 2026-06; tax to 2026-10."""
    w = World()
    fill(w)
    for n in range(3):
        x = {"name": f"县参保{n}", "id": new_id()}
        w.si(x, WINDOW[:8], "企业职工基本养老保险", "缴费", base="4000")
        w.wages(x, WINDOW, "4000")
    (a,) = w.household("AWE1", [("短一", "本人")])
    w.si(a, WINDOW[:8], "企业职工基本养老保险", "待遇", benefit="900")  # 7,200 over 12 months: 600
    return w


def build_late_start() -> World:
    """AW02: tax rows of twelve people from 2026-05 only; social insurance over the whole window."""
    w = World()
    fill(w)
    w.rows["tax"] = [r for r in w.rows["tax"] if r["姓名"] != "路人丙"]
    for n in range(12):
        x = {"name": f"纳税人{n}", "id": new_id()}
        w.wages(x, WINDOW[6:], "4000")
        w.si(x, WINDOW, "企业职工基本养老保险", "缴费", base="4000")
    (a,) = w.household("AWS1", [("迟一", "本人")])
    w.wages(a, WINDOW[6:], "1500")  # 9,000 over 12 months: 750
    return w


def build_hole() -> World:
    """AW03: tax rows of three people and the member, nobody's in 2026-03 to 2026-05; social insurance complete."""
    w = World()
    fill(w)
    gap = WINDOW[4:7]
    for n in range(3):
        x = {"name": f"县纳税{n}", "id": new_id()}
        w.wages(x, [m for m in WINDOW if m not in gap], "4000")
        w.si(x, WINDOW, "企业职工基本养老保险", "缴费", base="4000")
    (a,) = w.household("AWH1", [("缺一", "本人")])
    w.wages(a, [m for m in WINDOW if m not in gap], "1000")  # 9,000 over 12 months: 750
    # pinned: his own months missing (2026-08, 2026-09), others' rows there: his wages, no gap
    (b,) = w.household("AWH2", [("缺二", "本人")])
    w.wages(b, [m for m in WINDOW if m not in gap and m not in ("202608", "202609")], "1000")
    return w


def add_units(w: World) -> None:
    """AW04: one flat of husband and wife (her row's number with spaces) and a flat linked by name alone."""
    a, b = w.household("AWU1", [("房一", "本人"), ("房一妻", "配偶")])
    w.flat(a, "360702001001GB00901F00010001", share="共同共有", location="章贡区某路901号")
    w.flat(b, "360702 001001 GB00901 F00010001", share="共同共有", location="章贡区某路901号")
    w.flat({"name": a["name"], "id": ""}, "360702001001GB00901F00010002")
    # pinned: two flats on exact links are over the limit on their own
    (c,) = w.household("AWU2", [("房二", "本人")])
    w.flat(c, "360702001001GB00902F00010001")
    w.flat(c, "360702001001GB00902F00010002")


def build_lone() -> World:
    """AW05: social insurance of two people's pensions, one to 2026-06 (the delivery's last month), one to 2026-03;
    and AW04's households."""
    w = World()
    fill(w)
    (a,) = w.household("AWL1", [("独一", "本人")])
    w.si(a, WINDOW[:8], "企业职工基本养老保险", "待遇", benefit="900")  # 7,200 over 12 months: 600
    # pinned: a pension ending before the delivery does (2026-03): ended, CLEAR
    (b,) = w.household("AWL2", [("独二", "本人")])
    w.si(b, WINDOW[:5], "企业职工基本养老保险", "待遇", benefit="900")
    add_units(w)  # (no income: the same run)
    return w


with fresh_ids(10100):
    SMALL_END = build_small_end()
with fresh_ids(10300):
    LATE_START = build_late_start()
with fresh_ids(10400):
    HOLE = build_hole()
with fresh_ids(10600):
    LONE = build_lone()


@pytest.fixture(scope="module")
def lone_run(tmp_path_factory):
    return run_world(LONE, tmp_path_factory, "assess10_lone")


@pytest.fixture(scope="module")
def small_end_run(tmp_path_factory):
    return run_world(SMALL_END, tmp_path_factory, "assess10_small_end")


@pytest.fixture(scope="module")
def late_start_run(tmp_path_factory):
    return run_world(LATE_START, tmp_path_factory, "assess10_late_start")


def _gaps(ctx, rid: str) -> list[tuple]:
    return query(ctx, "select source, code, member_id, reason_zh from evidence_gaps where request_id = ? order by 1, 4",
                 [rid])


def test_AW01_a_small_delivery_whose_series_all_stop_in_one_month_is_short(small_end_run, lone_run):
    """AW01: three people's social-insurance series all ending in 2026-06 (window to 2026-10): the household whose
    pension of 900 was delivered to 2026-06 (600 a month averaged) is INCOMPLETE, the source named with its months;
    a small delivery whose series end in different months is no short one (AW05's pension ended in 2026-03 CLEAR)."""
    assert outcomes(small_end_run)["AWE1"] == ("INCOMPLETE", "SOURCE_MISSING")
    assert _gaps(small_end_run, "AWE1") == [(
        "social_insurance", "SOURCE_MISSING", None,
        "人社 社会保险数据只交付至 2026-06：收入计算期 2025-11 至 2026-10 中 2026-07 至 2026-10 共 4 个月没有任何人员的记录，"
        "属交付不完整，这些月份的收入未知，未按无收入计；请交付部门补交这些月份的数据")]
    # (AW05's run: two pensions, ending in 2026-03 and 2026-06)
    assert outcomes(lone_run)["AWL2"] == ("CLEAR", "")
    assert _gaps(lone_run, "AWL2") == []


def test_AW02_a_delivery_starting_after_the_window_does_is_short(late_start_run):
    """AW02: tax rows of twelve people from 2026-05 only (window from 2025-11): a wage of 1,500 from 2026-05 (750 a
    month averaged) is no CLEAR — INCOMPLETE, the months before the delivery's first named; social insurance, over
    the whole window, is no gap."""
    assert outcomes(late_start_run)["AWS1"] == ("INCOMPLETE", "SOURCE_MISSING")
    assert _gaps(late_start_run, "AWS1") == [(
        "tax", "SOURCE_MISSING", None,
        "税务 个人所得税数据自 2026-05 起才有记录：收入计算期 2025-11 至 2026-10 中 2025-11 至 2026-04 共 6 个月没有任何人员的记录，"
        "属交付不完整，这些月份的收入未知，未按无收入计；请交付部门补交这些月份的数据")]


def test_AW03_months_of_a_delivery_nobody_has_a_row_of_are_not_delivered(tmp_path_factory):
    """AW03: tax rows of four people, nobody's in 2026-03 to 2026-05 (rows before and after): the household whose wage
    of 1,000 was delivered for the other nine months (750 a month averaged) is INCOMPLETE, the months named; the one
    whose own 2026-08 and 2026-09 are missing besides (others' rows there) is named with the delivery's months only."""
    ctx = run_world(HOLE, tmp_path_factory, "assess10_hole")
    got = outcomes(ctx)
    assert (got["AWH1"], got["AWH2"]) == (("INCOMPLETE", "SOURCE_MISSING"), ("INCOMPLETE", "SOURCE_MISSING"))
    reason = ("税务 个人所得税数据在收入计算期内的 2026-03、2026-04、2026-05 共 3 个月没有任何人员的记录（之前和之后的月份均有记录），"
              "属交付不完整，这些月份的收入未知，未按无收入计；请交付部门补交这些月份的数据")
    for rid in ("AWH1", "AWH2"):
        assert _gaps(ctx, rid) == [("tax", "SOURCE_MISSING", None, reason)]


def test_AW04_units_on_confirmed_links_are_counted_as_the_figure_counts_them(lone_run):
    """AW04: one flat written two ways by its co-owners (confirmed) and a second flat on a link by name alone: without
    that link the household holds one unit — INCOMPLETE, the finding resting on the unconfirmed link; two flats on
    exact links stay FINDINGS."""
    got = outcomes(lone_run)
    assert _figure_units(lone_run) == {"AWU1": 2, "AWU2": 2}
    assert got["AWU1"] == ("INCOMPLETE", "RESIDENTIAL_UNITS_OVER_LIMIT;UNCONFIRMED_LINK")
    assert got["AWU2"] == ("FINDINGS", "RESIDENTIAL_UNITS_OVER_LIMIT")


def _figure_units(ctx) -> dict:
    return dict(query(ctx, "select request_id, n_residential_units from figures where request_id like 'AWU%'"))


def test_AW05_a_member_whose_rows_end_where_a_small_delivery_does_is_not_weighed(lone_run):
    """AW05: the only pension running to the delivery's last month (2026-06, the window to 2026-10), in a delivery of
    two series: INCOMPLETE, the member named; the pension ending in 2026-03, before the delivery does, is CLEAR."""
    ctx = lone_run
    got = outcomes(ctx)
    assert (got["AWL1"], got["AWL2"]) == (("INCOMPLETE", "SOURCE_MISSING"), ("CLEAR", ""))
    [(source, code, member, reason)] = _gaps(ctx, "AWL1")
    assert (source, code, member is not None) == ("social_insurance", "SOURCE_MISSING", True)
    assert reason == ("该成员在人社 社会保险数据中的记录止于 2026-06，该数据此后也没有任何人员的记录（只交付至 2026-06）：此后 4 个月"
                      "是收入停止还是数据未交付无法判断，这些月份的收入未知，未按无收入计；请向交付部门核实"), reason
