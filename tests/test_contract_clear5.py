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
    for n in range(40):
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
                    "where request_id in ('CMA1', 'CMA2', 'CMA3')")}
    assert rows["CMA1"] == pytest.approx((11 * 70 + 69.6, (12 * 875 - 11 * 70 - 69.6) / 12))
    assert rows["CMA2"] == pytest.approx((12 * 69.6, 870 - 69.6))
    assert rows["CMA3"] == pytest.approx((12 * 73.1, 860 - 73.1))
