"""The household page written out in Python (fastpage) is Jinja's household.html, character for character."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from markupsafe import Markup

HOSTILE = "<script>alert('x')</script> & \"q\" \u202egnp.exe"


def _row(**values):
    from hedui.steps.report.pages import _row_class

    return _row_class(tuple(values))(tuple(values.values()))


def _household(**over):
    h = dict(request_id="R-<1>&'", program="低保" + HOSTILE, region_code="110101", urban_rural="城市",
             request_date=dt.date(2026, 11, 2), policy_id="P&1", policy_source_zh="演示<政策>",
             policy_demonstration=True, outcome="FINDINGS", findings="VEHICLE;INCOME_OVER_STANDARD",
             n_members=3, n_authorized=2, window_start=dt.date(2026, 5, 1), window_end="2026-11-01",
             income_window_months=6, income_monthly_per_capita_yuan=1234.5, standard_monthly_yuan=1000.0,
             taxed_income_yuan=None, tax_paid_yuan=1.0, benefit_yuan=0.0, wage_estimate_yuan=12.25,
             si_individual_yuan=3.5, financial_assets_per_capita_yuan=10.0, financial_assets_yuan=30.0,
             financial_assets_limit_yuan=50000.0, n_unknown_amounts=2, n_residential_units=2,
             max_residential_units=1, residential_area_per_capita_m2=33.333, vehicle_price_limit_yuan=100000.0,
             exempt_vehicle_types=["残疾人<专用>", "摩托车"], business_contribution_limit_yuan=5e5,
             business_always_review_types=["法人&代表"], _hh=1, _version=1, _earlier=None, _h="x")
    h.update(over)
    return _row(**h)


def _values(rich: bool, **over):
    from hedui.steps.report.display import (
        _DECISION_ZH,
        CHANGE_KIND_ZH,
        FINDING_ZH,
        OUTCOME_ZH,
        lineage_groups,
    )

    member = _row(request_id="R", id_norm="1", id_masked="110***<b>", name=HOSTILE, relation="本人",
                  is_authorized=True, authorization_no="A&1", authorization_date=None, _h="m")
    other = _row(request_id="R", id_norm="2", id_masked="220***", name="李四", relation="配偶",
                 is_authorized=False, authorization_no=None, authorization_date=None, _h="m")
    third = _row(request_id="R", id_norm="3", id_masked="330***", name="王五", relation="子女",
                 is_authorized=True, authorization_no="A2", authorization_date=None, _h="m")
    finding = dict(request_id="R", code="VEHICLE", code_zh="拥有<车>", detail_zh=HOSTILE, member_label="张三（1）",
                   source="vehicle", file_name="veh&1.csv", row_no=7, delivery_date="2026-11-20",
                   method_zh="身份证号精确匹配", match_weight=None, is_confirmed=True, is_gap=False, _h="f")
    lineage_row = dict(request_id="R", figure_code="INCOME_OVER_STANDARD", source="tax", item="工资<薪金>",
                       period_month=dt.date(2026, 6, 1), amount_yuan=1500.0, is_in_window=True, is_excluded=False,
                       exclusion_zh=None, is_counted=True, file_name="tax'1.csv", row_no=3, delivery_date="2026-11-19",
                       method_zh="概率匹配", match_weight=11.5, is_confirmed=False, member_name="张三",
                       member_relation="本人", _h="l")
    lineage_rows = [_row(**lineage_row),
                    _row(**{**lineage_row, "period_month": dt.date(2026, 8, 1), "match_weight": None,
                            "is_confirmed": True}),
                    _row(**{**lineage_row, "period_month": None, "amount_yuan": None, "is_counted": False,
                            "member_name": None, "member_relation": None}),
                    _row(**{**lineage_row, "item": "奖金", "is_in_window": False, "is_counted": False,
                            "period_month": dt.date(2026, 2, 1)})]
    gap = dict(request_id="R", code="NO_AUTHORIZATION", code_zh="成员未签署授权书", detail_zh="未<授权>",
               member_label=None, source=None, file_name=None, row_no=None, delivery_date=None, method_zh="",
               match_weight=None, is_confirmed=True, is_gap=True, _h="g")
    unweighed = dict(request_id="R", code="UNCONFIRMED_LINK", source="bank", file_name="b&1.csv", row_no=4,
                     match_weight=9.875, related_code="FINANCIAL_ASSETS_OVER_LIMIT", related_zh="资产<超限>",
                     reason_zh=HOSTILE, member_name="张三", member_id_masked="110***",
                     member_relation="本人", record_id_masked="110***9", _h="u")
    values = dict(
        h=_household(), run_date="20261128", version=2, outcome_zh=OUTCOME_ZH["FINDINGS"], outcome_names=OUTCOME_ZH,
        previous=None, finding_diff={"added": [], "removed": []}, changes=[], findings=[], gaps=[], unweighed=[],
        members=[member, other, third], statuses_html=Markup("<tr><td>税务</td></tr>"), decisions=[],
        reviewers=[], issued_on="2026年12月4日", windows=SimpleNamespace(objection=5, recheck="10<"),
        finding_zh=FINDING_ZH, kind_zh=CHANGE_KIND_ZH, source_names={"vehicle": "车辆<管理>", "bank": "银行"},
        lineage={}, decision_zh=_DECISION_ZH,
        records=["<table><tr><td>甲&amp;</td></tr></table>\n".encode(), b"", b""])
    if rich:
        previous = SimpleNamespace(request_id="R", is_same_request=False, previous_run_date="20261028",
                                   previous_request_id="R0<", previous_outcome="CLEAR",
                                   previous_findings="VEHICLE;;UNKNOWN_CODE<", kinds_not_compared_zh="车辆<、房产",
                                   members_not_compared_zh="张<三（360102********1234）", kinds_held_zh="李<四的车辆")
        values.update(
            previous=previous, finding_diff={"added": ["VEHICLE", "NEW<"], "removed": ["BUSINESS_ROLE"]},
            changes=[_row(change="added", kind="vehicle", member_label="张三（110***）", detail_zh=HOSTILE, _h="c"),
                     _row(change="gone", kind="other<", member_label="", detail_zh="房", _h="c")],
            findings=[_row(**finding), _row(**{**finding, "match_weight": 12.345, "is_confirmed": False,
                                               "member_label": None, "source": "unknown<"}),
                      _row(**{**finding, "code": "INCOME_OVER_STANDARD", "file_name": None}),
                      _row(**{**finding, "code": "RESIDENTIAL_UNITS_OVER_LIMIT", "file_name": None})],
            lineage=lineage_groups(lineage_rows),
            gaps=[_row(**gap), _row(**{**gap, "member_label": "李四（2）", "code_zh": "<gap>"})],
            unweighed=[_row(**unweighed),
                       _row(**{**unweighed, "file_name": None, "match_weight": None, "related_code": None,
                               "related_zh": None, "member_relation": None, "member_name": None}),
                       _row(**{**unweighed, "code": "RECORD_QUARANTINED", "record_id_masked": None}),
                       _row(**{**unweighed, "code": "VALUE_UNKNOWN", "member_id_masked": None}),
                       _row(**{**unweighed, "code": "VALUE_UNKNOWN", "file_name": None})],
            decisions=[_row(decision="confirmed", reviewer="王<审>", decided_at=dt.datetime(2026, 11, 29, 9, 5),
                            reason=HOSTILE, source="bank", match_weight=8.0, file_name="b.csv", row_no=2, _h="d"),
                       _row(decision="other&", reviewer="赵", decided_at=None, reason=None, source="x<",
                            match_weight=7.125, file_name=None, row_no=None, _h="d")],
            reviewers=["王<审>", "赵"])
    values.update(over)
    return values


@pytest.fixture(scope="module")
def renderers():
    from hedui.steps.report.display import _env, _escape, page_renderer
    from hedui.steps.report.fastpage import renderer

    env = _env()
    tpl = env.get_template("household.html")
    tpl.root_render_func.__globals__["escape"] = _escape  # as the page workers have it
    jinja = page_renderer(tpl)

    def reference(*, members, records, **values) -> bytes:  # household.html as the page workers gave it before
        per_member = [SimpleNamespace(member=m, records=Markup(r.decode()))
                      for m, r in zip(members, records, strict=True)]
        return jinja(members=members, per_member=per_member, **values).encode()

    return reference, renderer(tpl, jinja)


@pytest.mark.parametrize("case", [
    {"rich": True},
    {"rich": False},
    {"rich": True, "previous": SimpleNamespace(is_same_request=True, previous_run_date="d", previous_request_id="r",
                                               previous_outcome="GONE", previous_findings=None,
                                               kinds_not_compared_zh=None, members_not_compared_zh=None, kinds_held_zh=None),
     "finding_diff": {"added": [], "removed": ["VEHICLE"]}, "changes": []},
    {"rich": True, "previous": SimpleNamespace(is_same_request=False, previous_run_date="d", previous_request_id="r",
                                               previous_outcome="CLEAR", previous_findings=None,
                                               kinds_not_compared_zh="", members_not_compared_zh="李<四（无可用身份证号）",
                                               kinds_held_zh="王<五的车辆、王<五的房产"),
     "changes": []},
    {"rich": True, "previous": SimpleNamespace(is_same_request=False, previous_run_date="d", previous_request_id="r",
                                               previous_outcome="CLEAR", previous_findings=None,
                                               kinds_not_compared_zh="工作单位", members_not_compared_zh=None, kinds_held_zh=None),
     "changes": []},
    # only a member's kind held back by a quarantined record (CX03): not "nothing changed in vehicles, property …"
    {"rich": True, "previous": SimpleNamespace(is_same_request=False, previous_run_date="d", previous_request_id="r",
                                               previous_outcome="CLEAR", previous_findings=None,
                                               kinds_not_compared_zh=None, members_not_compared_zh=None,
                                               kinds_held_zh="赵<六的车辆"),
     "changes": []},
    {"rich": True, "finding_diff": {"added": ["VEHICLE"], "removed": []}},
    # the previous outcome weighed by another policy version (a new year's notice): named with its source
    {"rich": True, "previous": SimpleNamespace(is_same_request=True, previous_run_date="d", previous_request_id="r",
                                               previous_outcome="CLEAR", previous_findings=None,
                                               previous_policy_id="JX<2025", previous_policy_source_zh="通知&（号）",
                                               kinds_not_compared_zh=None, members_not_compared_zh=None, kinds_held_zh=None),
     "changes": []},
    {"rich": False, "h": _household(program="动态复核")},  # a re-check with no earlier verification on record
    {"rich": False, "h": _household(policy_demonstration=False, wage_estimate_yuan=0.0, n_unknown_amounts=0,
                                    findings=None, income_monthly_per_capita_yuan=1.0, n_residential_units=0,
                                    financial_assets_per_capita_yuan=0.0, exempt_vehicle_types=[],
                                    business_always_review_types=[Markup("<b>x</b>"), "a&b"])},
    {"rich": True, "h": _household(policy_id=None, policy_source_zh=None, policy_demonstration=None,  # no version
                                   standard_monthly_yuan=None, income_window_months=None, window_start=None,
                                   financial_assets_limit_yuan=None, max_residential_units=None,
                                   exempt_vehicle_types=None, business_always_review_types=None)},
])
def test_the_python_page_is_the_templates_page(renderers, case):
    jinja, fast = renderers
    values = _values(**case)
    expected = jinja(**values)
    assert fast(**values) == expected
    assert b"<script>" not in expected and "\u202e".encode() not in expected  # every value from data escaped


def test_the_python_page_is_written_from_the_current_templates():
    """household.html or _style.html changed: bring fastpage.render_page up to date, then its FINGERPRINT."""
    from hedui.steps.report import digests, fastpage

    assert fastpage.FINGERPRINT == digests.template_fingerprint()


def test_changed_templates_are_rendered_by_jinja(monkeypatch):
    from hedui.steps.report import fastpage
    from hedui.steps.report.display import _env

    monkeypatch.setattr(fastpage, "FINGERPRINT", "0" * 16)
    calls = []

    def jinja(**values):
        calls.append(values)
        return "页"

    render = fastpage.renderer(_env().get_template("household.html"), jinja)
    assert render(members=["m"], records=["表".encode()], h=1) == "页".encode()
    assert [(pm.member, pm.records) for pm in calls[0]["per_member"]] == [("m", "表")]
