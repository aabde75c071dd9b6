"""policy.md "CLEAR is earned, never a default", fifth audit: evidence at the edges of the income window, of the
assets and of a re-check (动态复核), delivered as the departments deliver it (sources.md), the real pipeline run over
small households built by hand (tests/contract_world.py).

Settled where the contract is open:
- one scheme's contribution of one month is one contribution, whatever number of rows says so: a member contributes to
  a scheme once a month (a second row of the month is a correction, or a second unit reporting him), so the
  individual's share (policy.md: income "net of … the individual's social-insurance share where known") is deducted
  once for it — of two bases, the smaller share (the wage estimate already takes one base of the month, the highest).
  Deducting each row's share lowered the income below the standard (the social-insurance suite lets up to 1 % of
  such rows through, so they reach the figures).  Contributions of two schemes in one month (pension and
  unemployment on one wage) are two shares, as before.

Policy of the run (hedui/policies/jiangxi_demo.yaml, 2026, 城市): standard 800 yuan, individual pension share 8 %,
unemployment 0.5 %.
"""

from __future__ import annotations

import pytest
from contract_world import RUN, WINDOW, World, fresh_ids, new_id, outcomes, query
from test_contract_traps10 import fill

from hedui.pipeline import RunContext, run

#: (request id, outcome, codes)
CASES: list[tuple[str, str, str]] = []


def case(rid: str, outcome: str, codes: str) -> None:
    CASES.append((rid, outcome, codes))


def build() -> World:
    w = World()
    fill(w)
    # contributions of people nobody asked about, so that the few months delivered twice below stay under the
    # social-insurance suite's 1 % of rows repeating (ID, scheme, category, month)
    for n in range(60):
        x = {"name": f"参保人{n}", "id": new_id()}
        w.si(x, WINDOW, "企业职工基本养老保险", "缴费", base="4000")
    # --- one month's contribution delivered twice -------------------------------------------------------------------
    # taxed wages of 875 a month, pension on a base of 875 (share 70): 805 a month.  The unit corrected 2026-10's base
    # to 870 and both rows were delivered: one contribution, its share 69.60 at most (was 70 + 69.60: 799.20, CLEAR)
    (a,) = w.household("CMA1", [("秦一", "本人")])
    w.wages(a, WINDOW, "875")
    w.si(a, WINDOW, "企业职工基本养老保险", "缴费", base="875")
    w.si(a, WINDOW[-1:], "企业职工基本养老保险", "缴费", base="870")
    case("CMA1", "FINDINGS", "INCOME_OVER_STANDARD")
    # no tax wage: the wage estimated from a base of 870 (share 69.60): 800.40 a month; 2026-03 reported again by a
    # second unit on the same base — one wage (as before) and one share (was two: 794.60, CLEAR)
    (a,) = w.household("CMA2", [("秦二", "本人")])
    w.si(a, WINDOW, "企业职工基本养老保险", "缴费", base="870")
    w.si(a, ["202603"], "企业职工基本养老保险", "缴费", base="870")
    w.rows["social_insurance"][-1]["单位名称"] = "赣州另一有限公司"
    case("CMA2", "FINDINGS", "INCOME_OVER_STANDARD")
    # pension and unemployment insurance on one wage of 860: two schemes, two shares (68.80 + 4.30): 786.90, CLEAR
    (a,) = w.household("CMA3", [("秦三", "本人")])
    w.wages(a, WINDOW, "860")
    w.si(a, WINDOW, "企业职工基本养老保险", "缴费", base="860")
    w.si(a, WINDOW, "失业保险", "缴费", base="860")
    case("CMA3", "CLEAR", "")
    # taxed wages of 85 a month over a pension share of 80 (base 1,000): low, not contradictory (5 a month); 2026-10
    # reported by a second unit too — its one share does not make the wages net of the shares negative (VALUE_UNKNOWN)
    (a,) = w.household("CMA4", [("秦四", "本人")])
    w.wages(a, WINDOW, "85")
    w.si(a, WINDOW, "企业职工基本养老保险", "缴费", base="1000")
    w.si(a, WINDOW[-1:], "企业职工基本养老保险", "缴费", base="1000")
    w.rows["social_insurance"][-1]["单位名称"] = "赣州另一有限公司"
    case("CMA4", "CLEAR", "")
    return w


with fresh_ids(5100):
    WORLD = build()  # built on import: its households are the parameters of the test below


@pytest.fixture(scope="module")
def clear5_run(tmp_path_factory):
    inbox = tmp_path_factory.mktemp("clear5") / "inbox"
    WORLD.write(inbox)
    ctx = RunContext.of(inbox, tmp_path_factory.mktemp("clear5_work"), RUN)
    run(ctx)
    return ctx


@pytest.mark.parametrize(("rid", "outcome", "codes"), CASES, ids=[c[0] for c in CASES])
def test_CM00_each_household_gets_the_outcome_policy_md_gives_it(clear5_run, rid, outcome, codes):
    """CM01 (CMA*: one scheme's contribution of one month delivered on two rows)."""
    assert outcomes(clear5_run)[rid] == (outcome, codes)


def test_CM01_one_contribution_delivered_twice_is_one_share_deducted(clear5_run):
    """CM01: the share of a scheme's month is deducted once (the smaller of two bases'), the two schemes of one wage
    each once; the figures say so to the cent."""
    rows = {r[0]: r[1:] for r in query(
        clear5_run, "select request_id, si_individual_yuan, income_monthly_per_capita_yuan from figures "
                    "where request_id like 'CMA%'")}
    assert rows["CMA1"] == pytest.approx((11 * 70 + 69.6, (12 * 875 - 11 * 70 - 69.6) / 12))
    assert rows["CMA2"] == pytest.approx((12 * 69.6, 870 - 69.6))
    assert rows["CMA3"] == pytest.approx((12 * 73.1, 860 - 73.1))
    assert rows["CMA4"] == pytest.approx((12 * 80, 5))


# --- a re-check (动态复核) after a verification: what changed since ------------------------------------------------
NEXT = "20261228"
#: (first request id, re-check request id, the car in the first run, in the re-check: None = no row, "bad" = its row
#: quarantined (first registered in 2027, a date in the future), "ok" = a car of 150,000 yuan)
RECHECKS = [("CMR1", "CMR1B", "ok", "bad"), ("CMR2", "CMR2B", "bad", "ok"), ("CMR3", "CMR3B", "ok", None),
            ("CMR4", "CMR4B", None, "ok")]


def build_recheck(second: bool) -> World:
    w = World()
    fill(w)
    for first_rid, again_rid, car_then, car_now in RECHECKS:
        car = car_now if second else car_then
        (a,) = w.household(again_rid if second else first_rid, [(f"尤{first_rid[-1]}", "本人")],
                           program="动态复核" if second else "最低生活保障")
        if car:
            w.car(a, "150000")
            w.rows["vehicle"][-1]["号牌号码"] = f"赣B9{first_rid[-1]}999"
            if car == "bad":
                w.rows["vehicle"][-1]["初次登记日期"] = "2027-06-01"
    return w


@pytest.fixture(scope="module")
def recheck_run(tmp_path_factory):
    inbox = tmp_path_factory.mktemp("clear5_recheck") / "inbox"
    work = tmp_path_factory.mktemp("clear5_recheck_work")
    for date, second in ((RUN, False), (NEXT, True)):
        with fresh_ids(5600):  # the same people both times
            build_recheck(second).write(inbox, date)
        ctx = RunContext.of(inbox, work, date)
        run(ctx)
    return ctx


def test_CM02_a_record_quarantined_in_either_verification_is_neither_gone_nor_new(recheck_run):
    """CM02 (DESIGN.md: absence of evidence is not evidence): a car seen at the last verification whose row is
    quarantined this time is not "no longer there", and a car whose row was quarantined last time is not "new" (no
    新增车辆 alert); a car whose row is really gone, or really new, still is."""
    changes = query(recheck_run, "select request_id, change, kind from changes where run_date = ? order by all",
                    [NEXT])
    assert changes == [("CMR3B", "removed", "vehicle"), ("CMR4B", "added", "vehicle")]
    import csv
    with open(recheck_run.report_dir / "alerts.csv", encoding="utf-8") as fh:
        alerts = [(a["request_id"], a["alert"]) for a in csv.DictReader(fh)]
    assert alerts == [("CMR4B", "新增车辆")]
    assert outcomes(recheck_run)["CMR1B"] == ("INCOMPLETE", "RECORD_QUARANTINED")
    assert outcomes(recheck_run)["CMR2B"] == ("FINDINGS", "VEHICLE")


# --- a re-check (动态复核) where the policy distinguishes aid programs ----------------------------------------------
def build_programs() -> World:
    w = World()
    (a,) = w.household("CMP1", [("许一", "本人")], program="动态复核")
    w.wages(a, WINDOW, "1000")  # over the province's 800 (*), under the city's 特困人员供养 1,100: which aid is it?
    (a,) = w.household("CMP2", [("许二", "本人")], program="动态复核", urban="农村")
    w.wages(a, WINDOW, "690")  # the county's rural version is every program's: under its 700
    (a,) = w.household("CMP3", [("许三", "本人")])
    w.wages(a, WINDOW, "850")  # 最低生活保障 says which: the province's 800
    return w


@pytest.fixture(scope="module")
def programs_run(tmp_path_factory):
    import yaml
    from test_contract_policy import deployment_policy

    from hedui.steps import policy

    folder = tmp_path_factory.mktemp("clear5_policies")
    (folder / "jiangxi.yaml").write_text(yaml.safe_dump(deployment_policy(), allow_unicode=True), encoding="utf-8")
    inbox = tmp_path_factory.mktemp("clear5_programs") / "inbox"
    with fresh_ids(5800):
        build_programs().write(inbox)
    ctx = RunContext.of(inbox, tmp_path_factory.mktemp("clear5_programs_work"), RUN)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(policy, "POLICY_DIR", folder)
        run(ctx)
    return ctx


def test_CM03_a_recheck_whose_aid_program_decides_its_standard_is_not_weighed_by_a_guess(programs_run):
    """CM03: a 动态复核 request does not say which aid the household receives; where the policy file gives an aid
    program a version of its own (the city's 特困人员供养), the province's * version is a guess (it made CMP1 FINDINGS
    at 1,000 over 800, where a 特困 household's standard is 1,100): the limits are unknown, the household INCOMPLETE,
    its gap naming the versions and what to do.  Where every program takes one version, that one weighs it."""
    got = outcomes(programs_run)
    assert (got["CMP1"], got["CMP2"], got["CMP3"]) == (
        ("INCOMPLETE", "VALUE_UNKNOWN"), ("CLEAR", ""), ("FINDINGS", "INCOME_OVER_STANDARD"))
    used = dict(query(programs_run, "select request_id, policy_id from households"))
    assert used == {"CMP1": None, "CMP2": "ZG-2026-NC", "CMP3": "JX-2026"}
    [(reason,)] = query(programs_run, "select reason_zh from evidence_gaps where request_id = 'CMP1'")
    assert "动态复核" in reason and "特困人员供养适用 GZ-2026-TK" in reason and "其余适用 JX-2026" in reason, reason
    page = (programs_run.report_dir / "households" / "CMP1.html").read_text(encoding="utf-8")
    assert "核对信息不完整" in page and "特困人员供养适用 GZ-2026-TK" in page
