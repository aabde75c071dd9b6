"""Report re-runs: each page's content digest in reports/<date>/pages.parquet; a re-run renders only the
pages whose content changed and issues each as a new version, the earlier kept; a report step SIGKILLed
inside (between page batches, or after every page but before pages.parquet) re-runs to the same pages and
issues no version twice."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from conftest import RUN_DATE

REPORT = ("import sys; from hedui.pipeline import RunContext, report; "
          "print(report(RunContext.of(sys.argv[1], sys.argv[1], sys.argv[2])))")


def _report(workdir: Path, kill_at: str | None = None, **env_extra: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "HEDUI_TEST_KILL_AT"} | env_extra
    if kill_at:
        env["HEDUI_TEST_KILL_AT"] = kill_at
    return subprocess.run([sys.executable, "-c", REPORT, str(workdir), RUN_DATE], env=env, capture_output=True,
                          text=True, timeout=300, start_new_session=True)  # the hook kills its own group


def _pages(report_dir: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((report_dir / "households").glob("*.html"))}


def _index(report_dir: Path) -> list[tuple]:
    return duckdb.sql(f"select request_id, digest, version, file, outcome, findings from "
                      f"read_parquet('{report_dir / 'pages.parquet'}') order by request_id").fetchall()


@pytest.fixture()
def copy(world_run, tmp_path):
    ctx, _ = world_run
    work = tmp_path / "work"
    shutil.copytree(ctx.workdir, work, ignore=shutil.ignore_patterns("datadocs", "tmp"))
    return ctx, work, work / "reports" / RUN_DATE


def test_the_first_run_records_a_digest_per_page_and_a_rerun_renders_none(copy):
    from hedui.pipeline import RunContext, report

    ctx, work, report_dir = copy
    index = _index(ctx.report_dir)
    n = duckdb.connect(str(ctx.database), read_only=True).sql(
        "select count(*) from outcomes where run_date = ?", params=[RUN_DATE]).fetchall()[0][0]
    assert len(index) == n > 0 and len({r[1] for r in index}) == n  # one digest per page, all different
    assert all(r[2] == 1 and r[3] == f"households/{r[0]}.html" for r in index)
    before = _pages(report_dir)
    mtimes = {p: p.stat().st_mtime_ns for p in (report_dir / "households").glob("*.html")}

    counts = report(RunContext.of(work, work, RUN_DATE))
    assert counts["pages_rendered"] == 0 and counts["pages_unchanged"] == n and counts["versions_issued"] == []
    assert _pages(report_dir) == before
    assert {p: p.stat().st_mtime_ns for p in (report_dir / "households").glob("*.html")} == mtimes
    assert not (report_dir / "households" / "versions").exists()
    assert _index(report_dir) == index


def test_a_report_step_killed_between_batches_reruns_to_the_same_pages(copy):
    ctx, work, report_dir = copy
    workers = {"HEDUI_REPORT_BATCH": "10", "HEDUI_REPORT_POOL_MIN": "1", "HEDUI_THREADS": "2"}
    # the reference: an uninterrupted step on this copy (the shared run's own folder is touched by other
    # tests, e.g. a PDF written beside a page)
    shutil.rmtree(report_dir)
    assert _report(work, None, **workers).returncode == 0
    reference, reference_index = _pages(report_dir), _index(report_dir)
    assert reference.keys() == _pages(ctx.report_dir).keys()
    shutil.rmtree(report_dir)
    proc = _report(work, "report:batch", **workers)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-3000:]
    assert not (report_dir / "pages.parquet").exists()
    partial = len(_pages(report_dir))
    assert 0 < partial < len(reference)  # killed after a batch, before the others

    proc = _report(work, None, **workers)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert _pages(report_dir) == reference  # rendered by workers, in batches of 10: the same bytes
    assert _index(report_dir) == reference_index
    assert not (report_dir / "households" / "versions").exists()


def test_a_changed_page_is_a_new_version_issued_once_even_when_the_step_is_killed(copy):
    ctx, work, report_dir = copy
    con = duckdb.connect(str(work / "hedui.duckdb"))
    request_id = con.sql("select min(request_id) from figures where run_date = ?", params=[RUN_DATE]).fetchall()[0][0]
    con.execute("update figures set wage_estimate_yuan = coalesce(wage_estimate_yuan, 0) + 1234.5 "
                "where run_date = ? and request_id = ?", [RUN_DATE, request_id])
    con.close()
    before = _pages(report_dir)
    name = f"{request_id}.html"

    proc = _report(work, "report:index")  # every page written and the version kept, pages.parquet not yet
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-3000:]
    kept = report_dir / "households" / "versions" / request_id
    assert sorted(p.name for p in kept.glob("v*.json")) == ["v1.json", "v2.json"]

    proc = _report(work)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert sorted(p.name for p in kept.glob("v*.json")) == ["v1.json", "v2.json"]  # not issued twice
    assert (kept / "v1.html").read_bytes() == before[name]
    after = _pages(report_dir)
    assert (kept / "v2.html").read_bytes() == after[name] != before[name]
    assert "第 2 版报告" in after[name].decode() and "第 1 版报告" in before[name].decode()
    assert {k: v for k, v in after.items() if k != name} == {k: v for k, v in before.items() if k != name}
    assert [p.name for p in (report_dir / "households" / "versions").iterdir()] == [request_id]
    meta = json.loads((kept / "v2.json").read_text(encoding="utf-8"))
    assert meta["kind"] == "rerun" and meta["digest"] == dict(
        (r[0], r[1]) for r in _index(report_dir))[request_id]
    versions = {r[0]: r[2] for r in _index(report_dir)}
    assert versions[request_id] == 2 and set(versions.values()) == {1, 2}

    proc = _report(work)  # and again: nothing changed, nothing rendered
    assert proc.returncode == 0 and "'pages_rendered': 0" in proc.stdout, proc.stdout + proc.stderr[-2000:]
    assert sorted(p.name for p in kept.glob("v*.json")) == ["v1.json", "v2.json"]


def test_page_digest_does_not_depend_on_where_hedui_is_installed(tmp_path):
    """The calendar among the objection windows counts by name and contents, not by its path: a
    reinstall in another folder must not re-issue every page."""
    import shutil

    from hedui.steps.report.digests import common_part
    from hedui.steps.workdays import windows

    here = windows()
    moved = tmp_path / "elsewhere" / here["calendar"].name
    moved.parent.mkdir()
    shutil.copyfile(here["calendar"], moved)
    args = ("<p>sources</p>", {"tax": "税务"}, "20261128")
    assert common_part(*args, here) == common_part(*args, {**here, "calendar": moved})
    moved.write_text(moved.read_text(encoding="utf-8") + "\n# 调休变化\n", encoding="utf-8")
    assert common_part(*args, here) != common_part(*args, {**here, "calendar": moved})


def test_stale_pages_are_the_files_pathlib_would_name(tmp_path):
    """remove_stale_pages reads the folder as text (os.scandir, no Path per page): it removes exactly the
    files Path.stem / Path.suffix / Path.is_file name, odd names included, and leaves folders and versions."""
    from hedui.steps.report.digests import _stem_suffix, remove_stale_pages

    names = ["a.html", "a.pdf", "b.html", "c.txt", ".html", "x.y.html", "d.HTML", "e.pdf", "..html", "f.html.bak",
             "g.", "h..pdf", "i"]
    for name in names + ["", "households/j.html", ".a.pdf"]:
        assert _stem_suffix(name.rpartition("/")[2]) == (Path(name).stem, Path(name).suffix) or name == ""
    folder = tmp_path / "households"
    (folder / "versions").mkdir(parents=True)
    (folder / "dir.html").mkdir()
    for name in names:
        (folder / name).write_text("x", encoding="utf-8")
    (folder / "link.html").symlink_to(folder / "a.html")
    (folder / "dangling.html").symlink_to(folder / "nowhere")
    rows = [{"file": f"households/{n}"} for n in ("a.html", "x.y.html", "..html")]
    keep = {Path(r["file"]).stem for r in rows}
    expected = sorted(p.name for p in folder.iterdir()
                      if p.suffix in (".html", ".pdf") and p.is_file() and p.stem not in keep)
    assert expected == ["b.html", "e.pdf", "h..pdf", "link.html"]
    before = set(os.listdir(folder))
    assert remove_stale_pages(tmp_path, rows) == len(expected)
    assert sorted(before - set(os.listdir(folder))) == expected
