"""sources.md read as an outsider writing hidden test deliveries would read it, round 20: months Excel shortened, dates
that are no date in a text file.

A tax export whose 所属期 went through Excel as numbers: `2026.10` became the number 2026.1, so October's wage row read
as a second January row, was taken for a copy of it and dropped as a duplicate; a wage of 850 a month counted eleven
times in twelve months (779 a month: under 800), the household CLEAR.  A bank answer in a CSV whose 查询日期 was cut short
to five digits (`20261`) was read as an Excel serial day (1955-06-20): the account's newer answer of 50,000 yuan looked
older than its answer of 100 and was dropped, the household CLEAR.

Decided where the contract is silent:
- a month `YYYY.1` is October or January: where the same file's column holds no `YYYY.10` and holds `YYYY.11`,
  `YYYY.12` or a zero-padded `YYYY.0M` (months Excel stored as numbers), or two rows alike but for nothing under a
  `YYYY.1` (January to October: October shortened), it cannot be read with certainty and the row is quarantined naming
  it; a file that writes `2026.1 … 2026.9` only (or writes `2026.10` too) is read as it says.
- a 5-digit number in a date or month column that starts like a year (`19xxx`, `20xxx`: a serial day of 1952–1957)
  is no date for certain in a CSV (sources.md has serial days in `.xlsx`): quarantined naming it.  Serials a CSV
  exported from a sheet holds for this decade's dates (`46298`) stay read, as test_contract_traps11 pins.

Policy of the run (hedui/policies/jiangxi_demo.yaml, 2026, 城市): standard 800 yuan per person and month, financial
assets at most 19,200 yuan per person, at most 1 residential unit.
"""

from __future__ import annotations

import csv

import pytest
from contract_world import RUN, WINDOW, World, fresh_ids, outcomes, query
from test_contract_traps10 import fill

TAX_HEADER = ["纳税人识别号", "姓名", "所得项目", "所属期", "收入额", "已缴税额", "扣缴义务人"]


def build() -> tuple[World, dict[str, list[list[str]]]]:
    """The world and extra tax files (name → rows without the header), each delivered beside the world's own."""
    w = World()
    extra: dict[str, list[list[str]]] = {}
    # --- months Excel stored as numbers -------------------------------------------------------------------------------
    (a,) = w.household("TZ01", [("赵一", "本人")])  # 850 a month, 2025.11 … 2026.1 (October shortened): in the main file
    w.wages(a, WINDOW, "850")
    for r in w.rows["tax"][-12:]:
        r["所属期"] = str(float(f"{r['所属期'][:4]}.{int(r['所属期'][4:])}"))
    w.expect("TZ01", "INCOMPLETE", "RECORD_QUARANTINED")
    (b,) = w.household("TZ02", [("赵二", "本人")])  # 1,100 a month January–September, written 2026.1 … 2026.9
    extra["tz02"] = [[b["id"], b["name"], "工资薪金所得", f"2026.{m}", "1100", "0", "某公司"] for m in range(1, 10)]
    w.expect("TZ02", "FINDINGS", "INCOME_OVER_STANDARD")
    (c,) = w.household("TZ03", [("赵三", "本人")])  # 2026.01 … 2026.09 padded, then 2026.1: October
    extra["tz03"] = [[c["id"], c["name"], "工资薪金所得", f"2026.{m:02d}" if m < 10 else "2026.1", "850", "0", "某公司"]
                     for m in range(1, 11)]
    w.expect("TZ03", "INCOMPLETE", "RECORD_QUARANTINED")
    (d,) = w.household("TZ04", [("赵四", "本人")])  # written as text, 2025.11 … 2026.10 unpadded: every month as it says
    extra["tz04"] = [[d["id"], d["name"], "工资薪金所得", f"{m[:4]}.{int(m[4:])}", "850", "0", "某公司"] for m in WINDOW]
    w.expect("TZ04", "FINDINGS", "INCOME_OVER_STANDARD")
    (f,) = w.household("TZ07", [("赵七", "本人")])  # 1,000 a month January–October, October shortened to 2026.1
    extra["tz07"] = [[f["id"], f["name"], "工资薪金所得", f"2026.{m}" if m < 10 else "2026.1", "1000", "0", "某公司"]
                     for m in range(1, 11)]
    w.expect("TZ07", "INCOMPLETE", "RECORD_QUARANTINED")
    # --- a date cut short to five digits in a CSV -----------------------------------------------------------------------
    (e,) = w.household("TZ05", [("赵五", "本人")])  # one account answered twice: 100 on 2026-11-20, 50,000 on "20261"
    w.bank(e, "100", account="6230000000002005")
    w.rows["bank"][-1]["查询日期"] = "2026-11-20"
    w.bank(e, "50000", account="6230000000002005")
    w.rows["bank"][-1]["查询日期"] = "20261"
    w.expect("TZ05", "INCOMPLETE", "RECORD_QUARANTINED")
    fill(w)
    return w, extra


@pytest.fixture(scope="module")
def traps20_run(tmp_path_factory):
    from hedui.pipeline import RunContext, run

    with fresh_ids(2000):
        world, extra = build()
    inbox = tmp_path_factory.mktemp("traps20") / "inbox"
    world.write(inbox)
    for name, rows in extra.items():
        path = inbox / "tax" / RUN / f"tax_{name}.csv"
        with open(path, "w", encoding="utf-8", newline="") as fh:
            csv.writer(fh).writerows([TAX_HEADER, *rows])
        path.with_name(path.name + ".ok").write_text(str(len(rows)), encoding="utf-8")
    ctx = RunContext.of(inbox, tmp_path_factory.mktemp("traps20_work"), RUN)
    run(ctx)
    return world, ctx


def _wrong(traps20_run, rids: list[str]) -> dict:
    world, ctx = traps20_run
    got = outcomes(ctx)
    return {rid: (got.get(rid), world.expected[rid]) for rid in rids if got.get(rid) != world.expected[rid]}


def test_TZ01_a_month_2026_1_beside_2026_11_but_no_2026_10_is_quarantined_not_taken_for_january(traps20_run):
    """TZ01: 所属期 2025.11, 2025.12, 2026.1 … 2026.9, 2026.1 (Excel's number for 2026.10): October's row was read as
    January, taken for a copy of January's row and dropped as a duplicate; 850 a month counted as 779, CLEAR.  Now both
    `2026.1` rows are quarantined naming the value.  TZ03: months padded (2026.01 … 2026.09) and a `2026.1`: the same.
    TZ07: a file of January to October only (2026.1 … 2026.9, 2026.1), 1,000 a month: October's row, alike January's
    but for nothing, was dropped as its copy (750 a month, CLEAR); two rows alike under a `2026.1` are that sign too."""
    world, ctx = traps20_run
    assert _wrong(traps20_run, ["TZ01", "TZ03", "TZ07"]) == {}
    rows = query(ctx, "select file_name, rule, reason_zh from quarantine where source = 'tax' order by file_name, row_no")
    reason = ('"所属期"值"2026.1"无法确定是1月还是10月：同一文件中的月份是带小数点的数字且没有一个写作.10，Excel会把“2026.10”存成'
              '“2026.1”（同一文件有.11、.12或.01，或有两行仅此月份相同）；请部门将月份列设为文本，按2026-01、2026-10这样填写后重新交付')
    assert [(f.rsplit("/", 1)[-1], rule, r) for f, rule, r in rows] == (
        [(f"tax_{RUN}.csv", "bad_month", reason)] * 2 + [("tax_tz03.csv", "bad_month", reason)]
        + [("tax_tz07.csv", "bad_month", reason)] * 2)


def test_TZ02_months_2026_1_to_2026_9_or_written_up_to_2026_10_are_read_as_written(traps20_run):
    """TZ02: a file writing 2026.1 … 2026.9 (January–September, nothing after) keeps its rows: 9 × 1,100 in twelve
    months, 825 a month, over 800.  TZ04: a file writing 2025.11 … 2026.10 as text (2026.10 is there): every month as it
    says, 850 a month."""
    world, ctx = traps20_run
    assert _wrong(traps20_run, ["TZ02", "TZ04"]) == {}
    assert query(ctx, "select count(*) from quarantine where file_name like '%tax_tz02%' "
                      "or file_name like '%tax_tz04%'") == [(0,)]


def test_TZ05_a_five_digit_date_in_a_csv_is_no_excel_serial(traps20_run):
    """TZ05: 查询日期 `20261` (2026-1… cut short) in a CSV was read as the Excel serial day 1955-06-20: the account's
    answer of 50,000 looked older than its answer of 100 of 2026-11-20 and was dropped, the household CLEAR.  Serial
    days are the workbook's (sources.md: in .xlsx); in a CSV a value that is a year and a digit as well is quarantined
    naming it."""
    world, ctx = traps20_run
    assert _wrong(traps20_run, ["TZ05"]) == {}
    assert query(ctx, "select column_name, rule, reason_zh from quarantine where source = 'bank'") == [
        ("query_date", "bad_date", '"查询日期"值"20261"是5位数字：像是写了一半的年月（如2026年1月…），当作Excel日期序号则是'
                                   '1952—1957年间的某天，在CSV等文本文件中无法确定是哪一天；请部门按年月日（如2026-11-28）填写后重新交付')]


def test_TZ06_a_delivery_folder_named_in_full_width_digits_is_no_delivery_and_is_named(tmp_path):
    """TZ06: the bank's answer in `bank/２０２６１１２８/` (full-width digits: it looks like 20261128): the source was
    missing saying only "没有找到交付目录bank/20261128" beside a folder that looks exactly so; the operator could not see
    why.  It stays missing (a folder that only looks like the date is no delivery of it, the household INCOMPLETE) and
    the reason names the folder and the fix.  A requests folder so named is no delivery date (`\\d{8}` matched it:
    `hedui run` without a delivery of that date named it as one) and the refusal names it."""
    from hedui.errors import InputError
    from hedui.ops.business_date import check_inbox, latest_complete_date
    from hedui.pipeline import RunContext, run

    with fresh_ids(2060):
        w = World()
        (a,) = w.household("TZ06", [("赵六", "本人")])
        w.bank(a, "50000")
        fill(w)
    inbox = tmp_path / "inbox"
    w.write(inbox)
    (inbox / "bank" / RUN).rename(inbox / "bank" / "２０２６１１２８")
    ctx = RunContext.of(inbox, tmp_path / "work", RUN)
    run(ctx)
    assert outcomes(ctx)["TZ06"] == ("INCOMPLETE", "SOURCE_MISSING")
    assert query(ctx, "select status, reasons_zh from source_status where source = 'bank'") == [(
        "missing", "银行 账户未交付：没有找到交付目录bank/20261128（bank下有目录“２０２６１１２８”，名称不是8位半角数字20261128"
                   "（全角数字、分隔符或空格），不作为该日的交付；请部门将目录改名为20261128后重新交付）")]

    (inbox / "requests" / RUN).rename(inbox / "requests" / "２０２６１１２８")
    assert latest_complete_date(inbox) is None
    with pytest.raises(InputError, match="requests下有目录“２０２６１１２８”"):
        check_inbox(inbox, RUN)
