"""policy.md "CLEAR is earned, never a default", fourth audit: values that are delivered but cannot be what they say —
a tax wage of 0 yuan (or of less than the individual share) in months the member contributes to an employee scheme on
a wage base, more tax paid than income, a contribution base of 0, a shareholder subscribing 0, a car bought for 0 or
12 yuan — were weighed as they read and left households CLEAR (some with a negative income).  Small households built
by hand (tests/contract_world.py) as departments deliver them (sources.md), the real pipeline run over them once.

Settled where the contract is open:
- a tax wage row of 0 yuan (a zero declaration) is no wage figure for its month: where the member contributes to an
  employee scheme that month, the wage is estimated from the contribution base (policy.md: "from tax records, else
  from social-insurance contribution base as an estimate, marked as such"), and the individual share is deducted from
  that estimate, never from nothing (the household's income was negative);
- tax wages under the individual share of their months, not made up by the member's other months (his wages over the
  window net of the share below 0), on confirmed links: VALUE_UNKNOWN (one low month among estimated ones is none:
  test_contract_policy.py's PA09); more tax paid than income on a tax record, and an employee-scheme contribution on
  a base of 0 in a month whose wage it would give, are VALUE_UNKNOWN too;
- a shareholder of a limited company (or a company limited by shares) subscribing 0 is VALUE_UNKNOWN (a shareholder
  subscribes capital; 0 is an export's "not recorded"), unless the company's registered capital is under the limit;
- a car's purchase price under 1,000 yuan (the vehicle suite's own warning: 可能按万元填写) is not compared with the
  limit: the vehicle is VALUE_UNKNOWN naming the record and the price, like an empty price.

Policy of the run (hedui/policies/jiangxi_demo.yaml, 2026, 城市): standard 800 yuan, individual pension share 8 %,
vehicles above 15 × 800 = 12,000 yuan.
"""

from __future__ import annotations

import pytest
from contract_world import RUN, WINDOW, World, fresh_ids, outcomes, query
from test_contract_traps10 import fill

from hedui.pipeline import RunContext, run

#: (request id, outcome, codes, words a gap of the household must carry)
CASES: list[tuple[str, str, str, str]] = []


def case(rid: str, outcome: str, codes: str, named: str = "") -> None:
    CASES.append((rid, outcome, codes, named))


def build() -> World:
    w = World()
    fill(w)
    # --- a tax wage of 0 in months of an employee-scheme contribution on a base of 9,000 --------------------------
    (a,) = w.household("CLA1", [("郑一", "本人")])
    w.si(a, WINDOW, "企业职工基本养老保险", "缴费", base="9000")
    w.wages(a, WINDOW, "0")
    case("CLA1", "FINDINGS", "INCOME_OVER_STANDARD")  # 9,000 − 8 % = 8,280 a month (was −720: CLEAR)
    # … the other member's income hidden by the negative one (1,700 − 720 over two people was 490)
    a, b = w.household("CLA2", [("郑二", "本人"), ("郑三", "配偶")])
    w.si(a, WINDOW, "企业职工基本养老保险", "缴费", base="9000")
    w.wages(a, WINDOW, "0")
    w.wages(b, WINDOW, "1700")
    case("CLA2", "FINDINGS", "INCOME_OVER_STANDARD")
    # … the base left empty: the wage is unknown (the 0 of tax does not stand in for it)
    (a,) = w.household("CLA3", [("郑四", "本人")])
    w.si(a, ["202601"], "企业职工基本养老保险", "缴费", base="")
    w.wages(a, ["202601"], "0")
    case("CLA3", "INCOMPLETE", "VALUE_UNKNOWN", "缴费基数")
    # … a zero declaration with no contribution: nothing says there was a wage
    (a,) = w.household("CLA4", [("郑五", "本人")])
    w.wages(a, WINDOW, "0")
    case("CLA4", "CLEAR", "")
    # … tax wages under the individual share of their months' contribution (600 against 8 % of 9,000 = 720) all year:
    # the two departments contradict each other, and the member's wages net of the share would be below 0
    (a,) = w.household("CLA5", [("郑六", "本人")])
    w.si(a, WINDOW, "企业职工基本养老保险", "缴费", base="9000")
    w.wages(a, WINDOW, "600")
    case("CLA5", "INCOMPLETE", "VALUE_UNKNOWN", "个人缴费")
    (a,) = w.household("CLA6", [("郑七", "本人")])
    w.si(a, WINDOW, "企业职工基本养老保险", "缴费", base="9000")
    w.wages(a, WINDOW, "800")  # 800 − 720: low, not contradictory
    case("CLA6", "CLEAR", "")
    # --- tax paid above the income it was paid on (5,000 on 1,000: −4,000 a month, CLEAR) -------------------------
    (a,) = w.household("CLC1", [("卫一", "本人")])
    w.wages(a, WINDOW, "1000", tax="5000")
    case("CLC1", "INCOMPLETE", "VALUE_UNKNOWN", "已缴税额")
    (a,) = w.household("CLC2", [("卫二", "本人")])
    w.wages(a, WINDOW, "900", tax="200")
    case("CLC2", "CLEAR", "")
    # --- an employee-scheme contribution on a base of 0: no wage figure, like an empty base ---------------------------
    (a,) = w.household("CLD1", [("卫三", "本人")])
    w.si(a, WINDOW, "企业职工基本养老保险", "缴费", base="0")
    case("CLD1", "INCOMPLETE", "VALUE_UNKNOWN", "缴费基数")
    (a,) = w.household("CLD2", [("卫四", "本人")])
    w.si(a, WINDOW, "失业保险", "缴费", base="0")
    w.wages(a, WINDOW, "500")  # the wage is the tax office's: the base is not needed
    case("CLD2", "CLEAR", "")
    (a,) = w.household("CLD3", [("卫五", "本人")])
    w.si(a, WINDOW, "城乡居民基本养老保险", "缴费", base="0")  # the residents' scheme is paid on no wage
    case("CLD3", "CLEAR", "")
    # --- a car's purchase price that cannot be one -----------------------------------------------------------------
    for rid, name, price in [("CLB1", "冯一", "0"), ("CLB2", "冯二", "12"), ("CLB3", "冯三", "999")]:
        (a,) = w.household(rid, [(name, "本人")])
        w.car(a, price)
        case(rid, "INCOMPLETE", "VALUE_UNKNOWN", "购置价格")
    (a,) = w.household("CLB4", [("冯四", "本人")])
    w.car(a, "1000")  # the suite's floor: read as it is, under the limit
    case("CLB4", "CLEAR", "")
    (a,) = w.household("CLB5", [("冯五", "本人")])
    w.car(a, "0", kind="普通二轮摩托车")  # exempt: its price is never needed
    w.car(a, "12", status="报废")  # scrapped: not counted
    case("CLB5", "CLEAR", "")
    (a,) = w.household("CLB6", [("冯六", "本人")])
    w.car(a, "12")
    w.car(a, "150000")  # a finding on its own confirmed evidence; the doubtful price still listed
    case("CLB6", "FINDINGS", "VALUE_UNKNOWN;VEHICLE", "购置价格")
    # … on a car delivered without its owner's ID, linked by name and the plate's city alone
    (a,) = w.household("CLB7", [("冯七", "本人")])
    w.car(a, "12")
    w.rows["vehicle"][-1]["证件号码"] = ""
    case("CLB7", "INCOMPLETE", "VALUE_UNKNOWN", "购置价格")
    # --- a shareholder of a limited company subscribing 0 -----------------------------------------------------------
    (a,) = w.household("CLE1", [("蒋一", "本人")])
    w.company(a, "有限责任公司", "存续", "0", capital="500")  # 500 万元 of capital: room for 10 万元 and more
    case("CLE1", "INCOMPLETE", "VALUE_UNKNOWN", "认缴出资额")
    (a,) = w.household("CLE2", [("蒋二", "本人")])
    w.company(a, "有限责任公司", "存续", "0", capital="5")  # 5 万元 of capital: no subscription reaches 10 万元
    case("CLE2", "CLEAR", "")
    (a,) = w.household("CLE3", [("蒋三", "本人")])
    w.company(a, "有限责任公司", "存续", "0", role="法定代表人", capital="500")  # a representative subscribes nothing
    case("CLE3", "CLEAR", "")
    return w


with fresh_ids(4100):
    WORLD = build()  # built on import: its households are the parameters of the test below


@pytest.fixture(scope="module")
def clear4_run(tmp_path_factory):
    inbox = tmp_path_factory.mktemp("clear4") / "inbox"
    WORLD.write(inbox)
    ctx = RunContext.of(inbox, tmp_path_factory.mktemp("clear4_work"), RUN)
    run(ctx)
    return ctx


@pytest.mark.parametrize(("rid", "outcome", "codes", "named"), CASES, ids=[c[0] for c in CASES])
def test_CL00_each_household_gets_the_outcome_policy_md_gives_it(clear4_run, rid, outcome, codes, named):
    """CL01 (CLA*: a tax wage of 0 beside a contribution base), CL02 (CLB*: a car bought for 0 or 12 yuan), CL03
    (CLC*: more tax paid than income), CL04 (CLD*: an employee-scheme contribution on a base of 0), CL05 (CLE*: a
    shareholder subscribing 0)."""
    assert outcomes(clear4_run)[rid] == (outcome, codes)
    if named:
        reasons = [r[0] for r in query(clear4_run, "select reason_zh from evidence_gaps where request_id = ?", [rid])]
        assert any(named in r for r in reasons), reasons


def test_CL01_no_household_income_is_negative(clear4_run):
    """CL01: the individual share is deducted from a wage, never from a zero declaration: a household's income is
    never under 0 because of it, and the month's estimate is the one the lineage shows as counted."""
    rows = dict(query(clear4_run, "select request_id, income_monthly_per_capita_yuan from figures "
                                  "where request_id in ('CLA1', 'CLA2', 'CLA3', 'CLA4', 'CLA6')"))
    assert min(rows.values()) >= 0, rows
    assert rows["CLA1"] == pytest.approx(8280.0)
    assert rows["CLA2"] == pytest.approx((8280.0 + 1700.0) / 2)
    counted = query(clear4_run, "select count(*) from figure_lineage where request_id = 'CLA1' and source = "
                                "'social_insurance' and not is_excluded and is_in_window")
    assert counted == [(12,)]


def test_CL02_the_doubtful_price_is_named_on_the_household_page(clear4_run):
    """CL02: staff read which vehicle and which price could not be weighed, in Chinese, on the household's page."""
    page = (clear4_run.report_dir / "households" / "CLB2.html").read_text(encoding="utf-8")
    assert "核对信息不完整" in page and "“购置价格”为 12.00 元" in page, page
