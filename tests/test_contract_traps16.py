"""sources.md's "Values as they come" read as an outsider writing hidden test deliveries would read them, round 16:
ID numbers as a copy from a web page, a dialog or a float column leaves them (a left-to-right mark, a word joiner, a
soft hyphen, a zero-width joiner, dashes between the digit groups, `.0` after a legacy ID), a bank's row without a
name under a member's mistyped ID, names with invisible marks, traditional compound surnames and minority names with
a dash or no dot, statuses outside the contract's words, months as people write them.  Small households built by
hand (tests/contract_world.py), one real pipeline run.  Cases of the earlier rounds are not repeated.

Pinned where the contract is open: 保单状态 中止 and 失效 (a lapsed policy that keeps its cash value) are not 终止, and
a status word nobody can read for sure (车辆状态 注销登记) is quarantined, never guessed.

Policy of the run (hedui/policies/jiangxi_demo.yaml, 2026, 城市): financial assets at most 19,200 yuan per person,
income at most 800 yuan per person and month over 12 months.
"""

from __future__ import annotations

import pytest
from contract_world import World, fresh_ids, outcomes, query, run_world
from test_contract_traps10 import fill
from test_contract_traps14 import _sql

OVER_UNCONFIRMED = ("INCOMPLETE", "FINANCIAL_ASSETS_OVER_LIMIT;UNCONFIRMED_LINK")


def bank(w: World, name: str, pid: str, balance: str) -> None:
    w.add("bank", 机构名称="赣州银行", 户名=name, 证件号码=pid, 账号=f"62300000{len(w.rows['bank']):011d}",
          账户类型="活期", 余额=balance, 查询日期="20261126")


def build() -> World:  # noqa: PLR0915 - one household per block, read top to bottom
    w = World()
    exact = ("FINDINGS", "FINANCIAL_ASSETS_OVER_LIMIT")
    # --- IDs as a copy from a web page, a dialog or a float column leaves them --------------------------------------
    # under the member's name: read as malformed they were linked by name only (INCOMPLETE, a person asked to confirm
    # what the ID already says)
    for rid, name, form in [
        ("TV01", "甘一", lambda p: "\u200e" + p),  # a left-to-right mark before it
        ("TV02", "甘二", lambda p: f"{p[:6]}-{p[6:14]}-{p[14:]}"),  # dashes between the digit groups
        ("TV03", "甘三", lambda p: p[:10] + "\u2060" + p[10:]),  # a word joiner inside
        ("TV04", "甘四", lambda p: p + "\u200d"),  # a zero-width joiner after it
        ("TV05", "甘五", lambda p: p[:6] + "\u00ad" + p[6:]),  # a soft hyphen inside
    ]:
        (a,) = w.household(rid, [(name, "本人")])
        bank(w, a["name"], form(a["id"]), "25000")
        w.expect(rid, *exact)
    # under no name: the row was quarantined (no usable ID, no name) and named nobody — CLEAR with 25,000 unweighed
    for rid, name, form in [
        ("TV06", "甘六", lambda p: "\u200e" + p),
        ("TV07", "甘七", lambda p: f"{p[:6]}－{p[6:14]}－{p[14:]}"),  # full-width dashes
    ]:
        (a,) = w.household(rid, [(name, "本人")])
        bank(w, "", form(a["id"]), "25000")
        w.expect(rid, *exact)
    # pinned: spaces inside an ID under no name were already the member's
    (a,) = w.household("TV08", [("甘八", "本人")])
    bank(w, "", f"{a['id'][:6]} {a['id'][6:]}", "25000")
    w.expect("TV08", *exact)
    # a legacy 15-digit ID as a float column's text (exact: 15 digits are below 2**53)
    (a,) = w.household("TV09", [("甘九", "本人")], births={"甘九": "19700305"})
    bank(w, a["name"], a["id"][:6] + a["id"][8:17] + ".0", "25000")
    w.expect("TV09", *exact)
    # a mistyped ID (wrong check character) or one without its check character, under no name: quarantined (no
    # usable ID, no name) and linked to nobody — CLEAR; the partial ID names the member as linkage would read it
    for rid, name, form in [("TV33", "甘卅三", lambda p: p[:17] + ("0" if p[17] != "0" else "1")),
                            ("TV34", "甘卅四", lambda p: p[:17])]:
        (a,) = w.household(rid, [(name, "本人")])
        bank(w, "", form(a["id"]), "25000")
        w.expect(rid, "INCOMPLETE", "RECORD_QUARANTINED")
    # … and one quarantined for its amount
    (a,) = w.household("TV35", [("甘卅五", "本人")])
    bank(w, "", a["id"][:17] + ("0" if a["id"][17] != "0" else "1"), "约3万")
    w.expect("TV35", "INCOMPLETE", "RECORD_QUARANTINED")

    # --- names on records without an ID ----------------------------------------------------------------------------
    # an invisible mark in or around the name, or in the member's own request: the member's account
    for rid, member, written in [("TV10", "张三", "张三\u200d"), ("TV11", "张四", "\u200e张四"), ("TV18", "李娜", "李\u2060娜"),
                                 ("TV19", "赵丽", "赵丽\u00ad"), ("TV36", "刘\u200b强", "刘强"), ("TV37", "陈\u200f静", "陈静")]:
        w.household(rid, [(member, "本人")])
        bank(w, written, "", "25000")
        w.expect(rid, *OVER_UNCONFIRMED)
    # pinned: traditional compound surnames, the full-width dot, a no-break space
    for rid, member, written in [("TV14", "欧阳修", "歐陽修"), ("TV15", "司马光", "司馬 光"), ("TV16", "阿依·古丽", "阿依．古丽"),
                                 ("TV17", "王\u00a0芳", "王芳")]:
        w.household(rid, [(member, "本人")])
        bank(w, written, "", "25000")
        w.expect(rid, *OVER_UNCONFIRMED)
    # pinned: a minority name with a dash for its dot waits for a person (never CLEAR); without its dot it is the same
    # name (links7, LO04: the separators `·` `•` `‧` `．` `・` `.`, a space or none compare equal), linked unconfirmed;
    # a hyphen is the dot too since traps24 (TF05): linked unconfirmed as the dotted name, its finding listed
    for rid, member, written in [("TV12", "买买提·艾力", "买买提-艾力"), ("TV13", "买买提·托乎提", "买买提托乎提"),
                                 ("TV20", "买买提·依明", "买买提—依明")]:
        w.household(rid, [(member, "本人")])
        bank(w, written, "", "25000")
        w.expect(rid, *OVER_UNCONFIRMED) if rid != "TV20" else w.expect(rid, "INCOMPLETE", "UNCONFIRMED_LINK")

    # --- statuses in other words ----------------------------------------------------------------------------------
    # a car 在用 (in use) or a policy 生效 (in force) is the contract's 正常 / 有效; 已注销 is 注销: they were
    # quarantined (INCOMPLETE for a car of 90,000 and a cash value of 25,000, or for a car no longer there)
    for rid, name, status, want in [("TV21", "甘廿一", "在用", ("FINDINGS", "VEHICLE")), ("TV22", "甘廿二", "已注销", ("CLEAR", "")),
                                    ("TV38", "甘卅八", "强制注销", ("CLEAR", "")),
                                    # 注销登记 (the cancellation's registration; GA 24's status E) is 注销 too (traps18)
                                    ("TV23", "甘廿三", "注销登记", ("CLEAR", ""))]:
        (a,) = w.household(rid, [(name, "本人")])
        w.car(a, "90000", status=status)
        w.expect(rid, *want)
    # pinned: 中止 and 失效 (a lapsed policy, its cash value kept, reinstatable) are not 终止: quarantined, never ended
    for rid, name, status, want in [("TV24", "甘廿四", "生效", exact), ("TV39", "甘卅九", "退保", ("CLEAR", "")),
                                    ("TV25", "甘廿五", "中止", ("INCOMPLETE", "RECORD_QUARANTINED")),
                                    ("TV26", "甘廿六", "失效", ("INCOMPLETE", "RECORD_QUARANTINED"))]:
        (a,) = w.household(rid, [(name, "本人")])
        w.add("insurance", 投保人=a["name"], 投保人证件号=a["id"], 保单号=f"P{rid}", 险种="寿险", 保单状态=status,
              现金价值="25000", 查询日期="20261126")
        w.expect(rid, *want)
    # --- an ID in another member's row ------------------------------------------------------------------------------
    # the request's row of the wife carries her husband's ID: she is not looked up (her own account of 25,000 is
    # nobody's), which is named; the row contradicts the registration (his ID is the head's, not a spouse's): a finding
    a, b = w.household("TV40", [("甘四十", "本人"), ("付四十", "配偶")])
    bank(w, b["name"], b["id"], "25000")
    w.rows["requests"][-1]["身份证号"] = a["id"]
    w.expect("TV40", "FINDINGS", "MEMBER_REGISTRATION_MISMATCH;VALUE_UNKNOWN")
    # twins: the request's row of one twin carries the other's ID
    a, b = w.household("TV41", [("甘大双", "本人"), ("甘小双", "兄弟姐妹")], births={"甘大双": "19900606", "甘小双": "19900606"})
    bank(w, b["name"], b["id"], "25000")
    w.rows["requests"][-1]["身份证号"] = a["id"]
    w.expect("TV41", "FINDINGS", "MEMBER_REGISTRATION_MISMATCH;VALUE_UNKNOWN")
    # --- periods as written (pinned) ---------------------------------------------------------------------------------
    for rid, name, month in [("TV27", "甘廿七", "2026年3月"), ("TV28", "甘廿八", "2026-3"), ("TV29", "甘廿九", "2026.03"),
                             ("TV31", "甘卅一", "2026年03月份"), ("TV32", "甘卅二", "2026/3")]:
        (a,) = w.household(rid, [(name, "本人")])
        w.wages(a, [month], "200000")
        w.expect(rid, "FINDINGS", "INCOME_OVER_STANDARD")
    fill(w)
    fill(w)
    return w


@pytest.fixture(scope="module")
def traps16_run(tmp_path_factory):
    with fresh_ids(110):
        world = build()
    return world, run_world(world, tmp_path_factory, "traps16")


def test_every_household_has_the_outcome_the_contract_gives_it(traps16_run):
    """TV01–TV37: each household as policy.md gives it, by hand."""
    world, ctx = traps16_run
    got = outcomes(ctx)
    wrong = {rid: (got.get(rid), want) for rid, want in world.expected.items() if got.get(rid) != want}
    assert not wrong, wrong


def test_a_quarantined_row_named_by_a_partial_id_is_listed_for_its_member(traps16_run):
    """TV33: the bank's row without a name under the member's ID with one digit mistyped was quarantined ("no usable
    ID, no name") and named nobody: the household CLEAR with 25,000 in it.  Its page now lists the row and says how
    it names the member."""
    _, ctx = traps16_run
    rows = query(ctx, "select method from quarantine_links where request_id in ('TV33', 'TV34', 'TV35') "
                      "order by request_id")
    assert rows == [("partial_id",)] * 3
    page = (ctx.report_dir / "households" / "TV33.html").read_text(encoding="utf-8")
    assert "按身份证号（该记录的身份证号校验位有误）关联到该成员的记录被隔离" in page


PID = "360702198001010016"  # its check character is right
LEGACY = "360702800101001"
ID_FORMS = [("\u200e" + PID, PID, "valid"), (f"{PID[:6]}-{PID[6:14]}-{PID[14:]}", PID, "valid"),
            (f"{PID[:6]}－{PID[6:14]}－{PID[14:]}", PID, "valid"), (f"{PID[:6]}—{PID[6:]}", PID, "valid"),
            (PID[:10] + "\u2060" + PID[10:], PID, "valid"), (PID + "\u200d", PID, "valid"),
            (PID[:6] + "\u00ad" + PID[6:], PID, "valid"), ("\u202a" + PID + "\u202c", PID, "valid"),
            (LEGACY + ".0", "360702198001010016", "converted_15"), ("'" + LEGACY + ".00", "360702198001010016", "converted_15"),
            # 16 digits and a .0 are no ID; 18 digits from a double would be digits rounded: no ID either
            ("3607021980010100.0", None, "malformed"), (PID + ".0", None, "malformed")]


def test_an_id_with_invisible_marks_dashes_or_a_floats_dot_zero_is_that_id_in_python_and_sql(macros):
    """TV01–TV09: a left-to-right mark, a word joiner, a soft hyphen, a zero-width joiner, dashes between the digit
    groups, or the `.0` a float column writes after a legacy ID made the ID malformed: the member's 25,000 linked by
    name only for a person to confirm, or — under no name — by nobody (TV06, TV07 CLEAR)."""
    from matching.idnum import normalize_id

    assert [normalize_id(r) for r, _, _ in ID_FORMS] == [(v, s) for _, v, s in ID_FORMS]
    raws = [r for r, _, _ in ID_FORMS]
    assert _sql(macros, "hd_id_norm(?)", raws) == [v for _, v, _ in ID_FORMS]
    assert _sql(macros, "hd_id_status(?)", raws) == [s for _, _, s in ID_FORMS]


NAMES = [("张三\u200d", "张三"), ("\u200e张四", "张四"), ("李\u2060娜", "李娜"), ("赵丽\u00ad", "赵丽"), ("陈\u200f静", "陈静"),
         ("\u202a买买提·艾力\u202c", "买买提·艾力"), ("\u2066王芳\u2069", "王芳"), ("\u200c", None)]


def test_a_name_with_an_invisible_mark_is_that_name_in_python_and_sql(macros):
    """TV10–TV37: an invisible mark in a name made it another name (the account waited for review instead of being
    the member's by its name); a cell of nothing but a mark is empty, also to hd_blank."""
    from matching.normalize import is_blank, normalize_name

    assert [normalize_name(r) for r, _ in NAMES] == [e for _, e in NAMES]
    assert _sql(macros, "hd_name_norm(?)", [r for r, _ in NAMES]) == [e for _, e in NAMES]
    assert is_blank("\u200e\u00ad") and _sql(macros, "hd_blank(?)", ["\u200e\u00ad"]) == [True]


def test_one_id_on_two_names_of_a_request_is_named_as_unknown_and_no_longer_stops_the_run(traps16_run):
    """TV40, TV41: the request's row of the wife (or of one twin) carrying her husband's (the other twin's) ID was two
    members of one key to linkage, which stopped the whole run (`unique id column 'member_key' … must be non-null and
    unique`): no household of the day was answered.  Now the run goes on and the household's page names both rows
    as a VALUE_UNKNOWN (whose ID it is is not known; the other member was looked up nowhere).  The same member written
    twice under one name stays one member (test_contract_traps10 TK14)."""
    _, ctx = traps16_run
    rows = query(ctx, "select request_id, count(*) from evidence_gaps where code = 'VALUE_UNKNOWN' "
                      "and reason_zh like '委托名单中同一身份证号出现在姓名不同的 2 行%' group by request_id order by 1")
    assert rows == [("TV40", 2), ("TV41", 2)]
    page = (ctx.report_dir / "households" / "TV40.html").read_text(encoding="utf-8")
    assert "委托名单中同一身份证号出现在姓名不同的 2 行" in page
