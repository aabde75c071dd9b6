"""Session 33 (stageps): a date column with few distinct cells parsed once per distinct cell, as months are
(``hedui.steps.staging_checks.month_lookups``, ENUM ``_hd_date_<i>``, :data:`~hedui.steps.staging_checks.DATE_LOOKUP_MAX`).

Pinned: the lookup's value is ``hd_date`` of the cell on every row, for dates as they come (slashes, Chinese, full
width, spaces, Excel serials, impossible days, remarks, none-words, blanks); staging bank rows with such dates stages,
quarantines and finds duplicates as ``hd_date`` per row does (``DATE_LOOKUP_MAX = 0``: the code before); no lookup
for a column with no cell or too many, nor when a value is no date Python can write as a literal.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from connectors import load_map, raw_schema
from hedui.steps import staging_checks
from hedui.steps.ingest import stage_source
from hedui.steps.stage_db import load_macros
from hedui.steps.staging_checks import _python_dates, month_lookups

RUN = "20261128"
FILE = f"bank/{RUN}/bank_01.csv"
IDS = ["11010519491231002X", "110105194912310021", "11010519491231002x", " 11010519491231002X", "110105491231002",
       "代理人11010519491231002X", None, ""]
DATES = ["2026/11/26", "2026-11-26", "20261126", "2026年11月26日", "２０２６/１１/２６", " 2026/11/26", "2026/11/26 ",
         "\u30002026-11-26", "2026-02-30", "2026/13/01", "2024/02/29", "2025/02/29", "45678", "19500", "20261",
         "=2026/11/26", "'2026-11-26", "2026.11.26", "26/11/2026", "11/26/2026", "2026-11", "无", "", " ", "-",
         "0000-00-00", "NULL", "bad", None, "二〇二六年十一月二十六日", "2026年十一月二十六日", "2026-11-26 10:00:00",
         "2026/11/26（周四）", "2026/11/26星期四", "2026/11/26星期五", "2026-11-26\u200b", "Nov 26 2026", "1899-12-31",
         "9999-12-31", "2026/11/26备注", "2026/1/5", "2026/11/26\n"]


def bank_raw(dates: list, path, copies: int = 2):
    """Bank raw rows, one a date cell, each `copies` times (the copies: duplicates as staged)."""
    schema = raw_schema(load_map("bank"))
    data = {c: [] for c in schema.names}
    rows = [d for d in dates for _ in range(copies)]
    for no, d in enumerate(rows, start=2):
        i = dates.index(d)
        for c, v in (("institution", "某银行"), ("name", "张三"), ("id_number", IDS[i % len(IDS)]),
                     ("account_no", f"62284800000000{i:05d}"), ("account_type", ["活期", "定期", "活期存款"][i % 3]),
                     ("balance_yuan", ["25.30元", "1,000", "0.3万", "-5"][i % 4]), ("query_date", d),
                     ("balance_yuan__scale", 1.0), ("source", "bank"), ("delivery_date", RUN), ("file_name", FILE),
                     ("row_no", no), ("read_error", None)):
            data[c].append(v)
    pq.write_table(pa.table(data, schema=schema), path)
    return path


def stage(raw, out, monkeypatch=None, limit=None):
    out.mkdir()
    if monkeypatch is not None:
        monkeypatch.setattr(staging_checks, "DATE_LOOKUP_MAX", limit)
    counts = stage_source(raw, load_map("bank"), RUN, out / "s.parquet", out / "q.parquet", manifest=None, threads=2)
    return counts, pq.read_table(out / "s.parquet"), pq.read_table(out / "q.parquet")


def _sorted(t: pa.Table) -> pa.Table:
    return t.sort_by([("row_no", "ascending"), *((c, "ascending") for c in t.column_names if c != "row_no"
                                                 and not pa.types.is_dictionary(t.schema.field(c).type))])


def _con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    load_macros(con, "select hd_date(x)")
    return con


def test_CE01_the_date_lookup_is_hd_date_of_the_cell_on_every_row(tmp_path):
    raw = bank_raw(DATES, tmp_path / "raw.parquet", copies=1)
    con = _con()
    lookup = month_lookups(con, raw, load_map("bank"))["query_date"]
    assert "_hd_date_0" in lookup and "_hd_date_0" in staging_checks.lookup_types(load_map("bank"))
    got = con.sql(f"select query_date, {lookup.format(col='query_date')} as looked, hd_date(query_date) as per_row "
                  "from read_parquet($r)", params={"r": str(raw)}).fetchall()
    assert len(got) == len(DATES)
    assert [r for r in got if r[1] != r[2] and not (r[1] is None and r[2] is None)] == []
    assert sum(r[2] is not None for r in got) >= 10 and sum(r[2] is None for r in got) >= 10
    con.close()


def test_CE02_bank_staged_with_the_date_lookup_is_bank_staged_with_hd_date_per_row(tmp_path, monkeypatch):
    raw = bank_raw(DATES, tmp_path / "raw.parquet")
    new = stage(raw, tmp_path / "new")
    old = stage(raw, tmp_path / "old", monkeypatch, 0)  # no lookup: hd_date on every row (the code before)
    assert new[0].by_rule == old[0].by_rule
    assert new[0].by_rule.get("duplicate", 0) >= 10 and new[0].by_rule.get("bad_date", 0) >= 5
    assert (new[0].staged_rows, new[0].quarantined_rows) == (old[0].staged_rows, old[0].quarantined_rows)
    assert new[1].schema == old[1].schema and _sorted(new[1]).equals(_sorted(old[1]))
    assert new[2].equals(old[2])  # the quarantine, in delivery order, reasons quoting the cells


def test_CE03_no_lookup_without_cells_with_too_many_or_with_a_date_python_cannot_write(tmp_path, monkeypatch):
    con = _con()
    none = bank_raw([None], tmp_path / "none.parquet")
    assert "query_date" not in month_lookups(con, none, load_map("bank"))
    monkeypatch.setattr(staging_checks, "DATE_LOOKUP_MAX", len(DATES) - 2)
    many = bank_raw(DATES, tmp_path / "many.parquet", copies=1)
    assert "query_date" not in month_lookups(con, many, load_map("bank"))
    con.close()
    ends = pa.table({"v": ["a", "b", "c"], "value": pa.array([dt.date(1, 1, 1), dt.date(9999, 12, 31), None])})
    assert _python_dates(ends)
    assert _python_dates(pa.table({"v": ["a"], "value": pa.array([None], pa.date32())}))
    for days in (2932897, -719163):  # 10000-01-01 and the day before 0001-01-01
        assert not _python_dates(pa.table({"v": ["a"], "value": pa.array([days], pa.int32()).cast(pa.date32())}))
    assert not _python_dates(pa.table({"v": ["a"], "value": pa.array(["2026-11-26"])}))
