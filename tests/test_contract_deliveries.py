"""Deliveries written by hand from sources.md (not by our generator), through the real connector and staging.

Each case is a trap another department's export can hold that our generator never writes: every
delivered row must end staged or quarantined with a Chinese reason, values normalized as the
contract says, and nothing may crash.
"""

from __future__ import annotations

import io
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from connectors import load_map, read_delivery
from hedui.steps.ingest import stage_source

DATE = "20261128"
BANK = ["机构名称", "户名", "证件号码", "账号", "账户类型", "余额", "查询日期"]
REQUESTS = ["委托编号", "业务类型", "姓名", "身份证号", "与申请人关系", "区划代码", "城乡类别", "授权书编号", "授权日期",
            "委托日期"]
ID_A = "360102198001010013"
ID_B = "36010219751203002X"
ID_C = "360121199005051238"


def _bank_row(name: str, id_number: str, balance: str, account: str = "6222000011112222") -> list[str]:
    return ["工商银行", name, id_number, account, "活期", balance, "2026-11-20"]


def _text(header: list[str], rows: list[list[str]], sep: str = ",", end: str = "\n") -> str:
    return end.join(sep.join(r) for r in [header, *rows]) + end


def _parquet(table: pa.Table) -> bytes:
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()


def _deliver(tmp_path: Path, source: str, files: dict[str, bytes]):
    """Write ``files`` (data and markers) into a delivery folder; read and stage it."""
    inbox = tmp_path / "inbox"
    folder = inbox / source / DATE
    folder.mkdir(parents=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    smap = load_map(source)
    raw = tmp_path / "raw.parquet"
    manifest = read_delivery(smap, folder, inbox, raw, DATE)
    staged, quarantine = tmp_path / "staged.parquet", tmp_path / "quarantine.parquet"
    counts = stage_source(raw, smap, DATE, staged, quarantine, manifest=manifest, threads=1)
    assert counts.raw_rows == counts.staged_rows + counts.quarantined_rows
    return manifest, pq.read_table(staged).to_pylist(), pq.read_table(quarantine).to_pylist()


# -- Parquet ---------------------------------------------------------------------------------------

def test_a_parquet_file_repeating_a_column_name_is_read_not_a_crash(tmp_path):
    """pyarrow writes repeated names; polars refused them and the whole run stopped."""
    table = pa.Table.from_arrays([pa.array(["工商银行"]), pa.array(["张三"]), pa.array([ID_A]), pa.array(["1"]),
                                  pa.array(["活期"]), pa.array(["5"]), pa.array(["20261120"]), pa.array(["备注"])],
                                 names=[*BANK, "户名"])
    manifest, staged, quarantined = _deliver(tmp_path, "bank", {"b.parquet": _parquet(table), "b.parquet.ok": b"1"})
    assert manifest.status == "delivered", manifest.message_zh
    assert any("户名" in p for p in manifest.files[0].problems)  # the second 户名 is named
    # which 户名 is the holder's (张三 or 备注) is not known: the row is quarantined (test_contract_traps9.py)
    assert not staged and [q["rule"] for q in quarantined] == ["read_error"]
    assert "“户名”有两列（第2列、第8列）且值不同" in quarantined[0]["reason_zh"]


def test_parquet_byte_string_columns_are_decoded_and_an_undecodable_value_is_quarantined(tmp_path):
    """Text stored as bytes (no UTF-8 annotation), here in GB18030: names were staged as "b'\\xd5\\xc5…'"."""
    gbk = "gb18030"
    table = pa.table({
        "机构名称": pa.array(["工商银行".encode(gbk), "农业银行".encode(gbk), b"\xff\xfe"], pa.binary()),
        "户名": pa.array(["张三".encode(gbk), "艾力·䶮".encode(gbk), "王五".encode(gbk)], pa.binary()),
        "证件号码": pa.array([ID_A.encode(), ID_B.encode(), ID_C.encode()], pa.binary()),
        "账号": ["1", "2", "3"], "账户类型": ["活期", "定期", "活期"], "余额": ["1", "2", "3"],
        "查询日期": ["20261120"] * 3,
    })
    manifest, staged, quarantined = _deliver(tmp_path, "bank", {"b.parquet": _parquet(table), "b.parquet.ok": b"3"})
    assert manifest.status == "delivered", manifest.message_zh
    assert [(r["institution"], r["name"], r["name_norm"], r["id_status"]) for r in staged] == [
        ("工商银行", "张三", "张三", "valid"), ("农业银行", "艾力·䶮", "艾力·䶮", "valid")]
    [q] = quarantined
    assert (q["row_no"], q["rule"]) == (3, "read_error")
    assert "第3行第1列（机构名称）含无法按GB18030解码的字节" in q["reason_zh"]


# -- text files ------------------------------------------------------------------------------------

def test_a_small_utf8_file_with_one_gbk_line_stays_utf8_and_quarantines_that_line(tmp_path):
    """Two UTF-8 data lines and one GBK line: the file was read as GB18030, its header did not match
    and the whole source counted as not delivered (the UTF-8 lines would have been mojibake)."""
    good = _text(BANK, [_bank_row("张三", ID_A, "100"), _bank_row("李四", ID_B, "200")]).encode("utf-8")
    bad = (",".join(_bank_row("王五", ID_C, "300")) + "\n").encode("gbk")
    manifest, staged, quarantined = _deliver(tmp_path, "bank", {"b.csv": good + bad, "b.csv.ok": b"3"})
    assert manifest.status == "delivered", manifest.message_zh
    assert manifest.files[0].encoding == "utf-8"
    assert [r["name"] for r in staged] == ["张三", "李四"]
    [q] = quarantined
    assert q["row_no"] == 4 and q["rule"] == "read_error" and "无法按UTF-8解码" in q["reason_zh"]


def test_a_header_line_ending_with_a_separator_the_rows_do_not_have(tmp_path):
    """Every row was quarantined as "第2行有7个字段，表头有8个字段"."""
    rows = [_bank_row("张三", ID_A, "100"), _bank_row("李四", ID_B, "200")]
    data = ("\r\n".join([",".join(BANK) + ","] + [",".join(r) for r in rows]) + "\r\n").encode("gb18030")
    manifest, staged, quarantined = _deliver(tmp_path, "bank", {"b.csv": data, "b.csv.ok": b"2"})
    assert manifest.status == "delivered" and not quarantined
    assert [(r["name"], r["balance_yuan"]) for r in staged] == [("张三", 100.0), ("李四", 200.0)]


def test_a_summary_row_spaced_for_alignment_is_not_a_data_row(tmp_path):
    files = {}
    for i, first_cell in enumerate(["合　计", "合 计", " 合计"]):
        rows = [_bank_row("张三", ID_A, "100", f"A{i}"), _bank_row("李四", ID_B, "200", f"B{i}")]
        files[f"b{i}.csv"] = _text(BANK, [*rows, [first_cell, "", "", "", "", "300", ""]]).encode("gb18030")
        files[f"b{i}.csv.ok"] = b"2"
    manifest, staged, _ = _deliver(tmp_path, "bank", files)
    assert manifest.status == "delivered", manifest.message_zh
    assert [f.summary_rows for f in manifest.files] == [1, 1, 1] and len(staged) == 6


# -- markers ---------------------------------------------------------------------------------------

def test_marker_text_as_windows_tools_write_it(tmp_path):
    markers = {
        "a.csv.ok": "２".encode(),                       # full-width digit
        "b.csv.ok": "2\r\n".encode("utf-16"),            # Notepad's “Unicode” (UTF-16 with BOM)
        "c.csv.ok": b"\xef\xbb\xbf 2 \r\n",              # UTF-8 BOM, blanks, CRLF
        "d.csv.OK": b"2",                                # suffix in capitals (was taken for a data file)
    }
    rows_e = [_bank_row("王五", ID_C, str(i), f"E{i}") for i in range(1002)]
    markers_e = {"e.csv": _text(BANK, rows_e).encode("gb18030"), "e.csv.ok": b"1,002"}  # thousands separator
    files = {name.split(".")[0] + ".csv": _text(BANK, [_bank_row("张三", ID_A, "100", name + "1"),
                                                     _bank_row("李四", ID_B, "200", name + "2")]).encode("gb18030")
             for name in markers} | markers | markers_e
    manifest, staged, _ = _deliver(tmp_path, "bank", files)
    assert manifest.status == "delivered", manifest.message_zh
    assert [f.file_name.rsplit("/", 1)[1] for f in manifest.files] == ["a.csv", "b.csv", "c.csv", "d.csv", "e.csv"]
    assert [f.marker_count for f in manifest.files] == [2] * 4 + [1002] and len(staged) == 8 + 1002


@pytest.mark.parametrize("marker", [b"3", "2/3行".encode("gbk"), b""])
def test_a_marker_that_is_not_this_files_row_count_still_makes_the_source_not_delivered(tmp_path, marker):
    data = _text(BANK, [_bank_row("张三", ID_A, "100"), _bank_row("李四", ID_B, "200")]).encode("gb18030")
    manifest, staged, quarantined = _deliver(tmp_path, "bank", {"b.csv": data, "b.csv.ok": marker})
    assert manifest.status == "incomplete" and not staged
    assert {q["rule"] for q in quarantined} == {"incomplete_file"}
    assert all("b.csv" in q["reason_zh"] and "完成标记" in q["reason_zh"] for q in quarantined)


# -- header units ----------------------------------------------------------------------------------

def test_the_unit_a_header_names_scales_its_amounts(tmp_path):
    """千元 was read as yuan (1000 × too small); 余额/万元 and 余额万 were not recognised at all.
    Each file has its own header: one delivery, six units."""
    cases = [("余额（千元）", 1500.0), ("余额(亿元)", 150_000_000.0), ("余额/万元", 15_000.0), ("余额万", 15_000.0),
             ("余额（单位：元）", 1.5), ("余额(RMB)", 1.5)]
    files = {}
    for i, (header, _) in enumerate(cases):
        files[f"b{i}.csv"] = _text([h if h != "余额" else header for h in BANK],
                                   [_bank_row("张三", ID_A, "1.5", f"A{i}"),
                                    _bank_row("李四", ID_B, "2元", f"B{i}")]).encode("gb18030")
        files[f"b{i}.csv.ok"] = b"2"
    manifest, staged, _ = _deliver(tmp_path, "bank", files)
    assert manifest.status == "delivered", manifest.message_zh
    by_file = {}
    for r in staged:
        by_file.setdefault(r["file_name"], []).append(r["balance_yuan"])
    # the cell's own unit (2元) wins over the header's
    assert [by_file[f"bank/{DATE}/b{i}.csv"] for i in range(len(cases))] == [[yuan, 2.0] for _, yuan in cases]


def test_an_amount_column_in_a_foreign_currency_is_not_taken_as_yuan(tmp_path):
    """Its values cannot be converted: the column is not used (values unknown, never yuan or zero)."""
    headers = ["余额（美元）", "余额(万美元)", "余额（港币）"]
    files = {}
    for i, header in enumerate(headers):
        files[f"b{i}.csv"] = _text([h if h != "余额" else header for h in BANK],
                                   [_bank_row("张三", ID_A, "1.5", f"A{i}")]).encode("gb18030")
        files[f"b{i}.csv.ok"] = b"1"
    manifest, staged, _ = _deliver(tmp_path, "bank", files)
    assert manifest.status == "delivered", manifest.message_zh
    assert [r["balance_yuan"] for r in staged] == [None] * 3
    for i, (header, f) in enumerate(zip(headers, manifest.files, strict=True)):
        problems = "；".join(f.problems)
        assert f"b{i}.csv的列{header}以外币计" in problems and "缺少列：余额" not in problems


# -- text values -----------------------------------------------------------------------------------

def test_an_authorization_cell_of_whitespace_only_is_none_on_file(tmp_path):
    """The link step takes nullif(trim(授权书编号), '') as "authorized"; DuckDB's trim keeps a tab: a
    member whose cell held a lone tab was looked up without authorization."""
    blanks = ["\t", "\u3000", "\u00a0", " \t ", "\r"]
    rows = [["WT1", "最低生活保障", "张三", ID_A, "本人", "360102", "城市", "SQ2026000001", "2026-11-01", "2026-11-20"]]
    rows += [["WT1", "最低生活保障", f"李{i}", ID_B, "配偶", "360102", "城市", blank, "", "2026-11-20"]
             for i, blank in enumerate(blanks)]
    data = ('"' + '","'.join(REQUESTS) + '"\n' + "".join('"' + '","'.join(r) + '"\n' for r in rows)).encode("gb18030")
    manifest, staged, _ = _deliver(tmp_path, "requests", {"requests_1.csv": data, "requests_1.csv.ok": b"6"})
    assert manifest.status == "delivered", manifest.message_zh
    assert [r["authorization_no"] for r in staged] == ["SQ2026000001"] + [None] * len(blanks)


def test_an_authorization_cell_saying_there_is_none_is_none_on_file(tmp_path):
    """无, /, — or NULL in 授权书编号 is no authorization (policy.md: 无委托不核对): the member was looked
    up as authorized. A real number that merely contains such a character stays."""
    nones = ["无", " / ", "—", "null", "N/A", "暂无", "0", "--"]
    rows = [["WT1", "最低生活保障", "张三", ID_A, "本人", "360102", "城市", "SQ-2026/01", "2026-11-01", "2026-11-20"]]
    rows += [["WT1", "最低生活保障", f"李{i}", ID_B, "配偶", "360102", "城市", none, "", "2026-11-20"]
             for i, none in enumerate(nones)]
    data = ('"' + '","'.join(REQUESTS) + '"\n' + "".join('"' + '","'.join(r) + '"\n' for r in rows)).encode("gb18030")
    manifest, staged, _ = _deliver(tmp_path, "requests",
                                   {"requests_1.csv": data, "requests_1.csv.ok": str(len(rows)).encode()})
    assert manifest.status == "delivered", manifest.message_zh
    assert [r["authorization_no"] for r in staged] == ["SQ-2026/01"] + [None] * len(nones)


def test_registered_capital_written_the_registrys_way_with_wan_yuan_renminbi(tmp_path):
    """“100万元人民币” (the registry's own text form) was quarantined as not a number; “100万美元” still is."""
    import duckdb

    from hedui.steps.ingest import load_macros
    from matching.normalize import UnparseableAmount, parse_amount

    header = ["统一社会信用代码", "主体名称", "主体类型", "登记状态", "注册资本", "人员姓名", "人员证件号", "人员角色",
              "认缴出资额", "成立日期"]
    cells = ["100万元人民币", "1000元人民币", "50", "100万美元"]
    rows = [[f"91360100MA{i:08d}", f"某公司{i}", "有限责任公司", "存续", cell, "张三", ID_A, "股东", cell, "2015/3/2"]
            for i, cell in enumerate(cells)]
    data = _text(header, rows).encode("gb18030")
    _, staged, quarantined = _deliver(tmp_path, "business_registry", {"br.csv": data, "br.csv.ok": b"4"})
    assert [(r["registered_capital_yuan"], r["subscribed_yuan"]) for r in staged] == [
        (1_000_000.0, 1_000_000.0), (1000.0, 1000.0), (500_000.0, 500_000.0)]
    assert [(q["row_no"], q["rule"]) for q in quarantined] == [(5, "bad_amount")]
    con = duckdb.connect()
    load_macros(con, "select hd_amount(x, 1)")
    for cell in cells[:3]:  # the SQL twin agrees with Python
        assert con.execute("select hd_amount(?, 10000)", [cell]).fetchone()[0] == parse_amount(cell, 10000)
    with pytest.raises(UnparseableAmount):
        parse_amount("100万美元", 10000)


def test_old_mac_line_ends_and_data_on_a_second_sheet_are_said_plainly(tmp_path):
    """Both are not delivered (as the contract reads); the reason says what the department must change
    (a CR-only file was reported as “标记写明2行，实际读到0行”, a second sheet as missing columns only)."""
    import xlsxwriter

    folder = tmp_path / "book"
    folder.mkdir()
    workbook = xlsxwriter.Workbook(str(folder / "b.xlsx"))
    workbook.add_worksheet("说明").write_string(0, 0, "本表为账户查询结果，数据见下一工作表")
    sheet = workbook.add_worksheet("数据")
    sheet.write_row(0, 0, BANK)
    sheet.write_row(1, 0, _bank_row("张三", ID_A, "100"))
    workbook.close()
    cr = _text(BANK, [_bank_row("李四", ID_B, "200", "A2")], end="\r").encode("gb18030")
    manifest, staged, _ = _deliver(tmp_path, "bank", {"a.csv": cr, "a.csv.ok": b"1",
                                                      "b.xlsx": (folder / "b.xlsx").read_bytes(), "b.xlsx.ok": b"1"})
    assert manifest.status == "incomplete" and not staged
    message = manifest.message_zh
    assert "a.csv的换行符是单独的CR" in message
    assert "b.xlsx的第一个工作表中没有约定的表头，数据似乎在工作表“数据”中" in message


@pytest.mark.parametrize("encoding", ["gb18030", "utf-8"])
def test_a_nul_byte_quarantines_its_line_saying_so(tmp_path, encoding):
    """A NUL cut the line for the field count (“第3行有2个字段”), or, in the last field, was staged."""
    rows = [_bank_row("张三", ID_A, "100"), _bank_row("李\x00四", ID_B, "200"), _bank_row("王五", ID_C, "300")]
    rows[2][-1] = "2026-11\x00-20"
    manifest, staged, quarantined = _deliver(tmp_path, "bank", {"b.csv": _text(BANK, rows).encode(encoding),
                                                                "b.csv.ok": b"3"})
    assert manifest.status == "delivered", manifest.message_zh
    assert [r["name"] for r in staged] == ["张三"]
    assert [(q["row_no"], q["rule"]) for q in quarantined] == [(3, "read_error"), (4, "read_error")]
    assert all("含空字符（0x00）" in q["reason_zh"] for q in quarantined)


def test_merged_cells_of_a_workbook_give_every_row_of_the_range_their_value(tmp_path):
    """Co-owners listed under one merged 不动产单元号 / 坐落 / 建筑面积 …: the second owner's row had all of
    them empty (no unit, no area, no use: the flat was not counted for that owner's household)."""
    import xlsxwriter

    header = ["权利人", "证件号码", "不动产单元号", "坐落", "建筑面积", "规划用途", "共有方式", "登记日期", "权属状态"]
    folder = tmp_path / "book"
    folder.mkdir()
    workbook = xlsxwriter.Workbook(str(folder / "re.xlsx"))
    sheet = workbook.add_worksheet()
    sheet.merge_range(0, 0, 0, 8, "不动产登记信息查询结果")
    sheet.write_row(1, 0, header)
    sheet.write_row(2, 0, ["张三", ID_A])
    sheet.write_row(3, 0, ["李四", ID_B])
    shared = ["360102000000GB00001F00010001", "南昌市东湖区某路1号", 93.5, "住宅", "共同共有", "2020-01-02", "现势"]
    for c, value in enumerate(shared, start=2):
        sheet.merge_range(2, c, 3, c, value)
    sheet.write_row(4, 0, ["王五", ID_C, "360102000000GB00001F00020001", "南昌市东湖区某路2号", 60, "住宅", "单独所有",
                           "2021-01-02", "现势"])
    sheet.merge_range(5, 0, 5, 3, "合计")
    sheet.write_number(5, 4, 153.5)
    workbook.close()
    manifest, staged, _ = _deliver(tmp_path, "real_estate", {"re.xlsx": (folder / "re.xlsx").read_bytes(),
                                                             "re.xlsx.ok": b"3"})
    assert manifest.status == "delivered", manifest.message_zh
    assert manifest.files[0].summary_rows == 1
    got = [(r["name"], r["unit_no"], r["floor_area_m2"], r["use_type"], r["title_status"], r["row_no"]) for r in staged]
    assert got == [("张三", shared[0], 93.5, "住宅", "现势", 3), ("李四", shared[0], 93.5, "住宅", "现势", 4),
                   ("王五", "360102000000GB00001F00020001", 60.0, "住宅", "现势", 5)]


def test_a_floor_area_with_its_unit_is_read_and_wan_is_no_area():
    """建筑面积 (m²) cells written 93㎡ or 93平方米 were quarantined as not a number, and 93万 was read as
    930,000 m² (the amount parser's 万)."""
    import duckdb

    from hedui.steps.ingest import load_macros

    con = duckdb.connect()
    load_macros(con, "select hd_number(x)")
    cells = ["93.5", "1,234.5", "93㎡", "93 m²", "93m2", "93平方米", "93平米", "９３．５", "93万", "九十三"]
    got = [con.execute("select hd_number(?)", [c]).fetchall()[0][0] for c in cells]
    assert got == [93.5, 1234.5, 93.0, 93.0, 93.0, 93.0, 93.0, 93.5, None, None]
