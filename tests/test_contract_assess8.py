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

Policy of the run (hedui/policies/jiangxi_demo.yaml, 2026, 城市): financial assets at most 19,200 yuan per person;
requests dated 2026-11-20.
"""

from __future__ import annotations

import pytest
from contract_world import World, fresh_ids, outcomes, query, run_world
from test_contract_traps10 import fill

#: (request id, outcome, codes)
CASES: list[tuple[str, str, str]] = []


def case(rid: str, outcome: str, codes: str) -> None:
    CASES.append((rid, outcome, codes))


def bank(w: World, p: dict, balance: str, query_date: str, account: str | None = None) -> None:
    w.add("bank", 机构名称="中国工商银行赣州分行", 户名=p["name"], 证件号码=p["id"],
          账号=account or f"6222{len(w.rows['bank']):015d}", 账户类型="活期", 余额=balance, 查询日期=query_date)


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
    return w


with fresh_ids(8800):
    WORLD = build()  # built on import: its households are the parameters of the test below


@pytest.fixture(scope="module")
def assess8_run(tmp_path_factory):
    return run_world(WORLD, tmp_path_factory, "assess8")


@pytest.mark.parametrize(("rid", "outcome", "codes"), CASES, ids=[c[0] for c in CASES])
def test_AU00_each_household_gets_the_outcome_policy_md_gives_it(assess8_run, rid, outcome, codes):
    """AU01 (AUB*, AUS1, AUP1: answers queried after the authorization, long before the request)."""
    assert outcomes(assess8_run)[rid] == (outcome, codes)


def test_AU01_an_answer_queried_long_before_the_request_is_no_balance_of_now(assess8_run):
    """AU01 (results serve the request they were made for): an answer queried after the authorization but more than a
    month before the request date is not counted; the gap names its query date, the authorization date, the request
    date and the old amount; a later answer of the account supersedes it; one queried days before the request is
    weighed; one before an authorization signed after the request is named as before the authorization."""
    assets = dict(query(assess8_run, "select request_id, financial_assets_yuan from figures "
                                     "where request_id like 'AU%'"))
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
