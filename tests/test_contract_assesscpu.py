"""Assess's CPU (issue #16, session 30): what the cuts must leave unchanged.  Pins (old and new code give the same
rows): a bank account's latest answer and its answers of one 查询日期 (least, greatest, one empty) read off groupings
joined back where windows sorted every answer by its account — evidence_gaps.sql's stale and contradicted answers,
figures.sql's counted balances and figure_lineage.sql's exclusions, with accounts of no institution (a NULL key,
one partition of a window), undated answers, links waiting for review and unconfirmed; a residential unit's number
read after its link (evidence_gaps.sql); a policy version's excluded items with the header maps' enums read once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random

from hedui import db
from hedui.steps import policy
from tests import model_tables as mt
from tests.test_evidence_gaps import RUN, con  # noqa: F401  (the evidence-gap tables of household R1)

DATES = [dt.date(2026, 11, 26), dt.date(2026, 11, 24), dt.date(2026, 9, 1), None]  # 09-01: before the request
BALANCES = [100.0, 250.0, None, 100.0, 9000.0]


def _bank_world(c, link, *, seed: int = 7, accounts: int = 40) -> None:
    """Accounts of two members, each answered one to three times: one account's answers on one day saying two
    amounts or one empty, an older answer, an undated one, an account of no institution; linked exactly, by an
    unconfirmed probabilistic link, or waiting for review."""
    rnd = random.Random(seed)
    n = 0
    for _ in range(accounts):
        institution = rnd.choice(["工商银行", "建设银行", None])
        account_no = rnd.choice(["6222 0001", "6222-0001", "6222 0002", None])
        account_type = rnd.choice(["活期", "定期", None, None])
        member = rnd.choice(["p1:a", "p1:b"])
        for _answer in range(rnd.randint(1, 3)):
            n += 1
            record_id = f"bank:b.csv:{n}"
            c.execute("insert into stg_bank (run_date, record_id, balance_yuan, institution, account_no, query_date, "
                      "account_type) values (?, ?, ?, ?, ?, ?, ?)",
                      [RUN, record_id, rnd.choice(BALANCES), institution, account_no, rnd.choice(DATES),
                       account_type])
            how = rnd.choice(["exact", "exact", "exact", "probabilistic", "pending"])
            link(c, record_id, member, how, round(0.8 + rnd.random() / 10, 3))


def _gap_link(c, record_id, member, how, weight):
    if how == "pending":
        c.execute("insert into pending_links values (?, 'bank', ?, 'R1', ?, 'probabilistic', ?, false, 'pending')",
                  [RUN, record_id, member, weight])
    else:
        c.execute("insert into links values (?, 'bank', ?, 'R1', ?, ?, ?, ?)",
                  [RUN, record_id, member, "exact_id" if how == "exact" else "probabilistic",
                   None if how == "exact" else weight, how == "exact"])


def _digest(rows) -> str:
    return hashlib.sha256(repr(sorted(rows, key=repr)).encode()).hexdigest()[:16]


def test_BP01_bank_answers_gaps_as_the_windows_gave_them(con):  # noqa: F811
    """Stale answers (the account's latest, queried before the request), answers of one day saying two amounts or
    one empty (VALUE_UNKNOWN) and the pending ones: every bank gap row (code, member, record, weight, reason) as
    the windows over the answers gave them (old code's rows, digest)."""
    _bank_world(con, _gap_link)
    rows = [r for r in con.sql(db.sql_text("assess/evidence_gaps.sql"), params={"run_date": RUN}).fetchall()
            if r[3] == "bank"]
    codes = sorted({(r[4], r[10][:12]) for r in rows})
    assert len(rows) == 63
    assert ("VALUE_UNKNOWN", "同一账户同一查询日期交付") in codes  # two amounts of one day
    assert ("VALUE_UNKNOWN", "同一账户同一查询日期另有") in codes  # one empty beside it
    assert ("VALUE_UNKNOWN", "该成员的授权日期为空，查") in codes  # the latest answer queried before the request
    assert any(code == "UNCONFIRMED_LINK" for code, _ in codes)
    assert _digest(rows) == "aad3e4485a265fa1"


def _model_link(c, record_id, member, how, weight):
    mt.link(c, "bank", record_id, member, confirmed=how == "exact", pending=how == "pending",
            weight=None if how == "exact" else weight)


def test_BP02_bank_balances_counted_and_their_lineage_as_the_windows_gave_them():
    """The same accounts in figures.sql (financial assets counted, counted if the unconfirmed links are rejected,
    if the pending ones are confirmed) and figure_lineage.sql (each answer's exclusion and whether it counts)."""
    expected = {7: ((29000.0, 9825.0, 14600.0), 67, "9f2e47a0c32cee1b"),
                11: ((38350.0, 18825.0, 28400.0), 64, "43d0bca6fc33ea49"),
                3: ((10500.0, 625.0, 5500.0), 51, "dc5deac7bd371a5c")}
    for seed, (assets, n, digest) in expected.items():
        c = mt.connect()
        _bank_world(c, _model_link, seed=seed)
        f = mt.figures(c)
        assert (f["financial_assets_yuan"], f["financial_assets_per_capita_confirmed_yuan"],
                f["financial_assets_per_capita_if_confirmed_yuan"]) == assets
        lineage = [(r["record_id"], r["member_id"], r["is_excluded"], r["exclusion_zh"], r["is_counted"])
                   for r in mt.model(c, "figure_lineage") if r["source"] == "bank"]
        assert {(x[3] or "")[:10] for x in lineage} >= {"同一账户另有更新的查", "同一账户同一查询日期", "无查询日期，无法确认"}
        assert (len(lineage), _digest(lineage)) == (n, digest)


def test_BP03_a_unit_of_no_number_linked_to_a_household_over_the_limit_and_not(con):  # noqa: F811
    """A residential unit numbered `无` (or `-`, or empty) is listed where its household is over the limit (the
    number read after the link), not where it is not, nor for a unit with a number, nor one unlinked."""
    con.execute("insert into finding_candidates values (?, 'R1', 'RESIDENTIAL_UNITS_OVER_LIMIT', 'p1:a', "
                "'real_estate', 're:1', '', true, 'exact_id', null, false)", [RUN])
    for rid, unit in (("re:1", "无"), ("re:2", "３６０１０２ ００１"), ("re:3", "-"), ("re:4", None), ("re:5", "无")):
        con.execute("insert into stg_real_estate values (?, ?, '住宅', '现势', 80.0, ?, '某路1号')", [RUN, rid, unit])
    for rid in ("re:1", "re:2", "re:3"):
        con.execute("insert into links values (?, 'real_estate', ?, 'R1', 'p1:a', 'exact_id', null, true)", [RUN, rid])
    con.execute("insert into links values (?, 'real_estate', 're:4', 'R2', 'p1:c', 'exact_id', null, true)", [RUN])
    rows = [r for r in con.sql(db.sql_text("assess/evidence_gaps.sql"), params={"run_date": RUN}).fetchall()
            if r[3] == "real_estate"]
    assert sorted((r[1], r[2], r[4], r[5]) for r in rows) == [
        ("R1", "p1:a", "VALUE_UNKNOWN", "re:1"), ("R1", "p1:a", "VALUE_UNKNOWN", "re:3")]


def test_BP04_excluded_items_with_the_enums_read_once_are_those_read_per_item():
    delivered = policy._delivered_items()
    for items in (["劳务报酬", "经营所得", "城乡居民基本养老保险"], ["利息、股息、红利所得", "奖学金"], [], ["未知项目"]):
        assert policy.excluded_items(items, delivered) == policy.excluded_items(items)
        assert [policy._delivered_item(x, delivered) for x in items] == [policy._delivered_item(x) for x in items]
