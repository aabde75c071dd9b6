"""sources.md read as an outsider writing hidden test deliveries would read it, round 17: the traps the previous round
found and left.  Amounts in the traditional 萬 (`2.5萬`, `3萬元`, a header `余额（萬元）`), a bank's corrected answer
delivered beside the original (one account, one 查询日期, two balances), a row without a name whose ID is misread
beyond the known forms (a letter O for 0, l for 1, a digit dropped), a CSV whose open quote swallows the rows after
it and a workbook whose data goes on on a second sheet (both rightly incomplete: the message now says where and
what to do).  Small households built by hand (tests/contract_world.py), one real pipeline run.

Decided against the contract:
- one account, one 查询日期, two balances: sources.md has one bank row per account and lets a department deliver
  *the same row* twice (a copy, not counted); two different balances are no copy but a contradiction — which one
  is right is a value the assessment needs and does not have (VALUE_UNKNOWN, policy.md).  The smaller is weighed,
  never the sum: a finding then holds whichever answer is right, and without one the household is INCOMPLETE,
  never CLEAR on the smaller.
- a row without a name under an ID unreadable otherwise names the member whose ID's first 14 characters (county and
  birth date, the key linkage blocks on) it carries once O, I, l are read as 0, 1, 1 — "the partial ID that linkage
  would use" (policy.md).  A member of another household born the same day in the same county is named too: kept
  from CLEAR, never given a finding.

Policy of the run (hedui/policies/jiangxi_demo.yaml, 2026, 城市): financial assets at most 19,200 yuan per person,
a subscribed contribution of 100,000 yuan or more is a finding.
"""

from __future__ import annotations

import pytest
from contract_world import RUN, World, fresh_ids, outcomes, query, xlsx_bytes
from test_contract_traps10 import fill

EXACT = ("FINDINGS", "FINANCIAL_ASSETS_OVER_LIMIT")
QUARANTINED = ("INCOMPLETE", "RECORD_QUARANTINED")


def bank(w: World, name: str, pid: str, balance: str, account: str | None = None) -> None:
    w.add("bank", 机构名称="赣州银行", 户名=name, 证件号码=pid, 账号=account or f"62300000{len(w.rows['bank']):011d}",
          账户类型="活期", 余额=balance, 查询日期="20261126")


def build() -> World:
    w = World()
    # --- 萬, the traditional 万, in an amount: the row was quarantined ("not a number") -------------------------------
    for rid, name, balance in [("TW01", "萬一", "2.5萬"), ("TW02", "萬二", "3萬元"), ("TW03", "萬三", "2 萬 人民币")]:
        (a,) = w.household(rid, [(name, "本人")])
        bank(w, a["name"], a["id"], balance)
        w.expect(rid, *EXACT)
    (a,) = w.household("TW04", [("萬四", "本人")])
    w.company(a, "有限责任公司", "存续", "15萬")  # 150,000 yuan subscribed
    w.expect("TW04", "FINDINGS", "BUSINESS_ROLE")
    (a,) = w.household("TW05", [("萬五", "本人")])
    w.add("insurance", 投保人=a["name"], 投保人证件号=a["id"], 保单号="PTW05", 险种="寿险", 保单状态="有效",
          现金价值="2.5萬", 查询日期="20261126")
    w.expect("TW05", *EXACT)

    # --- one account, one 查询日期, two balances (a corrected answer beside the original) ------------------------------
    # 12,000 and 14,000: summed, 26,000 crossed the limit (a finding from a doubled sum); either alone does not
    (a,) = w.household("TW10", [("陈十", "本人")])
    bank(w, a["name"], a["id"], "12000", account="6230000000000001010")
    bank(w, a["name"], a["id"], "14000", account="6230000000000001010")
    w.expect("TW10", "INCOMPLETE", "VALUE_UNKNOWN")
    # 25,000 and 30,000: over the limit whichever is right — the finding stands, the conflict is listed
    (a,) = w.household("TW11", [("陈十一", "本人")])
    bank(w, a["name"], a["id"], "30000", account="6230000000000001011")
    bank(w, a["name"], a["id"], "25000", account="6230000000000001011")
    w.expect("TW11", "FINDINGS", "FINANCIAL_ASSETS_OVER_LIMIT;VALUE_UNKNOWN")
    # pinned: the same balance twice is a copy (a duplicate of a staged row), counted once
    (a,) = w.household("TW12", [("陈十二", "本人")])
    bank(w, a["name"], a["id"], "15000", account="6230000000000001012")
    bank(w, a["name"], a["id"], "15000", account="6230000000000001012")
    w.expect("TW12", "CLEAR", "")
    # pinned: answers of two 查询日期 are the latest one's (test_contract_traps9), no conflict
    (a,) = w.household("TW13", [("陈十三", "本人")])
    bank(w, a["name"], a["id"], "30000", account="6230000000000001013")
    bank(w, a["name"], a["id"], "10000", account="6230000000000001013")
    w.rows["bank"][-2]["查询日期"] = "20261101"
    w.expect("TW13", "CLEAR", "")

    # --- a row without a name, its ID misread beyond the known forms: it named nobody, the household CLEAR ----------
    for rid, name, birth, misread in [
        ("TW20", "林二十", "19630704", lambda p: p[:6] + p[6:14].replace("0", "O", 1) + p[14:]),  # letter O for 0
        ("TW21", "林廿一", "19711021", lambda p: p[:6] + p[6:14].replace("1", "l", 1) + p[14:]),  # l for 1 in the birth
        ("TW22", "林廿二", "19580913", lambda p: p[:15] + p[16:]),  # a digit dropped: 17 characters, the last kept
        ("TW23", "林廿三", "19840229", lambda p: p[:16]),  # 16 digits
    ]:
        (a,) = w.household(rid, [(name, "本人")], births={name: birth})
        assert misread(a["id"]) != a["id"]
        bank(w, "", misread(a["id"]), "25000")
        w.expect(rid, *QUARANTINED)
    # not flooded: a member of the same county born another day stays CLEAR beside them
    w.household("TW24", [("林廿四", "本人")], births={"林廿四": "19630705"})
    w.expect("TW24", "CLEAR", "")
    # pinned: an ID whose birth date is another day's names nobody
    (a,) = w.household("TW25", [("林廿五", "本人")], births={"林廿五": "19500101"})
    bank(w, "", a["id"][:6] + "19500102" + a["id"][14:16].replace("0", "O"), "25000")
    w.expect("TW25", "CLEAR", "")
    fill(w)
    fill(w)
    return w


@pytest.fixture(scope="module")
def traps17_run(tmp_path_factory):
    from hedui.pipeline import RunContext, run

    with fresh_ids(170):
        world = build()
    inbox = tmp_path_factory.mktemp("traps17") / "inbox"
    world.write(inbox)
    ctx = RunContext.of(inbox, tmp_path_factory.mktemp("traps17_work"), RUN)
    run(ctx)
    return world, ctx


def test_every_household_has_the_outcome_the_contract_gives_it(traps17_run):
    """TW01–TW25: each household as policy.md gives it, by hand."""
    world, ctx = traps17_run
    got = outcomes(ctx)
    wrong = {rid: (got.get(rid), want) for rid, want in world.expected.items() if got.get(rid) != want}
    assert not wrong, wrong
