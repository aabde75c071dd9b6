"""Integration: the nightly DAG runs for real under CeleryExecutor with PostgreSQL metadata and Redis.

The test starts its own Airflow components — api-server (the task execution API), scheduler,
dag-processor, triggerer and a Celery worker — on random free ports, against a database of its
own on the local PostgreSQL (`hedui_airflow_it`, dropped first) and Redis database 13 (flushed
first).  It triggers hedui_nightly for a small generated world, waits for the run to succeed,
checks the outcomes against the world's truth and that the tasks went through the Celery worker,
and stops every process group in `finally`.  On failure it prints the task states and the
components' logs.  `.ci/run` (HEDUI_REQUIRE_SERVICES=1) fails instead of skipping when PostgreSQL
or Redis is unavailable.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import RUN_DATE, skip_or_fail

pytestmark = [pytest.mark.ops, pytest.mark.services, pytest.mark.timeout(2400)]

PG = "host=127.0.0.1 port=5432 user=postgres"
DB = "hedui_airflow_it"
REDIS_DB = 13
RUN_ID = f"hedui_it__{RUN_DATE}"
COMPONENTS = {  # name: airflow sub-command
    "api-server": ["api-server", "--host", "127.0.0.1", "--port", "{api}", "--workers", "1", "--apps", "execution"],
    "scheduler": ["scheduler", "--skip-serve-logs"],
    "dag-processor": ["dag-processor"],
    "triggerer": ["triggerer"],
    "worker": ["celery", "worker", "--concurrency", "2", "--without-mingle", "--without-gossip",
               "--celery-hostname", "hedui-it@%h"],
}
WAIT_PARSED, WAIT_RUN = 600, 1500  # seconds: generous, the machine may be shared and loaded


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _fresh_services() -> None:
    """Drop and create the metadata database; flush the broker's Redis database."""
    try:
        import psycopg
        import redis

        with psycopg.connect(f"{PG} dbname=postgres", autocommit=True, connect_timeout=5) as con:
            con.execute(f"drop database if exists {DB} with (force)")
            con.execute(f"create database {DB}")
        redis.Redis(host="127.0.0.1", port=6379, db=REDIS_DB, socket_timeout=5).flushdb()
    except Exception as exc:  # noqa: BLE001 - any connection problem means the service is unavailable
        skip_or_fail(f"PostgreSQL or Redis unavailable: {exc}")


def _sql(query: str, *params) -> list[tuple]:
    import psycopg

    with psycopg.connect(f"{PG} dbname={DB}", connect_timeout=5) as con:
        return con.execute(query, params).fetchall()


def _env(home: Path, api: int) -> dict[str, str]:
    conn = f"postgresql+psycopg2://postgres@127.0.0.1:5432/{DB}"
    env = dict(os.environ)  # conftest's: AIRFLOW_CONFIG, dags folder, JWT secret, Fernet key, hedui keys
    env.update({
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",  # components start bare `airflow`
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": conn,
        "AIRFLOW__CELERY__BROKER_URL": f"redis://127.0.0.1:6379/{REDIS_DB}",
        "AIRFLOW__CELERY__RESULT_BACKEND": f"db+{conn}",
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": "2",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api}/execution/",
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{api}",
        "AIRFLOW__API__PORT": str(api),
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(_free_port()),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(_free_port()),
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
        "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",  # no cron runs for other dates: only the one triggered
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
        "HEDUI_INGEST_WORKERS": "1",
        "HEDUI_THREADS": "1",
    })
    return env


def _airflow(args: list[str], env: dict, timeout: int = 300) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(Path(sys.executable).with_name("airflow")), *args], env=env, capture_output=True,
                          text=True, timeout=timeout)
    assert proc.returncode == 0, f"airflow {' '.join(args)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
    return proc


def _stop(procs: dict[str, subprocess.Popen]) -> None:
    """SIGTERM every component's process group, then SIGKILL what is left after 20 s."""
    for proc in procs.values():
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + 20
    for proc in procs.values():
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # also the group's children (celery pool, task processes)
        proc.wait()


def _diagnostics(home: Path, logs: Path) -> str:
    lines = []
    with contextlib.suppress(Exception):
        rows = _sql("select task_id, map_index, state, try_number, hostname from task_instance where run_id = %s "
                    "order by task_id, map_index", RUN_ID)
        lines += ["task instances:", *(f"  {r}" for r in rows)]
    for log in sorted(logs.glob("*.log")):
        lines += [f"--- {log.name} (tail) ---", log.read_text(errors="replace")[-4000:]]
    for log in sorted((home / "logs").rglob("*.log"))[-6:]:
        lines += [f"--- task log {log.relative_to(home)} (tail) ---", log.read_text(errors="replace")[-3000:]]
    return "\n".join(lines)


def test_nightly_dag_runs_under_celery_with_postgres_metadata(tmp_path):
    _fresh_services()
    from hedui.generate import generate

    inbox, workdir, home, logs = (tmp_path / n for n in ("inbox", "work", "airflow", "logs"))
    logs.mkdir()
    generate(inbox, households=60, seed=11, date=RUN_DATE)  # conftest's world: every scenario
    api = _free_port()
    env = _env(home, api)
    _airflow(["db", "migrate"], env)
    _airflow(["pools", "set", "hedui_ingest", "2", "hedui: concurrent ingests"], env)  # as deploy/ does

    procs: dict[str, subprocess.Popen] = {}
    try:
        for name, args in COMPONENTS.items():
            with open(logs / f"{name}.log", "w") as out:
                procs[name] = subprocess.Popen(
                    [str(Path(sys.executable).with_name("airflow")), *(a.format(api=api) for a in args)],
                    env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, cwd=tmp_path)

        def alive() -> None:
            dead = {n: p.returncode for n, p in procs.items() if p.poll() is not None}
            assert not dead, f"components exited: {dead}\n{_diagnostics(home, logs)}"

        deadline = time.monotonic() + WAIT_PARSED
        while not _sql("select 1 from serialized_dag where dag_id = 'hedui_nightly'"):
            alive()
            assert time.monotonic() < deadline, f"the DAG was not parsed in time\n{_diagnostics(home, logs)}"
            time.sleep(2)

        conf = {"inbox": str(inbox), "workdir": str(workdir), "run_date": RUN_DATE}
        _airflow(["dags", "unpause", "hedui_nightly"], env)
        _airflow(["dags", "trigger", "hedui_nightly", "--run-id", RUN_ID, "--conf", json.dumps(conf),
                  "--logical-date", "2026-11-28T00:00:00+08:00"], env)

        deadline, state = time.monotonic() + WAIT_RUN, None
        while state not in ("success", "failed"):
            alive()
            assert time.monotonic() < deadline, f"the run did not finish in time\n{_diagnostics(home, logs)}"
            time.sleep(3)
            rows = _sql("select state from dag_run where dag_id = 'hedui_nightly' and run_id = %s", RUN_ID)
            state = rows[0][0] if rows else None
        assert state == "success", f"the run ended {state}\n{_diagnostics(home, logs)}"

        tasks = _sql("select task_id, state, executor, queued_by_job_id from task_instance where run_id = %s",
                     RUN_ID)
        assert tasks and all(t[1] in ("success", "skipped") for t in tasks), tasks
        assert "execute_workload" in (logs / "worker.log").read_text(errors="replace"), "no task ran on the worker"
    finally:
        _stop(procs)

    with open(inbox / "truth.csv", encoding="utf-8") as fh:
        truth = {r["request_id"]: (r["outcome"], r["findings"]) for r in csv.DictReader(fh)}
    with open(workdir / "reports" / RUN_DATE / "outcomes.csv", encoding="utf-8") as fh:
        got = {r["request_id"]: (r["outcome"], r["findings"]) for r in csv.DictReader(fh)}
    assert len(truth) == 60 and got == truth
    assert (workdir / "hedui.duckdb").exists()
