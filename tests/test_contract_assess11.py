"""Assess, eleventh pass (policy.md: CLEAR is earned, never a default — and a delivery that is whole is weighed as
whole): hand-made deliveries (tests/contract_world.py) run through the real pipeline.

Settled where the contract is open:
- AX01, a small delivery (fewer than ten monthly series) whose series all start in one month after the window does and
  run to its last month (two people's wages of 2026-08 to 2026-10, a run of 2026-11-28) is what an honest delivery of a
  few people looks like: their incomes are weighed as delivered, no SOURCE_MISSING.  A delivery of ten series or more
  starting in one month stays short (test_contract_assess10 AW02); a small one ending early stays short (AW01) and a
  lone series ending with its delivery early stays unknown (AW05): the income window's last months are the ones a run
  weighs most surely delivered (a series reaching the window's last month, or the one before, ends nothing early).
- AX01 also pins one person's series starting late in a delivery of his rows alone: a person's income starting (a new
  job), no gap.
- AX04, a lone series ending with its delivery early (AW05) is listed only where it could change something: months of
  unknown income only add to the income figure (a share not known is not deducted, policy.md), so beside income over
  the standard on confirmed evidence it is no gap (test_contract_linkage2 LK07 and test_contract_links7 LO52, tiny
  deliveries of one wage series to 2026-03, are FINDINGS on income alone again).
- AX03, a 不动产单元号 with no digit in it (``-``, ``/``, ``——``, ``无``) is no number: the unit is counted by its 坐落
  (co-owners' rows of one flat carry one), never dropped from the count nor merged with another unit by a placeholder.
  Whether it is one of the household's other units written otherwise is not known, so where the count is over the limit
  the record is VALUE_UNKNOWN and the finding stands on its own only on the units with numbers.

Policy of the run (hedui/policies/jiangxi_demo.yaml, 2026, 城市): standard 800 yuan/person/month; window 2025-11 to
2026-10 (run 2026-11-28); at most one residential unit.
"""

from __future__ import annotations

import pytest
from contract_world import WINDOW, World, fresh_ids, new_id, outcomes, query, run_world
from test_contract_traps10 import fill


def _no_bystander_income(w: World) -> None:
    """fill's bystander has a single tax and social-insurance row in 2026-01: left out, the members' rows are the
    monthly sources' whole delivery."""
    for s in ("tax", "social_insurance"):
        w.rows[s] = [r for r in w.rows[s] if r["姓名"] != "路人丙"]


def build_small() -> World:
    """AX01: tax and social insurance of two people, 2026-08 to 2026-10 each (an outsider's small delivery)."""
    w = World()
    fill(w)
    _no_bystander_income(w)
    (a,) = w.household("AXS1", [("张小三", "本人")])
    w.wages(a, WINDOW[-3:], "3000")  # 9,000 over 12 months: 750 under 800
    w.si(a, WINDOW[-3:], "企业职工基本养老保险", "缴费", base="3000")
    (b,) = w.household("AXS2", [("李小四", "本人")])
    w.wages(b, WINDOW[-3:], "9000")  # 27,000 over 12 months: 2,250
    w.si(b, WINDOW[-3:], "企业职工基本养老保险", "缴费", base="9000")
    return w


def build_lone_start() -> World:
    """AX01 (pinned): tax rows of one person only, 2026-05 to 2026-10; social insurance of another."""
    w = World()
    fill(w)
    _no_bystander_income(w)
    (a,) = w.household("AXL1", [("王小五", "本人")])
    w.wages(a, WINDOW[6:], "1500")  # 9,000 over 12 months: 750
    x = {"name": "路人丁", "id": new_id()}
    w.si(x, WINDOW, "企业职工基本养老保险", "缴费", base="3000")
    return w


def build_units() -> World:
    """AX03: flats whose 不动产单元号 is no number."""
    w = World()
    fill(w)
    (a,) = w.household("AXU1", [("孙小八", "本人")])
    w.flat(a, "360702001001GB00901F00010001")
    w.flat(a, "-")
    (b,) = w.household("AXU2", [("周小九", "本人")])
    w.flat(b, "/")
    w.flat(b, "——")
    (d,) = w.household("AXU4", [("郑小一", "本人")])
    w.flat(d, "无")
    w.flat(d, "无")
    # pinned: husband and wife co-own one flat numbered "/" (one 坐落): one unit, CLEAR
    c, e = w.household("AXU3", [("吴小十", "本人"), ("吴小十妻", "配偶")])
    w.flat(c, "/", share="共同共有", location="章贡区某路77号")
    w.flat(e, "/", share="共同共有", location="章贡区某路77号")
    # pinned: two numbered flats and one without a number: over the limit on the numbered ones alone
    (f,) = w.household("AXU5", [("冯小二", "本人")])
    w.flat(f, "360702001001GB00905F00010001")
    w.flat(f, "360702001001GB00905F00010002")
    w.flat(f, "不详")
    return w


def build_lone_end() -> World:
    """AX04: tax rows of one person only, wages of 60,000 in 2026-01 to 2026-03 (an outsider's tiny delivery); social
    insurance of one pension to 2026-06, the member's alone (test_contract_assess10 AW05)."""
    w = World()
    fill(w)
    _no_bystander_income(w)
    (a,) = w.household("AXE1", [("钱小七", "本人")])
    w.wages(a, ["202601", "202602", "202603"], "60000")
    (b,) = w.household("AXE2", [("赵小六", "本人")])
    w.si(b, WINDOW[:8], "企业职工基本养老保险", "待遇", benefit="900")  # 7,200 over 12 months: 600
    return w


with fresh_ids(11100):
    SMALL = build_small()
with fresh_ids(11200):
    LONE_START = build_lone_start()
with fresh_ids(11300):
    UNITS = build_units()
with fresh_ids(11400):
    LONE_END = build_lone_end()


def _gaps(ctx, rid: str) -> list[tuple]:
    return query(ctx, "select source, code, member_id is not null, reason_zh from evidence_gaps where request_id = ? "
                 "order by 1, 2, 4", [rid])


def test_AX01_a_small_delivery_of_the_last_months_is_weighed_as_delivered(tmp_path_factory):
    """AX01: two people's wages and contributions of 2026-08 to 2026-10 (the run of 2026-11-28: its last complete
    month) were SOURCE_MISSING for tax and social insurance (“自 2026-08 起才有记录”): the wage of 3,000 (750 a month
    averaged) is CLEAR, the wage of 9,000 FINDINGS on income alone; one person's tax rows from 2026-05 alone are his
    income starting: CLEAR."""
    ctx = run_world(SMALL, tmp_path_factory, "assess11_small")
    got = outcomes(ctx)
    assert got["AXS1"] == ("CLEAR", ""), _gaps(ctx, "AXS1")
    assert got["AXS2"] == ("FINDINGS", "INCOME_OVER_STANDARD"), _gaps(ctx, "AXS2")
    ctx = run_world(LONE_START, tmp_path_factory, "assess11_lone_start")
    assert outcomes(ctx)["AXL1"] == ("CLEAR", ""), _gaps(ctx, "AXL1")


@pytest.fixture(scope="module")
def units_run(tmp_path_factory):
    return run_world(UNITS, tmp_path_factory, "assess11_units")


def test_AX03_a_unit_without_a_number_counts_and_keeps_the_count_unknown(units_run):
    """AX03: a flat numbered "-" beside a numbered one, two flats numbered "/" and "——", two numbered "无" (other
    坐落): each household held one unit or none by the count and was CLEAR.  Now each is two units, over the limit of
    one, and INCOMPLETE: whether the unnumbered flat is another unit written otherwise is not known (VALUE_UNKNOWN on
    it).  A flat co-owned by husband and wife, both rows "/" at one 坐落, is one unit (CLEAR); two numbered flats are
    over the limit on their own (FINDINGS), the unnumbered third listed."""
    got = outcomes(units_run)
    for rid in ("AXU1", "AXU2", "AXU4"):
        assert got[rid] == ("INCOMPLETE", "RESIDENTIAL_UNITS_OVER_LIMIT;VALUE_UNKNOWN"), (rid, _gaps(units_run, rid))
    assert got["AXU3"] == ("CLEAR", "")
    assert got["AXU5"] == ("FINDINGS", "RESIDENTIAL_UNITS_OVER_LIMIT;VALUE_UNKNOWN")
    units = dict(query(units_run, "select request_id, n_residential_units from figures where request_id like 'AXU%'"))
    assert units == {"AXU1": 2, "AXU2": 2, "AXU3": 1, "AXU4": 2, "AXU5": 3}
    gaps = _gaps(units_run, "AXU1")
    # the cell was delivered ("-"): the reason quotes it, it is not missing (test_contract_assess13 BB02)
    assert gaps == [("real_estate", "VALUE_UNKNOWN", True,
                     "记录的“不动产单元号”为“-”，不是单元号，按未知处理；该住宅是否为本户另一套住宅（坐落写法不同）无法判断，住宅套数未知；"
                     "请向交付部门核实不动产单元号")], gaps


def test_AX04_a_lone_series_ending_early_is_no_gap_beside_income_over_the_standard(tmp_path_factory):
    """AX04: the only tax series, wages of 60,000 a month to 2026-03, ending with the delivery: FINDINGS on income with
    SOURCE_MISSING beside it — months of unknown income can only add to a figure over the standard already, so nothing
    was left unweighed that could change the outcome or its findings: FINDINGS, INCOME_OVER_STANDARD alone.  A pension
    of 900 to 2026-06, the only series of its delivery, stays SOURCE_MISSING (600 averaged, under the standard)."""
    ctx = run_world(LONE_END, tmp_path_factory, "assess11_lone_end")
    got = outcomes(ctx)
    assert got["AXE1"] == ("FINDINGS", "INCOME_OVER_STANDARD"), _gaps(ctx, "AXE1")
    assert got["AXE2"] == ("INCOMPLETE", "SOURCE_MISSING")
    [(source, code, is_member, _)] = _gaps(ctx, "AXE2")
    assert (source, code, is_member) == ("social_insurance", "SOURCE_MISSING", True)
