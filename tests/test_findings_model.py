"""The finding models (sql/assess/finding_candidates.sql, findings.sql) on small in-memory tables:
given staged and linked rows, the expected findings of policy.md, each with its evidence record."""

from __future__ import annotations

import datetime as dt

import pytest
from model_tables import OTHER_RUN, RUN, A, B, add, add_member, connect, link, materialize, model


@pytest.fixture
def con():
    return connect()


def candidates(con, run_date=RUN) -> list[dict]:
    """households → figures → finding_candidates, as the assess step runs them."""
    materialize(con, "households", run_date)
    materialize(con, "figures", run_date)
    return model(con, "finding_candidates", run_date)


def found(rows, code=None) -> list[tuple]:
    """(code, member, record, is_confirmed, is_pending) of each row, sorted."""
    return sorted((r["code"], r["member_id"], r["record_id"], r["is_confirmed"], r["is_pending"])
                  for r in rows if code is None or r["code"] == code)


def detail(rows, record_id) -> str:
    [text] = [r["detail_zh"] for r in rows if r["record_id"] == record_id]
    return text


def vehicle(con, record_id, vehicle_type, price, status="正常", member=A, **kw):
    add(con, "stg_vehicle", record_id, vehicle_type, "赣A12345", status, price, run_date=kw.get("run_date", RUN))
    link(con, "vehicle", record_id, member, **kw)


def company(con, record_id, entity_type, status, subscribed, role="股东", member=A, **kw):
    add(con, "stg_business_registry", record_id, "某某商贸", entity_type, status, role, 500000.0, subscribed,
        run_date=kw.get("run_date", RUN))
    link(con, "business_registry", record_id, member, **kw)


def flat(con, record_id, unit_no, area=90.0, member=A, use_type="住宅", title_status="现势", **kw):
    add(con, "stg_real_estate", record_id, unit_no, "某市某路1号", use_type, title_status, area)
    link(con, "real_estate", record_id, member, **kw)


def bank(con, record_id, balance, member=A, **kw):
    add(con, "stg_bank", record_id, balance)
    link(con, "bank", record_id, member, **kw)


def registered(con, record_id, relation_to_head, member, status="正常", hukou="H1"):
    add(con, "stg_public_security", record_id, "public_security", status, dt.date(2026, 9, 3) if status != "正常" else None, hukou,
        relation_to_head)
    link(con, "public_security", record_id, member)


# --- vehicles -------------------------------------------------------------------------------------------


def test_a_car_above_the_price_limit_is_a_vehicle_finding_and_an_exempt_motorcycle_is_not(con):
    vehicle(con, "ve:1", "小型轿车", 80000.0)
    vehicle(con, "ve:2", "普通二轮摩托车", 30000.0, member=B)  # exempt type
    vehicle(con, "ve:3", "小型轿车", 7500.0)  # at the limit, not above
    vehicle(con, "ve:4", "小型轿车", 90000.0, status="注销")  # not in normal status
    vehicle(con, "ve:5", "轻型货车", None, member=B)  # price unknown: not known to be above (VALUE_UNKNOWN)
    rows = candidates(con)
    assert found(rows) == [("VEHICLE", A, "ve:1", True, False)]
    assert "购置价格 80,000 元" in detail(rows, "ve:1") and "限额 7,500 元" in detail(rows, "ve:1")


def test_with_a_price_multiple_of_zero_any_non_exempt_vehicle_is_a_finding():
    con = connect(vehicle_price_limit_yuan=0.0)
    vehicle(con, "ve:1", "小型轿车", 3000.0)
    vehicle(con, "ve:2", "残疾人专用车", 3000.0)
    assert found(candidates(con)) == [("VEHICLE", A, "ve:1", True, False)]


def test_a_vehicle_on_a_waiting_or_probabilistic_link_is_a_finding_that_is_not_confirmed(con):
    vehicle(con, "ve:1", "小型轿车", 80000.0, pending=True, weight=0.2)
    vehicle(con, "ve:2", "小型普通客车", 60000.0, member=B, confirmed=False, weight=4.0)
    rows = candidates(con)
    assert found(rows) == [("VEHICLE", A, "ve:1", False, True), ("VEHICLE", B, "ve:2", False, False)]
    assert [r["match_weight"] for r in sorted(rows, key=lambda r: r["record_id"])] == [0.2, 4.0]


# --- business -------------------------------------------------------------------------------------------


def test_a_role_in_an_active_company_is_a_finding_from_the_contribution_limit_up(con):
    company(con, "biz:1", "有限责任公司", "存续", 100000.0)  # at the limit
    company(con, "biz:2", "有限责任公司", "在业", 99999.0)  # below
    company(con, "biz:3", "股份有限公司", "注销", 500000.0)  # not active
    company(con, "biz:4", "合伙企业", "吊销", 500000.0, role="执行事务合伙人")  # not active
    company(con, "biz:5", "个人独资企业", "在业", 250000.0, role="投资人", member=B)
    rows = candidates(con)
    assert found(rows) == [("BUSINESS_ROLE", A, "biz:1", True, False), ("BUSINESS_ROLE", B, "biz:5", True, False)]
    assert detail(rows, "biz:1") == "某某商贸（有限责任公司，存续）股东，注册资本 500,000 元，认缴出资 100,000 元"


def test_any_active_individual_business_is_a_finding_to_review_whatever_its_capital(con):
    company(con, "biz:1", "个体工商户", "存续", None, role="经营者")
    company(con, "biz:2", "个体工商户", "注销", None, role="经营者", member=B)
    assert found(candidates(con)) == [("BUSINESS_ROLE", A, "biz:1", True, False)]


# --- property -------------------------------------------------------------------------------------------


def test_more_residential_units_than_allowed_cite_each_unit_and_a_jointly_owned_flat_once(con):
    flat(con, "re:1", "U1")
    flat(con, "re:2", "U1", member=B)  # the same flat, the spouse's row as co-owner
    flat(con, "re:3", "U2", 60.0)
    rows = candidates(con)
    assert found(rows) == [("RESIDENTIAL_UNITS_OVER_LIMIT", A, "re:1", True, False),
                           ("RESIDENTIAL_UNITS_OVER_LIMIT", A, "re:3", True, False)]
    assert "家庭共 2 套，上限 1 套" in detail(rows, "re:3")


def test_one_jointly_owned_flat_is_within_a_limit_of_one_unit(con):
    flat(con, "re:1", "U1")
    flat(con, "re:2", "U1", member=B)
    assert candidates(con) == []


def test_a_second_flat_waiting_for_review_is_a_pending_finding_citing_that_flat(con):
    flat(con, "re:1", "U1")
    flat(con, "re:2", "U2", pending=True, weight=0.5)
    rows = candidates(con)
    assert found(rows) == [("RESIDENTIAL_UNITS_OVER_LIMIT", A, "re:2", False, True)]


def test_a_commercial_unit_is_a_finding_and_a_parking_space_or_a_cancelled_title_is_not(con):
    flat(con, "re:1", "S1", 45.0, use_type="商业")
    flat(con, "re:2", "S1", 45.0, use_type="商业", member=B)  # co-owned: cited once
    flat(con, "re:3", "P1", 12.0, use_type="车位")
    flat(con, "re:4", "S2", 80.0, use_type="办公", title_status="注销")
    rows = candidates(con)
    assert found(rows) == [("NON_RESIDENTIAL_PROPERTY", A, "re:1", True, False)]
    assert detail(rows, "re:1") == "商业用房 某市某路1号，45.0 平方米"


# --- household figures ----------------------------------------------------------------------------------


def test_income_above_the_standard_is_a_household_finding_and_income_at_the_standard_is_not(con):
    add(con, "stg_tax", "tax:1", "工资薪金所得", dt.date(2026, 6, 1), 12000.0, 0.0)
    link(con, "tax", "tax:1")
    assert candidates(con) == []  # 12000 / 12 months / 2 members = 500, the standard itself
    add(con, "stg_tax", "tax:2", "劳务报酬所得", dt.date(2026, 7, 1), 2400.0, 0.0)
    link(con, "tax", "tax:2", B)
    rows = candidates(con)
    assert [(r["code"], r["member_id"], r["record_id"], r["method"], r["is_confirmed"], r["is_pending"])
            for r in rows] == [("INCOME_OVER_STANDARD", None, None, "figure", True, False)]
    assert rows[0]["detail_zh"] == "家庭月人均收入 600.00 元，高于保障标准 500 元"


def test_assets_over_the_limit_only_through_a_probabilistic_link_are_a_finding_not_confirmed(con):
    bank(con, "bank:1", 2000.0)
    bank(con, "bank:2", 18000.0, member=B, confirmed=False, weight=5.0)
    rows = candidates(con)
    assert found(rows) == [("FINANCIAL_ASSETS_OVER_LIMIT", None, None, False, False)]
    assert rows[0]["detail_zh"] == "家庭人均金融资产 10,000.00 元，高于限额 9,000 元"


def test_assets_a_waiting_record_would_push_over_the_limit_are_a_pending_finding(con):
    bank(con, "bank:1", 10000.0)
    bank(con, "bank:2", 10000.0, pending=True, weight=0.1)
    rows = candidates(con)
    assert found(rows) == [("FINANCIAL_ASSETS_OVER_LIMIT", None, None, False, True)]
    assert rows[0]["detail_zh"].startswith("若确认待核实记录，家庭人均金融资产将为 10,000.00 元")


def test_assets_at_the_limit_are_no_finding(con):
    bank(con, "bank:1", 18000.0)
    assert candidates(con) == []


# --- registration ---------------------------------------------------------------------------------------


def test_a_death_in_the_registration_or_a_cremation_record_ends_a_members_registration(con):
    registered(con, "ps:1", "户主", A, status="死亡")
    add(con, "stg_civil_affairs", "ca:1", dt.date(2026, 8, 1), dt.date(2026, 8, 3), "某市殡仪馆")
    link(con, "civil_affairs", "ca:1", B)
    rows = candidates(con)
    assert found(rows, "MEMBER_REGISTRATION_ENDED") == [
        ("MEMBER_REGISTRATION_ENDED", A, "ps:1", True, False), ("MEMBER_REGISTRATION_ENDED", B, "ca:1", True, False)]
    assert detail(rows, "ps:1") == "户籍人员状态为“死亡”（变动日期 2026-09-03）"
    assert detail(rows, "ca:1") == "殡葬记录：死亡日期 2026-08-01，火化日期 2026-08-03，某市殡仪馆"


def test_a_member_moved_out_without_a_change_date_is_a_registration_ended_finding(con):
    add(con, "stg_public_security", "ps:1", "public_security", "迁出", None, "H1", "配偶")
    link(con, "public_security", "ps:1", B)
    add(con, "stg_public_security", "ps:2", "public_security", "正常", None, "H1", "户主")
    link(con, "public_security", "ps:2", A)
    rows = candidates(con)
    assert found(rows) == [("MEMBER_REGISTRATION_ENDED", B, "ps:1", True, False)]
    assert detail(rows, "ps:1") == "户籍人员状态为“迁出”"


def test_an_authorized_member_missing_from_a_delivered_registration_is_a_mismatch(con):
    add_member(con, "R1", "p1:c", "张小三", "子女", "")  # unauthorized: never looked up, never a finding
    con.execute("insert into source_status values (?, 'public_security', '公安 户籍', 'passed', '')", [RUN])
    registered(con, "ps:1", "户主", A)
    rows = candidates(con)
    assert found(rows) == [("MEMBER_REGISTRATION_MISMATCH", B, "requests:req.csv:3", True, False)]
    assert rows[0]["detail_zh"] == "申报成员“李四”在公安户籍数据中未查到"


def test_a_registration_that_was_not_delivered_makes_no_mismatch(con):
    con.execute("insert into source_status values (?, 'public_security', '公安 户籍', 'missing', '未交付')", [RUN])
    registered(con, "ps:1", "户主", A)
    assert candidates(con) == []


def test_a_declared_spouse_registered_as_a_daughter_is_a_relationship_mismatch(con):
    con.execute("insert into source_status values (?, 'public_security', '公安 户籍', 'passed', '')", [RUN])
    registered(con, "ps:1", "户主", A)
    registered(con, "ps:2", "女", B)
    rows = candidates(con)
    assert found(rows) == [("MEMBER_REGISTRATION_MISMATCH", B, "ps:2", True, False)]
    assert rows[0]["detail_zh"] == "申报关系“配偶”，户籍登记为与户主关系“女”"


def test_a_declared_spouse_registered_as_spouse_is_no_mismatch(con):
    con.execute("insert into source_status values (?, 'public_security', '公安 户籍', 'passed', '')", [RUN])
    registered(con, "ps:1", "户主", A)
    registered(con, "ps:2", "配偶", B)
    assert candidates(con) == []


@pytest.mark.parametrize(("applicant_reg", "member_reg", "declared", "mismatch"), [
    ("子", "户主", "父母", False), ("子", "妻", "父母", False), ("子", "妻", "配偶", True),  # a son in his father's 户
    ("子", "女", "兄弟姐妹", False), ("子", "孙子", "子女", False), ("子", "孙子", "孙子女", True),
    ("妻", "户主", "配偶", False), ("妻", "户主", "子女", True), ("妻", "父亲", "父母", False),  # the head's wife
    ("母", "户主", "子女", False), ("母", "父", "配偶", False), ("母", "父", "子女", True),  # the head's mother
    ("孙子", "子", "父母", False), ("孙子", "子", "兄弟姐妹", True), ("孙子", "户主", "祖父母", False),
    ("弟", "户主", "兄弟姐妹", False), ("弟", "子", "子女", True),  # the head's son is his nephew
    ("20", "02", "父母", False), ("20", "12", "配偶", True),  # GB/T 4761 codes: 子, 户主, 妻
    ("儿媳", "子", "配偶", False), ("儿媳", "子", "兄弟姐妹", False),  # an in-law applying: not translated
    ("父", "孙子", "子女", False),  # the head's grandson to the head's father: not told apart, no finding
    ("子", "户主", "其他", False),  # 其他 is checked against nothing
])
def test_a_declared_relation_is_translated_through_the_head_the_applicant_does_not_head(
        con, applicant_reg, member_reg, declared, mismatch):
    con.execute("insert into source_status values (?, 'public_security', '公安 户籍', 'passed', '')", [RUN])
    con.execute("update stg_requests set relation = ? where id_norm = ?", [declared, B])
    registered(con, "ps:1", applicant_reg, A)
    registered(con, "ps:2", member_reg, B)
    rows = candidates(con)
    assert found(rows) == ([("MEMBER_REGISTRATION_MISMATCH", B, "ps:2", True, False)] if mismatch else [])


def test_a_relation_contradicted_through_an_unconfirmed_registration_of_the_applicant_is_unconfirmed(con):
    con.execute("insert into source_status values (?, 'public_security', '公安 户籍', 'passed', '')", [RUN])
    add(con, "stg_public_security", "ps:1", "public_security", "正常", None, "H1", "子")
    link(con, "public_security", "ps:1", A, confirmed=False, weight=12.0)  # his own record, linked by name
    registered(con, "ps:2", "妻", B)  # his mother, declared his 配偶
    rows = candidates(con)
    # … and he is registered on that record alone: rejected, he is not found (a pending candidate, traps10)
    assert found(rows) == [("MEMBER_REGISTRATION_MISMATCH", A, "requests:req.csv:2", False, True),
                           ("MEMBER_REGISTRATION_MISMATCH", B, "ps:2", False, False)]
    assert detail(rows, "ps:2") == "申报关系“配偶”，户籍登记为与户主关系“妻”（申请人登记为与户主关系“子”）"


# --- runs -----------------------------------------------------------------------------------------------


def test_rows_of_another_run_date_are_ignored(con):
    vehicle(con, "ve:1", "小型轿车", 80000.0, run_date=OTHER_RUN)
    company(con, "biz:1", "个体工商户", "存续", None, run_date=OTHER_RUN)
    add(con, "stg_vehicle", "ve:2", "小型轿车", "赣A1", "正常", 80000.0, run_date=OTHER_RUN)
    link(con, "vehicle", "ve:2")  # linked in this run, staged only in the other
    add(con, "stg_civil_affairs", "ca:1", dt.date(2026, 8, 1), None, None, run_date=OTHER_RUN)
    link(con, "civil_affairs", "ca:1", B)
    assert candidates(con) == []


# --- findings.sql ---------------------------------------------------------------------------------------

GAPS = """
create table finding_candidates (run_date varchar, request_id varchar, code varchar, member_id varchar,
    source varchar, record_id varchar, detail_zh varchar, is_confirmed boolean, method varchar,
    match_weight double, is_pending boolean);
create table evidence_gaps (run_date varchar, request_id varchar, member_id varchar, source varchar, code varchar,
    record_id varchar, file_name varchar, row_no integer, match_weight double, related_code varchar,
    reason_zh varchar);
"""


def test_findings_are_the_candidates_not_waiting_for_review_and_every_evidence_gap(con):
    con.sql(GAPS)
    rows = [
        (RUN, "R1", "VEHICLE", A, "vehicle", "ve:1", "小型轿车", True, "exact_id", None, False),
        (RUN, "R1", "BUSINESS_ROLE", B, "business_registry", "biz:1", "某某商贸", False, "probabilistic", 3.0, False),
        (RUN, "R1", "VEHICLE", B, "vehicle", "ve:2", "小型轿车", False, "probabilistic", 0.2, True),  # waiting
        (OTHER_RUN, "R1", "VEHICLE", A, "vehicle", "ve:9", "小型轿车", True, "exact_id", None, False),
    ]
    con.executemany("insert into finding_candidates values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    gaps = [
        (RUN, "R1", B, "vehicle", "UNCONFIRMED_LINK", "ve:2", None, None, 0.2, "VEHICLE", "待核实"),
        (RUN, "R1", A, "bank", "VALUE_UNKNOWN", "bank:1", "b.csv", 7, None, None, "余额为空"),
        (RUN, "R1", A, "tax", "RECORD_QUARANTINED", "tax:t.csv:12", "t.csv", 12, None, None, "金额无法识别"),
        (RUN, "R1", "p1:c", None, "NO_AUTHORIZATION", None, None, None, None, None, "无授权书"),
        (RUN, "R1", None, "vehicle", "SOURCE_MISSING", None, None, None, None, None, "未交付"),
        (OTHER_RUN, "R1", A, "bank", "VALUE_UNKNOWN", "bank:9", "b.csv", 9, None, None, "余额为空"),
    ]
    con.executemany("insert into evidence_gaps values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", gaps)
    got = sorted((r["code"], r["member_id"] or "", r["record_id"] or "", r["detail_zh"], r["is_confirmed"],
                  r["method"], r["match_weight"]) for r in model(con, "findings"))
    assert got == [
        ("BUSINESS_ROLE", B, "biz:1", "某某商贸", False, "probabilistic", 3.0),
        ("NO_AUTHORIZATION", "p1:c", "", "无授权书", True, "request", None),
        ("RECORD_QUARANTINED", A, "tax:t.csv:12", "金额无法识别", True, "quarantine", None),
        ("SOURCE_MISSING", "", "", "未交付", True, "source", None),
        ("UNCONFIRMED_LINK", B, "ve:2", "待核实", False, "probabilistic", 0.2),
        ("VALUE_UNKNOWN", A, "bank:1", "余额为空", True, "record", None),
        ("VEHICLE", A, "ve:1", "小型轿车", True, "exact_id", None),
    ]
    assert {r["run_date"] for r in model(con, "findings")} == {RUN}
