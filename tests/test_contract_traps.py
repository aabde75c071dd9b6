"""The next traps, written from sources.md and policy.md as an outside tester would (not by our generator),
run through the real connector and staging, and where the outcome matters through one whole `hedui run`.

Every delivered row must end staged or quarantined with a Chinese reason naming file and row, values must be
read as the department meant them (or quarantined when that cannot be known), and nothing may crash.
"""

from __future__ import annotations

import datetime as dt
import io

from test_contract_deliveries import BANK, ID_A, ID_B, ID_C, _bank_row, _deliver, _text

# -- amounts ----------------------------------------------------------------------------------------


def test_a_comma_that_is_no_thousands_separator_is_no_amount(tmp_path):
    """`12,34` and the decimal comma `1.000,50` were staged as 1,234 and 1.0005 yuan: a balance misread by a
    factor of 100 or 1,000 can decide an outcome.  Only groups of three digits are thousands."""
    values = ["12,34", "1.000,50", "1,2345元", "¥1,234,567.80", "1,000元", "1,000万"]
    rows = [_bank_row(f"人{i}", ID_A, f'"{v}"', account=f"A{i}") for i, v in enumerate(values)]
    manifest, staged, quarantined = _deliver(tmp_path, "bank", {"b.csv": _text(BANK, rows).encode("gb18030"),
                                                                 "b.csv.ok": b"6"})
    assert manifest.status == "delivered", manifest.message_zh
    assert [(r["row_no"], r["balance_yuan"]) for r in staged] == [(5, 1234567.8), (6, 1000.0), (7, 10000000.0)]
    assert [(q["row_no"], q["rule"]) for q in quarantined] == [(2, "bad_amount"), (3, "bad_amount"), (4, "bad_amount")]
    assert all("无法识别为金额" in q["reason_zh"] and q["file_name"].endswith("b.csv") for q in quarantined)


# -- text files -------------------------------------------------------------------------------------


def test_a_utf8_bom_before_gb18030_text_is_read_as_gb18030(tmp_path):
    """A tool that prepends a BOM to GB18030 text: the BOM was believed, every header came out as mojibake,
    and the whole source counted as not delivered with a report full of replacement characters."""
    data = b"\xef\xbb\xbf" + _text(BANK, [_bank_row("张三", ID_A, "100"), _bank_row("王𠀋", ID_B, "200")]).encode(
        "gb18030")
    manifest, staged, quarantined = _deliver(tmp_path, "bank", {"b.csv": data, "b.csv.ok": b"2"})
    assert manifest.status == "delivered", manifest.message_zh
    assert manifest.files[0].encoding == "gb18030"
    assert [(r["institution"], r["name"], r["balance_yuan"]) for r in staged] == [
        ("工商银行", "张三", 100.0), ("工商银行", "王𠀋", 200.0)]
    assert not quarantined


def test_a_utf8_bom_file_with_one_gbk_line_stays_utf8(tmp_path):
    good = b"\xef\xbb\xbf" + _text(BANK, [_bank_row("张三", ID_A, "1"), _bank_row("李四", ID_B, "2")]).encode()
    bad = (",".join(_bank_row("王五", ID_C, "3")) + "\n").encode("gbk")
    manifest, staged, quarantined = _deliver(tmp_path, "bank", {"b.csv": good + bad, "b.csv.ok": b"3"})
    assert manifest.status == "delivered" and manifest.files[0].encoding == "utf-8-sig"
    assert [r["name"] for r in staged] == ["张三", "李四"]
    assert [(q["row_no"], q["rule"]) for q in quarantined] == [(4, "read_error")]


# -- workbooks --------------------------------------------------------------------------------------


def _workbook(fill) -> bytes:
    import xlsxwriter

    buf = io.BytesIO()
    workbook = xlsxwriter.Workbook(buf, {"in_memory": True})
    fill(workbook, workbook.add_worksheet("数据"))
    workbook.close()
    return buf.getvalue()


def test_a_header_far_down_the_first_sheet_is_found(tmp_path):
    """sources.md: the header is on the first non-empty row.  Forty empty rows above it made the file
    "空文件（没有表头）" and the source not delivered."""
    def fill(_, ws):
        ws.write_row(40, 0, BANK)
        ws.write_row(41, 0, _bank_row("张三", ID_A, "100"))
        ws.write_row(42, 0, _bank_row("李四", ID_B, "200"))
    manifest, staged, _ = _deliver(tmp_path, "bank", {"b.xlsx": _workbook(fill), "b.xlsx.ok": b"2"})
    assert manifest.status == "delivered", manifest.message_zh
    assert [(r["row_no"], r["name"], r["balance_yuan"]) for r in staged] == [(42, "张三", 100.0), (43, "李四", 200.0)]


def test_numbers_shown_in_wan_yuan_are_read_as_the_sheet_shows_them(tmp_path):
    """A balance of 1.5 in the format 0.00"万元" reads 1.50万元 on the sheet (15,000 yuan): it was staged
    as 1.5 yuan.  The format 0!.0000"万" shows 15000 as 1.5000万: that number is yuan already.  A format
    scaling by thousands as well (0.0,"万") cannot be read for sure: the row is quarantined."""
    def fill(wb, ws):
        wan = wb.add_format({"num_format": '0.00"万元"'})
        shifted = wb.add_format({"num_format": '0!.0000"万"'})
        scaled = wb.add_format({"num_format": '0.0,"万"'})
        ws.write_row(0, 0, BANK)
        for r, (name, idn, value, fmt) in enumerate([("张三", ID_A, 1.5, wan), ("李四", ID_B, 15000, shifted),
                                                     ("王五", ID_C, 2000, scaled)], start=1):
            ws.write_row(r, 0, _bank_row(name, idn, "")[:5])
            ws.write_number(r, 5, value, fmt)
            ws.write_datetime(r, 6, dt.datetime(2026, 11, 20), wb.add_format({"num_format": "yyyy-mm-dd"}))
    manifest, staged, quarantined = _deliver(tmp_path, "bank", {"b.xlsx": _workbook(fill), "b.xlsx.ok": b"3"})
    assert manifest.status == "delivered", manifest.message_zh
    assert [(r["name"], r["balance_yuan"]) for r in staged] == [("张三", 15000.0), ("李四", 15000.0)]
    [q] = quarantined
    assert (q["row_no"], q["rule"]) == (4, "read_error")
    assert "第4行第6列（余额）以数字格式" in q["reason_zh"] and "单位无法确定" in q["reason_zh"]


def test_an_excel_error_value_is_no_empty_cell(tmp_path):
    """A formula's cached #DIV/0! came through as an empty balance (unknown, as if the bank left it out); a row
    holding nothing but #N/A was dropped as a blank line.  Both are quarantined naming the error."""
    def fill(_, ws):
        ws.write_row(0, 0, BANK)
        ws.write_row(1, 0, _bank_row("张三", ID_A, "100"))
        ws.write_row(2, 0, _bank_row("李四", ID_B, "")[:5])
        ws.write_formula(2, 5, "=1/0", None, "#DIV/0!")
        ws.write_string(2, 6, "2026-11-20")
        ws.write_formula(3, 0, "=NA()", None, "#N/A")
    manifest, staged, quarantined = _deliver(tmp_path, "bank", {"b.xlsx": _workbook(fill), "b.xlsx.ok": b"3"})
    assert manifest.status == "delivered", manifest.message_zh
    assert [r["name"] for r in staged] == ["张三"]
    assert [(q["row_no"], q["rule"]) for q in quarantined] == [(3, "read_error"), (4, "read_error")]
    assert "第3行第6列（余额）是Excel错误值“#DIV/0!”" in quarantined[0]["reason_zh"]
    assert "第4行第1列（机构名称）是Excel错误值“#N/A”" in quarantined[1]["reason_zh"]
