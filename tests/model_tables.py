"""Given tables for the assessment-model tests (test_figures_model.py, test_findings_model.py):
the staged and linked tables the models in sql/assess/ read, created empty on an in-memory DuckDB,
and small helpers that add given rows and run a model."""

from __future__ import annotations

from hedui import db
from hedui.steps.assess import create_macros

RUN = "20261128"  # window of 12 months: 2025-11-01 up to (not including) 2026-11-01
OTHER_RUN = "20261101"

TABLES = """
create table stg_requests (run_date varchar, request_id varchar, id_norm varchar, name varchar, relation varchar,
    authorization_no varchar, record_id varchar, program varchar, region_code varchar, urban_rural varchar,
    request_date date, name_norm varchar, authorization_date date);
create table household_policy (run_date varchar, request_id varchar, policy_id varchar,
    standard_monthly_yuan double, urban_standard_monthly_yuan double, income_window_months integer,
    financial_assets_limit_yuan double, count_housing_fund_balance boolean, max_residential_units integer,
    vehicle_price_limit_yuan double, exempt_vehicle_types varchar[], business_contribution_limit_yuan double,
    business_always_review_types varchar[], excluded_income_items varchar[], si_rate_enterprise double,
    si_rate_public double, si_rate_unemployment double, policy_unknown_zh varchar);
create table links (run_date varchar, source varchar, record_id varchar, request_id varchar, member_id varchar,
    method varchar, match_weight double, is_confirmed boolean);
create table pending_links (run_date varchar, source varchar, record_id varchar, request_id varchar,
    member_id varchar, method varchar, match_weight double, is_confirmed boolean, status varchar);
create table source_status (run_date varchar, source varchar, source_zh varchar, status varchar,
    reasons_zh varchar);
create table delivered_files (run_date varchar, source varchar, file_name varchar, rows_delivered bigint);
create table stg_tax (run_date varchar, record_id varchar, income_item varchar, period_month date,
    income_yuan double, tax_paid_yuan double, withholder varchar, id_norm varchar);
create table stg_social_insurance (run_date varchar, record_id varchar, scheme varchar, category varchar,
    period_month date, benefit_yuan double, contribution_base_yuan double, id_norm varchar, employer varchar);
create table stg_bank (run_date varchar, record_id varchar, balance_yuan double, institution varchar,
    account_no varchar, query_date date default date '2026-11-26', account_type varchar);
create table stg_securities (run_date varchar, record_id varchar, market_value_yuan double,
    cash_balance_yuan double, securities_account varchar, query_date date default date '2026-11-26');
create table stg_insurance (run_date varchar, record_id varchar, policy_status varchar, cash_value_yuan double,
    policy_no varchar, query_date date default date '2026-11-26');
create table stg_housing_fund (run_date varchar, record_id varchar, account_status varchar, balance_yuan double);
create table stg_real_estate (run_date varchar, record_id varchar, unit_no varchar, location varchar,
    use_type varchar, title_status varchar, floor_area_m2 double);
create table stg_vehicle (run_date varchar, record_id varchar, vehicle_type varchar, plate_no varchar,
    vehicle_status varchar, purchase_price_yuan double, first_registration_date date);
create table stg_business_registry (run_date varchar, record_id varchar, entity_name varchar, entity_type varchar,
    entity_status varchar, role varchar, registered_capital_yuan double, subscribed_yuan double, credit_code varchar);
create table stg_public_security (run_date varchar, record_id varchar, source varchar, person_status varchar,
    change_date date, hukou_no varchar, relation_to_head varchar, id_norm varchar,
    name varchar, name_norm varchar);
create table quarantine_links (run_date varchar, source varchar, file_name varchar, row_no integer,
    request_id varchar, member_id varchar, method varchar);
create table quarantine_subjects (run_date varchar, source varchar, file_name varchar, row_no integer,
    id_number varchar, id_masked varchar, name_norm varchar, rules varchar, reason_zh varchar, request_id varchar);
create table stg_civil_affairs (run_date varchar, record_id varchar, death_date date, cremation_date date,
    funeral_home varchar);
"""

# the lists of hedui/policies/jiangxi_demo.yaml; standard 500 yuan/person/month; assets limit
# 1.5 x 500 x 12 = 9000 per capita; vehicles above 15 x 500 = 7500 yuan; contributions from 100,000 yuan;
# at most one residential unit
POLICY = {
    "policy_id": "test", "standard_monthly_yuan": 500.0, "urban_standard_monthly_yuan": 500.0,
    "income_window_months": 12, "financial_assets_limit_yuan": 9000.0, "count_housing_fund_balance": False,
    "max_residential_units": 1, "vehicle_price_limit_yuan": 7500.0,
    "exempt_vehicle_types": ["普通二轮摩托车", "三轮汽车", "低速货车", "残疾人专用车"],
    "business_contribution_limit_yuan": 100000.0, "business_always_review_types": ["个体工商户"],
    "excluded_income_items": ["城乡居民基本养老保险", "社会救助金", "优待抚恤金", "计划生育奖励扶助", "奖学金",
                              "见义勇为奖励"],
    "si_rate_enterprise": 0.08, "si_rate_public": 0.08, "si_rate_unemployment": 0.005,
}

A, B = "p1:a", "p1:b"  # the applicant and the spouse of household R1


def connect(**policy) -> object:
    """An in-memory database with the given tables and household R1 of two authorized members."""
    con = db.connect()
    con.sql(TABLES)
    create_macros(con)
    add_member(con, "R1", A, "张三", "本人", "SQ1", program="低保", region="360702", urban_rural="城市")
    add_member(con, "R1", B, "李四", "配偶", "SQ2")
    set_policy(con, "R1", **policy)
    return con


def add_member(con, request_id, member_id, name, relation, authorization_no, *, program="低保",
               region="360702", urban_rural="城市", run_date=RUN):
    row_no = con.sql("select count(*) + 2 from stg_requests").fetchall()[0][0]
    con.execute("insert into stg_requests values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, date '2026-11-20', ?, null)",
                [run_date, request_id, member_id, name, relation, authorization_no, f"requests:req.csv:{row_no}",
                 program, region, urban_rural, name])


def set_policy(con, request_id, run_date=RUN, **overrides):
    params = {**POLICY, **overrides}
    con.execute("delete from household_policy where request_id = ? and run_date = ?", [request_id, run_date])
    cols = ", ".join(params)
    marks = ", ".join("?" for _ in params)
    con.execute(f"insert into household_policy (run_date, request_id, {cols}) values (?, ?, {marks})",
                [run_date, request_id, *params.values()])


def link(con, source, record_id, member_id=A, *, request_id="R1", confirmed=True, pending=False, weight=None,
         run_date=RUN):
    """Link a record to a member: exact (confirmed), probabilistic (not confirmed) or waiting for review."""
    if pending:
        con.execute("insert into pending_links values (?, ?, ?, ?, ?, 'probabilistic', ?, false, 'pending')",
                    [run_date, source, record_id, request_id, member_id, weight])
    else:
        con.execute("insert into links values (?, ?, ?, ?, ?, ?, ?, ?)",
                    [run_date, source, record_id, request_id, member_id,
                     "exact_id" if confirmed else "probabilistic", weight, confirmed])


def add(con, table, *values, run_date=RUN):
    """Insert one given row into a staged table (run_date first; columns not given are null)."""
    columns = [c[0] for c in con.sql(f"select * from {table} limit 0").description][:len(values) + 1]
    marks = ", ".join("?" for _ in columns)
    con.execute(f"insert into {table} ({', '.join(columns)}) values ({marks})", [run_date, *values])


def model(con, name, run_date=RUN) -> list[dict]:
    """Run sql/assess/<name>.sql and return its rows as dicts."""
    rel = con.sql(db.sql_text(f"assess/{name}.sql"), params={"run_date": run_date})
    cols = rel.columns
    return [dict(zip(cols, r, strict=True)) for r in rel.fetchall()]


def materialize(con, name, run_date=RUN) -> None:
    """Create table <name> from its model, as the assess step does."""
    con.execute(f"create or replace table {name} as " + db.sql_text(f"assess/{name}.sql"), {"run_date": run_date})


def figures(con) -> dict:
    """The households and figures models in order; the figures row of R1."""
    materialize(con, "households")
    rows = [r for r in model(con, "figures") if r["request_id"] == "R1"]
    assert len(rows) == 1
    return rows[0]
