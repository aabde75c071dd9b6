"""The nightly DAG: it imports cleanly, and it runs under Airflow (dag.test) — which date, which sources."""

from __future__ import annotations

import datetime as dt
import json
import shutil

from conftest import ROOT, RUN_DATE
from notify_servers import configure, mail_text, smtp_server, webhook_server

MIDNIGHT_SHANGHAI = dt.datetime(2026, 11, 28, tzinfo=dt.timezone(dt.timedelta(hours=8)))  # 2026-11-27T16:00Z


def _bag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(ROOT / "dags"))


def _states(dagrun) -> dict[str, str]:
    """{task_id or task_id[source]: state} of a finished run."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    with create_session() as session:
        tis = session.query(TaskInstance).filter_by(dag_id=dagrun.dag_id, run_id=dagrun.run_id).all()
        return {(f"{ti.task_id}[{ti.rendered_map_index}]" if ti.map_index >= 0 else ti.task_id): str(ti.state)
                for ti in tis}


def test_dags_import_without_errors():
    bag = _bag()
    assert not bag.import_errors
    dag = bag.dags["hedui_nightly"]
    assert dag.catchup is False
    assert dag.default_args["retries"] >= 1
    assert dag.default_args["execution_timeout"] <= dt.timedelta(hours=3)
    assert dag.timetable.summary == "0 2 * * *"
    assert type(dag.timetable).__name__ == "BusinessDayTimetable"
    assert str(dag.timezone.name) == "Asia/Shanghai"
    assert dag.get_task("ingest").pool == "hedui_ingest"


def test_run_at_shanghai_midnight_processes_that_shanghai_day(airflow_db, world, tmp_path):
    """`airflow dags test hedui_nightly 2026-11-28` at 00:00 Shanghai: 20261128, not the UTC date 20261127."""
    dag = _bag().dags["hedui_nightly"]
    dagrun = dag.test(logical_date=MIDNIGHT_SHANGHAI, run_conf={"inbox": str(world), "workdir": str(tmp_path)})
    assert "success" in str(dagrun.state)
    states = _states(dagrun)
    assert states["business_date"] == "success" and states["summarize"] == "success"
    assert {s for k, s in states.items() if k.startswith(("ingest[", "wait_for_delivery["))} == {"success"}
    assert [p.name for p in (tmp_path / "runs").iterdir()] == ["20261128"]
    summary = json.loads((tmp_path / "reports" / RUN_DATE / "run_summary.json").read_text(encoding="utf-8"))
    assert summary["run_date"] == "20261128" and summary["run_id"] == dagrun.run_id
    assert summary["households"] == 60 and summary["sources_missing"] == [] == summary["sources_failed"]
    assert (tmp_path / "reports" / RUN_DATE / "outcomes.csv").exists()
    import duckdb

    con = duckdb.connect(str(tmp_path / "hedui.duckdb"), read_only=True)
    try:  # the auditors' record of the run names the Airflow run
        assert con.sql("select run_id from audit_runs where run_date = ?", params=[RUN_DATE]).fetchall() == [
            (dagrun.run_id,)]
    finally:
        con.close()


def test_missing_source_is_visible_per_source_and_the_batch_completes_and_notifies(
        airflow_db, world, tmp_path, monkeypatch):
    inbox = tmp_path / "inbox"
    shutil.copytree(world, inbox)
    shutil.rmtree(inbox / "vehicle" / RUN_DATE)
    (inbox / "tax" / RUN_DATE / next(p.name for p in (inbox / "tax" / RUN_DATE).iterdir()
                                     if p.suffix == ".ok")).unlink()  # one file without its .ok marker
    work = tmp_path / "work"
    dag = _bag().dags["hedui_nightly"]
    with smtp_server() as (port, mails), webhook_server() as (url, posts):
        configure(monkeypatch, port, url)
        # the cut-off (06:00 on 2026-11-29) is long past: the waits end at once
        dagrun = dag.test(logical_date=MIDNIGHT_SHANGHAI,
                          run_conf={"inbox": str(inbox), "workdir": str(work), "cutoff": "06:00"})
    assert "success" in str(dagrun.state)
    states = _states(dagrun)
    assert states["wait_for_delivery[vehicle]"] == "skipped" and states["ingest[vehicle]"] == "skipped"
    assert states["wait_for_delivery[tax]"] == "skipped" and states["ingest[tax]"] == "skipped"
    assert states["ingest[bank]"] == "success" and states["load"] == "success"
    assert states["publish"] == "success" and states["notify"] == "success"
    summary = json.loads((work / "reports" / RUN_DATE / "run_summary.json").read_text(encoding="utf-8"))
    assert sorted(summary["sources_missing"]) == ["tax", "vehicle"]
    assert summary["outcomes"].get("CLEAR", 0) == 0
    (mail,) = mails
    assert "公安 车管（vehicle）：未交付" in mail_text(mail)
    (_path, body), = posts
    assert "核对批次 20261128 已完成，但有 2 个数据来源缺失或未通过校验" in body["text"]["content"]


def test_trigger_without_a_date_is_refused_at_once_and_creates_nothing(airflow_db, world, tmp_path, monkeypatch):
    dag = _bag().dags["hedui_nightly"]
    with webhook_server() as (url, posts):
        monkeypatch.setenv("HEDUI_NOTIFY_WEBHOOK", url)
        monkeypatch.delenv("HEDUI_NOTIFY_EMAIL", raising=False)
        dagrun = dag.test(logical_date=None, run_conf={"inbox": str(world), "workdir": str(tmp_path / "work")})
    assert "failed" in str(dagrun.state)
    states = _states(dagrun)
    assert states["business_date"] == "failed" and states["notify"] == "failed"
    assert not (tmp_path / "work").exists()
    (_path, body), = posts
    assert "run_date" in body["text"]["content"] and "失败" in body["text"]["content"]
