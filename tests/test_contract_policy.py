"""policy.md read parameter by parameter: households built by hand (tests/contract_world.py), their figures
and outcome worked out from the text, run once through the real pipeline (`hedui run`'s steps).

Policy of the run (hedui/policies/jiangxi_demo.yaml, 2026): standard 城市 800 / 农村 650 yuan per person per
month, income over the 12 months 2025-11 … 2026-10 (run 20261128), financial assets at most 2 × 800 × 12 =
19,200 yuan per person, one residential unit, vehicles above 15 × 800 = 12,000 yuan, contributions from
100,000 yuan, any active 个体工商户; individual SI shares 8 % (pensions) and 0.5 % (unemployment).
"""

from __future__ import annotations

import pytest
from contract_world import RUN, WINDOW, World, outcomes, run_world

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
    (a,) = w.household("PA35", [("政三九", "本人")])
    w.add("requests", **{**w.rows["requests"][-1], "授权日期": "2027-01-01"})  # his row again, quarantined:
    w.wages(a, W12, "900")  # still one person, 900 a month: over
    w.expect("PA35", "FINDINGS", "INCOME_OVER_STANDARD;RECORD_QUARANTINED")

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
    world = build()
    return world, run_world(world, tmp_path_factory, "policy")


def test_every_household_has_the_outcome_policy_md_gives_it(policy_run):
    world, ctx = policy_run
    got = outcomes(ctx)
    assert {rid: got.get(rid) for rid in world.expected} == world.expected


def _db(ctx):
    import duckdb

    return duckdb.connect(str(ctx.database), read_only=True)


def test_the_per_capita_figures_are_over_every_declared_member(policy_run):
    _, ctx = policy_run
    with _db(ctx) as con:
        got = dict(con.sql("select request_id, n_members from households "
                           "where request_id in ('PA01', 'PA02', 'PA35')").fetchall())
        assert got == {"PA01": 2, "PA02": 2, "PA35": 1}
    page = (ctx.report_dir / "households" / "PA01.html").read_text(encoding="utf-8")
    assert "2 人（已授权 1 人）" in page and "600.00 元" in page


def test_a_month_with_a_tax_wage_replaces_only_that_months_estimate(policy_run):
    _, ctx = policy_run
    with _db(ctx) as con:
        [(estimate, share, income)] = con.sql(
            "select wage_estimate_yuan, si_individual_yuan, income_monthly_per_capita_yuan from figures "
            "where request_id = 'PA09'").fetchall()
    # 11 months estimated at 3,000 and one taxed at 100, less 8 % of the twelve bases
    assert (estimate, share) == (33000.0, 2880.0)
    assert income == pytest.approx((33000 + 100 - 2880) / 12, abs=1e-6)


def test_a_limit_crossed_by_less_than_a_cent_per_head_is_crossed_and_says_so(policy_run):
    _, ctx = policy_run
    with _db(ctx) as con:
        [(detail,)] = con.sql("select detail_zh from findings where request_id = 'PA07'").fetchall()
    assert detail == "家庭人均金融资产 19,200.0033 元，高于限额 19,200 元"


def test_the_report_names_the_policy_version_it_was_made_with(policy_run):
    _, ctx = policy_run
    page = (ctx.report_dir / "households" / "PA03.html").read_text(encoding="utf-8")
    assert "JX-DEMO-2026：演示用政策参数（非正式文件）（DEMO-2026-01，2026-01-01）" in page
    assert "演示数据（JX-DEMO-2026）" in page


# --- a deployment's own policy file: versions per region, year, urban/rural and program ------------------

def _version(vid, region, year, params, urban_rural="*", program="*"):
    return {"id": vid, "source": {"notice": f"测试通知{vid}", "number": f"测-{vid}", "date": f"{year}-01-01"},
            "scope": {"region": region, "year": year, "urban_rural": urban_rural, "program": program},
            "params": params}


def deployment_policy() -> dict:
    """Province 36 for 2026 on the disposable-income basis (1.5 × 40,000 = 60,000 per head in towns), the
    housing-fund balance counted, two residential units allowed, any non-exempt vehicle (multiple 0, only
    motorcycles exempt), contributions from 50,000; the city 3607 with its own 特困 standard (1,100); the
    county 360702 with its own rural standard (700); 2025 and 2027 versions that a 2026 run must not take."""
    base = {"standard_monthly": {"城市": 800, "农村": 650}, "income_window_months": 12,
            "financial_assets_basis": "disposable_income", "disposable_income_annual": {"城市": 40000, "农村": 20000},
            "financial_assets_multiple": 1.5, "count_housing_fund_balance": True, "max_residential_units": 2,
            "vehicle_price_multiple": 0, "exempt_vehicle_types": ["普通二轮摩托车"],
            "business_contribution_limit": 50000, "business_always_review_types": ["个体工商户"],
            "excluded_income_items": ["城乡居民基本养老保险"], "individual_si_rates": {"企业职工基本养老保险": 0.08}}
    low = {**base, "standard_monthly": {"城市": 300, "农村": 200}}
    return {"versions": [
        _version("JX-2025", "36", 2025, low), _version("JX-2027", "36", 2027, low),
        _version("JX-2026", "36", 2026, base),
        _version("GZ-2026-TK", "3607", 2026, {**base, "standard_monthly": {"城市": 1100, "农村": 900}},
                 program="特困人员供养"),
        _version("ZG-2026-NC", "360702", 2026, {**base, "standard_monthly": {"城市": 800, "农村": 700}},
                 urban_rural="农村"),
    ]}


def build_deployment() -> World:
    w = World()
    (a,) = w.household("PB01", [("策一", "本人")])
    w.wages(a, W12, "850")  # over the province's 800
    w.expect("PB01", "FINDINGS", "INCOME_OVER_STANDARD")
    (a,) = w.household("PB02", [("策二", "本人")], program="特困人员供养")
    w.wages(a, W12, "1000")  # under the city's own 特困 standard of 1,100
    w.expect("PB02", "CLEAR", "")
    (a,) = w.household("PB03", [("策三", "本人")], program="特困人员供养", urban="农村")
    w.wages(a, W12, "690")  # the county's rural version (most specific region): 700
    w.expect("PB03", "CLEAR", "")
    (a,) = w.household("PB04", [("策四", "本人")], urban="农村")
    w.wages(a, W12, "710")
    w.expect("PB04", "FINDINGS", "INCOME_OVER_STANDARD")
    (a,) = w.household("PB05", [("策五", "本人")])
    w.add("housing_fund", 证件号码=a["id"], 姓名=a["name"], 单位名称="某单位", 月缴存基数="3000", 月缴存额="360",
          账户余额="50000", 账户状态="封存", 截至日期="2026-10-31")  # a sealed account still holds its balance
    w.bank(a, "10000.01")  # 60,000.01 over 60,000
    w.expect("PB05", "FINDINGS", "FINANCIAL_ASSETS_OVER_LIMIT")
    (a,) = w.household("PB06", [("策六", "本人")])
    w.add("housing_fund", 证件号码=a["id"], 姓名=a["name"], 单位名称="某单位", 月缴存基数="3000", 月缴存额="360",
          账户余额="90000", 账户状态="销户", 截至日期="2026-10-31")  # a closed account holds nothing
    w.bank(a, "60000")  # at the limit
    w.expect("PB06", "CLEAR", "")
    (a,) = w.household("PB07", [("策七", "本人")])
    w.car(a, "3000", kind="三轮汽车")  # not exempt under this version; any price
    w.expect("PB07", "FINDINGS", "VEHICLE")
    (a,) = w.household("PB08", [("策八", "本人")])
    w.car(a, "")  # any vehicle is a finding: its unknown price does not matter
    w.car(a, "", kind="普通二轮摩托车")
    w.expect("PB08", "FINDINGS", "VEHICLE")
    (a,) = w.household("PB09", [("策九", "本人")])
    w.flat(a, "360702001001GB00191F00010001")
    w.flat(a, "360702001001GB00191F00010002")  # two units: the limit
    w.expect("PB09", "CLEAR", "")
    (a,) = w.household("PB10", [("策十", "本人")])
    for k in (1, 2, 3):
        w.flat(a, f"360702001001GB00192F0001000{k}")
    w.expect("PB10", "FINDINGS", "RESIDENTIAL_UNITS_OVER_LIMIT")
    (a,) = w.household("PB11", [("策十一", "本人")])
    w.company(a, "有限责任公司", "存续", "5")  # 50,000: at this version's limit
    w.expect("PB11", "FINDINGS", "BUSINESS_ROLE")
    return w


@pytest.fixture(scope="module")
def deployment_run(tmp_path_factory):
    import yaml

    from hedui.pipeline import RunContext, run
    from hedui.steps import policy

    folder = tmp_path_factory.mktemp("policies")
    (folder / "jiangxi.yaml").write_text(yaml.safe_dump(deployment_policy(), allow_unicode=True), encoding="utf-8")
    world = build_deployment()
    inbox = tmp_path_factory.mktemp("deployment") / "inbox"
    world.write(inbox)
    ctx = RunContext.of(inbox, tmp_path_factory.mktemp("deployment_work"), RUN)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(policy, "POLICY_DIR", folder)
        run(ctx)
    return world, ctx


def test_each_household_is_weighed_by_its_own_version_of_the_policy(deployment_run):
    world, ctx = deployment_run
    got = outcomes(ctx)
    assert {rid: got.get(rid) for rid in world.expected} == world.expected
    with _db(ctx) as con:
        used = dict(con.sql("select request_id, policy_id from households").fetchall())
    assert used == {"PB02": "GZ-2026-TK", "PB03": "ZG-2026-NC", "PB04": "ZG-2026-NC",
                    **{rid: "JX-2026" for rid in world.expected if rid not in ("PB02", "PB03", "PB04")}}
    page = (ctx.report_dir / "households" / "PB02.html").read_text(encoding="utf-8")
    assert "GZ-2026-TK：测试通知GZ-2026-TK（测-GZ-2026-TK，2026-01-01）" in page and "演示数据" not in page


# --- the same rules on small in-memory tables (sql/assess/ models) ---------------------------------------


def test_a_member_listed_twice_in_a_request_is_one_member_of_the_per_capita_figures():
    from model_tables import A, add, add_member, connect, figures, link

    con = connect()
    add_member(con, "R1", A, "张三", "本人", "SQ1b")  # the applicant's row again (another authorization date …)
    add(con, "stg_bank", "bank:1", 30000.0)
    link(con, "bank", "bank:1", A)
    f = figures(con)  # R1: the applicant and the spouse, 30,000 over 2
    assert (f["n_members"], f["financial_assets_per_capita_yuan"]) == (2, 15000.0)


@pytest.mark.parametrize(("change", "message"), [
    ({"program": "最低生活保障金"}, "scope.program"),  # misspelt: it would match no request
    ({"year": None}, "scope.year"),
    ({"year": "2026年"}, "scope.year"),
])
def test_a_version_scope_that_could_never_apply_is_refused_naming_the_key(tmp_path, change, message):
    import yaml

    from hedui.errors import PolicyError
    from hedui.steps.policy import load_policies

    doc = deployment_policy()
    doc["versions"][2]["scope"].update(change)
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    with pytest.raises(PolicyError, match=message.replace(".", r"\.")):
        load_policies(path)


def test_two_versions_of_one_scope_are_refused_not_picked_by_file_order(tmp_path):
    import yaml

    from hedui.errors import PolicyError
    from hedui.steps.policy import load_policies

    doc = deployment_policy()
    doc["versions"].append({**doc["versions"][2], "id": "JX-2026-BIS"})
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    with pytest.raises(PolicyError, match="JX-2026 与 JX-2026-BIS 的适用范围相同"):
        load_policies(path)


def test_a_limit_is_the_multiple_of_the_standard_in_cents_not_a_float_a_hair_below_it(tmp_path):
    import yaml

    from hedui.steps.policy import load_policies, policy_rows

    doc = deployment_policy()
    version = doc["versions"][2]
    version["params"].update(financial_assets_basis="annual_standard", financial_assets_multiple=1.15,
                             standard_monthly={"城市": 855, "农村": 580}, vehicle_price_multiple=1.1)
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    [row] = policy_rows(load_policies(path), [("R", "360102", "城市", "最低生活保障")], RUN)
    # 1.15 × 855 × 12 = 11,799 (11,798.999999999998 in floating point: 11,799 per head would be "over")
    assert (row["financial_assets_limit_yuan"], row["vehicle_price_limit_yuan"]) == (11799.0, 940.5)
