"""Assess's CPU (issue #16, session 34): what the cuts of sql/assess/macros.sql, figures.sql and figure_lineage.sql
must leave unchanged.  hd_benefit_rows, hd_tax_rows and hd_wage_months (and figures' share months) find the keys of
two rows or more by a grouping that only counts, and take a key of one row as it is, where a grouping carried every
row's record id and amounts through its aggregates; figures and figure_lineage join each linked row to its household
once (the window with it), and look only a contribution up in the month's wage rows.  Pins: every row of the three
macros, the figures and the figure lineage equal to what the text before gave (tests/assesslin_before.sql: its blocks
put back), on random worlds of doubled months and keys (same and different amounts, empty amounts, NULL schemes,
months, categories, withholders and member ids), pending and unconfirmed links, records linked to two members.
"""

from __future__ import annotations

import datetime as dt
import functools
import random
import re
from pathlib import Path

import pytest

from hedui import db
from tests import model_tables as mt

BEFORE = Path(__file__).with_name("assesslin_before.sql")
SCHEMES = ["企业职工基本养老保险", "机关事业单位养老保险", "失业保险", "城乡居民基本养老保险", None]
MONTHS = [None, *(dt.date(2025 + (m > 12), (m - 1) % 12 + 1, 1) for m in range(9, 25))]  # 2025-09 … 2026-12


def _before(name: str) -> str:
    """sql/assess/<name> as it read before the cuts: each `current` block of tests/assesslin_before.sql replaced by
    its `before` block (each found exactly once)."""
    text = db.sql_text(f"assess/{name}")
    blocks = re.findall(r"-- @@ (\S+)\n-- @@ current\n(.*?)-- @@ before\n(.*?)-- @@ end\n", BEFORE.read_text("utf-8"),
                        flags=re.S)
    ours = [(cur, old) for file, cur, old in blocks if file == name]
    assert ours
    for cur, old in ours:
        assert text.count(cur) == 1, cur[:200]
        text = text.replace(cur, old)
    return text


def _world(con, seed: int) -> None:
    """Households of members linked (confirmed, unconfirmed, pending; some records to two members or two households)
    to social-insurance and tax rows whose keys repeat: a month delivered two or three times with the same or other
    amounts, empty amounts and NULL schemes, months, categories and withholders."""
    rnd = random.Random(seed)
    members = [("R1", mt.A), ("R1", mt.B)]
    for i in range(6):
        rid = f"H{i}"
        for j in range(rnd.choice([1, 2])):
            member = f"h{i}:{j}"
            mt.add_member(con, rid, member, f"成员{i}{j}", "本人" if j == 0 else "子女", f"SQ{i}{j}")
            members.append((rid, member))
        mt.set_policy(con, rid, si_rate_enterprise=rnd.choice([0.08, 0.2]), income_window_months=rnd.choice([6, 12]))
    members.append(("H0", None))  # a link of no member id

    def link(source: str, record_id: str) -> None:
        for rid, member in rnd.sample(members, rnd.choice([1, 1, 1, 2])):
            kind = rnd.choice(["exact", "exact", "probabilistic", "pending"])
            mt.link(con, source, record_id, member, request_id=rid, confirmed=kind == "exact",
                    pending=kind == "pending", weight=rnd.choice([None, 7.5, 12.0]))

    n = 0
    for _ in range(120):  # a person's month, delivered once or more
        scheme, month = rnd.choice(SCHEMES), rnd.choice(MONTHS)
        category = rnd.choice(["缴费", "缴费", "待遇", "待遇", None])
        amount = rnd.choice([None, 0.0, 800.0, 3000.0, 5000.0, 5000.000001])
        links = None
        for _copy in range(rnd.choice([1, 1, 2, 3])):
            n += 1
            rec = f"social_insurance:si.csv:{n}"
            if rnd.random() < 0.5:
                amount = rnd.choice([amount, None, 900.0, 4000.0])
            mt.add(con, "stg_social_insurance", rec, scheme, category, month, amount, amount, None,
                   rnd.choice([None, "单位甲"]))
            if links is None or rnd.random() < 0.3:
                links = rec
                link("social_insurance", rec)
            else:  # the copy linked to the first row's members
                con.execute("insert into links select * replace (? as record_id) from links where record_id = ?",
                            [rec, links])
                con.execute("insert into pending_links select * replace (? as record_id) from pending_links "
                            "where record_id = ?", [rec, links])
    for _ in range(60):
        item = rnd.choice(["工资薪金所得", "工资薪金所得", "劳务报酬所得", None])
        month, withholder = rnd.choice(MONTHS), rnd.choice([None, "甲公司", "甲 公司", "乙公司"])
        income = rnd.choice([None, 0.0, 100.0, 6000.0])
        first = None
        for _copy in range(rnd.choice([1, 1, 2, 3])):
            n += 1
            rec = f"tax:tax.csv:{n}"
            mt.add(con, "stg_tax", rec, item, month, rnd.choice([income, 5000.0]), rnd.choice([None, 10.0]),
                   withholder)
            if first is None:
                first = rec
                link("tax", rec)
            else:
                con.execute("insert into links select * replace (? as record_id) from links where record_id = ?",
                            [rec, first])


@functools.cache
def _pair(seed: int) -> tuple:
    """The world of `seed` twice: with the current macros, and with those before the cuts."""
    return _connect(seed, False), _connect(seed, True)


def _connect(seed: int, before: bool):
    con = mt.connect()
    _world(con, seed)
    mt.materialize(con, "households")
    if before:
        con.sql(_before("macros.sql"))
    return con


def _rows(con, sql: str) -> list:
    return sorted(con.execute(sql, {"run_date": mt.RUN}).fetchall(), key=repr)


@pytest.mark.parametrize("seed", [1, 2])
def test_CI01_the_linked_rows_macros_give_every_row_as_before(seed):
    new, old = _pair(seed)
    for macro in ("hd_benefit_rows", "hd_tax_rows", "hd_wage_months"):
        got, want = _rows(new, f"select * from {macro}($run_date)"), _rows(old, f"select * from {macro}($run_date)")
        assert got == want, macro
        assert len(want) > 20
    # the world has keys of two rows or more, of one row, and of no member id
    doubled = old.execute("select count(*) from hd_benefit_rows(?) where n_answers > 1", [mt.RUN]).fetchall()[0][0]
    assert doubled > 0
    assert new.execute("select count(*) from hd_tax_rows(?) where not is_kept", [mt.RUN]).fetchall()[0][0] > 0


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("name", ["figures", "figure_lineage"])
def test_CI02_figures_and_their_lineage_as_before(seed, name):
    new, old = _pair(seed)
    got = _rows(new, db.sql_text(f"assess/{name}.sql"))
    want = _rows(old, _before(f"{name}.sql"))
    assert got == want
    assert len(want) > (5 if name == "figures" else 100)


def test_CI03_materialized_as_a_run_makes_them():
    """The same with the macros materialized (assess.create_macros with the run date, as assess_run does)."""
    new, old = _connect(3, False), _connect(3, True)
    from hedui.steps.assess import MATERIALIZED, drop_materialized

    for con in (new, old):
        for macro in MATERIALIZED:
            con.execute(f"create or replace temp table _{macro} as select * from {macro}($run_date)",
                        {"run_date": mt.RUN})
            con.sql(f"create or replace temp macro {macro}(rd) as table select * from _{macro}")
    got = _rows(new, db.sql_text("assess/figure_lineage.sql"))
    want = _rows(old, _before("figure_lineage.sql"))
    assert got == want and len(want) > 100
    drop_materialized(new)
    drop_materialized(old)
