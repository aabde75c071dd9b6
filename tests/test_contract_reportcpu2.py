"""Report step CPU (session 36): the cycle collector paused while the step makes and drops its rows.

The page workers' batches and the parent's step make millions of short-lived objects that reference counting
frees; each automatic collection walked them for nothing (tenth: ≈ 0.6 CPU-s in the workers, 0.2 in the
parent).  These tests run the real step on the test world (real DuckDB, real Parquet parts, real pages)."""

from __future__ import annotations

import gc
import shutil
import sys

import pytest


@pytest.fixture
def collections_in():
    """The collector set to run at nearly every allocation (thresholds of 1) with each collection's Python stack
    read: `collections_in(name)` counts the collections that ran inside a function of that name (a frame of it
    on the stack).  Thresholds and callbacks put back after."""
    seen: list[set[str]] = []

    def look(phase, info):
        if phase == "start":
            frame, names = sys._getframe(0), set()
            while frame is not None:
                names.add(frame.f_code.co_name)
                frame = frame.f_back
            seen.append(names)

    thresholds, was = gc.get_threshold(), gc.isenabled()
    gc.enable()
    gc.set_threshold(1, 1, 1)
    gc.callbacks.append(look)
    try:
        yield lambda name: sum(name in names for names in seen)
    finally:
        gc.callbacks.remove(look)
        gc.set_threshold(*thresholds)
        if not was:
            gc.disable()


def _copy(world_run, tmp_path):
    from conftest import RUN_DATE

    from hedui.pipeline import RunContext

    ctx, _ = world_run
    work = tmp_path / "work"
    shutil.copytree(ctx.workdir, work)
    return RunContext.of(work, work, RUN_DATE)


def test_CU01_the_pause_puts_the_collector_back_as_it_was():
    """`cycles_uncollected`: off inside, on after (also after an error); left off when it was off before."""
    from hedui.steps.cycles import cycles_uncollected

    assert gc.isenabled()
    with cycles_uncollected():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(ZeroDivisionError), cycles_uncollected():
        assert not gc.isenabled()
        1 / 0  # noqa: B018
    assert gc.isenabled()
    gc.disable()
    try:
        with cycles_uncollected():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def _batch_job(ctx, tmp_path) -> dict:
    """The real export of the test world's households in one batch, and the job a page worker gets for it."""
    from hedui.pipeline import _open
    from hedui.settings import REQUESTS, sources
    from hedui.steps.report import digests, pages
    from hedui.steps.report.display import _env
    from hedui.steps.report.outputs import _masked_statuses
    from hedui.steps.report.sqlhtml import _record_groups

    parts = tmp_path / "parts"
    parts.mkdir()
    con = _open(ctx)
    try:
        n_batches, records = pages._export_parts(con, ctx.run_date, parts, 10**6, None)
        statuses = _masked_statuses(con, ctx.run_date)
    finally:
        con.close()
    assert n_batches == 1
    return {"parts": str(parts), "run_date": ctx.run_date, "batch": 0, "records": records,
            "heads": _record_groups([s for s in sources() if s != REQUESTS])[1],
            "statuses_html": _env().get_template("_household_sources.html").render(statuses=statuses),
            "source_names": {s["source"]: s["source_zh"] for s in statuses},
            "template": digests.template_fingerprint(), "explicit": False, "reissue": None, "previous": None}


def test_CU02_a_page_batch_runs_without_a_collection_and_leaves_no_cycles(world_run, tmp_path, collections_in):
    """A batch of the real export rendered by the page workers' function (`pages._render_batch`): no collection
    runs inside it though the collector would run at every allocation, and the collector is on after.  Run again
    with the collector off, the batch leaves no reference cycle per page behind (what the pause relies on: it
    defers no garbage that only a collection would free)."""
    from hedui.steps.report import pages

    job = _batch_job(_copy(world_run, tmp_path), tmp_path)
    try:
        folders = [tmp_path / "pages_a", tmp_path / "pages_b"]
        for folder in folders:
            folder.mkdir()
        n_pages, _ = pages._render_batch({**job, "folder": str(folders[0])})
        assert gc.isenabled()
        assert collections_in("_render_batch") == 0
        assert n_pages > 40 and len(list(folders[0].glob("*.html"))) == n_pages
        gc.collect()
        gc.disable()
        try:
            assert pages._render_batch({**job, "folder": str(folders[1])})[0] == n_pages
            assert gc.collect() < n_pages
        finally:
            gc.enable()
        assert [p.read_bytes() for p in sorted(folders[1].iterdir())] == [
            p.read_bytes() for p in sorted(folders[0].iterdir())]
    finally:
        pages._drop_worker_state()


def _step_outputs(report_dir) -> dict:
    """The report step's files (pages, index.html, the CSVs, pages.parquet) and their bytes."""
    files = [*sorted((report_dir / "households").glob("*.html")), report_dir / "index.html",
             *sorted(report_dir.glob("*.csv")), report_dir / "pages.parquet"]
    return {p.relative_to(report_dir): p.read_bytes() for p in files}


def test_CU03_the_report_step_runs_without_a_collection(world_run, tmp_path, collections_in):
    """The report step of the test world (`write_reports`, its pages rendered in this process: fewer than
    HEDUI_REPORT_POOL_MIN) on a copy without pages: no collection inside it, the collector on after, and the
    same outputs as the run that made the copy."""
    from hedui.pipeline import _open
    from hedui.steps.report.outputs import write_reports

    ctx = _copy(world_run, tmp_path)
    made = _step_outputs(ctx.report_dir)
    shutil.rmtree(ctx.report_dir / "households")
    (ctx.report_dir / "pages.parquet").unlink()
    con = _open(ctx)
    try:
        counts = write_reports(con, ctx)
    finally:
        con.close()
    assert gc.isenabled()
    assert collections_in("write_reports") == 0
    assert counts["pages_rendered"] == counts["households"] > 40
    again = _step_outputs(ctx.report_dir)
    assert again.keys() == made.keys()
    assert [k for k in made if made[k] != again[k]] == []
