"""policy.md read parameter by parameter: households built by hand (tests/contract_world.py), their figures
and outcome worked out from the text, run once through the real pipeline (`hedui run`'s steps).

Policy of the run (hedui/policies/jiangxi_demo.yaml, 2026): standard 城市 800 / 农村 650 yuan per person per
month, income over the 12 months 2025-11 … 2026-10 (run 20261128), financial assets at most 2 × 800 × 12 =
19,200 yuan per person, one residential unit, vehicles above 15 × 800 = 12,000 yuan, contributions from
100,000 yuan, any active 个体工商户; individual SI shares 8 % (pensions) and 0.5 % (unemployment).
"""

from __future__ import annotations

import csv

import pytest
from contract_world import RUN, WINDOW, World

W12 = WINDOW


def build() -> World:  # noqa: PLR0915 - one household per block, read top to bottom
    w = World()
    # --- who the per-capita figures are over --------------------------------------------------------
    a, _ = w.household("PA01", [("政一", "本人"), ("政二", "配偶")])
    w.rows["requests"][-1]["身份证号"] = "3.60702E+17"  # the spouse's row is quarantined: still a member
    w.wages(a, W12, "1200")  # 1,200 over the 2 declared members: 600, not over
    w.expect("PA01", "INCOMPLETE", "RECORD_QUARANTINED")
    a, _ = w.household("PA02", [("政三", "本人"), ("政四", "配偶")])
    w.rows["requests"][-1]["身份证号"] = "3.60702E+17"
    w.bank(a, "30000")  # 15,000 per head over 2: under 19,200
    w.expect("PA02", "INCOMPLETE", "RECORD_QUARANTINED")

    # --- income: averaged over the window, not over the months present ------------------------------
    (a,) = w.household("PA03", [("政五", "本人")])
    w.wages(a, W12[:6], "1600")  # 9,600 / 12 = 800: at the standard
    w.expect("PA03", "CLEAR", "")
    (a,) = w.household("PA04", [("政六", "本人")])
    w.wages(a, W12[:6], "1601")  # 800.50
    w.expect("PA04", "FINDINGS", "INCOME_OVER_STANDARD")
    (a,) = w.household("PA05", [("政七", "本人")])
    w.wages(a, W12, "800")
    w.wages(a, ["202510"], "90000")  # the month before the window
    w.expect("PA05", "CLEAR", "")
    (a,) = w.household("PA06", [("政八", "本人")])
    w.wages(a, ["202511"], "9601")  # the window's first month: 800.08
    w.expect("PA06", "FINDINGS", "INCOME_OVER_STANDARD")
    (a,) = w.household("PA08", [("政十", "本人")])
    w.wages(a, W12, "0.086万元")  # a cell's own unit: 860
    w.expect("PA08", "FINDINGS", "INCOME_OVER_STANDARD")
    (a,) = w.household("PA09", [("政十一", "本人")])
    w.si(a, W12, "企业职工基本养老保险", "缴费", base="3000")  # contributions all year …
    w.wages(a, W12[-1:], "100")  # … tax wages in one month only: the other 11 are estimated from the base
    w.expect("PA09", "FINDINGS", "INCOME_OVER_STANDARD")
    (a,) = w.household("PA10", [("政十二", "本人")])
    w.wages(a, W12, "870")
    w.si(a, W12, "企业职工基本养老保险", "缴费", base="875")  # 870 - 8 % of 875 = 800: at the standard
    w.expect("PA10", "CLEAR", "")
    (a,) = w.household("PA11", [("政十三", "本人")])
    w.si(a, W12, "机关事业单位养老保险", "待遇", benefit="900")
    w.expect("PA11", "FINDINGS", "INCOME_OVER_STANDARD")
    (a,) = w.household("PA12", [("政十四", "本人")])
    w.wages(a, W12, "900", item="其他")  # not on the policy's list of excluded items: counted
    w.expect("PA12", "FINDINGS", "INCOME_OVER_STANDARD")
    (a,) = w.household("PA13", [("政十五", "本人")])
    w.wages(a, ["202603"], "9700", item="经营所得")  # a lump in one month, averaged: 808.33
    w.expect("PA13", "FINDINGS", "INCOME_OVER_STANDARD")
    (a,) = w.household("PA14", [("政十六", "本人")])
    w.wages(a, W12, "860", tax="")  # tax paid not known: nothing deducted ("where known")
    w.expect("PA14", "FINDINGS", "INCOME_OVER_STANDARD")

    # --- financial assets ---------------------------------------------------------------------------------
    a, b, c = w.household("PA07", [("政九", "本人"), ("政九二", "配偶"), ("政九三", "子女")])
    w.bank(a, "57600.01")  # 19,200.0033 per head: over 19,200, however the report rounds it
    w.expect("PA07", "FINDINGS", "FINANCIAL_ASSETS_OVER_LIMIT")
    (a,) = w.household("PA17", [("政十七", "本人")])
    w.bank(a, "1.5万元")
    w.bank(a, "0.42万")  # 19,200: at the limit
    w.expect("PA17", "CLEAR", "")

    # --- property -------------------------------------------------------------------------------------------
    a, b, c = w.household("PA19", [("政十九", "本人"), ("政二十", "配偶"), ("政二一", "子女")])
    w.flat(a, "360702001001GB00091F00010001", share="共同共有")
    w.flat(b, "360702001001GB00091F00010001", share="共同共有")
    w.flat(c, "360702001001GB00091F00010002")  # a second unit, the child's own
    w.expect("PA19", "FINDINGS", "RESIDENTIAL_UNITS_OVER_LIMIT")
    (a,) = w.household("PA20", [("政二二", "本人")])
    w.flat(a, "360702001001GB00092F00010001")
    w.flat(a, "360702001001GB00092F00010002", share="按份共有")  # a share of a second unit is still held
    w.add("real_estate", 权利人="外人甲", 证件号码="", 不动产单元号="360702001001GB00092F00010002",
          坐落="章贡区某路", 建筑面积="90.5", 规划用途="住宅", 共有方式="按份共有", 登记日期="2015-06-01",
          权属状态="现势")
    w.expect("PA20", "FINDINGS", "RESIDENTIAL_UNITS_OVER_LIMIT")
    (a,) = w.household("PA21", [("政二三", "本人")])
    w.flat(a, "360702001001GB00093F00010001")
    w.flat(a, "360702001001GB00093F00010002", status="注销")
    w.flat(a, "360702001001GB00093F00010003", use="车位", area="12")
    w.expect("PA21", "CLEAR", "")
    (a,) = w.household("PA22", [("政二四", "本人")])
    w.flat(a, "360702001001GB00094F00010001", use="商业")
    w.expect("PA22", "FINDINGS", "NON_RESIDENTIAL_PROPERTY")
    (a,) = w.household("PA23", [("政二五", "本人")])
    w.flat(a, "360702001001GB00095F00010001", use="工业")
    w.expect("PA23", "FINDINGS", "NON_RESIDENTIAL_PROPERTY")

    # --- vehicles ----------------------------------------------------------------------------------------------
    (a,) = w.household("PA24", [("政二六", "本人")])
    w.car(a, "1.2万")  # 12,000: at the limit
    w.car(a, "80000", kind="三轮汽车")
    w.car(a, "30000", kind="普通二轮摩托车")
    w.expect("PA24", "CLEAR", "")
    (a,) = w.household("PA25", [("政二七", "本人")])
    w.car(a, "1.21万")
    w.expect("PA25", "FINDINGS", "VEHICLE")
    (a,) = w.household("PA26", [("政二八", "本人")])
    w.car(a, "100000", kind="轻型货车")
    w.rows["vehicle"][-1]["使用性质"] = "营运"  # used for a living: no exemption in policy.md
    w.expect("PA26", "FINDINGS", "VEHICLE")
    (a,) = w.household("PA27", [("政二九", "本人")])
    w.car(a, "50000", kind="其他")
    w.expect("PA27", "FINDINGS", "VEHICLE")

    # --- business -------------------------------------------------------------------------------------------------
    (a,) = w.household("PA28", [("政三十", "本人")])
    w.company(a, "个人独资企业", "在业", "10万元", role="投资人", capital="10")
    w.expect("PA28", "FINDINGS", "BUSINESS_ROLE")
    (a,) = w.household("PA29", [("政三一", "本人")])
    w.company(a, "农民专业合作社", "存续", "5", role="股东", capital="80")
    w.company(a, "股份有限公司", "存续", "9.9999", capital="1000")
    w.expect("PA29", "CLEAR", "")
    (a,) = w.household("PA30", [("政三二", "本人")])
    w.company(a, "个体工商户", "存续", "0", role="经营者", capital="0")
    w.expect("PA30", "FINDINGS", "BUSINESS_ROLE")
    (a,) = w.household("PA31", [("政三三", "本人")])
    w.company(a, "有限责任公司", "存续", "", role="法定代表人")  # no contribution on file: unknown, not 0
    w.expect("PA31", "INCOMPLETE", "VALUE_UNKNOWN")

    # --- registration --------------------------------------------------------------------------------------------
    w.household("PA33", [("政三五", "本人"), ("政三六", "子女", True, "子", "注销")])
    w.expect("PA33", "FINDINGS", "MEMBER_REGISTRATION_ENDED")
    w.household("PA34", [("政三七", "本人"), ("政三八", "父母", True, "父", "死亡")])
    w.expect("PA34", "FINDINGS", "MEMBER_REGISTRATION_ENDED")
    return w


@pytest.fixture(scope="module")
def policy_run(tmp_path_factory):
    from hedui.pipeline import RunContext, run

    world = build()
    inbox = tmp_path_factory.mktemp("policy") / "inbox"
    world.write(inbox)
    ctx = RunContext.of(inbox, tmp_path_factory.mktemp("policy_work"), RUN)
    run(ctx)
    return world, ctx


def outcomes(ctx) -> dict[str, tuple[str, str]]:
    with open(ctx.report_dir / "outcomes.csv", encoding="utf-8") as fh:
        return {r["request_id"]: (r["outcome"], r["findings"]) for r in csv.DictReader(fh)}


def test_every_household_has_the_outcome_policy_md_gives_it(policy_run):
    world, ctx = policy_run
    got = outcomes(ctx)
    wrong = {rid: (got.get(rid), want) for rid, want in world.expected.items() if got.get(rid) != want}
    import duckdb
    con = duckdb.connect(str(ctx.db_path) if hasattr(ctx, "db_path") else str(ctx.workdir / "hedui.duckdb"),
                         read_only=True)
    for rid in wrong:
        print(rid, wrong[rid])
        print(con.sql(f"select n_members, taxed_income_yuan, tax_paid_yuan, benefit_yuan, wage_estimate_yuan, "
                      f"si_individual_yuan, income_monthly_per_capita_yuan, financial_assets_per_capita_yuan, "
                      f"n_residential_units from figures where request_id = '{rid}'").fetchall())
    assert not wrong, wrong
