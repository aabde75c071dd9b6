"""The nightly DAG: it imports cleanly, and it runs end to end under Airflow."""

from __future__ import annotations

import datetime as dt

from conftest import ROOT, RUN_DATE


def _bag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(ROOT / "dags"))


def test_dags_import_without_errors():
    bag = _bag()
    assert not bag.import_errors
    dag = bag.dags["hedui_nightly"]
    assert dag.catchup is False
    assert dag.default_args["retries"] >= 1
    assert dag.schedule == "0 2 * * *"
    assert str(dag.timezone.name) == "Asia/Shanghai"


def test_nightly_dag_runs_a_generated_world_to_success(airflow_db, world, tmp_path):
    dag = _bag().dags["hedui_nightly"]
    logical = dt.datetime(2026, 11, 28, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    dagrun = dag.test(logical_date=logical,
                      run_conf={"inbox": str(world), "workdir": str(tmp_path), "run_date": RUN_DATE})
    assert "success" in str(dagrun.state)
    assert (tmp_path / "reports" / RUN_DATE / "outcomes.csv").exists()
    assert (tmp_path / "hedui.duckdb").exists()
