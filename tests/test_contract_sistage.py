"""Session 30 (sistage): a month column parsed once per distinct cell (``hedui.steps.staging_checks.month_lookups``).

Pinned: the staged rows, the quarantine and the duplicates found are the same as with ``hd_month`` on every row (the
code before: ``MONTH_LOOKUP_MAX = 0`` takes that path) on sources.md's "values as they come" — months in both forms
and every other spelling, amounts with units, separators or nothing, IDs in all forms; the lookup's value equals
``hd_month`` per cell; no lookup for a column with no cell or too many; nothing left on a given connection.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from connectors import load_map, raw_schema
from hedui.steps import staging_checks
from hedui.steps.ingest import stage_source
from hedui.steps.stage_db import load_macros
from hedui.steps.staging_checks import month_lookups

RUN = "20261128"
FILE = f"social_insurance/{RUN}/si.csv"
ID1 = "11010519491231002X"
SI_COLUMNS = ["id_number", "name", "scheme", "category", "period_month", "contribution_base_yuan", "benefit_yuan",
              "employer"]

MONTHS = ["2025-11", "202511", "2025年11月", "2025年1月份", "2025.1", "2025.10", "2025.01", "2025.11", "2025/11",
          "2025-1", "202511.0", "202511月", "2025-11-15", "2025年第11期", "2025年第2期", "26年11月", "无", "", " ",
          "\u30002025-11\u3000", "２０２５-１１", "202513", "2025-00", "45658", "19500", "bad", None, "2025-11至2025-12",
          "2025Q1", "2025年", "NULL", "0000-00", "2025-11 ", "Nov 2025", "2025年11月1日", "20251101"]
AMOUNTS = ["3,000", "3000元", "0.3万", "", None, "约3万", "-5", "１２３", "3,000.00", "1.2万元", "3000.5", "¥3000",
           "3000.0000000001"]
IDS = [ID1, ID1.lower(), "110105491231002", f" {ID1}", f"'{ID1}", "3.60102E+17", "110105194912310021",
       f"代理人{ID1}", None, ""]


def si_raw(rows: list[dict], path):
    smap = load_map("social_insurance")
    schema = raw_schema(smap)
    data = {c: [] for c in schema.names}
    for no, r in enumerate(rows, start=2):
        for c in SI_COLUMNS:
            data[c].append(r.get(c))
        data["contribution_base_yuan__scale"].append(r.get("scale", 1.0))
        data["benefit_yuan__scale"].append(1.0)
        data["source"].append("social_insurance")
        data["delivery_date"].append(RUN)
        data["file_name"].append(FILE)
        data["row_no"].append(no)
        data["read_error"].append(None)
    pq.write_table(pa.table(data, schema=schema), path)
    return path


def base(**kw) -> dict:
    return {"id_number": ID1, "name": "张三", "scheme": "失业保险", "category": "缴费", "period_month": "2025-11",
            "contribution_base_yuan": "3000", "benefit_yuan": None, "employer": "某公司", **kw}


def tricky_rows() -> list[dict]:
    rows = [base(period_month=m, contribution_base_yuan=AMOUNTS[i % len(AMOUNTS)], id_number=IDS[i % len(IDS)])
            for i, m in enumerate(MONTHS)]
    # copies in another form of the month (and the amount): duplicates, as staged; and a copy per cell
    rows += [base(period_month="202511", contribution_base_yuan="3,000.00"), base(period_month="2025年11月"),
             base(period_month="2025-12"), base(period_month="2025-12"), base(period_month="202601", scale=10000.0,
                                                                             contribution_base_yuan="0.3")]
    rows += [dict(r) for r in rows[:10]]
    return rows


def stage(raw, out, monkeypatch=None, limit=None):
    if monkeypatch is not None:
        monkeypatch.setattr(staging_checks, "MONTH_LOOKUP_MAX", limit)
    counts = stage_source(raw, load_map("social_insurance"), RUN, out / "s.parquet", out / "q.parquet", manifest=None,
                          threads=2)
    return counts, pq.read_table(out / "s.parquet"), pq.read_table(out / "q.parquet")


def _sorted(t: pa.Table) -> pa.Table:
    return t.sort_by([("row_no", "ascending"), *((c, "ascending") for c in t.column_names if c != "row_no"
                                                 and not pa.types.is_dictionary(t.schema.field(c).type))])


def test_BM01_months_amounts_ids_as_they_come_stage_as_with_hd_month_per_row(tmp_path, monkeypatch):
    raw = si_raw(tricky_rows(), tmp_path / "raw.parquet")
    (tmp_path / "new").mkdir()
    (tmp_path / "old").mkdir()
    new = stage(raw, tmp_path / "new")
    old = stage(raw, tmp_path / "old", monkeypatch, 0)  # no lookup: hd_month on every row (the code before)
    assert new[0].by_rule == old[0].by_rule and new[0].by_rule.get("duplicate", 0) >= 3
    assert (new[0].staged_rows, new[0].quarantined_rows) == (old[0].staged_rows, old[0].quarantined_rows)
    assert new[1].schema == old[1].schema and _sorted(new[1]).equals(_sorted(old[1]))
    assert new[2].equals(old[2])  # the quarantine is in delivery order
    assert {"bad_month", "bad_amount"} <= set(new[0].by_rule)


def test_BM02_a_copy_with_its_month_in_the_other_form_is_a_duplicate(tmp_path):
    rows = [base(period_month="2025-11"), base(period_month="202511"), base(period_month="２０２５年１１月"),
            base(period_month="2025-12"), base(period_month="202512", contribution_base_yuan="3001")]
    counts, s, q = stage(si_raw(rows, tmp_path / "raw.parquet"), tmp_path)
    assert counts.by_rule == {"duplicate": 2}
    assert sorted(q.column("row_no").to_pylist()) == [3, 4]
    assert sorted(s.column("row_no").to_pylist()) == [2, 5, 6]


def test_BM03_the_lookup_is_hd_month_of_each_cell_and_absent_without_cells_or_with_too_many(tmp_path, monkeypatch):
    raw = si_raw([base(period_month=m) for m in MONTHS], tmp_path / "raw.parquet")
    smap = load_map("social_insurance")
    con = duckdb.connect()
    load_macros(con, "select hd_month(x)")
    months = month_lookups(con, raw, smap)
    assert list(months) == ["period_month"]
    expr = months["period_month"].format(col='"period_month"')
    got = con.sql(f'select period_month, {expr} as a, hd_month(period_month) as b from read_parquet($r)',
                  params={"r": str(raw)}).fetchall()
    assert len(got) == len(MONTHS) and all(a == b for _, a, b in got)
    assert sum(a is not None for _, a, _ in got) > 10
    monkeypatch.setattr(staging_checks, "MONTH_LOOKUP_MAX", 5)
    assert month_lookups(con, raw, smap) == {}  # more distinct cells than the limit: hd_month per row
    monkeypatch.setattr(staging_checks, "MONTH_LOOKUP_MAX", 2000)
    empty = si_raw([base(period_month=None), base(period_month=None)], tmp_path / "empty.parquet")
    assert month_lookups(con, empty, smap) == {}  # no cell: nothing to look up
    con.close()


@pytest.mark.parametrize("limit", [2000, 0])
def test_BM04_staging_on_a_given_connection_leaves_no_month_type_behind(tmp_path, monkeypatch, limit):
    monkeypatch.setattr(staging_checks, "MONTH_LOOKUP_MAX", limit)
    raw = si_raw(tricky_rows(), tmp_path / "raw.parquet")
    con = duckdb.connect()
    stage_source(raw, load_map("social_insurance"), RUN, tmp_path / "s.parquet", tmp_path / "q.parquet", con,
                 manifest=None, threads=1)
    assert con.sql("select count(*) from duckdb_types() where type_name like '_hd_%'").fetchall() == [(0,)]
    con.close()
