"""The evidence-completeness model (sql/assess/evidence_gaps.sql) and the outcome rule that reads it,
on small in-memory tables: given rows, expected gaps and outcomes."""

from __future__ import annotations

import pytest

from hedui import db
from hedui.steps.assess import create_macros
from hedui.steps.link import _quarantine_name_keys
from matching.idnum import normalize_id

RUN = "20261128"

TABLES = """
create table households (run_date varchar, request_id varchar, excluded_income_items varchar[],
    count_housing_fund_balance boolean, business_always_review_types varchar[], income_window_months integer,
    vehicle_price_limit_yuan double, exempt_vehicle_types varchar[], business_contribution_limit_yuan double,
    si_rate_enterprise double, si_rate_public double, si_rate_unemployment double);
create table stg_requests (run_date varchar, request_id varchar, id_norm varchar, id_number varchar, name varchar,
    name_norm varchar, relation varchar, authorization_no varchar, record_id varchar, row_no integer,
    id_masked varchar);
create table finding_candidates (run_date varchar, request_id varchar, code varchar, member_id varchar,
    source varchar, record_id varchar, detail_zh varchar, is_confirmed boolean, method varchar,
    match_weight double, is_pending boolean);
create table pending_links (run_date varchar, source varchar, record_id varchar, request_id varchar,
    member_id varchar, method varchar, match_weight double, is_confirmed boolean, status varchar);
create table links (run_date varchar, source varchar, record_id varchar, request_id varchar, member_id varchar,
    method varchar, match_weight double, is_confirmed boolean);
create table source_status (run_date varchar, source varchar, source_zh varchar, status varchar,
    reasons_zh varchar);
create table quarantine_subjects (run_date varchar, source varchar, file_name varchar, row_no integer,
    id_number varchar, id_masked varchar, name_norm varchar, rules varchar, reason_zh varchar, request_id varchar);
create table quarantine_links (run_date varchar, source varchar, file_name varchar, row_no integer,
    request_id varchar, member_id varchar, method varchar);
create table source_records (run_date varchar, record_id varchar, file_name varchar, row_no integer);
create table stg_bank (run_date varchar, record_id varchar, balance_yuan double, institution varchar,
    account_no varchar, query_date date default date '2026-11-26', account_type varchar);
create table stg_securities (run_date varchar, record_id varchar, market_value_yuan double,
    cash_balance_yuan double, securities_account varchar, query_date date default date '2026-11-26');
create table stg_insurance (run_date varchar, record_id varchar, policy_status varchar, cash_value_yuan double,
    policy_no varchar, query_date date default date '2026-11-26');
create table stg_housing_fund (run_date varchar, record_id varchar, account_status varchar, balance_yuan double);
create table stg_real_estate (run_date varchar, record_id varchar, use_type varchar, title_status varchar,
    floor_area_m2 double, unit_no varchar, location varchar);
create table stg_tax (run_date varchar, record_id varchar, income_item varchar, period_month date,
    income_yuan double, tax_paid_yuan double, withholder varchar, id_norm varchar);
create table stg_social_insurance (run_date varchar, record_id varchar, scheme varchar, category varchar,
    period_month date, benefit_yuan double, contribution_base_yuan double, id_norm varchar, employer varchar);
create table stg_business_registry (run_date varchar, record_id varchar, entity_status varchar,
    entity_type varchar, subscribed_yuan double, role varchar, entity_name varchar, registered_capital_yuan double,
    credit_code varchar);
create table stg_vehicle (run_date varchar, record_id varchar, vehicle_type varchar, vehicle_status varchar, plate_no varchar,
    purchase_price_yuan double, first_registration_date date);
create table household_policy (run_date varchar, request_id varchar, vehicle_price_limit_yuan double,
    exempt_vehicle_types varchar[]);
create table stg_public_security (run_date varchar, record_id varchar, id_norm varchar, hukou_no varchar, relation_to_head varchar,
    person_status varchar, change_date date);
"""


@pytest.fixture
def con():
    c = db.connect()
    c.sql(TABLES)
    create_macros(c)
    c.execute("insert into households values (?, 'R1', ['城乡居民基本养老保险'], false, ['个体工商户'], 12, 12000, ['普通二轮摩托车'], 100000, 0.08, 0.08, 0.005)",
              [RUN])
    c.execute("insert into stg_requests values (?, 'R1', 'p1:a', 'a1:x', '张三', '张三', '本人', 'SQ1', "
              "'requests:req.csv:2', 2, '360102********1234')", [RUN])
    c.execute("insert into stg_requests values (?, 'R1', 'p1:b', 'a1:y', '李四', '李四', '配偶', '', "
              "'requests:req.csv:3', 3, '360102********5678')", [RUN])
    c.execute("insert into source_status values (?, 'bank', '银行 账户', 'passed', '')", [RUN])
    for table in ("households", "stg_requests"):  # the program, county and 城市/农村 every member shares
        c.sql(f"alter table {table} add column program varchar default '最低生活保障'; "
              f"alter table {table} add column region_code varchar default '360702'; "
              f"alter table {table} add column urban_rural varchar default '城市'")
    c.sql("alter table stg_requests add column authorization_date date")  # (an answer queried before it: old)
    c.sql("alter table stg_requests add column request_date date default date '2026-11-20'")  # (bounds it, left empty)
    c.sql("alter table households add column policy_id varchar default 'JX-DEMO-2026'")  # the version it is under
    c.sql("alter table households add column policy_unknown_zh varchar")  # why none is, where none is
    return c


def _gaps(con):
    return con.sql(db.sql_text("assess/evidence_gaps.sql"), params={"run_date": RUN}).fetchall()


def _outcome(con):
    con.execute("create or replace table evidence_gaps as " + db.sql_text("assess/evidence_gaps.sql"),
                {"run_date": RUN})
    return con.sql(db.sql_text("assess/outcomes.sql"), params={"run_date": RUN}).fetchall()[0][2:]


def _codes(rows):
    return sorted((r[4], r[2]) for r in rows)


def test_an_unauthorized_member_is_the_only_gap_of_an_otherwise_clean_household(con):
    rows = _gaps(con)
    assert _codes(rows) == [("NO_AUTHORIZATION", "p1:b")]
    assert _outcome(con) == ("INCOMPLETE", "NO_AUTHORIZATION")


def test_a_household_with_nothing_unweighed_is_clear(con):
    con.sql("update stg_requests set authorization_no = 'SQ2'")
    assert _gaps(con) == []
    assert _outcome(con) == ("CLEAR", "")


def test_an_empty_balance_is_a_value_unknown_gap_naming_the_record(con):
    con.sql("update stg_requests set authorization_no = 'SQ2'")
    con.execute("insert into links values (?, 'bank', 'bank:b.csv:7', 'R1', 'p1:a', 'exact_id', null, true)", [RUN])
    con.execute("insert into stg_bank (run_date, record_id, balance_yuan) values (?, 'bank:b.csv:7', null)", [RUN])
    con.execute("insert into source_records values (?, 'bank:b.csv:7', 'b.csv', 7)", [RUN])
    rows = _gaps(con)
    assert len(rows) == 1
    run_date, request_id, member, source, code, record, file_name, row_no, weight, related, reason = rows[0]
    assert (code, member, source, record, file_name, row_no) == (
        "VALUE_UNKNOWN", "p1:a", "bank", "bank:b.csv:7", "b.csv", 7)
    assert "余额" in reason and "不按 0 计" in reason
    assert _outcome(con) == ("INCOMPLETE", "VALUE_UNKNOWN")


@pytest.mark.parametrize(("spouse_relation", "gap"), [
    ("妻", False), ("10", False), ("子", False),  # known words and codes are weighed (a mismatch or not)
    ("", True), (None, True), ("老伴", True), ("?", True)])  # empty or not known here: unknown
def test_a_registration_relation_that_cannot_be_read_is_a_value_unknown_gap(con, spouse_relation, gap):
    con.sql("update stg_requests set authorization_no = 'SQ2'")
    for rec, member, rel in (("ps:p.csv:2", "p1:a", "户主"), ("ps:p.csv:3", "p1:b", spouse_relation)):
        con.execute("insert into links values (?, 'public_security', ?, 'R1', ?, 'exact_id', null, true)",
                    [RUN, rec, member])
        con.execute("insert into stg_public_security (run_date, record_id, hukou_no, relation_to_head) values (?, ?, 'H1', ?)", [RUN, rec, rel])
    rows = _gaps(con)
    if not gap:
        assert rows == []
        return
    assert [(r[4], r[2], r[5]) for r in rows] == [("VALUE_UNKNOWN", "p1:b", "ps:p.csv:3")]
    assert "与户主关系" in rows[0][-1] and "不按 0 计" not in rows[0][-1]
    assert _outcome(con) == ("INCOMPLETE", "VALUE_UNKNOWN")


def test_an_applicants_unreadable_relation_leaves_his_members_relations_unchecked(con):
    con.sql("update stg_requests set authorization_no = 'SQ2'")
    for rec, member, rel in (("ps:p.csv:2", "p1:a", "老大"), ("ps:p.csv:3", "p1:b", "配偶")):
        con.execute("insert into links values (?, 'public_security', ?, 'R1', ?, 'exact_id', null, true)",
                    [RUN, rec, member])
        con.execute("insert into stg_public_security (run_date, record_id, hukou_no, relation_to_head) values (?, ?, 'H1', ?)", [RUN, rec, rel])
    assert [(r[4], r[2], r[5]) for r in _gaps(con)] == [("VALUE_UNKNOWN", "p1:a", "ps:p.csv:2")]


def test_an_unreadable_relation_outside_the_applicants_registration_household_is_no_gap(con):
    con.sql("update stg_requests set authorization_no = 'SQ2'")
    for rec, member, hukou, rel in (("ps:p.csv:2", "p1:a", "H1", "户主"), ("ps:p.csv:3", "p1:b", "H2", "")):
        con.execute("insert into links values (?, 'public_security', ?, 'R1', ?, 'exact_id', null, true)",
                    [RUN, rec, member])
        con.execute("insert into stg_public_security (run_date, record_id, hukou_no, relation_to_head) values (?, ?, ?, ?)", [RUN, rec, hukou, rel])
    assert _gaps(con) == []


def test_a_known_balance_and_an_excluded_pension_item_are_no_gap(con):
    con.sql("update stg_requests set authorization_no = 'SQ2'")
    con.execute("insert into links values (?, 'bank', 'bank:b.csv:7', 'R1', 'p1:a', 'exact_id', null, true)", [RUN])
    con.execute("insert into stg_bank (run_date, record_id, balance_yuan) values (?, 'bank:b.csv:7', 0.0)", [RUN])
    con.execute("insert into links values (?, 'social_insurance', 'si:1', 'R1', 'p1:a', 'exact_id', null, true)",
                [RUN])
    con.execute("insert into stg_social_insurance values (?, 'si:1', '城乡居民基本养老保险', '待遇', "
                "date '2026-05-01', null, null, 'p1:a', null)", [RUN])
    assert _gaps(con) == []


def test_a_quarantined_record_naming_an_authorized_member_is_a_gap_with_its_reason(con):
    con.execute("insert into quarantine_subjects values (?, 'tax', 't.csv', 12, 'a1:q', '360102********1234', "
                "'张三', 'bad_amount', '\"收入额\"值\"1O00\"无法识别为金额', null)", [RUN])
    con.execute("insert into quarantine_links values (?, 'tax', 't.csv', 12, 'R1', 'p1:a', 'exact_id')", [RUN])
    con.execute("insert into quarantine_links values (?, 'tax', 't.csv', 12, 'R1', 'p1:b', 'exact_id')", [RUN])
    rows = [r for r in _gaps(con) if r[4] == "RECORD_QUARANTINED"]
    assert len(rows) == 1  # the unauthorized member is never looked up
    r = rows[0]
    assert (r[2], r[3], r[5], r[6], r[7]) == ("p1:a", "tax", "tax:t.csv:12", "t.csv", 12)
    assert "无法识别为金额" in r[10] and "按身份证号" in r[10]
    assert _outcome(con) == ("INCOMPLETE", "NO_AUTHORIZATION;RECORD_QUARANTINED")


def test_a_quarantined_row_of_the_request_list_keeps_its_household_from_clear(con):
    con.sql("update stg_requests set authorization_no = 'SQ2'")
    assert _outcome(con) == ("CLEAR", "")
    con.execute("insert into quarantine_subjects values (?, 'requests', 'req.csv', 4, null, '3.6078*E+17', '何华华', "
                "'id_status', '委托成员必须有有效的身份证号码', 'R1')", [RUN])
    rows = [r for r in _gaps(con) if r[4] == "RECORD_QUARANTINED"]
    assert len(rows) == 1
    r = rows[0]
    assert (r[1], r[2], r[3], r[5], r[6], r[7]) == ("R1", None, "requests", "requests:req.csv:4", "req.csv", 4)
    assert "何华华" in r[10] and "未能核对" in r[10] and "有效的身份证号码" in r[10]
    assert _outcome(con) == ("INCOMPLETE", "RECORD_QUARANTINED")


def test_a_household_whose_every_request_row_was_quarantined_is_answered_incomplete(con):
    con.sql("update stg_requests set authorization_no = 'SQ2'")
    con.execute("insert into quarantine_subjects values (?, 'requests', 'req.csv', 9, null, null, '李独居', "
                "'id_status', '委托成员必须有有效的身份证号码', 'R9')", [RUN])
    con.execute("create or replace table evidence_gaps as " + db.sql_text("assess/evidence_gaps.sql"),
                {"run_date": RUN})
    got = {r[1]: r[2:] for r in con.sql(db.sql_text("assess/outcomes.sql"), params={"run_date": RUN}).fetchall()}
    assert got == {"R1": ("CLEAR", ""), "R9": ("INCOMPLETE", "RECORD_QUARANTINED")}


def test_a_pending_record_that_would_create_a_finding_is_an_unconfirmed_link_with_its_weight(con):
    con.sql("update stg_requests set authorization_no = 'SQ2'")
    con.execute("insert into pending_links values (?, 'vehicle', 've:1', 'R1', 'p1:a', 'probabilistic', -1.3, "
                "false, 'pending')", [RUN])
    con.execute("insert into finding_candidates values (?, 'R1', 'VEHICLE', 'p1:a', 'vehicle', 've:1', '小型轿车', "
                "false, 'probabilistic', -1.3, true)", [RUN])
    rows = _gaps(con)
    assert _codes(rows) == [("UNCONFIRMED_LINK", "p1:a")]
    assert rows[0][8] == -1.3 and rows[0][9] == "VEHICLE"
    # the pending finding itself is not a finding
    assert _outcome(con) == ("INCOMPLETE", "UNCONFIRMED_LINK")


def test_a_pending_bank_record_counts_only_when_it_would_push_assets_over_the_limit(con):
    con.sql("update stg_requests set authorization_no = 'SQ2'")
    con.execute("insert into pending_links values (?, 'bank', 'bank:1', 'R1', 'p1:a', 'probabilistic', 0.5, "
                "false, 'pending')", [RUN])
    assert _gaps(con) == []  # no candidate finding: confirming it changes no finding
    con.execute("insert into finding_candidates values (?, 'R1', 'FINANCIAL_ASSETS_OVER_LIMIT', null, null, null, "
                "'若确认…', false, 'figure', null, true)", [RUN])
    rows = _gaps(con)
    assert [(r[4], r[3], r[5], r[8]) for r in rows] == [("UNCONFIRMED_LINK", "bank", "bank:1", 0.5)]


def test_a_confirmed_finding_makes_findings_and_the_gaps_stay_listed(con):
    con.execute("insert into finding_candidates values (?, 'R1', 'VEHICLE', 'p1:a', 'vehicle', 've:2', '小型轿车', "
                "true, 'exact_id', null, false)", [RUN])
    assert _outcome(con) == ("FINDINGS", "NO_AUTHORIZATION;VEHICLE")


def test_a_failed_source_is_a_gap_of_every_household(con):
    con.sql("update stg_requests set authorization_no = 'SQ2'")
    con.execute("update source_status set status = 'failed', reasons_zh = '被隔离的记录占 50%'")
    rows = _gaps(con)
    assert [(r[4], r[3]) for r in rows] == [("SOURCE_FAILED", "bank")]
    assert "被隔离的记录占 50%" in rows[0][10]


def test_quarantine_links_match_by_id_by_name_and_a_birth_date_or_by_the_name_alone():
    con = db.connect()
    con.sql("""
        create table quarantine_subjects (run_date varchar, source varchar, file_name varchar, row_no integer,
            id_number varchar, id_masked varchar, name_norm varchar, rules varchar, reason_zh varchar,
            birth_date date);
        create table stg_requests (run_date varchar, request_id varchar, id_norm varchar, id_number varchar,
            name_norm varchar, authorization_no varchar);
        create temp table _hd_q_plain (token varchar, plain varchar, norm varchar, status varchar);
    """)
    member = "11010519491231002X"
    wrong_check = member[:17] + "5"
    con.execute("insert into stg_requests values (?, 'R1', 'p1:m', 'a1:m', '张三', 'SQ1')", [RUN])
    con.execute("insert into stg_requests values (?, 'R2', 'p1:n', 'a1:n', '王五', '')", [RUN])  # unauthorized
    rows = [("a1:m", member), ("a1:q1", member.lower()), ("a1:q2", wrong_check), ("a1:q3", wrong_check),
            ("a1:n", "110105194912310046")]
    con.executemany("insert into _hd_q_plain values (?, ?, ?, ?)", [(t, p, *normalize_id(p)) for t, p in rows])
    for no, token, name, birth in ((1, "a1:q1", "李四", None), (2, "a1:q2", "张三", None), (3, "a1:q3", "张四", None),
                                   (4, "a1:n", "王五", None), (5, None, "张三", None), (6, None, "张三", "1949-12-31"),
                                   (7, None, "张三", "1949-12-30"), (8, None, "张*", None), (9, "a1:q3", "张san", None),
                                   (10, None, "张*三", None)):
        con.execute("insert into quarantine_subjects values (?, 'bank', 'b.csv', ?, ?, null, ?, 'bad_amount', 'x', ?)",
                    [RUN, no, token, name, birth])
    _quarantine_name_keys(con, RUN)
    got = sorted(con.sql(db.sql_text("link/quarantine_links.sql"), params={"run_date": RUN}).fetchall())
    assert [(r[3], r[4], r[5], r[6]) for r in got] == [
        (1, "R1", "p1:m", "exact_id"),      # by ID, whatever the name
        (2, "R1", "p1:m", "name_birth"),    # wrong check character: name and birth date agree
        (5, "R1", "p1:m", "name"),          # no ID and no birth date: the name is all there is, as for linkage
        (6, "R1", "p1:m", "name_birth"),    # no ID, but the row's own birth date (出生日期) and the name agree
        (8, "R1", "p1:m", "name"),          # a rare character typed as `*`: 张* is 张三 as linkage pairs it …
        (9, "R1", "p1:m", "name_birth"),    # … and typed in pinyin
    ]  # 3: another name; 4: an unauthorized member; 7: born another day than the member; 10: three syllables


def test_a_figure_finding_on_an_unconfirmed_link_names_the_unconfirmed_records_it_reads(con):
    con.sql("update stg_requests set authorization_no = 'SQ2'")
    con.execute("insert into links values (?, 'bank', 'bank:9', 'R1', 'p1:a', 'probabilistic', 27.9, false)", [RUN])
    con.execute("insert into links values (?, 'bank', 'bank:8', 'R1', 'p1:a', 'exact_id', null, true)", [RUN])
    con.execute("insert into stg_bank (run_date, record_id, balance_yuan) values (?, 'bank:9', 560000.0), (?, 'bank:8', 10.0)", [RUN, RUN])
    con.execute("insert into finding_candidates values (?, 'R1', 'FINANCIAL_ASSETS_OVER_LIMIT', null, null, null, "
                "'家庭人均金融资产…', false, 'figure', null, false)", [RUN])
    rows = _gaps(con)
    assert [(r[4], r[2], r[5], r[8], r[9]) for r in rows] == [
        ("UNCONFIRMED_LINK", "p1:a", "bank:9", 27.9, "FINANCIAL_ASSETS_OVER_LIMIT")]
    assert _outcome(con) == ("INCOMPLETE", "FINANCIAL_ASSETS_OVER_LIMIT;UNCONFIRMED_LINK")


def test_completeness_per_member_and_source_counts_the_gaps_and_the_source_state(con):
    con.execute("insert into source_status values (?, 'tax', '税务', 'missing', '未交付')", [RUN])
    con.execute("insert into links values (?, 'bank', 'bank:b.csv:7', 'R1', 'p1:a', 'exact_id', null, true)", [RUN])
    con.execute("insert into stg_bank (run_date, record_id, balance_yuan) values (?, 'bank:b.csv:7', null)", [RUN])
    con.execute("create table evidence_gaps as " + db.sql_text("assess/evidence_gaps.sql"), {"run_date": RUN})
    rows = con.sql(f"select member_id, source, is_authorized, is_delivered, is_passed, n_value_unknown, is_complete "
                   f"from ({db.sql_text('assess/evidence_completeness.sql')}) order by all",
                   params={"run_date": RUN}).fetchall()
    assert rows == [
        ("p1:a", "bank", True, True, True, 1, False),
        ("p1:a", "tax", True, False, False, 0, False),
        ("p1:b", "bank", False, True, True, 0, False),
        ("p1:b", "tax", False, False, False, 0, False),
    ]


def test_a_member_whose_request_names_another_standard_than_the_households_is_a_value_unknown(con):
    """A spouse's row saying 农村 while the applicant's says 城市: which standard applies is not known."""
    con.sql("update stg_requests set authorization_no = 'SQ2'")
    con.sql("update stg_requests set urban_rural = '农村', region_code = '360703' where id_norm = 'p1:b'")
    [row] = _gaps(con)
    assert row[1:5] == ("R1", "p1:b", "requests", "VALUE_UNKNOWN")
    assert (row[6], row[7]) == ("req.csv", 3)
    assert "区划代码“360703”、城乡类别“农村”与本户（申请人）的“360702”、“城市”不一致" in row[-1]
    assert _outcome(con) == ("INCOMPLETE", "VALUE_UNKNOWN")


def test_a_withholders_month_names_how_many_different_answers_it_delivered(con):
    """One withholder's month of one item delivered four times: 3,000 with no tax paid twice (one answer), 3,000 with
    50 paid, 2,800 with no tax paid: three answers, the count the gap shows (`n_answers`, sql/assess/macros.sql: a
    distinct count where an empty amount is an answer of its own, and two alike rows are one)."""
    con.sql("update stg_requests set authorization_no = 'SQ2'")
    for n, (income, tax) in enumerate([(3000, None), (3000, None), (3000, 50), (2800, None)], start=1):
        record = f"tax:t.csv:{n}"
        con.execute("insert into links values (?, 'tax', ?, 'R1', 'p1:a', 'exact_id', null, true)", [RUN, record])
        con.execute("insert into stg_tax values (?, ?, '工资薪金所得', date '2026-10-01', ?, ?, '某公司', 'p1:a')",
                    [RUN, record, income, tax])
        con.execute("insert into source_records values (?, ?, 't.csv', ?)", [RUN, record, n])
    create_macros(con)
    reasons = [r[-1] for r in _gaps(con) if r[3] == "tax"]
    assert reasons and all("交付了 3 种" in r for r in reasons), reasons
