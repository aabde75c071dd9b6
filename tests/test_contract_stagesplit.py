"""Session 33 (stagesplit): social insurance's and tax's staging pass, three cuts that must not change a row.

Pinned: ``hd_month_fast`` is ``hd_month`` on every cell of its two fast paths (all 6-digit and ``YYYY-MM`` cells) and
``hd_month_is_fast`` holds for no hostile cell; staging with the month looked up by it stages and quarantines as
``hd_month`` per row does; the duplicates pre-filter narrowed by ID and month (``dupkeys._narrowed``) finds the same
candidates and duplicates as hashing every value on every row; ``record_id`` is the ``||`` chain's text, NULL when a
part is.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pytest

from connectors import load_map
from hedui.steps import dupkeys
from hedui.steps.ingest import SQL_DIR, render
from hedui.steps.stage_db import load_macros
from hedui.steps.staging_checks import month_lookups
from tests.test_contract_sistage import AMOUNTS, IDS, _sorted, base, si_raw, stage, tricky_rows

HOSTILE = ["２０２５-１１", "２０２５１１", " 2025-11", "2025-11 ", "\u30002025-11", "2025-11\u200b", "2025-1", "025-11",
           "0202511", "2025111", "20251", "=202511", "'202511", "2025-11-01", "2.0251E+5", "2025–11", "2025_11",
           "", "-", "1,234.50", "202511.0", "0000-00", "012345", "2025-11\n", "\n202511", "2025-1１"]


def _con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    load_macros(con, "select hd_month(x), hd_month_fast(x), hd_month_is_fast(x)")
    return con


def test_BZ01_hd_month_fast_is_hd_month_on_every_cell_of_its_paths_and_no_hostile_cell_is_on_them():
    con = _con()
    cells = ("select cast(n as varchar) as v from range(100000, 1000000) t(n) union all "
             "select cast(y as varchar) || '-' || lpad(cast(m as varchar), 2, '0') from range(1000, 10000) a(y), "
             "range(0, 100) b(m)")
    bad, fast, valid = con.sql(
        f"select count(*) filter (where not hd_month_is_fast(v) or hd_month_fast(v) is distinct from hd_month(v)), "
        f"count(*) filter (where hd_month_is_fast(v)), count(hd_month_fast(v)) from ({cells})").fetchall()[0]
    assert (bad, fast) == (0, 1_800_000) and valid > 100_000
    con.register("h", pa.table({"v": HOSTILE}))
    assert con.sql("select v from h where hd_month_is_fast(v) or hd_month_fast(v) is not null").fetchall() == []
    con.close()


def _fast_rows() -> list[dict]:
    """Every month cell on the fast paths (both forms, invalid ones too), amounts and IDs as they come, copies."""
    months = ["2025-11", "202511", "202513", "2025-00", "2025-13", "190001", "2025-12", "999912", "1000-01"]
    rows = [base(period_month=m, contribution_base_yuan=AMOUNTS[i % len(AMOUNTS)], id_number=IDS[i % len(IDS)])
            for i, m in enumerate(months * 3)]
    rows += [base(period_month="202511", contribution_base_yuan="3,000.00"), base(period_month="2025-12"),
             base(period_month="2025-12"), base(period_month="202601", scale=10000.0, contribution_base_yuan="0.3"),
             base(period_month=None), base(period_month="2025-11", contribution_base_yuan="3001")]
    return rows + [dict(r) for r in rows[:8]]


@pytest.mark.parametrize("rows", [_fast_rows, tricky_rows], ids=["fast", "mixed"])
def test_BZ02_staging_with_the_fast_month_lookup_is_staging_with_hd_month_per_row(tmp_path, monkeypatch, rows):
    raw = si_raw(rows(), tmp_path / "raw.parquet")
    con = _con()
    lookup = month_lookups(con, raw, load_map("social_insurance"))["period_month"]
    expr = lookup.format(col='"period_month"')
    got = con.sql(f"select {expr} is not distinct from hd_month(period_month) from read_parquet($r)",
                  params={"r": str(raw)}).fetchall()
    assert got and all(ok for ok, in got)
    con.close()
    if rows is _fast_rows:  # every cell on the fast paths: looked up on a connection without hd_month at all
        bare = duckdb.connect()
        assert month_lookups(bare, raw, load_map("social_insurance"))["period_month"] == lookup
        assert bare.sql("select count(*) from duckdb_functions() where function_name = 'hd_month'").fetchall() == [(0,)]
        bare.close()
    (tmp_path / "new").mkdir()
    (tmp_path / "old").mkdir()
    new = stage(raw, tmp_path / "new")
    old = stage(raw, tmp_path / "old", monkeypatch, 0)  # no lookup: hd_month on every row
    assert new[0].by_rule == old[0].by_rule and new[0].by_rule.get("duplicate", 0) >= 3
    assert new[1].schema == old[1].schema and _sorted(new[1]).equals(_sorted(old[1]))
    assert new[2].equals(old[2])


def _candidates(raw, narrow) -> list[int]:
    smap = load_map("social_insurance")
    con = duckdb.connect()
    sql = render("dup_candidates", smap) if narrow else _single(smap)
    assert ("semi join narrowed" in sql) is narrow
    load_macros(con, sql)
    con.execute(sql, {"raw_parquet": str(raw)})
    out = [r for r, in con.sql("select file_row_number from _hd_dup_candidates order by 1").fetchall()]
    con.close()
    return out


def _single(smap) -> str:
    saved = dupkeys.NARROW_TYPES
    try:
        dupkeys.NARROW_TYPES = ()
        return render("dup_candidates", smap)
    finally:
        dupkeys.NARROW_TYPES = saved


def _narrow_rows() -> list[dict]:
    rows = tricky_rows()
    # the same ID and month, other amounts or scheme: share the key, not every value
    rows += [base(contribution_base_yuan="3002"), base(scheme="企业职工基本养老保险"), base(category="待遇", benefit_yuan="900")]
    return rows


def test_BZ03_the_pre_filter_narrowed_by_id_and_month_finds_the_candidates_and_duplicates_it_found(tmp_path,
                                                                                                  monkeypatch):
    raw = si_raw(_narrow_rows(), tmp_path / "raw.parquet")
    new, old = _candidates(raw, True), _candidates(raw, False)
    assert new == old and len(new) >= 10
    (tmp_path / "new").mkdir()
    (tmp_path / "old").mkdir()
    a = stage(raw, tmp_path / "new")
    monkeypatch.setattr(dupkeys, "NARROW_TYPES", ())
    b = stage(raw, tmp_path / "old")
    assert a[0].by_rule == b[0].by_rule and a[0].by_rule.get("duplicate", 0) >= 3
    assert _sorted(a[1]).equals(_sorted(b[1])) and a[2].equals(b[2])


def test_BZ04_a_monthly_series_is_narrowed_and_no_source_without_a_key():
    # bank (by its account numbers since session 34 bankdup): test_contract_bankdup CM03
    for source, narrowed in (("social_insurance", True), ("tax", True), ("public_security", False),
                             ("civil_affairs", False)):
        assert ("semi join narrowed" in render("dup_candidates", load_map(source))) is narrowed, source


def test_BZ05_record_id_is_the_chain_of_its_parts_and_null_when_one_is():
    split = (SQL_DIR / "staging" / "split.sql").read_text(encoding="utf-8")
    start = split.index("case when ruled.source is null")
    expr = split[start:split.index(" as record_id", start)]
    con = duckdb.connect()
    con.register("ruled", pa.table({
        "source": ["tax", None, "tax", "tax", "社保", "t:x", ""],
        "file_name": ["a.csv", "a.csv", None, "b/c 1.xlsx", "文件　1.csv", "", ""],
        "row_no": pa.array([2, 3, 4, None, -1, 0, 2147483647], pa.int32())}))
    got = con.sql(f"select {expr}, source || ':' || file_name || ':' || row_no from ruled").fetchall()
    assert all(a == b for a, b in got) and sum(a is None for a, _ in got) == 3
    assert got[0][0] == "tax:a.csv:2" and got[6][0] == "::2147483647"
    con.close()
