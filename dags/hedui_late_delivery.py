"""
### hedui late delivery (迟到数据补入)

A department's delivery that arrived after its date's nightly run (which went on with SOURCE_MISSING
after the cut-off) is taken into that run: ingested and validated as usual, the date re-linked and
re-assessed, and a new report version issued only for the households whose page changed (outcome,
findings, evidence); every other household keeps its report and version.

Trigger with params:
- `run_date` (required): the business date of the run, YYYYMMDD or YYYY-MM-DD;
- `source` (required): the late source, e.g. `vehicle`;
- `inbox` (default `$HEDUI_INBOX`): the delivery lies in `<inbox>/<source>/<run_date>/` with its `.ok`;
- `workdir` (default `$HEDUI_WORKDIR`).

`check` validates the params and creates nothing; bad params fail at once, without retries.  `deliver`
calls `hedui.late.deliver_from_params`, the function `hedui late` calls.  A re-run is safe.
"""

from __future__ import annotations

import datetime as dt

import pendulum
from airflow.sdk import Param, dag, task

from hedui.ops.business_date import DATE_PARAM_PATTERN


@dag(
    dag_id="hedui_late_delivery",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Shanghai"),
    catchup=False,
    max_active_runs=1,
    default_args={"owner": "hedui", "retries": 1, "retry_delay": dt.timedelta(minutes=2),
                  "execution_timeout": dt.timedelta(hours=2)},
    tags=["hedui", "late"],
    doc_md=__doc__,
    params={
        "run_date": Param(None, type=["null", "string"], pattern=DATE_PARAM_PATTERN,
                          description="business date of the run, YYYYMMDD (required)"),
        "source": Param(None, type=["null", "string"], pattern=r"^[a-z][a-z0-9_]{0,39}$",
                        description="the late source, e.g. vehicle (required)"),
        "inbox": Param(None, type=["null", "string"], maxLength=1000, description="default $HEDUI_INBOX"),
        "workdir": Param(None, type=["null", "string"], maxLength=1000, description="default $HEDUI_WORKDIR"),
    },
)
def hedui_late_delivery():
    @task(retries=0)
    def check(params=None) -> dict:
        from hedui.late import check_late, late_params
        from hedui.ops.airflow_tasks import fail_fast

        with fail_fast():
            p = late_params(dict(params or {}))
            ctx, source, _ = check_late(p["inbox"], p["workdir"], p["run_date"], p["source"])
        return {"run_date": ctx.run_date, "source": source, "inbox": p["inbox"], "workdir": p["workdir"]}

    @task
    def deliver(checked: dict) -> dict:
        from hedui.late import deliver_from_params
        from hedui.ops.airflow_tasks import fail_fast

        with fail_fast():
            result = deliver_from_params(checked)
        return {k: result[k] for k in ("run_date", "source", "status", "households", "pages_rendered",
                                       "pages_unchanged", "seconds")} | {
            "outcomes_changed": len(result["outcomes_changed"]), "versions_issued": len(result["versions_issued"])}

    deliver(check())


hedui_late_delivery()
