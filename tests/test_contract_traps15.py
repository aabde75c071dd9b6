"""sources.md's "Delivery" read as departments deliver, round 15: exports pasted into one file (each with its title
row above its header, as sources.md allows above the first one), in CSV and in a workbook whose title is merged
across the row; Parquet typed as its writer likes (months and amounts as integers, a dictionary column, a decimal
balance, an account number as int64, a query date as a UTC instant, a balance as a list); a workbook whose months
are date cells shown as yyyy-mm and whose price is text led by Excel's apostrophe; the same answer delivered twice
under two names; a tab-separated file with quoted fields holding tabs and doubled quotes.  Small households built
by hand (tests/contract_world.py), one real pipeline run.  Cases of test_contract_traps*.py,
test_contract_deliveries.py, test_delivery_litter.py, test_format_invariance.py and test_bad_deliveries.py are not
repeated.

Policy of the run (hedui/policies/jiangxi_demo.yaml, 2026, 城市): standard 800 yuan/person/month, income window
2025-11 … 2026-10, financial assets at most 19,200 yuan per person, vehicles above 15 × 800 = 12,000 yuan.
"""

from __future__ import annotations

import datetime as dt
import io

import pytest
from contract_world import HEADERS, RUN, WINDOW, World, outcomes, query, xlsx_bytes

BANK = HEADERS["bank"]


def _csv(rows: list[list], sep: str = ",", encoding: str = "gb18030") -> bytes:
    return ("\r\n".join(sep.join(str(c) for c in r) for r in rows) + "\r\n").encode(encoding)


def _book(build) -> bytes:
    import openpyxl

    wb = openpyxl.Workbook()
    build(wb)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _parquet(columns: dict) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    buf = io.BytesIO()
    pq.write_table(pa.table(columns), buf)
    return buf.getvalue()


def _account(p: dict, number: str, balance, bank: str = "赣州银行") -> list:
    return [bank, p["name"], p["id"], number, "活期", balance, "20261126"]


def build() -> tuple[World, dict[str, bytes]]:  # noqa: PLR0915 - one household per block, read top to bottom
    import pyarrow as pa

    w = World()
    extra: dict[str, bytes] = {}
    # --- two exports pasted into one CSV (copy /b), each with its title above its header and its 合计 ----------------
    # 12,000 in each part: read whole 24,000 > 19,200; the second title read as a row, the file had one row more
    # than its marker and the bank source was not delivered for anyone
    (a,) = w.household("TU01", [("甘十五一", "本人")])
    (b,) = w.household("TU02", [("甘十五二", "本人")])
    extra["bank/中国银行 回执 合并.csv"] = _csv([
        ["中国银行查询回执（第一批）"], BANK, _account(a, "6216000000000001501", "12000", "中国银行"),
        _account(b, "6216000000000001502", "3000", "中国银行"), ["合计", "", "", "", "", "15000", ""],
        ["中国银行查询回执（第二批）"], BANK, _account(a, "6216000000000001503", "12000", "中国银行"),
        ["合计", "", "", "", "", "12000", ""]])
    extra["bank/中国银行 回执 合并.csv.ok"] = b"3"
    w.expect("TU01", "FINDINGS", "FINANCIAL_ASSETS_OVER_LIMIT")
    w.expect("TU02", "CLEAR", "")
    # the same in a workbook, each title merged across its row (every cell of the range reads the title)
    (c,) = w.household("TU03", [("甘十五三", "本人")])

    def pasted(wb):
        ws = wb.active
        for title, number in (("赣州银行查询回执（一）", "6230000000000001531"), ("赣州银行查询回执（二）", "6230000000000001532")):
            ws.append([title])
            ws.merge_cells(start_row=ws.max_row, start_column=1, end_row=ws.max_row, end_column=len(BANK))
            ws.append(BANK)
            ws.append(_account(c, number, 10000))
    extra["bank/赣州银行 两次导出.xlsx"] = _book(pasted)
    extra["bank/赣州银行 两次导出.xlsx.ok"] = b"2"
    w.expect("TU03", "FINDINGS", "FINANCIAL_ASSETS_OVER_LIMIT")
    # --- the same answer delivered twice under two names (a re-send the bank's system named “(1)”) -------------------
    # 15,000 counted once is under 19,200; twice it would be over
    (d,) = w.household("TU04", [("甘十五四", "本人")])
    answer = _csv([BANK, _account(d, "6216000000000001541", "15000", "江西银行")])
    extra["bank/江西银行回执.csv"] = answer
    extra["bank/江西银行回执.csv.ok"] = b"1"
    extra["bank/江西银行回执 (1).csv"] = answer
    extra["bank/江西银行回执 (1).csv.ok"] = b"1"
    w.expect("TU04", "CLEAR", "")
    # --- tab-separated, quotes around fields holding a tab, a doubled quote and a thousands separator ---------------
    (e,) = w.household("TU05", [("甘十五五", "本人")])
    extra["bank/农商行\u3000回执.csv"] = _csv([BANK, ['"江西""农商""\t银行"', e["name"], e["id"], "6216000000000001551",
                                                   "定期", '"25,000.00"', "2026-11-26"]], sep="\t")
    extra["bank/农商行\u3000回执.csv.ok"] = b"1"
    w.expect("TU05", "FINDINGS", "FINANCIAL_ASSETS_OVER_LIMIT")
    # --- Parquet as its writers type it --------------------------------------------------------------------------
    # tax: 所属期 and 收入额 as int64, 已缴税额 int32: 900 a month > 800
    (f,) = w.household("TU06", [("甘十五六", "本人")])
    extra["tax/个税.parquet"] = _parquet({
        "纳税人识别号": [f["id"]] * 12, "姓名": [f["name"]] * 12, "所得项目": ["工资薪金所得"] * 12,
        "所属期": pa.array([int(m) for m in WINDOW], pa.int64()), "收入额": pa.array([900] * 12, pa.int64()),
        "已缴税额": pa.array([0] * 12, pa.int32()), "扣缴义务人": ["赣州某某有限公司"] * 12})
    extra["tax/个税.parquet.ok"] = b"12"
    w.expect("TU06", "FINDINGS", "INCOME_OVER_STANDARD")
    # bank: a dictionary-encoded institution, the account as int64, a decimal balance, the query date a UTC instant
    (g,) = w.household("TU07", [("甘十五七", "本人")])
    extra["bank/银行.parquet"] = _parquet({
        "机构名称": pa.array(["九江银行"]).dictionary_encode(), "户名": [g["name"]], "证件号码": [g["id"]],
        "账号": pa.array([6216000000000001571], pa.int64()), "账户类型": ["定期"],
        "余额": pa.array([25000], pa.decimal128(12, 2)),
        "查询日期": pa.array([dt.datetime(2026, 11, 25, 16)], pa.timestamp("ms", tz="UTC"))})
    extra["bank/银行.parquet.ok"] = b"1"
    w.expect("TU07", "FINDINGS", "FINANCIAL_ASSETS_OVER_LIMIT")
    # a balance written as a list (a nested column): no amount that can be read, quarantined naming file and row
    (h,) = w.household("TU08", [("甘十五八", "本人")])
    extra["bank/嵌套.parquet"] = _parquet({
        "机构名称": ["九江银行"], "户名": [h["name"]], "证件号码": [h["id"]], "账号": ["6216000000000001581"],
        "账户类型": ["活期"], "余额": pa.array([[25000.0]], pa.list_(pa.float64())), "查询日期": ["20261126"]})
    extra["bank/嵌套.parquet.ok"] = b"1"
    w.expect("TU08", "INCOMPLETE", "RECORD_QUARANTINED")
    # --- a workbook: months as date cells shown yyyy-mm, a price as text behind Excel's apostrophe ----------------
    (i,) = w.household("TU09", [("甘十五九", "本人")])

    def pensions(wb):
        ws = wb.active
        ws.append(HEADERS["social_insurance"])
        for m in WINDOW:
            ws.append([i["id"], i["name"], "企业职工基本养老保险", "待遇", dt.datetime(int(m[:4]), int(m[4:]), 1), None,
                       900, "赣州某某有限公司"])
            ws.cell(ws.max_row, 5).number_format = "yyyy-mm"
    extra["social_insurance/养老待遇.xlsx"] = _book(pensions)
    extra["social_insurance/养老待遇.xlsx.ok"] = b"12"
    w.expect("TU09", "FINDINGS", "INCOME_OVER_STANDARD")
    (j,) = w.household("TU10", [("甘十五十", "本人")])

    def cars(wb):
        ws = wb.active
        ws.append(HEADERS["vehicle"])
        ws.append(["赣B15100", "小型汽车", "小型轿车", j["name"], j["id"], dt.datetime(2020, 5, 1), "非营运", "正常", "150000"])
        ws.cell(2, 9).quotePrefix = True
    extra["vehicle/车辆.xlsx"] = _book(cars)
    extra["vehicle/车辆.xlsx.ok"] = b"1"
    w.expect("TU10", "FINDINGS", "VEHICLE")
    return w, extra


@pytest.fixture(scope="module")
def traps15_run(tmp_path_factory):
    from hedui.pipeline import RunContext, run

    world, extra = build()
    inbox = tmp_path_factory.mktemp("traps15") / "inbox"
    world.write(inbox)
    for where, data in extra.items():
        source, name = where.split("/")
        (inbox / source / RUN / name).write_bytes(data)
    ctx = RunContext.of(inbox, tmp_path_factory.mktemp("traps15_work"), RUN)
    run(ctx)
    return world, ctx


def test_every_household_has_the_outcome_the_contract_gives_it(traps15_run):
    """TU01: each outcome by hand from policy.md (the pasted exports read whole: TU01 and TU03 over the limit,
    TU02 clear; before, the second title was a row and the bank source was not delivered for anyone)."""
    world, ctx = traps15_run
    got = outcomes(ctx)
    assert {rid: got[rid] for rid in world.expected} == world.expected


def test_the_titles_of_pasted_exports_are_no_rows_and_every_row_is_accounted_for(traps15_run):
    """TU02: per file, rows delivered = staged + quarantined; the titles above the repeated headers are neither
    (the markers count data rows only); the re-sent copy's row is quarantined naming the row it copies, the nested
    balance naming its value."""
    _, ctx = traps15_run
    recon = dict((f, (d, s, q)) for f, d, s, q in query(
        ctx, "select file, rows_delivered, rows_staged, rows_quarantined from reconciliation "
             "where run_date = ? and source = 'bank'", [RUN]))
    assert recon[f"bank/{RUN}/中国银行 回执 合并.csv"] == (3, 3, 0)
    assert recon[f"bank/{RUN}/赣州银行 两次导出.xlsx"] == (2, 2, 0)
    assert all(d == s + q for d, s, q in recon.values()), recon
    staged = query(ctx, "select file_name, row_no from stg_bank where file_name like ? order by 1, 2",
                   [f"bank/{RUN}/%两次导出%"])
    assert [r for _, r in staged] == [3, 6]
    q = query(ctx, "select file_name, row_no, rule, reason_zh from quarantine where run_date = ? and source = 'bank' "
                   "order by 1, 2", [RUN])
    assert sorted(q) == sorted([
        (f"bank/{RUN}/嵌套.parquet", 1, "bad_amount", '"余额"值"[25000.0]"无法识别为金额'),
        (f"bank/{RUN}/江西银行回执.csv", 2, "duplicate", f"与bank/{RUN}/江西银行回执 (1).csv第2行重复")])


@pytest.mark.parametrize(("title", "delivered"), [
    ("中国银行查询回执（第二批）", True),
    ("单位：万元", False),  # a unit for the rows below: never passed over as a title (the amounts would be 10,000 × off)
    ("360702198001010013", False),  # an ID number alone is about someone
])
def test_a_title_above_a_header_repeated_mid_file_is_passed_over_only_when_it_names_nothing(tmp_path, title, delivered):
    """TU03: the title line of a second export pasted below the first is no data row; a line giving a unit or
    an ID number stays a row, and the file then disagrees with its marker (the source not delivered)."""
    from connectors import load_map, read_delivery

    p = {"name": "伍十五", "id": "360702198001010013"}
    folder = tmp_path / "inbox" / "bank" / RUN
    folder.mkdir(parents=True)
    (folder / "b.csv").write_bytes(_csv([BANK, _account(p, "6230000000000001591", "100"), [title], BANK,
                                         _account(p, "6230000000000001592", "2")]))
    (folder / "b.csv.ok").write_bytes(b"2")
    manifest = read_delivery(load_map("bank"), folder, tmp_path / "inbox", tmp_path / "raw.parquet", RUN)
    assert (manifest.status == "delivered") is delivered, manifest.message_zh
    if not delivered:
        assert "b.csv的完成标记写明2行，实际读到3行" in manifest.message_zh


@pytest.mark.parametrize("name", ["农商行\u3000回执.csv", "农商行\u00a0回执.csv"])
def test_a_file_name_with_a_full_width_or_no_break_space_is_read(tmp_path, name):
    """TU04: a name typed with the input method's full-width space (or copied with a no-break space) was refused
    as holding "控制字符或无法识别字符", and the whole source was not delivered; it is a space."""
    from connectors import load_map, read_delivery

    p = {"name": "伍十五", "id": "360702198001010013"}
    folder = tmp_path / "inbox" / "bank" / RUN
    folder.mkdir(parents=True)
    (folder / name).write_bytes(_csv([BANK, _account(p, "6230000000000001591", "100")]))
    (folder / f"{name}.ok").write_bytes(b"1")
    manifest = read_delivery(load_map("bank"), folder, tmp_path / "inbox", tmp_path / "raw.parquet", RUN)
    assert manifest.status == "delivered", manifest.message_zh
    assert [(f.file_name, f.rows_read) for f in manifest.files] == [(f"bank/{RUN}/{name}", 1)]


@pytest.mark.parametrize(("name", "data", "sep"), [
    ("b.csv", ";".join(BANK) + "\n", ";"),  # a European-locale export
    ("b.csv", ";".join(f'"{h}"' for h in BANK) + "\n", ";"),
    ("b.csv", "|".join(BANK) + "\n", "|"),  # a database's unload
    ("b.xlsx", [";".join(BANK)], ";"),  # the semicolon CSV opened in Excel without splitting, saved as .xlsx
])
def test_a_header_joined_by_another_separator_is_named_so_not_taken_for_a_persons_row(tmp_path, name, data, sep):
    """TU05: sources.md allows comma or tab: a header joined by `;` or `|` leaves the file unusable (the source not
    delivered), and the message said the first row “像是数据而不是表头” with the header masked as if a person's
    name (机*), telling the department to add the header it had written; it names the separator and what to do."""
    from connectors import load_map, read_delivery

    p = {"name": "伍十五", "id": "360702198001010013"}
    folder = tmp_path / "inbox" / "bank" / RUN
    folder.mkdir(parents=True)
    row = _account(p, "6230000000000001591", "100")
    if name.endswith(".xlsx"):
        (folder / name).write_bytes(xlsx_bytes([data, [sep.join(row)]]))
    else:
        (folder / name).write_text(data + sep.join(row) + "\n", encoding="utf-8")
    (folder / f"{name}.ok").write_bytes(b"1")
    manifest = read_delivery(load_map("bank"), folder, tmp_path / "inbox", tmp_path / "raw.parquet", RUN)
    assert manifest.status == "incomplete"
    assert manifest.files[0].problems == [
        f"{name}的第一行是以“{sep}”分隔的表头（机构名称、户名、证件号码、账号…），按约定.csv以逗号或制表符分隔、"
        ".xlsx每列一格，文件无法使用；请部门另存为逗号分隔的.csv（或分列后的.xlsx）后重新交付"]


def test_a_name_alone_above_a_repeated_header_stays_a_row(tmp_path):
    """TU06: a row of one cell above the repeated header is passed over as a title only when that cell is the
    row's first: a holder's name alone under 户名 is a row about someone (the file then disagrees with its marker)."""
    from connectors import load_map, read_delivery

    p = {"name": "伍十五", "id": "360702198001010013"}
    folder = tmp_path / "inbox" / "bank" / RUN
    folder.mkdir(parents=True)
    (folder / "b.xlsx").write_bytes(xlsx_bytes([BANK, _account(p, "6230000000000001591", 100), [None, p["name"]], BANK,
                                                _account(p, "6230000000000001592", 2)]))
    (folder / "b.xlsx.ok").write_bytes(b"2")
    manifest = read_delivery(load_map("bank"), folder, tmp_path / "inbox", tmp_path / "raw.parquet", RUN)
    assert manifest.status == "incomplete"
    assert "b.xlsx的完成标记写明2行，实际读到3行" in manifest.message_zh


def test_a_zero_byte_answer_with_marker_zero_is_not_delivered_and_says_how_to_answer_nothing(tmp_path):
    """TU07: a bank with no account of anyone asked about wrote an empty file and the marker 0: no header, so no
    delivery (pinned by test_connectors; the source not delivered, never a CLEAR on it); the message said only
    “是空文件（没有表头）”, not what the department should send instead."""
    from connectors import load_map, read_delivery

    folder = tmp_path / "inbox" / "bank" / RUN
    folder.mkdir(parents=True)
    (folder / "无账户.csv").write_bytes(b"")
    (folder / "无账户.csv.ok").write_bytes(b"0")
    manifest = read_delivery(load_map("bank"), folder, tmp_path / "inbox", tmp_path / "raw.parquet", RUN)
    assert manifest.status == "incomplete"
    assert manifest.files[0].problems == [
        "无账户.csv是空文件（没有表头）；没有数据时请部门交付只有表头的文件、完成标记写0，有数据时重新导出后交付"]
