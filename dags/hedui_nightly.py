"""
### hedui nightly verification batch

Every night at 02:00 (Asia/Shanghai) the center verifies the households whose
requests arrived in the inbox for the logical date:

1. **ingest** — one mapped task per source: read the department's delivery
   (CSV/XLSX/Parquet, any encoding), check `.ok` markers, stage the rows;
   validate them with the source's Great Expectations suite; bad rows go to
   quarantine with their reason; the passed rows are written with IDs
   pseudonymized and raw IDs/accounts encrypted.
2. **load** — move the run's staged rows into the working DuckDB; the run
   fails if delivered ≠ staged + quarantined for any file.
3. **link** — link every record to the requested, authorized members (exact
   ID, then probabilistic).
4. **assess** — household figures, findings and outcome codes per policy.
5. **report** — outcomes.csv, reconciliation.csv, one report per household.
6. **publish** — an entry in the hash-chained audit log; the auditor database.

Params `inbox` and `workdir` default to `$HEDUI_INBOX` / `$HEDUI_WORKDIR`.
Every task is keyed on the logical date and replaces its own outputs, so a
re-run is safe.
"""

from __future__ import annotations

import datetime as dt

import pendulum
from airflow.sdk import Param, dag, task

DEFAULT_ARGS = {
    "owner": "hedui",
    "retries": 2,
    "retry_delay": dt.timedelta(minutes=5),
}


def _ctx(params: dict, ds_nodash: str):
    import os

    from hedui.pipeline import RunContext

    inbox = params.get("inbox") or os.environ.get("HEDUI_INBOX", "inbox")
    workdir = params.get("workdir") or os.environ.get("HEDUI_WORKDIR", "work")
    return RunContext.of(inbox, workdir, params.get("run_date") or ds_nodash)


@dag(
    dag_id="hedui_nightly",
    schedule="0 2 * * *",
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Shanghai"),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["hedui", "nightly"],
    doc_md=__doc__,
    params={
        "inbox": Param(None, type=["null", "string"], description="inbox folder (default $HEDUI_INBOX)"),
        "workdir": Param(None, type=["null", "string"], description="working folder (default $HEDUI_WORKDIR)"),
        "run_date": Param(None, type=["null", "string"], description="YYYYMMDD; default: the logical date"),
    },
)
def hedui_nightly():
    @task
    def list_sources() -> list[str]:
        from hedui.pipeline import sources
        from hedui.privacy.keys import load_keys

        load_keys()  # a missing key fails the run here, before any work, with what to set
        return sources()

    @task(map_index_template="{{ task.op_kwargs['source'] }}")
    def ingest(source: str, params=None, ds_nodash=None) -> dict:
        from hedui.pipeline import ingest_and_validate

        result = ingest_and_validate(_ctx(params, ds_nodash), source)
        return {"source": source, "status": result["status"]}

    @task
    def load(statuses: list[dict], params=None, ds_nodash=None) -> dict:
        from hedui.pipeline import load as load_step

        return load_step(_ctx(params, ds_nodash))

    @task
    def link(_loaded: dict, params=None, ds_nodash=None) -> dict:
        from hedui.pipeline import link as link_step

        return link_step(_ctx(params, ds_nodash))

    @task
    def assess(_linked: dict, params=None, ds_nodash=None) -> dict:
        from hedui.pipeline import assess as assess_step

        return assess_step(_ctx(params, ds_nodash))

    @task
    def report(_assessed: dict, params=None, ds_nodash=None) -> dict:
        from hedui.pipeline import report as report_step

        return report_step(_ctx(params, ds_nodash))

    @task
    def publish(_reported: dict, params=None, ds_nodash=None) -> dict:
        from hedui.pipeline import publish as publish_step

        return publish_step(_ctx(params, ds_nodash))

    statuses = ingest.expand(source=list_sources())
    publish(report(assess(link(load(statuses)))))


hedui_nightly()
