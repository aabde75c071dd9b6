"""Session 31 (amountstage): the duplicates pre-filter's value of an ID on neither fast path (``hd_id_clean_slow``: an ID
among words, with dashes, a label, brackets) computed once per distinct cell (``hedui.steps.dupkeys.id_lookups``).

Pinned: the pre-filter's hash is the one before row by row, and the staged rows, the quarantine and the duplicates
found are the same as with ``hd_id_clean_slow`` on every row (the code before: ``ID_LOOKUP_MAX = 0``) on IDs in all
the forms sources.md lists; the lookup's value is the slow path's for each cell; no lookup with too few such rows
among the first ones, with none or too many cells; nothing left on a given connection.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from connectors import load_map, raw_schema
from hedui.steps import dupkeys
from hedui.steps.dupkeys import _id_slow, dup_slots, id_lookups
from hedui.steps.ingest import stage_source
from hedui.steps.stage_db import load_macros

RUN = "20261128"
FILE = f"social_insurance/{RUN}/si.csv"
ID1 = "11010519491231002X"
SI_COLUMNS = ["id_number", "name", "scheme", "category", "period_month", "contribution_base_yuan", "benefit_yuan",
              "employer"]
SLOW_IDS = [f"代理人{ID1}", f"身份证:{ID1}", f"{ID1[:6]}-{ID1[6:14]}-{ID1[14:]}", f"（{ID1}）", f"'{ID1}", f"={ID1!r}",
            f"{ID1}。", "110105491231002", f"\u3000{ID1}\u3000", f"{ID1}/{ID1}", "１１０１０５１９４９１２３１００２Ｘ",
            "3.60102E+17", "bad", "", " ", None, ID1, ID1.lower(), f" {ID1} ", f"ID {ID1}", f"{ID1[:9]} {ID1[9:]}",
            f"公民身份号码：{ID1}", "110105-491231-002", f"{ID1}（本人）", "'110105491231002"]


def si_raw(rows: list[dict], path):
    smap = load_map("social_insurance")
    schema = raw_schema(smap)
    data = {c: [] for c in schema.names}
    for no, r in enumerate(rows, start=2):
        for c in SI_COLUMNS:
            data[c].append(r.get(c))
        data["contribution_base_yuan__scale"].append(1.0)
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


def rows() -> list[dict]:  # every form thrice, in two amounts' spellings: copies of each other
    return [base(id_number=v, contribution_base_yuan=["3000", "3,000.00", "3001"][i // len(SLOW_IDS)])
            for i, v in enumerate(SLOW_IDS * 3)]


def stage(raw, out):
    out.mkdir(exist_ok=True)
    counts = stage_source(raw, load_map("social_insurance"), RUN, out / "s.parquet", out / "q.parquet", manifest=None,
                          threads=2)
    return counts, pq.read_table(out / "s.parquet"), pq.read_table(out / "q.parquet")


def _sorted(t: pa.Table) -> pa.Table:
    return t.sort_by([("row_no", "ascending"), *((c, "ascending") for c in t.column_names if c != "row_no"
                                                 and not pa.types.is_dictionary(t.schema.field(c).type))])


def _con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()  # the optimizers all on: the lookup is cast only on the cells handed to it
    load_macros(con)
    return con


def test_BQ01_ids_on_neither_fast_path_stage_as_with_the_slow_path_per_row(tmp_path, monkeypatch):
    monkeypatch.setattr(dupkeys, "ID_SAMPLE_MIN", 1)
    raw = si_raw(rows(), tmp_path / "raw.parquet")
    con = _con()
    assert list(id_lookups(con, raw, load_map("social_insurance"))) == ["id_number"]  # the lookup is taken …
    con.close()
    got = stage(raw, tmp_path / "got")
    monkeypatch.setattr(dupkeys, "ID_LOOKUP_MAX", 0)  # … against hd_id_clean_slow on every row (the code before)
    per_row = stage(raw, tmp_path / "per_row")
    assert got[0].by_rule == per_row[0].by_rule and got[0].by_rule.get("duplicate", 0) >= 20
    assert (got[0].staged_rows, got[0].quarantined_rows) == (per_row[0].staged_rows, per_row[0].quarantined_rows)
    assert got[1].schema == per_row[1].schema and _sorted(got[1]).equals(_sorted(per_row[1]))
    assert got[2].equals(per_row[2])  # the quarantine, reasons and all, in delivery order


def test_BQ02_the_lookup_is_the_slow_path_of_each_cell_and_the_hash_the_one_before(tmp_path, monkeypatch):
    monkeypatch.setattr(dupkeys, "ID_SAMPLE_MIN", 1)
    raw = si_raw(rows(), tmp_path / "raw.parquet")
    smap = load_map("social_insurance")
    con = _con()
    lookups = id_lookups(con, raw, smap)
    expr = lookups["id_number"].format(col='"id_number"')
    got = con.sql(f"select id_number, {expr} as a, {_id_slow('id_number')} as b, regexp_full_match(trim(id_number), "
                  f"'[0-9]{{17}}[0-9Xx]') as fast from read_parquet($r)", params={"r": str(raw)}).fetchall()
    assert all(a == b for _, a, b, fast in got if not fast) and sum(a is not None for _, a, _, _ in got) > 30
    assert all(a is None for _, a, _, fast in got if fast)  # the fast paths' cells are never looked up
    old, new = dup_slots(smap)["dup_hash"], dup_slots(smap, lookups=lookups)["dup_hash"]
    assert old != new
    assert con.sql(f"select list(hash({old}) order by row_no) = list(hash({new}) order by row_no) "
                   f"from read_parquet($r)", params={"r": str(raw)}).fetchall() == [(True,)]
    con.close()


def test_BQ03_no_lookup_with_few_slow_rows_first_none_or_too_many_cells(tmp_path, monkeypatch):
    raw = si_raw(rows(), tmp_path / "raw.parquet")
    smap = load_map("social_insurance")
    con = _con()
    assert id_lookups(con, raw, smap) == {}  # 60 slow rows among the first: fewer than ID_SAMPLE_MIN
    monkeypatch.setattr(dupkeys, "ID_SAMPLE_MIN", 1)
    monkeypatch.setattr(dupkeys, "ID_LOOKUP_MAX", 5)
    assert id_lookups(con, raw, smap) == {}  # more distinct slow cells than the limit
    monkeypatch.setattr(dupkeys, "ID_LOOKUP_MAX", 5000)
    fast = si_raw([base(id_number=v) for v in [ID1, f" {ID1}", ID1.lower(), None]], tmp_path / "fast.parquet")
    assert id_lookups(con, fast, smap) == {}  # every cell on a fast path
    assert con.sql("select count(*) from duckdb_types() where type_name like '_hd_%'").fetchall() == [(0,)]
    con.close()


@pytest.mark.parametrize("limit", [5000, 0])
def test_BQ04_staging_on_a_given_connection_leaves_no_id_type_behind(tmp_path, monkeypatch, limit):
    monkeypatch.setattr(dupkeys, "ID_SAMPLE_MIN", 1)
    monkeypatch.setattr(dupkeys, "ID_LOOKUP_MAX", limit)
    raw = si_raw(rows(), tmp_path / "raw.parquet")
    con = duckdb.connect()
    stage_source(raw, load_map("social_insurance"), RUN, tmp_path / "s.parquet", tmp_path / "q.parquet", con,
                 manifest=None, threads=1)
    assert con.sql("select count(*) from duckdb_types() where type_name like '_hd_%'").fetchall() == [(0,)]
    con.close()
