"""Assess, thirteenth pass (policy.md: CLEAR is earned, never a default): hand-made deliveries (tests/contract_world.py)
run through the real pipeline.

Settled where the contract is open:
- BB01, a real-estate unit is one fact as it is one unit of the count (hd_unit_key, sql/assess/macros.sql): two flats
  of one member both numbered ``无`` (other 坐落) were two units and one property fact keyed ``无``, so a re-check did
  not see the second one bought; a unit without a number is its 坐落, the same fact from one verification to the next.
- BB02, a unit numbered ``无`` or ``-`` does not lack its 不动产单元号: the department wrote that there is none.  The
  VALUE_UNKNOWN says what was delivered (记录的“不动产单元号”为“无”), not 记录缺少“不动产单元号”.
- BB03, a monthly source whose every row is of one month a quarter (2025-12, 2026-03, 2026-06, 2026-09) is no
  delivery of files lost: whether a row is its month's income or its quarter's is not known (sources.md: a row per
  person and month), so the months between stay unknown (INCOMPLETE, SOURCE_MISSING) and the reason says the rows fall
  one month a quarter and asks whether 所属期 means a quarter.
- BB04, the window's last month alone missing is excused (a month's tax is declared in the next) where the delivery
  reaches into the window; with a window of one month (a policy parameter, 1 to 36) that excuse covered the whole
  window.  A delivery that would be judged short by its series and holds no month of the window is SOURCE_MISSING.  A
  single bystander's row before a window of six months stays no gap (tests/test_contract_traps8.py TH20-TH25).
- BB05, policy.md's Registration names members whose registration says 死亡/注销/迁出 or who appear in cremation
  records, with no date: an ending dated after the request date (委托日期) is still a finding, and the registration and
  the cremation records disagreeing on the date (cremated before the request date, registered 死亡 after it, or the
  reverse) is MEMBER_REGISTRATION_ENDED either way — never CLEAR.

Policy of the run (hedui/policies/jiangxi_demo.yaml, 2026, 城市): standard 800 yuan/person/month; window 2025-11 to
2026-10 (run 2026-11-28); at most one residential unit.
"""

from __future__ import annotations

import pytest
from contract_world import RUN, WINDOW, World, fresh_ids, new_id, outcomes, query, run_world
from test_contract_traps10 import fill

NEXT = "20261228"


def _no_bystander_income(w: World) -> None:
    """fill's bystander has a single tax and social-insurance row in 2026-01: left out."""
    for s in ("tax", "social_insurance"):
        w.rows[s] = [r for r in w.rows[s] if r["姓名"] != "路人丙"]


def _gaps(ctx, rid: str, run_date: str = RUN) -> list[tuple]:
    return query(ctx, "select source, code, member_id is not null, reason_zh from evidence_gaps where request_id = ? "
                 "and run_date = ? order by 1, 2, 4", [rid, run_date])


# --- BB01, BB02: flats whose 不动产单元号 is no number, and a re-check ------------------------------------------------
def build_units(second: bool) -> World:
    """The first verification: one flat numbered 无 (801号); the re-check (动态复核): a second one numbered 无 (802号)."""
    w = World()
    fill(w)
    (a,) = w.household("BBU1B" if second else "BBU1", [("孙大八", "本人")],
                       program="动态复核" if second else "最低生活保障")
    w.flat(a, "无", location="章贡区某路801号")
    if second:
        w.flat(a, "无", location="章贡区某路802号")
    c, e = w.household("BBU2", [("吴大十", "本人"), ("吴大十妻", "配偶")])
    w.flat(c, "/", share="共同共有", location="章贡区某路77号")
    w.flat(e, "/", share="共同共有", location="章贡区某路77号")
    (f,) = w.household("BBU3", [("冯大二", "本人")])
    w.flat(f, "360702001001GB00995F00010001", location="章贡区某路901号")
    w.flat(f, "-", location="章贡区某路902号")
    return w


@pytest.fixture(scope="module")
def units_runs(tmp_path_factory):
    from hedui.pipeline import RunContext, run

    inbox = tmp_path_factory.mktemp("assess13_units") / "inbox"
    work = tmp_path_factory.mktemp("assess13_units_work")
    ctxs = []
    for date, second in ((RUN, False), (NEXT, True)):
        with fresh_ids(13100):  # the same people both times
            build_units(second).write(inbox, date)
        ctx = RunContext.of(inbox, work, date)
        run(ctx)
        ctxs.append(ctx)
    return ctxs


def test_BB01_facts_key_a_unit_without_a_number_as_the_count_does(units_runs):
    """BB01: two flats of one member numbered 无 at two 坐落 are two units in the count and were one property fact
    (keyed 无): the re-check saw no flat added.  Facts and counts agree now — two facts, the second one added; a flat
    co-owned by husband and wife numbered "/" at one 坐落 is one unit, one fact of each owner, keyed alike."""
    first, again = units_runs
    units = dict(query(again, "select request_id, n_residential_units from figures where run_date = ? "
                       "and request_id like 'BBU%'", [NEXT]))
    facts = dict(query(again, "select request_id, count(distinct fact_key) from facts where run_date = ? "
                       "and kind = 'property' and request_id like 'BBU%' group by all", [NEXT]))
    assert units == {"BBU1B": 2, "BBU2": 1, "BBU3": 2}
    assert facts == units
    assert query(again, "select count(*) from facts where run_date = ? and kind = 'property' and request_id = 'BBU2'",
                 [NEXT]) == [(2,)]
    changes = query(again, "select request_id, change, kind, detail_zh from changes where run_date = ? "
                    "and request_id like 'BBU%' order by all", [NEXT])
    assert changes == [("BBU1B", "added", "property", "住宅房产 章贡区某路802号")], changes
    # the flat of 801号, numbered 无 both times, is the same fact: not "added", not "removed"
    keys = query(first, "select fact_key from facts where run_date = ? and request_id = 'BBU1'", [RUN])
    assert keys == [("坐落:章贡区某路801号",)], keys


def test_BB02_a_unit_numbered_wu_is_named_as_delivered(units_runs):
    """BB02: a flat numbered 无 was listed as 记录缺少“不动产单元号” — the record carries the cell, saying there is no
    number: the reason quotes what was delivered ("-" likewise).  (An empty cell is quarantined, a required field.)"""
    _, again = units_runs
    got = outcomes(again)
    assert got["BBU1B"] == ("INCOMPLETE", "RESIDENTIAL_UNITS_OVER_LIMIT;VALUE_UNKNOWN"), _gaps(again, "BBU1B", NEXT)
    tail = "；该住宅是否为本户另一套住宅（坐落写法不同）无法判断，住宅套数未知；请向交付部门核实不动产单元号"
    assert _gaps(again, "BBU1B", NEXT) == [
        ("real_estate", "VALUE_UNKNOWN", True, "记录的“不动产单元号”为“无”，不是单元号，按未知处理" + tail)] * 2
    assert _gaps(again, "BBU3", NEXT) == [
        ("real_estate", "VALUE_UNKNOWN", True, "记录的“不动产单元号”为“-”，不是单元号，按未知处理" + tail)]
    assert got["BBU2"] == ("CLEAR", "")


# --- BB03: a quarterly-shaped delivery -------------------------------------------------------------------------------
QUARTERS = ["202512", "202603", "202606", "202609"]


def build_quarterly() -> World:
    """Tax and social-insurance rows of three people, each in 2025-12, 2026-03, 2026-06, 2026-09 only."""
    w = World()
    fill(w)
    _no_bystander_income(w)
    (a,) = w.household("BBQ1", [("李大五", "本人")])
    w.wages(a, QUARTERS, "1500", item="经营所得")  # 6,000 / 12 = 500: under 800 whichever reading
    for n in range(2):
        x = {"name": f"季度户{n}", "id": new_id()}
        w.wages(x, QUARTERS, "9000", item="经营所得")
        w.si(x, QUARTERS, "企业职工基本养老保险", "缴费", base="3000")
    return w


with fresh_ids(13300):
    QUARTERLY = build_quarterly()


def test_BB03_a_quarterly_delivery_says_the_months_between_are_open(tmp_path_factory):
    """BB03: every tax and social-insurance row in 2025-12, 2026-03, 2026-06, 2026-09: the months between were called
    months whose files were not delivered (属交付不完整，请补交).  Whether a row is a month's income or a quarter's is
    what is not known: the household stays INCOMPLETE, SOURCE_MISSING, and the reason says the rows fall one month a
    quarter and asks whether 所属期 means a quarter."""
    ctx = run_world(QUARTERLY, tmp_path_factory, "assess13_quarterly")
    assert outcomes(ctx)["BBQ1"] == ("INCOMPLETE", "SOURCE_MISSING"), _gaps(ctx, "BBQ1")
    between = "2026-01、2026-02、2026-04、2026-05、2026-07、2026-08 共 6 个月没有任何人员的记录："
    tail = ("的记录只在每季度的一个月（2025-12、2026-03、2026-06、2026-09），收入计算期内的 " + between
            + "所属期可能是季度而非月份，每条记录是该月的收入还是整个季度的收入无法判断，这些月份的收入未知，未按无收入计；"
            "请向交付部门核实“所属期”是否指季度，或按月补交数据")
    gaps = _gaps(ctx, "BBQ1")
    assert [g[:3] for g in gaps] == [("social_insurance", "SOURCE_MISSING", False), ("tax", "SOURCE_MISSING", False)]
    assert gaps[0][3].endswith("数据" + tail) and gaps[1][3] == "税务 个人所得税数据" + tail, gaps


# --- BB04: a window of one month the delivery does not reach ---------------------------------------------------------
def build_one_month() -> World:
    """Tax rows of two people, every month 2025-11 to 2026-09 (October not yet declared); social insurance the
    bystander's 2026-01 and BBW3's pension of 900 from 2026-01 to 2026-09 (the only series: too few to say the
    delivery ends).  BBW1's member has no income row; BBW2's has wages of 3,000 to 2026-09."""
    w = World()
    fill(w)
    w.household("BBW1", [("周大七", "本人")])
    (b,) = w.household("BBW2", [("周大八", "本人")])
    w.wages(b, WINDOW[:-1], "3000")
    (c,) = w.household("BBW3", [("周大九", "本人")])
    w.si(c, WINDOW[2:-1], "企业职工基本养老保险", "待遇", benefit="900")
    for n in range(2):
        x = {"name": f"月度户{n}", "id": new_id()}
        w.wages(x, WINDOW[:-1], "3000")
    return w


with fresh_ids(13400):
    ONE_MONTH = build_one_month()


def test_BB04_a_window_of_one_month_the_delivery_does_not_reach_is_not_weighed(tmp_path_factory, monkeypatch):
    """BB04: a county's version with an income window of one month (allowed: 1 to 36) weighs 2026-10 alone; the tax
    delivery of three series ends in 2026-09.  The window's last month alone missing is excused (a month's tax is
    declared in the next), so nothing of the window was weighed and both households were CLEAR on no income (BBW2's
    wage of 3,000 a month not seen).  Now the tax source is SOURCE_MISSING for the window; social insurance, a single
    bystander's row, is no delivery ending (as before a window of six months: traps8 TH20), but BBW3's pension, the
    only series, ends with its delivery before the window: whether it stopped or the delivery did is not known (a lone
    series, test_contract_assess10 AW05), SOURCE_MISSING on the member."""
    import yaml

    from hedui.steps.policy import POLICY_DIR

    folder = tmp_path_factory.mktemp("assess13_policies")
    demo = yaml.safe_load((POLICY_DIR / "jiangxi_demo.yaml").read_text(encoding="utf-8"))
    county = {**demo["versions"][0], "id": "JX-BB04-360702-2026"}
    county["scope"] = {**county["scope"], "region": "360702"}
    county["params"] = {**county["params"], "income_window_months": 1}
    (folder / "jiangxi_demo.yaml").write_text(yaml.safe_dump(demo, allow_unicode=True), encoding="utf-8")
    (folder / "county.yaml").write_text(yaml.safe_dump({"versions": [county]}, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("HEDUI_POLICY_DIR", str(folder))
    ctx = run_world(ONE_MONTH, tmp_path_factory, "assess13_one_month")
    assert query(ctx, "select distinct policy_id from households where request_id like 'BBW%'") == [
        ("JX-BB04-360702-2026",)]
    got = outcomes(ctx)
    for rid in ("BBW1", "BBW2"):
        assert got[rid] == ("INCOMPLETE", "SOURCE_MISSING"), (rid, _gaps(ctx, rid))
        assert _gaps(ctx, rid) == [("tax", "SOURCE_MISSING", False,
            "税务 个人所得税数据只交付至 2026-09：收入计算期 2026-10 至 2026-10 中 2026-10 共 1 个月没有任何人员的记录，"
            "属交付不完整，这些月份的收入未知，未按无收入计；请交付部门补交这些月份的数据")], rid
    assert got["BBW3"] == ("INCOMPLETE", "SOURCE_MISSING"), _gaps(ctx, "BBW3")
    assert [g[:3] for g in _gaps(ctx, "BBW3")] == [("social_insurance", "SOURCE_MISSING", True),
                                                   ("tax", "SOURCE_MISSING", False)], _gaps(ctx, "BBW3")
    assert _gaps(ctx, "BBW3")[0][3].startswith("该成员在人社 社会保险数据中的记录止于 2026-09，"), _gaps(ctx, "BBW3")


# --- BB05: a member's death or leaving dated after the request date ---------------------------------------------------
def build_endings() -> World:
    """委托日期 2026-11-20 (contract_world), run 2026-11-28."""
    w = World()
    fill(w)

    def ended(rid: str, name: str, status: str, change: str) -> dict:
        a, b = w.household(rid, [(f"{name}甲", "本人"), (f"{name}乙", "配偶", True, "配偶", status)])
        w.rows["public_security"][-1]["变动日期"] = change
        return b

    def cremated(member: dict, died: str, burned: str) -> None:
        w.add("civil_affairs", 姓名=member["name"], 身份证号=member["id"], 死亡日期=died, 火化日期=burned,
              殡仪馆="赣州市殡仪馆")

    # cremated before the request date, registered 死亡 after it
    b = ended("BBD1", "郑", "死亡", "2026-11-25")
    cremated(b, "2026-11-08", "2026-11-10")
    # registered 死亡 before the request date, cremated after it
    b = ended("BBD2", "钟", "死亡", "2026-11-10")
    cremated(b, "2026-11-23", "2026-11-25")
    # registered 正常 (alive), cremated after the request date
    b = ended("BBD3", "邱", "正常", "")
    cremated(b, "2026-11-22", "2026-11-24")
    # registered 正常 (alive), cremated before the request date
    b = ended("BBD4", "骆", "正常", "")
    cremated(b, "2026-11-02", "2026-11-05")
    # moved out after the request date
    ended("BBD5", "高", "迁出", "2026-11-25")
    # registered 死亡 after the request date, no cremation record
    ended("BBD6", "夏", "死亡", "2026-11-26")
    return w


with fresh_ids(13500):
    ENDINGS = build_endings()


def test_BB05_an_ending_after_the_request_date_or_contradicted_on_its_date_is_never_clear(tmp_path_factory):
    """BB05: policy.md ("Registration") names a member registered 死亡/注销/迁出 or in the cremation records, without a
    date.  A member cremated before the request date and registered 死亡 after it, or the reverse, or registered alive
    and cremated (before or after the request date), or moved out or registered dead after it: each household is
    FINDINGS on MEMBER_REGISTRATION_ENDED, never CLEAR, the finding naming both sources' records where both have one."""
    ctx = run_world(ENDINGS, tmp_path_factory, "assess13_endings")
    got = outcomes(ctx)
    for rid in ("BBD1", "BBD2", "BBD3", "BBD4", "BBD5", "BBD6"):
        assert got[rid] == ("FINDINGS", "MEMBER_REGISTRATION_ENDED"), (rid, _gaps(ctx, rid))
    found = query(ctx, "select request_id, string_agg(source, ',' order by source) from findings "
                  "where run_date = ? and request_id like 'BBD%' group by all order by 1", [RUN])
    assert found == [("BBD1", "civil_affairs,public_security"), ("BBD2", "civil_affairs,public_security"),
                     ("BBD3", "civil_affairs"), ("BBD4", "civil_affairs"), ("BBD5", "public_security"),
                     ("BBD6", "public_security")], found
