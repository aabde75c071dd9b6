"""Operations round 5: what an operator meets when a nightly `hedui run` stops midway, or meets a reader.

One small hand-built world (ids OP5xx), its inbox written once; each check runs `hedui run` (the CLI's
`main`, in this process) over it into a working folder of its own, with a real webhook server listening;
OP503 re-runs a step of a completed run while another process reads the working database.
"""

from __future__ import annotations

import logging
import re
import subprocess
import sys
import threading
import time

import pytest
from contract_world import RUN, World, fresh_ids
from notify_servers import webhook_server

from hedui.cli import main

_ID = re.compile(r"\d{17}[\dXx]")


@pytest.fixture(scope="module")
def inbox(tmp_path_factory):
    world = World()
    with fresh_ids(951):
        a = world.household("OP501", [("钱进", "本人"), ("李芳", "配偶")])
        world.household("OP502", [("周全", "本人")])
    world.bank(a[0], "1200")
    world.ids = [p["id"] for p in a]
    folder = tmp_path_factory.mktemp("op5") / "inbox"
    world.write(folder)
    return folder, world


def _run(monkeypatch, capsys, inbox, work) -> tuple[int, str, list]:
    for var in ("HEDUI_NOTIFY_EMAIL", "HEDUI_WEBHOOK_CONN_ID", "HEDUI_WEBHOOK_SECRET"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HEDUI_PROGRESS", "0")
    with webhook_server() as (url, posts):
        monkeypatch.setenv("HEDUI_NOTIFY_WEBHOOK", url)
        code = main(["run", "--inbox", str(inbox), "--date", RUN, "--workdir", str(work)])
    return code, capsys.readouterr().err, posts


def test_op501_a_run_stopping_midway_notifies_the_failure_naming_its_step(inbox, tmp_path, monkeypatch, capsys):
    """OP501: the audit folder is not a folder (a volume mounted wrong): the run stops in publish; the operator's
    line and the webhook's failure notice name the date and the step, without personal data."""
    folder, world = inbox
    work = tmp_path / "work"
    work.mkdir()
    (work / "audit").write_text("not a folder", encoding="utf-8")
    code, err, posts = _run(monkeypatch, capsys, folder, work)
    assert code == 1, err
    lines = [x for x in err.splitlines() if x.startswith("错误：")]
    assert len(lines) == 1, err
    assert lines[0].endswith("（失败步骤：发布（publish））"), lines[0]
    (_path, body), = posts
    text = body["text"]["content"]
    assert f"核对批次 {RUN} 失败" in text and "失败步骤：发布（publish）" in text and "重跑同一日期" in text, text
    assert not _ID.search(text) and not _ID.search(err)


def test_op502_a_source_that_cannot_be_read_names_the_source_in_the_line_and_the_notice(
        inbox, tmp_path, monkeypatch, capsys):
    """OP502: social insurance answers through an exchange database that is down tonight: the run stops while
    the sources are read (exit 1); the line and the notice name the step and the department, so the operator
    knows whom to call."""
    folder, _world = inbox
    config = tmp_path / "sources.yaml"
    config.write_text("sources:\n  social_insurance: {kind: sql_table, conn_id: hedui_op5_down, table: si_jiaofu}\n",
                      encoding="utf-8")
    monkeypatch.setenv("HEDUI_SOURCES_CONFIG", str(config))
    monkeypatch.setenv("AIRFLOW_CONN_HEDUI_OP5_DOWN", "postgresql://hedui@127.0.0.1:1/exchange")
    code, err, posts = _run(monkeypatch, capsys, folder, tmp_path / "work")
    assert code == 1, err
    lines = [x for x in err.splitlines() if x.startswith("错误：")]
    assert len(lines) == 1, err
    where = "失败步骤：接收与校验数据（sources），数据来源：人社 社会保险（social_insurance）"
    assert lines[0].endswith(f"（{where}）"), err  # one line, though the driver's message has two
    assert lines[0].startswith("错误：无法连接PostgreSQL 127.0.0.1:1") and "读写文件" not in lines[0], lines[0]
    (_path, body), = posts
    assert where in body["text"]["content"], body


@pytest.fixture(scope="module")
def done(inbox, tmp_path_factory):
    """The world run once, completely: its RunContext."""
    from hedui import pipeline

    ctx = pipeline.RunContext.of(inbox[0], tmp_path_factory.mktemp("op5_done"), RUN)
    pipeline.run(ctx)
    return ctx


def _holder(database, read_only: bool) -> subprocess.Popen:
    """Another process holding the working database open — read-only as `hedui serve` answering a page or
    `hedui pdf` printing does, read-write as a step of the nightly batch does — until its stdin closes."""
    code = (f"import sys, duckdb; con = duckdb.connect(sys.argv[1], read_only={read_only}); "
            "print(con.sql('select count(*) from outcomes').fetchall()[0][0], flush=True); sys.stdin.read()")
    proc = subprocess.Popen([sys.executable, "-c", code, str(database)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "2"  # it holds the file now
    return proc


def _while_held(database, read_only: bool, work, caplog, logger: str, said: str) -> dict:
    """`work()` in a thread while another process holds `database`; the holder lets go once `logger` has
    said `said` (the work waits) or the work ended. {"result": ...} or {"error": ...}."""
    holder = _holder(database, read_only)
    outcome: dict = {}

    def target():
        try:
            outcome["result"] = work()
        except Exception as exc:  # noqa: BLE001 - the caller's assertion shows it
            outcome["error"] = exc

    caplog.set_level(logging.INFO, logger=logger)
    thread = threading.Thread(target=target)
    try:
        thread.start()
        for _ in range(1200):  # until the work says it waits, or ended (then the caller's assertion tells how)
            if said in caplog.text or not thread.is_alive():
                break
            time.sleep(0.1)
    finally:
        holder.stdin.close()
        holder.wait()
        thread.join()
    return outcome


def test_op503_a_step_waits_for_a_reader_of_the_working_database_then_completes(done, monkeypatch, caplog):
    """OP503: staff read the working database (a page of `hedui serve`, `hedui pdf`) when the nightly's step
    opens it to write: the step waits for them and completes (it failed with DuckDB's lock error); a reader
    that never lets go ends the step with exit code 4's error, in Chinese, after HEDUI_WRITE_WAIT_S."""
    from hedui import pipeline
    from hedui.errors import LockedError

    ctx = done
    outcome = _while_held(ctx.database, True, lambda: pipeline.load(ctx), caplog, "hedui.db", "waiting")
    assert "error" not in outcome, outcome
    assert outcome["result"]["inputs_changed"] == []
    assert "held by another process" in caplog.text

    reader = _holder(ctx.database, True)
    try:
        monkeypatch.setenv("HEDUI_WRITE_WAIT_S", "0")
        with pytest.raises(LockedError, match="一直被另一个进程占用.*重跑同一日期") as caught:
            pipeline.link(ctx)
    finally:
        reader.stdin.close()
        reader.wait()
    assert "hedui serve" in str(caught.value)  # LockedError: `hedui` exits 4, the DAG's task retries


def test_op504_an_urgent_verification_during_a_nightly_step_waits_for_it(inbox, done, caplog):
    """OP504: an urgent verification (救急难) asked while a step of the nightly holds the working database
    waits for the step to let go and verifies the household (it was refused at once: "请稍后重试")."""
    from hedui.urgent import verify_household

    _folder, world = inbox
    rows = [r for r in world.rows["requests"] if r["委托编号"] == "OP502"]
    outcome = _while_held(done.database, False, lambda: verify_household(done.workdir, rows, run_date="20261130"),
                          caplog, "hedui.db", "held by a writer")
    assert "error" not in outcome, outcome
    assert outcome["result"]["request_id"] == "OP502" and outcome["result"]["outcome"], outcome
    assert "held by a writer" in caplog.text


def test_op505_the_summary_of_a_finished_run_waits_for_a_decision_holding_the_database(done, caplog):
    """OP505: `hedui run` has finished its steps and let go of the working folder; a staff decision (or a late
    delivery) writes the database as the run reads its summary: the summary waits and is made (the completed
    run ended with DuckDB's lock error as 内部错误, exit 1); so does the DAG's `summarize`."""
    from hedui.ops import run_summary

    outcome = _while_held(done.database, False, lambda: run_summary.build(done, {}), caplog, "hedui.db",
                          "held by a writer")
    assert "error" not in outcome, outcome
    assert outcome["result"]["households"] == 2 and outcome["result"]["run_date"] == RUN
    assert "held by a writer" in caplog.text
