"""The oracle's reach past the one demonstration policy (policy.md "Limits", "The outcome", 复核 and 动态复核).

A deployment's policy file written here (not hedui/policies/) holds versions at province, city and county level, for
different programs and years, and parameters the demonstration policy never varies: a 6- and a 24-month income
window, any non-exempt vehicle (multiple 0) beside a list of exempt types changed, the housing-fund balance
counted at one level only, the disposable-income basis, the residents' basic pension counted (taken off the
excluded items) while 劳务报酬 is excluded, two residential units.  `expect()` below computes each household's
outcome and codes from the version policy.md's "most specific wins" gives it (the version picked here, by hand,
not by hedui) and the household's records; the real pipeline runs the world and the two are compared.

Run 1 (20261128) weighs the households of 2026; run 2 (20270110, a year with its own province version) weighs a new
request of 2027, a 复核 of one disputed request, and 动态复核 of households from run 1, each with one event of those
policy.md lists, and households where nothing that is an event happened.

Readings pinned where policy.md leaves a choice:
- the year that selects a version is the year of the run (the verification date), not of the request date; a
  year without a version for the household keeps the latest earlier year's (Hunan in 2027), and a year with one
  takes it even where an earlier year had a more specific one (the city's 特困 version of 2026 in 2027);
- a county no version covers is never CLEAR: its request rows are quarantined (no version for its region at all)
  or it is INCOMPLETE naming the county (a version for the region, none for its program) — never left out;
- a vehicle the policy exempts is still a new vehicle between two checks (an alert to look at, not a finding);
- a death the household registration records (人员状态 死亡) is a 死亡或火化 alert like a cremation record;
- a re-verification weighed by another version than its previous outcome names that version beside the difference.
"""

from __future__ import annotations

import copy
import csv
import re
import shutil
from pathlib import Path

import pytest
from contract_world import World, fresh_ids, outcomes, query

from hedui.steps.report.display import chinese_date

RUN1, RUN2 = "20261128", "20270110"


def window(run_date: str, n: int) -> list[str]:
    """The n months before the run's month (policy.md: the last n months)."""
    y, m = int(run_date[:4]), int(run_date[4:6])
    out = []
    for _ in range(n):
        y, m = (y - 1, 12) if m == 1 else (y, m - 1)
        out.append(f"{y}{m:02d}")
    return sorted(out)


# --- the deployment's policy file ----------------------------------------------------------------------------

EXEMPT_ALL = ["普通二轮摩托车", "三轮汽车", "低速货车", "残疾人专用车"]
PROVINCE = {"standard_monthly": {"城市": 800, "农村": 650}, "income_window_months": 6,
            "financial_assets_basis": "annual_standard", "financial_assets_multiple": 2,
            "count_housing_fund_balance": False, "max_residential_units": 2, "vehicle_price_multiple": 0,
            "exempt_vehicle_types": ["普通二轮摩托车", "残疾人专用车"], "business_contribution_limit": 100000,
            "business_always_review_types": ["个体工商户"], "excluded_income_items": ["劳务报酬", "社会救助金"],
            "individual_si_rates": {}}
CITY_TK = {**PROVINCE, "standard_monthly": {"城市": 1000, "农村": 900}, "income_window_months": 24,
           "financial_assets_basis": "disposable_income", "disposable_income_annual": {"城市": 40000, "农村": 20000},
           "financial_assets_multiple": 1.5, "count_housing_fund_balance": True, "max_residential_units": 1,
           "vehicle_price_multiple": 15, "exempt_vehicle_types": EXEMPT_ALL,
           "excluded_income_items": ["城乡居民基本养老保险"]}
COUNTY_DB = {**PROVINCE, "standard_monthly": {"城市": 900, "农村": 700}, "income_window_months": 12,
             "max_residential_units": 1, "vehicle_price_multiple": 15, "exempt_vehicle_types": EXEMPT_ALL}
HUNAN_DB = {**PROVINCE, "standard_monthly": {"城市": 700, "农村": 600}}


def _version(vid, region, year, params, *, urban_rural="*", program="*", demo=False, number=None):
    return {"id": vid, "demonstration": demo,
            "source": {"notice": f"关于{vid}社会救助标准的通知", "number": number or f"赣民字〔{year - 1}〕{len(vid)}号",
                       "date": f"{year - 1}-12-20"},
            "scope": {"region": region, "year": year, "urban_rural": urban_rural, "program": program},
            "params": params}


VERSIONS = [
    _version("JX-2025", "36", 2025, {**PROVINCE, "standard_monthly": {"城市": 500, "农村": 400}}),
    _version("JX-2026", "360000", 2026, PROVINCE),
    _version("JX-2027", "36", 2027, {**PROVINCE, "standard_monthly": {"城市": 900, "农村": 700}}),
    _version("GZ-2026-TK", "360700", 2026, CITY_TK, program="特困人员供养"),
    _version("ZG-2026-DB", "360702", 2026, COUNTY_DB, urban_rural="农村", program="最低生活保障", demo=True),
    _version("HN-2026-DB", "43", 2026, HUNAN_DB, program="最低生活保障", number="湘民发〔2025〕9号"),
]
BY_ID = {v["id"]: v for v in VERSIONS}


def pick(region: str, year: int, urban_rural: str, program: str, fallback: bool = True) -> str | None:
    """policy.md: keyed by county (or city, or province) code, year, urban/rural and program; most specific wins."""
    def prefix(r):
        return r[:2] if r.endswith("0000") else r[:4] if len(r) == 6 and r.endswith("00") else r

    fits = [v for v in VERSIONS if region.startswith(prefix(v["scope"]["region"])) and v["scope"]["year"] == year
            and v["scope"]["urban_rural"] in ("*", urban_rural) and v["scope"]["program"] in ("*", program)]
    if not fits:  # a year without a version of its own keeps the latest earlier year's in force (pinned)
        earlier = [v["scope"]["year"] for v in VERSIONS if v["scope"]["year"] < year
                   and pick(region, v["scope"]["year"], urban_rural, program, fallback=False)]
        return pick(region, max(earlier), urban_rural, program, fallback=False) if earlier and fallback else None
    return max(fits, key=lambda v: (len(prefix(v["scope"]["region"])), v["scope"]["urban_rural"] != "*",
                                     v["scope"]["program"] != "*"))["id"]


# --- the oracle: a household as generated → outcome and codes ------------------------------------------------

def expect(hh: dict, run_date: str) -> tuple[str, str]:
    """The outcome and the finding codes policy.md gives a household (all sources delivered and passed)."""
    vid = pick(hh["region"], int(run_date[:4]), hh["urban"], hh["program"])
    if vid is None:  # no version for its region at all: its request rows are quarantined, else limits unknown
        covered = any(pick(hh["region"], v["scope"]["year"], u, g) for v in VERSIONS for u in ("城市", "农村")
                      for g in ("最低生活保障", "临时救助", "特困人员供养"))
        return "INCOMPLETE", "VALUE_UNKNOWN" if covered else "RECORD_QUARANTINED"
    p = BY_ID[vid]["params"]
    n = len(hh["members"])
    standard = p["standard_monthly"][hh["urban"]]
    counted = set(window(run_date, p["income_window_months"]))
    excluded = {x if x.endswith("所得") or "保险" in x else x + "所得" for x in p["excluded_income_items"]}
    excluded |= set(p["excluded_income_items"])
    income = sum(amount for month, item, amount in hh.get("income", ())
                 if month in counted and item not in excluded)
    # social insurance: a benefit counts, a contribution base is a wage estimate (no tax wage in these worlds)
    income += sum(amount for month, scheme, _, amount in hh.get("si", ()) if month in counted and scheme not in excluded)
    codes = set()
    if income / p["income_window_months"] / n > standard:
        codes.add("INCOME_OVER_STANDARD")
    basis = (p["disposable_income_annual"][hh["urban"]] if p.get("financial_assets_basis") == "disposable_income"
             else standard * 12)
    assets = sum(hh.get("bank", ())) + (sum(hh.get("fund", ())) if p["count_housing_fund_balance"] else 0)
    if assets / n > p["financial_assets_multiple"] * basis:
        codes.add("FINANCIAL_ASSETS_OVER_LIMIT")
    if hh.get("flats", 0) > p["max_residential_units"]:
        codes.add("RESIDENTIAL_UNITS_OVER_LIMIT")
    limit = p["vehicle_price_multiple"] * p["standard_monthly"]["城市"]
    if any(kind not in p["exempt_vehicle_types"] and (limit == 0 or price > limit) for kind, price in hh.get("cars", ())):
        codes.add("VEHICLE")
    return ("FINDINGS" if codes else "CLEAR"), ";".join(sorted(codes))


# --- the world -----------------------------------------------------------------------------------------------

def _households() -> list[dict]:
    """Each household: rid, region, urban, program, members, and its records (month, item, amount) etc."""
    w6, w12, w24 = window(RUN1, 6), window(RUN1, 12), window(RUN1, 24)
    before6 = [m for m in w12 if m not in w6]
    before12 = [m for m in w24 if m not in w12]
    wage = "工资薪金所得"
    hh = [
        # the province's 6-month window: months before it and the run's own month do not count
        dict(rid="OT01", region="360102", urban="城市", program="最低生活保障",
             income=[(m, wage, 2000.0) for m in before6] + [(m, wage, 700.0) for m in w6] + [("202611", wage, 9000.0)]),
        # a wage estimated from the contribution base, and a pension, outside the window: not counted either
        dict(rid="OT21", region="360102", urban="城市", program="最低生活保障",
             si=[(m, "企业职工基本养老保险", "缴费", 5000.0) for m in before6]
             + [("202611", "企业职工基本养老保险", "待遇", 5000.0)] + [(m, "失业保险", "待遇", 790.0) for m in w6]),
        dict(rid="OT02", region="360102", urban="城市", program="最低生活保障", income=[(m, wage, 1610.0) for m in w6]),  # 805 a head
        # the residents' basic pension, taken off the excluded items, counts; 劳务报酬 (written without 所得) does not
        dict(rid="OT03", region="360102", urban="城市", program="医疗救助",
             income=[(m, "城乡居民基本养老保险", 810.0) for m in w6]),
        dict(rid="OT04", region="360102", urban="城市", program="医疗救助",
             income=[(m, "劳务报酬所得", 3000.0) for m in w6]),
        # any non-exempt vehicle (multiple 0), the exempt list changed
        dict(rid="OT05", region="360102", urban="城市", program="最低生活保障",
             cars=[("残疾人专用车", 200000.0), ("普通二轮摩托车", 30000.0)]),
        dict(rid="OT06", region="360102", urban="城市", program="最低生活保障", cars=[("低速货车", 100.0)]),
        dict(rid="OT07", region="360102", urban="城市", program="最低生活保障", flats=2),
        dict(rid="OT08", region="360102", urban="城市", program="最低生活保障", flats=3),
        # the housing fund not counted by the province's version …
        dict(rid="OT09", region="360102", urban="城市", program="最低生活保障", fund=[50000.0], bank=[10000.0]),
        # … counted by the city's 特困 version (its 6-digit code 360700), on prior-year disposable income 1.5 × 40,000
        dict(rid="OT10", region="360702", urban="城市", program="特困人员供养", fund=[40000.0], bank=[20000.01]),
        dict(rid="OT11", region="360781", urban="城市", program="特困人员供养", fund=[40000.0], bank=[20000.0]),
        dict(rid="OT20", region="360781", urban="农村", program="特困人员供养", fund=[15000.0], bank=[15000.01]),
        # the city's 24-month window: income before the last 12 months counts
        dict(rid="OT12", region="360781", urban="城市", program="特困人员供养",
             income=[(m, wage, 2100.0) for m in before12]),
        # the county's rural 低保 version (demonstration figures): 700, 12 months, every type exempt over 12,000
        dict(rid="OT13", region="360702", urban="农村", program="最低生活保障",
             income=[(m, wage, 690.0) for m in w12], cars=[("三轮汽车", 50000.0)]),
        dict(rid="OT14", region="360702", urban="农村", program="最低生活保障", cars=[("小型轿车", 13500.01)]),
        # the county's version is for 农村 低保 only: a town household and a rural 临时救助 one take the province's
        dict(rid="OT15", region="360702", urban="城市", program="最低生活保障", income=[(m, wage, 750.0) for m in w6]),
        dict(rid="OT16", region="360702", urban="农村", program="临时救助", income=[(m, wage, 690.0) for m in w6]),
        # Hunan's province writes 低保 only: its 临时救助 household has no version at any level
        dict(rid="OT17", region="430102", urban="城市", program="最低生活保障", income=[(m, wage, 720.0) for m in w6]),
        dict(rid="OT18", region="430102", urban="城市", program="临时救助"),
        # a county of a province no version covers at all
        dict(rid="OT19", region="440103", urban="城市", program="最低生活保障"),
    ]
    for h in hh:
        h["members"] = [("本人",), ("配偶",)] if h["rid"] == "OT02" else [("本人",)]
    return hh


def build_world(hhs: list[dict], w: World | None = None, start: int = 0) -> tuple[World, dict]:
    fresh = w is None
    w = World() if w is None else w
    people = {}
    for k, h in enumerate(hhs, start):
        names = [(f"甲{k:02d}{'乙丙'[i]}", rel[0]) for i, rel in enumerate(h["members"])]
        ps = w.household(h["rid"], names, program=h["program"], urban=h["urban"])
        for r in w.rows["requests"]:
            if r["委托编号"] == h["rid"]:
                r["区划代码"] = h["region"]
        people[h["rid"]] = ps
        a = ps[0]
        for month, item, amount in h.get("income", ()):
            if item.endswith("所得"):
                w.wages(a, [month], f"{amount:.2f}", item=item)
            else:
                w.si(a, [month], item, "待遇", benefit=f"{amount:.2f}")
        for month, scheme, category, amount in h.get("si", ()):
            w.si(a, [month], scheme, category, **{"base" if category == "缴费" else "benefit": f"{amount:.2f}"})
        for kind, price in h.get("cars", ()):
            w.car(a, f"{price:.2f}", kind=kind)
        for i in range(h.get("flats", 0)):
            w.flat(a, f"360702001001GB{k:03d}{i:02d}F00010001")
        for v in h.get("fund", ()):
            w.add("housing_fund", 证件号码=a["id"], 姓名=a["name"], 单位名称="某单位", 月缴存基数="3000", 月缴存额="360",
                  账户余额=f"{v:.2f}", 账户状态="正常", 截至日期="2026-10-31")
        for v in h.get("bank", ()):
            w.bank(a, f"{v:.2f}")
    if fresh:
        strangers(w)
    return w, people


def strangers(w: World) -> None:
    """A row about somebody nobody asked about in every source: no delivery is empty."""
    from contract_world import new_id

    x = {"name": "路人", "id": new_id()}
    w.add("civil_affairs", 姓名=x["name"], 身份证号=x["id"], 死亡日期="2026-01-01", 火化日期="2026-01-02",
          殡仪馆="赣州市殡仪馆")
    w.add("public_security", 户号="HS001", 姓名=x["name"], 公民身份号码=x["id"], 性别="男", 出生日期=x["id"][6:14],
          与户主关系="户主", 户籍地址="江西省赣州市章贡区某路5号", 区划代码="360702", 人员状态="正常", 变动日期="")
    w.wages(x, ["202601"], "3000")
    w.si(x, ["202601"], "企业职工基本养老保险", "缴费", base="3000")
    w.add("housing_fund", 证件号码=x["id"], 姓名=x["name"], 单位名称="某单位", 月缴存基数="3000", 月缴存额="360",
          账户余额="9000", 账户状态="正常", 截至日期="2026-10-31")
    w.bank(x, "100")
    w.add("securities", 姓名=x["name"], 证件号码=x["id"], 证券账户="B000000001", 持仓市值="100", 资金余额="1",
          查询日期="20261126")
    w.add("insurance", 投保人=x["name"], 投保人证件号=x["id"], 保单号="Q000000001", 险种="寿险", 保单状态="有效",
          现金价值="10", 查询日期="20261126")
    w.car(x, "90000")
    w.flat(x, "360702001001GS09001F00010001")
    w.company(x, "有限责任公司", "存续", "10")


def _run(world: World, date: str, folder, workdir, inbox):
    from hedui.pipeline import RunContext, run

    world.write(inbox, date)
    ctx = RunContext.of(inbox, workdir, date)
    with pytest.MonkeyPatch.context() as mp:
        # a deployment's own folder, as an environment setting: the per-source workers (the request list's region
        # check) read it too — a patched module global stayed in this process
        mp.setenv("HEDUI_POLICY_DIR", str(folder))
        run(ctx)
    return ctx


EVENTS = ("death", "cremation", "cancelled", "vehicle", "property", "business", "employer")


def second_world(w1: World, people: dict) -> tuple[World, dict]:
    """Run 2's delivery: the same people; OT02 disputed (复核, same request id, 2026 request date), a new 2027
    request, 动态复核 of OT30-OT3x households (new request ids), one event each, and households where nothing that
    is an event happened."""
    w = copy.deepcopy(w1)
    keep = {"OT02"} | {f"OT3{k}" for k in range(len(EVENTS) + 2)}
    w.rows["requests"] = [r for r in w.rows["requests"] if r["委托编号"] in keep]
    for r in w.rows["requests"]:
        if r["委托编号"] != "OT02":
            r.update(委托编号=r["委托编号"] + "R", 业务类型="动态复核", 委托日期="2027-01-05")
    # the dispute: the household says its wage stopped in October; the employer's corrected return says so
    a = people["OT02"][0]
    w.rows["tax"] = [r for r in w.rows["tax"] if not (r["纳税人识别号"] == a["id"] and r["所属期"] == "202610")]
    build_world(new_requests(), w, 50)
    for k, kind in enumerate(EVENTS):
        x, y = people[f"OT3{k}"]
        if kind == "death":  # the registration says 死亡, no cremation record (yet)
            _status(w, y, "死亡")
        elif kind == "cremation":
            w.add("civil_affairs", 姓名=y["name"], 身份证号=y["id"], 死亡日期="2026-12-01", 火化日期="2026-12-03",
                  殡仪馆="赣州市殡仪馆")
        elif kind == "cancelled":
            _status(w, y, "注销")
        elif kind == "vehicle":  # exempt: no finding, still a new vehicle
            w.car(y, "4000", kind="普通二轮摩托车")
        elif kind == "property":
            w.flat(y, "360702001001GB77701F00010001")
        elif kind == "business":
            w.company(y, "有限责任公司", "存续", "5", role="法定代表人")
        elif kind == "employer":
            w.add("social_insurance", 身份证号=y["id"], 姓名=y["name"], 险种="企业职工基本养老保险", 类别="缴费",
                  月份="2026-12", 缴费基数="500", 待遇金额="", 单位名称="赣州新雇主科技有限公司")
    # OT37: nothing new — a car sold (注销), a flat no longer held, a company cancelled, the same employer written
    # with full-width brackets and spaces; OT38: nothing at all
    x, y = people["OT37"]
    w.car(y, "90000", status="注销")
    w.flat(y, "360702001001GB77702F00010001", status="注销")
    w.company(y, "有限责任公司", "注销", "50", role="法定代表人")
    w.add("tax", 纳税人识别号=x["id"], 姓名=x["name"], 所得项目="工资薪金所得", 所属期="202612", 收入额="100",
          已缴税额="0", 扣缴义务人="赣州某某（集团） 有限公司")
    return w, {f"OT3{k}R": kind for k, kind in enumerate(EVENTS)}


def new_requests() -> list[dict]:
    """Requests of run 2 (2027): a year with its own province version, and one (Hunan) without."""
    w6 = window(RUN2, 6)
    hh = [
        # 850 a month over 2026-07…12: under JX-2027's 900, over JX-2026's 800
        dict(rid="OT40", region="360102", urban="城市", program="最低生活保障",
             income=[(m, "工资薪金所得", 850.0) for m in w6]),
        # the city's 特困 version is of 2026; 2027 has the province's own: the year's version is taken
        dict(rid="OT41", region="360781", urban="城市", program="特困人员供养",
             income=[(m, "工资薪金所得", 950.0) for m in w6]),
        # Hunan has no 2027 version: its 2026 one stays in force
        dict(rid="OT42", region="430102", urban="城市", program="最低生活保障",
             income=[(m, "工资薪金所得", 720.0) for m in w6]),
    ]
    for h in hh:
        h["members"] = [("本人",)]
    return hh


def _status(w: World, p: dict, status: str) -> None:
    row = next(r for r in w.rows["public_security"] if r["公民身份号码"] == p["id"])
    row.update(人员状态=status, 变动日期="2026-12-05")


def recheck_households() -> list[dict]:
    """Two-member households for the 动态复核 of run 2: the applicant earns 100 a month from one employer."""
    return [dict(rid=f"OT3{k}", region="360702", urban="城市", program="最低生活保障", members=[("本人",), ("配偶",)],
                 income=[("202610", "工资薪金所得", 100.0)]) for k in range(len(EVENTS) + 2)]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    import yaml

    folder = tmp_path_factory.mktemp("ot_policies")
    (folder / "deployment.yaml").write_text(yaml.safe_dump({"versions": VERSIONS}, allow_unicode=True),
                                            encoding="utf-8")
    hhs = _households() + recheck_households()
    with fresh_ids(3000):
        w1, people = build_world(hhs)
        for h in recheck_households():  # the employer of the 动态复核 households, written as run 1 delivers it
            for r in w1.rows["tax"]:
                if r["纳税人识别号"] == people[h["rid"]][0]["id"]:
                    r["扣缴义务人"] = "赣州某某(集团)有限公司"
        w2, events = second_world(w1, people)
    work = tmp_path_factory.mktemp("ot_work")
    ctx1 = _run(w1, RUN1, folder, work, tmp_path_factory.mktemp("ot_inbox1"))
    snapshot = {rid: page(ctx1, rid) for rid in ("OT02",)}
    urgent_work = tmp_path_factory.mktemp("ot_urgent")
    shutil.copyfile(ctx1.database, urgent_work / "hedui.duckdb")  # the working database after run 1
    ctx2 = _run(w2, RUN2, folder, work, tmp_path_factory.mktemp("ot_inbox2"))
    return dict(hhs=hhs, people=people, ctx1=ctx1, ctx2=ctx2, events=events, snapshot=snapshot, w1=w1,
                folder=folder, urgent_work=urgent_work)


def page(ctx, rid: str) -> str:
    return (ctx.report_dir / "households" / f"{rid}.html").read_text(encoding="utf-8")


def plain(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_ot01_every_household_has_the_outcome_of_the_version_policy_md_picks_for_it(runs):
    got = outcomes(runs["ctx1"])
    want = {h["rid"]: expect(h, RUN1) for h in runs["hhs"]}
    assert {rid: got.get(rid) for rid in want} == want
    used = dict(query(runs["ctx1"], "select request_id, policy_id from households where run_date = ?", [RUN1]))
    picked = {h["rid"]: pick(h["region"], 2026, h["urban"], h["program"]) for h in runs["hhs"]}
    assert {rid: used.get(rid) for rid in picked if picked[rid]} == {rid: v for rid, v in picked.items() if v}


def test_ot02_a_county_no_version_covers_is_incomplete_naming_the_county_never_left_out(runs):
    ctx = runs["ctx1"]
    got = outcomes(ctx)
    assert got["OT18"] == ("INCOMPLETE", "VALUE_UNKNOWN")
    t = plain(page(ctx, "OT18"))
    assert "没有适用于本户（区划代码 430102，2026 年，城市，临时救助）的政策版本" in t and "没有适用于本户的政策版本" in t
    # a region no version covers in any year: every request row quarantined, the household answered in the batch
    # summary with the reason naming the county (no page: test_contract_outcomes pins that)
    assert got["OT19"] == ("INCOMPLETE", "RECORD_QUARANTINED")
    summary = plain((ctx.report_dir / "index.html").read_text(encoding="utf-8"))
    assert "OT19 无报告页：该户的委托行全部被隔离" in summary
    assert re.search(r"区划代码\S*440103 所在地区没有适用的政策版本", summary), summary


def test_ot03_every_report_names_its_version_and_source_and_marks_demonstration_figures(runs):
    ctx = runs["ctx1"]
    for h in runs["hhs"]:
        vid = pick(h["region"], 2026, h["urban"], h["program"])
        if vid is None:
            continue
        t = plain(page(ctx, h["rid"]))
        s = BY_ID[vid]["source"]
        assert f"{vid}：{s['notice']}（{s['number']}，{s['date']}）" in t, h["rid"]
        assert ("本报告所用政策参数为演示数据（ZG-2026-DB）" in t) == (vid == "ZG-2026-DB"), h["rid"]
    summary = plain((ctx.report_dir / "index.html").read_text(encoding="utf-8"))
    for vid in ("ZG-2026-DB", "JX-2026", "GZ-2026-TK", "HN-2026-DB"):  # the versions the batch was weighed by
        s = BY_ID[vid]["source"]
        line = f"政策版本：{vid}：{s['notice']}（{s['number']}，{s['date']}）"
        assert line in summary, vid
        assert (f"{line}（演示数据，不得作为正式核对依据）" in summary) == BY_ID[vid]["demonstration"], vid


def test_ot04_the_year_of_the_run_selects_the_version(runs):
    got = outcomes(runs["ctx2"])
    want = {h["rid"]: expect(h, RUN2) for h in new_requests()}
    assert {rid: got.get(rid) for rid in want} == want
    assert want["OT40"] == ("CLEAR", "") and want["OT41"][0] == want["OT42"][0] == "FINDINGS"
    used = dict(query(runs["ctx2"], "select request_id, policy_id from households where run_date = ?", [RUN2]))
    assert {rid: used[rid] for rid in want} == {"OT40": "JX-2027", "OT41": "JX-2027", "OT42": "HN-2026-DB"}
    assert "JX-2027：关于JX-2027社会救助标准的通知" in plain(page(runs["ctx2"], "OT40"))


def test_ot05_a_dispute_gives_a_new_version_keeps_the_old_and_shows_the_difference(runs):
    ctx1, ctx2 = runs["ctx1"], runs["ctx2"]
    disputed = next(h for h in runs["hhs"] if h["rid"] == "OT02")
    assert outcomes(ctx1)["OT02"] == expect(disputed, RUN1) == ("FINDINGS", "INCOME_OVER_STANDARD")
    corrected = dict(disputed, income=[x for x in disputed["income"] if x[0] != "202610"])
    assert outcomes(ctx2)["OT02"] == expect(corrected, RUN2) == ("CLEAR", "")
    assert page(ctx1, "OT02") == runs["snapshot"]["OT02"]  # the old version is kept, unchanged
    t = plain(page(ctx2, "OT02"))
    assert "第 2 版报告" in t and "与上次核对相比（复核：本委托的上一版报告）" in t
    assert f"上次核对：批次 {chinese_date(RUN1)}，委托编号 OT02，结论 “发现超出政策规定情形”" in t
    assert "不再出现的情形：家庭月人均收入高于保障标准（INCOME_OVER_STANDARD）" in t
    # the finding went with a new year's policy version (another standard, another window): the difference
    # shown says the two were weighed by different versions, else it reads as if only the facts had changed
    s = BY_ID["JX-2026"]["source"]
    assert f"上次核对所用政策版本：JX-2026：{s['notice']}（{s['number']}，{s['date']}）" in t, t
    t = plain(page(ctx2, "OT38R"))  # a 动态复核 the same way: JX-2026 then, JX-2027 now
    assert "上次核对所用政策版本：JX-2026" in t and "本次所用政策版本：JX-2027" in t


def test_ot07_rechecks_have_the_oracles_outcome_and_list_each_event_alone(runs):
    ctx = runs["ctx2"]
    got = outcomes(ctx)
    ended = {"death", "cremation", "cancelled"}
    for k in range(len(EVENTS) + 2):
        rid = f"OT3{k}R"
        kind = runs["events"].get(rid)
        h = dict(recheck_households()[k], rid=rid, program="动态复核")
        outcome, codes = expect(h, RUN2)  # an exempt motorcycle, one flat of two allowed, 5 万元: no finding
        if kind in ended:
            outcome, codes = "FINDINGS", "MEMBER_REGISTRATION_ENDED"
        assert got[rid] == (outcome, codes), rid
        t = plain(page(ctx, rid))
        assert f"上次核对：批次 {chinese_date(RUN1)}，委托编号 OT3{k}，" in t, rid
        rows = query(ctx, "select change, kind from changes where run_date = ? and request_id = ?", [RUN2, rid])
        if kind is None:  # OT37R, OT38R: nothing that is an event
            assert rows == [] and "与上次核对相比，车辆、房产、企业、工作单位、户籍状态均无变化。" in t, (rid, rows)
        else:
            want = {"death": "registration", "cremation": "death", "cancelled": "registration"}.get(kind, kind)
            assert rows == [("added", want)], (rid, rows)


def _alerts(ctx) -> list[dict]:
    with open(ctx.report_dir / "alerts.csv", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


ALERT = {"death": "死亡或火化", "cremation": "死亡或火化", "cancelled": "户籍状态变更", "vehicle": "新增车辆",
         "property": "新增房产", "business": "新增企业任职", "employer": "新增工作单位"}


def test_ot06_each_event_alone_raises_its_alert_and_nothing_else_raises_one(runs):
    alerts = _alerts(runs["ctx2"])
    got = {}
    for a in alerts:
        got.setdefault(a["request_id"], []).append(a["alert"])
    want = {rid: [ALERT[kind]] for rid, kind in runs["events"].items()}
    assert got == want
    assert not _alerts(runs["ctx1"])


def test_ot08_an_urgent_recheck_in_a_new_year_names_the_version_of_the_previous_outcome(runs, tmp_path):
    """救急难 in January 2027 for a household verified in November 2026: the urgent path's history carries the
    previous outcome's version as the nightly's does."""
    from hedui.urgent import verify_household

    ctx1 = runs["ctx1"]
    answers = tmp_path / "answers"
    for source in ("bank", "insurance", "securities"):
        shutil.copytree(ctx1.inbox / source / RUN1, answers / source)
    rows = [dict(r, 委托编号="OT38U", 业务类型="动态复核", 委托日期="2027-01-04")
            for r in runs["w1"].rows["requests"] if r["委托编号"] == "OT38"]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HEDUI_POLICY_DIR", str(runs["folder"]))
        urgent = verify_household(runs["urgent_work"], rows, answers=answers, run_date="20270105")
    assert (urgent["outcome"], urgent["findings"]) == ("CLEAR", "")
    t = plain(Path(urgent["report"]).read_text(encoding="utf-8"))
    assert f"上次核对：批次 {chinese_date(RUN1)}，委托编号 OT38，" in t
    assert "上次核对所用政策版本：JX-2026" in t and "本次所用政策版本：JX-2027" in t, t
