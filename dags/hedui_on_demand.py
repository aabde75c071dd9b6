"""
### hedui on-demand verification (救急难)

Verifies one household now, against the latest loaded copy of every source in
the working database, and issues its report (a new version when the household
was verified before).  Sources that answer only per request (banks,
securities, insurance) are marked 待反馈 until their answers are given.

Trigger with params:
- `request_file`: the household's requests file (format of `requests_*.csv`),
  inside the allowed folder `$HEDUI_REQUEST_DIR` (default `<workdir>/requests_in`);
- or `request_rows`: the rows themselves (objects with the requests headers);
- `answers` (optional): folder of per-request answers (`<source>/` subfolders),
  inside the same allowed folder;
- `workdir` (default `$HEDUI_WORKDIR`).

The task calls `hedui.urgent.verify_household`, the function `hedui verify`
and the staff workspace call.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Param, dag, task


@dag(
    dag_id="hedui_on_demand",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Shanghai"),
    catchup=False,
    max_active_runs=4,
    default_args={"owner": "hedui", "retries": 0},
    tags=["hedui", "urgent"],
    doc_md=__doc__,
    params={
        "request_file": Param(None, type=["null", "string"], maxLength=1000,
                              description="requests file inside $HEDUI_REQUEST_DIR"),
        "request_rows": Param(None, type=["null", "array"], maxItems=50, items={"type": "object"},
                              description="the household's rows (requests headers)"),
        "answers": Param(None, type=["null", "string"], maxLength=1000,
                         description="folder of per-request answers inside $HEDUI_REQUEST_DIR"),
        "workdir": Param(None, type=["null", "string"], maxLength=1000, description="default $HEDUI_WORKDIR"),
        "run_date": Param(None, type=["null", "string"], pattern=r"^(\d{8}|\d{4}-\d{2}-\d{2})$",
                          description="business date YYYYMMDD or YYYY-MM-DD (default: today, Asia/Shanghai)"),
    },
)
def hedui_on_demand():
    @task
    def verify(params=None) -> dict:
        from hedui.urgent import verify_from_params

        return verify_from_params(params or {})

    verify()


hedui_on_demand()
