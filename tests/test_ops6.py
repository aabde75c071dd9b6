"""Operations round 6: an operator's week with the nightly batch — a second run refused by the lock, the
business date on every path and machine time zone, re-runs, the morning's status, and memory trouble.

One small hand-built world (ids OP6xx), written once; each check runs `hedui run` (the CLI's `main`, in this
process, or `python -m hedui.cli` in a subprocess where the machine's TZ matters) or the DAGs under Airflow
(`dag.test()`), with a real webhook server listening where a notice may go out.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest
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
    return folder


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
    and the reports are the good run's, byte for byte."""
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
