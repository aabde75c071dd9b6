"""Delivery folders as departments really leave them: OS litter and notes beside the data are not read and
do not make a delivery incomplete; data in the wrong format, partial copies and links still do."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from connectors import DeliveryManifest, load_map, read_delivery

DATE = "20261128"
PS_HEADER = ["户号", "姓名", "公民身份号码", "性别", "出生日期", "与户主关系", "户籍地址", "区划代码", "人员状态", "变动日期"]
ID1 = "11010519491231002X"
APPLEDOUBLE = b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        " + b"\x00" * 64


def _row(i: int) -> list[str]:
    return [f"H{i:04d}", "张三", ID1, "男", "1949-12-31", "户主", "南昌市东湖区八一大道1号", "360102", "正常", "20200101"]


def _csv(rows: int = 2, sep: str = ",") -> bytes:
    return "\n".join(sep.join(r) for r in [PS_HEADER] + [_row(i) for i in range(rows)]).encode("utf-8") + b"\n"


def _read(tmp_path: Path, files: dict[str, bytes], source: str = "public_security") -> DeliveryManifest:
    """``ps.csv`` (2 rows, with its marker) plus ``files`` in a delivery folder, read by the connector."""
    inbox = tmp_path / "inbox"
    folder = inbox / source / DATE
    folder.mkdir(parents=True)
    (folder / "ps.csv").write_bytes(_csv())
    (folder / "ps.csv.ok").write_text("2")
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return read_delivery(load_map(source), folder, inbox, tmp_path / "raw.parquet", DATE)


LITTER = {
    "Thumbs.db": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100,
    "ehthumbs.db": b"\x00" * 10,
    "desktop.ini": "[.ShellClassInfo]\r\nLocalizedResourceName=交付\r\n".encode("utf-16"),
    ".DS_Store": b"\x00\x00\x00\x01Bud1" + b"\x00" * 40,
    "._ps.csv": APPLEDOUBLE,
    "~$ps.xlsx": b"\x08zhangsan" + b"\x20" * 150,
    ".~lock.ps.xlsx#": b",zhangsan,PC01,28.11.2026 09:12,file:///C:/Users/z/AppData/Roaming/LibreOffice/4;",
    ".localized": b"",
    "Icon\r": b"\x00\x00\x01\x00",
    "readme.txt": "说明：本次交付户籍人员名单一份，字段含义见附件。\n联系人：李四\n".encode("gb18030"),
    "说明.docx": b"PK\x03\x04" + b"\x00" * 60,
    "交付函.pdf": b"%PDF-1.7\n" + b"\x00" * 60,
    "ps.csv.md5": b"d41d8cd98f00b204e9800998ecf8427e  ps.csv\n",
    "说明.xls": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + "联系人电话".encode("utf-16-le"),  # a workbook without the header
    "联系人.txt": "联系人\t电话\n李四\t0791-1234567\n".encode("utf-16"),  # a Unicode text that is no data
}


@pytest.mark.parametrize("name", sorted(LITTER))
def test_os_litter_and_notes_beside_the_data_are_listed_not_read(tmp_path, name):
    manifest = _read(tmp_path, {name: LITTER[name]})
    assert manifest.status == "delivered", manifest.message_zh
    assert manifest.rows_total == 2 and [f.file_name.rsplit("/", 1)[1] for f in manifest.files] == ["ps.csv"]
    shown = name.replace("\r", " ")
    assert manifest.ignored == [shown] and not manifest.problems
    assert manifest.message_zh.endswith(f"已交付1个文件，共2行；未读取的非数据文件：{shown}")


def test_all_litter_at_once_and_a_name_holding_an_id_number_is_masked(tmp_path):
    manifest = _read(tmp_path, {**LITTER, "说明_360102199001011234.txt": "见附件".encode()})
    assert manifest.status == "delivered", manifest.message_zh
    assert len(manifest.ignored) == len(LITTER) + 1
    assert "说明_360102********1234.txt" in manifest.ignored
    assert "360102199001011234" not in manifest.message_zh
    assert manifest.message_zh.endswith(f"等{len(LITTER) + 1}个")  # ten names shown, then how many


def test_litter_alone_is_no_delivery(tmp_path):
    inbox = tmp_path / "inbox"
    folder = inbox / "public_security" / DATE
    folder.mkdir(parents=True)
    (folder / "Thumbs.db").write_bytes(LITTER["Thumbs.db"])
    (folder / "readme.txt").write_bytes(LITTER["readme.txt"])
    manifest = read_delivery(load_map("public_security"), folder, inbox, tmp_path / "raw.parquet", DATE)
    assert manifest.status == "missing"
    assert "没有数据文件" in manifest.message_zh and "未读取的非数据文件：Thumbs.db、readme.txt" in manifest.message_zh


def test_a_manifest_written_before_ignored_existed_still_loads():
    old = {"source": "bank", "delivery_date": DATE, "location": "bank/20261128", "status": "delivered",
           "files": [], "problems": [], "message_zh": "银行已交付0个文件，共0行", "rows_total": 0, "raw_parquet": ""}
    assert DeliveryManifest.from_dict(old).ignored == []


def _gb(text: str) -> bytes:
    return text.encode("gb18030")


STILL_PROBLEMS = {
    # data in a format that is not delivered, without a marker: its first lines hold this source's header
    "ps.txt": (_csv(sep="\t"), "ps.txt的前几行是公安 户籍的表头"),
    "ps_gbk.txt": (_gb("户籍人员名单\n" + ",".join(PS_HEADER) + "\n"), "另存为.csv"),
    "ps.tsv": (_csv(sep="\t"), "格式.tsv不是约定的交付格式"),
    "ps_no_suffix": (_csv(), "格式（无扩展名）不是约定的交付格式"),
    "ps.prn": ("  ".join(PS_HEADER).encode("utf-8") + b"\n", "另存为.csv"),
    "old.xls": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + "".join(PS_HEADER).encode("utf-16-le"), "表格文件（.xls）"),
    "export.xls": ("<html><table><tr><td>户号</td><td>公民身份号码</td></tr></table></html>".encode(), "表格文件（.xls）"),
    "ps_unicode.txt": ("\t".join(PS_HEADER).encode("utf-16"), "另存为.csv"),  # Excel's "Unicode text"
    "ps_xlsx.xls": (None, "表格文件（.xls）"),  # an .xlsx named .xls: its strings are in xl/sharedStrings.xml
    "ps.ods": (None, "表格文件（.ods）"),
    "ps.json": ('[{"公民身份号码": "11010519491231002X", "姓名": "张三"}]'.encode(), "表格文件（.json）"),
    # a data format without its marker; a file its department marked as data in a format not supported
    "ps2.csv": (_csv(), "ps2.csv缺少完成标记"),
    "ps2.csv ": (_csv(), "的格式.csv 不受支持"),  # a stray blank after the suffix: data, in a name not read
    "ps2．ＣＳＶ": (_csv(), "ps2．ＣＳＶ的格式（无扩展名）不受支持"),  # full-width: data, in a name not read
    "~$ps2.xlsx": (b"PK" + b"\x00" * 4000, "~$ps2.xlsx不是有效的.xlsx文件"),  # too big for an owner file
    "notes.txt": (b"see attached\n", "notes.txt的格式.txt不受支持"),  # + notes.txt.ok below
    "marked.xls": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "marked.xls是旧版Excel 97-2003（.xls）文件"),
    "marked.html.xls": (b"<html><table><tr><td>a</td></tr></table></html>", "实为网页（HTML）文件"),
    # transfers in progress, copies, packed files, temporary and hidden files
    ".ps3.csv.part": (b"H0001,", "隐藏文件"),
    "ps3.csv.part": (b"H0001,", "未传完或临时的文件（.part）"),
    "ps3.xlsx.filepart": (b"PK", "未传完或临时的文件（.filepart）"),
    "ps3.csv.bak": (_csv(), "像是数据文件的副本或未传完的文件（扩展名.bak）"),
    "ps3.zip": (b"PK\x03\x04", "压缩文件（.zip）"),
    "ps3.csv.gz": (b"\x1f\x8b", "压缩文件（.gz）"),
    "~ps3.tmp": (b"", "临时文件（.tmp）"),
    "~$ps3.tmp": (b"", "临时文件（.tmp）"),
    "._ps3.csv": (_csv(), "隐藏文件"),  # named as an AppleDouble twin but holding no resource fork
    ".~lock.ps3.csv#": (_csv() * 40, "隐藏文件"),  # too big for a lock file
    "Icon\r\r": (b"", "控制字符"),
}


def _zipped_strings(part: str) -> bytes:
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr(part, "<sst>" + "".join(f"<si><t>{h}</t></si>" for h in PS_HEADER) + "</sst>")
    return buf.getvalue()


@pytest.mark.parametrize("name", sorted(STILL_PROBLEMS))
def test_what_may_hold_rows_still_makes_the_delivery_incomplete(tmp_path, name):
    data, expected = STILL_PROBLEMS[name]
    if data is None:  # a workbook (zip) whose strings name this source's columns
        data = _zipped_strings("content.xml" if name.endswith(".ods") else "xl/sharedStrings.xml")
    marked = name == "notes.txt" or name.startswith("marked")  # its department marked it as data
    files = {name: data, **({f"{name}.ok": b"1"} if marked else {})}
    manifest = _read(tmp_path, files)
    assert manifest.status == "incomplete", manifest.message_zh
    assert expected in manifest.message_zh
    assert name not in manifest.ignored


def test_a_link_or_folder_named_as_litter_is_still_refused(tmp_path):
    outside = tmp_path / "outside.db"
    outside.write_bytes(b"x")
    inbox = tmp_path / "inbox"
    folder = inbox / "public_security" / DATE
    folder.mkdir(parents=True)
    (folder / "ps.csv").write_bytes(_csv())
    (folder / "ps.csv.ok").write_text("2")
    os.symlink(outside, folder / "Thumbs.db")
    (folder / "__MACOSX").mkdir()
    manifest = read_delivery(load_map("public_security"), folder, inbox, tmp_path / "raw.parquet", DATE)
    assert manifest.status == "incomplete" and manifest.ignored == []
    assert "Thumbs.db是符号链接" in manifest.message_zh and "子目录__MACOSX" in manifest.message_zh


def test_a_notes_file_whose_first_lines_are_prose_naming_columns_is_a_note(tmp_path):
    note = "字段说明\n公民身份号码：18位\n姓名：户籍登记姓名\n".encode()
    manifest = _read(tmp_path, {"字段说明.txt": note})
    assert manifest.status == "delivered", manifest.message_zh
    assert manifest.ignored == ["字段说明.txt"]


# -- through a full run ----------------------------------------------------------------------------


def test_litter_in_every_folder_leaves_each_household_as_it_is_without(tmp_path_factory):
    from contract_world import RUN, WINDOW, World, new_id, outcomes, query

    from hedui.pipeline import RunContext, run

    w = World()
    a, _ = w.household("LT01", [("黎一", "本人"), ("黎二", "配偶")])
    w.bank(a, "1000")
    w.expect("LT01", "CLEAR", "")
    (a,) = w.household("LT02", [("黎三", "本人")])
    w.car(a, "200000")
    w.expect("LT02", "FINDINGS", "VEHICLE")
    s = {"name": "路人乙", "id": new_id()}  # every other source delivers a row about nobody asked about
    w.add("civil_affairs", 姓名=s["name"], 身份证号=s["id"], 死亡日期="2026-01-01", 火化日期="2026-01-03", 殡仪馆="某殡仪馆")
    w.wages(s, WINDOW[:1], "100")
    w.si(s, WINDOW[:1], "企业职工基本养老保险", "缴费", base="3000")
    w.flat(s, "360702001001GB00009F00010001")
    w.company(s, "有限责任公司", "存续", "10")
    w.add("housing_fund", 证件号码=s["id"], 姓名=s["name"], 单位名称="某单位", 月缴存基数="3000", 月缴存额="360",
          账户余额="9000", 账户状态="正常", 截至日期="2026-10-31")
    w.add("securities", 姓名=s["name"], 证件号码=s["id"], 证券账户="A1", 持仓市值="5", 资金余额="1", 查询日期="20261126")
    w.add("insurance", 投保人=s["name"], 投保人证件号=s["id"], 保单号="P1", 险种="寿险", 保单状态="有效", 现金价值="1",
          查询日期="20261126")
    inbox = tmp_path_factory.mktemp("litter") / "inbox"
    w.write(inbox)
    for folder in inbox.glob(f"*/{RUN}"):
        for name, data in LITTER.items():
            (folder / name).write_bytes(data)
    ctx = RunContext.of(inbox, tmp_path_factory.mktemp("litter_work"), RUN)
    run(ctx)
    assert outcomes(ctx) == w.expected
    status = {s: (st, why) for s, st, why in query(
        ctx, "select source, status, reasons_zh from source_status where run_date = ?", [RUN])}
    assert {st for st, _ in status.values()} == {"passed"}, status
    for source, (_, why) in status.items():  # staff see what was left unread beside the data
        assert "未读取的非数据文件：" in why and "Thumbs.db" in why, (source, why)


# -- a workbook on the 1904 date system ---------------------------------------------------------------


def _workbook_1904(path: Path, rows: list[list[object]], *, date_1904: bool = True,
                   header: list[str] = PS_HEADER) -> None:
    import datetime as dt

    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path), {"date_1904": date_1904})
    ws = wb.add_worksheet()
    datefmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    for c, h in enumerate(header):
        ws.write_string(0, c, h)
    for r, row in enumerate(rows, 1):
        for c, v in enumerate(row):
            if isinstance(v, dt.date):
                ws.write_datetime(r, c, dt.datetime(v.year, v.month, v.day), datefmt)
            elif isinstance(v, (int, float)):
                ws.write_number(r, c, v)  # formatted General: the serial number as a plain number
            else:
                ws.write_string(r, c, v)
    wb.close()


@pytest.mark.parametrize("date_1904", [True, False])
def test_dates_of_a_1904_workbook_stage_as_the_true_dates(tmp_path, date_1904):
    import datetime as dt

    import pyarrow.parquet as pq

    from hedui.steps.ingest import stage_source

    birth, change = dt.date(1949, 12, 31), dt.date(2023, 1, 5)
    epoch = dt.date(1904, 1, 1) if date_1904 else dt.date(1899, 12, 30)
    serial = (change - epoch).days  # 43469 in the 1904 system, 44931 in the 1900 one
    rows = [["H0001", "张三", ID1, "男", birth, "户主", "某地", "360102", "正常", serial],
            ["H0002", "李四", "360102198501011238", "女", float(serial) + 0.5, "配偶", "某地", "360102", "正常", change]]
    inbox = tmp_path / "inbox"
    folder = inbox / "public_security" / DATE
    folder.mkdir(parents=True)
    _workbook_1904(folder / "ps.xlsx", rows, date_1904=date_1904)
    (folder / "ps.xlsx.ok").write_text("2")
    smap = load_map("public_security")
    manifest = read_delivery(smap, folder, inbox, tmp_path / "raw.parquet", DATE)
    assert manifest.status == "delivered", manifest.message_zh
    staged, quarantine = tmp_path / "staged.parquet", tmp_path / "quarantine.parquet"
    stage_source(tmp_path / "raw.parquet", smap, DATE, staged, quarantine, manifest=manifest, threads=1)
    got = [(r["birth_date"], r["change_date"]) for r in pq.read_table(staged).to_pylist()]
    assert got == [(birth, change), (change, change)]


# -- a file delivered without its header row ----------------------------------------------------------


def _headerless_csv() -> bytes:
    rows = [["H0001", "欧阳娜仁", ID1, "男", "1949-12-31", "户主", "南昌市东湖区八一大道1号", "360102", "正常", "20200101"],
            ["H0002", "李四", "360102198501011238", "女", "1985-01-01", "配偶", "南昌市东湖区八一大道1号", "360102", "正常", ""]]
    return "\r\n".join(",".join(r) for r in rows).encode("gb18030") + b"\r\n"


def _assert_headerless_message_shows_no_person(manifest: DeliveryManifest, name: str) -> None:
    assert manifest.status == "incomplete"
    text = manifest.to_json()
    for secret in ("欧阳娜仁", "娜仁", ID1, "八一大道"):
        assert secret not in text, secret
    [problem] = [p for p in manifest.files[0].problems if "表头" in p]
    assert problem.startswith(f"{name}中没有找到约定的表头（第一行共10列：H*、欧*、110105********002X、男、1949-12-31、户*…，"
                              "像是数据而不是表头），文件无法使用")
    assert problem.endswith("请部门在第一行加上约定的表头（户号、姓名、公民身份号码、性别…）后重新交付")
    assert manifest.files[0].extra_headers == [] and "公民身份号码" in manifest.files[0].missing_headers


def test_a_csv_without_its_header_row_is_reported_without_showing_the_person(tmp_path):
    inbox = tmp_path / "inbox"
    folder = inbox / "public_security" / DATE
    folder.mkdir(parents=True)
    (folder / "ps.csv").write_bytes(_headerless_csv())
    (folder / "ps.csv.ok").write_text("2")
    manifest = read_delivery(load_map("public_security"), folder, inbox, tmp_path / "raw.parquet", DATE)
    _assert_headerless_message_shows_no_person(manifest, "ps.csv")


def test_an_xlsx_without_its_header_row_is_reported_without_showing_the_person(tmp_path):
    import xlsxwriter

    inbox = tmp_path / "inbox"
    folder = inbox / "public_security" / DATE
    folder.mkdir(parents=True)
    wb = xlsxwriter.Workbook(str(folder / "ps.xlsx"))
    ws = wb.add_worksheet()
    for r, line in enumerate(_headerless_csv().decode("gb18030").splitlines()):
        for c, v in enumerate(line.split(",")):
            ws.write_string(r, c, v)
    wb.close()
    (folder / "ps.xlsx.ok").write_text("2")
    manifest = read_delivery(load_map("public_security"), folder, inbox, tmp_path / "raw.parquet", DATE)
    _assert_headerless_message_shows_no_person(manifest, "ps.xlsx")


def test_a_header_with_one_known_column_still_names_the_unknown_ones(tmp_path):
    inbox = tmp_path / "inbox"
    folder = inbox / "public_security" / DATE
    folder.mkdir(parents=True)
    (folder / "ps.csv").write_bytes("公民身份号码,编号甲\n".encode() + f"{ID1},1\n".encode())
    (folder / "ps.csv.ok").write_text("1")
    manifest = read_delivery(load_map("public_security"), folder, inbox, tmp_path / "raw.parquet", DATE)
    assert manifest.files[0].extra_headers == ["编号甲"]
    assert any("映射中没有的列：编号甲" in p for p in manifest.files[0].problems)


def test_a_month_of_a_1904_workbook_given_as_a_serial_stages_as_its_month(tmp_path):
    import datetime as dt

    import pyarrow.parquet as pq

    from hedui.steps.ingest import stage_source

    serial = (dt.date(2026, 10, 15) - dt.date(1904, 1, 1)).days
    inbox = tmp_path / "inbox"
    folder = inbox / "tax" / DATE
    folder.mkdir(parents=True)
    _workbook_1904(folder / "tax.xlsx", [[ID1, "张三", "工资薪金所得", serial, 1000, 0, "某公司"]],
                   header=["纳税人识别号", "姓名", "所得项目", "所属期", "收入额", "已缴税额", "扣缴义务人"])
    (folder / "tax.xlsx.ok").write_text("1")
    smap = load_map("tax")
    manifest = read_delivery(smap, folder, inbox, tmp_path / "raw.parquet", DATE)
    assert manifest.status == "delivered", manifest.message_zh
    staged, quarantine = tmp_path / "staged.parquet", tmp_path / "quarantine.parquet"
    stage_source(tmp_path / "raw.parquet", smap, DATE, staged, quarantine, manifest=manifest, threads=1)
    assert [r["period_month"] for r in pq.read_table(staged).to_pylist()] == [dt.date(2026, 10, 1)]
