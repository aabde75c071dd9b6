"""Assess's CPU (issue #16, session 33): what evidence_gaps.sql's cuts must leave unchanged.  Pins: the negative-wage
check (wages net of the employee-scheme share below 0) reads each confirmed link off the linked rows
(sql/assess/macros.sql) instead of joining the counted records to every confirmed link of the run again — same rows
as that join gave, with a wage record counted for one member and not for another, records linked to members of two
households of different rates, links waiting for review and unconfirmed, a link delivered twice; the shared-ID check
(one ID on rows of two names) by one grouping instead of two windows — same rows, NULL names and request ids.  And
the evidence the outcome rule must keep reading: a pending review pair, a quarantined record, an empty value and a
failed source each keep the household from CLEAR.
"""

from __future__ import annotations

import datetime as dt
import random

from hedui import db
from tests.test_evidence_gaps import RUN, _outcome, con  # noqa: F401  (household R1: p1:a 本人, p1:b 配偶)

# the negative-wage check as it read before this session: the counted records, one row a record, joined to every
# confirmed link of the run (the reference the new text must agree with)
OLD_NEGATIVE_WAGE = """    select m.request_id, m.member_id, 'tax', 'VALUE_UNKNOWN', m.record_id, null, null, null, null,
        '计算期内工资（计税工资及按缴费基数估算的工资）合计 ' || format('{:,.2f}', m.wage_yuan) || ' 元，扣除按缴费基数计算的个人缴费 '
            || format('{:,.2f}', m.share_yuan) || ' 元后为负数，税务的收入额与社保的缴费基数矛盾，工资按未知处理；'
            || '请与税务、社保部门核实'
    from (
        select request_id, member_id, min(tax_record_id) as record_id,
            sum(coalesce(tax_wage_yuan, base_yuan, 0)) as wage_yuan,
            sum(share_yuan) filter (where coalesce(tax_wage_yuan, base_yuan) is not null) as share_yuan
        from (
            select l.request_id, l.member_id, t.period_month,
                sum(t.income_yuan) filter (where t.source = 'tax') as tax_wage_yuan,
                min(t.record_id) filter (where t.source = 'tax') as tax_record_id,
                max(t.base_yuan) filter (where t.source = 'social_insurance' and t.base_yuan > 0) as base_yuan,
                list_sum([min(t.share_yuan) filter (where t.scheme = '企业职工基本养老保险'),
                          min(t.share_yuan) filter (where t.scheme = '机关事业单位养老保险'),
                          min(t.share_yuan) filter (where t.scheme = '失业保险')]) as share_yuan
            from (
                select distinct 'tax' as source, x.record_id, x.period_month, x.income_yuan,
                    cast(null as double) as base_yuan, cast(null as double) as share_yuan, cast(null as varchar) as scheme
                from hd_tax_rows($run_date) as x
                where x.is_kept and not x.is_pending and x.income_item = '工资薪金所得' and x.income_yuan > 0
                union all
                select 'social_insurance', s.record_id, s.period_month, null, s.contribution_base_yuan,
                    s.contribution_base_yuan * case s.scheme
                        when '企业职工基本养老保险' then h.si_rate_enterprise
                        when '机关事业单位养老保险' then h.si_rate_public
                        else h.si_rate_unemployment end,
                    s.scheme
                from hd_si_rows($run_date) as s
                inner join households as h on h.request_id = s.request_id
                where s.is_confirmed and not s.is_pending and s.category = '缴费'
                  and s.scheme in ('企业职工基本养老保险', '机关事业单位养老保险', '失业保险')
            ) as t
            inner join links as l on l.record_id = t.record_id and l.source = t.source and l.is_confirmed
            inner join window_bounds as w on w.request_id = l.request_id
            where t.period_month >= w.window_start and t.period_month < w.window_end
            group by all
        )
        group by all
        having bool_or(tax_wage_yuan < share_yuan)
    ) as m
    where m.wage_yuan < m.share_yuan
"""

OLD_SHARED_IDS = """    select m.request_id, m.member_id, 'requests', 'VALUE_UNKNOWN', m.record_id,
        regexp_extract(m.record_id, '^requests:(.*):[0-9]+$', 1),
        try_cast(regexp_extract(m.record_id, ':([0-9]+)$', 1) as integer), null, null,
        '委托名单中同一身份证号出现在姓名不同的 ' || count(*) over (partition by m.request_id, m.member_id)
            || ' 行，无法确定该身份证号是哪位成员的，另一位成员未被核对；请委托机关核实各成员的身份证号后重新委托'
    from members as m
    where m.member_id is not null
    qualify count(distinct m.name_norm) over (partition by m.request_id, m.member_id) > 1
"""


def _block(text: str, start: str, end: str) -> str:
    i = text.index(start)
    return text[i:text.index(end, i) + len(end)]


def _old_sql() -> str:
    """evidence_gaps.sql with the two checks as they read before (the reference)."""
    new = db.sql_text("assess/evidence_gaps.sql")
    wage = _block(new, "    select m.request_id, m.member_id, 'tax', 'VALUE_UNKNOWN'", "where m.wage_yuan < m.share_yuan\n")
    shared = _block(new, "shared_ids as (\n", "\n),\n")
    old = new.replace(wage, OLD_NEGATIVE_WAGE).replace(shared, "shared_ids as (\n" + OLD_SHARED_IDS + "),\n")
    assert old != new and OLD_NEGATIVE_WAGE in old and OLD_SHARED_IDS in old
    return old


def _rows(c, sql: str) -> list:
    return sorted(c.execute(sql, {"run_date": RUN}).fetchall(), key=repr)


MONTHS = [dt.date(2025, 10, 1), *(dt.date(2025 + (m > 12), (m - 1) % 12 + 1, 1) for m in range(11, 23))]  # 2025-10 …


def _household(c, rid: str, member: str, name: str, rate: float) -> None:
    c.execute("insert into households select * replace (? as request_id, ? as si_rate_enterprise, "
              "? as si_rate_public) from households where request_id = 'R1'", [rid, rate, rate])
    c.execute("insert into stg_requests select * replace (? as request_id, ? as id_norm, ? as name_norm, "
              "'requests:req.csv:' || ? as record_id, '本人' as relation) from stg_requests where id_norm = 'p1:a'",
              [rid, member, name, str(10 + len(rid))])


def _wage_world(c, seed: int, households: int = 24) -> None:
    """Households of one member each (rates 8 %, 1 % or 20 %) paid a small tax wage monthly on a base of 5,000: a month's
    wage rows of one withholder saying two amounts (the least counted), records linked to two or three members of
    different households (each counting the record or not), links waiting for review, unconfirmed and delivered
    twice, months without a wage, bases of 0 or empty, an unemployment insurance beside the pension."""
    rnd = random.Random(seed)
    c.sql("update stg_requests set authorization_no = 'SQ9'")
    members = [("R1", "p1:a"), ("R1", "p1:b")]
    for i in range(households):
        members.append((f"H{i}", f"h{i}:m"))
        _household(c, f"H{i}", f"h{i}:m", f"成员{i}", rnd.choice([0.08, 0.01, 0.2]))
    n = 0

    def link(source: str, record_id: str, owner: tuple) -> None:
        others = rnd.sample(members, rnd.choice([0] * 12 + [1, 2]))
        for rid, member in [owner, *[m for m in others if m != owner]]:
            how = rnd.choice(["exact"] * 6 + ["probabilistic", "pending", "twice"])
            if how == "pending":
                c.execute("insert into pending_links values (?, ?, ?, ?, ?, 'probabilistic', 0.9, false, 'pending')",
                          [RUN, source, record_id, rid, member])
                continue
            for _ in range(2 if how == "twice" else 1):
                c.execute("insert into links values (?, ?, ?, ?, ?, ?, ?, ?)",
                          [RUN, source, record_id, rid, member, "exact_id" if how != "probabilistic" else "probabilistic",
                           None if how != "probabilistic" else 0.9, how != "probabilistic"])

    for owner in members:
        for month in MONTHS:
            wages = [(rnd.choice(["工资薪金所得"] * 30 + ["劳务报酬所得"]), rnd.choice([100.0] * 30 + [300.0, 0.0, None]))
                     for _ in range(rnd.choice([0] + [1] * 20 + [2] * 4))]  # two rows of one withholder's month
            for item, income in wages:
                n += 1
                c.execute("insert into stg_tax values (?, ?, ?, ?, ?, ?, '甲公司', null)",
                          [RUN, f"tax:t.csv:{n}", item, month, income, rnd.choice([0.0, 10.0])])
                link("tax", f"tax:t.csv:{n}", owner)
            # a base only where a wage is (else the base is the month's wage), a few months apart; an unemployment
            # insurance beside the pension now and then
            paid = any(item == "工资薪金所得" and (income or 0) > 0 for item, income in wages) or rnd.random() < 0.01
            for scheme in ("企业职工基本养老保险", "失业保险")[:(1 + (rnd.random() < 0.2)) if paid else 0]:
                n += 1
                c.execute("insert into stg_social_insurance values (?, ?, ?, '缴费', ?, null, ?, null, '甲公司')",
                          [RUN, f"si:s.csv:{n}", scheme, month, rnd.choice([5000.0] * 12 + [3000.0, 0.0, None])])
                link("social_insurance", f"si:s.csv:{n}", owner)


def test_CB01_negative_wages_as_the_join_to_every_link_gave_them(con):  # noqa: F811
    """CB01: in a world of wages and contributions (multi-row months, records shared by households of different rates,
    pending/unconfirmed/duplicate links) every evidence gap is the one the old text gives, and the negative-wage gap is
    among them (not vacuous) — and so are members whose gap differs from what their own links alone would give."""
    _wage_world(con, 3)
    old, new = _rows(con, _old_sql()), _rows(con, db.sql_text("assess/evidence_gaps.sql"))
    assert new == old
    fired = {r[2] for r in new if "后为负数" in r[10]}
    assert len(fired) >= 5, fired


def test_CB02_a_wage_under_the_share_is_unknown_and_the_household_not_clear(con):  # noqa: F811
    """CB02: a tax wage of 100 a month on an enterprise-pension base of 5,000 (a share of 400 at 8 %): the wages net of
    the share are below 0, VALUE_UNKNOWN citing the least tax record, INCOMPLETE; the same base at a rate of 1 % (a share
    of 50) is no gap and the household is CLEAR."""
    con.sql("update stg_requests set authorization_no = 'SQ9'")
    for i, month in enumerate(MONTHS[1:]):
        con.execute("insert into stg_tax values (?, ?, '工资薪金所得', ?, 100, 0, '甲公司', null)",
                    [RUN, f"tax:t.csv:{10 + i}", month])
        con.execute("insert into links values (?, 'tax', ?, 'R1', 'p1:a', 'exact_id', null, true)",
                    [RUN, f"tax:t.csv:{10 + i}"])
        con.execute("insert into stg_social_insurance values (?, ?, '企业职工基本养老保险', '缴费', ?, null, 5000, null, "
                    "'甲公司')", [RUN, f"si:s.csv:{10 + i}", month])
        con.execute("insert into links values (?, 'social_insurance', ?, 'R1', 'p1:a', 'exact_id', null, true)",
                    [RUN, f"si:s.csv:{10 + i}"])
    rows = [r for r in _rows(con, db.sql_text("assess/evidence_gaps.sql")) if "后为负数" in r[10]]
    assert [(r[1], r[2], r[3], r[4], r[5]) for r in rows] == [("R1", "p1:a", "tax", "VALUE_UNKNOWN", "tax:t.csv:10")]
    assert "合计 1,200.00 元，扣除按缴费基数计算的个人缴费 4,800.00 元后为负数" in rows[0][10]
    assert _outcome(con) == ("INCOMPLETE", "VALUE_UNKNOWN")
    con.sql("update households set si_rate_enterprise = 0.01")
    assert _outcome(con) == ("CLEAR", "")


def test_CB03_one_id_on_rows_of_two_names_as_the_windows_gave_it(con):  # noqa: F811
    """CB03: one ID on three rows of a household, two names and one empty (the reason counts three rows), one on two rows
    of one name and an empty one (no gap), one of a request id left empty on two names: every row listed, as the
    windows gave them; the household is not CLEAR."""
    con.sql("update stg_requests set authorization_no = 'SQ9'")
    assert _outcome(con) == ("CLEAR", "")
    add = ("insert into stg_requests select * replace (? as request_id, ? as id_norm, ? as name_norm, "
           "'requests:req.csv:' || ? as record_id, '子女' as relation) from stg_requests "
           "where record_id = 'requests:req.csv:3'")
    for i, (rid, member, name) in enumerate([("R1", "p1:b", "李五"), ("R1", "p1:b", None), ("R1", "p1:a", None),
                                              (None, "p9:z", "甲"), (None, "p9:z", "乙"), ("R1", None, "丙")]):
        con.execute(add, [rid, member, name, str(20 + i)])
    new = _rows(con, db.sql_text("assess/evidence_gaps.sql"))
    assert new == _rows(con, _old_sql())
    shared = [(r[1], r[2], r[5]) for r in new if "同一身份证号出现在姓名不同的" in r[10]]
    assert sorted(shared, key=repr) == sorted([("R1", "p1:b", "requests:req.csv:3"), ("R1", "p1:b", "requests:req.csv:20"),
                                               ("R1", "p1:b", "requests:req.csv:21"), (None, "p9:z", "requests:req.csv:23"),
                                               (None, "p9:z", "requests:req.csv:24")], key=repr)
    assert all("姓名不同的 3 行" in r[10] for r in new if r[2] == "p1:b" and "同一身份证号" in r[10])
    assert _outcome(con)[0] == "INCOMPLETE"


def test_CB04_unweighed_evidence_keeps_the_household_from_clear(con):  # noqa: F811
    """CB04: from a CLEAR household, each of a pending review pair (a record that, confirmed, creates a finding), a
    quarantined record naming a member, an empty balance and a failed source keeps it from CLEAR."""
    con.sql("update stg_requests set authorization_no = 'SQ9'")
    assert _outcome(con) == ("CLEAR", "")
    cases = {
        "pending": ["insert into pending_links values ($run_date, 'vehicle', 've:1', 'R1', 'p1:a', 'probabilistic', "
                    "0.9, false, 'pending')",
                    "insert into finding_candidates values ($run_date, 'R1', 'VEHICLE', 'p1:a', 'vehicle', 've:1', "
                    "'小型轿车', false, 'probabilistic', 0.9, true)"],
        "quarantined": ["insert into quarantine_subjects values ($run_date, 'tax', 't.csv', 12, 'a1:q', "
                        "'360102********1234', '张三', 'bad_amount', '收入额无法识别', null)",
                        "insert into quarantine_links values ($run_date, 'tax', 't.csv', 12, 'R1', 'p1:a', 'exact_id')"],
        "empty": ["insert into stg_bank (run_date, record_id, balance_yuan) values ($run_date, 'bank:1', null)",
                  "insert into links values ($run_date, 'bank', 'bank:1', 'R1', 'p1:b', 'exact_id', null, true)"],
        "failed": ["update source_status set status = 'failed', reasons_zh = '校验未通过'"],
    }
    expected = {"pending": "UNCONFIRMED_LINK", "quarantined": "RECORD_QUARANTINED", "empty": "VALUE_UNKNOWN",
                "failed": "SOURCE_FAILED"}
    for case, statements in cases.items():
        con.sql("begin transaction")
        for s in statements:
            con.execute(s, {"run_date": RUN} if "$run_date" in s else {})
        assert _outcome(con) == ("INCOMPLETE", expected[case]), case
        con.sql("rollback")


# the names one key stands for written otherwise (full-width, spaces, a dot, lower case), empty and NULL
SPELLINGS = ["甲公司", " 甲 公司 ", "ＡＢＣ有限公司", "abc有限公司", "A.B-C有限公司", "", "  ", None, "乙·公司", "乙公司"]


def _spelled_world():
    """Household R1 (tests/model_tables.py) with tax, contribution and bank rows of every spelling, linked to both
    members, confirmed, unconfirmed or waiting for review; two rows of one withholder's month now and then."""
    from tests import model_tables as mt

    c = mt.connect()
    rnd = random.Random(5)
    for i in range(120):
        name, member = rnd.choice(SPELLINGS), rnd.choice([mt.A, mt.B])
        how = rnd.choice([{}, {}, {"confirmed": False, "weight": 0.9}, {"pending": True, "weight": 0.9}])
        month = MONTHS[rnd.randrange(len(MONTHS))]
        mt.add(c, "stg_tax", f"tax:t.csv:{i}", "工资薪金所得", month, rnd.choice([100.0, 200.0]), 0.0, name)
        mt.link(c, "tax", f"tax:t.csv:{i}", member, **how)
        mt.add(c, "stg_social_insurance", f"si:s.csv:{i}", "企业职工基本养老保险", "缴费", month, None, 5000.0, None, name)
        mt.link(c, "social_insurance", f"si:s.csv:{i}", member, **how)
        mt.add(c, "stg_bank", f"bank:b.csv:{i}", rnd.choice([100.0, None]), name, rnd.choice(["6222 01", "6222-01"]))
        mt.link(c, "bank", f"bank:b.csv:{i}", member, **how)
    return c


def test_CB05_withholder_and_institution_keys_are_hd_key_of_each_row():
    """CB05: hd_tax_rows' withholder key and hd_bank_rows' institution key (each spelling's key computed once, joined
    to its rows) are hd_key of the row's own text, the record id where that is empty or NULL — on every linked and
    waiting row (sql/assess/macros.sql)."""
    c = _spelled_world()
    tax = c.execute("select withholder, withholder_key, hd_key(withholder) from hd_tax_rows(?)", [RUN]).fetchall()
    assert len(tax) == 120 and all(key == expected for _, key, expected in tax)
    assert {key for _, key, _ in tax} == {"甲公司", "ABC有限公司", "乙公司", None}
    bank = c.execute("select institution_key, coalesce(hd_key(institution), record_id) from hd_bank_rows(?)",
                     [RUN]).fetchall()
    assert len(bank) == 120 and all(key == expected for key, expected in bank)
    assert sum(key.startswith("bank:") for key, _ in bank) > 0


OLD_EMPLOYERS = """    select distinct s.request_id, s.member_id, 'employer', hd_key(s.employer), '工作单位 ' || s.employer,
        s.is_confirmed, s.is_pending
    from hd_si_rows($run_date) as s
    where s.category = '缴费' and s.employer is not null
"""


def test_CB06_employer_facts_as_the_distinct_over_every_row_gave_them():
    """CB06: facts.sql's employers of the contributions (a member's distinct employers keyed once) are the rows the
    distinct over every contribution row gave: spellings of one employer each a fact row of their own text, empty
    ones, confirmed, unconfirmed and waiting links."""
    from tests import model_tables as mt

    c = _spelled_world()
    mt.materialize(c, "households")
    new = db.sql_text("assess/facts.sql")
    block = _block(new, "    select s.request_id, s.member_id, 'employer', hd_key(s.employer)",
                   "where category = '缴费' and employer is not null) as s\n")
    old = new.replace(block, OLD_EMPLOYERS)
    assert old != new
    assert _rows(c, block) == _rows(c, OLD_EMPLOYERS)  # the union's member itself, row for row
    rows = _rows(c, new)
    assert rows == _rows(c, old)
    employers = [r for r in rows if r[4] == "employer" and r[6].startswith("工作单位")]
    assert len(employers) >= 6 and {r[5] for r in employers} >= {"甲公司", "ABC有限公司", "乙公司"}


RELATIONS = ["户主", " 户 主 ", "配偶", "妻", "１０", "10", "子", "长女", "20", "父亲", "51", "孙女", "兄", "女婿", "其他",
             "表叔公", "", "  ", None, "01"]


# the two readings of a registration row's relation: per word, joined (now), and per row (before)
FC_NEW = """    select p.*, c.category as registered_relation, hd_key(p.hukou_no) as hukou_key
    from ps_linked as p
    left join hd_relation_categories($run_date) as c  -- each word's category once (sql/assess/macros.sql)
        on c.relation_to_head = p.relation_to_head
"""
FC_OLD = """    select *, hd_relation_category(relation_to_head) as registered_relation, hd_key(hukou_no) as hukou_key
    from ps_linked
"""
EG_NEW = """        c.category
    from stg_public_security as t
    inner join links as l on l.record_id = t.record_id and l.source = 'public_security'
    inner join members as m on m.request_id = l.request_id and m.member_id = l.member_id
    left join hd_relation_categories($run_date) as c  -- each word's category once (sql/assess/macros.sql)
        on c.relation_to_head = t.relation_to_head
"""
EG_OLD = """        hd_relation_category(t.relation_to_head) as category
    from stg_public_security as t
    inner join links as l on l.record_id = t.record_id and l.source = 'public_security'
    inner join members as m on m.request_id = l.request_id and m.member_id = l.member_id
"""


def test_CB07_registered_relations_as_each_row_read_them():
    """CB07: evidence_gaps.sql's `registered` and finding_candidates.sql's `relation_category` take each registration
    row's category from its word's one reading (hd_relation_categories) — the rows their per-row hd_relation_category
    gave: words, codes, full-width and spaced forms, a word not known here, empty and NULL, members of one 户 and of
    two."""
    from tests import model_tables as mt

    rnd, seen = random.Random(11), set()
    for round_ in range(9):
        c = mt.connect()
        # the applicant heading 户 H001 (or not: his relation drawn too, one round in three), the spouse's rows drawn
        for i, member in enumerate([mt.A] + [mt.B] * rnd.choice([1, 1, 2])):
            relation = "户主" if member == mt.A and round_ != 2 else rnd.choice(RELATIONS)
            hukou = rnd.choice(["H001", " Ｈ001 ", "H001", None] if member == mt.B else ["H001"])
            if member == mt.B and i == 1 and round_ in (0, 1):  # the spouse's first row: NULL, an unknown word
                relation, hukou = [None, "表叔公"][round_], "H001"
            mt.add(c, "stg_public_security", f"ps:p.csv:{round_}{i}", "public_security", "正常", None, hukou, relation,
                   member)
            mt.link(c, "public_security", f"ps:p.csv:{round_}{i}", member, confirmed=rnd.random() < 0.8)
        c.sql("create table source_records (run_date varchar, record_id varchar, file_name varchar, row_no integer)")
        mt.materialize(c, "households")
        mt.materialize(c, "figures")
        for model, old in (("finding_candidates", (FC_NEW, FC_OLD)), ("evidence_gaps", (EG_NEW, EG_OLD))):
            new = db.sql_text(f"assess/{model}.sql")
            assert new.count(old[0]) == 1
            reference = new.replace(old[0], old[1])
            rows = _rows(c, new)
            assert rows == _rows(c, reference), (model, round_)
            seen.update(r[2] if model == "finding_candidates" else r[10][:12] for r in rows)
            if model == "finding_candidates":
                mt.materialize(c, "finding_candidates")
    assert {"MEMBER_REGISTRATION_MISMATCH", "户籍登记的“与户主关系”", "记录缺少“与户主关系”，"} <= seen, seen  # not vacuous
    assert c.execute("select count(*) from hd_relation_categories(?) where category is distinct from "
                     "hd_relation_category(relation_to_head)", [RUN]).fetchall() == [(0,)]
