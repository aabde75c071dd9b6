"""Assess's CPU (issue #16, session 36): what the cuts must leave unchanged.

hd_bank_rows (sql/assess/macros.sql) groups only the answers of two rows or more and lists the
types only of the numbers of two types or more (an answer or a number of one row or type is that
row as it is); resolve_policies (hedui.steps.assess) makes one policy row per version and
城市/农村, not one per combination.  Old and new code give the same rows: the macro as it read
before the cut (BANK_ROWS_BEFORE, its comments left out) beside it on random accounts, and
policy_rows household by household.
"""

from __future__ import annotations

import random

from hedui import db
from hedui.errors import PolicyError
from hedui.steps.assess import resolve_policies
from hedui.steps.policy import _delivered_items, load_policies, policy_rows
from tests.test_evidence_gaps import RUN, con  # noqa: F401  (the evidence-gap tables of household R1)

# sql/assess/macros.sql's hd_bank_rows before session 36: every answer through the struct
# arg_mins, every number's types through string_agg(distinct)
BANK_ROWS_BEFORE = """create or replace temp macro hd_bank_rows_before(rd) as table
with

linked_rows as materialized (
    select l.request_id, l.member_id, l.is_confirmed, l.is_pending, l.match_weight, b.record_id,
        b.institution,
        b.account_no, b.account_type, b.balance_yuan, b.query_date
    from main.stg_bank as b
    inner join hd_member_links(rd, 'bank') as l on l.record_id = b.record_id
    where b.run_date = rd
),

linked as (
    select r.*, coalesce(k.institution_key, r.record_id) as institution_key
    from linked_rows as r
    left join (select institution, hd_key(institution) as institution_key
               from (select distinct institution from linked_rows)) as k on k.institution = r.institution
),

numbers as (
    select request_id, member_id, institution_key, account_no,
        min(account_type) as lo_type, max(account_type) as hi_type,
        string_agg(distinct account_type, '、' order by account_type) as types_zh
    from linked
    group by request_id, member_id, institution_key, account_no
),

typed as (
    select linked.*,
        coalesce(account_type, if(n.lo_type = n.hi_type, n.lo_type, null)) as type_key,
        coalesce(account_type is null and n.lo_type = n.hi_type, false) as is_type_assumed,
        coalesce(account_type is null and n.lo_type <> n.hi_type, false) as is_type_ambiguous,
        n.types_zh
    from linked
    inner join numbers as n
        on n.request_id = linked.request_id and n.member_id = linked.member_id
       and n.institution_key = linked.institution_key
           and n.account_no is not distinct from linked.account_no
),

keyed as (
    select *, institution_key || ':' || coalesce(account_no, '') || ':' || coalesce(type_key,
        '') as account_key
    from typed
),

answers as (
    select request_id, member_id, account_key, query_date,
        arg_min(record_id, (balance_yuan is not null, balance_yuan,
            record_id)) filter (where not is_pending)
            as kept_record_id,
        arg_min(balance_yuan, (balance_yuan is not null, balance_yuan,
            record_id)) filter (where not is_pending)
            as kept_balance_yuan,
        arg_min(record_id, (balance_yuan is not null, balance_yuan, record_id)) filter (
            where is_confirmed and not is_pending) as kept_confirmed_id,
        arg_min(record_id, (balance_yuan is not null, balance_yuan,
            record_id)) filter (where is_pending)
            as kept_pending_id,
        count(*) filter (where not is_pending) as n_answer_rows,
        bool_or(balance_yuan is null) filter (where not is_pending) as has_empty_answer
    from keyed
    group by request_id, member_id, account_key, query_date
),

final as (
    select keyed.*, a.kept_record_id, a.kept_balance_yuan, a.kept_confirmed_id, a.kept_pending_id,
        a.n_answer_rows,
        a.has_empty_answer
    from keyed
    inner join answers as a
        on a.request_id = keyed.request_id and a.member_id = keyed.member_id
            and a.account_key = keyed.account_key
       and a.query_date is not distinct from keyed.query_date
)

select * from final;
"""


def _bank_world(c, seed: int) -> None:
    """Accounts answered once (nearly all) or two to three times on one 查询日期 (amounts
    alike, different, empty), numbers of one type, of two, untyped; accounts of no institution or
    number; links exact, unconfirmed, waiting for review, and links of no member or request (no
    answer of theirs is kept: the join is on their equality)."""
    rnd = random.Random(seed)
    n = 0
    for _ in range(120):
        institution = rnd.choice(["工商银行", "工商 银行", "建设银行", None])
        account_no = rnd.choice(["6222 0001", "6222-0001", "6222 0002", "6222 0003", None])
        date = rnd.choice(["2026-11-26", "2026-11-24", None])
        member = rnd.choice(["p1:a", "p1:b", "p1:b", None])
        request = rnd.choice(["R1"] * 9 + [None])
        for _answer in range(rnd.choice([1, 1, 1, 2, 3])):
            n += 1
            record_id = f"bank:b.csv:{n}"
            balance = rnd.choice([100.0, 250.0, None, 100.0, 0.0])
            account_type = rnd.choice(["活期", "定期", None])
            c.execute("insert into stg_bank (run_date, record_id, balance_yuan, institution, account_no, "
                      "query_date, account_type) values (?, ?, ?, ?, ?, ?, ?)",
                      [RUN, record_id, balance, institution, account_no, date, account_type])
            how = rnd.choice(["exact", "exact", "probabilistic", "pending"])
            if how == "pending":
                c.execute("insert into pending_links values (?, 'bank', ?, ?, ?, 'probabilistic', 0.9, "
                          "false, 'pending')", [RUN, record_id, request, member])
            else:
                c.execute("insert into links values (?, 'bank', ?, ?, ?, ?, ?, ?)",
                          [RUN, record_id, request, member, "exact_id" if how == "exact" else "probabilistic",
                           None if how == "exact" else 0.85, how == "exact"])


def _rows(c, macro: str) -> list[tuple]:
    return sorted(c.execute(f"select * from {macro}(?)", [RUN]).fetchall(), key=repr)


def test_CV01_bank_rows_as_every_answer_grouped_gave_them(con):  # noqa: F811
    """Every column of every row (kept record and balance among the linked, the confirmed and the
    pending rows, answer counts, an empty answer beside, a number's types, assumed or ambiguous
    types) as the macro grouping every answer and every number gave them, on four random worlds
    that hold answers of one row and of two or more, numbers of two types, pending rows and keys
    of no member."""
    con.sql(BANK_ROWS_BEFORE)
    for seed in range(4):
        for table in ("stg_bank", "links", "pending_links"):
            con.execute(f"delete from {table}")
        _bank_world(con, seed)
        new, old = _rows(con, "hd_bank_rows"), _rows(con, "hd_bank_rows_before")
        assert new == old, seed
        kinds = con.execute("select count(*) filter (where n_answer_rows = 1), "
                            "count(*) filter (where n_answer_rows > 1), "
                            "count(*) filter (where is_type_ambiguous), count(*) filter (where is_pending), "
                            "count(*) filter (where has_empty_answer and kept_record_id <> record_id) "
                            "from hd_bank_rows(?)", [RUN]).fetchone()
        assert all(kinds), (seed, kinds)  # each kind of row is there to be compared


def test_CV02_household_policy_as_policy_rows_gives_it_household_by_household():
    """A household's row of household_policy is policy_rows' row of its applicant's region,
    城市/农村 (none: 城市's standard) and program, whichever household of its version and
    城市/农村 made the row first; a household no version applies to has none, as before."""
    c = db.connect()
    c.sql("create table stg_requests (run_date varchar, request_id varchar, region_code varchar, "
          "urban_rural varchar, program varchar, relation varchar)")
    rnd = random.Random(36)
    households = []
    for i in range(60):
        row = (f"R{i}", rnd.choice(["360102", "360702", "360124", None]), rnd.choice(["城市", "农村", None]),
               rnd.choice(["最低生活保障", "特困人员供养", None]))
        households.append(row)
        c.execute("insert into stg_requests values (?, ?, ?, ?, ?, '本人')", [RUN, *row])
    n = resolve_policies(c, RUN)
    got = {r[0]: r[1:] for r in c.sql("select * exclude (run_date, policy_unknown_zh) "
                                      "from household_policy").fetchall()}
    versions, delivered = load_policies(), _delivered_items()
    want = {}
    for request_id, region, urban_rural, program in households:
        try:
            [row] = policy_rows(versions, [(request_id, region, urban_rural, program)], RUN,
                                delivered=delivered)
        except PolicyError:
            continue  # no version for it: no row
        want[request_id] = tuple(row.values())[1:]
    assert got == want and n == len(want)
    assert 30 < n < 60 and len({row[3] for row in got.values()}) == 2  # 城市's and 农村's standards both
