"""sources.md read as an outsider writing hidden test deliveries would read it, round 21: workbook cells read as the
sheet shows them, two exports in two encodings pasted into one file.

A tax workbook whose 所属期 cells are numbers shown through the format `0.00`: October is the number 2026.1 and the
sheet shows `2026.10`; read as the bare number it looked like an Excel-shortened month and was quarantined (the
household INCOMPLETE where the sheet says plainly that it earns 850 a month).  A bank workbook whose 查询日期 cell
holds the number 20261 (a date cut short to five digits, no date format: the sheet shows 20261) was read as the Excel
serial day 1955-06-20: the account's newer answer of 50,000 looked older than its answer of 100 and was dropped, the
household CLEAR.  A securities export in GB18030 with a second export in UTF-8 with a BOM pasted after it: the file
was incomplete saying only that its marker's count differed from the rows read.

Decided where the contract is silent:
- a month cell is read as the sheet shows it: a number in a format of two decimals (`0.00`, `#,##0.00`) is its
  number with two decimals (`2026.10`: October); a number in General or `0.0` stays as it was (Excel's `2026.1` beside
  `2026.11`, `2026.0M` is quarantined, test_contract_traps20).
- a 5-digit number that starts like a year (`19xxx`, `20xxx`) in a workbook's date or month cell with no date format
  (the sheet shows the number, not a date) is no date for certain either: quarantined naming the row and column, as in
  a CSV.  A cell with a date format shows a date and is read as that date.
- a byte-order mark inside a file (not at its start) is another export pasted after the first: the file stays
  incomplete (which part the marker counts cannot be told) and the reason names the line, its byte offset, both
  encodings and what to do.

Policy of the run (hedui/policies/jiangxi_demo.yaml, 2026, 城市): standard 800 yuan per person and month, financial
assets at most 19,200 yuan per person.
"""

from __future__ import annotations

import codecs
import io

import pytest
from contract_world import HEADERS, RUN, WINDOW, World, fresh_ids, new_id, outcomes, query
from test_contract_traps10 import fill


def _workbook(rows: list[list], formats: dict[str, str] | None = None) -> bytes:
    """A workbook of ``rows``; ``formats``: column letter → number format of that column's cells below the header."""
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    for r in rows:
        ws.append(r)
    for letter, fmt in (formats or {}).items():
        for cell in ws[letter][1:]:
            cell.number_format = fmt
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _months_as_numbers() -> list[float]:
    """2025.11, 2025.12, 2026.01 … 2026.09, 2026.1 (October as the number Excel stores for 2026.10)."""
    return [float(f"{m[:4]}.{m[4:]}") if m[4:] != "10" else 2026.1 for m in WINDOW]


def build() -> tuple[World, dict[str, bytes]]:
    w = World()
    extra: dict[str, bytes] = {}
    tax = HEADERS["tax"]
    # --- a month column of numbers shown with two decimals ------------------------------------------------------------
    (a,) = w.household("TB01", [("孙一", "本人")])  # 850 a month; the sheet shows 2025.11 … 2026.10
    extra["tax/tax_tb01.xlsx"] = _workbook(
        [tax, *[[a["id"], a["name"], "工资薪金所得", m, 850, 0, "某公司"] for m in _months_as_numbers()]], {"D": "0.00"})
    w.expect("TB01", "FINDINGS", "INCOME_OVER_STANDARD")
    (b,) = w.household("TB11", [("孙十一", "本人")])  # the same numbers in General: 2026.1 is January or October
    extra["tax/tax_tb11.xlsx"] = _workbook(
        [tax, *[[b["id"], b["name"], "工资薪金所得", m, 850, 0, "某公司"] for m in _months_as_numbers()]])
    w.expect("TB11", "INCOMPLETE", "RECORD_QUARANTINED")
    # --- a date cut short to five digits in a workbook -----------------------------------------------------------------
    (c,) = w.household("TB03", [("孙三", "本人")])  # one account answered twice: 100 on 2026-11-20, 50,000 on 20261
    extra["bank/bank_tb03.xlsx"] = _workbook([
        HEADERS["bank"],
        ["赣州银行", c["name"], c["id"], "6230000000002103", "活期", 100, "2026-11-20"],
        ["赣州银行", c["name"], c["id"], "6230000000002103", "活期", 50000, 20261],
    ])
    w.expect("TB03", "INCOMPLETE", "RECORD_QUARANTINED")
    fill(w)
    for name in list(extra):
        extra[name + ".ok"] = b"12" if name.startswith("tax/") else b"2"
    return w, extra


def _paste_utf8_bom_export(path) -> tuple[int, int]:
    """The CSV at ``path`` rewritten as its first half in GB18030 and, pasted after it, its second half with the
    header again in UTF-8 with a BOM; ``(line, byte offset)`` of the pasted part's first line."""
    lines = path.read_text(encoding="utf-8").splitlines()
    half = len(lines) // 2
    first = ("\n".join(lines[:half]) + "\n").encode("gb18030")
    path.write_bytes(first + codecs.BOM_UTF8 + ("\n".join([lines[0], *lines[half:]]) + "\n").encode("utf-8"))
    return half + 1, len(first)


@pytest.fixture(scope="module")
def traps21_run(tmp_path_factory):
    from hedui.pipeline import RunContext, run

    with fresh_ids(2100):
        world, extra = build()
    inbox = tmp_path_factory.mktemp("traps21") / "inbox"
    world.write(inbox)
    for where, data in extra.items():
        source, name = where.split("/")
        (inbox / source / RUN / name).write_bytes(data)
    ctx = RunContext.of(inbox, tmp_path_factory.mktemp("traps21_work"), RUN)
    run(ctx)
    return world, ctx


def _wrong(traps21_run, rids: list[str]) -> dict:
    world, ctx = traps21_run
    got = outcomes(ctx)
    return {rid: (got.get(rid), world.expected[rid]) for rid in rids if got.get(rid) != world.expected[rid]}


def test_TB01_a_month_cell_shown_as_2026_10_through_a_two_decimal_format_is_october(traps21_run):
    """TB01: 所属期 numbers in the format `0.00` (the sheet shows 2025.11 … 2026.09, 2026.10): October's number 2026.1
    was quarantined as a month Excel may have shortened, the household INCOMPLETE; the sheet shows October, 850 a
    month.  TB11: the same numbers in General (the sheet shows 2026.1 beside 2026.01): still quarantined."""
    world, ctx = traps21_run
    assert _wrong(traps21_run, ["TB01", "TB11"]) == {}
    rows = query(ctx, "select file_name, rule from quarantine where source = 'tax' order by file_name, row_no")
    assert [(f.rsplit("/", 1)[-1], rule) for f, rule in rows] == [("tax_tb11.xlsx", "bad_month")]
    assert query(ctx, "select count(*), count(distinct period_month) from stg_tax where file_name like '%tax_tb01%'") \
        == [(12, 12)]


def test_TB03_a_five_digit_number_in_a_workbooks_date_cell_is_no_excel_serial(traps21_run):
    """TB03: 查询日期 the number 20261 (no date format: the sheet shows 20261) was read as the serial day 1955-06-20;
    the account's answer of 50,000 looked older than its answer of 100 and was dropped, the household CLEAR.  Now the
    row is quarantined naming the value, its row and column."""
    world, ctx = traps21_run
    assert _wrong(traps21_run, ["TB03"]) == {}
    rows = query(ctx, "select row_no, column_name, rule, reason_zh from quarantine "
                      "where source = 'bank' and file_name like '%bank_tb03%'")
    assert rows == [(3, "query_date", "bad_date",
                     '"查询日期"值"20261"（工作簿第3行“查询日期”列的单元格，没有日期格式）是5位数字：像是写了一半的年月'
                     '（如2026年1月…），当作Excel日期序号则是1952—1957年间的某天，无法确定是哪一天；'
                     '请部门将该单元格设为日期格式或按年月日（如2026-11-28）填写后重新交付')]


def build_pasted(part: str) -> tuple[World, dict[str, bytes]]:
    """A world whose securities (``part`` TB02) or insurance (TB06) file is two exports pasted into one."""
    w = World()
    extra: dict[str, bytes] = {}
    if part == "TB02":
        (d,) = w.household("TB02", [("孙二", "本人")])
        w.add("securities", 姓名=d["name"], 证件号码=d["id"], 证券账户="A0002102", 持仓市值="50000", 资金余额="0",
              查询日期="20261126")
        for n in range(6):  # the first export's other accounts
            w.add("securities", 姓名=f"股民{n}", 证件号码=new_id(), 证券账户=f"A00021{n:02d}", 持仓市值="100",
                  资金余额="0", 查询日期="20261126")
        w.expect("TB02", "INCOMPLETE", "SOURCE_MISSING")
    else:  # records above the header: a GB18030 export with a longer UTF-8 one pasted after it
        (e,) = w.household("TB06", [("孙六", "本人")])  # a policy of 50,000 in the first export: read as a title row
        first = [[e["name"], e["id"], "PB0601", "万能", "有效", "50000", "20261126"],
                 ["路人甲", new_id(), "PB0602", "寿险", "有效", "10", "20261126"]]
        second = [[f"路人{n}", new_id(), f"PB06{n:02d}", "寿险", "有效", "10", "20261126"] for n in range(10, 14)]
        extra["insurance/insurance_tb06.csv"] = (
            "\n".join(",".join(r) for r in [HEADERS["insurance"], *first]) + "\n").encode("gb18030") + codecs.BOM_UTF8 + (
            "\n".join(",".join(r) for r in [HEADERS["insurance"], *second]) + "\n").encode("utf-8")
        extra["insurance/insurance_tb06.csv.ok"] = b"4"  # the second export's rows
        w.expect("TB06", "INCOMPLETE", "SOURCE_MISSING")
    fill(w)
    return w, extra


def _run_pasted(tmp_path_factory, part: str):
    from hedui.pipeline import RunContext, run

    with fresh_ids(2120):
        world, extra = build_pasted(part)
    inbox = tmp_path_factory.mktemp("traps21_pasted") / "inbox"
    world.write(inbox)
    for where, data in extra.items():
        source, name = where.split("/")
        (inbox / source / RUN / name).write_bytes(data)
    pasted = _paste_utf8_bom_export(inbox / "securities" / RUN / f"securities_{RUN}.csv") if part == "TB02" else None
    ctx = RunContext.of(inbox, tmp_path_factory.mktemp("traps21_pasted_work"), RUN)
    run(ctx)
    return world, ctx, pasted


@pytest.fixture(scope="module")
def securities_pasted_run(tmp_path_factory):
    return _run_pasted(tmp_path_factory, "TB02")


@pytest.fixture(scope="module")
def insurance_pasted_run(tmp_path_factory):
    return _run_pasted(tmp_path_factory, "TB06")


def test_TB02_a_utf8_export_with_a_bom_pasted_after_a_gb18030_one_is_named(securities_pasted_run):
    """TB02: a securities CSV in GB18030 with a second export (its header again, UTF-8 with a BOM) pasted after it: the
    file was incomplete saying only "完成标记写明N行，实际读到M行".  It stays incomplete (which part the marker counts
    cannot be told, one part reads as mojibake), and the reason says what, where (line and byte) and what to do."""
    world, ctx, (line, offset) = securities_pasted_run
    assert outcomes(ctx)["TB02"] == world.expected["TB02"]
    reasons = query(ctx, "select distinct reason_zh from quarantine where source = 'securities'")
    assert len(reasons) == 1, reasons
    assert (f"第{line}行（第{offset + 1}字节起）以UTF-8字节顺序标记（BOM）开头，是另一份UTF-8编码的导出文件，粘贴在"
            f"前面GB18030编码的内容之后；") in reasons[0][0], reasons
    assert "请部门分别导出为两个文件（各带完成标记），或统一编码后重新交付" in reasons[0][0]


def test_TB06_records_above_the_header_are_no_title_rows(insurance_pasted_run):
    """TB06: an insurance CSV of two exports pasted together, a GB18030 one (header and 2 policies, one of 50,000
    yuan) and a longer one in UTF-8 with a BOM, the marker counting the second's 4 rows: the file read as UTF-8, the
    second header was taken for the header and the first export's policies above it were dropped as title rows, the
    file delivered, the household CLEAR.  Now the file is incomplete naming the rows (the household INCOMPLETE)."""
    world, ctx, _ = insurance_pasted_run
    assert outcomes(ctx)["TB06"] == world.expected["TB06"]
    reasons = query(ctx, "select distinct reason_zh from quarantine where file_name like '%insurance_tb06%'")
    assert len(reasons) == 1, reasons
    assert ("insurance_tb06.csv第2、3行（共2行）在表头（第4行）之上，是含身份证号码的数据行，未被读取，文件未采用："
            "第4行（第") in reasons[0][0], reasons


def test_TB07_a_workbooks_first_table_under_a_header_naming_fewer_columns_is_no_title(tmp_path):
    """TB07: a bank workbook of two tables, the first under a header without 账户类型 and the second under the full
    header (the marker counting the second's row): the first table's accounts were skipped as title rows, the file
    delivered.  Now incomplete naming the sheet rows.  Title rows naming a query number or the person queried (户名 李四
    证件号码 3601…, 查询对象 李四 3601…) stay titles."""
    from test_contract_deliveries import ID_A, ID_B, _deliver

    bank = HEADERS["bank"]
    short = [h for h in bank if h != "账户类型"]
    data = _workbook([["存款查询结果", None, None, f"查询编号{ID_B}"], short,
                      ["赣州银行", "张三", ID_A, "6230000000000701", "50000", "2026-11-20"],
                      bank, ["赣州银行", "李四", ID_B, "6230000000000702", "活期", "100", "2026-11-20"]])
    manifest, staged, quarantined = _deliver(tmp_path / "a", "bank", {"b.xlsx": data, "b.xlsx.ok": b"1"})
    assert manifest.status != "delivered" and not staged, manifest
    assert manifest.files[0].problems[0].startswith("b.xlsx第3行（共1行）在表头（第4行）之上，是含身份证号码的数据行，不是标题")
    data = _workbook([["存款查询结果", None, None, f"查询编号{ID_B}"], ["户名", "李四", "证件号码", ID_B],
                      ["查询对象", "李四", ID_B], bank,
                      ["赣州银行", "李四", ID_B, "6230000000000702", "活期", "100", "2026-11-20"]])
    manifest, staged, quarantined = _deliver(tmp_path / "b", "bank", {"b.xlsx": data, "b.xlsx.ok": b"1"})
    assert manifest.status == "delivered" and len(staged) == 1, manifest


def _two_exports(first_encoding: str, split: int) -> tuple[bytes, int]:
    """A securities CSV of 8 accounts: ``split`` of them exported in ``first_encoding``, the others in UTF-8 with a BOM
    pasted after them (the header again); and the byte offset where the second export starts."""
    header = ",".join(HEADERS["securities"])
    rows = [f"股民{n},36010219800101{n:03d}1,A00021{n:02d},100,0,20261126" for n in range(8)]
    first = (header + "\n" + "\n".join(rows[:split]) + "\n").encode(first_encoding)
    return first + codecs.BOM_UTF8 + (header + "\n" + "\n".join(rows[split:]) + "\n").encode("utf-8"), len(first)


def test_TB08_a_pasted_export_is_named_by_line_and_byte_whichever_part_is_longer(tmp_path):
    """TB08: 6 accounts in GB18030, then 2 in UTF-8 with a BOM: read as GB18030, the second header counted as a row
    (9 read, 8 in the marker) and the file failed saying only the two counts; now the reason names line 8 and the byte
    where the second export starts.  Two UTF-8 exports (the second with a BOM) pasted together are read: the second
    header is a header, as before."""
    from test_contract_deliveries import _deliver

    data, offset = _two_exports("gb18030", 6)
    manifest, staged, quarantined = _deliver(tmp_path / "a", "securities", {"s.csv": data, "s.csv.ok": b"8"})
    assert manifest.status != "delivered" and not staged
    assert manifest.files[0].problems == [
        f"s.csv的完成标记写明8行，实际读到9行：第8行（第{offset + 1}字节起）以UTF-8字节顺序标记（BOM）开头，是另一份UTF-8"
        "编码的导出文件，粘贴在前面GB18030编码的内容之后，无法确定完成标记所计的是哪些行；请部门分别导出为两个文件"
        "（各带完成标记），或统一编码后重新交付"]
    data, _ = _two_exports("utf-8", 3)
    manifest, staged, quarantined = _deliver(tmp_path / "b", "securities", {"s.csv": data, "s.csv.ok": b"8"})
    assert manifest.status == "delivered" and len(staged) == 8 and not quarantined, manifest


@pytest.mark.parametrize(("second_header", "named"), [
    (["机构名称", "证件号码", "户名", "账号", "账户类型", "查询日期", "余额"], ("第2列是“证件号码”", "表头中是“户名”")),
    (["机构名称", "户名", "证件号码", "账号", "账户类型", "余额（万元）", "查询日期"], ("第6列是“余额（万元）”", "表头中是“余额”")),
])
def test_TB09_a_second_header_in_another_order_or_unit_fails_the_file_whatever_the_marker_counts(
        tmp_path, second_header, named):
    """TB09: two bank exports pasted into one CSV, the second under its own header in another column order (证件号码
    before 户名, 余额 last) or unit (余额（万元）), the marker counting every line under the first header (4): the file was
    delivered, 李四's ID column read as his name (no ID: his 60,000 linked to no one), 20261120 read as a balance and
    60000 as a date; 6 万元 read as 6 yuan.  Now the file is incomplete naming the line and the column."""
    from test_contract_deliveries import ID_A, ID_B, ID_C, _deliver

    by_name = {"张三": ID_A, "李四": ID_B, "王五": ID_C}

    def row(name: str, balance: str, header: list[str]) -> str:
        values = {"机构名称": "赣州银行", "户名": name, "证件号码": by_name[name], "账号": f"62300000000009{len(name)}{name[-1]}",
                  "账户类型": "活期", "查询日期": "20261120"}
        return ",".join(values.get(h, balance) for h in header)

    bank = HEADERS["bank"]
    text = "\n".join([",".join(bank), row("张三", "5000", bank), ",".join(second_header),
                      row("李四", "60000", second_header), row("王五", "6", second_header)]) + "\n"
    manifest, staged, quarantined = _deliver(tmp_path, "bank", {"b.csv": text.encode("gb18030"), "b.csv.ok": b"4"})
    assert manifest.status != "delivered" and not staged, manifest
    problem = manifest.files[0].problems[0]
    assert problem.startswith("b.csv第3行是又一行表头，列的顺序或单位与第1行的表头不同（"), problem
    assert all(part in problem for part in named), problem


@pytest.mark.parametrize(("code", "decimals"), [
    ("0.00", 2), ("#,##0.00", 2), ("0.00_ ", 2), ('0.00"期"', 2), ("#,##0.00_);[Red](#,##0.00)", 2), ("0.0", 1),
    ("0", 0), ("General", None), ("0.00%", None), ("0.00E+00", None), ("yyyy.mm", None), ("@", None),
])
def test_TB04_the_decimals_a_number_format_shows(code, decimals):
    """TB04: the decimals a month cell's number format shows, custom codes read past their literals and colours."""
    from connectors.xlsx_cells import format_decimals

    assert format_decimals(code) == decimals


def test_TB05_a_custom_two_decimal_format_shows_october_and_one_decimal_stays_uncertain(tmp_path):
    """TB05: 所属期 2026.1 in a custom format `#,##0.00_ ` (WPS's "数值" format) is October as the sheet shows it; the
    same numbers in `0.0` (the sheet shows 2026.1 beside 2026.11) keep 2026.1 uncertain: quarantined."""
    from test_contract_deliveries import _deliver

    rows = [["360102198001010013", "张三", "工资薪金所得", m, 850, 0, "某公司"] for m in (2025.11, 2025.12, 2026.1)]
    data = _workbook([HEADERS["tax"], *rows], {"D": "#,##0.00_ "})
    manifest, staged, quarantined = _deliver(tmp_path / "a", "tax", {"t.xlsx": data, "t.xlsx.ok": b"3"})
    assert manifest.status == "delivered" and not quarantined, (manifest, quarantined)
    assert sorted(str(r["period_month"]) for r in staged) == ["2025-11-01", "2025-12-01", "2026-10-01"]
    data = _workbook([HEADERS["tax"], *rows], {"D": "0.0"})
    manifest, staged, quarantined = _deliver(tmp_path / "b", "tax", {"t.xlsx": data, "t.xlsx.ok": b"3"})
    assert [q["rule"] for q in quarantined] == ["bad_month"] and len(staged) == 2


def test_TB10_a_year_like_number_in_a_1904_workbook_is_quarantined_not_dated_1959(tmp_path):
    """TB10: in a workbook on the 1904 date system, 查询日期 the plain number 20261 was turned into 1959-06-21 (a serial
    counted from 1904) and staged; it is no serial for certain there either: quarantined as TB03's is.  A plain serial
    of this decade's date counted from 1904 (2026-11-20) is still taken."""
    import datetime as dt

    import xlsxwriter
    from test_contract_deliveries import ID_A, ID_B, _deliver

    path = tmp_path / "b.xlsx"
    wb = xlsxwriter.Workbook(str(path), {"date_1904": True})
    ws = wb.add_worksheet()
    serial = (dt.date(2026, 11, 20) - dt.date(1904, 1, 1)).days
    for r, row in enumerate([HEADERS["bank"], ["赣州银行", "张三", ID_A, "6230000000001001", "活期", 100, serial],
                             ["赣州银行", "李四", ID_B, "6230000000001002", "活期", 50000, 20261]]):
        for c, v in enumerate(row):
            ws.write(r, c, v)
    wb.close()
    manifest, staged, quarantined = _deliver(tmp_path / "d", "bank", {"b.xlsx": path.read_bytes(), "b.xlsx.ok": b"2"})
    assert [(r["row_no"], r["query_date"]) for r in staged] == [(2, dt.date(2026, 11, 20))]
    assert [(q["row_no"], q["rule"]) for q in quarantined] == [(3, "bad_date")]
