"""File-drop connector: encodings, separators, quoting, XLSX, Parquet, markers, headers, bad bytes."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from connectors import DeliveryManifest, load_map, raw_schema, read_delivery, textfile
from connectors.maps import header_key

DATE = "20261128"
PS_HEADER = ["户号", "姓名", "公民身份号码", "性别", "出生日期", "与户主关系", "户籍地址", "区划代码", "人员状态", "变动日期"]
ID1 = "11010519491231002X"
ID2 = "360102198501011238"


def ps_row(i: int, name: str = "张三", id_number: str = ID1, birth: str = "1949-12-31") -> list[str]:
    return [f"H{i:04d}", name, id_number, "男", birth, "户主", "南昌市东湖区八一大道1号", "360102", "正常", "20200101"]


def write_csv(folder: Path, name: str, header: list[str], rows: list[list[str]], *, encoding="gb18030",
              sep=",", marker: int | str | None = "auto", newline="\r\n", extra_lines_before: list[str] = (),
              tail: list[str] = ()) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    lines = list(extra_lines_before) + [sep.join(header)] + [sep.join(r) for r in rows] + list(tail)
    path = folder / name
    path.write_bytes((newline.join(lines) + newline).encode(encoding))
    if marker == "auto":
        marker = len(rows)
    if marker is not None:
        (folder / (name + ".ok")).write_text(str(marker), encoding="ascii")
    return path


@pytest.fixture
def inbox(tmp_path) -> Path:
    return tmp_path / "inbox"


def read(inbox: Path, source: str, tmp_path: Path) -> tuple[DeliveryManifest, pl.DataFrame]:
    out = tmp_path / "raw" / f"{source}.parquet"
    manifest = read_delivery(load_map(source), inbox / source / DATE, inbox, out, DATE)
    return manifest, pl.read_parquet(out)


def folder(inbox: Path, source: str = "public_security") -> Path:
    return inbox / source / DATE


# -- encodings and separators -----------------------------------------------------------

@pytest.mark.parametrize(("encoding", "expected"), [("gb18030", "gb18030"), ("utf-8", "utf-8"),
                                                    ("utf-8-sig", "utf-8-sig")])
@pytest.mark.parametrize("sep", [",", "\t"])
def test_every_encoding_and_separator_reads_the_same_rows(inbox, tmp_path, encoding, expected, sep):
    rows = [ps_row(1, "陈𠮷"), ps_row(2, "欧阳·娜仁", ID2, "1985-01-01")]
    write_csv(folder(inbox), "ps.csv", PS_HEADER, rows, encoding=encoding, sep=sep)
    manifest, df = read(inbox, "public_security", tmp_path)
    assert manifest.status == "delivered", manifest.message_zh
    f = manifest.files[0]
    assert (f.encoding, f.delimiter, f.rows_read, f.marker_count, f.complete) == (
        expected, "tab" if sep == "\t" else "comma", 2, 2, True)
    assert df["name"].to_list() == ["陈𠮷", "欧阳·娜仁"]
    assert df["id_number"].to_list() == [ID1, ID2]
    assert df["row_no"].to_list() == [2, 3]
    assert df["file_name"].unique().to_list() == [f"public_security/{DATE}/ps.csv"]
    assert df["read_error"].null_count() == 2


def test_raw_parquet_follows_the_contract(inbox, tmp_path):
    write_csv(folder(inbox, "bank"), "b.csv", ["机构名称", "户名", "证件号码", "账号", "账户类型", "余额(元)", "查询日期"],
              [["某银行", "张三", ID1, "6222000011112222", "活期", "1,234.50", "2026-11-26"]])
    manifest, _ = read(inbox, "bank", tmp_path)
    schema = pq.read_schema(tmp_path / "raw" / "bank.parquet")
    assert schema.remove_metadata() == raw_schema(load_map("bank"))
    assert [f.name for f in schema] == [
        "institution", "name", "id_number", "account_no", "account_type", "balance_yuan", "query_date",
        "balance_yuan__scale", "source", "delivery_date", "file_name", "row_no", "read_error"]
    assert schema.field("row_no").type == pa.int32()
    assert manifest.files[0].sha256 and len(manifest.files[0].sha256) == 64
    # row_no (one value per row) is written without a dictionary, the other columns with one
    chunks = pq.ParquetFile(tmp_path / "raw" / "bank.parquet").metadata.row_group(0)
    dictionary = {chunks.column(i).path_in_schema: chunks.column(i).has_dictionary_page
                  for i in range(chunks.num_columns)}
    assert not dictionary.pop("row_no") and all(dictionary.values())


def test_quoted_fields_keep_separators_and_quotes(inbox, tmp_path):
    header = ["机构名称", "户名", "证件号码", "账号", "账户类型", "余额", "查询日期"]
    lines = [
        ",".join(header),
        '"中国银行,南昌分行","张三","11010519491231002X","6222 0000 1111","活期","1,234.50","2026-11-26"',
        '某银行,"李""四""",360102198501011238,62220000,定期,"12,000",2026/11/26',
    ]
    f = folder(inbox, "bank")
    f.mkdir(parents=True)
    (f / "b.csv").write_bytes(("\r\n".join(lines) + "\r\n").encode("gb18030"))
    (f / "b.csv.ok").write_text("2")
    manifest, df = read(inbox, "bank", tmp_path)
    assert manifest.status == "delivered", manifest.message_zh
    assert df["institution"].to_list() == ["中国银行,南昌分行", "某银行"]
    assert df["name"].to_list() == ["张三", '李"四"']
    assert df["balance_yuan"].to_list() == ["1,234.50", "12,000"]
    assert df["read_error"].null_count() == 2


def test_a_quoted_value_spanning_lines_is_one_row_numbered_by_its_first_line(inbox, tmp_path):
    rows = [ps_row(1), ps_row(2), ps_row(3)]
    rows[1][6] = '"南昌市\n东湖区"'
    write_csv(folder(inbox), "ps.csv", PS_HEADER, rows, newline="\n")
    manifest, df = read(inbox, "public_security", tmp_path)
    assert manifest.status == "delivered", manifest.message_zh
    assert df["row_no"].to_list() == [2, 3, 5]
    assert df["address"][1] == "南昌市\n东湖区"


def test_wrong_number_of_fields_is_a_read_error_not_a_lost_row(inbox, tmp_path):
    rows = [ps_row(1), ps_row(2)[:7], ps_row(3) + ["多余"]]
    write_csv(folder(inbox), "ps.csv", PS_HEADER, rows)
    manifest, df = read(inbox, "public_security", tmp_path)
    assert manifest.files[0].rows_read == 3 and manifest.files[0].read_errors == 2
    assert df["read_error"].to_list() == [None, "第3行有7个字段，表头有10个字段", "第4行有11个字段，表头有10个字段"]
    assert manifest.status == "delivered"


def test_a_trailing_separator_on_every_row_is_accepted(inbox, tmp_path):
    f = folder(inbox)
    f.mkdir(parents=True)
    body = ",".join(PS_HEADER) + "\n" + ",".join(ps_row(1)) + ",\n"
    (f / "ps.csv").write_bytes(body.encode("gb18030"))
    (f / "ps.csv.ok").write_text("1")
    manifest, df = read(inbox, "public_security", tmp_path)
    assert df["read_error"].to_list() == [None]


# -- undecodable bytes ------------------------------------------------------------------------

@pytest.mark.parametrize("chunk_bytes", [None, 64])
def test_an_undecodable_byte_quarantines_only_its_line(inbox, tmp_path, monkeypatch, chunk_bytes):
    if chunk_bytes:
        monkeypatch.setattr(textfile, "CHUNK_BYTES", chunk_bytes)
    rows = [ps_row(i, "王五") for i in range(1, 6)]
    path = write_csv(folder(inbox), "ps.csv", PS_HEADER, rows)
    data = path.read_bytes()
    bad_at = data.index(b"H0003") + 6  # inside line 4 (H0003's row), in the name
    path.write_bytes(data[:bad_at] + b"\xff" + data[bad_at:])
    manifest, df = read(inbox, "public_security", tmp_path)
    f = manifest.files[0]
    assert (f.rows_read, f.read_errors, f.complete) == (5, 1, True)
    assert df["row_no"].to_list() == [2, 3, 4, 5, 6]
    err = df.filter(pl.col("read_error").is_not_null())
    assert err["row_no"].to_list() == [4]
    assert err["read_error"][0].startswith("第4行含无法按GB18030解码的字节（0xFF）")
    assert "\ufffd" in err["name"][0]
    assert df.filter(pl.col("read_error").is_null())["name"].to_list() == ["王五"] * 4


def test_a_utf8_file_with_one_bad_line_stays_utf8(inbox, tmp_path):
    rows = [ps_row(i, "赵六") for i in range(1, 40)]
    path = write_csv(folder(inbox), "ps.csv", PS_HEADER, rows, encoding="utf-8")
    data = path.read_bytes().replace("H0020,赵六".encode(), b"H0020," + "赵".encode("gbk") + "六".encode())
    path.write_bytes(data)
    manifest, df = read(inbox, "public_security", tmp_path)
    assert manifest.files[0].encoding == "utf-8"
    assert df.filter(pl.col("read_error").is_not_null())["row_no"].to_list() == [21]
    assert "UTF-8" in df["read_error"].drop_nulls()[0]


# -- 合计, duplicates, markers ------------------------------------------------------------------

def test_summary_row_is_neither_written_nor_counted(inbox, tmp_path):
    rows = [ps_row(1), ps_row(2)]
    write_csv(folder(inbox), "ps.csv", PS_HEADER, rows, tail=["合计,,,,,,,,,", ""])
    manifest, df = read(inbox, "public_security", tmp_path)
    f = manifest.files[0]
    assert (f.rows_read, f.summary_rows, f.complete) == (2, 1, True)
    assert df.height == 2


def test_duplicate_rows_are_both_delivered(inbox, tmp_path):
    rows = [ps_row(1), ps_row(1), ps_row(2)]
    write_csv(folder(inbox), "ps.csv", PS_HEADER, rows)
    manifest, df = read(inbox, "public_security", tmp_path)
    assert manifest.status == "delivered"
    assert df.height == 3 and df["row_no"].to_list() == [2, 3, 4]


def test_missing_marker_makes_the_source_incomplete(inbox, tmp_path):
    write_csv(folder(inbox), "ps.csv", PS_HEADER, [ps_row(1)], marker=None)
    manifest, df = read(inbox, "public_security", tmp_path)
    assert manifest.status == "incomplete"
    assert not manifest.files[0].complete
    assert "ps.csv缺少完成标记ps.csv.ok" in manifest.files[0].problems[0]
    assert df.height == 1  # still written: staging quarantines it with the reason
    assert manifest.incomplete_files() == {f"public_security/{DATE}/ps.csv": manifest.files[0].problems[0]}


def test_marker_count_that_differs_makes_the_source_incomplete(inbox, tmp_path):
    write_csv(folder(inbox), "ps.csv", PS_HEADER, [ps_row(1), ps_row(2)], marker=4)  # 3: the header (traps23 TE05)
    manifest, _ = read(inbox, "public_security", tmp_path)
    assert manifest.status == "incomplete"
    assert manifest.files[0].problems == ["ps.csv的完成标记写明4行，实际读到2行，文件可能不完整，请部门核对后重新交付该文件及其完成标记"]
    assert "交付不完整" in manifest.message_zh


def test_marker_without_data_file_is_reported(inbox, tmp_path):
    write_csv(folder(inbox), "ps.csv", PS_HEADER, [ps_row(1)])
    (folder(inbox) / "ps_2.csv.ok").write_text("5")
    manifest, _ = read(inbox, "public_security", tmp_path)
    assert manifest.status == "incomplete"
    assert "ps_2.csv" in manifest.problems[0]


def test_no_folder_or_no_data_file_is_missing(inbox, tmp_path):
    manifest, df = read(inbox, "public_security", tmp_path)
    assert manifest.status == "missing" and df.height == 0
    assert pq.read_schema(tmp_path / "raw" / "public_security.parquet").remove_metadata() == raw_schema(
        load_map("public_security"))
    folder(inbox).mkdir(parents=True)
    manifest, _ = read(inbox, "public_security", tmp_path)
    assert manifest.status == "missing"
    assert "没有数据文件" in manifest.message_zh


def test_several_files_are_read_in_name_order_into_one_parquet(inbox, tmp_path):
    write_csv(folder(inbox), "ps_2.csv", PS_HEADER, [ps_row(3)], encoding="utf-8")
    write_csv(folder(inbox), "ps.csv", PS_HEADER, [ps_row(1), ps_row(2)])
    manifest, df = read(inbox, "public_security", tmp_path)
    assert [f.file_name.rsplit("/", 1)[1] for f in manifest.files] == ["ps.csv", "ps_2.csv"]
    assert manifest.rows_total == 3 == df.height
    assert df["hukou_no"].to_list() == ["H0001", "H0002", "H0003"]



def test_many_small_files_are_gathered_into_row_groups_in_order(inbox, tmp_path, monkeypatch):
    from connectors import raw

    monkeypatch.setattr(raw, "ROW_GROUP_ROWS", 5)
    for k in range(6):  # 2 rows each: row groups of at least 5 rows gather several files
        write_csv(folder(inbox), f"ps_{k}.csv", PS_HEADER, [ps_row(2 * k + 1), ps_row(2 * k + 2)])
    manifest, df = read(inbox, "public_security", tmp_path)
    assert manifest.rows_total == 12 == df.height
    assert df["hukou_no"].to_list() == [f"H{i:04d}" for i in range(1, 13)]
    assert df["file_name"].to_list() == [f"public_security/{DATE}/ps_{k}.csv" for k in range(6) for _ in range(2)]
    meta = pq.ParquetFile(tmp_path / "raw" / "public_security.parquet").metadata
    assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == [6, 6]
    assert pq.read_table(tmp_path / "raw" / "public_security.parquet").schema == raw_schema(load_map("public_security"))


def test_field_counts_of_plain_lines_beside_quoted_ones(inbox, tmp_path):
    """Only lines holding a quote go through the quoting regex; plain lines are counted as they are."""
    rows = [ps_row(i) for i in range(1, 9)]
    rows[1] = rows[1][:8]  # plain, too few fields
    rows[2][6] = '"南昌市,东湖区"'  # quoted, a separator inside
    rows[4] = rows[4] + ["多余"]  # plain, too many
    rows[5][1] = '"李""四"""'  # quoted, escaped quotes
    rows[6] = rows[6][:9] + ['"多,余"', "x"]  # quoted, too many
    write_csv(folder(inbox), "ps.csv", PS_HEADER, rows)
    manifest, df = read(inbox, "public_security", tmp_path)
    assert manifest.files[0].rows_read == 8
    errors = dict(zip(df["row_no"].to_list(), df["read_error"].to_list(), strict=True))
    assert errors == {2: None, 3: "第3行有8个字段，表头有10个字段", 4: None, 5: None,
                      6: "第6行有11个字段，表头有10个字段", 7: None, 8: "第8行有11个字段，表头有10个字段", 9: None}
    assert df["address"][2] == "南昌市,东湖区" and df["name"][5] == '李"四"'


def test_sniffing_sees_the_first_lines_as_the_whole_head_decodes_them():
    """The preview decodes only the lines it shows, yet byte for byte as decoding the whole head would."""
    head = b'"\xd6\xd0\x810"\n\x81\x30\n,a\xe4\xb8\xad\n' + "户号,姓名\n".encode("gb18030") * 50
    for encoding in ("gb18030", "utf-8"):
        text = head.decode(encoding, "replace")
        for n in (1, 2, 3, 40):
            expected = [textfile.preview_rows(line.encode("utf-8"), "utf-8", ",")[0] if line else []
                        for line in text.split("\n")[:n]]
            assert textfile.preview_rows(head, encoding, ",", n) == expected
    # the UTF-8 verdict: more of the non-ASCII lines decode as UTF-8 than fail (a Chinese line in
    # GB18030 practically never decodes as UTF-8, while GB18030 decodes almost any bytes: read as
    # GB18030, the UTF-8 lines would become silent mojibake)
    good, bad = "张三\n".encode(), "张三\n".encode("gb18030")
    assert textfile.detect_encoding(good * 9 + bad + b"abc\n" * 5) == "utf-8"
    assert textfile.detect_encoding(good * 8 + bad * 2) == "utf-8"
    assert textfile.detect_encoding(good * 4 + bad * 5) == "gb18030"
    assert textfile.detect_encoding(b"abc\n" * 3) == "utf-8"
    assert textfile.detect_encoding(bad) == "gb18030"

# -- headers ----------------------------------------------------------------------------------

def test_header_matching_ignores_spaces_width_and_units():
    bank = load_map("bank")
    assert bank.lookup(" 余 额（元）")[0].column == "balance_yuan"
    assert bank.lookup("余额(元)") == (bank.spec("balance_yuan"), 1.0)
    assert bank.lookup("余额（万元）") == (bank.spec("balance_yuan"), 10000.0)
    assert bank.lookup("ｘｘ")[0] is None
    br = load_map("business_registry")
    assert br.lookup("注册资本（万元）") == (br.spec("registered_capital_yuan"), 10000.0)
    assert br.lookup("认缴出资额万元") == (br.spec("subscribed_yuan"), 10000.0)
    assert header_key("证件号码 ") == ("证件号码", "")


def test_wan_yuan_header_sets_the_scale_column(inbox, tmp_path):
    header = ["统一社会信用代码", "主体名称", "主体类型", "登记状态", "注册资本（万元）", "人员姓名", "人员证件号", "人员角色",
              "认缴出资额(元)", "成立日期"]
    write_csv(folder(inbox, "business_registry"), "br.csv", header,
              [["91360100X", "某公司", "有限责任公司", "存续", "50", "张三", ID1, "股东", "100000", "2020-01-01"]])
    manifest, df = read(inbox, "business_registry", tmp_path)
    assert df["registered_capital_yuan__scale"].to_list() == [10000.0]
    assert df["subscribed_yuan__scale"].to_list() == [1.0]
    assert manifest.files[0].scales == {"registered_capital_yuan": 10000.0}


def test_missing_optional_and_extra_columns_are_recorded(inbox, tmp_path):
    header = [h for h in PS_HEADER if h != "变动日期"] + ["备注"]
    rows = [ps_row(1)[:9] + ["无"]]
    write_csv(folder(inbox), "ps.csv", header, rows)
    manifest, df = read(inbox, "public_security", tmp_path)
    f = manifest.files[0]
    assert f.complete and manifest.status == "delivered"
    assert f.missing_headers == ["变动日期"] and f.extra_headers == ["备注"]
    assert any("ps.csv缺少列：变动日期" in p for p in f.problems)
    assert any("ps.csv有映射中没有的列：备注" in p for p in f.problems)
    assert df["change_date"].to_list() == [None]


def test_a_renamed_id_header_makes_the_file_unusable(inbox, tmp_path):
    header = ["人员编号" if h == "公民身份号码" else h for h in PS_HEADER]  # 身份证号码 is the ID column (traps23 TE09)
    write_csv(folder(inbox), "ps.csv", header, [ps_row(1)])
    manifest, _ = read(inbox, "public_security", tmp_path)
    f = manifest.files[0]
    assert manifest.status == "incomplete"
    assert f.missing_headers == ["公民身份号码"] and f.extra_headers == ["人员编号"]
    assert "ps.csv缺少必需列：公民身份号码" in f.problems[0]


def test_a_title_row_above_a_csv_header_is_skipped(inbox, tmp_path):
    write_csv(folder(inbox), "ps.csv", PS_HEADER, [ps_row(1)], extra_lines_before=["某县户籍人员名单", ""])
    manifest, df = read(inbox, "public_security", tmp_path)
    assert manifest.files[0].header_row == 3
    assert df["row_no"].to_list() == [4]


# -- empty and unexpected files ----------------------------------------------------------------

def test_an_empty_file_is_incomplete(inbox, tmp_path):
    f = folder(inbox)
    f.mkdir(parents=True)
    (f / "ps.csv").write_bytes(b"")
    (f / "ps.csv.ok").write_text("0")
    manifest, df = read(inbox, "public_security", tmp_path)
    assert manifest.status == "incomplete" and df.height == 0
    assert manifest.files[0].problems == ["ps.csv是空文件（没有表头）；没有数据时请部门交付只有表头的文件、完成标记写0，有数据时重新导出后交付"]


def test_a_header_only_file_with_marker_zero_is_a_delivery_of_nothing(inbox, tmp_path):
    write_csv(folder(inbox), "ps.csv", PS_HEADER, [])
    manifest, df = read(inbox, "public_security", tmp_path)
    assert manifest.status == "delivered" and df.height == 0


def test_an_xls_that_is_html_is_reported_with_what_to_do(inbox, tmp_path):
    f = folder(inbox)
    f.mkdir(parents=True)
    (f / "ps.xls").write_text("<html><body><table><tr><td>户号</td></tr></table></body></html>", encoding="utf-8")
    (f / "ps.xls.ok").write_text("0")
    (f / "readme.txt").write_text("说明", encoding="utf-8")
    manifest, _ = read(inbox, "public_security", tmp_path)
    assert manifest.status == "incomplete"
    problems = {fm.file_name.rsplit("/", 1)[1]: fm.problems[0] for fm in manifest.files}
    assert "ps.xls实为网页（HTML）文件" in problems["ps.xls"] and "另存为.xlsx" in problems["ps.xls"]
    assert "readme.txt" not in problems and manifest.ignored == ["readme.txt"]  # a note without a marker


# -- XLSX --------------------------------------------------------------------------------------

def write_xlsx(path: Path, title: str | None, header: list[str], rows: list[list[object]]) -> None:
    import xlsxwriter

    path.parent.mkdir(parents=True, exist_ok=True)
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet()
    datefmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    r = 0
    if title:
        ws.write_string(0, 0, title)
        r = 2  # an empty row between title and header
    for c, h in enumerate(header):
        ws.write_string(r, c, h)
    for row in rows:
        r += 1
        for c, v in enumerate(row):
            if v is None:
                continue
            if isinstance(v, dt.date):
                ws.write_datetime(r, c, dt.datetime(v.year, v.month, v.day), datefmt)
            elif isinstance(v, (int, float)):
                ws.write_number(r, c, v)
            else:
                ws.write_string(r, c, v)
    wb.close()


def test_xlsx_with_title_row_dates_serials_and_numeric_ids(inbox, tmp_path):
    header = ["户号", "姓名", "公民身份号码", "性别", "出生日期", "与户主关系", "户籍地址", "区划代码", "人员状态", "变动日期"]
    rows = [
        ["0001", "张三", ID1, "男", dt.date(1949, 12, 31), "户主", "某地", "360102", "正常", 44931],
        [2, "李四", 360102198501011238, "女", "1985-01-01", "配偶", "某地", 360102, "正常", dt.date(2023, 1, 5)],
        [3, "王五", 110105491231002, "男", 1234.5, "子女", "某地", 360102, "正常", None],
        ["合计", None, None, None, None, None, None, None, None, None],
    ]
    path = folder(inbox) / "ps.xlsx"
    write_xlsx(path, "某县户籍人员名单", header, rows)
    (folder(inbox) / "ps.xlsx.ok").write_text("3")
    manifest, df = read(inbox, "public_security", tmp_path)
    assert manifest.status == "delivered", manifest.message_zh
    f = manifest.files[0]
    assert (f.format, f.header_row, f.rows_read, f.summary_rows) == ("xlsx", 3, 3, 1)
    assert df["row_no"].to_list() == [4, 5, 6]
    assert df["hukou_no"].to_list() == ["0001", "2", "3"]
    assert df["id_number"].to_list() == [ID1, "3.60102E+17", "110105491231002"]
    assert df["birth_date"].to_list() == ["1949-12-31", "1985-01-01", "1234.5"]
    assert df["change_date"].to_list() == ["44931", "2023-01-05", None]
    assert df["region_code"].to_list() == ["360102"] * 3


def test_an_xlsx_that_is_not_a_workbook_is_reported(inbox, tmp_path):
    f = folder(inbox)
    f.mkdir(parents=True)
    (f / "ps.xlsx").write_bytes(b"not a zip file at all")
    (f / "ps.xlsx.ok").write_text("0")
    manifest, _ = read(inbox, "public_security", tmp_path)
    assert manifest.status == "incomplete"
    assert "ps.xlsx不是有效的.xlsx文件" in manifest.files[0].problems[0]


# -- Parquet -----------------------------------------------------------------------------------

def test_parquet_of_any_column_types_becomes_text(inbox, tmp_path):
    table = pa.table({
        "证件号码": pa.array([ID1, ID2, "合计"]),
        "姓名": pa.array(["张三", "李四", None]),
        "单位名称": pa.array(["甲", None, None]),
        "月缴存基数": pa.array([5000.0, 4321.5, None]),
        "月缴存额": pa.array([600, 500, 1100], pa.int64()),
        "账户余额": pa.array([12000.25, 0.0, None]),
        "账户状态": pa.array(["正常", "封存", None]),
        "截至日期": pa.array([dt.date(2026, 10, 31), dt.date(2026, 11, 1), None]),
    })
    f = folder(inbox, "housing_fund")
    f.mkdir(parents=True)
    pq.write_table(table, f / "hf.parquet")
    (f / "hf.parquet.ok").write_text("2")
    manifest, df = read(inbox, "housing_fund", tmp_path)
    assert manifest.status == "delivered", manifest.message_zh
    assert df["deposit_base_yuan"].to_list() == ["5000", "4321.5"]
    assert df["monthly_deposit_yuan"].to_list() == ["600", "500"]
    assert df["balance_yuan"].to_list() == ["12000.25", "0"]
    assert df["as_of_date"].to_list() == ["2026-10-31", "2026-11-01"]
    assert df["row_no"].to_list() == [1, 2]
    assert manifest.files[0].summary_rows == 1


# -- chunked reading -----------------------------------------------------------------------------

def test_chunk_boundaries_do_not_change_rows_or_line_numbers(inbox, tmp_path, monkeypatch):
    rows = [ps_row(i, "孙" + "七" * (i % 5)) for i in range(1, 301)]
    rows[150][6] = '"带,逗号的地址"'
    write_csv(folder(inbox), "ps.csv", PS_HEADER, rows)
    _, whole = read(inbox, "public_security", tmp_path)
    monkeypatch.setattr(textfile, "CHUNK_BYTES", 97)
    _, chunked = read(inbox, "public_security", tmp_path / "again")
    assert whole.equals(chunked)
    assert chunked["row_no"].to_list() == list(range(2, 302))
    assert chunked["address"][150] == "带,逗号的地址"


def test_a_stray_quote_does_not_swallow_the_following_lines(inbox, tmp_path):
    rows = [ps_row(i) for i in range(1, 40)]
    rows[5][6] = '"南昌市东湖区'  # opens a quoted value that never closes
    rows[8][1] = '张"三'  # a quote inside a value
    write_csv(folder(inbox), "ps.csv", PS_HEADER, rows)
    manifest, df = read(inbox, "public_security", tmp_path)
    f = manifest.files[0]
    assert f.rows_read == 39 and f.complete
    assert df["row_no"].to_list() == list(range(2, 41))
    errors = df.filter(pl.col("read_error").is_not_null())
    assert errors["row_no"].to_list() == [7]
    assert errors["read_error"][0] == "第7行引号不成对，无法可靠拆分字段"
    assert df.filter(pl.col("row_no") == 10)["name"].to_list() == ['张"三']


def test_a_utf16_csv_is_reported_with_what_to_do(inbox, tmp_path):
    f = folder(inbox)
    f.mkdir(parents=True)
    (f / "ps.csv").write_bytes("\t".join(PS_HEADER).encode("utf-16"))
    (f / "ps.csv.ok").write_text("0")
    manifest, _ = read(inbox, "public_security", tmp_path)
    assert manifest.status == "incomplete"
    assert "ps.csv是UTF-16编码" in manifest.files[0].problems[0]


def test_xlsx_from_another_writer_with_leading_empty_column(inbox, tmp_path):
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "户籍"
    for c, h in enumerate(PS_HEADER, start=2):  # starts in column B, row 3
        ws.cell(row=3, column=c, value=h)
    values = ps_row(1)
    values[2] = 360102198501011238  # a numeric ID cell
    for c, v in enumerate(values, start=2):
        ws.cell(row=4, column=c, value=v)
    ws.cell(row=5, column=2, value="H0002")
    ws.cell(row=5, column=4, value=ID2)
    for c, v in enumerate(ps_row(2)[3:], start=5):
        ws.cell(row=5, column=c, value=v)
    path = folder(inbox) / "ps.xlsx"
    path.parent.mkdir(parents=True)
    wb.save(path)
    (folder(inbox) / "ps.xlsx.ok").write_text("2")
    manifest, df = read(inbox, "public_security", tmp_path)
    assert manifest.status == "delivered", manifest.message_zh
    assert df["row_no"].to_list() == [4, 5]
    assert df["id_number"].to_list() == ["3.60102E+17", ID2]
    assert df["hukou_no"].to_list() == ["H0001", "H0002"]


@pytest.mark.slow
def test_a_large_gb18030_csv_streams_fast(inbox, tmp_path):
    """1M rows (~100 MB GB18030): reports the read rate; fails only if it is absurdly slow."""
    import logging
    import time

    f = folder(inbox)
    f.mkdir(parents=True)
    line = ",".join(ps_row(0, "欧阳𠮷")).replace("H0000", "{:08d}") + "\r\n"
    with open(f / "big.csv", "wb") as fh:
        fh.write((",".join(PS_HEADER) + "\r\n").encode("gb18030"))
        block = "".join(line.format(i) for i in range(10_000)).encode("gb18030")
        for _ in range(100):
            fh.write(block)
    (f / "big.csv.ok").write_text("1000000")
    started = time.perf_counter()
    manifest, _ = read(inbox, "public_security", tmp_path)
    seconds = time.perf_counter() - started
    logging.getLogger(__name__).info("GB18030 CSV: %.0f rows/s", 1_000_000 / seconds)
    assert manifest.status == "delivered" and manifest.rows_total == 1_000_000
    assert 1_000_000 / seconds > 50_000
