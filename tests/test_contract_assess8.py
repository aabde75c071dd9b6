"""Assess, eighth pass (policy.md: CLEAR is earned, never a default): what was weighed although the contract says it is
not this request's, delivered as the departments deliver it (sources.md), the real pipeline run over small households
built by hand (tests/contract_world.py).

Settled where the contract is open:
- AU01, an answer queried after the authorization but long before the request.  policy.md: results serve the request
  they were made for and nothing else; households already receiving aid are re-checked periodically (动态复核), each
  re-check a request of its own (委托, with its 委托日期), under an authorization that may have been signed years
  before, when the household applied.  The center queries for a request once it has it: a bank's, securities
  registry's or insurer's answer queried (查询日期) more than a month before the request date was made for an earlier
  request, whatever the authorization — a balance of two years ago is not the household's now.  So the date an answer
  is weighed against is the later of the 授权日期 and the 委托日期 (hd_authorization_bound), with the slack already
  used for the authorization (a month: a date a few days off is a date written a few days off; the contract sets no
  freshness window, and hedui's own generator dates queries days around the request).  Such an answer is not counted
  and is listed (VALUE_UNKNOWN; waiting for review, UNCONFIRMED_LINK), as one queried before the authorization is
  (test_contract_clear6 CX02); a later answer of the account supersedes it.  Before the fix it was weighed as current:
  a household of 100 yuan two years ago was CLEAR, one of 50,000 yuan FINDINGS on that old balance.
- AU02, months missing inside a benefit's run.  A scheme pays a pension or an unemployment benefit (待遇) monthly, and
  the department delivers one row per person, scheme and month (sources.md): a month of the window without a row
  between two months the member's benefit of that scheme was delivered for is a month not delivered, not a month
  unpaid (DESIGN.md: absence of evidence is not evidence).  Its benefit is unknown, never 0: nothing is added for it
  and the household's report names the scheme and the months (VALUE_UNKNOWN).  Before the fix a pension of 900 a
  month delivered for 10 of the 12 months was averaged to 750, under the standard of 800: CLEAR.  Months before the
  first or after the last delivered one are no hole (a benefit starts and ends: a pension from 2026-03 is 8 months),
  nor are months of an excluded scheme (城乡居民基本养老保险).  Wages and contributions are left as they were: a
  withholder declares the months it pays, and a contribution stops and resumes (断缴) — a month without one is no
  sign of a row not delivered.
- AU03, one securities account answered twice for one 查询日期 (sources.md: one row per account), one answer with its
  资金余额 empty.  Which answer is right is unknown: the smaller counts, never the sum, and the pair is listed
  (as for two balances of one bank account, test_contract_clear5).  The answers were compared on 持仓市值 + 资金余额,
  empty when either is, so the answer with an empty value was never the larger and both were counted: 30,000 and
  100 of one account and day summed, FINDINGS on 30,100.  They are compared on what each answer holds (an empty value
  adding nothing, and listed as unknown).
- AU04, a tax row saying more tax paid than its income (已缴税额 above 收入额: swapped columns, a refund, a typo), or tax
  paid on an empty income.  The row is listed already (VALUE_UNKNOWN, "收入按未知处理"), but the figure still
  deducted the whole tax: one row of 100 yuan income and 5,000 tax took 4,900 off the other members' incomes, and a
  household over the standard on a spouse's wages (850 a head) came out INCOMPLETE at 645.83 instead of FINDINGS.
  policy.md deducts the tax paid "where known"; a tax is paid on an income, so a row's net is never below 0: the
  deduction is capped at the row's income (nothing where the income is empty), the row adds 0 whichever of its
  values is wrong, and a finding standing on the other members' incomes stands, the row listed beside it.
- AU05, one policy answered in force (有效) and ended (终止) for one 查询日期.  A policy has one status; which answer is
  right is unknown.  As for two cash values of one answer, the smaller counts — ended, nothing — and the in-force row
  is listed (VALUE_UNKNOWN), as a vehicle 正常 beside 注销 and an entity 存续 beside 注销 are (test_contract_clear6):
  its cash value was counted, FINDINGS on a status the delivery contradicts.  A later answer still supersedes an
  earlier one (ended after in force, or in force again).

Policy of the run (hedui/policies/jiangxi_demo.yaml, 2026, 城市): financial assets at most 19,200 yuan per person;
requests dated 2026-11-20.
"""

from __future__ import annotations

import pytest
from contract_world import WINDOW, World, fresh_ids, new_id, outcomes, query, run_world
from test_contract_assess7 import bank  # one 活期 account's answer
from test_contract_traps10 import fill

#: (request id, outcome, codes)
CASES: list[tuple[str, str, str]] = []


def case(rid: str, outcome: str, codes: str) -> None:
    CASES.append((rid, outcome, codes))


def signed(w: World, date: str = "2024-03-01") -> None:
    """The last request row's authorization signed on `date` (when the household applied)."""
    w.rows["requests"][-1]["授权日期"] = date


def build() -> World:
    w = World()
    fill(w)
    # --- AU01: answered after the authorization (2024-03-01), long before the request (2026-11-20) ------------------
    # a re-check of a household that applied in 2024: a balance of 100 yuan queried 2024-06-15, weighed as current: CLEAR
    (a,) = w.household("AUB1", [("旧一", "本人")], program="动态复核")
    signed(w)
    bank(w, a, "100", "2024-06-15")
    case("AUB1", "INCOMPLETE", "VALUE_UNKNOWN")
    # 50,000 yuan queried 2024-06-15: FINDINGS on a balance of two years ago
    (a,) = w.household("AUB2", [("旧二", "本人")])
    signed(w)
    bank(w, a, "50000", "2024-06-15")
    case("AUB2", "INCOMPLETE", "VALUE_UNKNOWN")
    # pinned: the account answered again for this request (100 yuan, 2026-11-26): the later answer supersedes the old
    (a,) = w.household("AUB3", [("旧三", "本人")])
    signed(w)
    bank(w, a, "50000", "2024-06-15", account="6222000000000000881")
    bank(w, a, "100", "20261126", account="6222000000000000881")
    case("AUB3", "CLEAR", "")
    # pinned: queried 15 days before the request date: a date written off, weighed
    (a,) = w.household("AUB4", [("旧四", "本人")])
    signed(w)
    bank(w, a, "100", "2026-11-05")
    case("AUB4", "CLEAR", "")
    # a securities account and a policy in force answered 2025-01-10: 300 yuan each, weighed as current: CLEAR
    (a,) = w.household("AUS1", [("旧五", "本人")])
    signed(w)
    w.add("securities", 姓名=a["name"], 证件号码=a["id"], 证券账户="A0008801", 持仓市值="300", 资金余额="0",
          查询日期="2025-01-10")
    w.add("insurance", 投保人=a["name"], 投保人证件号=a["id"], 保单号="P8801", 险种="年金", 保单状态="有效",
          现金价值="300", 查询日期="2025-01-10")
    case("AUS1", "INCOMPLETE", "VALUE_UNKNOWN")
    # an account of 100 yuan waiting for review (a homophone name, no ID) queried 2024-06-15: confirmed, it would be an
    # old answer and what the account holds unknown; 100 yuan pushes nothing over, nothing listed it: CLEAR
    (a,) = w.household("AUP1", [("孙敏", "本人")])
    signed(w)
    w.add("bank", 机构名称="中国工商银行赣州分行", 户名="孙民", 证件号码="", 账号="6222000000000000882", 账户类型="活期",
          余额="100", 查询日期="2024-06-15")
    case("AUP1", "INCOMPLETE", "UNCONFIRMED_LINK")
    # pinned: signed after the request (test_contract_traps6 TL17), queried after both
    (a,) = w.household("AUB5", [("旧六", "本人")])
    signed(w, "2026-11-25")
    bank(w, a, "100", "20261126")
    case("AUB5", "CLEAR", "")
    # pinned: queried before an authorization signed after the request, after the request: before the authorization
    # (CX02's wording, the stronger reason)
    (a,) = w.household("AUB6", [("旧七", "本人")])
    signed(w, "2026-11-25")
    bank(w, a, "100", "2026-09-01")
    case("AUB6", "INCOMPLETE", "VALUE_UNKNOWN")
    # --- AU02: months missing inside a benefit's run ---------------------------------------------------------------
    # a pension of 900 delivered for 2025-11 … 2026-10 but 2026-04 and 2026-05: averaged to 750, CLEAR
    (a,) = w.household("AUH1", [("缺一", "本人")])
    w.si(a, WINDOW[:5] + WINDOW[7:], "企业职工基本养老保险", "待遇", benefit="900")
    case("AUH1", "INCOMPLETE", "VALUE_UNKNOWN")
    # an unemployment benefit of 900 for 2025-11 … 2026-06 but 2026-02: 7 × 900 / 12 = 525, CLEAR
    (a,) = w.household("AUH2", [("缺二", "本人")])
    w.si(a, [m for m in WINDOW[:8] if m != "202602"], "失业保险", "待遇", benefit="900")
    case("AUH2", "INCOMPLETE", "VALUE_UNKNOWN")
    # over the standard without the missing month (1,000 × 11 / 12 = 916.67): the finding stands, the month listed
    (a,) = w.household("AUH3", [("缺三", "本人")])
    w.si(a, WINDOW[:6] + WINDOW[7:], "机关事业单位养老保险", "待遇", benefit="1000")
    case("AUH3", "FINDINGS", "INCOME_OVER_STANDARD;VALUE_UNKNOWN")
    # pinned: a pension from 2026-03 (8 months, 600 a month on average) and a benefit that ended 2026-04: no hole
    (a,) = w.household("AUH4", [("缺四", "本人")])
    w.si(a, WINDOW[4:], "企业职工基本养老保险", "待遇", benefit="900")
    w.si(a, WINDOW[:6], "失业保险", "待遇", benefit="100")
    case("AUH4", "CLEAR", "")
    # pinned: the residents' pension is not counted (excluded item), holes or not
    (a,) = w.household("AUH5", [("缺五", "本人")])
    w.si(a, WINDOW[:3] + WINDOW[9:], "城乡居民基本养老保险", "待遇", benefit="900")
    case("AUH5", "CLEAR", "")
    # --- AU03: one securities account answered twice for one day, one answer's 资金余额 empty ---------------------
    for n in range(300):  # accounts of people nobody asked about: one account on two rows stays under the suite's 1 %
        x = {"name": f"股民{n}", "id": new_id()}
        w.add("securities", 姓名=x["name"], 证件号码=x["id"], 证券账户=f"B{n:07d}", 持仓市值="100", 资金余额="1",
              查询日期="20261126")
    (a,) = w.household("AUM1", [("券一", "本人")])
    w.add("securities", 姓名=a["name"], 证件号码=a["id"], 证券账户="A0008811", 持仓市值="30000", 资金余额="",
          查询日期="20261126")
    w.add("securities", 姓名=a["name"], 证件号码=a["id"], 证券账户="A0008811", 持仓市值="100", 资金余额="0",
          查询日期="20261126")
    case("AUM1", "INCOMPLETE", "VALUE_UNKNOWN")
    # pinned: one answer of 30,000 whose 资金余额 is empty: over the limit whatever the cash, the cash listed
    (a,) = w.household("AUM2", [("券二", "本人")])
    w.add("securities", 姓名=a["name"], 证件号码=a["id"], 证券账户="A0008812", 持仓市值="30000", 资金余额="",
          查询日期="20261126")
    case("AUM2", "FINDINGS", "FINANCIAL_ASSETS_OVER_LIMIT;VALUE_UNKNOWN")
    # --- AU04: more tax paid on a row than its income ---------------------------------------------------------------
    # the spouse's wages 1,700 a month (850 a head); the member's one row: income 100, tax 5,000 — 645.83 a head
    (a, b) = w.household("AUT1", [("税一", "本人"), ("税二", "配偶")])
    w.wages(a, WINDOW, "1700")
    w.wages(b, ["202606"], "100", tax="5000")
    case("AUT1", "FINDINGS", "INCOME_OVER_STANDARD;VALUE_UNKNOWN")
    # the same with the row's income empty: 641.67 a head
    (a, b) = w.household("AUT2", [("税三", "本人"), ("税四", "配偶")])
    w.wages(a, WINDOW, "1700")
    w.wages(b, ["202606"], "", tax="5000")
    case("AUT2", "FINDINGS", "INCOME_OVER_STANDARD;VALUE_UNKNOWN")
    # pinned: an ordinary tax is deducted (1,000 less 300 a month: 700, under the standard)
    (a,) = w.household("AUT3", [("税五", "本人")])
    w.wages(a, WINDOW, "1000", tax="300")
    case("AUT3", "CLEAR", "")
    # --- AU05: one policy answered in force and ended for one day ---------------------------------------------------
    for n in range(900):  # policies of people nobody asked about: one policy on two rows stays under the suite's 1 %
        x = {"name": f"投保人{n}", "id": new_id()}
        w.add("insurance", 投保人=x["name"], 投保人证件号=x["id"], 保单号=f"Q{n:07d}", 险种="寿险", 保单状态="有效",
              现金价值="10", 查询日期="20261126")

    def policy(p: dict, no: str, status: str, cash: str, query_date: str = "20261126") -> None:
        w.add("insurance", 投保人=p["name"], 投保人证件号=p["id"], 保单号=no, 险种="年金", 保单状态=status,
              现金价值=cash, 查询日期=query_date)

    # 有效 with a cash value of 30,000 beside 终止 (no cash value), one day: the 30,000 counted, FINDINGS
    (a,) = w.household("AUI1", [("保一", "本人")])
    policy(a, "P8851", "终止", "")
    policy(a, "P8851", "有效", "30000")
    case("AUI1", "INCOMPLETE", "VALUE_UNKNOWN")
    # pinned: in force on 2026-11-10, ended on 2026-11-26: ended
    (a,) = w.household("AUI2", [("保二", "本人")])
    policy(a, "P8852", "有效", "30000", "20261110")
    policy(a, "P8852", "终止", "0")
    case("AUI2", "CLEAR", "")
    # pinned: ended on 2026-11-10, in force on 2026-11-26: in force
    (a,) = w.household("AUI3", [("保三", "本人")])
    policy(a, "P8853", "终止", "0", "20261110")
    policy(a, "P8853", "有效", "30000")
    case("AUI3", "FINDINGS", "FINANCIAL_ASSETS_OVER_LIMIT")
    return w


with fresh_ids(8800):
    WORLD = build()  # built on import: its households are the parameters of the test below


@pytest.fixture(scope="module")
def assess8_run(tmp_path_factory):
    return run_world(WORLD, tmp_path_factory, "assess8")


@pytest.mark.parametrize(("rid", "outcome", "codes"), CASES, ids=[c[0] for c in CASES])
def test_AU00_each_household_gets_the_outcome_policy_md_gives_it(assess8_run, rid, outcome, codes):
    """AU01 (AUB*, AUS1, AUP1: answers queried after the authorization, long before the request), AU02 (AUH*: months
    missing inside a benefit's run), AU03 (AUM*: one securities account answered twice for one day), AU04 (AUT*: more
    tax paid on a row than its income), AU05 (AUI*: one policy in force and ended for one day)."""
    assert outcomes(assess8_run)[rid] == (outcome, codes)


def test_AU01_an_answer_queried_long_before_the_request_is_no_balance_of_now(assess8_run):
    """AU01 (results serve the request they were made for): an answer queried after the authorization but more than a
    month before the request date is not counted; the gap names its query date, the authorization date, the request
    date and the old amount; a later answer of the account supersedes it; one queried days before the request is
    weighed; one before an authorization signed after the request is named as before the authorization."""
    assets = dict(query(assess8_run, "select request_id, financial_assets_yuan from figures "
                                     "where request_id similar to 'AU[BSP][0-9]'"))
    assert assets == pytest.approx({"AUB1": 0, "AUB2": 0, "AUB3": 100, "AUB4": 100, "AUS1": 0, "AUP1": 0,
                                    "AUB5": 100, "AUB6": 0})
    [(source, code, reason)] = query(assess8_run, "select source, code, reason_zh from evidence_gaps "
                                                  "where request_id = 'AUB2'")
    assert (source, code) == ("bank", "VALUE_UNKNOWN")
    assert "查询日期 2024-06-15 晚于授权日期 2024-03-01，但早于本次委托日期 2026-11-20 一个月以上" in reason, reason
    assert "50,000.00" in reason and "不是本次核对的查询结果" in reason and "请为本次委托重新查询" in reason, reason
    assert sorted(query(assess8_run, "select source from evidence_gaps where request_id = 'AUS1'")) == [
        ("insurance",), ("securities",)]
    [(reason,)] = query(assess8_run, "select reason_zh from evidence_gaps where request_id = 'AUB6'")
    assert "查询日期 2026-09-01 早于该成员的授权日期 2026-11-25 一个月以上，不是本次核对的查询结果" in reason, reason
    lineage = query(assess8_run, "select amount_yuan, is_counted, exclusion_zh from figure_lineage "
                                 "where request_id = 'AUB3' order by amount_yuan")
    assert lineage == [(100, True, None), (50000, False, "同一账户另有更新的查询结果，以最新一次为准")]
    lineage = query(assess8_run, "select exclusion_zh from figure_lineage where request_id = 'AUB1'")
    assert lineage == [("查询日期早于本次委托日期一个月以上，是此前的查询结果，不是本次核对的查询结果，不计入",)]
    page = (assess8_run.report_dir / "households" / "AUB2.html").read_text(encoding="utf-8")
    assert "核对信息不完整" in page and "2024-06-15" in page


def test_AU01_an_old_answer_waiting_for_review_is_an_unconfirmed_link(assess8_run):
    """AU01: a record waiting for review whose answer was queried long before the request: confirmed, it would be an
    old answer — UNCONFIRMED_LINK with its match weight and its query date."""
    [(code, weight, reason)] = query(assess8_run, "select code, match_weight, reason_zh from evidence_gaps "
                                                  "where request_id = 'AUP1'")
    assert code == "UNCONFIRMED_LINK" and weight is not None
    assert "查询日期 2024-06-15" in reason and "早于本次委托日期 2026-11-20" in reason, reason


def test_AU02_months_missing_inside_a_benefits_run_are_unknown_and_named(assess8_run):
    """AU02: a benefit's months missing between two delivered months add nothing and are listed (VALUE_UNKNOWN) with
    the scheme, the run and the missing months, citing the latest row of the run; the figure is what was delivered."""
    gaps = query(assess8_run, "select request_id, source, code, file_name, reason_zh from evidence_gaps "
                              "where request_id like 'AUH%' order by 1")
    assert [g[:4] for g in gaps] == [
        (rid, "social_insurance", "VALUE_UNKNOWN", "social_insurance/20261128/social_insurance_20261128.csv")
        for rid in ("AUH1", "AUH2", "AUH3")]
    assert gaps[0][4] == ("企业职工基本养老保险待遇在计算期内 2025-11 至 2026-10 按月发放，其中 2026-04、2026-05 共 2 个月无记录，"
                          "该月待遇未知，未计入（不按 0 计）；请向社保部门核实")
    assert "失业保险待遇在计算期内 2025-11 至 2026-06 按月发放，其中 2026-02 共 1 个月无记录" in gaps[1][4]
    income = dict(query(assess8_run, "select request_id, income_monthly_per_capita_yuan from figures "
                                     "where request_id like 'AUH%'"))
    assert income == pytest.approx({"AUH1": 750, "AUH2": 525, "AUH3": 916.666667, "AUH4": 650, "AUH5": 0})


def test_AU03_one_accounts_two_answers_of_one_day_count_the_smaller_not_the_sum(assess8_run):
    """AU03: of one securities account's two answers of one 查询日期, one with its 资金余额 empty, the smaller counts
    (not the sum); the pair is listed as a contradiction and the empty value as unknown."""
    assets = dict(query(assess8_run, "select request_id, financial_assets_yuan from figures "
                                     "where request_id like 'AUM%'"))
    assert assets == pytest.approx({"AUM1": 100, "AUM2": 30000})
    reasons = sorted(r for (r,) in query(assess8_run, "select reason_zh from evidence_gaps where request_id = 'AUM1'"))
    assert any("同一账户同一查询日期交付了不同的持仓市值与资金余额（100.00 元至 30000.00 元）" in r for r in reasons), reasons
    assert any("记录缺少“资金余额”" in r for r in reasons), reasons
    lineage = query(assess8_run, "select amount_yuan, is_counted from figure_lineage where request_id = 'AUM1' "
                                 "order by amount_yuan")
    assert lineage == [(100, True), (30000, False)]


def test_AU04_a_rows_tax_is_deducted_up_to_its_income_never_from_the_others(assess8_run):
    """AU04: the tax deducted from a tax row is at most its income (nothing where the income is empty): the household's
    income is the other members' (850 a head), the row listed; an ordinary tax is deducted whole."""
    income = dict(query(assess8_run, "select request_id, income_monthly_per_capita_yuan from figures "
                                     "where request_id like 'AUT%'"))
    assert income == pytest.approx({"AUT1": 850, "AUT2": 850, "AUT3": 700})
    taxed = dict(query(assess8_run, "select request_id, tax_paid_yuan from figures where request_id like 'AUT%'"))
    assert taxed == pytest.approx({"AUT1": 100, "AUT2": 0, "AUT3": 3600})
    [(reason,)] = query(assess8_run, "select reason_zh from evidence_gaps where request_id = 'AUT1'")
    assert "“已缴税额” 5,000.00 元大于“收入额” 100.00 元" in reason, reason
    lineage = query(assess8_run, "select amount_yuan, tax_paid_yuan from figure_lineage where request_id = 'AUT1' "
                                 "and member_id = (select member_id from figure_lineage where request_id = 'AUT1' "
                                 "and amount_yuan = 100)")
    assert lineage == [(100, 100)]


def test_AU05_a_policy_in_force_and_ended_on_one_day_counts_nothing_and_is_listed(assess8_run):
    """AU05: a policy answered 有效 and 终止 for one 查询日期 counts nothing (the smaller) and its in-force row is listed
    with the date and the cash value left out; a later answer supersedes an earlier one either way."""
    assets = dict(query(assess8_run, "select request_id, financial_assets_yuan from figures "
                                     "where request_id like 'AUI%'"))
    assert assets == pytest.approx({"AUI1": 0, "AUI2": 0, "AUI3": 30000})
    [(code, file_name, reason)] = query(assess8_run, "select code, file_name, reason_zh from evidence_gaps "
                                                     "where request_id = 'AUI1'")
    assert (code, file_name) == ("VALUE_UNKNOWN", "insurance/20261128/insurance_20261128.csv")
    assert reason == ("同一保单在同一查询日期 2026-11-26 交付了“有效”和“终止”两种保单状态，以哪个为准未知，按较小者计：现金价值 "
                      "30,000.00 元未计入；请向保险公司核实")
    lineage = query(assess8_run, "select is_counted, exclusion_zh from figure_lineage where request_id = 'AUI1' "
                                 "and amount_yuan = 30000")
    assert lineage == [(False, "同一保单同一查询日期另有“终止”的答复，保单状态以哪个为准未知，按较小者（终止）不计入")]
