"""Late deliveries: a world run with the vehicle source missing, then the vehicle delivery arrives
(`hedui late`): the date is re-assessed, ends exactly like the run where vehicle was on time, and each
household whose page changed gets version 2 with version 1 kept; killed after assess, it re-runs safely;
a further late file that names one household re-issues that household's page only.  Bad arguments exit 2
and create nothing.  The hedui_late_delivery DAG does the same under Airflow."""

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

LATE = "vehicle"
DASHED = f"{RUN_DATE[:4]}-{RUN_DATE[4:6]}-{RUN_DATE[6:]}"


def _hedui(*args: str, kill_at: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "HEDUI_TEST_KILL_AT"}
    if kill_at:
        env["HEDUI_TEST_KILL_AT"] = kill_at
    return subprocess.run([sys.executable, "-m", "hedui.cli", *args], env=env, capture_output=True, text=True,
                          timeout=600, start_new_session=True)


def _late(inbox: Path, work: Path, kill_at: str | None = None, date: str = DASHED, source: str = LATE):
    return _hedui("late", "--inbox", str(inbox), "--workdir", str(work), "--date", date, "--source", source,
                  kill_at=kill_at)


def _outcomes(database: Path) -> dict[str, tuple[str, str]]:
    con = duckdb.connect(str(database), read_only=True)
    try:
        return {r: (o, f) for r, o, f in con.sql("select request_id, outcome, findings from outcomes "
                                                  "where run_date = ?", params=[RUN_DATE]).fetchall()}
    finally:
        con.close()


def _pages(report_dir: Path) -> dict[str, bytes]:
    return {p.stem: p.read_bytes() for p in sorted((report_dir / "households").glob("*.html"))}


def _kept(report_dir: Path) -> dict[str, list[str]]:
    folder = report_dir / "households" / "versions"
    return {d.name: sorted(p.name for p in d.glob("v*.json")) for d in folder.iterdir()} if folder.is_dir() else {}


@pytest.fixture(scope="module")
def missing_run(world, tmp_path_factory):
    """The world run with the vehicle delivery missing: (inbox without vehicle, workdir)."""
    from hedui.pipeline import RunContext, run

    base = tmp_path_factory.mktemp("late")
    inbox = base / "inbox"
    shutil.copytree(world, inbox, ignore=shutil.ignore_patterns(LATE))
    run(RunContext.of(inbox, base / "work", RUN_DATE))
    return inbox, base / "work"


def test_bad_arguments_exit_2_and_create_nothing(world, missing_run, tmp_path, capsys):
    from hedui.cli import main

    _, work = missing_run
    listing = sorted(str(p) for p in work.rglob("*"))
    for args, says in (
        ((world, work, "2026-13-01", LATE), "日期"),
        ((world, work, DASHED, "no_such_source"), "数据来源"),
        ((world, work, DASHED, "requests"), "数据来源"),
        ((world, tmp_path / "nowork", DASHED, LATE), "工作库"),
        ((tmp_path / "noinbox", work, DASHED, LATE), "收件箱"),
        ((world, work, "2026-11-27", LATE), "批次 20261127"),
        ((tmp_path, work, DASHED, LATE), "vehicle/20261128"),  # an inbox without the late delivery
    ):
        inbox, workdir, date, source = args
        code = main(["late", "--inbox", str(inbox), "--workdir", str(workdir), "--date", date, "--source", source])
        err = capsys.readouterr().err
        assert code == 2, (args, err)
        assert says in err and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    proc = _hedui("late", "--workdir", str(work), "--date", DASHED)  # --inbox and --source missing
    assert proc.returncode == 2 and "命令行参数有误" in proc.stderr
    assert sorted(str(p) for p in work.rglob("*")) == listing
    assert not (tmp_path / "nowork").exists()


def test_a_late_source_re_assesses_the_date_and_re_issues_only_changed_pages(world, world_run, missing_run,
                                                                             tmp_path):
    reference, _ = world_run
    inbox, base_work = missing_run
    work = tmp_path / "work"
    shutil.copytree(base_work, work)
    report_dir = work / "reports" / RUN_DATE
    before, pages_before = _outcomes(work / "hedui.duckdb"), _pages(report_dir)
    assert all("SOURCE_MISSING" in f for _, f in before.values())  # every household waits for vehicle
    assert _kept(report_dir) == {}

    # killed after the date was re-assessed, before any page: the same command again completes it
    proc = _late(world, work, kill_at="late:assess")
    assert proc.returncode == -signal.SIGKILL, proc.stdout + proc.stderr[-3000:]
    assert _pages(report_dir) == pages_before
    proc = _late(world, work)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
    assert "出具新版报告" in proc.stdout

    after = _outcomes(work / "hedui.duckdb")
    assert after == _outcomes(reference.database)  # as if vehicle had been on time
    changed = {r for r in after if after[r] != before[r]}
    assert changed and any(before[r][0] == "INCOMPLETE" and after[r][0] != "INCOMPLETE" for r in changed)
    pages_after = _pages(report_dir)
    kept = _kept(report_dir)
    reissued = {r for r in pages_after if pages_after[r] != pages_before[r]}
    assert changed <= reissued and set(kept) == reissued  # a version for every changed page, none else
    for request_id in reissued:
        assert kept[request_id] == ["v1.json", "v2.json"]
        folder = report_dir / "households" / "versions" / request_id
        assert (folder / "v1.html").read_bytes() == pages_before[request_id]
        assert (folder / "v2.html").read_bytes() == pages_after[request_id]
        meta = json.loads((folder / "v2.json").read_text(encoding="utf-8"))
        assert meta["kind"] == "late_delivery" and meta["issued_by"] == "迟到数据补入"
        assert (meta["outcome"], meta["findings"]) == after[request_id]
        assert "第 2 版报告" in pages_after[request_id].decode()
    for request_id in set(pages_after) - reissued:  # untouched: version 1 only, the page not rewritten
        assert pages_after[request_id] == pages_before[request_id] and request_id not in kept

    # a further late file naming one household's applicant: only that household's page is re-issued
    raw = work / "runs" / RUN_DATE / "raw" / "requests.parquet"  # the delivered values
    request_id, applicant, name = duckdb.sql(
        f"select request_id, upper(trim(id_number)), name from read_parquet('{raw}') where relation = '本人' "
        "order by request_id limit 1").fetchall()[0]
    extra = tmp_path / "inbox2"
    shutil.copytree(world / LATE, extra / LATE)
    folder = extra / LATE / RUN_DATE
    (folder / "vehicle_late.csv").write_text(
        "号牌号码,号牌种类,车辆类型,所有人,证件号码,初次登记日期,使用性质,车辆状态,购置价格\n"
        f"赣A54321,小型汽车,小型轿车,{name},{applicant},2026-11-01,非营运,正常,190000\n", encoding="utf-8")
    (folder / "vehicle_late.csv.ok").write_text("1")
    proc = _late(extra, work)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
    assert "VEHICLE" in _outcomes(work / "hedui.duckdb")[request_id][1]
    pages_third = _pages(report_dir)
    assert {r for r in pages_third if pages_third[r] != pages_after[r]} == {request_id}
    assert _kept(report_dir)[request_id] == ["v1.json", "v2.json", "v3.json"]
    assert {r: v for r, v in _kept(report_dir).items() if r != request_id} == {
        r: v for r, v in kept.items() if r != request_id}
    assert "第 3 版报告" in pages_third[request_id].decode() and "赣A54321" in pages_third[request_id].decode()
    assert applicant not in (report_dir / "households" / f"{request_id}.html").read_text(encoding="utf-8")


def test_the_late_delivery_dag_takes_in_the_source(airflow_db, world, world_run, missing_run, tmp_path):
    from airflow.dag_processing.dagbag import DagBag
    from conftest import ROOT

    _, base_work = missing_run
    work = tmp_path / "work"
    shutil.copytree(base_work, work)
    bag = DagBag(dag_folder=str(ROOT / "dags"))
    assert not bag.import_errors
    dag = bag.dags["hedui_late_delivery"]
    assert dag.schedule is None
    before = _pages(work / "reports" / RUN_DATE)

    bad = dag.test(run_conf={"workdir": str(work), "inbox": str(world), "run_date": RUN_DATE, "source": "nope"})
    assert "failed" in str(bad.state)
    assert _pages(work / "reports" / RUN_DATE) == before

    run = dag.test(run_conf={"workdir": str(work), "inbox": str(world), "run_date": RUN_DATE, "source": LATE})
    assert "success" in str(run.state)
    assert _outcomes(work / "hedui.duckdb") == _outcomes(world_run[0].database)
    kept = _kept(work / "reports" / RUN_DATE)
    assert kept and all(v == ["v1.json", "v2.json"] for v in kept.values())
