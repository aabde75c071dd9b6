"""sources.md's "Values as they come" and policy.md ("CLEAR is earned", empty = unknown) read as an outsider writing
hidden test deliveries would read them, round 14: ID numbers in the forms the contract lists and beyond them (a
legacy ID of a person born 1905, a full-width `Ｘ`, an apostrophe, spaces and full-width digits at once, Excel's
scientific form with a lower-case `e` or a decimal comma, 16 and 17 digits, a name in the ID column, a birth date
0230 under a right check character), names as clerks write them on records without an ID (a remark in brackets
after the name: `李四（曾用名李三）`, `赵五(已故)`; traditional forms, full-width Latin, spaces, a trailing dot),
amounts as typed (`1,2000`, `12 000`, `RMB`, `元整`, `%`, `-0`, `null`, full-width parentheses, negative market
value, price and contribution), dates as databases write them (`20261126000000`, `… 00:00:00 +0800`, MySQL's zero
datetime, a date after the run, a two-digit year, 1949), and an ID-less account whose weight could or could not
change the outcome.  Small households built by hand (tests/contract_world.py), one real pipeline run.  Cases of
test_contract_*.py, test_contract_traps*.py, test_contract_linkage*.py, test_units.py and test_normalize.py are
not repeated.

Pinned where the contract is open: an amount written `25%` names no unit the contract lists, so it is
quarantined (the household INCOMPLETE, never CLEAR), not guessed.  (`RMB25000` was too until test_contract_traps25
read RMB as the currency ¥ is, and `25000元整` until test_contract_traps26 read it as a cheque writes it;
`（1,000.00）` is quarantined as the negative it is.)

Policy of the run (hedui/policies/jiangxi_demo.yaml, 2026, 城市): financial assets at most 19,200 yuan per person,
vehicles above 15 × 800 = 12,000 yuan, contributions from 100,000 yuan.
"""

from __future__ import annotations

import pytest
from contract_world import RUN, World, check_char, fresh_ids, outcomes, query
from test_contract_traps10 import fill

FULL_WIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")


def bank(w: World, name: str, pid: str, balance: str, query_date: str = "20261126") -> None:
    w.add("bank", 机构名称="赣州银行", 户名=name, 证件号码=pid, 账号=f"62300000{len(w.rows['bank']):011d}",
          账户类型="活期", 余额=balance, 查询日期=query_date)


def born_on(pid: str, yyyymmdd: str) -> str:
    """`pid` with the birth date `yyyymmdd` and the check character that makes it right (the date may be impossible)."""
    body = pid[:6] + yyyymmdd + pid[14:17]
    return body + check_char(body)


def build() -> World:  # noqa: PLR0915 - one household per block, read top to bottom
    w = World()
    over = ("INCOMPLETE", "FINANCIAL_ASSETS_OVER_LIMIT;UNCONFIRMED_LINK")  # 25,000 on a link nobody confirmed
    # --- IDs -----------------------------------------------------------------------------------------------------
    # born 1905: her legacy 15-digit ID (year 05) is 1905 as the contract says (insert 19), an exact link
    (a,) = w.household("TQ01", [("甘一", "本人")], births={"甘一": "19050301"})
    bank(w, a["name"], a["id"][:6] + a["id"][8:17], "25000")
    w.expect("TQ01", "FINDINGS", "FINANCIAL_ASSETS_OVER_LIMIT")
    # an ID ending in X, delivered in full-width digits and a full-width Ｘ
    while True:
        (a,) = w.household("TQ02", [("甘二", "本人")])
        if a["id"].endswith("X"):
            break
        del w.rows["requests"][-1], w.rows["public_security"][-1]
    bank(w, a["name"], a["id"].translate(FULL_WIDTH), "25000")
    w.expect("TQ02", "FINDINGS", "FINANCIAL_ASSETS_OVER_LIMIT")
    # Excel's apostrophe, an ideographic space, spaces inside and full-width digits, all at once
    (a,) = w.household("TQ03", [("甘三", "本人")])
    fw = a["id"].translate(FULL_WIDTH)
    bank(w, a["name"], f"'\u3000{fw[:6]} {fw[6:14]} {fw[14:]}", "25000")
    w.expect("TQ03", "FINDINGS", "FINANCIAL_ASSETS_OVER_LIMIT")
    # IDs that name nobody exactly, under the member's exact name: a link a person must confirm, never nothing
    for rid, name, form in [
        ("TQ04", "甘四", lambda pid: born_on(pid, "19800230")),  # right check character, impossible birth date
        ("TQ05", "甘五", lambda pid: "3.60702e+17"),  # Excel's scientific form, lower-case e
        ("TQ06", "甘六", lambda pid: "3,60702E+17"),  # … with a decimal comma
        ("TQ07", "甘七", lambda pid: "甘七"),  # the name typed into the ID column
        ("TQ08", "甘八", lambda pid: pid[:17]),  # the check character dropped
        ("TQ09", "甘九", lambda pid: pid[:16]),  # 16 digits
    ]:
        (a,) = w.household(rid, [(name, "本人")], births={name: "19800212"} if rid == "TQ04" else None)
        bank(w, a["name"], form(a["id"]), "25000")
        w.expect(rid, *over)
    # the request's own ID with a right check character and birth date 0230, or in Excel's scientific form: the
    # member cannot be looked up, the request row is quarantined saying why
    (a,) = w.household("TQ49", [("甘四九", "本人")], births={"甘四九": "19750212"})
    w.set_id(a["id"], born_on(a["id"], "19750230"))
    w.expect("TQ49", "INCOMPLETE", "RECORD_QUARANTINED")
    (a,) = w.household("TQ50", [("甘五十", "本人")])
    w.set_id(a["id"], "3.60702E+17")
    w.expect("TQ50", "INCOMPLETE", "RECORD_QUARANTINED")
    # the request's ID with an apostrophe, an ideographic space and full-width digits
    (a,) = w.household("TQ52", [("甘五二", "本人")])
    w.rows["requests"][-1]["身份证号"] = "'\u3000" + a["id"].translate(FULL_WIDTH)
    bank(w, a["name"], a["id"], "25000")
    w.expect("TQ52", "FINDINGS", "FINANCIAL_ASSETS_OVER_LIMIT")

    # --- names on records without an ID ----------------------------------------------------------------------------
    # a remark in brackets after the name: the record names the member; read as part of the name it named nobody,
    # and the household was CLEAR with 25,000 nobody weighed
    (a,) = w.household("TQ43", [("李四", "本人")])
    bank(w, "李四（曾用名李三）", "", "25000")
    w.expect("TQ43", *over)
    (a,) = w.household("TQ44", [("赵五", "本人")])
    bank(w, "赵五(已故)", "", "25000")
    w.expect("TQ44", *over)
    # … and a quarantined ID-less account under the name with a remark names the member (it named nobody: CLEAR)
    w.household("TQ55", [("甘五五", "本人")])
    bank(w, "甘五五（已故）", "", "50%")  # RMB5000 and 5000元整 are read since test_contract_traps25 / traps26
    w.expect("TQ55", "INCOMPLETE", "RECORD_QUARANTINED")
    # … and a registration row with the member's ID and a remark after his name is his, nothing else
    (a,) = w.household("TQ12", [("甘十二", "本人")])
    w.rows["public_security"][-1]["姓名"] = "甘十二（曾用名甘二）"
    w.expect("TQ12", "CLEAR", "")
    # a cremation record without an ID, the minority name's dot written •
    w.household("TQ11", [("阿依古丽·买买提", "本人"), ("买买提·艾力", "配偶")])
    w.add("civil_affairs", 姓名="买买提•艾力", 身份证号="", 死亡日期="2026-10-02", 火化日期="2026-10-04", 殡仪馆="赣州市殡仪馆")
    w.expect("TQ11", "INCOMPLETE", "MEMBER_REGISTRATION_ENDED;UNCONFIRMED_LINK")
    # the registration writes the member's rare character in pinyin, under his ID: his row, nothing to review
    (a,) = w.household("TQ13", [("甘鑫", "本人")])
    w.rows["public_security"][-1]["姓名"] = "甘xin"
    w.expect("TQ13", "CLEAR", "")
    # traditional forms, spaces inside, full-width Latin, a trailing dot: the member's account waits for a person
    for rid, member, written in [("TQ41", "陈红", "陳紅"), ("TQ45", "王小明", "王 小 明"), ("TQ47", "ＡＬＩＣＥ", "Alice"),
                                 ("TQ48", "古丽", "古丽・")]:
        w.household(rid, [(member, "本人")])
        bank(w, written, "", "25000")
        w.expect(rid, *over)
    # a rare character typed as * or in pinyin: a weaker pair (a review, not a link) — still never CLEAR
    for rid, member, written in [("TQ42", "钟燚", "钟*"), ("TQ46", "吴淼", "吴miao")]:
        w.household(rid, [(member, "本人")])
        bank(w, written, "", "25000")
        w.expect(rid, "INCOMPLETE", "UNCONFIRMED_LINK")
    # an ID-less account that would cross the limit if confirmed (19,150 + 100) keeps the household from CLEAR;
    # one that could not (100 + 10) does not
    (a,) = w.household("TQ39", [("甘卅九", "本人")])
    bank(w, a["name"], a["id"], "19150")
    bank(w, a["name"], "", "100")
    w.expect("TQ39", *over)
    (a,) = w.household("TQ40", [("甘四十", "本人")])
    bank(w, a["name"], a["id"], "100")
    bank(w, a["name"], "", "10")
    w.expect("TQ40", "CLEAR", "")

    # --- amounts ---------------------------------------------------------------------------------------------------
    for rid, name, cell in [("TQ14", "甘十四", "1,2000"),
                            ("TQ20", "甘二十", "（1,000.00）"), ("TQ22", "甘廿二", "25%")]:
        (a,) = w.household(rid, [(name, "本人")])
        bank(w, a["name"], a["id"], cell)
        w.expect(rid, "INCOMPLETE", "RECORD_QUARANTINED")
    (a,) = w.household("TQ17", [("甘十七", "本人")])  # 25000元整 as a cheque writes it (test_contract_traps26 AY01)
    bank(w, a["name"], a["id"], "25000元整")
    w.expect("TQ17", "FINDINGS", "FINANCIAL_ASSETS_OVER_LIMIT")
    (a,) = w.household("TQ16", [("甘十六", "本人")])  # RMB is the currency ¥ is (test_contract_traps25 TT01)
    bank(w, a["name"], a["id"], "RMB25000")
    w.expect("TQ16", "FINDINGS", "FINANCIAL_ASSETS_OVER_LIMIT")
    (a,) = w.household("TQ15", [("甘十五", "本人")])
    bank(w, a["name"], a["id"], "12 000")
    bank(w, a["name"], a["id"], "8 000")
    w.expect("TQ15", "FINDINGS", "FINANCIAL_ASSETS_OVER_LIMIT")
    (a,) = w.household("TQ18", [("甘十八", "本人")])
    bank(w, a["name"], a["id"], "-0")
    bank(w, a["name"], a["id"], "0.00")
    w.expect("TQ18", "CLEAR", "")
    (a,) = w.household("TQ19", [("甘十九", "本人")])
    bank(w, a["name"], a["id"], "null")
    w.expect("TQ19", "INCOMPLETE", "VALUE_UNKNOWN")
    # a negative market value is no deduction from 40,000
    (a,) = w.household("TQ21", [("甘廿一", "本人")])
    bank(w, a["name"], a["id"], "40000")
    w.add("securities", 姓名=a["name"], 证件号码=a["id"], 证券账户="A9021", 持仓市值="-30000", 资金余额="0",
          查询日期="20261126")
    w.expect("TQ21", "FINDINGS", "FINANCIAL_ASSETS_OVER_LIMIT;RECORD_QUARANTINED")
    # a negative price or contribution is no figure under the limit
    (a,) = w.household("TQ29", [("甘廿九", "本人")])
    w.car(a, "-150000")
    w.expect("TQ29", "INCOMPLETE", "RECORD_QUARANTINED")
    (a,) = w.household("TQ30", [("甘三十", "本人")])
    w.company(a, "有限责任公司", "存续", "-20")
    w.expect("TQ30", "INCOMPLETE", "RECORD_QUARANTINED")

    # --- dates -----------------------------------------------------------------------------------------------------
    # a database's timestamp (yyyyMMddHHmmss) and a zone after a space are the day they write (quarantined, the
    # account's 25,000 was unknown)
    (a,) = w.household("TQ23", [("甘廿三", "本人")])
    bank(w, a["name"], a["id"], "25000", query_date="20261126000000")
    w.expect("TQ23", "FINDINGS", "FINANCIAL_ASSETS_OVER_LIMIT")
    (a,) = w.household("TQ34", [("甘卅四", "本人")])
    w.add("insurance", 投保人=a["name"], 投保人证件号=a["id"], 保单号="P9034", 险种="寿险", 保单状态="有效",
          现金价值="25000", 查询日期="2026-11-26 00:00:00 +0800")
    w.expect("TQ34", "FINDINGS", "FINANCIAL_ASSETS_OVER_LIMIT")
    (a,) = w.household("TQ28", [("甘廿八", "本人")])
    bank(w, a["name"], a["id"], "25000", query_date="2026.11.26")
    w.expect("TQ28", "FINDINGS", "FINANCIAL_ASSETS_OVER_LIMIT")
    # MySQL's zero datetime is no date (as its zero date): an empty 截至日期, not a value to quarantine
    (a,) = w.household("TQ51", [("甘五一", "本人")])
    w.add("housing_fund", 证件号码=a["id"], 姓名=a["name"], 单位名称="某单位", 月缴存基数="3000", 月缴存额="360",
          账户余额="100", 账户状态="正常", 截至日期="0000-00-00 00:00:00")
    w.expect("TQ51", "CLEAR", "")
    # a month 13 under a time of day: quarantined, its reason showing the value as delivered
    (a,) = w.household("TQ54", [("甘五四", "本人")])
    bank(w, a["name"], a["id"], "100", query_date="2026-13-26 08:00:00")
    w.expect("TQ54", "INCOMPLETE", "RECORD_QUARANTINED")
    # dates after the run date: the bank's query, a death and a cremation
    (a,) = w.household("TQ24", [("甘廿四", "本人")])
    bank(w, a["name"], a["id"], "100", query_date="2026-11-30")
    w.expect("TQ24", "INCOMPLETE", "RECORD_QUARANTINED")
    a, b = w.household("TQ25", [("甘廿五", "本人"), ("甘廿五父", "父母")])
    w.add("civil_affairs", 姓名=b["name"], 身份证号=b["id"], 死亡日期="2026-12-01", 火化日期="2026-12-03", 殡仪馆="赣州市殡仪馆")
    w.expect("TQ25", "INCOMPLETE", "RECORD_QUARANTINED")
    # a request dated with a two-digit year: which century is not known, the row is quarantined saying so
    w.household("TQ27", [("甘廿七", "本人")])
    w.rows["requests"][-1]["委托日期"] = "26-11-20"
    w.expect("TQ27", "INCOMPLETE", "RECORD_QUARANTINED")
    # a vehicle first registered in 1949 is a vehicle
    (a,) = w.household("TQ26", [("甘廿六", "本人")])
    w.car(a, "90000")
    w.rows["vehicle"][-1]["初次登记日期"] = "1949-10-01"
    w.expect("TQ26", "FINDINGS", "VEHICLE")

    fill(w)
    fill(w)  # twice: the bank's few unusable IDs and quarantined rows stay under its suite's shares
    return w


@pytest.fixture(scope="module")
def traps14_run(tmp_path_factory):
    from hedui.pipeline import RunContext, run

    with fresh_ids(110):
        world = build()
    inbox = tmp_path_factory.mktemp("traps14") / "inbox"
    world.write(inbox)
    ctx = RunContext.of(inbox, tmp_path_factory.mktemp("traps14_work"), RUN)
    run(ctx)
    return world, ctx


def test_every_household_has_the_outcome_the_contract_gives_it(traps14_run):
    world, ctx = traps14_run
    got = outcomes(ctx)
    wrong = {rid: (got.get(rid), want) for rid, want in world.expected.items() if got.get(rid) != want}
    assert not wrong, wrong


def _sql(con, expr: str, values: list[str]) -> list:
    return [con.execute(f"select {expr}", [v]).fetchone()[0] for v in values]


REMARKS = [("李四（曾用名李三）", "李四"), ("赵五(已故)", "赵五"), (" 赵五 （已故） ", "赵五"), ("陳紅(已故)", "陈红"),
           ("买买提.艾力（已故）", "买买提·艾力"), ("（已故）", None), ("王(x)明", "王(x)明"), ("王*", "王*"),
           ("王六【已销户】", "王六"), ("王六[已故]", "王六"), ("王六［已故］", "王六"), ("王六(已故", "王六(已故")]


def test_a_remark_in_brackets_after_a_name_is_no_part_of_it_in_python_and_sql(macros):
    """`李四（曾用名李三）` and `赵五(已故)` were names of their own: an ID-less account under them named nobody (TQ43,
    TQ44 CLEAR with 25,000 unweighed).  A bracket inside a name is kept."""
    from matching.normalize import normalize_name

    assert [normalize_name(r) for r, _ in REMARKS] == [e for _, e in REMARKS]
    sql = _sql(macros, "hd_name_norm(?)", [r for r, _ in REMARKS])
    assert [s for s, (r, _) in zip(sql, REMARKS, strict=True) if r != "陳紅(已故)"] == [
        e for r, e in REMARKS if r != "陳紅(已故)"]  # traditional forms: Python's, for the SQL's exceptions


def test_an_id_less_account_under_a_name_with_a_remark_waits_for_a_person_with_its_weight(traps14_run):
    _, ctx = traps14_run
    rows = query(ctx, "select q.request_id, b.name, q.match_weight from review_queue q "
                      "join stg_bank b using (run_date, record_id) where q.request_id in ('TQ43', 'TQ44') "
                      "order by q.request_id")
    assert [(r, n) for r, n, _ in rows] == [("TQ43", "李四（曾用名李三）"), ("TQ44", "赵五(已故)")], rows
    page = (ctx.report_dir / "households" / "TQ43.html").read_text(encoding="utf-8")
    assert "待人工确认" in page and f"{rows[0][2]:.2f}" in page


TIMESTAMPS = ["20261126000000", "20261126235959", "2026-11-26 00:00:00 +0800", "2026-11-26 08:30 -05:00",
              "2026-11-26T00:00:00 Z"]
NOT_DATES = ["20261126240000", "20261126006000", "202611260000", "2026-11-26 00:00:00  +0800"]


def test_a_databases_timestamp_and_a_zone_after_a_space_are_the_day_they_write_in_python_and_sql(macros):
    import datetime as dt

    from matching.normalize import parse_date, parse_month

    day = dt.date(2026, 11, 26)
    assert [parse_date(v) for v in TIMESTAMPS] == [day] * len(TIMESTAMPS)
    assert [parse_month(v) for v in TIMESTAMPS] == [day.replace(day=1)] * len(TIMESTAMPS)
    assert _sql(macros, "hd_date(?)", TIMESTAMPS) == [day] * len(TIMESTAMPS)
    assert _sql(macros, "hd_month(?)", TIMESTAMPS) == [day.replace(day=1)] * len(TIMESTAMPS)
    assert [parse_date(v) for v in NOT_DATES] == _sql(macros, "hd_date(?)", NOT_DATES) == [None] * len(NOT_DATES)


def test_mysqls_zero_datetime_is_an_empty_date_not_a_bad_one(traps14_run, macros):
    _, ctx = traps14_run
    assert _sql(macros, "hd_none(?)", ["0000-00-00 00:00:00", "00000000000000", "0000-00-00"]) == [True] * 3
    [(as_of,)] = query(ctx, "select f.as_of_date from stg_housing_fund f join stg_requests r on r.id_norm = f.id_norm "
                            "where r.request_id = 'TQ51'")
    assert as_of is None


def test_a_quarantined_value_is_shown_as_delivered_or_masked_where_it_could_be_an_id(traps14_run):
    """A date and time joined by a space were one run of 10 digits to the masking: `2026-13-26 08:00:00` was shown
    as `****2608:00:00`, a value nobody delivered."""
    from connectors.limits import mask_long_numbers

    _, ctx = traps14_run
    reasons = dict(query(ctx, "select value_masked, reason_zh from quarantine where source = 'bank' and "
                              "column_name = 'query_date'"))
    assert reasons["2026-13-26 08:00:00"] == '"查询日期"值"2026-13-26 08:00:00"无法识别为日期', reasons
    assert mask_long_numbers("0000-00-00 00:00:00") == "0000-00-00 00:00:00"
    assert mask_long_numbers("360102 19900101 123x") == "360102********123X"
    assert mask_long_numbers("3601-0219-9001-0112-34") == "360102********1234"


def test_values_the_contract_gives_no_reading_of_are_quarantined_naming_the_value_in_chinese(traps14_run):
    _, ctx = traps14_run
    reasons = {r for (r,) in query(ctx, "select reason_zh from quarantine")}
    for want in ['"余额"值"1,2000"无法识别为金额',
                 '"余额"值"25%"无法识别为金额', '"余额"为负数（（1,000.00）），余额不应为负', '"委托日期"值"26-11-20"无法识别为日期',
                 '"查询日期"值"2026-11-30"晚于核对日期 2026-11-28，日期不能在未来',
                 '"死亡日期"值"2026-12-01"晚于核对日期 2026-11-28，日期不能在未来',
                 '"持仓市值"值"-30000"为负数，不能为负', '"购置价格"值"-150000"为负数，不能为负',
                 '"认缴出资额"值"-200000"为负数，不能为负']:
        assert want in reasons, (want, sorted(reasons))


def test_a_balance_written_minus_zero_is_zero_in_python_sql_and_the_report(traps14_run, macros):
    """`-0` was staged as the double -0.0, and the household's page listed the account's balance as "-0.00"."""
    import math

    from matching.normalize import parse_amount

    _, ctx = traps14_run
    for cell in ("-0", "-0.00", "-0万", "－0元"):
        [(sql,)] = macros.execute("select hd_amount(?, 1)", [cell]).fetchall()
        assert math.copysign(1, parse_amount(cell)) == math.copysign(1, sql) == 1.0, cell
    rows = query(ctx, "select format('{:,.2f}', b.balance_yuan) from stg_bank b join stg_requests r using (id_norm) "
                      "where r.request_id = 'TQ18'")
    assert sorted(rows) == [("0.00",), ("0.00",)]
    page = (ctx.report_dir / "households" / "TQ18.html").read_text(encoding="utf-8")
    assert "-0.00" not in page and page.count(">0.00<") >= 2
