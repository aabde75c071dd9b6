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
- a scheme pays a person one benefit (待遇) a month: two rows of one scheme's month are one payment — alike, counted
  once (a month reported again under another unit name counted a pension twice); different, the least, listed as a
  contradiction.  Two schemes' benefits of one month are two payments.
- a vehicle is one row (sources.md); its plate and first registration date say which (a plate kept for the next car is
  another vehicle).  Two rows of one vehicle of which one makes a finding and the other not (正常 beside 注销, a price over
  the limit beside one under it) leave the finding on a contradicted value: none is made, the row listed
  (VALUE_UNKNOWN).  Rows that all make it (150,000 and 160,000 over 12,000) make it.
- an entity (统一社会信用代码) has one 登记状态: the member's rows of it giving 存续/在业 beside 注销/吊销 leave a
  BUSINESS_ROLE finding on a contradicted value: none is made, the active rows listed (VALUE_UNKNOWN).  Two roles of
  one person in one entity are two rows of one state, as before.
- an answer of a bank, securities registry or insurer queried (查询日期) more than a month before the member signed the
  authorization (授权日期) was no query of this request (先授权后核对; results serve the request they were made for): an
  old balance, not counted, listed (VALUE_UNKNOWN); a later answer of the account supersedes it.  The contract sets no
  freshness threshold: a date a few days off is taken as written a few days off (hedui's own generator dates a query
  a day before some authorizations), a month is no clerical slip.  A query date after the run is quarantined (as
  before).  An undated answer is not counted and is listed (test_contract_assess7 AS01).

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
        w.si(x, WINDOW, "企业职工基本养老保险", "缴费", base="4000")
    for n in range(700):  # cars of people nobody asked about: a few cars on two rows stay under the vehicle suite's 1 %
        w.car({"name": f"车主{n}", "id": new_id()}, "90000")
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
    # --- one scheme's benefit (待遇) of one month delivered twice ----------------------------------------------------
    # a pension of 760 a month; 2026-10 reported again under another unit name, the same 760: one payment (summed it
    # was 823.33 a month, FINDINGS on a pension counted twice)
    (a,) = w.household("CXP1", [("储一", "本人")])
    w.si(a, WINDOW, "企业职工基本养老保险", "待遇", benefit="760")
    w.si(a, WINDOW[-1:], "企业职工基本养老保险", "待遇", benefit="760")
    w.rows["social_insurance"][-1]["单位名称"] = "赣州市社会保险事业管理局"
    case("CXP1", "CLEAR", "")
    # a pension of 700; 2026-10 also delivered as 1,900 (a correction, or a wrong row): the least counts, listed
    (a,) = w.household("CXP2", [("储二", "本人")])
    w.si(a, WINDOW, "企业职工基本养老保险", "待遇", benefit="700")
    w.si(a, WINDOW[-1:], "企业职工基本养老保险", "待遇", benefit="1900")
    case("CXP2", "INCOMPLETE", "VALUE_UNKNOWN")
    # pension and unemployment benefit in one month: two schemes, two payments (700 + 150 = 850, as before)
    (a,) = w.household("CXP3", [("储三", "本人")])
    w.si(a, WINDOW, "企业职工基本养老保险", "待遇", benefit="700")
    w.si(a, WINDOW, "失业保险", "待遇", benefit="150")
    case("CXP3", "FINDINGS", "INCOME_OVER_STANDARD")
    # --- one vehicle (plate and first registration) on two rows that disagree on whether it is a finding -------------
    # a car's price delivered as 200,000 and as 9,000 (limit 12,000): was FINDINGS on the 200,000
    (a,) = w.household("CXV1", [("车一", "本人")])
    w.car(a, "200000")
    w.car(a, "9000")
    w.rows["vehicle"][-2]["号牌号码"] = w.rows["vehicle"][-1]["号牌号码"] = "赣B96201"
    case("CXV1", "INCOMPLETE", "VALUE_UNKNOWN")
    # the same car 正常 and 注销: was FINDINGS on the 正常 row
    (a,) = w.household("CXV2", [("车二", "本人")])
    w.car(a, "150000")
    w.car(a, "150000", status="注销")
    w.rows["vehicle"][-2]["号牌号码"] = w.rows["vehicle"][-1]["号牌号码"] = "赣B96202"
    case("CXV2", "INCOMPLETE", "VALUE_UNKNOWN")
    # a plate kept for the next car: the old car (first registered 2012) 注销, the new one 正常 — two vehicles, a finding
    (a,) = w.household("CXV3", [("车三", "本人")])
    w.car(a, "80000", status="注销")
    w.rows["vehicle"][-1]["初次登记日期"] = "2012-03-01"
    w.car(a, "150000")
    w.rows["vehicle"][-2]["号牌号码"] = w.rows["vehicle"][-1]["号牌号码"] = "赣B96203"
    case("CXV3", "FINDINGS", "VEHICLE")
    # two rows of one car both over the limit (150,000 and 160,000): a finding whichever is right
    (a,) = w.household("CXV4", [("车四", "本人")])
    w.car(a, "150000")
    w.car(a, "160000")
    w.rows["vehicle"][-2]["号牌号码"] = w.rows["vehicle"][-1]["号牌号码"] = "赣B96204"
    case("CXV4", "FINDINGS", "VEHICLE")
    # --- one entity (统一社会信用代码) given two 登记状态 by the member's rows -------------------------------------------
    # 个体工商户 delivered 在业 as its 经营者 and 注销 on a second row of the same code: was FINDINGS on the 在业 row
    (a,) = w.household("CXE1", [("商一", "本人")])
    w.company(a, "个体工商户", "在业", "", role="经营者", capital="")
    w.company(a, "个体工商户", "注销", "", role="经营者", capital="")
    w.rows["business_registry"][-1]["统一社会信用代码"] = w.rows["business_registry"][-2]["统一社会信用代码"]
    case("CXE1", "INCOMPLETE", "VALUE_UNKNOWN")
    # two roles in one active company (法定代表人 and 股东 of 20 万): two rows, one state — a finding as before
    (a,) = w.household("CXE2", [("商二", "本人")])
    w.company(a, "有限责任公司", "存续", "0", role="法定代表人")
    w.company(a, "有限责任公司", "存续", "20")
    w.rows["business_registry"][-1]["统一社会信用代码"] = w.rows["business_registry"][-2]["统一社会信用代码"]
    case("CXE2", "FINDINGS", "BUSINESS_ROLE")
    # --- answers of banks and insurers queried before the member authorized the look-up (授权日期 2026-11-01) -----------
    # 50,000 yuan queried 2026-03-15: no query of this request, an old balance (was FINDINGS on it)
    (a,) = w.household("CXB1", [("邹一", "本人")])
    w.bank(a, "50000")
    w.rows["bank"][-1]["查询日期"] = "20260315"
    case("CXB1", "INCOMPLETE", "VALUE_UNKNOWN")
    # 100 yuan queried in 2024: what the account holds now is unknown (was CLEAR)
    (a,) = w.household("CXB2", [("邹二", "本人")])
    w.bank(a, "100")
    w.rows["bank"][-1]["查询日期"] = "2024-01-02"
    case("CXB2", "INCOMPLETE", "VALUE_UNKNOWN")
    # the same account answered again after the authorization: the new answer is weighed, the old one superseded
    (a,) = w.household("CXB3", [("邹三", "本人")])
    w.bank(a, "50000", account="6216000000000000333")
    w.rows["bank"][-1]["查询日期"] = "20260315"
    w.bank(a, "100", account="6216000000000000333")
    case("CXB3", "CLEAR", "")
    # a query dated after the run (2026-12-05): no date a bank answered on, the row quarantined
    (a,) = w.household("CXB4", [("邹四", "本人")])
    w.bank(a, "100")
    w.rows["bank"][-1]["查询日期"] = "20261205"
    case("CXB4", "INCOMPLETE", "RECORD_QUARANTINED")
    # an insurer's cash value of 30,000 queried 2026-10-01 (was FINDINGS on it)
    (a,) = w.household("CXB5", [("邹五", "本人")])
    w.add("insurance", 投保人=a["name"], 投保人证件号=a["id"], 保单号="P6105", 险种="年金", 保单状态="有效",
          现金价值="30000", 查询日期="2026-09-01")
    case("CXB5", "INCOMPLETE", "VALUE_UNKNOWN")
    # queried 12 days before the authorization date (a date written a few days off): weighed, FINDINGS on 50,000
    (a,) = w.household("CXB6", [("邹六", "本人")])
    w.bank(a, "50000")
    w.rows["bank"][-1]["查询日期"] = "20261020"
    case("CXB6", "FINDINGS", "FINANCIAL_ASSETS_OVER_LIMIT")
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
    """CX01 (CXT*: one withholder's month delivered twice), CX04 (CXP*: one scheme's benefit month twice), CX05 (CXV*:
    one vehicle on two rows that disagree), CX06 (CXE*: one entity given two states), CX02 (CXB*: answers queried before the authorization, or
    dated after the run)."""
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


def test_CX02_an_answer_queried_before_the_authorization_is_no_balance_of_now(clear6_run):
    """CX02 (先授权后核对; results serve the request they were made for): a bank's or insurer's answer queried more than a
    month before the member signed the authorization is not counted, and the gap names its query date, the authorization
    date and the old amount; an answer of the account after the authorization supersedes it; one queried days before
    it is weighed."""
    assets = dict(query(clear6_run, "select request_id, financial_assets_yuan from figures "
                                    "where request_id like 'CXB%' and request_id <> 'CXB4'"))
    assert assets == pytest.approx({"CXB1": 0, "CXB2": 0, "CXB3": 100, "CXB5": 0, "CXB6": 50000})
    [(source, reason)] = query(clear6_run, "select source, reason_zh from evidence_gaps where request_id = 'CXB1'")
    assert source == "bank" and "查询日期 2026-03-15 早于该成员的授权日期 2026-11-01 一个月以上" in reason and "50,000.00" in reason
    assert query(clear6_run, "select count(*) from evidence_gaps where request_id = 'CXB3'") == [(0,)]
    lineage = query(clear6_run, "select exclusion_zh from figure_lineage where request_id = 'CXB1' and not is_counted")
    assert lineage == [("查询日期早于该成员的授权日期一个月以上，不是本次核对的查询结果，不计入",)]


# --- a re-check (动态复核) whose member has a record quarantined in either verification ---------------------------------
NEXT = "20261228"


def build_recheck(second: bool) -> World:
    w = World()
    fill(w)
    # a car seen at the first verification whose row is quarantined at the re-check (first registered in 2027)
    (a,) = w.household("CXR1B" if second else "CXR1", [("柏一", "本人")], program="动态复核" if second else "最低生活保障")
    w.car(a, "150000")
    w.rows["vehicle"][-1]["号牌号码"] = "赣B96101"
    if second:
        w.rows["vehicle"][-1]["初次登记日期"] = "2027-06-01"
    # a flat whose row was quarantined at the first verification (an area of letters), read at the re-check
    (a,) = w.household("CXR2B" if second else "CXR2", [("柏二", "本人")], program="动态复核" if second else "最低生活保障")
    w.flat(a, "360702001001GB06102F00010001", area="90.5" if second else "九十")
    # nothing quarantined either time: the page says nothing changed, as before
    (a,) = w.household("CXR3B" if second else "CXR3", [("柏三", "本人")], program="动态复核" if second else "最低生活保障")
    w.car(a, "9000", kind="普通二轮摩托车")
    return w


@pytest.fixture(scope="module")
def recheck_run(tmp_path_factory):
    inbox = tmp_path_factory.mktemp("clear6_recheck") / "inbox"
    work = tmp_path_factory.mktemp("clear6_recheck_work")
    for date, second in ((RUN, False), (NEXT, True)):
        with fresh_ids(6600):  # the same people both times
            build_recheck(second).write(inbox, date)
        ctx = RunContext.of(inbox, work, date)
        run(ctx)
    return ctx


def test_CX03_a_recheck_page_names_what_a_quarantined_record_kept_from_being_compared(recheck_run):
    """CX03 (policy.md: the re-check lists what changed since the last verification): a member's kind of fact whose
    record was quarantined this time or last time is not compared (changes.sql), and the page said "车辆、房产…均无变化"
    of it; now it names the member and the kind, and why.  One definition of what is held back
    (previous_verification.kinds_held) serves the changes and the page."""
    held = dict(query(recheck_run, "select request_id, kinds_held from previous_verification where run_date = ?",
                      [NEXT]))
    assert {k: [h["kind"] for h in v] for k, v in held.items()} == {
        "CXR1B": ["vehicle"], "CXR2B": ["property"], "CXR3B": []}
    assert query(recheck_run, "select * from changes where run_date = ? and request_id like 'CXR%'", [NEXT]) == []
    pages = {rid: (recheck_run.report_dir / "households" / f"{rid}.html").read_text(encoding="utf-8")
             for rid in ("CXR1B", "CXR2B", "CXR3B")}
    assert "未作比较：柏一的车辆（本次或上次有关于该成员的记录被隔离" in pages["CXR1B"]
    assert "未作比较：柏二的房产（本次或上次有关于该成员的记录被隔离" in pages["CXR2B"]
    for rid in ("CXR1B", "CXR2B"):
        assert "均无变化" not in pages[rid] or "已作比较的情况均无变化" in pages[rid]
        assert "车辆、房产、企业、工作单位、户籍状态均无变化" not in pages[rid]
    assert "车辆、房产、企业、工作单位、户籍状态均无变化" in pages["CXR3B"] and "未作比较" not in pages["CXR3B"]


def test_CX04_one_schemes_benefit_month_on_two_rows_is_one_payment(clear6_run):
    """CX04: a scheme's benefit of one month delivered on two rows counts once (alike) or the least (different, the gap
    naming the month, the scheme and both amounts); the lineage says why the other row is not counted."""
    income = dict(query(clear6_run, "select request_id, income_monthly_per_capita_yuan from figures "
                                    "where request_id like 'CXP%'"))
    assert income == pytest.approx({"CXP1": 760, "CXP2": 700, "CXP3": 850})
    [(reason,)] = query(clear6_run, "select reason_zh from evidence_gaps where request_id = 'CXP2' and code = "
                                    "'VALUE_UNKNOWN' and reason_zh like '%未计入%'")
    assert "2026-10 企业职工基本养老保险待遇" in reason and "700.00 至 1,900.00" in reason, reason
    [(why,)] = query(clear6_run, "select exclusion_zh from figure_lineage where request_id = 'CXP1' and not is_counted "
                                 "and is_in_window")
    assert "不重复计入" in why


def test_CX05_a_vehicle_whose_rows_disagree_on_the_finding_is_listed_not_found(clear6_run):
    """CX05: of one vehicle's two rows that disagree on whether it is a finding, no VEHICLE finding is made; the gap
    names the plate and both rows' values."""
    [(reason,)] = query(clear6_run, "select reason_zh from evidence_gaps where request_id = 'CXV1'")
    assert "号牌 赣B96201" in reason and "购置价格 200,000 元" in reason and "购置价格 9,000 元" in reason, reason
    [(reason,)] = query(clear6_run, "select reason_zh from evidence_gaps where request_id = 'CXV2'")
    assert "正常" in reason and "注销" in reason
    assert query(clear6_run, "select count(*) from finding_candidates where request_id in ('CXV1', 'CXV2')") == [(0,)]


def test_CX06_an_entity_given_two_states_is_listed_not_found(clear6_run):
    """CX06: an entity whose rows give an active and an ended 登记状态 makes no BUSINESS_ROLE finding; the gap names it,
    its code and both states."""
    [(reason,)] = query(clear6_run, "select reason_zh from evidence_gaps where request_id = 'CXE1'")
    assert "统一社会信用代码 91360702MA" in reason and "在业、注销" in reason, reason
    assert query(clear6_run, "select count(*) from finding_candidates where request_id = 'CXE1'") == [(0,)]
