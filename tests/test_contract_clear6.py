"""policy.md "CLEAR is earned, never a default", sixth audit: contradicted values, dates that cannot be, and what a
re-check (动态复核) could not compare, delivered as the departments deliver them (sources.md), the real pipeline run over
small households built by hand (tests/contract_world.py).

Settled where the contract is open:
- a withholding agent (扣缴义务人) declares one row per person, income item and month (所属期): two rows of one such key
  with different amounts are a correction delivered beside the original, and which is right is unknown.  They are not
  summed (one income counted twice made a household FINDINGS on a value the delivery contradicts) nor one silently
  dropped: the least counts (a finding on it stands whichever row is right), and the household's report lists the
  contradiction (VALUE_UNKNOWN), so that a household under the standard on the least is not CLEAR.  Two withholders
  in one month (two employers) are two incomes and both count, as before.

Policy of the run (hedui/policies/jiangxi_demo.yaml, 2026, 城市): standard 800 yuan.
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
    # wages of people nobody asked about, so that the few months delivered twice below stay under the tax suite's 1 %
    # of rows repeating (ID, item, month, withholder)
    for n in range(40):
        x = {"name": f"纳税人{n}", "id": new_id()}
        w.wages(x, WINDOW, "4000")
    # --- one withholder's month delivered twice with different amounts --------------------------------------------
    # wages of 700 a month; 2026-10 delivered again with 1,900 beside the 700 (a correction, or a wrong row): summed it
    # was 858.33 a month, FINDINGS on a value the delivery contradicts; the least counts (700), the contradiction listed
    (a,) = w.household("CXT1", [("严一", "本人")])
    w.wages(a, WINDOW, "700")
    w.wages(a, WINDOW[-1:], "1900")
    case("CXT1", "INCOMPLETE", "VALUE_UNKNOWN")
    # two employers in one month are two incomes: 450 + 450 every month, 900 over 800 (as before)
    (a,) = w.household("CXT2", [("严二", "本人")])
    w.wages(a, WINDOW, "450")
    w.wages(a, WINDOW, "450")
    for r in w.rows["tax"][-12:]:
        r["扣缴义务人"] = "赣州另一有限公司"
    case("CXT2", "FINDINGS", "INCOME_OVER_STANDARD")
    # over the standard whichever row is right (900 or 950 in 2026-03): the finding stands, the contradiction listed
    (a,) = w.household("CXT3", [("严三", "本人")])
    w.wages(a, WINDOW, "900")
    w.wages(a, ["202603"], "950")
    case("CXT3", "FINDINGS", "INCOME_OVER_STANDARD;VALUE_UNKNOWN")
    # the same amount under a name written another way (not a duplicate row to staging): one wage, nothing to say
    (a,) = w.household("CXT4", [("严四", "本人")])
    w.wages(a, WINDOW, "700")
    w.wages(a, ["202603"], "700")
    w.rows["tax"][-1]["姓名"] = "严 四"
    case("CXT4", "CLEAR", "")
    return w


with fresh_ids(6100):
    WORLD = build()  # built on import: its households are the parameters of the test below


@pytest.fixture(scope="module")
def clear6_run(tmp_path_factory):
    inbox = tmp_path_factory.mktemp("clear6") / "inbox"
    WORLD.write(inbox)
    ctx = RunContext.of(inbox, tmp_path_factory.mktemp("clear6_work"), RUN)
    run(ctx)
    return ctx


@pytest.mark.parametrize(("rid", "outcome", "codes"), CASES, ids=[c[0] for c in CASES])
def test_CX00_each_household_gets_the_outcome_policy_md_gives_it(clear6_run, rid, outcome, codes):
    """CX01 (CXT*: one withholder's month delivered twice)."""
    assert outcomes(clear6_run)[rid] == (outcome, codes)


def test_CX01_one_withholders_month_with_two_amounts_counts_the_least_and_says_so(clear6_run):
    """CX01: of one withholder's two rows of a month with different amounts the least counts, not their sum; the gap
    names the month, the withholder and both amounts, on the household's page too; two withholders' rows both count."""
    income = dict(query(clear6_run, "select request_id, income_monthly_per_capita_yuan from figures "
                                    "where request_id like 'CXT%'"))
    assert income == pytest.approx({"CXT1": 700, "CXT2": 900, "CXT3": 900, "CXT4": 700})
    reasons = query(clear6_run, "select reason_zh from evidence_gaps where request_id = 'CXT1' order by all")
    assert len(reasons) == 2, reasons
    assert all("2026-10 工资薪金所得" in r and "700.00 至 1,900.00" in r and "赣州某某有限公司" in r for (r,) in reasons)
    lineage = query(clear6_run, "select amount_yuan, is_counted, exclusion_zh from figure_lineage "
                                "where request_id = 'CXT1' and source = 'tax' and not is_counted")
    assert [(a, c) for a, c, _ in lineage] == [(1900, False)] and "按较小者计入" in lineage[0][2]
    page = (clear6_run.report_dir / "households" / "CXT1.html").read_text(encoding="utf-8")
    assert "核对信息不完整" in page and "700.00 至 1,900.00" in page
