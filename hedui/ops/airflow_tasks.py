"""What the DAGs' tasks need from Airflow: the run's context and date, fail-fast errors, waiting for deliveries.

Kept light at import (the DAG file imports it when parsed): hedui's heavy
modules are imported inside the functions.

- :func:`run_context` — the inbox, working folder and business date of an
  Airflow run; the date comes from :func:`hedui.ops.business_date.resolve`, the one
  place it is decided.
- :func:`fail_fast` — errors that can never succeed on retry (bad input, bad
  configuration, a reconciliation that does not add up) become
  ``AirflowFailException``: the task fails at once, without retries.
- :class:`DeliverySensor` — waits, deferred (in the triggerer, holding no
  worker slot), for a source's delivery to be complete until the cut-off; after
  it the task ends *skipped* with the reason, and the run goes on with the
  source missing.  ``requests`` is different: without the request list there is
  nothing to verify, so the run fails at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
from pathlib import Path

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException
from airflow.triggers.base import BaseTrigger, TriggerEvent

from hedui.errors import HeduiError, InputError, LockedError
from hedui.ops.business_date import cutoff, delivery_complete, resolve

log = logging.getLogger(__name__)


def _mask(text: str) -> str:
    from hedui.audit.log import mask_free_text

    return mask_free_text(text)


def business_date(context) -> str:
    """The business date of the running Airflow task's DAG run (fails the task if there is none)."""
    params = context.get("params") or {}
    with fail_fast():
        return resolve(params.get("run_date"), context.get("logical_date"))


def run_context(context):
    """The RunContext of the running Airflow task: params (or $HEDUI_INBOX / $HEDUI_WORKDIR) and business date."""
    from hedui.cli_args import check_workdir, refuse_control
    from hedui.ops.path_limits import refuse_over_limits
    from hedui.pipeline import RunContext

    params = context.get("params") or {}
    inbox = params.get("inbox") or os.environ.get("HEDUI_INBOX", "inbox")
    workdir = params.get("workdir") or os.environ.get("HEDUI_WORKDIR", "work")
    with fail_fast():  # as `hedui run`: never a working folder that is a file, the inbox or inside it
        for value, label in ((inbox, "参数 inbox（或 HEDUI_INBOX）"), (workdir, "参数 workdir（或 HEDUI_WORKDIR）")):
            refuse_control(str(value), label)  # a line break would put a forged line into the task's log
            refuse_over_limits(str(value), label)  # a name over 255 bytes: said, not an OS error midway
        try:
            check_workdir(workdir, inbox)
        except InputError as exc:
            raise InputError(f"参数 workdir（或 HEDUI_WORKDIR）无效：{exc}") from None
    return RunContext.of(inbox, workdir, business_date(context))


def _never_retry() -> tuple[type[BaseException], ...]:
    from connectors import MapError
    from matching.linkage.exceptions import LinkageError

    return (HeduiError, MapError, LinkageError)


@contextlib.contextmanager
def fail_fast():
    """Turn errors a retry cannot fix into AirflowFailException (no retries); the rest propagate."""
    try:
        yield
    except LockedError:
        raise  # another run holds the workdir: a retry later may succeed
    except _never_retry() as exc:
        raise AirflowFailException(_mask(str(exc))) from exc
    except Exception as exc:  # a retry may succeed (a full disk cleared): say so in the task's log, then retry
        from hedui.ops.failures import disk_full_line, memory_line

        if (line := memory_line(exc)) is not None:  # the same memory limit fails the same way: no retry
            raise AirflowFailException(line) from exc
        if (line := disk_full_line(exc, None)) is not None:
            log.error("%s", line)
        raise


def check_inbox_exists(ctx) -> None:
    if not ctx.inbox.is_dir():
        raise AirflowFailException(_mask(f"收件箱目录 {ctx.inbox} 不存在：请检查参数 inbox 或环境变量 HEDUI_INBOX"))


class DeliveryTrigger(BaseTrigger):
    """Polls a delivery folder until it is complete or the deadline passes (runs in the triggerer)."""

    def __init__(self, folder: str, deadline: str, poke_interval: float = 300.0):
        super().__init__()
        self.folder = folder
        self.deadline = deadline
        self.poke_interval = poke_interval

    def serialize(self):
        return ("hedui.ops.airflow_tasks.DeliveryTrigger",
                {"folder": self.folder, "deadline": self.deadline, "poke_interval": self.poke_interval})

    async def run(self):
        deadline = dt.datetime.fromisoformat(self.deadline)
        while True:
            if await asyncio.to_thread(delivery_complete, Path(self.folder)):
                yield TriggerEvent({"status": "complete"})
                return
            left = (deadline - dt.datetime.now(dt.UTC)).total_seconds()
            if left <= 0:
                yield TriggerEvent({"status": "cutoff"})
                return
            await asyncio.sleep(min(self.poke_interval, left))


class DeliverySensor(BaseOperator):
    """Wait for `source`'s delivery of the run's business date until the cut-off (deferrable)."""

    template_fields = ("source",)
    ui_color = "#e8f0fe"

    def __init__(self, *, source: str, poke_interval: float = 300.0, **kwargs):
        kwargs.setdefault("execution_timeout", None)  # the wait ends at the cut-off, not by a timeout
        kwargs.setdefault("retries", 0)
        super().__init__(**kwargs)
        self.source = source
        self.poke_interval = poke_interval

    def _folder_and_deadline(self, context) -> tuple[Path, dt.datetime]:
        ctx = run_context(context)
        check_inbox_exists(ctx)
        with fail_fast():
            deadline = cutoff(ctx.run_date, (context.get("params") or {}).get("cutoff"))
        return ctx.inbox / self.source / ctx.run_date, deadline

    def execute(self, context):
        from hedui.ops.sources_config import load_sources_config

        delivery = load_sources_config().delivery(self.source)
        if delivery.is_sql:  # no folder to wait for: the ingest reads the exchange table and checks its `_ok` row
            log.info("%s: exchange table %s@%s, completeness checked when it is read", self.source, delivery.table,
                     delivery.conn_id)
            return "exchange_table"
        folder, deadline = self._folder_and_deadline(context)
        if delivery_complete(folder):
            log.info("%s: delivery complete in %s", self.source, _mask(str(folder)))
            return "complete"
        now = dt.datetime.now(dt.UTC)
        if now >= deadline:
            return self._after_cutoff(folder, deadline)
        log.info("%s: waiting for %s until %s (Asia/Shanghai)", self.source, _mask(str(folder)), deadline.isoformat())
        self.defer(trigger=DeliveryTrigger(str(folder), deadline.isoformat(), self.poke_interval),
                   method_name="execute_complete", timeout=deadline - now + dt.timedelta(minutes=10))

    def execute_complete(self, context, event=None):
        folder, deadline = self._folder_and_deadline(context)
        if (event or {}).get("status") == "complete" or delivery_complete(folder):
            return "complete"
        return self._after_cutoff(folder, deadline)

    def _after_cutoff(self, folder: Path, deadline: dt.datetime):
        when = deadline.strftime("%Y-%m-%d %H:%M")
        what = "未交付" if not folder.is_dir() else "交付不完整（缺少 .ok 完成标记）"
        if self.source == "requests":
            raise AirflowFailException(_mask(f"委托名单 {folder} 在截止时间 {when}（上海时间）前{what}：本批次没有可核对的"
                                             "家庭。请确认委托名单已放入收件箱后，以 run_date 重新触发本批次"))
        raise AirflowSkipException(f"{self.source}：截止时间 {when}（上海时间）前{what}，"
                                   "本批次按来源缺失处理（依赖它的结论为信息不全待核实）")


def raise_if_source_not_passed(status: dict) -> None:
    """End a per-source task as *skipped* (visible in the grid) when its source is missing or failed."""
    from hedui.ops.run_summary import STATUS_ZH

    if status["status"] != "passed":
        reasons = "；".join(status.get("reasons_zh") or [])
        raise AirflowSkipException(_mask(f"{status['source']}：{STATUS_ZH.get(status['status'], status['status'])}"
                                         f"{'：' + reasons if reasons else ''}（批次继续，依赖该来源的结论为信息不全待核实）"))


def source_timings(ctx) -> dict[str, float]:
    """Seconds each source's ingest and validation took (from the run's manifest and status files)."""
    import json

    out = {}
    for kind in ("manifests", "status"):
        folder = ctx.run_dir / kind
        for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
            with contextlib.suppress(ValueError, OSError):
                out[f"ingest:{path.stem}"] = out.get(f"ingest:{path.stem}", 0.0) + float(
                    json.loads(path.read_text(encoding="utf-8")).get("seconds") or 0)
    return out


def finish(context, step_seconds: dict[str, float]) -> dict:
    """Build, store and log the run summary of a completed run; return it."""
    from hedui.ops import run_summary

    ctx = run_context(context)
    summary = run_summary.build(ctx, {**source_timings(ctx), **step_seconds},
                                run_id=getattr(context.get("dag_run"), "run_id", None))
    run_summary.write(ctx, summary)
    for line in run_summary.text_zh(summary).splitlines():
        log.warning("%s", _mask(line))
    return summary


def _before_run_start(summary: dict, context) -> bool:
    """True when `summary` was written before this DAG run (re)started — clearing a run resets its start."""
    started = getattr(context.get("dag_run"), "start_date", None)
    try:
        finished = dt.datetime.fromisoformat(summary.get("finished_at") or "")
    except ValueError:
        return True
    return started is not None and finished < started


def _failed_tasks(context) -> list[str]:
    """The tasks of this DAG run that failed, a mapped one by its source (``ingest[vehicle]``) or shard
    (``shard_work[3]``); not those only failed upstream, not the running task."""
    ti, dag_run = context.get("ti"), context.get("dag_run")
    run_id = getattr(dag_run, "run_id", None)
    try:
        states = ti.get_task_states(dag_id=ti.dag_id, run_ids=[run_id]).get(run_id) or {}
        names = ti.xcom_pull(task_ids="list_sources") or []
    except Exception as exc:  # the execution API unreachable: the notice still goes out, less precise
        log.warning("could not read the run's task states: %s", exc)
        return []
    out = []
    for key, state in states.items():
        if str(state) != "failed" or key == ti.task_id:
            continue
        task_id, _, index = key.rpartition("_")  # a mapped task instance's key is <task_id>_<map index>
        if task_id in ("ingest", "wait_for_delivery") and index.isdigit():
            key = f"{task_id}[{names[int(index)] if int(index) < len(names) else index}]"
        elif task_id == "shard_work" and index.isdigit():
            key = f"shard_work[{index}]"
        out.append(key)
    return sorted(out)


def _held_by_another(ctx) -> dict | None:
    """The working folder's writer-lock holder while the run ends, when another process holds it."""
    from hedui.workdir import holder_of

    try:
        held = holder_of(ctx.workdir)
    except OSError:
        return None
    return held if held is not None and held.get("pid") != os.getpid() else None


def notify_outcome(context) -> None:
    """Send the summary of this run, or — when it did not complete — a failure notice, then fail the task."""
    import json

    from hedui.ops.notify import notify

    run_id = getattr(context.get("dag_run"), "run_id", None)
    try:
        ctx = run_context(context)
        date = ctx.run_date
    except AirflowFailException as exc:
        ctx, date = None, "（未定）"
        reason = str(exc)
    summary = None
    if ctx is not None:
        path = ctx.report_dir / "run_summary.json"
        with contextlib.suppress(OSError, ValueError):
            summary = json.loads(path.read_text(encoding="utf-8"))
        if summary is not None and (summary.get("run_id") != run_id or _before_run_start(summary, context)):
            summary = None  # a summary of an earlier run of the same date, or of this run before it was cleared
        failed = _failed_tasks(context)
        reason = ((f"失败的任务：{'、'.join(failed)}；" if failed else "有任务失败，")
                  + "请在 Airflow 中查看失败任务的日志；修正后可重跑本批次")
    if summary is not None:
        for line in notify(summary):
            log.warning("%s", line)
        return
    if ctx is not None and (held := _held_by_another(ctx)) is not None:  # refused by the working folder's lock
        from hedui.ops.failures import duplicate_line_zh, holder_zh, refused_duplicate

        if refused_duplicate(held, date):  # the same night run by `hedui run` (or a DAG step): it notifies
            raise AirflowFailException(f"核对批次 {date}（{run_id}）：{duplicate_line_zh(date)}（{holder_zh(held)}）")
        reason = f"{reason.rstrip('；')}；工作目录正被另一个进程写入（{holder_zh(held)}），请等它结束后重跑本批次"
    failed = {"run_date": date, "failed": True, "message_zh": f"核对批次 {date} 失败（{run_id}）：{reason}"}
    for line in notify(failed):
        log.warning("%s", line)
    raise AirflowFailException(failed["message_zh"])


__all__ = ["DeliverySensor", "DeliveryTrigger", "InputError", "business_date", "check_inbox_exists", "fail_fast",
           "finish", "notify_outcome", "raise_if_source_not_passed", "run_context", "source_timings"]


def shard_count(context) -> int:
    """The run's shard count: param `shards`, else HEDUI_SHARDS, else 1 (hedui.steps.shard).

    Raises ConfigError (no retry) for a value outside 1–256.
    """
    from hedui.settings import parse_shards, settings

    value = (context.get("params") or {}).get("shards")
    return settings().shards if value is None else parse_shards(value, "shards")


STEP_TASKS = ("load", "link", "assess", "report", "shard_merge", "publish")


def step_timings(context) -> dict[str, float]:
    """{step: seconds} of the steps this run ran (a skipped path's steps have no XCom)."""
    ti = context["ti"]
    out: dict[str, float] = {}
    for task_id in STEP_TASKS:
        value = ti.xcom_pull(task_ids=task_id)
        if isinstance(value, dict) and "seconds" in value:
            out[value.get("step", task_id)] = float(value["seconds"])
    shards = ti.xcom_pull(task_ids="shard_work")
    if shards:  # one dict per shard: the slowest shard is the step's wall time when they run side by side
        out["shard_work"] = max(sum(s.get("seconds", {}).values()) for s in shards if isinstance(s, dict))
    return out
