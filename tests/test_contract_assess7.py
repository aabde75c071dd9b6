"""Assess, seventh pass: an answer of a bank, securities registry or insurer without 查询日期, delivered as the
departments deliver it (sources.md), the real pipeline run over small households built by hand
(tests/contract_world.py); and the shape of the assessment SQL (one links macro, one shape of contradicted months).

Settled where the contract is open:
- sources.md lists 查询日期 among the headers of bank, securities and insurance answers, but nothing makes a delivery
  fill it (the header maps do not require the column).  policy.md: results serve the request they were made for
  (先授权后核对), and an answer queried more than a month before the member signed the authorization is no answer of
  this request (test_contract_clear6 CX02, hd_predates_authorization).  An answer of no query date cannot be shown to
  be one of this request's, and nothing in the contract makes an answer one by definition (a bank may deliver what it
  holds from an earlier query).  So it is weighed like the old one — not counted — and, its date being unknown,
  listed: the record lacks a value the assessment needs (policy.md: empty is unknown, "a column the delivery left
  out" included): VALUE_UNKNOWN naming the file and row; waiting for review, UNCONFIRMED_LINK.  Not counted rather
  than counted with the gap: a finding would otherwise rest on a balance that may predate the request, and an undated
  answer beside a dated one of the same account was summed with it.
- An undated answer beside a dated answer of the same account is listed too: which of the two is the later is unknown.
  The dated one (of this request) counts.  A policy not in force (保单状态 终止) counts nothing, dated or not: no gap.
- Two undated answers of one account with different balances are not "one 查询日期": each is listed as lacking it,
  not as a contradiction of one query's answer.

Policy of the run (hedui/policies/jiangxi_demo.yaml, 2026, 城市): financial assets at most 19,200 yuan per person;
authorizations signed 2026-11-01.
"""

from __future__ import annotations

import re

import pytest
from contract_world import RUN, World, fresh_ids, outcomes, query, run_world
from test_contract_traps10 import fill

from hedui.resources import data_path

#: (request id, outcome, codes)
CASES: list[tuple[str, str, str]] = []


def case(rid: str, outcome: str, codes: str) -> None:
    CASES.append((rid, outcome, codes))


def bank(w: World, p: dict, balance: str, query_date: str, account: str | None = None) -> None:
    w.add("bank", 机构名称="中国工商银行赣州分行", 户名=p["name"], 证件号码=p["id"],
          账号=account or f"6222{len(w.rows['bank']):015d}", 账户类型="活期", 余额=balance, 查询日期=query_date)


def build() -> World:
    w = World()
    fill(w)
    # 100 yuan with no 查询日期: weighed as current, CLEAR — whether it is an answer of this request is unknown
    (a,) = w.household("ASB1", [("查一", "本人")])
    bank(w, a, "100", "")
    case("ASB1", "INCOMPLETE", "VALUE_UNKNOWN")
    # 50,000 yuan with no 查询日期: counted, FINDINGS on a balance that may predate the request
    (a,) = w.household("ASB2", [("查二", "本人")])
    bank(w, a, "50000", "")
    case("ASB2", "INCOMPLETE", "VALUE_UNKNOWN")
    # one account answered 2026-11-26 (100) and undated (50,000): both counted, 50,100 — FINDINGS on a sum
    (a,) = w.household("ASB3", [("查三", "本人")])
    bank(w, a, "100", "20261126", account="6222000000000000333")
    bank(w, a, "50000", "", account="6222000000000000333")
    case("ASB3", "INCOMPLETE", "VALUE_UNKNOWN")
    # the same account answered twice without a date, 12,000 and 14,000: listed as two undated answers
    (a,) = w.household("ASB4", [("查四", "本人")])
    bank(w, a, "12000", "", account="6222000000000000444")
    bank(w, a, "14000", "", account="6222000000000000444")
    case("ASB4", "INCOMPLETE", "VALUE_UNKNOWN")
    # pinned: a dated answer of this request is weighed, nothing to say
    (a,) = w.household("ASB5", [("查五", "本人")])
    bank(w, a, "100", "2026-11-26")
    case("ASB5", "CLEAR", "")
    # a securities account and a policy in force answered without a date
    (a,) = w.household("ASS1", [("查六", "本人")])
    w.add("securities", 姓名=a["name"], 证件号码=a["id"], 证券账户="A0007001", 持仓市值="500", 资金余额="20", 查询日期="")
    case("ASS1", "INCOMPLETE", "VALUE_UNKNOWN")
    (a,) = w.household("ASI1", [("查七", "本人")])
    w.add("insurance", 投保人=a["name"], 投保人证件号=a["id"], 保单号="P7001", 险种="年金", 保单状态="有效",
          现金价值="300", 查询日期="")
    case("ASI1", "INCOMPLETE", "VALUE_UNKNOWN")
    # pinned: a policy ended (终止) counts nothing, dated or not
    (a,) = w.household("ASI2", [("查八", "本人")])
    w.add("insurance", 投保人=a["name"], 投保人证件号=a["id"], 保单号="P7002", 险种="寿险", 保单状态="终止",
          现金价值="300", 查询日期="")
    case("ASI2", "CLEAR", "")
    # an undated account of 100 yuan waiting for review (a homophone name, no ID): confirmed, what it holds would be
    # unknown; 100 yuan pushes nothing over a limit, so nothing listed it and the household was CLEAR
    (a,) = w.household("ASP1", [("赵敏", "本人")])
    w.add("bank", 机构名称="中国工商银行赣州分行", 户名="赵民", 证件号码="", 账号="6222000000000000901", 账户类型="活期",
          余额="100", 查询日期="")
    case("ASP1", "INCOMPLETE", "UNCONFIRMED_LINK")
    # the same of an account queried in 2024, long before the authorization (2026-11-01): confirmed, it would be an old
    # answer and what the account holds now unknown (CX02); 100 yuan pushes nothing over, nothing listed it: CLEAR
    (a,) = w.household("ASP2", [("钱敏", "本人")])
    w.add("bank", 机构名称="中国工商银行赣州分行", 户名="钱民", 证件号码="", 账号="6222000000000000902", 账户类型="活期",
          余额="100", 查询日期="2024-01-02")
    case("ASP2", "INCOMPLETE", "UNCONFIRMED_LINK")
    # --- an authorization on file (授权书编号) whose 授权日期 was left empty ------------------------------------------
    # 100 yuan queried 2024-01-02, long before the request (2026-11-20): dated, the authorization would show it an old
    # answer (CX02, not weighed); undated, it was weighed as current: CLEAR
    (a,) = w.household("ASA1", [("授一", "本人")])
    w.rows["requests"][-1]["授权日期"] = ""
    bank(w, a, "100", "2024-01-02")
    case("ASA1", "INCOMPLETE", "VALUE_UNKNOWN")
    # pinned: queried 2026-11-26, after the request: whenever the authorization was signed, not a month before it
    (a,) = w.household("ASA2", [("授二", "本人")])
    w.rows["requests"][-1]["授权日期"] = ""
    bank(w, a, "100", "20261126")
    case("ASA2", "CLEAR", "")
    return w


def build_left_out() -> World:
    """A bank whose file has no 查询日期 column at all."""
    w = World()
    fill(w)
    (a,) = w.household("ASL1", [("查九", "本人")])
    bank(w, a, "100", "")
    case("ASL1", "INCOMPLETE", "VALUE_UNKNOWN")
    return w


with fresh_ids(7700):
    WORLD = build()  # built on import: its households are the parameters of the test below
    LEFT_OUT = build_left_out()


@pytest.fixture(scope="module")
def assess7_run(tmp_path_factory):
    return run_world(WORLD, tmp_path_factory, "assess7")


@pytest.fixture(scope="module")
def left_out_run(tmp_path_factory):
    from hedui.pipeline import RunContext, run

    inbox = tmp_path_factory.mktemp("assess7_left_out") / "inbox"
    LEFT_OUT.write(inbox, left_out={"bank": ["查询日期"]})
    ctx = RunContext.of(inbox, tmp_path_factory.mktemp("assess7_left_out_work"), RUN)
    run(ctx)
    return ctx


@pytest.mark.parametrize(("rid", "outcome", "codes"), [c for c in CASES if c[0] != "ASL1"],
                         ids=[c[0] for c in CASES if c[0] != "ASL1"])
def test_AS00_each_household_gets_the_outcome_policy_md_gives_it(assess7_run, rid, outcome, codes):
    """AS01 (ASB*: bank answers without 查询日期), AS02 (ASS1, ASI*: securities and insurance), AS03 (ASP1: one waiting
    for review)."""
    assert outcomes(assess7_run)[rid] == (outcome, codes)


def test_AS01_an_undated_answer_is_not_counted_and_its_gap_names_the_file_and_row(assess7_run):
    """AS01: an answer of no 查询日期 is not counted (neither alone nor beside a dated answer of its account); the gap
    names the record's file and row and says the query date is missing; two undated answers of one account are not
    one query's contradiction."""
    assets = dict(query(assess7_run, "select request_id, financial_assets_yuan from figures "
                                     "where request_id in ('ASB1', 'ASB2', 'ASB3', 'ASB4', 'ASB5')"))
    assert assets == pytest.approx({"ASB1": 0, "ASB2": 0, "ASB3": 100, "ASB4": 0, "ASB5": 100})
    gaps = query(assess7_run, "select request_id, source, code, file_name, row_no, reason_zh from evidence_gaps "
                              "where request_id like 'ASB%' order by request_id, row_no")
    assert [g[0] for g in gaps] == ["ASB1", "ASB2", "ASB3", "ASB4", "ASB4"]
    for rid, source, code, file_name, row_no, reason in gaps:
        assert (source, code, file_name) == ("bank", "VALUE_UNKNOWN", "bank/20261128/bank_20261128.csv"), rid
        assert row_no is not None and "记录缺少“查询日期”" in reason and "无法确认是本次核对" in reason, reason
    listed = query(assess7_run, "select b.balance_yuan from evidence_gaps as g join stg_bank as b "
                                "on b.record_id = g.record_id and b.run_date = g.run_date where g.request_id = 'ASB3'")
    assert listed == [(50000,)]  # the undated row is the one listed
    lineage = query(assess7_run, "select amount_yuan, is_counted, exclusion_zh from figure_lineage "
                                 "where request_id = 'ASB3' order by amount_yuan")
    assert lineage == [(100, True, None), (50000, False, "无查询日期，无法确认是本次核对（授权后）的查询结果，不计入")]
    page = (assess7_run.report_dir / "households" / "ASB2.html").read_text(encoding="utf-8")
    assert "核对信息不完整" in page and "查询日期" in page


def test_AS02_undated_securities_and_insurance_answers_are_listed_an_ended_policy_not(assess7_run):
    """AS02: a securities account and a policy in force without 查询日期 are listed and not counted; a policy not in
    force counts nothing whatever its date."""
    gaps = query(assess7_run, "select request_id, source, code from evidence_gaps where request_id like 'ASS%' "
                              "or request_id like 'ASI%' order by 1")
    assert gaps == [("ASI1", "insurance", "VALUE_UNKNOWN"), ("ASS1", "securities", "VALUE_UNKNOWN")]
    assets = dict(query(assess7_run, "select request_id, financial_assets_yuan from figures "
                                     "where request_id in ('ASS1', 'ASI1', 'ASI2')"))
    assert assets == pytest.approx({"ASS1": 0, "ASI1": 0, "ASI2": 0})


def test_AS03_an_undated_answer_waiting_for_review_is_an_unconfirmed_link(assess7_run):
    """AS03: a record waiting for review whose answer has no 查询日期: confirmed, what the account holds would be
    unknown — UNCONFIRMED_LINK with its match weight."""
    [(code, weight, reason)] = query(assess7_run, "select code, match_weight, reason_zh from evidence_gaps "
                                                  "where request_id = 'ASP1'")
    assert code == "UNCONFIRMED_LINK" and weight is not None and "查询日期" in reason


def test_AS04_a_bank_file_without_the_query_date_column_is_weighed_as_undated(left_out_run):
    """AS04: the column left out (the header maps do not require it): every answer of the file is undated."""
    assert outcomes(left_out_run)["ASL1"] == ("INCOMPLETE", "VALUE_UNKNOWN")
    [(reason,)] = query(left_out_run, "select reason_zh from evidence_gaps where request_id = 'ASL1'")
    assert "记录缺少“查询日期”" in reason


# --- the shape of the assessment SQL ----------------------------------------------------------------------------------

#: a union of the links with the records waiting for review, written out (not read through hd_member_links)
_LINKS_UNION = re.compile(r"from\s+(main\.)?links\b[^;]{0,400}?union\s+all[^;]{0,400}?from\s+(main\.)?pending(_links)?\b",
                          re.IGNORECASE | re.DOTALL)


def test_AS10_the_links_and_the_pending_pairs_are_one_macro_read_everywhere():
    """AS10: the run's links ∪ the pairs waiting for review (is_confirmed, is_pending) are written once, in
    hd_member_links (sql/assess/macros.sql); every model and macro of sql/assess reads them through it."""
    folder = data_path("sql", "assess")
    written = {p.name: len(_LINKS_UNION.findall(p.read_text(encoding="utf-8"))) for p in folder.glob("*.sql")}
    assert {name: n for name, n in written.items() if n} == {"macros.sql": 1}
    macros = (folder / "macros.sql").read_text(encoding="utf-8")
    assert macros.count("hd_member_links(rd, '") == 5  # the tax, benefit, bank, vehicle and entity macros


def test_AS11_the_tax_and_benefit_month_contradictions_are_one_shape():
    """AS11: one month of tax or of a benefit delivered with different amounts is one kind of gap, listed by one CTE
    (evidence_gaps.sql's conflicting_months over contradicted_months); the rows are test_contract_clear6's CX01/CX04."""
    text = (data_path("sql", "assess") / "evidence_gaps.sql").read_text(encoding="utf-8")
    assert text.count("以哪条为准未知，'") == 1 and "conflicting_tax" not in text and "conflicting_benefits" not in text


def test_AS05_an_authorization_of_no_date_bounds_its_answers_by_the_request_date(assess7_run):
    """AS05: an authorization on file whose 授权日期 is empty was signed by the request date (委托日期) at the latest: an
    answer queried more than a month before that cannot be shown to be one of this request's — not counted, listed
    with both dates; one queried after the request is weighed."""
    [(code, reason)] = query(assess7_run, "select code, reason_zh from evidence_gaps where request_id = 'ASA1'")
    assert code == "VALUE_UNKNOWN"
    assert reason.startswith("该成员的授权日期为空，查询日期 2024-01-02 早于委托日期 2026-11-20 一个月以上") and "100.00" in reason
    assets = dict(query(assess7_run, "select request_id, financial_assets_yuan from figures "
                                     "where request_id in ('ASA1', 'ASA2')"))
    assert assets == pytest.approx({"ASA1": 0, "ASA2": 100})
    [(excluded,)] = query(assess7_run, "select exclusion_zh from figure_lineage where request_id = 'ASA1'")
    assert excluded.startswith("授权日期为空，查询日期早于委托日期一个月以上")


def test_AS06_an_old_answer_waiting_for_review_is_an_unconfirmed_link(assess7_run):
    """AS06: a record waiting for review whose answer was queried more than a month before the authorization:
    confirmed, it would be an old answer (CX02) — UNCONFIRMED_LINK with its weight, its query date and amount."""
    [(code, weight, reason)] = query(assess7_run, "select code, match_weight, reason_zh from evidence_gaps "
                                                  "where request_id = 'ASP2'")
    assert code == "UNCONFIRMED_LINK" and weight is not None
    assert "查询日期 2024-01-02 早于该成员的授权日期 2026-11-01 一个月以上（余额 100.00 元）" in reason
