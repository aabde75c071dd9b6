"""The next traps, written from sources.md and policy.md as an outside tester would (not by our generator),
run through the real connector and staging, and where the outcome matters through one whole `hedui run`.

Every delivered row must end staged or quarantined with a Chinese reason naming file and row, values must be
read as the department meant them (or quarantined when that cannot be known), and nothing may crash.
"""

from __future__ import annotations

import datetime as dt
import io

import pytest
from contract_world import RUN, WINDOW, World, new_id, outcomes, query, run_world
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


def test_parquet_id_columns_as_numbers_are_exact_or_missing_never_a_wrong_id(tmp_path):
    """An 18-digit ID as int64 is exact; as a double its last digits are gone (360102198001010013 is stored as
    ...010000 or so): it must be missing (linked by name and birth date at most), never another person's ID."""
    import decimal

    import pyarrow as pa
    import pyarrow.parquet as pq

    ids_int = pa.array([int(ID_A), int(ID_C)], pa.int64())
    ids_double = pa.array([float(ID_A), float(ID_C)], pa.float64())
    for kind, ids in (("int64", ids_int), ("double", ids_double)):
        table = pa.table({"机构名称": pa.array(["工商银行"] * 2).dictionary_encode(), "户名": ["张三", "王五"],
                          "证件号码": ids, "账号": pa.array([6222000011112222, 6222000011113333], pa.int64()),
                          "账户类型": ["活期", ""],
                          "余额": pa.array([decimal.Decimal("1234.50"), None], pa.decimal128(18, 2)),
                          "查询日期": pa.array([dt.date(2026, 11, 20)] * 2, pa.date32())})
        buf = io.BytesIO()
        pq.write_table(table, buf)
        manifest, staged, quarantined = _deliver(tmp_path / kind, "bank", {"b.parquet": buf.getvalue(),
                                                                            "b.parquet.ok": b"2"})
        assert manifest.status == "delivered" and not quarantined, manifest.message_zh
        got = [(r["id_norm"], r["id_status"], r["balance_yuan"], r["account_type"]) for r in staged]
        if kind == "int64":
            assert got == [(ID_A, "valid", 1234.5, "活期"), (ID_C, "valid", None, None)]
        else:
            assert got == [(None, "scientific", 1234.5, "活期"), (None, "scientific", None, None)]


def test_a_parquet_timestamp_with_a_time_zone_is_dated_in_beijing_time(tmp_path):
    """Spark and Java tools store instants in UTC: 所属期 2026-11-01 00:00 Beijing time is 2026-10-31 16:00 UTC,
    and was staged as October (an income month moved across the window's edge).  A naive timestamp is wall
    time as written."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    utc = dt.datetime(2026, 10, 31, 16, 0, tzinfo=dt.UTC)
    table = pa.table({
        "纳税人识别号": [ID_A, ID_B, ID_C], "姓名": ["张三", "李四", "王五"], "所得项目": ["工资薪金所得"] * 3,
        "所属期": pa.array([utc, utc, dt.datetime(2026, 11, 1, 0, 0, tzinfo=dt.UTC)], pa.timestamp("us", tz="UTC")),
        "收入额": ["1000"] * 3, "已缴税额": ["0"] * 3, "扣缴义务人": ["某公司"] * 3})
    buf = io.BytesIO()
    pq.write_table(table, buf)
    manifest, staged, quarantined = _deliver(tmp_path, "tax", {"t.parquet": buf.getvalue(), "t.parquet.ok": b"3"})
    assert manifest.status == "delivered" and not quarantined, manifest.message_zh
    assert [r["period_month"] for r in staged] == [dt.date(2026, 11, 1)] * 3
    naive = pa.table({"机构名称": ["工商银行"], "户名": ["张三"], "证件号码": [ID_A], "账号": ["1"], "账户类型": ["活期"],
                      "余额": ["1"], "查询日期": pa.array([dt.datetime(2026, 11, 20, 23, 30)], pa.timestamp("ms"))})
    buf = io.BytesIO()
    pq.write_table(naive, buf)
    _, staged, _ = _deliver(tmp_path / "naive", "bank", {"b.parquet": buf.getvalue(), "b.parquet.ok": b"1"})
    assert [r["query_date"] for r in staged] == [dt.date(2026, 11, 20)]


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


def test_a_header_below_many_blank_lines_is_found(tmp_path):
    """The first non-empty line is the header however many blank lines stand above it: 35 made the file
    "空文件（没有表头）" and the source not delivered (only the first 30 lines were looked at)."""
    data = ("\r\n" * 35 + _text(BANK, [_bank_row("张三", ID_A, "100")], end="\r\n")).encode("gb18030")
    manifest, staged, _ = _deliver(tmp_path, "bank", {"b.csv": data, "b.csv.ok": b"1"})
    assert manifest.status == "delivered", manifest.message_zh
    assert [(r["row_no"], r["name"], r["balance_yuan"]) for r in staged] == [(37, "张三", 100.0)]


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


def test_a_title_row_stating_the_unit_is_the_unit_of_amounts_whose_header_names_none(tmp_path):
    """A title row 单位：万元 above a header 余额 (no unit of its own): the balances are 万元.  Read as yuan they
    were 10,000 times too small — a household over the asset limit came out CLEAR.  A header's own unit
    and a cell's still win; a title naming no unit, or two, changes nothing."""
    def fill(_, ws):
        ws.write(0, 0, "2026年11月账户余额查询结果（单位：万元）")
        ws.write_row(2, 0, BANK)
        ws.write_row(3, 0, _bank_row("张三", ID_A, "1.5"))
        ws.write_row(4, 0, _bank_row("李四", ID_B, "300元"))
    manifest, staged, _ = _deliver(tmp_path / "x", "bank", {"b.xlsx": _workbook(fill), "b.xlsx.ok": b"2"})
    assert manifest.status == "delivered", manifest.message_zh
    assert [(r["name"], r["balance_yuan"]) for r in staged] == [("张三", 15000.0), ("李四", 300.0)]

    own = [h if h != "余额" else "余额（元）" for h in BANK]
    for name, title, header, want in (("c", "金额单位:万元", BANK, 15000.0), ("d", "单位：元", BANK, 1.5),
                                      ("e", "单位：万元", own, 1.5), ("f", "某某银行存款查询结果", BANK, 1.5),
                                      ("g", "单位：万元,,,,,单位：元", BANK, 1.5),
                                      ("h", "查询单位：万达集团财务部", BANK, 1.5), ("i", "（单位：万元人民币）", BANK, 15000.0)):
        data = (title + "\n" + _text(header, [_bank_row("张三", ID_A, "1.5")])).encode("gb18030")
        manifest, staged, _ = _deliver(tmp_path / name, "bank", {"b.csv": data, "b.csv.ok": b"1"})
        assert manifest.status == "delivered", manifest.message_zh
        assert [r["balance_yuan"] for r in staged] == [want], (title, header)


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


# -- one `hedui run` over requests and records as other departments write them ------------------------


def _edit(w: World, rid: str, **changes) -> None:
    """Change the request rows of ``rid``: column → one value for every member, or → {member name: value}."""
    for r in w.rows["requests"]:
        if r["委托编号"] == rid:
            for col, v in changes.items():
                if not isinstance(v, dict):
                    r[col] = v
                elif r["姓名"] in v:
                    r[col] = v[r["姓名"]]


def build() -> World:  # noqa: PLR0915 - one household per block, read top to bottom
    w = World()
    a, _ = w.household("TR01", [("陶一", "本人"), ("陶二", "配偶")])
    w.bank(a, "1000")
    w.expect("TR01", "CLEAR", "")
    # a county code as a spreadsheet writes a number back to CSV: 360702.0 (was quarantined: every member)
    w.household("TR02", [("陶三", "本人"), ("陶四", "子女")])
    _edit(w, "TR02", 区划代码="360702.0")
    w.expect("TR02", "CLEAR", "")
    # the program with a space inside and a trailing U+3000 (was quarantined as not a program)
    w.household("TR03", [("陶五", "本人"), ("陶六", "配偶")])
    _edit(w, "TR03", 业务类型={"陶五": "最低 生活保障", "陶六": " 最低生活保障\u3000"})
    w.expect("TR03", "CLEAR", "")
    w.household("TR04", [("陶七", "本人"), ("陶八", "配偶")])
    _edit(w, "TR04", 与申请人关系={"陶八": "配偶\u3000"})
    w.expect("TR04", "CLEAR", "")
    # a second flat whose 权属状态 carries a full-width space is still held (现势): over the limit of one
    (a,) = w.household("TR05", [("陶九", "本人")])
    w.flat(a, "360702001001GB00001F00010001", status="现势\u3000")
    w.flat(a, "360702001001GB00002F00010001")
    w.expect("TR05", "FINDINGS", "RESIDENTIAL_UNITS_OVER_LIMIT")
    (a,) = w.household("TR06", [("陶十", "本人")])
    w.car(a, "200000", kind="小型轿车\u3000", status=" 正常")
    w.expect("TR06", "FINDINGS", "VEHICLE")
    # 20.000,00 (a decimal comma: 20,000 yuan, over 19,200) was read as 20 yuan: CLEAR
    (a,) = w.household("TR07", [("陶十一", "本人")])
    w.bank(a, "20.000,00")
    w.expect("TR07", "INCOMPLETE", "RECORD_QUARANTINED")
    # members of one request on two standards: 750 per head is under the urban 800 and over the rural 650
    a, _ = w.household("TR08", [("陶十二", "本人"), ("陶十三", "配偶")])
    _edit(w, "TR08", 城乡类别={"陶十三": "农村"})
    w.wages(a, WINDOW, "1500")
    w.expect("TR08", "INCOMPLETE", "VALUE_UNKNOWN")
    w.household("TR09", [("陶十四", "本人"), ("陶十五", "配偶")])
    _edit(w, "TR09", 区划代码={"陶十五": "360703"})
    w.expect("TR09", "INCOMPLETE", "VALUE_UNKNOWN")
    # no applicant row, and the members disagree: no pick of any_value's decides the standard
    w.household("TR10", [("陶十六", "配偶"), ("陶十七", "子女")])
    _edit(w, "TR10", 城乡类别={"陶十七": "农村"})
    w.expect("TR10", "INCOMPLETE", "VALUE_UNKNOWN")
    # no applicant row, members agree: still no applicant verified, the declared relations are to nobody listed
    # (clear3, CE01: was CLEAR; policy.md "CLEAR is earned")
    w.household("TR13", [("陶二十", "配偶"), ("陶二一", "子女")])
    w.expect("TR13", "INCOMPLETE", "VALUE_UNKNOWN")
    (a,) = w.household("TR11", [("陶十八", "本人")])
    for m in WINDOW:  # 所属期 written 2025年11月
        w.add("tax", 纳税人识别号=a["id"], 姓名=a["name"], 所得项目="工资薪金所得", 所属期=f"{m[:4]}年{int(m[4:])}月",
              收入额="1000", 已缴税额="0", 扣缴义务人="某公司")
    w.expect("TR11", "FINDINGS", "INCOME_OVER_STANDARD")
    # one member's request id with a trailing U+3000 (trim() keeps it): it made a household of its own, and
    # 1,500 yuan a month over one person (1,500) instead of two (750) was over the standard
    a, _ = w.household("TR14", [("陶二二", "本人"), ("陶二三", "配偶")])
    _edit(w, "TR14", 委托编号={"陶二三": "TR14\u3000"})
    w.wages(a, WINDOW, "1500")
    w.expect("TR14", "CLEAR", "")
    (a,) = w.household("TR15", [("陶二四", "本人")])
    w.wages(a, [f"{m}.0" for m in WINDOW], "1000")  # 所属期 as a spreadsheet's float: 202511.0
    w.expect("TR15", "FINDINGS", "INCOME_OVER_STANDARD")
    (a,) = w.household("TR12", [("陶十九", "本人")])
    w.add("housing_fund", 证件号码=a["id"], 姓名=a["name"], 单位名称="某单位", 月缴存基数="3000", 月缴存额="360",
          账户余额="9000", 账户状态="封存\u3000", 截至日期="2026-10-31")
    w.expect("TR12", "CLEAR", "")
    # every other source gets a row about nobody asked about (an empty delivery is a case of its own)
    s = {"name": "路人甲", "id": new_id()}
    w.add("civil_affairs", 姓名=s["name"], 身份证号=s["id"], 死亡日期="2026-01-01", 火化日期="2026-01-03", 殡仪馆="某殡仪馆")
    w.si(s, WINDOW[:1], "企业职工基本养老保险", "缴费", base="3000")
    w.company(s, "有限责任公司", "存续", "10")
    w.add("securities", 姓名=s["name"], 证件号码=s["id"], 证券账户="A1", 持仓市值="5", 资金余额="1", 查询日期="20261126")
    w.add("insurance", 投保人=s["name"], 投保人证件号=s["id"], 保单号="P1", 险种="寿险", 保单状态="有效", 现金价值="1",
          查询日期="20261126")
    return w


@pytest.fixture(scope="module")
def traps_run(tmp_path_factory):
    world = build()
    return world, run_world(world, tmp_path_factory, "traps")


def test_every_trap_household_has_the_outcome_policy_md_gives_it(traps_run):
    world, ctx = traps_run
    got = outcomes(ctx)
    assert {rid: got.get(rid) for rid in world.expected} == world.expected
    assert set(got) == set(world.expected)  # no household of a request id with a stray space


def test_codes_and_words_are_staged_as_the_contract_writes_them(traps_run):
    _, ctx = traps_run
    rows = query(ctx, "select request_id, program, relation, region_code from stg_requests where run_date = ? "
                       "and request_id in ('TR02', 'TR03', 'TR04') order by request_id, row_no", [RUN])
    assert [(rid, p, r, c) for rid, p, r, c in rows] == [  # every row staged (none quarantined), values clean
        ("TR02", "最低生活保障", "本人", "360702"), ("TR02", "最低生活保障", "子女", "360702"),
        ("TR03", "最低生活保障", "本人", "360702"), ("TR03", "最低生活保障", "配偶", "360702"),
        ("TR04", "最低生活保障", "本人", "360702"), ("TR04", "最低生活保障", "配偶", "360702")]
    assert query(ctx, "select title_status, count(*) from stg_real_estate where run_date = ? group by 1",
                  [RUN]) == [("现势", 2)]


def test_a_member_contradicting_the_households_standard_is_named_with_both_values(traps_run):
    _, ctx = traps_run
    [(reason, file_name, row_no)] = query(
        ctx, "select reason_zh, file_name, row_no from evidence_gaps where run_date = ? and request_id = 'TR08'", [RUN])
    assert "城乡类别“农村”与本户（申请人）的“城市”不一致" in reason and "请委托机关核实" in reason
    assert file_name.endswith(f"requests_{RUN}.csv") and row_no > 1
    page = (ctx.report_dir / "households" / "TR08.html").read_text(encoding="utf-8")
    assert "与本户（申请人）的“城市”不一致" in page
