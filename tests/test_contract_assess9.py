"""Assess, ninth pass (policy.md: CLEAR is earned, never a default): the cases the eighth left, delivered as the
departments deliver them (sources.md), the real pipeline run over small households built by hand
(tests/contract_world.py).

Settled where the contract is open:
- AV01, a member's wages below the individual share of his contributions (a tax wage of 100 yuan a month beside a
  pension contribution on a base of 5,000: a share of 400).  The row is listed already (VALUE_UNKNOWN: the wage and the
  base contradict each other), but the figure deducted the whole share: his wages came to -300 a month and took that
  off the other members' incomes, hiding a finding standing on them.  The share is deducted from a wage (figures.sql),
  never from income that is not there: a member's share over the window is deducted up to his wages (tax wages less
  the tax paid on them, and wages estimated from a base), so his wages net of it are never below 0 and his other
  income and the other members' are untouched.  Whichever of the tax wage and the base is right, the wage net of its
  share is not below 0: the capped figure is the least the household has, and a finding standing on it stands.
- AV02, one bank account answered twice with the institution written two ways (a space, a full-width space, another
  case: 机构名称 read as hd_key reads a name) or with its 账户类型 left empty beside a typed answer of the same number:
  one account.  Answers of one 查询日期 alike count once; with different balances the smaller counts and the pair is
  listed (as for every contradiction of one account).  An empty 账户类型 takes the type of the number's typed answers
  where they give one type; the empty-type answer is listed (whether it is one account or two is not known, and two
  would count its balance again).
- AV03, one account answered 30,000 and empty for one 查询日期.  Which answer is right is unknown, and the empty one is
  not 0 but unknown: the account holds 30,000 or an unknown amount that may be less.  As for two balances of one
  answer the smaller counts, the account's balance is unknown: nothing of it is counted and both rows are listed
  (VALUE_UNKNOWN).  policy.md lets FINDINGS stand beside a gap only on its own evidence: the 30,000 is contradicted by
  the other answer, so it does not stand alone — INCOMPLETE (FINDINGS where other assets cross the limit anyway).
  An empty value of one answer (资金余额 empty beside a 持仓市值) is still a part unknown, not a second reading
  (test_contract_assess8 AU03/AUM2).
- AV04, a source whose delivery ends before the income window does (social insurance delivered to 2026-07 for a window
  ending 2026-10): the months after are not delivered, not months without income (DESIGN.md: absence of evidence is
  not evidence).  See test_AV04's docstring for how the end of a delivery is known.

Policy of the run (hedui/policies/jiangxi_demo.yaml, 2026, 城市): standard 800 yuan/person/month, financial assets at
most 19,200 yuan per person; individual share 8 % of the base (企业职工基本养老保险); requests dated 2026-11-20.
"""

from __future__ import annotations

import pytest
from contract_world import WINDOW, World, fresh_ids, new_id, outcomes, query, run_world
from test_contract_traps10 import fill

#: (request id, outcome, codes)
CASES: list[tuple[str, str, str]] = []


def case(rid: str, outcome: str, codes: str) -> None:
    CASES.append((rid, outcome, codes))


def answer(w: World, p: dict, balance: str, *, account: str, institution: str = "中国工商银行赣州分行",
           kind: str = "活期", query_date: str = "20261126") -> None:
    w.add("bank", 机构名称=institution, 户名=p["name"], 证件号码=p["id"], 账号=account, 账户类型=kind, 余额=balance,
          查询日期=query_date)


def build() -> World:
    w = World()
    fill(w)
    # --- AV01: a member's wages below his share ---------------------------------------------------------------------
    # the spouse's wages 1,900 a month (950 a head); the member's tax wage 100 on a base of 5,000 (share 400): -300 a
    # month, 800 a head — under the standard, INCOMPLETE instead of FINDINGS
    (a, b) = w.household("AVW1", [("薪一", "本人"), ("薪二", "配偶")])
    w.wages(a, WINDOW, "1900")
    w.wages(b, WINDOW, "100")
    w.si(b, WINDOW, "企业职工基本养老保险", "缴费", base="5000")
    case("AVW1", "FINDINGS", "INCOME_OVER_STANDARD;VALUE_UNKNOWN")
    # pinned: under the standard either way (1,500: 750 a head): the contradiction listed
    (a, b) = w.household("AVW2", [("薪三", "本人"), ("薪四", "配偶")])
    w.wages(a, WINDOW, "1500")
    w.wages(b, WINDOW, "100")
    w.si(b, WINDOW, "企业职工基本养老保险", "缴费", base="5000")
    case("AVW2", "INCOMPLETE", "VALUE_UNKNOWN")
    # the member's own pension (900) beside his wage below the share: his pension is not lowered by it
    (a,) = w.household("AVW3", [("薪五", "本人")])
    w.wages(a, WINDOW, "100")
    w.si(a, WINDOW, "企业职工基本养老保险", "缴费", base="5000")
    w.si(a, WINDOW, "机关事业单位养老保险", "待遇", benefit="900")
    case("AVW3", "FINDINGS", "INCOME_OVER_STANDARD;VALUE_UNKNOWN")
    # --- AV02: one account written two ways ------------------------------------------------------------------------
    for n in range(1000):  # accounts of people nobody asked about: one account on two rows stays under the suite's 1 %
        w.bank({"name": f"储户{n}", "id": new_id()}, "100")
    # the institution with a space: 15,000 twice, summed 30,000 — FINDINGS
    (a,) = w.household("AVB1", [("户一", "本人")])
    answer(w, a, "15000", account="6222000000000009001")
    answer(w, a, "15000", account="6222000000000009001", institution="中国工商银行 赣州分行")
    case("AVB1", "CLEAR", "")
    # a full-width space, and different balances: 15,000 and 12,000 summed — the smaller counts, the pair listed
    (a,) = w.household("AVB2", [("户二", "本人")])
    answer(w, a, "15000", account="6222000000000009002")
    answer(w, a, "12000", account="6222000000000009002", institution="中国工商银行\u3000赣州分行")
    case("AVB2", "INCOMPLETE", "VALUE_UNKNOWN")
    # another case: ICBC and icbc, 15,000 twice
    (a,) = w.household("AVB3", [("户三", "本人")])
    answer(w, a, "15000", account="6222000000000009003", institution="ICBC Ganzhou")
    answer(w, a, "15000", account="6222000000000009003", institution="icbc ganzhou")
    case("AVB3", "CLEAR", "")
    # an empty 账户类型 beside a 活期 answer of the number: 15,000 twice — one account, the empty-type answer listed
    (a,) = w.household("AVB4", [("户四", "本人")])
    answer(w, a, "15000", account="6222000000000009004")
    answer(w, a, "15000", account="6222000000000009004", kind="")
    case("AVB4", "INCOMPLETE", "VALUE_UNKNOWN")
    # pinned: a 活期 and a 定期 under one number are two accounts (15,000 + 15,000)
    (a,) = w.household("AVB5", [("户五", "本人")])
    answer(w, a, "15000", account="6222000000000009005")
    answer(w, a, "15000", account="6222000000000009005", kind="定期")
    case("AVB5", "FINDINGS", "FINANCIAL_ASSETS_OVER_LIMIT")
    # --- AV03: one account 30,000 and empty on one day -------------------------------------------------------------
    (a,) = w.household("AVE1", [("空一", "本人")])
    answer(w, a, "30000", account="6222000000000009011")
    answer(w, a, "", account="6222000000000009011")
    case("AVE1", "INCOMPLETE", "VALUE_UNKNOWN")
    # pinned: 30,000 on one account, another account's balance empty: the 30,000 stands on its own
    (a,) = w.household("AVE2", [("空二", "本人")])
    answer(w, a, "30000", account="6222000000000009012")
    answer(w, a, "", account="6222000000000009013")
    case("AVE2", "FINDINGS", "FINANCIAL_ASSETS_OVER_LIMIT;VALUE_UNKNOWN")
    # pinned: the empty answer on another account beside the contradicted one: 30,000 on a third account stands
    (a,) = w.household("AVE3", [("空三", "本人")])
    answer(w, a, "30000", account="6222000000000009014")
    answer(w, a, "", account="6222000000000009014")
    answer(w, a, "30000", account="6222000000000009015")
    case("AVE3", "FINDINGS", "FINANCIAL_ASSETS_OVER_LIMIT;VALUE_UNKNOWN")
    # a securities account answered 30,000 and (both values) empty on one day
    (a,) = w.household("AVE4", [("空四", "本人")])
    w.add("securities", 姓名=a["name"], 证件号码=a["id"], 证券账户="A0009011", 持仓市值="30000", 资金余额="0",
          查询日期="20261126")
    w.add("securities", 姓名=a["name"], 证件号码=a["id"], 证券账户="A0009011", 持仓市值="", 资金余额="",
          查询日期="20261126")
    case("AVE4", "INCOMPLETE", "VALUE_UNKNOWN")
    # a policy in force answered 30,000 and empty on one day
    (a,) = w.household("AVE5", [("空五", "本人")])
    for cash in ("30000", ""):
        w.add("insurance", 投保人=a["name"], 投保人证件号=a["id"], 保单号="P9011", 险种="年金", 保单状态="有效",
              现金价值=cash, 查询日期="20261126")
    case("AVE5", "INCOMPLETE", "VALUE_UNKNOWN")
    return w


with fresh_ids(9900):
    WORLD = build()  # built on import: its households are the parameters of the test below


@pytest.fixture(scope="module")
def assess9_run(tmp_path_factory):
    return run_world(WORLD, tmp_path_factory, "assess9")


@pytest.mark.parametrize(("rid", "outcome", "codes"), CASES, ids=[c[0] for c in CASES])
def test_AV00_each_household_gets_the_outcome_policy_md_gives_it(assess9_run, rid, outcome, codes):
    """AV01 (AVW*: wages below the share), AV02 (AVB*: one account written two ways), AV03 (AVE*: one account's answer
    and an empty one of one day)."""
    assert outcomes(assess9_run)[rid] == (outcome, codes)


def test_AV99_probe(assess9_run):
    print(sorted((k, v) for k, v in outcomes(assess9_run).items() if k.startswith("AV")))
    for t in ("figures",):
        for r in query(assess9_run, f"select request_id, income_monthly_per_capita_yuan, si_individual_yuan, financial_assets_yuan from {t} where request_id like 'AV%' order by 1"):
            print(r)
    for r in query(assess9_run, "select request_id, code, reason_zh from evidence_gaps where request_id like 'AV%' order by 1"):
        print(r)
    assert 0
