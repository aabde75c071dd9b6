"""
### hedui nightly verification batch

**Which date a run processes.** Every run processes one *business date* D
(a calendar day in Asia/Shanghai, `YYYYMMDD`): the folders
`inbox/<source>/D/`. It is decided in one place
(`hedui.ops.business_date.resolve`):

- the param `run_date` when given (`YYYYMMDD` or `YYYY-MM-DD`, a real date);
- otherwise the run's **logical date converted to Asia/Shanghai** — never
  `ds`/`ds_nodash`, which are UTC (00:00 Shanghai is 16:00 UTC of the day before).

The schedule is a data-interval cron, `0 2 * * *` in Asia/Shanghai: the run
for business date D covers D 02:00 → D+1 02:00, has the logical date
D 02:00 and **starts at 02:00 on D+1**, once D's deliveries are in. So the
run that starts in the night of 11-28 processes 20261127. A manual run with a
logical date of 2026-11-28 (e.g. `airflow dags test hedui_nightly 2026-11-28`,
midnight Shanghai) processes 20261128.

**A manual trigger without a date is refused** (the first task fails at
once, no retries, saying what to pass): give `run_date`, e.g.
`airflow dags trigger hedui_nightly --run-id manual__20261128 --conf '{"run_date": "20261128"}'`
— the `--run-id` puts the business date into the run id. Scheduled runs'
ids carry it already: `scheduled__20261127` (timetable `hedui.ops.airflow_timetable.BusinessDayTimetable`,
registered by the `hedui` Airflow plugin).

`catchup` is off: unpausing starts at most the latest interval; if that
date has no request list, the run fails at once with the reason instead of
retrying.

**Late deliveries.** `wait_for_delivery` (deferrable: it waits in the
triggerer, holding no worker slot) waits for each source's delivery to be
complete (every data file with its `.ok`) until the cut-off: param `cutoff`
or `$HEDUI_CUTOFF`, `HH:MM` Shanghai on the morning after D (default 06:00).
A source delivered through an exchange table has no folder to wait for: its
wait ends at once (its ingest checks the table's `_ok` row).
After it a missing source's wait ends **skipped** and the run proceeds with
the source missing (its households INCOMPLETE). Without the request list
there is nothing to verify: the run fails.

**Steps.**
1. **ingest** — one mapped task per source (pool `hedui_ingest` caps how many
   run at once): read, decode, stage, validate with the GX suite,
   quarantine bad rows, protect IDs. A source that is missing, incomplete or
   fails its suite ends **skipped** with the reason in its log, so the grid
   shows it; the batch goes on.
2. **load** — the run's staged rows into the working DuckDB; fails if
   delivered ≠ staged + quarantined for any file.
3. **link**, 4. **assess**, 5. **report**, 6. **publish** (audit log, auditor DB).
   With param `shards` (or `$HEDUI_SHARDS`) N > 1, steps 3–5 become
   **shard_plan** (each household's shard by a keyed hash of its request id;
   probabilistic pairs scored and ranked once over the whole run),
   **shard_work** — one mapped task per shard, on its own DuckDB file, so
   shards can run on different Celery workers — and **shard_merge** (the
   shards' results back into the working database); publication runs once.
7. **summarize** — `reports/D/run_summary.json`: outcome counts, sources
   missing or failed, quarantine counts, time per step.
8. **notify** — mails the summary (SMTP provider, `HEDUI_NOTIFY_EMAIL`) and
   posts it to a webhook (`HEDUI_NOTIFY_WEBHOOK`); when the run did not
   complete it sends a failure notice naming the failed tasks, and fails. If
   the working folder is still held then: by the same night's `hedui run`
   (a duplicate) no notice — that run reports the night; by anything else,
   the notice names the holder. `hedui status --workdir W` tells the morning
   how the night went.

Errors a retry cannot fix (bad input or configuration, unbalanced
reconciliation) fail the task at once (`AirflowFailException`). Params
`inbox` and `workdir` default to `$HEDUI_INBOX` / `$HEDUI_WORKDIR`. Every task
replaces its own outputs, so a re-run is safe.
"""

from __future__ import annotations

import datetime as dt
import logging
import time

import pendulum
from airflow.sdk import Param, dag, task

from hedui.ops.airflow_env import INGEST_POOL
from hedui.ops.airflow_tasks import DeliverySensor
from hedui.ops.airflow_timetable import BusinessDayTimetable
from hedui.ops.business_date import DATE_PARAM_PATTERN

log = logging.getLogger("hedui.dag")

DEFAULT_ARGS = {
    "owner": "hedui",
    "retries": 2,
    "retry_delay": dt.timedelta(minutes=5),
    "execution_timeout": dt.timedelta(hours=3),
}


@dag(
    dag_id="hedui_nightly",
    schedule=BusinessDayTimetable("0 2 * * *", timezone="Asia/Shanghai"),
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Shanghai"),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["hedui", "nightly"],
    doc_md=__doc__,
    params={
        "inbox": Param(None, type=["null", "string"], description="inbox folder (default $HEDUI_INBOX)"),
        "workdir": Param(None, type=["null", "string"], description="working folder (default $HEDUI_WORKDIR)"),
        "run_date": Param(None, type=["null", "string"], pattern=DATE_PARAM_PATTERN,
                          description="business date YYYYMMDD; default: the logical date in Asia/Shanghai"),
        "shards": Param(None, type=["null", "integer"], minimum=1, maximum=256,
                        description="split link, assess and report into N shards (default $HEDUI_SHARDS or 1)"),
        "cutoff": Param(None, type=["null", "string"], pattern=r"^\d{1,2}:\d{2}$",
                        description="wait for late deliveries until HH:MM Shanghai the morning after "
                                    "(default $HEDUI_CUTOFF or 06:00)"),
    },
)
def hedui_nightly():
    @task(retries=0)
    def business_date(**context) -> str:
        from hedui.ops.airflow_tasks import check_inbox_exists, fail_fast, run_context
        from hedui.steps.policy import check_run_year

        ctx = run_context(context)  # fails at once, without retries, when the run has no date
        check_inbox_exists(ctx)
        with fail_fast():  # a date before every policy version: refused before any source is read
            check_run_year(ctx.run_date)
        logical = context.get("logical_date")
        log.info(f"业务日期 {ctx.run_date}（逻辑日期 {logical.in_timezone('Asia/Shanghai') if logical else '无'}）")
        return ctx.run_date

    @task
    def list_sources() -> list[str]:
        from hedui.ops.airflow_tasks import fail_fast
        from hedui.pipeline import sources
        from hedui.privacy.keys import load_keys

        with fail_fast():
            load_keys()  # a missing key fails the run here, before any work, with what to set
            from hedui.ops.sources_config import check_connections, load_sources_config

            check_connections(load_sources_config())  # so does a wrong sources configuration or connection
        return sources()

    @task(map_index_template="{{ task.op_kwargs['source'] }}", trigger_rule="none_failed",
          pool=INGEST_POOL, execution_timeout=dt.timedelta(hours=1))
    def ingest(source: str, **context) -> dict:
        from hedui.ops.airflow_tasks import fail_fast, raise_if_source_not_passed, run_context
        from hedui.ops.whole_requests import check_request_list
        from hedui.pipeline import REQUESTS, ingest_and_validate
        from hedui.workdir import shared_writer_lock

        with fail_fast():
            ctx = run_context(context)
            with shared_writer_lock(ctx.workdir, f"ingest {source}"):  # never beside a `hedui run`
                if source == REQUESTS:  # a date with results: never re-run on a request list still being copied
                    check_request_list(ctx)
                result = ingest_and_validate(ctx, source)
        raise_if_source_not_passed(result)  # skipped in the grid, the batch goes on
        return {"source": source, "status": result["status"]}

    def step(name: str, **task_kwargs):
        @task(task_id=name, **task_kwargs)
        def run_step(*_upstream, **context) -> dict:
            from hedui import pipeline
            from hedui.ops.airflow_tasks import fail_fast, run_context

            started = time.perf_counter()
            with fail_fast():
                if name == "publish":  # the auditors' `runs` name the Airflow run
                    pipeline.publish(run_context(context), run_id=getattr(context.get("dag_run"), "run_id", None))
                else:
                    getattr(pipeline, name)(run_context(context))
            return {"step": name, "seconds": round(time.perf_counter() - started, 2)}

        return run_step

    @task.branch(trigger_rule="none_failed")
    def choose_path(*_upstream, **context) -> str:
        from hedui.ops.airflow_tasks import fail_fast, shard_count

        with fail_fast():
            return "shard_plan" if shard_count(context) > 1 else "link"

    @task
    def shard_plan(*_upstream, **context) -> list[int]:
        from hedui.ops.airflow_tasks import fail_fast, run_context, shard_count
        from hedui.pipeline import shard_plan as plan

        with fail_fast():
            return plan(run_context(context), shard_count(context))

    @task(map_index_template="{{ task.op_kwargs['shard'] }}")
    def shard_work(shard: int, **context) -> dict:
        from hedui.ops.airflow_tasks import fail_fast, run_context
        from hedui.pipeline import shard_work as work

        with fail_fast():
            return work(run_context(context), shard)

    @task
    def summarize(*_upstream, **context) -> dict:
        from hedui.ops.airflow_tasks import fail_fast, finish, step_timings

        with fail_fast():
            summary = finish(context, step_timings(context))
        return {k: summary[k] for k in ("run_date", "households", "outcomes", "sources_missing", "sources_failed")}

    @task(trigger_rule="all_done", retries=1)
    def notify(_summary=None, **context) -> None:
        from hedui.ops.airflow_tasks import notify_outcome

        notify_outcome(context)

    date = business_date()
    names = list_sources()
    date >> names
    waits = DeliverySensor.partial(task_id="wait_for_delivery", map_index_template="{{ task.source }}").expand(
        source=names)
    ingested = ingest.expand(source=names)
    waits >> ingested
    loaded = step("load", trigger_rule="none_failed")(ingested)
    path = choose_path(loaded)
    linked = step("link")(path)
    assessed = step("assess")(linked)
    reported = step("report")(assessed)
    planned = shard_plan(path)
    merged = step("shard_merge")(shard_work.expand(shard=planned))
    published = step("publish", trigger_rule="none_failed_min_one_success")(reported, merged)
    notify(summarize(published))


hedui_nightly()
