"""Contract (reportstep): a re-run's page digests read each row's `_h` and keys alone (`BatchRows.rows(lean=True)`);
the pages due are drawn from rows of every column (`BatchRows.only`), and come out as they did before."""

from __future__ import annotations

import datetime as dt
import re
import shutil

import duckdb
import pyarrow as pa
import pytest
from conftest import RUN_DATE

from hedui.steps.report.batchrows import DIGEST_COLUMNS, PARTS, BatchRows


def _hostile() -> BatchRows:
    """A batch of four households: CJK and quoted IDs, dates before 1970 and NULLs, lists, a part with no rows
    (None) and one empty, rows of one household apart from each other."""
    ids = ["户'1", "户<2>", "h3", "户 4"]
    households = pa.table({
        "_hh": [4, 2, 9, 1], "request_id": ids, "_version": [1, 3, 1, 2],
        "_earlier": [None, ["20261101", "20261115"], [], ["20261001"]],
        "outcome": ["CLEAR", "FINDINGS", "INCOMPLETE", "CLEAR"], "findings": ["", "A;B", None, "C"],
        "application_date": pa.array([dt.date(1969, 12, 31), None, dt.date(1, 1, 1), dt.date(9999, 12, 31)]),
        "name": ["张三", "<b>李四</b>", None, "王五"], "_h": ["a1", "b2", "c3", "d4"]})
    members = pa.table({
        "request_id": [ids[1], ids[0], ids[1], ids[3], ids[1]], "id_norm": ["X2", "X1", None, "X4", "X2b"],
        "name": ["李四", "张三", "无名", "王五", "赵六"], "is_authorized": [True, False, None, True, False],
        "authorization_date": pa.array([dt.date(2026, 1, 2), None, dt.date(1950, 6, 1), dt.date(2026, 1, 2), None]),
        "_h": ["m1", "m2", "m3", "m4", "m5"]})
    tables = {"households": households, "members": members}
    for k, part in enumerate(PARTS[1:]):
        rows = [ids[(k + j) % 4] for j in range(k + 2)]
        tables[part] = pa.table({"request_id": rows, "detail_zh": [f"第{j}条 & <x>" for j in range(len(rows))],
                                 "amount_yuan": [None if j % 2 else 1.5 * j for j in range(len(rows))],
                                 "_h": [f"{part}{j}" for j in range(len(rows))]})
    tables["changes"] = None  # the batch has no such rows
    tables["decisions"] = tables["decisions"].slice(0, 0)
    return BatchRows(tables)


def _typed(rows) -> list:
    return [[(v, type(v)) for v in r] for r in rows]


def test_CH01_lean_rows_hold_the_digest_columns_of_the_whole_rows():
    data = _hostile()
    households, parts = data.rows(lean=False)
    lean_households, lean_parts = data.rows(lean=True)
    names = DIGEST_COLUMNS["households"]
    assert [tuple(getattr(h, n) for n in names) for h in households] == [tuple(h) for h in lean_households]
    assert _typed(lean_households) == _typed([[getattr(h, n) for n in names] for h in households])
    for part in PARTS:
        names = DIGEST_COLUMNS.get(part, ("request_id", "_h"))
        assert lean_parts[part].keys() == parts[part].keys()
        for rid, rows in parts[part].items():
            assert [tuple(getattr(r, n) for n in names) for r in rows] == [tuple(r) for r in lean_parts[part][rid]]
    assert [r.id_norm for r in lean_parts["members"]["户<2>"]] == ["X2", None, "X2b"]


@pytest.mark.parametrize("due", [{"户<2>"}, {"户 4", "户'1"}, {"户'1", "户<2>", "h3", "户 4"}, {"h3"}])
def test_CH02_only_gives_the_whole_rows_of_the_households_due_in_their_order(due):
    data = _hostile()
    households, parts = data.rows(lean=False)
    some_households, some_parts = data.only(due).rows(lean=False)
    assert _typed(some_households) == _typed([h for h in households if h.request_id in due])
    assert {type(h) for h in some_households} == {type(households[0])}  # every column, by name
    for part in PARTS:
        assert {rid: _typed(rows) for rid, rows in some_parts[part].items()} == \
            {rid: _typed(rows) for rid, rows in parts[part].items() if rid in due}


def _world_batches(world_run, tmp_path, batch_size: int):
    from hedui.steps.report.pages import _export_parts

    ctx, _ = world_run
    con = duckdb.connect(str(ctx.database), read_only=True)
    (tmp_path / "parts").mkdir()
    try:
        n, _ = _export_parts(con, RUN_DATE, tmp_path / "parts", batch_size, None)
    finally:
        con.close()
    reader = duckdb.connect()
    return [BatchRows.read(reader, tmp_path / "parts", b) for b in range(n)]


def test_CH03_a_page_digest_from_lean_rows_is_the_digest_from_whole_rows(world_run, tmp_path):
    from hedui.steps.report import digests

    common = digests.common_part("<p>状态</p>", {"bank": "银行"}, RUN_DATE, {"objection": 10})
    n = 0
    for data in _world_batches(world_run, tmp_path, 17):
        got = {}
        for lean in (False, True):
            households, parts = data.rows(lean)
            got[lean] = [digests.page_digest(
                common, h, parts["members"].get(h.request_id, []), [b"<tr>" + str(h._hh).encode()],
                parts["findings"].get(h.request_id, []), None, parts["changes"].get(h.request_id, []),
                parts["unweighed"].get(h.request_id, []), parts["lineage"].get(h.request_id, []),
                parts["decisions"].get(h.request_id, [])) for h in households]
        assert got[True] == got[False] and len(set(got[True])) == len(got[True])
        n += len(got[True])
    assert n > 40


def _rerun(work, request_ids, monkeypatch, whole: bool) -> tuple[list, dict]:
    """A re-run of the report on `work` (pages in this process, 9 households a batch) after `request_ids`'
    figures changed; `whole`: the page rows made objects of every column first (the old way)."""
    from hedui.pipeline import RunContext, _open
    from hedui.steps.report import batchrows
    from hedui.steps.report.outputs import render_households

    if whole:
        rows = batchrows.BatchRows.rows
        monkeypatch.setattr(batchrows.BatchRows, "rows", lambda self, lean: rows(self, False))
    ctx = RunContext.of(work, work, RUN_DATE)
    con = _open(ctx)
    try:
        con.execute("update figures set wage_estimate_yuan = coalesce(wage_estimate_yuan, 0) + 777.25 "
                    "where run_date = ? and request_id in (select unnest(?::varchar[]))", [RUN_DATE, request_ids])
        _, _, index = render_households(con, ctx, work / "tmp_scratch", batch_size=9, pool_min=10**6)
    finally:
        con.close()
    monkeypatch.undo()
    folder = ctx.report_dir / "households"
    # a kept version's record says when it was issued: the second copy's a few seconds after the first's
    return index, {str(p.relative_to(folder)): re.sub(rb'"issued_at": "[^"]*"', b"", p.read_bytes())
                   for p in sorted(folder.rglob("*")) if p.is_file()}


def test_CH04_a_rerun_renders_the_changed_and_missing_pages_as_from_whole_rows(world_run, tmp_path, monkeypatch):
    ctx, _ = world_run
    ids = duckdb.connect(str(ctx.database), read_only=True).sql(
        "select request_id from figures where run_date = ? order by request_id", params=[RUN_DATE]).fetchall()
    changed = [ids[1][0], ids[12][0], ids[13][0], ids[-1][0]]  # in three batches of 9, two side by side
    missing = ids[20][0]
    results = []
    for whole in (True, False):
        work = tmp_path / f"work_{whole}"
        shutil.copytree(ctx.workdir, work, ignore=shutil.ignore_patterns("datadocs", "tmp"))
        (work / "reports" / RUN_DATE / "households" / f"{missing}.html").unlink()
        results.append(_rerun(work, changed, monkeypatch, whole))
    (old_index, old_files), (new_index, new_files) = results
    assert new_index == old_index and new_files == old_files
    assert sorted(r["request_id"] for r in new_index if r["rendered"]) == sorted([*changed, missing])
    assert sorted(r["request_id"] for r in new_index if r["reissued"]) == sorted(changed)
    assert all(r is not None for r in new_index) and len(new_index) == len(ids)
