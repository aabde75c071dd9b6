"""sources.md's "Delivery" read as a department delivers: one source as several files and over several dates,
round 12.  A source folder holding a GB18030 CSV, a workbook with a title row and a Parquet file (columns in other
orders, headers spelled otherwise, the same row in two of them), file names with spaces, Chinese and upper-case
extensions, one bank answer per file (the same account number at two banks, a bank answering "no account" with a
header-only file and marker 0), markers not named `<file>.ok`, one file of several incomplete, a correction
delivered under a later date.  Small households built by hand (tests/contract_world.py), real pipeline runs.
Cases of test_contract_traps*.py, test_contract_deliveries.py, test_delivery_litter.py, test_late_delivery.py and
test_bad_deliveries.py are not repeated.

Policy of the run (hedui/policies/jiangxi_demo.yaml, 2026, 城市): standard 800 yuan/person/month, income window
2025-11 … 2026-10, financial assets at most 19,200 yuan per person.
"""

import pytest
from contract_world import HEADERS, RUN, WINDOW, World, outcomes, parquet_bytes, query, xlsx_bytes


def _csv(header: list[str], rows: list[list], encoding: str = "gb18030") -> bytes:
    return ("\r\n".join(",".join(str(c) for c in r) for r in [header, *rows]) + "\r\n").encode(encoding)


BANK_A, BANK_B, BANK_C = "中国银行江西省分行", "赣州银行", "江西农商银行"


def build() -> tuple[World, dict[str, bytes]]:
    """The world and the hand-written files added to its deliveries (folder/name → bytes)."""
    w = World()
    extra: dict[str, bytes] = {}
    # --- tax as four files: the world's CSV, a GB18030 CSV (columns reordered, headers spelled otherwise), a
    # workbook with a title row above the header and a Parquet file, names with spaces, Chinese, upper case ------
    # 900 a month: four months in each of three files; any file not read, the income would look under 800
    (a,) = w.household("TN01", [("甘南一", "本人")])
    q1, q2, q3 = WINDOW[:4], WINDOW[4:8], WINDOW[8:]
    gb_header = ["所属期", "姓名", "纳税人识别号 ", "收入额（元）", "所得项目", "扣缴义务人", "已缴税额"]
    gb_rows = [[m, a["name"], a["id"], "900.00", "工资薪金所得", "赣州某某有限公司", "0"] for m in q1]
    # the same row in two files: 700 in 2026-04 read once is still under; twice (1,400) it is not
    (b,) = w.household("TN02", [("甘南二", "本人")])
    w.wages(b, WINDOW[:11], "700")
    gb_rows.append([WINDOW[11], b["name"], b["id"], "700", "工资薪金所得", "赣州某某有限公司", "0"])
    extra["tax/个税 明细 第一批.CSV"] = _csv(gb_header, gb_rows)
    extra["tax/个税 明细 第一批.CSV.ok"] = str(len(gb_rows)).encode()
    xl_header = ["扣缴义务人", "纳税人识别号", "所得项目", "所属期", "姓名", "收入额", "已缴税额"]
    extra["tax/TAX PART2.XLSX"] = xlsx_bytes([["2026年个人所得税收入明细（第二批）"], xl_header] + [
        ["赣州某某有限公司", a["id"], "工资薪金所得", int(m), a["name"], 900, 0] for m in q2])
    extra["tax/TAX PART2.XLSX.ok"] = b"4"
    extra["tax/税务 第三批.Parquet"] = parquet_bytes({
        "姓名": [a["name"]] * 4 + [b["name"]], "收入额": [900.0] * 4 + [700.0],
        "纳税人识别号": [a["id"]] * 4 + [b["id"]], "所属期": [*q3, WINDOW[11]], "所得项目": ["工资薪金所得"] * 5,
        "已缴税额": [0.0] * 5, "扣缴义务人": ["赣州某某有限公司"] * 5})
    extra["tax/税务 第三批.Parquet.ok"] = b"5"
    w.expect("TN01", "FINDINGS", "INCOME_OVER_STANDARD")
    w.expect("TN02", "CLEAR", "")
    # --- bank: one answer per bank ---------------------------------------------------------------------------
    # the same account number at two banks is two accounts: 10,000 + 10,000 = 20,000 over 19,200
    (c,) = w.household("TN03", [("甘南三", "本人")])
    bank_header = HEADERS["bank"]
    extra["bank/中国银行 回执.csv"] = _csv(bank_header, [
        [BANK_A, c["name"], c["id"], "6216000000000000301", "活期", "10000", "20261126"]])
    extra["bank/中国银行 回执.csv.ok"] = b"1"
    extra["bank/赣州银行回执.xlsx"] = xlsx_bytes([bank_header, [BANK_B, c["name"], c["id"], "6216000000000000301",
                                                           "定期", 10000, "20261126"]])
    extra["bank/赣州银行回执.xlsx.ok"] = b"1"
    w.expect("TN03", "FINDINGS", "FINANCIAL_ASSETS_OVER_LIMIT")
    # one account answered by the same bank in its CSV and again in its workbook: 12,000 once, not 24,000
    (d,) = w.household("TN04", [("甘南四", "本人")])
    extra["bank/中国银行 回执.csv"] = _csv(bank_header, [
        [BANK_A, c["name"], c["id"], "6216000000000000301", "活期", "10000", "20261126"],
        [BANK_A, d["name"], d["id"], "6216000000000000401", "活期", "12000", "20261126"]])
    extra["bank/中国银行 回执.csv.ok"] = b"2"
    extra["bank/中国银行 补充.xlsx"] = xlsx_bytes([["中国银行查询回执"], bank_header, [
        BANK_A, d["name"], d["id"], "6216000000000000401", "活期", 12000, "20261126"]])
    extra["bank/中国银行 补充.xlsx.ok"] = b"1"
    w.expect("TN04", "CLEAR", "")
    # a bank answering "no account": a header-only file with marker 0
    extra["bank/江西农商银行 无账户.csv"] = _csv(bank_header, [])
    extra["bank/江西农商银行 无账户.csv.ok"] = b"0"
    return w, extra


def write(world: World, extra: dict[str, bytes], inbox, date: str = RUN) -> None:
    world.write(inbox, date)
    for where, data in extra.items():
        source, name = where.split("/")
        (inbox / source / date / name).write_bytes(data)


@pytest.fixture(scope="module")
def traps12_run(tmp_path_factory):
    from hedui.pipeline import RunContext, run

    world, extra = build()
    inbox = tmp_path_factory.mktemp("traps12") / "inbox"
    write(world, extra, inbox)
    ctx = RunContext.of(inbox, tmp_path_factory.mktemp("traps12_work"), RUN)
    run(ctx)
    return world, ctx


def test_every_household_has_the_outcome_the_contract_gives_it(traps12_run):
    world, ctx = traps12_run
    got = outcomes(ctx)
    assert {rid: got[rid] for rid in world.expected} == world.expected


def test_every_row_of_every_file_is_staged_or_quarantined_and_a_copy_names_the_row_it_copies(traps12_run):
    """Per file: rows in = staged + quarantined; a header-only answer with marker 0 is a delivery of nothing; the
    account a bank answered in its CSV and its workbook is quarantined once naming file and row of the first, the
    wage in the GB18030 CSV and the Parquet file likewise; the same number at another bank is no copy."""
    _, ctx = traps12_run
    recon = query(ctx, "select file, rows_delivered, rows_staged, rows_quarantined from reconciliation "
                       "where run_date = ? and source in ('tax', 'bank') order by 1", [RUN])
    assert recon == [(f"bank/{RUN}/bank_{RUN}.csv", 0, 0, 0), (f"bank/{RUN}/中国银行 回执.csv", 2, 2, 0),
                     (f"bank/{RUN}/中国银行 补充.xlsx", 1, 0, 1), (f"bank/{RUN}/江西农商银行 无账户.csv", 0, 0, 0),
                     (f"bank/{RUN}/赣州银行回执.xlsx", 1, 1, 0), (f"tax/{RUN}/TAX PART2.XLSX", 4, 4, 0),
                     (f"tax/{RUN}/tax_{RUN}.csv", 11, 11, 0), (f"tax/{RUN}/个税 明细 第一批.CSV", 5, 5, 0),
                     (f"tax/{RUN}/税务 第三批.Parquet", 5, 4, 1)]
    q = query(ctx, "select file_name, row_no, rule, reason_zh from quarantine where run_date = ? "
                   "and source in ('tax', 'bank') order by 1, 2", [RUN])
    assert q == [(f"bank/{RUN}/中国银行 补充.xlsx", 3, "duplicate", f"与bank/{RUN}/中国银行 回执.csv第3行重复"),
                 (f"tax/{RUN}/税务 第三批.Parquet", 5, "duplicate", f"与tax/{RUN}/个税 明细 第一批.CSV第6行重复")]


# --- one file of several incomplete: the whole source is not delivered -----------------------------------------------

def build_partial() -> tuple[World, dict[str, bytes]]:
    """bank: one bank's answer complete, another's marker says 0 while it holds a row; tax: the world's CSV
    complete, a second file whose marker is named `税务补充.ok`, not `税务补充.csv.ok`."""
    w = World()
    extra: dict[str, bytes] = {}
    (a,) = w.household("TN11", [("甘北一", "本人")])
    (b,) = w.household("TN12", [("甘北二", "本人")])
    (c,) = w.household("TN13", [("甘北三", "本人")])
    (d,) = w.household("TN14", [("甘北四", "本人")])
    w.wages(a, WINDOW, "300")
    extra["bank/中国银行.csv"] = _csv(HEADERS["bank"], [
        [BANK_A, a["name"], a["id"], "6216000000000001101", "活期", "30000", "20261126"],
        [BANK_A, b["name"], b["id"], "6216000000000001201", "活期", "5000", "20261126"]])
    extra["bank/中国银行.csv.ok"] = b"2"
    extra["bank/赣州银行.csv"] = _csv(HEADERS["bank"], [
        [BANK_B, c["name"], c["id"], "6216000000000001301", "活期", "50000", "20261126"]])
    extra["bank/赣州银行.csv.ok"] = b"0"
    extra["tax/税务补充.csv"] = _csv(HEADERS["tax"], [
        [d["id"], d["name"], "工资薪金所得", m, "900", "0", "赣州某某有限公司"] for m in WINDOW])
    extra["tax/税务补充.ok"] = b"12"
    return w, extra


@pytest.fixture(scope="module")
def partial_run(tmp_path_factory):
    from hedui.pipeline import RunContext, run

    world, extra = build_partial()
    inbox = tmp_path_factory.mktemp("traps12p") / "inbox"
    write(world, extra, inbox)
    ctx = RunContext.of(inbox, tmp_path_factory.mktemp("traps12p_work"), RUN)
    run(ctx)
    return world, ctx


def test_one_incomplete_file_of_several_leaves_the_source_not_delivered_for_every_household(partial_run):
    world, ctx = partial_run
    got = outcomes(ctx)
    assert all(got[rid][0] == "INCOMPLETE" and "SOURCE_MISSING" in got[rid][1].split(";")
               for rid in ("TN11", "TN12", "TN13", "TN14")), got


def test_the_rows_of_the_complete_files_beside_an_incomplete_one_are_quarantined_saying_why(partial_run):
    """Nothing delivered is lost: the complete bank answer's rows are quarantined, naming file and row, saying the
    source is taken as not delivered because of the other file, and what to do."""
    _, ctx = partial_run
    rows = query(ctx, "select file_name, row_no, rule, reason_zh from quarantine where run_date = ? and source = 'bank'"
                      " order by file_name, row_no", [RUN])
    got = {(f, r): (rule, reason) for f, r, rule, reason in rows}
    assert set(got) == {(f"bank/{RUN}/中国银行.csv", 2), (f"bank/{RUN}/中国银行.csv", 3), (f"bank/{RUN}/赣州银行.csv", 2)}
    for (file, _), (rule, reason) in got.items():
        assert rule == "incomplete_file"
        if "中国银行" in file:
            assert reason.startswith("本文件完整，但同一交付中另有文件不完整，本来源本次按未交付处理，本文件的行未作为核对依据；请部门补齐后重跑")
            assert "赣州银行.csv的完成标记写明0行，实际读到1行" in reason
        else:
            assert "赣州银行.csv的完成标记写明0行，实际读到1行" in reason
    tax = query(ctx, "select file_name, count(*), min(reason_zh) from quarantine where run_date = ? and source = 'tax'"
                     " group by 1 order by 1", [RUN])
    assert [(f, n) for f, n, _ in tax] == [(f"tax/{RUN}/tax_{RUN}.csv", 12), (f"tax/{RUN}/税务补充.csv", 12)]
    assert "税务补充.csv缺少完成标记税务补充.csv.ok" in tax[1][2]
    assert "完成标记税务补充.ok没有对应的数据文件" in tax[0][2]
    recon = query(ctx, "select file, rows_delivered, rows_staged, rows_quarantined from reconciliation "
                       "where run_date = ? and source in ('bank', 'tax') order by 1", [RUN])
    assert all(d == q and s == 0 for _, d, s, q in recon), recon


# --- markers named otherwise than `<file>.ok` (sources.md is explicit: the marker is the data file's name + .ok) ------

@pytest.mark.parametrize(("data", "marker", "problems"), [
    # the marker named after the file without its extension: no marker for the file, and a marker without its file
    ("中国银行.csv", "中国银行.ok", ["中国银行.csv缺少完成标记中国银行.csv.ok", "完成标记中国银行.ok没有对应的数据文件",
                                        "目录中有中国银行.ok，与数据文件名不一致", "请部门将完成标记命名为中国银行.csv.ok"]),
    # the marker of `X.csv` beside a file named `X.CSV`: another name, as the contract writes it
    ("回执 A.CSV", "回执 A.csv.ok", ["回执 A.CSV缺少完成标记回执 A.CSV.ok", "完成标记回执 A.csv.ok没有对应的数据文件",
                                           "目录中有回执 A.csv.ok，与数据文件名不一致（大小写或扩展名不同）"]),
    ("回执.xlsx", "回执.xlsx.txt", ["回执.xlsx缺少完成标记回执.xlsx.ok"]),
])
def test_a_marker_not_named_after_its_file_leaves_the_file_incomplete_naming_both(tmp_path, data, marker, problems):
    from test_contract_deliveries import _deliver

    rows = [[BANK_A, "甘东一", "360702199001010011", "6216000000000003101", "活期", "5000", "20261126"]]
    body = xlsx_bytes([HEADERS["bank"], *rows]) if data.endswith("xlsx") else _csv(HEADERS["bank"], rows)
    manifest, staged, quarantined = _deliver(tmp_path, "bank", {data: body, marker: b"1"})
    assert manifest.status == "incomplete" and not staged
    assert [q["rule"] for q in quarantined] == ["incomplete_file"]
    said = " ".join(manifest.problems + [p for f in manifest.files for p in f.problems])
    assert all(p in said for p in problems), said


@pytest.mark.parametrize("name", ["工商银行 回执.CSV", "工商银行回执.XLSX", "工商银行.Parquet"])
def test_a_file_name_with_spaces_chinese_and_an_upper_case_extension_is_read_with_its_own_marker(tmp_path, name):
    from test_contract_deliveries import _deliver

    rows = [[BANK_A, "甘东二", "360702199001010038", "6216000000000003201", "活期", "5000", "20261126"]]
    if name.endswith("CSV"):
        body = _csv(HEADERS["bank"], rows)
    elif name.endswith("XLSX"):
        body = xlsx_bytes([["工商银行查询回执"], HEADERS["bank"], *rows])
    else:
        body = parquet_bytes({h: [v] for h, v in zip(HEADERS["bank"], rows[0], strict=True)})
    manifest, staged, quarantined = _deliver(tmp_path, "bank", {name: body, name + ".ok": b"1"})
    assert manifest.status == "delivered", manifest.message_zh
    assert [(s["name"], s["balance_yuan"]) for s in staged] == [("甘东二", 5000.0)] and not quarantined


# --- one source over several dates ------------------------------------------------------------------------------------

def test_a_later_dates_correction_is_that_dates_delivery_and_a_date_without_requests_says_so(tmp_path):
    """A bank answers 10,000 on the run date, then delivers 30,000 for the same account under a later date that has
    no requests: the run date (run again after the later one) weighs its own delivery only; the later date's run has
    no household, says the request list was not delivered and still accounts for the bank's row."""
    import json

    from hedui.pipeline import RunContext, run

    w = World()
    (a,) = w.household("TN21", [("甘西一", "本人")])
    w.bank(a, "10000", account="6216000000000002101")
    inbox = tmp_path / "inbox"
    w.write(inbox)
    later = "20261130"
    folder = inbox / "bank" / later
    folder.mkdir(parents=True)
    (folder / "更正 回执.csv").write_bytes(_csv(HEADERS["bank"], [
        [BANK_A, a["name"], a["id"], "6216000000000002101", "活期", "30000", "20261129"]]))
    (folder / "更正 回执.csv.ok").write_bytes(b"1")
    first = RunContext.of(inbox, tmp_path / "work", RUN)
    run(first)
    assert outcomes(first) == {"TN21": ("CLEAR", "")}
    second = RunContext.of(inbox, tmp_path / "work", later)
    run(second)
    assert outcomes(second) == {}
    status = json.loads(second.path("status", "requests", "json").read_text(encoding="utf-8"))
    assert status["status"] == "missing"
    assert status["reasons_zh"] == [f"核对委托未交付：没有找到交付目录requests/{later}"]
    assert query(second, "select file, rows_delivered, rows_staged from reconciliation where run_date = ? "
                          "and source = 'bank'", [later]) == [(f"bank/{later}/更正 回执.csv", 1, 1)]
    run(RunContext.of(inbox, tmp_path / "work", RUN))
    assert outcomes(first) == {"TN21": ("CLEAR", "")}
    assert query(first, "select balance_yuan from stg_bank where run_date = ?", [RUN]) == [(10000.0,)]


def test_every_households_page_names_the_file_that_kept_the_source_out_and_what_was_wrong(partial_run):
    _, ctx = partial_run
    for rid in ("TN11", "TN12", "TN13", "TN14"):
        page = (ctx.report_dir / "households" / f"{rid}.html").read_text(encoding="utf-8")
        assert "赣州银行.csv的完成标记写明0行，实际读到1行" in page, rid
        assert "税务补充.csv缺少完成标记税务补充.csv.ok" in page, rid
