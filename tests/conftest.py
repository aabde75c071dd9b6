"""Shared fixtures.  Airflow's environment is set here, before anything imports airflow."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: under pytest-xdist (`make test` runs `-n 2`) each worker has an Airflow home (metadata database, keys) of its
#: own: two processes running `dag.test()` on one SQLite file would lock each other out
_WORKER = os.environ.get("PYTEST_XDIST_WORKER")
_HOME = str(ROOT / ".work" / (f"airflow-test-{_WORKER}" if _WORKER else "airflow-test"))
if os.environ.get("AIRFLOW_HOME") != _HOME:  # a worker inherits what the controller's configure() set: not its own
    for _name in os.environ.pop("HEDUI_TEST_CONFIGURED", "").split():
        os.environ.pop(_name, None)
_before = set(os.environ)
os.environ["AIRFLOW_HOME"] = _HOME
os.environ.setdefault("HEDUI_THREADS", "2")
os.environ.setdefault("HEDUI_REPORT_PDF", "none")  # PDFs are tested on a few pages in test_report_render

from hedui.ops import airflow_env  # noqa: E402

airflow_env.configure()
os.environ["HEDUI_TEST_CONFIGURED"] = " ".join(sorted(set(os.environ) - _before - {"AIRFLOW_HOME"}))

RUN_DATE = "20261128"


def require_services() -> bool:
    """CI (`.ci/run`) sets HEDUI_REQUIRE_SERVICES=1: a missing service is then a failure, not a skip."""
    return os.environ.get("HEDUI_REQUIRE_SERVICES") == "1"


def skip_or_fail(reason: str) -> None:
    if require_services():
        pytest.fail(f"{reason} (required under .ci/run)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def airflow_db():
    """A migrated Airflow metadata database (SQLite under .work/), once per session."""
    airflow_env.migrate()
    return Path(os.environ["AIRFLOW_HOME"])


@pytest.fixture(scope="session")
def world(tmp_path_factory) -> Path:
    """A generated inbox of 60 households: every scenario of the generator at least once."""
    from hedui.generate import generate

    inbox = tmp_path_factory.mktemp("world") / "inbox"
    generate(inbox, households=60, seed=11, date=RUN_DATE)
    return inbox


@pytest.fixture(scope="session")
def world_run(world, tmp_path_factory):
    """The world run once through `hedui run`'s steps: (RunContext, step timings)."""
    from hedui.pipeline import RunContext, run

    ctx = RunContext.of(world, tmp_path_factory.mktemp("work"), RUN_DATE)
    timings = run(ctx)
    return ctx, timings


@pytest.fixture(scope="module")
def macros():
    """A DuckDB connection with hedui's SQL macros (sql/macros.sql), to hold them against their Python twins."""
    import duckdb

    from hedui.resources import data_path

    con = duckdb.connect()
    con.sql((data_path("sql") / "macros.sql").read_text(encoding="utf-8"))
    yield con
    con.close()
