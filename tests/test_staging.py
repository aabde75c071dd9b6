"""Staging: given raw rows, expected staged rows and quarantine rows (one per raw row kept out)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from connectors import DeliveryManifest, FileManifest, load_map, raw_schema, read_delivery
from hedui.errors import ReconciliationError
from hedui.steps.ingest import LINEAGE_COLUMNS, _create_lineage_type, load_macros, render, stage_source

RUN = "20261128"
F1 = f"bank/{RUN}/bank_A.csv"
F2 = f"bank/{RUN}/bank_B.csv"
ID1 = "11010519491231002X"
BAD_CHECK = "110105194912310021"

BANK_COLUMNS = ["institution", "name", "id_number", "account_no", "account_type", "balance_yuan", "query_date"]


def bank_raw(rows: list[tuple], path: Path) -> Path:
    """rows: (file_name, row_no, read_error, scale, *BANK_COLUMNS values)."""
    smap = load_map("bank")
    data = {c: [] for c in raw_schema(smap).names}
    for file_name, row_no, read_error, scale, *values in rows:
        for c, v in zip(BANK_COLUMNS, values, strict=True):
            data[c].append(v)
        data["balance_yuan__scale"].append(scale)
        data["source"].append("bank")
        data["delivery_date"].append(RUN)
        data["file_name"].append(file_name)
        data["row_no"].append(row_no)
        data["read_error"].append(read_error)
    pq.write_table(pa.table(data, schema=raw_schema(smap)), path)
    return path


def row(no, name="张三", id_number=ID1, balance="1,234.50", date="2026-11-26", *, file=F1, err=None, scale=1.0,
        account="6222000011112222"):
    return (file, no, err, scale, "某银行", name, id_number, account, "活期", balance, date)


GIVEN = [
    row(2),                                             # staged
    row(3),                                             # exact copy of row 2 → duplicate
    row(4, date="2023-13-45"),                          # bad date
    row(5, balance="-5"),                               # negative balance
    row(6, balance="约3万"),                             # unparseable amount
    row(7, err="第7行有6个字段，表头有7个字段"),            # read error
    row(8, name="李 四", id_number=BAD_CHECK),            # staged, bad_check kept for fuzzy linkage
    row(9, name="王五", id_number="3.60102E+17"),         # staged, scientific
    row(10, name="赵六", balance=None),                  # staged, balance unknown (NULL, never 0)
    row(11, name="張三豐", id_number="110105491231002"),  # staged, traditional name, 15-digit ID
    row(12, name="钱七", balance="12.5", scale=10000.0),  # staged, 万元 → 125000
    row(2, name="孙八", file=F2),                         # file B is incomplete → quarantined
    row(3, name="孙八", file=F2, date="bad"),             # incomplete wins over the bad date
]


def manifest(incomplete_reason: str | None = None, rows_total: int | None = None) -> DeliveryManifest:
    files = [FileManifest(file_name=F1, format="csv", rows_read=11)]
    fb = FileManifest(file_name=F2, format="csv", rows_read=2)
    if incomplete_reason:
        fb.fail(incomplete_reason)
    files.append(fb)
    m = DeliveryManifest(source="bank", delivery_date=RUN, location=f"bank/{RUN}", files=files)
    m.finish("银行")
    if rows_total is not None:
        m.rows_total = rows_total
    return m


INCOMPLETE_B = "bank_B.csv缺少完成标记bank_B.csv.ok，文件可能尚未传完"


@pytest.fixture
def staged(tmp_path):
    """File A alone, complete (one incomplete file makes every file of its delivery kept out: see below)."""
    raw = bank_raw(GIVEN[:-2], tmp_path / "raw.parquet")
    m = DeliveryManifest(source="bank", delivery_date=RUN, location=f"bank/{RUN}",
                         files=[FileManifest(file_name=F1, format="csv", rows_read=11)]).finish("银行")
    counts = stage_source(raw, load_map("bank"), RUN, tmp_path / "staged.parquet", tmp_path / "quarantine.parquet",
                          manifest=m)
    return counts, pl.read_parquet(tmp_path / "staged.parquet"), pl.read_parquet(tmp_path / "quarantine.parquet")


def test_every_raw_row_lands_in_exactly_one_place(staged):
    counts, s, q = staged
    assert (counts.raw_rows, counts.staged_rows, counts.quarantined_rows) == (11, 6, 5)
    assert counts.by_rule == {"bad_amount": 1, "bad_date": 1, "duplicate": 1, "negative_balance": 1, "read_error": 1}
    keys = set(zip(s["file_name"], s["row_no"], strict=True)) | set(zip(q["file_name"], q["row_no"], strict=True))
    assert len(keys) == 11


def test_one_incomplete_file_keeps_every_file_of_its_delivery_out_saying_which_and_why(tmp_path):
    """The source counts as not delivered (sources.md): the complete file's rows are quarantined too, not staged as
    partial figures; the incomplete file's reason wins over a row's own problem (a bad date)."""
    raw = bank_raw(GIVEN, tmp_path / "raw.parquet")
    counts = stage_source(raw, load_map("bank"), RUN, tmp_path / "s.parquet", tmp_path / "q.parquet",
                          manifest=manifest(INCOMPLETE_B))
    assert (counts.raw_rows, counts.staged_rows, counts.quarantined_rows) == (13, 0, 13)
    assert counts.by_rule == {"incomplete_file": 13}
    got = {(r["file_name"], r["row_no"]): r["reason_zh"] for r in pl.read_parquet(tmp_path / "q.parquet").iter_rows(
        named=True)}
    assert got[(F2, 2)] == got[(F2, 3)] == f"文件不完整（{INCOMPLETE_B}），本次未采用"
    assert got[(F1, 2)] == ("本文件完整，但同一交付中另有文件不完整，本来源本次按未交付处理，本文件的行未作为核对依据；"
                            f"请部门补齐后重跑。不完整之处：{INCOMPLETE_B}")


def test_staged_rows_are_typed_normalized_and_traceable(staged):
    _, s, _ = staged
    expected = pl.DataFrame({
        "row_no": [2, 8, 9, 10, 11, 12],
        "name": ["张三", "李 四", "王五", "赵六", "張三豐", "钱七"],
        "balance_yuan": [1234.5, 1234.5, 1234.5, None, 1234.5, 125000.0],
        "query_date": [dt.date(2026, 11, 26)] * 6,
        "id_norm": [ID1, None, None, ID1, ID1, ID1],
        "id_status": ["valid", "bad_check", "scientific", "valid", "converted_15", "valid"],
        "name_norm": ["张三", "李四", "王五", "赵六", "张三丰", "钱七"],
    }, schema_overrides={"row_no": pl.Int32})
    assert s.select(expected.columns).equals(expected)
    assert s["record_id"][0] == f"bank:{F1}:2"
    assert s["run_date"].unique().to_list() == [RUN]
    assert s["id_number"][1] == BAD_CHECK  # the delivered value stays for probabilistic linkage


def test_staged_table_follows_the_contract(staged):
    _, s, _ = staged
    assert s.columns == BANK_COLUMNS + ["id_norm", "id_status", "name_norm", "run_date", "source", "delivery_date",
                                        "file_name", "row_no", "record_id"]
    assert s.schema["balance_yuan"] == pl.Float64 and s.schema["query_date"] == pl.Date
    assert s.schema["row_no"] == pl.Int32


def test_quarantine_says_why_in_chinese_and_masks_personal_values(staged):
    _, _, q = staged
    assert q.columns == ["run_date", "source", "file_name", "row_no", "column_name", "value_masked", "rule",
                         "reason_zh"]
    got = {(r["file_name"], r["row_no"]): r for r in q.iter_rows(named=True)}
    masked_id = "110105********002X"
    assert got[(F1, 3)] | {} == {"run_date": RUN, "source": "bank", "file_name": F1, "row_no": 3,
                                 "column_name": None, "value_masked": masked_id, "rule": "duplicate",
                                 "reason_zh": f"与{F1}第2行重复"}
    assert (got[(F1, 4)]["column_name"], got[(F1, 4)]["value_masked"], got[(F1, 4)]["rule"]) == (
        "query_date", "2023-13-45", "bad_date")
    assert got[(F1, 4)]["reason_zh"] == '"查询日期"值"2023-13-45"无法识别为日期'
    assert got[(F1, 5)]["rule"] == "negative_balance" and "余额" in got[(F1, 5)]["reason_zh"]
    # an approximate amount's reason says it is one (STYLE.md: staff text says what was wrong and what to do;
    # test_contract_traps27 BC07)
    assert got[(F1, 6)]["reason_zh"] == ('"余额"值"约3万"是约数，不是确切的金额，该行未计入；'
                                         '请部门填写确切金额（如25000.00）后重新交付')
    assert (got[(F1, 7)]["rule"], got[(F1, 7)]["reason_zh"]) == ("read_error", "第7行有6个字段，表头有7个字段")
    assert all(ID1 not in (v or "") for v in q["value_masked"].to_list() + q["reason_zh"].to_list())


def test_a_count_that_does_not_add_up_raises(tmp_path):
    raw = bank_raw(GIVEN[:2], tmp_path / "raw.parquet")
    with pytest.raises(ReconciliationError, match="对账不平"):
        stage_source(raw, load_map("bank"), RUN, tmp_path / "s.parquet", tmp_path / "q.parquet",
                     manifest=manifest(rows_total=5))


def test_staging_on_a_given_connection_leaves_nothing_behind(tmp_path):
    raw = bank_raw(GIVEN[:3], tmp_path / "raw.parquet")
    con = duckdb.connect()
    counts = stage_source(raw, load_map("bank"), RUN, tmp_path / "s.parquet", tmp_path / "q.parquet", con,
                          manifest=None, threads=1)
    assert (counts.staged_rows, counts.quarantined_rows) == (1, 2)
    assert con.sql("select count(*) from duckdb_tables() where table_name like '_hd_%'").fetchall() == [(0,)]
    assert con.sql("select count(*) from duckdb_types() where type_name like '_hd_%'").fetchall() == [(0,)]
    con.close()


def test_month_and_number_columns_are_typed(tmp_path):
    inbox = tmp_path / "inbox"
    folder = inbox / "social_insurance" / RUN
    folder.mkdir(parents=True)
    header = "身份证号,姓名,险种,类别,月份,缴费基数,待遇金额,单位名称"
    lines = [header, f"{ID1},张三,失业保险,缴费,202610,\"3,000\",,某公司", f"{ID1},张三,失业保险,缴费,2026年13月,3000,,某公司"]
    (folder / "si.csv").write_bytes(("\n".join(lines) + "\n").encode("gb18030"))
    (folder / "si.csv.ok").write_text("2")
    smap = load_map("social_insurance")
    m = read_delivery(smap, folder, inbox, tmp_path / "raw.parquet", RUN)
    counts = stage_source(tmp_path / "raw.parquet", smap, RUN, tmp_path / "s.parquet", tmp_path / "q.parquet",
                          manifest=m)
    s, q = pl.read_parquet(tmp_path / "s.parquet"), pl.read_parquet(tmp_path / "q.parquet")
    assert counts.by_rule == {"bad_month": 1}
    assert s["period_month"].to_list() == [dt.date(2026, 10, 1)]
    assert s["contribution_base_yuan"].to_list() == [3000.0]
    assert s["benefit_yuan"].to_list() == [None]
    assert q["reason_zh"].to_list() == ['"月份"值"2026年13月"无法识别为月份']


def test_masking_macros():
    con = duckdb.connect()
    load_macros(con)
    assert con.sql(
        "select hd_mask_id('11010519491231002X'), hd_mask_account('6222 0000 1111 2222'), hd_mask_name('欧阳修'), "
        "hd_mask_account('12')"
    ).fetchall() == [("110105********002X", "****2222", "欧*", "****")]


def test_load_macros_only_those_a_query_calls():
    """With a query, only the macros it calls (and theirs) are created: the same answers, less to bind."""
    sql = "select hd_name_norm(x), hd_amount(x, 1) from (values ('１２3')) t(x)"
    some, every = duckdb.connect(), duckdb.connect()
    load_macros(some, sql)
    load_macros(every)
    assert some.sql(sql).fetchall() == every.sql(sql).fetchall() == [("123", 123.0)]
    created = {r[0] for r in some.sql("select function_name from duckdb_functions() where function_name like 'hd_%'"
                                      ).fetchall()}
    assert {"hd_name_norm", "hd_fold", "hd_remove_ws", "hd_amount", "hd_amount_clean", "hd_amount_text"} <= created
    assert not created & {"hd_id_status", "hd_id_norm", "hd_date", "hd_mask_id"}


def test_names_renormalized_counts_the_deliverys_distinct_exceptional_names(tmp_path):
    """Traditional names go to Python once each; the count covers quarantined rows' names too."""
    rows = [row(2, name="張三豐"), row(3, name="張三豐", account="6222000011113333"),  # one distinct name
            row(4, name="劉備", date="2023-13-45"),                                  # only on a quarantined row
            row(5, name="李四")]                                                     # simplified: SQL only
    m = DeliveryManifest(source="bank", delivery_date=RUN, location=f"bank/{RUN}",
                         files=[FileManifest(file_name=F1, format="csv", rows_read=4)])
    m.finish("银行")
    counts = stage_source(bank_raw(rows, tmp_path / "raw.parquet"), load_map("bank"), RUN, tmp_path / "s.parquet",
                          tmp_path / "q.parquet", manifest=m)
    assert counts.names_renormalized == 2
    assert pl.read_parquet(tmp_path / "s.parquet")["name_norm"].to_list() == ["张三丰", "张三丰", "李四"]


def test_lineage_leaves_duckdb_as_dictionaries_and_the_files_as_plain_strings(tmp_path):
    """split.sql hands the lineage columns (run date, source, delivery date, file name: a few values
    each) to Arrow dictionary-encoded, not one string per row; the staged file and its protected twin
    still hold plain strings, row by row the delivered ones.  300 files: a dictionary of more than
    255 values (16-bit indices)."""
    from hedui.privacy.keys import Keys
    from hedui.privacy.protect import StreamProtector

    files = [f"bank/{RUN}/bank_{i:03d}.csv" for i in range(300)]
    rows = [row(n, file=f, account=f"62220000{i:04d}{n:04d}") for i, f in enumerate(files) for n in (2, 3)]
    raw = bank_raw(rows, tmp_path / "raw.parquet")
    smap = load_map("bank")
    con = duckdb.connect()
    sql = render("split", smap)
    load_macros(con, sql)
    con.sql("create temp table _hd_dups as select 1 as file_row_number where false")
    params = {"raw_parquet": str(raw), "run_date": RUN, "incomplete_files": [], "incomplete_reasons": []}
    _create_lineage_type(con, params)
    split = con.sql(sql, params={k: v for k, v in params.items() if "$" + k in sql}).to_arrow_table()
    assert all(pa.types.is_dictionary(split.schema.field(c).type) for c in LINEAGE_COLUMNS)
    assert split.column("file_name").to_pylist() == [r[0] for r in rows]

    keys = Keys(bytes([5]) * 32, bytes([105]) * 32)
    protect = StreamProtector(keys, tmp_path / "protected.parquet", raw_id_columns=("id_number",),
                              account_columns=("account_no",))
    counts = stage_source(raw, smap, RUN, tmp_path / "s.parquet", tmp_path / "q.parquet", manifest=None,
                          protect=protect)
    assert counts.staged_rows == len(rows)
    for path in (tmp_path / "s.parquet", tmp_path / "protected.parquet"):
        staged = pq.read_table(path)
        for c in LINEAGE_COLUMNS:
            assert staged.schema.field(c).type == pa.string(), (path.name, c)
        assert staged.column("file_name").to_pylist() == [r[0] for r in rows]
        assert set(staged.column("run_date").to_pylist()) == {RUN}
        assert set(zip(staged.column("source").to_pylist(), staged.column("delivery_date").to_pylist(),
                       strict=True)) == {("bank", RUN)}
        assert staged.column("record_id").to_pylist() == [f"bank:{r[0]}:{r[1]}" for r in rows]
        assert duckdb.sql(f"select typeof(file_name) from read_parquet('{path}') limit 1").fetchall() == [
            ("VARCHAR",)]


def test_the_duplicates_pass_asks_every_rule_and_binds_no_reason(tmp_path):
    """duplicates.sql only asks whether a rule keeps a row out (then it is no duplicate): every check of split.sql is
    there, with its rule, but without the reason text, whose binding was most of the statement's plan; a delivery
    where no row shares the cheap hash with another gets an empty ``_hd_dups`` without duplicates.sql being run."""
    import re

    from hedui.settings import sources
    from hedui.steps.dupkeys import find_duplicates

    for source in sources():
        smap = load_map(source)
        split, dups = render("split", smap), render("duplicates", smap)
        assert re.findall(r"'rule': '(\w+)'", dups) == re.findall(r"'rule': '(\w+)'", split), source
        assert "无法识别" in split and "无法识别" not in dups, source
    raw = bank_raw([row(2), row(3, balance="99")], tmp_path / "distinct.parquet")
    smap = load_map("bank")
    con = duckdb.connect()
    load_macros(con, render("dup_candidates", smap) + render("duplicates", smap))
    params = {"raw_parquet": str(raw), "run_date": RUN, "incomplete_files": [], "incomplete_reasons": [],
              "ambiguous_months": []}
    find_duplicates(con, render("dup_candidates", smap), "select no_such_column", params)  # not run: no candidate
    assert con.sql("select count(*) from _hd_dups").fetchall() == [(0,)]
    raw = bank_raw([row(2), row(3, balance="99"), row(4, balance="99.00")], tmp_path / "copied.parquet")
    counts = stage_source(raw, smap, RUN, tmp_path / "s.parquet", tmp_path / "q.parquet", manifest=None)
    assert (counts.staged_rows, counts.quarantined_rows, counts.by_rule) == (2, 1, {"duplicate": 1})
