"""Report step CPU (session 30): the page workers' fixed cost, and what the parent still does for them."""

from __future__ import annotations

import subprocess
import sys

import pytest

from hedui.steps.report import pages


def test_BO01_a_page_worker_imports_no_connectors_nor_polars():
    """A page worker is a fresh interpreter (`pages.WORKER_ENTRY`): importing the page modules must not pull in
    the connectors package and polars (≈ 0.45 CPU-s per worker, two workers per report step), which only the
    parent needs (to mask a failed worker's log)."""
    code = (
        "import sys\n"
        "import hedui.steps.report.pages, hedui.steps.report.fastpage, hedui.steps.report.digests\n"
        "import hedui.steps.report.versions, hedui.steps.workdays\n"
        "print(sorted(m for m in ('polars', 'connectors', 'pandas') if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_BO02_a_failed_worker_log_is_still_masked(tmp_path):
    """The parent masks a failed worker's log before raising (the import moved into the error path)."""
    parts = tmp_path / "36010219900101123X"
    parts.mkdir()
    (parts / "tmp").write_text("not a folder")  # the worker's `(parts / "tmp").mkdir(exist_ok=True)` fails
    common = {"parts": str(parts), "folder": str(parts / "households"), "run_date": "20261128", "heads": {},
              "records": [], "statuses_html": "", "source_names": {}, "template": "x", "explicit": False,
              "reissue": None, "previous": None}
    with pytest.raises(RuntimeError) as raised:
        with pages._pages_rendered(common, 2, 2, in_process=False) as wait:
            wait()
    message = str(raised.value)
    assert "report worker 0 failed" in message
    assert "36010219900101123X" not in message
    assert "360102********123X" in message


def _pages_of(work_src, tmp, batch_size: int, workers: int, pool_min: int) -> tuple[dict, list]:
    """A first run of the household pages on a copy of `work_src` (no pages, no pages.parquet): every page's
    bytes and the pages.parquet rows, with `batch_size` households a batch."""
    import shutil

    from conftest import RUN_DATE

    from hedui.pipeline import RunContext, _open
    from hedui.steps.report.outputs import render_households

    work = tmp / f"work_{batch_size}_{workers}_{pool_min}"
    shutil.copytree(work_src, work)
    ctx = RunContext.of(work, work, RUN_DATE)
    shutil.rmtree(ctx.report_dir, ignore_errors=True)
    con = _open(ctx)
    try:
        _, _, rows = render_households(con, ctx, work / "tmp_scratch", batch_size=batch_size, workers=workers,
                                       pool_min=pool_min)
    finally:
        con.close()
    folder = ctx.report_dir / "households"
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}, rows


def test_CQ01_a_first_run_pages_do_not_depend_on_batch_size_nor_workers(world_run, tmp_path):
    """Session 35 measured the report step's CPU by batch size (HEDUI_REPORT_BATCH 2500 vs 5000, BATCH_MAX) and
    in this process vs the workers: a first run's pages and pages.parquet rows must be the same bytes whatever
    the batching (one household a batch, a few, all in one; in process or in two workers)."""
    ctx, _ = world_run
    runs = [_pages_of(ctx.workdir, tmp_path, b, w, m) for b, w, m in ((10**6, 1, 10**6), (1, 1, 10**6), (7, 2, 0))]
    (pages0, rows0), *others = runs
    assert len(pages0) > 40 and all(p.startswith(b"<!doctype html>") for p in pages0.values())
    for pages_n, rows_n in others:
        assert pages_n.keys() == pages0.keys()
        assert [k for k in pages0 if pages0[k] != pages_n[k]] == []
        assert sorted(rows_n, key=lambda r: r["request_id"]) == sorted(rows0, key=lambda r: r["request_id"])
