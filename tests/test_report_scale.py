"""The report step at scale: pages rendered in batches by worker processes, byte for byte what the
one-process report of before wrote (tests/reference/old_report.py), with or without the pool."""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys

import duckdb
import pytest
from conftest import RUN_DATE
from reference import old_report

NEXT_DATE = "20261228"


def _files(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def runs(world, world_run, tmp_path_factory):
    """The world's run and its re-check a month later (second versions, previous verifications, one new
    vehicle: a change and an alert): [(inbox, workdir, run_date)]."""
    ctx, _ = world_run
    raw = ctx.run_dir / "raw" / "requests.parquet"
    with duckdb.connect() as con:
        applicant = con.sql(
            f"select upper(trim(id_number)) from read_parquet('{raw}') "
            "where program = '动态复核' and relation = '本人' order by request_id limit 1").fetchall()[0][0]
    tmp = tmp_path_factory.mktemp("recheck")
    work = tmp / "work"
    shutil.copytree(ctx.workdir, work, ignore=shutil.ignore_patterns("reports", "runs"))
    inbox = tmp / "inbox"
    for src in world.glob(f"*/{RUN_DATE}"):
        shutil.copytree(src, inbox / src.parent.name / NEXT_DATE)
    day = inbox / "vehicle" / NEXT_DATE
    (day / "vehicle_extra.csv").write_text(
        "号牌号码,号牌种类,车辆类型,所有人,证件号码,初次登记日期,使用性质,车辆状态,购置价格\n"
        f"赣A12345,小型汽车,小型轿车,某某,{applicant},2026-12-01,非营运,正常,180000\n", encoding="utf-8")
    (day / "vehicle_extra.csv.ok").write_text("1")
    # in a process of its own: `run` forks its ingest workers, unsafe in a process holding others' threads
    subprocess.run([sys.executable, "-m", "hedui.cli", "run", "--inbox", str(inbox), "--date", NEXT_DATE,
                    "--workdir", str(work)], check=True, capture_output=True)
    return [(ctx.inbox, ctx.workdir, RUN_DATE), (inbox, work, NEXT_DATE)]


def _report(inbox, workdir, run_date, dst, **kwargs):
    """write_reports on a copy of `workdir` (without its reports) at `dst`; (the report folder, counts)."""
    from hedui.pipeline import RunContext, _open
    from hedui.steps.report.outputs import write_reports

    shutil.copytree(workdir, dst, ignore=shutil.ignore_patterns("reports", "runs"))
    ctx = RunContext.of(inbox, dst, run_date)
    con = _open(ctx)
    try:
        counts = write_reports(con, ctx, **kwargs)
    finally:
        con.close()
    assert not list(ctx.run_dir.glob("report_parts_*"))  # the batch files are gone
    return ctx.report_dir, counts


def _reference(workdir, run_date, dst, only=None):
    con = duckdb.connect(str(workdir / "hedui.duckdb"), read_only=True)
    try:
        return old_report.write_reports(con, run_date, dst, only)
    finally:
        con.close()


@pytest.mark.parametrize("which", [0, 1], ids=["first_run", "recheck"])
def test_pooled_and_in_process_reports_write_the_bytes_of_the_old_report(runs, which, tmp_path, caplog):
    inbox, workdir, run_date = runs[which]
    expected = _reference(workdir, run_date, tmp_path / "reference")
    caplog.set_level(logging.INFO, logger="hedui.steps.report.outputs")
    alone, alone_counts = _report(inbox, workdir, run_date, tmp_path / "alone", pool_min=10**9)
    pooled, pooled_counts = _report(inbox, workdir, run_date, tmp_path / "pooled",
                                    workers=2, pool_min=0, batch_size=7)
    assert "(in process)" in caplog.text and "(2 workers)" in caplog.text  # both paths were taken
    want = _files(tmp_path / "reference")
    assert len([f for f in want if f.startswith("households/")]) == expected["households"] >= 60
    if which == 1:  # the re-check's pages carry what the first run's do not
        assert "第 2 版报告" in want[next(f for f in want if f.startswith("households/"))].decode()
        assert want["alerts.csv"].decode().count("\n") == 2  # header and the new vehicle
    for got in (alone, pooled):
        files = _files(got)
        assert files.pop("pages.parquet")  # the page digests of a re-run (the reference renderer keeps none)
        assert sorted(files) == sorted(want)
        assert [f for f in want if files[f] != want[f]] == []
    assert alone_counts == pooled_counts == {**expected, "pdf": False, "pages_rendered": expected["households"],
                                             "pages_unchanged": 0, "versions_issued": []}


def test_rerendering_one_household_writes_only_its_page(runs, tmp_path):
    inbox, workdir, run_date = runs[0]
    rid = sorted(p.stem for p in (workdir / "reports" / run_date / "households").glob("*.html"))[7]
    expected = _reference(workdir, run_date, tmp_path / "reference", only={rid})
    folder, counts = _report(inbox, workdir, run_date, tmp_path / "one", only={rid}, pool_min=0, workers=2)
    assert [p.name for p in (folder / "households").iterdir()] == [f"{rid}.html"]
    assert (folder / "households" / f"{rid}.html").read_bytes() == \
        (tmp_path / "reference" / "households" / f"{rid}.html").read_bytes()
    assert counts["records_cited"] == expected["records_cited"] > 0
