"""Assess, twelfth pass (policy.md: CLEAR is earned, never a default): hand-made deliveries (tests/contract_world.py)
run through the real pipeline.

Settled where the contract is open:
- WJ01, a real-estate unit is one fact as it is one unit of the count (hd_unit_key, sql/assess/macros.sql): two flats
  of one member both numbered ``无`` (other 坐落) were one property fact (keyed ``无``), so a re-check did not see the
  second one bought; a unit without a number is its 坐落, the same fact from one verification to the next.
- WJ02, a unit numbered ``无`` or ``-`` does not lack its 不动产单元号: the department wrote that there is none.  The
  VALUE_UNKNOWN says what was delivered (记录的“不动产单元号”为“无”，不是单元号).
- WJ03, 所得项目 ``其他`` in the tax source: policy.md counts wages, labour, business and property income, pensions and
  unemployment benefit, and excludes a list; ``其他`` is neither.  It stays in the income figure (a source's income is
  never dropped to make a household look eligible), but a household over the standard only with it is not over it on
  evidence known to count: INCOMPLETE, the ``其他`` rows VALUE_UNKNOWN.  Over the standard without it: FINDINGS; under
  it with it: CLEAR (it changes nothing).
- WJ04, a tax delivery whose every row is of one month a quarter (2025-12, 2026-03, 2026-06, 2026-09) is no delivery of
  files lost: whether a row is its month's income or its quarter's is not known (sources.md: a row per person and
  month), so the months between stay unknown (INCOMPLETE, SOURCE_MISSING) and the reason says which reading is open.
- WJ05, the window's last month alone missing is excused (a month's tax is declared in the next) where the delivery
  reaches into the window; with a window of one month (a policy parameter, 1 to 36) that excuse weighed nothing of the
  window.  A delivery holding no month of the window is SOURCE_MISSING, whatever its series.

Policy of the run (hedui/policies/jiangxi_demo.yaml, 2026, 城市): standard 800 yuan/person/month; window 2025-11 to
2026-10 (run 2026-11-28); at most one residential unit.
"""

from __future__ import annotations

import pytest
from contract_world import WINDOW, World, fresh_ids, new_id, outcomes, query, run_world
from test_contract_traps10 import fill


def _no_bystander_income(w: World) -> None:
    """fill's bystander has a single tax and social-insurance row in 2026-01: left out."""
    for s in ("tax", "social_insurance"):
        w.rows[s] = [r for r in w.rows[s] if r["姓名"] != "路人丙"]


def build_units() -> World:
    """WJ01, WJ02: flats whose 不动产单元号 is no number."""
    w = World()
    fill(w)
    (a,) = w.household("WJU1", [("孙大八", "本人")])
    w.flat(a, "无", location="章贡区某路801号")
    w.flat(a, "无", location="章贡区某路802号")
    c, e = w.household("WJU2", [("吴大十", "本人"), ("吴大十妻", "配偶")])
    w.flat(c, "/", share="共同共有", location="章贡区某路77号")
    w.flat(e, "/", share="共同共有", location="章贡区某路77号")
    (f,) = w.household("WJU3", [("冯大二", "本人")])
    w.flat(f, "360702001001GB00995F00010001")
    w.flat(f, "-")
    return w


def build_other() -> World:
    """WJ03: wages beside tax income of 所得项目 其他."""
    w = World()
    fill(w)
    (a,) = w.household("WJO1", [("钱大一", "本人")])
    w.wages(a, WINDOW, "500")
    w.wages(a, ["202605"], "8000", item="其他")  # (6,000 + 8,000) / 12 = 1,166.67; without it 500
    (b,) = w.household("WJO2", [("钱大二", "本人")])
    w.wages(b, WINDOW, "1000")
    w.wages(b, ["202605"], "500", item="其他")  # over the standard without it
    (c,) = w.household("WJO3", [("钱大三", "本人")])
    w.wages(c, WINDOW, "300")
    w.wages(c, ["202605"], "1200", item="其他")  # (3,600 + 1,200) / 12 = 400: under with it
    return w


def build_quarterly() -> World:
    """WJ04: tax rows of three people, each a quarter's 经营所得 in 2025-12, 2026-03, 2026-06, 2026-09 only."""
    w = World()
    fill(w)
    _no_bystander_income(w)
    quarters = ["202512", "202603", "202606", "202609"]
    (a,) = w.household("WJQ1", [("李大五", "本人")])
    w.wages(a, quarters, "1500", item="经营所得")  # 6,000 / 12 = 500: under 800 whichever reading
    for n in range(2):
        x = {"name": f"季度户{n}", "id": new_id()}
        w.wages(x, quarters, "9000", item="经营所得")
    return w


with fresh_ids(12100):
    UNITS = build_units()
with fresh_ids(12200):
    OTHER = build_other()
with fresh_ids(12300):
    QUARTERLY = build_quarterly()


def _gaps(ctx, rid: str) -> list[tuple]:
    return query(ctx, "select source, code, member_id is not null, reason_zh from evidence_gaps where request_id = ? "
                 "order by 1, 2, 4", [rid])


@pytest.fixture(scope="module")
def units_run(tmp_path_factory):
    return run_world(UNITS, tmp_path_factory, "assess12_units")


def test_WJ01_facts_key_a_unit_without_a_number_as_the_count_does(units_run):
    """WJ01: two flats of one member numbered 无 at two 坐落 are two units in the count and were one property fact
    (keyed 无): facts and counts agree now — two facts; a flat co-owned by husband and wife numbered "/" at one 坐落 is
    one unit, one fact of each owner, keyed alike."""
    units = dict(query(units_run, "select request_id, n_residential_units from figures where request_id like 'WJU%'"))
    facts = dict(query(units_run, "select request_id, count(distinct fact_key) from facts where kind = 'property' "
                       "and request_id like 'WJU%' group by all"))
    assert units == {"WJU1": 2, "WJU2": 1, "WJU3": 2}
    assert facts == units
    assert query(units_run, "select count(*) from facts where kind = 'property' and request_id = 'WJU2'") == [(2,)]


def test_WJ02_a_unit_numbered_wu_is_named_as_delivered(units_run):
    """WJ02: a flat numbered 无 was listed as 记录缺少“不动产单元号” — the record carries the cell, saying there is no
    number: the reason names what was delivered (``-`` likewise)."""
    got = outcomes(units_run)
    assert got["WJU1"] == ("INCOMPLETE", "RESIDENTIAL_UNITS_OVER_LIMIT;VALUE_UNKNOWN"), _gaps(units_run, "WJU1")
    tail = "；该住宅是否为本户另一套住宅（坐落写法不同）无法判断，住宅套数未知；请向交付部门核实不动产单元号"
    assert _gaps(units_run, "WJU1") == [
        ("real_estate", "VALUE_UNKNOWN", True, "记录的“不动产单元号”为“无”，不是单元号，按未知处理" + tail)] * 2
    assert _gaps(units_run, "WJU3") == [
        ("real_estate", "VALUE_UNKNOWN", True, "记录的“不动产单元号”为“-”，不是单元号，按未知处理" + tail)]


def test_WJ03_income_over_the_standard_only_with_other_items_is_not_confirmed(tmp_path_factory):
    """WJ03: wages of 500 a month and 8,000 of 所得项目 其他 once were FINDINGS (1,166.67 a month): policy.md does not
    say 其他 counts, so the finding rests on it — INCOMPLETE, the 其他 row VALUE_UNKNOWN.  Wages of 1,000 beside 其他 stay
    FINDINGS on their own; 300 a month with 1,200 of 其他 (400) stays CLEAR."""
    ctx = run_world(OTHER, tmp_path_factory, "assess12_other")
    got = outcomes(ctx)
    assert got["WJO1"] == ("INCOMPLETE", "INCOME_OVER_STANDARD;VALUE_UNKNOWN"), _gaps(ctx, "WJO1")
    [(source, code, is_member, reason)] = _gaps(ctx, "WJO1")
    assert (source, code, is_member) == ("tax", "VALUE_UNKNOWN", True)
    assert reason.startswith("2026-05 所得项目为“其他”的收入 8,000.00 元：政策未规定“其他”所得是否计入家庭收入，"), reason
    assert got["WJO2"] == ("FINDINGS", "INCOME_OVER_STANDARD")
    assert got["WJO3"] == ("CLEAR", "")


def test_WJ04_a_quarterly_delivery_says_the_months_between_are_open(tmp_path_factory):
    """WJ04: every tax row in 2025-12, 2026-03, 2026-06, 2026-09: the months between were called months whose files
    were not delivered (属交付不完整，请补交).  Whether a row is a month's income or a quarter's is what is not known: the
    household stays INCOMPLETE, SOURCE_MISSING, and the reason says so."""
    ctx = run_world(QUARTERLY, tmp_path_factory, "assess12_quarterly")
    assert outcomes(ctx)["WJQ1"] == ("INCOMPLETE", "SOURCE_MISSING")
    assert _gaps(ctx, "WJQ1") == [("tax", "SOURCE_MISSING", False,
        "税务 个人所得税数据的记录只在每季度的一个月（2025-12、2026-03、2026-06、2026-09），收入计算期内的 "
        "2026-01、2026-02、2026-04、2026-05、2026-07、2026-08 共 6 个月没有任何人员的记录：每条记录是该月的收入还是整个季度"
        "的收入无法判断，这些月份的收入未知，未按无收入计；请交付部门说明所属期是月份还是季度，或按月补交数据")]


def build_one_month() -> World:
    """WJ05: tax rows of two people, every month 2025-11 to 2026-09 (October not yet declared); social insurance the
    bystander's 2026-01 alone.  The member has no income row."""
    w = World()
    fill(w)
    (a,) = w.household("WJW1", [("周大七", "本人")])
    for n in range(2):
        x = {"name": f"月度户{n}", "id": new_id()}
        w.wages(x, WINDOW[:-1], "3000")
    return w


with fresh_ids(12400):
    ONE_MONTH = build_one_month()


def test_WJ05_a_window_of_one_month_the_delivery_does_not_reach_is_not_weighed(tmp_path_factory, monkeypatch):
    """WJ05: a county's version with an income window of one month (allowed: 1 to 36) weighs 2026-10 alone; the tax
    delivery ends in 2026-09 and social insurance in 2026-01.  The window's last month alone missing is excused (a
    month's tax is declared in the next), so nothing of the window was weighed and the household was CLEAR on no
    income.  Now each source holding no month of the window is SOURCE_MISSING."""
    import yaml

    from hedui.steps.policy import POLICY_DIR

    folder = tmp_path_factory.mktemp("assess12_policies")
    demo = yaml.safe_load((POLICY_DIR / "jiangxi_demo.yaml").read_text(encoding="utf-8"))
    county = {**demo["versions"][0], "id": "JX-WJ05-360702-2026"}
    county["scope"] = {**county["scope"], "region": "360702"}
    county["params"] = {**county["params"], "income_window_months": 1}
    (folder / "jiangxi_demo.yaml").write_text(yaml.safe_dump(demo, allow_unicode=True), encoding="utf-8")
    (folder / "county.yaml").write_text(yaml.safe_dump({"versions": [county]}, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("HEDUI_POLICY_DIR", str(folder))
    ctx = run_world(ONE_MONTH, tmp_path_factory, "assess12_one_month")
    assert outcomes(ctx)["WJW1"] == ("INCOMPLETE", "SOURCE_MISSING"), _gaps(ctx, "WJW1")
    gaps = _gaps(ctx, "WJW1")
    assert [g[:3] for g in gaps] == [("social_insurance", "SOURCE_MISSING", False), ("tax", "SOURCE_MISSING", False)]
    assert gaps[1][3].startswith("税务 个人所得税数据只交付至 2026-09：收入计算期 2026-10 至 2026-10 中 2026-10 共 1 个月"), gaps
