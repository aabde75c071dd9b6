"""Session 32, report (reportio): fastpage writes the texts that cannot need escaping (the `yuan` filter's amounts,
`%.2f` weights and areas, `strftime` months) without passing them through `_escape`; the page stays Jinja's."""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal

import pytest

AMOUNTS = [None, 0, 0.0, -0.0, 1.0, -1.0, 0.005, 0.015, 2.675, 12.25, -1234.567, 1234567.891, 1e12, 1e-9, 5e5,
           float("nan"), float("inf"), float("-inf"), Decimal("0"), Decimal("-0.00"), Decimal("1234.5"),
           Decimal("-98765.4321"), 7, -7, 10**15]
ESCAPED = set("&<>\"'") | set("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


@pytest.mark.parametrize("amount", AMOUNTS, ids=repr)
def test_BW01_an_amounts_text_has_nothing_to_escape(amount):
    """The premise of writing `yuan(x)` unescaped: its text is a plain str without a character `_escape`
    replaces, so the escape was the identity on it."""
    from hedui.steps.report.display import _env, _escape

    text = _env().filters["yuan"](amount)
    assert type(text) is str
    assert not ESCAPED & set(text)
    assert _escape(text) == text
    for fmt in ("%.2f",):  # the weights' and the area's text (Jinja's `format`)
        if amount is not None and not (isinstance(amount, float) and math.isnan(amount)):
            assert _escape(fmt % (amount,)) == fmt % (amount,)


@pytest.fixture(scope="module")
def pages():
    """(the fastpage test module's page values, Jinja's household.html as the workers had it, fastpage)."""
    from types import SimpleNamespace

    import test_report_fastpage as fp
    from markupsafe import Markup

    from hedui.steps.report.display import _env, _escape, page_renderer
    from hedui.steps.report.fastpage import renderer

    tpl = _env().get_template("household.html")
    tpl.root_render_func.__globals__["escape"] = _escape
    jinja = page_renderer(tpl)

    def reference(*, members, records, **values) -> bytes:
        per_member = [SimpleNamespace(member=m, records=Markup(r.decode()))
                      for m, r in zip(members, records, strict=True)]
        return jinja(members=members, per_member=per_member, **values).encode()

    return fp, reference, renderer(tpl, jinja)


HOUSEHOLDS = [
    # amounts of every sign and size, a text where a date is expected (cdate passes it through: escaped)
    dict(income_monthly_per_capita_yuan=-0.0, standard_monthly_yuan=-1234.567, taxed_income_yuan=1e12,
         tax_paid_yuan=float("nan"), benefit_yuan=float("inf"), wage_estimate_yuan=0.015, si_individual_yuan=None,
         financial_assets_per_capita_yuan=2.675, financial_assets_yuan=Decimal("-98765.4321"),
         financial_assets_limit_yuan=Decimal("0"), residential_area_per_capita_m2=Decimal("12.345"),
         vehicle_price_limit_yuan=7, business_contribution_limit_yuan=10**15,
         window_start="<b>2026&", window_end="2026-11-01\u202e", request_date="'x'"),
    dict(residential_area_per_capita_m2=-0.0, window_start=dt.date(2026, 1, 31)),
]


@pytest.mark.parametrize("over", HOUSEHOLDS, ids=["amounts-and-texts", "zeros"])
@pytest.mark.parametrize("rich", [True, False])
def test_BW02_the_page_with_unescaped_amounts_is_the_templates_page(pages, over, rich):
    """fastpage's page (amounts, weights, months, areas written as they are) is Jinja's household.html,
    byte for byte, with amounts of every kind and hostile text in the fields that stay escaped."""
    fp, reference, fast = pages
    values = fp._values(rich=rich, h=fp._household(**over))
    expected = reference(**values)
    assert fast(**values) == expected
    assert b"<b>2026" not in expected and "\u202e".encode() not in expected


def test_BW03_lineage_months_weights_and_amounts_match_the_template(pages):
    """The citation tables of a figure (lineage: months by strftime, amounts by `yuan`, weights by `%.2f`)
    with hostile items, files and methods: the same bytes as the template."""
    from hedui.steps.report.display import lineage_groups

    fp, reference, fast = pages
    row = dict(request_id="R", figure_code="INCOME_OVER_STANDARD", source="tax<", item="工资<薪金>&",
               period_month=dt.date(2026, 12, 1), amount_yuan=-0.0, is_in_window=True, is_excluded=False,
               exclusion_zh=None, is_counted=True, file_name="t'<1>.csv", row_no=3, delivery_date="<2026>",
               method_zh="概率<匹配>", match_weight=-0.004, is_confirmed=False, member_name="张<三>",
               member_relation="本<人>", _h="l")
    rows = [fp._row(**row), fp._row(**{**row, "amount_yuan": 1e12, "match_weight": 99.995,
                                        "period_month": dt.date(1999, 1, 1)}),
            fp._row(**{**row, "amount_yuan": -1.005, "match_weight": None, "period_month": None})]
    values = fp._values(rich=True, lineage=lineage_groups(rows))
    expected = reference(**values)
    assert fast(**values) == expected
    for hostile in ("工资<薪金>", "t'<1>", "<2026>", "概率<匹配>", "张<三>", "本<人>"):
        assert hostile.encode() not in expected
    assert b"-0.00" in expected and b"1,000,000,000,000.00" in expected and b"-0.00\xef\xbc\x89" in expected
