"""The household and figure models (sql/assess/households.sql, figures.sql) on small in-memory tables:
given staged and linked rows, the expected household figures of policy.md."""

from __future__ import annotations

import datetime as dt

import pytest
from model_tables import (
    OTHER_RUN,
    RUN,
    A,
    B,
    add,
    add_member,
    connect,
    figures,
    link,
    materialize,
    model,
    set_policy,
)


@pytest.fixture
def con():
    return connect()


def tax(con, record_id, item, month, income, tax_paid=0.0, member=A, **kw):
    add(con, "stg_tax", record_id, item, dt.date.fromisoformat(month), income, tax_paid)
    link(con, "tax", record_id, member, **kw)


def si(con, record_id, scheme, category, month, benefit=None, base=None, member=A, **kw):
    add(con, "stg_social_insurance", record_id, scheme, category, dt.date.fromisoformat(month), benefit, base)
    link(con, "social_insurance", record_id, member, **kw)


def flat(con, record_id, unit_no, area, member=A, use_type="住宅", title_status="现势", **kw):
    add(con, "stg_real_estate", record_id, unit_no, "某市某路1号", use_type, title_status, area,
        run_date=kw.get("run_date", RUN))
    link(con, "real_estate", record_id, member, **kw)


# --- households.sql -------------------------------------------------------------------------------------


def test_a_household_takes_the_applicants_program_and_region_and_counts_its_authorized_members(con):
    add_member(con, "R1", "p1:c", "张小三", "子女", "  ", program="特困", region="360100", urban_rural="农村")
    add_member(con, "R2", "p2:a", "王五", "本人", "SQ9", run_date=OTHER_RUN)
    rows = model(con, "households")
    assert len(rows) == 1  # R2 belongs to another run
    h = rows[0]
    assert (h["request_id"], h["program"], h["region_code"], h["urban_rural"]) == ("R1", "低保", "360702", "城市")
    assert (h["n_members"], h["n_authorized"]) == (3, 2)  # a blank authorization number is none
    assert (h["standard_monthly_yuan"], h["income_window_months"], h["max_residential_units"]) == (500.0, 12, 1)


def test_a_household_without_its_applicant_row_takes_the_program_of_another_member(con):
    con.sql("delete from stg_requests where relation = '本人'")
    h = model(con, "households")[0]
    assert (h["program"], h["n_members"]) == ("低保", 1)


# --- income ---------------------------------------------------------------------------------------------


def test_income_counts_the_twelve_months_before_the_run_month_net_of_tax_paid(con):
    tax(con, "tax:1", "工资薪金所得", "2026-10-01", 6000.0, 200.0)  # last month of the window
    tax(con, "tax:2", "劳务报酬所得", "2025-11-01", 1200.0)  # first month of the window
    tax(con, "tax:3", "工资薪金所得", "2025-10-01", 9999.0, 99.0, member=B)  # before the window
    tax(con, "tax:4", "工资薪金所得", "2026-11-01", 9999.0, 99.0)  # the run month itself
    f = figures(con)
    assert (f["window_start"], f["window_end"]) == (dt.date(2025, 11, 1), dt.date(2026, 11, 1))
    assert (f["taxed_income_yuan"], f["tax_paid_yuan"]) == (7200.0, 200.0)
    assert f["income_monthly_per_capita_yuan"] == round(7000 / 12 / 2, 6)  # 6 decimals: a limit is crossed by the figure, not its rounding


def test_the_income_window_follows_the_policy_parameter(con):
    con.sql("update household_policy set income_window_months = 6")
    tax(con, "tax:1", "工资薪金所得", "2026-05-01", 6000.0)  # inside 6 months
    tax(con, "tax:2", "工资薪金所得", "2026-04-01", 6000.0)  # outside 6 months
    f = figures(con)
    assert f["window_start"] == dt.date(2026, 5, 1)
    assert f["taxed_income_yuan"] == 6000.0
    assert f["income_monthly_per_capita_yuan"] == 500.0


def test_the_residents_basic_pension_and_other_excluded_items_are_not_income(con):
    si(con, "si:1", "城乡居民基本养老保险", "待遇", "2026-06-01", benefit=150.0)
    si(con, "si:2", "企业职工基本养老保险", "待遇", "2026-06-01", benefit=2400.0, member=B)
    si(con, "si:3", "失业保险", "待遇", "2026-07-01", benefit=1200.0, member=B)
    tax(con, "tax:1", "优待抚恤金", "2026-06-01", 3000.0)
    tax(con, "tax:2", "利息股息红利所得", "2026-06-01", 600.0)
    f = figures(con)
    assert f["benefit_yuan"] == 3600.0  # the enterprise pension and the unemployment benefit
    assert f["taxed_income_yuan"] == 600.0
    assert f["income_monthly_per_capita_yuan"] == 175.0  # (3600 + 600) / 12 / 2


def test_wages_are_estimated_from_the_contribution_base_only_for_a_member_without_tax_wages(con):
    tax(con, "tax:1", "工资薪金所得", "2026-03-01", 5000.0)
    si(con, "si:a", "企业职工基本养老保险", "缴费", "2026-03-01", base=4000.0)  # A has tax wages
    si(con, "si:b", "企业职工基本养老保险", "缴费", "2026-03-01", base=3000.0, member=B)
    si(con, "si:u", "失业保险", "缴费", "2026-03-01", base=3000.0, member=B)  # never a wage estimate
    f = figures(con)
    assert f["wage_estimate_yuan"] == 3000.0
    # the individual's share: 8 % of both pension bases, 0.5 % of the unemployment base
    assert f["si_individual_yuan"] == pytest.approx(4000 * 0.08 + 3000 * 0.08 + 3000 * 0.005)
    assert f["income_monthly_per_capita_yuan"] == round((5000 + 3000 - 575) / 12 / 2, 6)


def test_a_tax_wage_waiting_for_review_replaces_the_estimate_in_the_if_confirmed_income(con):
    si(con, "si:a", "企业职工基本养老保险", "缴费", "2026-03-01", base=4800.0)
    tax(con, "tax:1", "工资薪金所得", "2026-03-01", 6000.0, pending=True, weight=0.5)
    f = figures(con)
    assert f["wage_estimate_yuan"] == 4800.0  # without the waiting record, the estimate stands
    # confirmed, the tax wage replaces the estimate: (6000 - 4800 x 8 %) / 12 / 2
    assert f["income_monthly_per_capita_if_confirmed_yuan"] == round((6000 - 384) / 12 / 2, 6)


def test_a_contribution_base_outside_the_window_is_no_wage_estimate(con):
    si(con, "si:b", "企业职工基本养老保险", "缴费", "2025-10-01", base=3000.0, member=B)
    f = figures(con)
    assert (f["wage_estimate_yuan"], f["si_individual_yuan"], f["income_monthly_per_capita_yuan"]) == (0, 0, 0)


def test_income_waiting_for_review_counts_only_in_the_if_confirmed_figure(con):
    tax(con, "tax:1", "工资薪金所得", "2026-03-01", 2400.0)
    tax(con, "tax:2", "经营所得", "2026-03-01", 24000.0, pending=True, weight=0.4)
    tax(con, "tax:3", "劳务报酬所得", "2026-03-01", 4800.0, confirmed=False, weight=2.0)
    f = figures(con)
    assert f["taxed_income_yuan"] == 7200.0
    assert f["income_monthly_per_capita_yuan"] == 300.0
    assert f["income_monthly_per_capita_confirmed_yuan"] == 100.0  # the probabilistic link left out
    assert f["income_monthly_per_capita_if_confirmed_yuan"] == 1300.0


# --- financial assets -----------------------------------------------------------------------------------


def test_financial_assets_add_bank_securities_and_the_cash_value_of_policies_in_force(con):
    add(con, "stg_bank", "bank:1", 1000.0)
    link(con, "bank", "bank:1")
    add(con, "stg_bank", "bank:2", 2000.0)
    link(con, "bank", "bank:2", B)
    add(con, "stg_securities", "sec:1", 3000.0, 500.0)
    link(con, "securities", "sec:1")
    add(con, "stg_insurance", "ins:1", "有效", 700.0)
    link(con, "insurance", "ins:1")
    add(con, "stg_insurance", "ins:2", "终止", 9999.0)  # terminated: not held
    link(con, "insurance", "ins:2")
    add(con, "stg_housing_fund", "hf:1", "正常", 5000.0)  # the policy leaves the housing fund out
    link(con, "housing_fund", "hf:1")
    add(con, "stg_bank", "bank:3", 88888.0)  # not linked to any member
    f = figures(con)
    assert f["financial_assets_yuan"] == 7200.0
    assert f["financial_assets_per_capita_yuan"] == 3600.0
    assert f["financial_assets_limit_yuan"] == 9000.0
    assert f["n_unknown_amounts"] == 0


def test_the_housing_fund_counts_where_the_policy_says_so_unless_the_account_is_closed():
    con = connect(count_housing_fund_balance=True)
    add(con, "stg_housing_fund", "hf:1", "正常", 5000.0)
    link(con, "housing_fund", "hf:1")
    add(con, "stg_housing_fund", "hf:2", "销户", 800.0)
    link(con, "housing_fund", "hf:2", B)
    f = figures(con)
    assert f["financial_assets_yuan"] == 5000.0


def test_an_empty_bank_balance_is_unknown_adding_nothing_and_is_counted_as_unknown(con):
    add(con, "stg_bank", "bank:1", None)
    link(con, "bank", "bank:1")
    add(con, "stg_bank", "bank:2", 100.0)
    link(con, "bank", "bank:2")
    f = figures(con)
    assert (f["financial_assets_yuan"], f["n_unknown_amounts"]) == (100.0, 1)


def test_amounts_add_up_exactly_whatever_order_the_rows_come_in(con):
    # doubles added in this order give 0.6000000000000001; summed as exact decimals the figure is 0.6, so a
    # re-run whose threads add the rows in another order gives the same figures and the same report
    for i, amount in enumerate((0.1, 0.2, 0.3)):
        add(con, "stg_bank", f"bank:{i}", amount)
        link(con, "bank", f"bank:{i}")
    f = figures(con)
    assert f["financial_assets_yuan"] == 0.6
    assert f["financial_assets_per_capita_yuan"] == 0.3


def test_absurd_amounts_stay_past_every_limit_and_do_not_overflow_the_sum(con):
    for i in range(30):  # 30 × 1e99 would overflow an exact sum: each is held at 1e26
        add(con, "stg_bank", f"bank:{i}", 1e99)
        link(con, "bank", f"bank:{i}")
    f = figures(con)
    assert f["financial_assets_yuan"] == pytest.approx(3e27)
    assert f["financial_assets_per_capita_yuan"] > f["financial_assets_limit_yuan"]


def test_a_zero_balance_is_known_and_not_unknown(con):
    add(con, "stg_bank", "bank:1", 0.0)
    link(con, "bank", "bank:1")
    f = figures(con)
    assert (f["financial_assets_yuan"], f["n_unknown_amounts"]) == (0.0, 0)


def test_a_securities_record_with_neither_value_is_counted_as_an_unknown_amount(con):
    add(con, "stg_securities", "sec:1", None, None)
    link(con, "securities", "sec:1")
    f = figures(con)
    assert (f["financial_assets_yuan"], f["n_unknown_amounts"]) == (0.0, 1)


def test_assets_waiting_for_review_count_only_in_the_if_confirmed_figure(con):
    add(con, "stg_bank", "bank:1", 2000.0)
    link(con, "bank", "bank:1")
    add(con, "stg_bank", "bank:2", 50000.0)
    link(con, "bank", "bank:2", pending=True, weight=0.3)
    add(con, "stg_bank", "bank:3", 4000.0)
    link(con, "bank", "bank:3", B, confirmed=False, weight=3.1)
    f = figures(con)
    assert f["financial_assets_per_capita_yuan"] == 3000.0
    assert f["financial_assets_per_capita_confirmed_yuan"] == 1000.0
    assert f["financial_assets_per_capita_if_confirmed_yuan"] == 28000.0


# --- property -------------------------------------------------------------------------------------------


def test_residential_units_currently_held_are_counted_with_their_area_per_capita(con):
    flat(con, "re:1", "U1", 90.0)
    flat(con, "re:2", "U2", 60.0, member=B)
    flat(con, "re:3", "U3", 120.0, title_status="注销")  # sold: no longer held
    flat(con, "re:4", "U4", 45.0, use_type="商业")  # not residential
    f = figures(con)
    assert (f["n_residential_units"], f["residential_area_m2"], f["residential_area_per_capita_m2"]) == (
        2, 150.0, 75.0)
    assert f["max_residential_units"] == 1


def test_a_flat_waiting_for_review_counts_only_in_the_if_confirmed_units(con):
    flat(con, "re:1", "U1", 90.0)
    flat(con, "re:2", "U2", 60.0, pending=True, weight=0.1)
    f = figures(con)
    assert (f["n_residential_units"], f["n_residential_units_if_confirmed"], f["residential_area_m2"]) == (
        1, 2, 90.0)


def test_a_flat_owned_jointly_by_two_members_is_one_unit(con):
    flat(con, "re:1", "U1", 90.0)
    flat(con, "re:2", "U1", 90.0, member=B)  # one row per co-owner
    f = figures(con)
    assert f["n_residential_units"] == 1


def test_a_flat_owned_jointly_by_two_members_counts_its_area_once(con):
    flat(con, "re:1", "U1", 90.0)
    flat(con, "re:2", "U1", 90.0, member=B)
    f = figures(con)
    assert (f["residential_area_m2"], f["residential_area_per_capita_m2"]) == (90.0, 45.0)


# --- runs -----------------------------------------------------------------------------------------------


def test_rows_of_another_run_date_are_ignored(con):
    add(con, "stg_tax", "tax:1", "工资薪金所得", dt.date(2026, 6, 1), 9000.0, 0.0, run_date=OTHER_RUN)
    link(con, "tax", "tax:1", run_date=OTHER_RUN)
    add(con, "stg_bank", "bank:1", 90000.0, run_date=OTHER_RUN)
    link(con, "bank", "bank:1")  # linked in this run, staged only in the other
    add(con, "stg_bank", "bank:2", 90000.0)
    link(con, "bank", "bank:2", run_date=OTHER_RUN)  # staged in this run, linked only in the other
    flat(con, "re:1", "U1", 90.0, run_date=OTHER_RUN)
    f = figures(con)
    assert (f["taxed_income_yuan"], f["financial_assets_yuan"], f["n_residential_units"]) == (0, 0, 0)
    materialize(con, "households")
    assert model(con, "figures", run_date=OTHER_RUN) == []  # no household in the other run


def test_a_household_with_nothing_linked_has_zero_figures_and_its_limits(con):
    f = figures(con)
    assert f["n_members"] == 2
    assert (f["income_monthly_per_capita_yuan"], f["financial_assets_per_capita_yuan"],
            f["n_residential_units"], f["residential_area_per_capita_m2"]) == (0, 0, 0, 0)
    assert (f["standard_monthly_yuan"], f["financial_assets_limit_yuan"]) == (500.0, 9000.0)


def test_each_household_counts_only_the_records_linked_to_its_own_members(con):
    add_member(con, "R2", "p2:a", "王五", "本人", "SQ9")
    set_policy(con, "R2")
    add(con, "stg_bank", "bank:1", 1000.0)
    link(con, "bank", "bank:1")
    add(con, "stg_bank", "bank:2", 40000.0)
    link(con, "bank", "bank:2", "p2:a", request_id="R2")
    materialize(con, "households")
    got = {r["request_id"]: (r["n_members"], r["financial_assets_yuan"], r["financial_assets_per_capita_yuan"])
           for r in model(con, "figures")}
    assert got == {"R1": (2, 1000.0, 500.0), "R2": (1, 40000.0, 40000.0)}
