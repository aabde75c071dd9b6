"""Assess's cost (issue #16, session 27): what the cuts must leave unchanged.  Pins (old and new code give the same
rows): the evidence gaps of a linked social-insurance row read from the run's linked rows (`hd_si_rows`, once a run)
where they were the staged table joined to the links again, and a scheme's month of one contribution row read off
its group's aggregates in figures.sql (only a month of two rows or more is grouped again to choose its share's row).
"""

from __future__ import annotations

import datetime as dt

from hedui import db
from tests.model_tables import add, connect, figures, link
from tests.test_evidence_gaps import RUN, con  # noqa: F401  (the evidence-gap tables of household R1)

ENTERPRISE = "企业职工基本养老保险"


def _si(c, record_id, month, base, *, scheme=ENTERPRISE, member="p1:a", **how):
    add(c, "stg_social_insurance", record_id, scheme, "缴费", dt.date.fromisoformat(month), None, base)
    link(c, "social_insurance", record_id, member, **how)


def test_BG01_a_months_one_or_two_contribution_rows_deduct_the_same_shares():
    """One scheme's month of two rows (confirmed and not; counted and waiting for review; an unknown base beside a
    known one of another member), months of one row: the wages and shares of every figure as before the cut."""
    c = connect()
    _si(c, "si:a", "2026-03-01", 3000.0)
    _si(c, "si:b", "2026-03-01", 2000.0, confirmed=False)  # the month's least base: its share is deducted
    _si(c, "si:c", "2026-04-01", 1000.0, pending=True, weight=0.9)  # waiting beside a counted row of the month
    _si(c, "si:d", "2026-04-01", 1500.0)
    _si(c, "si:e", "2026-04-01", 1500.0, scheme="失业保险", confirmed=False)  # another scheme: its own share
    _si(c, "si:f", "2026-05-01", None)  # one row, base unknown
    _si(c, "si:g", "2026-05-01", 1200.0, member="p1:b")
    _si(c, "si:h", "2026-06-01", 0.0, pending=True, weight=0.85)
    f = figures(c)
    assert (f["wage_estimate_yuan"], f["si_individual_yuan"]) == (5700.0, 383.5)
    assert (f["income_monthly_per_capita_yuan"], f["income_monthly_per_capita_confirmed_yuan"],
            f["income_monthly_per_capita_if_confirmed_yuan"]) == (221.520833, 218.5, 264.854167)


def _social_insurance_gaps(c):
    rows = c.sql(db.sql_text("assess/evidence_gaps.sql"), params={"run_date": RUN})
    cols = rows.columns
    return sorted(tuple(d[k] for k in ("record_id", "member_id", "code", "match_weight"))
                  for d in (dict(zip(cols, r, strict=True)) for r in rows.fetchall())
                  if d["source"] == "social_insurance")


def test_BG02_an_unknown_or_zero_base_keeps_its_link_and_weight(con):  # noqa: F811
    """An empty base and a base of 0 of an employee scheme, linked or waiting for review (with the link's weight),
    to either member: each gap names its record, member, code and weight as when the staged table was read."""
    _si(con, "si:1", "2026-03-01", None)
    _si(con, "si:2", "2026-04-01", None, pending=True, weight=0.87)
    _si(con, "si:3", "2026-05-01", 0.0, member="p1:b", confirmed=False, weight=0.91)
    _si(con, "si:4", "2026-06-01", 0.0, pending=True, weight=0.83)
    _si(con, "si:5", "2025-01-01", None)  # before the window: no gap
    add(con, "stg_social_insurance", "si:6", "企业职工基本养老保险", "待遇", dt.date(2026, 7, 1), None, None)
    link(con, "social_insurance", "si:6", "p1:b")  # a benefit of unknown amount
    assert _social_insurance_gaps(con) == [
        ("si:1", "p1:a", "VALUE_UNKNOWN", None),
        ("si:2", "p1:a", "UNCONFIRMED_LINK", 0.87),
        ("si:3", "p1:b", "VALUE_UNKNOWN", None),
        ("si:4", "p1:a", "UNCONFIRMED_LINK", 0.83),
        ("si:6", "p1:b", "VALUE_UNKNOWN", None),
    ]
