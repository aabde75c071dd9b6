"""Operations round 6: an operator's week with the nightly batch — a second run refused by the lock, the
business date on every path and machine time zone, re-runs, the morning's status, and memory trouble.

One small hand-built world (ids OP6xx), written once; each check runs `hedui run` (the CLI's `main`, in this
process, or `python -m hedui.cli` in a subprocess where the machine's TZ matters) or the DAGs under Airflow
(`dag.test()`), with a real webhook server listening where a notice may go out.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT
from contract_world import RUN, World, fresh_ids
from notify_servers import webhook_server

from hedui.cli import main


@pytest.fixture(scope="module")
def inbox(tmp_path_factory):
    world = World()
    with fresh_ids(961):
        a = world.household("OP601", [("钱进", "本人"), ("李芳", "配偶")])
        world.household("OP602", [("周全", "本人")])
    world.bank(a[0], "1200")
    folder = tmp_path_factory.mktemp("op6") / "inbox"
    world.write(folder)
    _WORLD["requests"] = world.rows["requests"]
    return folder


_WORLD: dict = {}


def _quiet(monkeypatch):
    for var in ("HEDUI_NOTIFY_EMAIL", "HEDUI_WEBHOOK_CONN_ID", "HEDUI_WEBHOOK_SECRET"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HEDUI_PROGRESS", "0")


def _run(monkeypatch, capsys, inbox, work, date=RUN) -> tuple[int, str, str, list]:
    _quiet(monkeypatch)
    with webhook_server() as (url, posts):
        monkeypatch.setenv("HEDUI_NOTIFY_WEBHOOK", url)
        code = main(["run", "--inbox", str(inbox), "--date", date, "--workdir", str(work)])
    out = capsys.readouterr()
    return code, out.out, out.err, posts


class _Holder:
    """Another process holding the working folder's writer lock as `command` of `run_date`, until closed."""

    def __init__(self, work: Path, command: str, run_date: str | None):
        code = ("import sys; from hedui.workdir import writer_lock\n"
                "with writer_lock(sys.argv[1], sys.argv[2], run_date=sys.argv[3] or None):\n"
                "    print('held', flush=True); sys.stdin.read()")
        self.proc = subprocess.Popen([sys.executable, "-c", code, str(work), command, run_date or ""],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout.readline().strip() == "held"

    def __enter__(self):
        return self.proc.pid

    def __exit__(self, *exc):
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def _error_lines(err: str) -> list[str]:
    return [x for x in err.splitlines() if x.startswith("错误：")]


def test_op601_a_duplicate_run_of_the_same_night_is_refused_without_a_failure_notice(
        inbox, tmp_path, monkeypatch, capsys):
    """OP601: the operator starts `hedui run` for 20261128 while the same night's run (`hedui run`, or a step of
    the DAG, of 20261128) holds the working folder: exit 4, one line naming the holder and saying this is the same
    night already running — and no failure notice (the night did not fail; the running one reports it). It
    sent "核对批次 20261128 失败" to the whole group."""
    work = tmp_path / "work"
    for command in ("run", "assess"):
        with _Holder(work, command, RUN) as pid:
            code, _out, err, posts = _run(monkeypatch, capsys, inbox, work)
        assert code == 4, err
        (line,) = _error_lines(err)
        assert f"进程号 {pid}" in line and f"命令 {command}" in line and f"同一批次 {RUN} 已在运行" in line, line
        assert "未发送失败通知" in line
        assert posts == [], posts
    assert not (work / "reports").exists() and not (work / "hedui.duckdb").exists()


def test_op602_a_night_whose_run_never_started_sends_a_notice_naming_the_holder(inbox, tmp_path, monkeypatch, capsys):
    """OP602: tonight's `hedui run` (20261128) finds the folder held by something else — yesterday's run still
    going, a purge: exit 4, and a notice "未能开始" naming the holder (process, command, its date), so the group
    knows tonight has no results yet; no personal data in it."""
    work = tmp_path / "work"
    for command, date in (("run", "20261127"), ("purge", None)):
        with _Holder(work, command, date) as pid:
            code, _out, err, posts = _run(monkeypatch, capsys, inbox, work)
        assert code == 4, err
        (line,) = _error_lines(err)
        assert f"进程号 {pid}" in line and "同一批次" not in line, line
        (_path, body), = posts
        subject, text = body["text"]["content"].split("\n", 1)
        assert subject == f"【hedui】核对批次 {RUN} 失败", subject
        assert text.startswith(f"核对批次 {RUN} 失败：本批次未能开始（hedui run）"), text
        assert f"进程号 {pid}，命令 {command}" in text and "重跑同一日期" in text, text
        assert (f"批次日期 {date}" in text) == bool(date), text


def _tree_digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_op603_duckdb_memory_limit_too_small_says_which_setting_and_keeps_the_published_run(
        inbox, tmp_path, monkeypatch, capsys):
    """OP603: a deployment sets HEDUI_MEMORY_LIMIT=1MB (a typo of 1GB) and re-runs a night that went well: the run
    stops with one Chinese line naming HEDUI_MEMORY_LIMIT and its value and what to do (it printed
    "内部错误 OutOfMemoryException" with DuckDB's English advice, `SET memory_limit`), and the auditors' database
    and the reports are the good run's, byte for byte; with the setting fixed the re-run completes with the same
    reports."""
    work = tmp_path / "work"
    code, _out, err, _posts = _run(monkeypatch, capsys, inbox, work)
    assert code == 0, err
    audit_before = _tree_digest(work / "audit")
    reports_before = _tree_digest(work / "reports")
    monkeypatch.setenv("HEDUI_MEMORY_LIMIT", "1MB")
    code, _out, err, posts = _run(monkeypatch, capsys, inbox, work)
    assert code == 1, err
    (line,) = _error_lines(err)
    assert line.startswith("错误：内存不足") and "HEDUI_MEMORY_LIMIT=1MB" in line and "重跑同一日期" in line, line
    assert "内部错误" not in line and "SET memory_limit" not in line, line
    (_path, body), = posts
    assert "内存不足" in body["text"]["content"] and "HEDUI_MEMORY_LIMIT" in body["text"]["content"]
    assert _tree_digest(work / "audit") == audit_before
    assert _tree_digest(work / "reports") == reports_before
    monkeypatch.delenv("HEDUI_MEMORY_LIMIT")  # the setting fixed, the same date re-run redoes it cleanly
    code, _out, err, _posts = _run(monkeypatch, capsys, inbox, work)
    assert code == 0, err
    after = _tree_digest(work / "reports")
    assert [k for k in after.keys() | reports_before.keys() if after.get(k) != reports_before.get(k)
            and not k.endswith("run_summary.json") and "/datadocs/" not in k] == []


def _midnight(date: str):
    import datetime as dt

    return dt.datetime.strptime(date, "%Y%m%d").replace(tzinfo=dt.timezone(dt.timedelta(hours=8)))


def test_op604_the_dag_run_refused_by_the_lock_treats_a_duplicate_and_a_held_folder_like_hedui_run(
        airflow_db, inbox, tmp_path, monkeypatch):
    """OP604: the DAG's run of 20261128 did not complete while the working folder is held. Held by the same
    night's `hedui run` (the operator ran it by hand): the DAG's `notify` fails the run in Airflow but sends no
    failure notice, as a refused duplicate `hedui run` does; held by something else (a purge): the notice names
    the holder. (Before, both sent "失败的任务…" with no word of who held the folder.)"""
    from test_dag import _bag, _states

    dag = _bag().dags["hedui_nightly"].partial_subset(task_ids=["notify"], include_upstream=False)
    work = tmp_path / "work"
    work.mkdir()
    _quiet(monkeypatch)
    results = {}
    for command, date in (("run", RUN), ("purge", None)):
        with _Holder(work, command, date) as pid, webhook_server() as (url, posts):
            monkeypatch.setenv("HEDUI_NOTIFY_WEBHOOK", url)
            dagrun = dag.test(logical_date=_midnight(RUN), run_conf={"inbox": str(inbox), "workdir": str(work)})
        assert "failed" in str(dagrun.state) and _states(dagrun)["notify"] == "failed"
        results[command] = (pid, posts)
    assert results["run"][1] == []  # a duplicate: the same night's run reports the night
    pid, posts = results["purge"]
    (_path, body), = posts
    text = body["text"]["content"]
    assert f"核对批次 {RUN} 失败" in text and f"工作目录正被另一个进程写入（进程号 {pid}，命令 purge" in text, text


_DATES_SCRIPT = r"""
import datetime as dt, json, sys
import pendulum
from airflow.dag_processing.dagbag import DagBag
from airflow.models.xcom import XComModel
from airflow.utils.session import create_session
from hedui.ops.airflow_timetable import BusinessDayTimetable

inbox, work = sys.argv[1], sys.argv[2]
sh = dt.timezone(dt.timedelta(hours=8))
tt = BusinessDayTimetable("0 2 * * *", timezone="Asia/Shanghai")
# the run that starts at 02:00 Shanghai on the 29th: the interval before it
scheduled = tt.infer_manual_data_interval(run_after=pendulum.datetime(2026, 11, 29, 2, tz="Asia/Shanghai")).start
cases = {
    "scheduled": (scheduled, None),
    "manual_23:59:59": (dt.datetime(2026, 11, 28, 23, 59, 59, tzinfo=sh), None),
    "manual_00:00:01": (dt.datetime(2026, 11, 29, 0, 0, 1, tzinfo=sh), None),
    "manual_23:59:59_as_utc": (dt.datetime(2026, 11, 28, 15, 59, 59, tzinfo=dt.UTC), None),
    "manual_no_logical_date_run_date": (None, "2026-11-28"),
    "backfill_20261120": (pendulum.datetime(2026, 11, 20, 2, tz="Asia/Shanghai"), None),
}
out = {"local_now": dt.datetime.now().astimezone().utcoffset().total_seconds() / 3600}
for name, (logical, run_date) in cases.items():
    conf = {"inbox": inbox, "workdir": work, **({"run_date": run_date} if run_date else {})}
    # the DAG parsed afresh per run, as a worker does: in one process, dag.test keeps a run's conf in the DAG's
    # params for the next run (a run_date given once would be every later run's)
    nightly = DagBag(dag_folder=sys.argv[3]).dags["hedui_nightly"]
    dagrun = nightly.partial_subset(task_ids=["business_date"], include_upstream=False).test(
        logical_date=logical, run_conf=conf)
    with create_session() as session:
        (row,) = session.scalars(XComModel.get_many(run_id=dagrun.run_id, task_ids="business_date",
                                                    dag_ids="hedui_nightly")).all()
        out[name] = str(XComModel.deserialize_value(row))
print("RESULT " + json.dumps(out))
"""


@pytest.mark.parametrize("machine_tz", ["America/New_York", "UTC"])
def test_op605_every_airflow_path_gives_the_same_beijing_date_on_any_machine_time_zone(
        airflow_db, inbox, tmp_path, machine_tz):
    """OP605: the DAG's `business_date` task, run under Airflow (`dag.test`) in a process whose TZ is New York or
    UTC: the scheduled run starting 02:00 on the 29th, a manual run at 23:59:59 and at 00:00:01 Beijing (the
    first also given in UTC), a manual trigger without a logical date but with run_date, a backfill's past
    interval — each the Beijing calendar day of its instant."""
    env = {**os.environ, "TZ": machine_tz}
    res = subprocess.run([sys.executable, "-c", _DATES_SCRIPT, str(inbox), str(tmp_path / "work"), str(ROOT / "dags")],
                         env=env, capture_output=True, text=True, timeout=600)
    lines = [x for x in res.stdout.splitlines() if x.startswith("RESULT ")]
    assert res.returncode == 0 and lines, res.stderr[-3000:]
    got = json.loads(lines[0].removeprefix("RESULT "))
    assert got.pop("local_now") == (-5.0 if machine_tz == "America/New_York" else 0.0)  # the TZ took effect
    assert got == {"scheduled": "20261128", "manual_23:59:59": "20261128", "manual_00:00:01": "20261129",
                   "manual_23:59:59_as_utc": "20261128", "manual_no_logical_date_run_date": "20261128",
                   "backfill_20261120": "20261120"}


def _hedui_tz(tz: str, *args) -> subprocess.CompletedProcess:
    """`python -m hedui.cli ARGS` in a process whose machine time zone is `tz`, no notice channels."""
    env = {**os.environ, "TZ": tz, "HEDUI_PROGRESS": "0"}
    for var in ("HEDUI_NOTIFY_EMAIL", "HEDUI_NOTIFY_WEBHOOK", "HEDUI_WEBHOOK_CONN_ID"):
        env.pop(var, None)
    return subprocess.run([sys.executable, "-m", "hedui.cli", *args], env=env, capture_output=True, text=True,
                          timeout=900)


def test_op606_the_same_night_run_twice_on_machines_in_other_time_zones_gives_the_same_reports(
        inbox, tmp_path, monkeypatch, capsys):
    """OP606: `hedui run --date 2026-11-28` on a machine set to New York time, then `--date 20261128` again on one
    set to UTC (this process): both process 20261128 and the second leaves every report byte-equal — outcomes,
    reconciliation, alerts, the batch summary page, each household page (not even re-written) — apart from the
    run metadata (the run summary's timings, GX's validation records); the summary says the same."""
    work = tmp_path / "work"
    first = _hedui_tz("America/New_York", "run", "--inbox", str(inbox), "--date", "2026-11-28", "--workdir", str(work))
    assert first.returncode == 0, first.stderr
    assert [p.name for p in (work / "reports").iterdir()] == [RUN] and [p.name for p in (work / "runs").iterdir()] == [RUN]
    folder = work / "reports" / RUN
    before = _tree_digest(folder)
    mtimes = {p: p.stat().st_mtime_ns for p in (folder / "households").glob("*.html")}
    summary_before = json.loads((folder / "run_summary.json").read_text(encoding="utf-8"))
    code, _out, err, _posts = _run(monkeypatch, capsys, inbox, work)
    assert code == 0, err
    after = _tree_digest(folder)
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    # GX's data docs are validation records: each carries its validation's run time and ids
    assert [k for k in changed if not k.startswith("datadocs/")] == ["run_summary.json"], changed
    assert {k for k in after if k.startswith("datadocs/")} == {k for k in before if k.startswith("datadocs/")}
    assert {p: p.stat().st_mtime_ns for p in mtimes} == mtimes
    summary_after = json.loads((folder / "run_summary.json").read_text(encoding="utf-8"))
    for volatile in ("seconds", "finished_at"):
        summary_before.pop(volatile), summary_after.pop(volatile)
    assert summary_after == summary_before


def _status(capsys, work, *date) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["status", "--workdir", str(work), *(["--date", date[0]] if date else [])])
    out = capsys.readouterr()
    return code, out.out + out.err


def test_op607_hedui_status_tells_the_morning_how_the_night_went_and_what_to_do(inbox, tmp_path, monkeypatch, capsys):
    """OP607: the operator's morning, without DuckDB — `hedui status` (there was none: the summary was printed
    once by `hedui run` and only logged by the DAG). The vehicle delivery is missing: exit 3, the sources that
    arrived, the missing one with what to run (`hedui late ... --source vehicle`), quarantine, outcomes, step
    times. After the late delivery: exit 0 and "无需处理" (the stored summary is refreshed by `hedui late`; it
    kept saying vehicle was missing). A later re-run that stops midway: exit 1, saying so. While a run writes
    the folder: exit 4 naming it. A date never run: exit 2."""
    import shutil

    folder = tmp_path / "inbox"
    shutil.copytree(inbox, folder)
    shutil.move(folder / "vehicle" / RUN, tmp_path / "vehicle_late")
    work = tmp_path / "work"
    code, _out, err, _posts = _run(monkeypatch, capsys, folder, work)
    assert code == 3, err

    code, text = _status(capsys, work)
    assert code == 3, text
    assert f"核对批次 {RUN} 已完成，但有 1 个数据来源缺失" in text and "公安 车管（vehicle）：未交付" in text, text
    assert "已到并通过校验的来源（11）：" in text and "银行 账户（bank）" in text, text
    assert "隔离行数：0" in text and "信息不全待核实 2" in text and "用时：sources" in text, text
    assert f"下一步：来源 vehicle 补交后运行 hedui late --inbox 收件箱 --workdir {work} --date {RUN} --source vehicle" in text

    shutil.move(tmp_path / "vehicle_late", folder / "vehicle" / RUN)
    assert main(["late", "--inbox", str(folder), "--workdir", str(work), "--date", RUN, "--source", "vehicle"]) == 0
    code, text = _status(capsys, work, "2026-11-28")
    assert code == 0, text
    assert f"核对批次 {RUN} 完成" in text and "未交付" not in text and "下一步：无需处理" in text, text
    assert "已到并通过校验的来源（12）" in text and "未发现问题 2" in text, text

    with _Holder(work, "run", "20261129") as pid:
        code, text = _status(capsys, work)
    assert code == 4 and f"工作目录正被写入（进程号 {pid}，命令 run" in text, text

    monkeypatch.setenv("HEDUI_MEMORY_LIMIT", "1MB")
    code, _out, err, _posts = _run(monkeypatch, capsys, folder, work)
    assert code == 1, err
    code, text = _status(capsys, work)
    assert code == 1, text
    assert f"批次 {RUN} 在上次完成之后又运行过" in text and "没有完成" in text and "重跑同一日期" in text, text

    code, text = _status(capsys, work, "20261127")
    assert code == 2 and f"没有批次 20261127：已有的批次 {RUN}" in text, text


def test_op608_an_urgent_run_takes_the_date_as_every_other_path_does(airflow_db, inbox, tmp_path):
    """OP608: an urgent verification (救急难) triggered through the DAG `hedui_on_demand` with run_date
    "2026-11-28" — the form `hedui verify --date`, `hedui run --date` and the nightly DAG's run_date accept — is
    verified under business date 20261128 (the DAG refused it: its param allowed only YYYYMMDD)."""
    from test_dag import _bag, _states

    from hedui.pipeline import RunContext, run

    work = tmp_path / "work"
    run(RunContext.of(inbox, work, RUN))
    rows = [r for r in _WORLD["requests"] if r["委托编号"] == "OP602"]
    dag = _bag().dags["hedui_on_demand"]
    dagrun = dag.test(logical_date=None, run_conf={"workdir": str(work), "request_rows": rows,
                                                   "run_date": "2026-11-28"})
    assert "success" in str(dagrun.state) and _states(dagrun)["verify"] == "success"
    import duckdb

    con = duckdb.connect(str(work / "hedui.duckdb"), read_only=True)
    try:
        dates = con.sql("select distinct run_date from outcomes where request_id = 'OP602'").fetchall()
    finally:
        con.close()
    assert dates == [(RUN,)], dates


def test_op609_an_airflow_task_that_reaches_duckdbs_memory_limit_fails_at_once_naming_the_setting(monkeypatch):
    """OP609: in the DAG a task whose DuckDB query reaches the memory limit (a real DuckDB at 1 MB) fails at once,
    without retries, its last line naming HEDUI_MEMORY_LIMIT (it retried twice, five minutes apart, with the same
    limit, and the log held DuckDB's English advice)."""
    import duckdb
    from airflow.sdk.exceptions import AirflowFailException

    from hedui.ops.airflow_tasks import fail_fast

    monkeypatch.setenv("HEDUI_MEMORY_LIMIT", "1MB")
    con = duckdb.connect(config={"memory_limit": "1MB", "threads": 1})
    try:
        with pytest.raises(AirflowFailException, match="内存不足.*HEDUI_MEMORY_LIMIT=1MB") as caught, fail_fast():
            con.sql("select i, i::varchar || repeat('x', 100) s from range(2000000) t(i) order by s desc").fetchall()
    finally:
        con.close()
    assert "SET memory_limit" not in str(caught.value)
