"""Late deliveries: a department's delivery that arrives after its date's run, taken in afterwards.

`deliver_late` ingests the source's delivery through the normal path (`pipeline.ingest_and_validate`:
connectors, staging, GX, quarantine, protection), loads the date again from its staged files, re-links
and re-assesses the date, then runs the report step, which renders only the pages whose content changed
(`hedui.steps.report.digests`) and issues each as a new version, the earlier kept
(`hedui.steps.report.versions`).  Households the delivery does not change keep their page and version.

The assessment runs over the whole date, not only the touched households: a source that was missing
stands as a SOURCE_MISSING gap on every household of the date (sql/assess/evidence_gaps.sql), so a late
source touches every household's outcome anyway, and the models (figures, findings, outcomes, changes)
each replace the date's rows.  The report output is what stays limited: only changed pages.

Re-running it is safe (a kill anywhere, then the same command): every step replaces its own outputs, and
the report step issues no version twice.  `hedui late` and the `hedui_late_delivery` DAG call it.
"""

from __future__ import annotations

import logging
import re
import time
from pathlib import Path

from hedui.errors import InputError

log = logging.getLogger(__name__)

#: who issues the re-assessed pages (versions.json `issued_by`) unless an actor is given
ACTOR = "迟到数据补入"

_SOURCE = re.compile(r"[a-z][a-z0-9_]{0,39}")


def check_late(inbox: str | Path | None, workdir: str | Path, run_date: object, source: object) -> tuple:
    """Validate a late delivery's arguments before anything is created; return (ctx, source, source title).

    Raises InputError (Chinese) for a bad date, an unknown source, a working folder without that date's
    run, or an inbox without the source's delivery for the date.
    """
    from connectors import load_map
    from connectors.limits import shown_name
    from hedui.ops.business_date import parse_business_date
    from hedui.ops.sources_config import load_sources_config
    from hedui.settings import REQUESTS, RunContext, sources

    date = parse_business_date(run_date, "日期（--date）")
    known = [s for s in sources() if s != REQUESTS]
    if not isinstance(source, str) or not _SOURCE.fullmatch(source) or source not in known:
        shown = shown_name(source, 40) if source is not None else "（空）"  # an account pasted here: ****1234
        raise InputError(f"数据来源“{shown}”不存在：可补入的部门数据为 {'、'.join(known)}")
    workdir = Path(workdir)
    if not (workdir / "hedui.duckdb").is_file():
        raise InputError(f"工作目录 {workdir} 中没有工作库 hedui.duckdb：迟到数据只能补入已运行过的批次，请先运行 hedui run")
    run_dir = workdir / "runs" / date
    lacking = [s for s in sources() if not (run_dir / "status" / f"{s}.json").is_file()
               or (s != source and not (run_dir / "staged" / f"{s}.parquet").is_file())]
    if lacking:
        raise InputError(f"工作目录中没有批次 {date} 的完整运行记录（缺少 {'、'.join(lacking[:5])} 的入库文件，"
                         f"可能已按保存期限清理）：请对该日期重新运行 hedui run")
    delivery = load_sources_config().delivery(source)
    if not delivery.is_sql:
        if inbox is None or not str(inbox).strip():
            raise InputError("请用 --inbox 给出收件箱目录（其中 <来源>/<日期>/ 存放迟到的交付）")
        inbox = Path(inbox)
        if not inbox.is_dir():
            raise InputError(f"收件箱目录 {inbox} 不存在或不是目录：请检查 --inbox 路径")
        folder = inbox / source / date
        if not folder.is_dir() or not any(p.is_file() and p.suffix != ".ok" and not p.name.startswith(".")
                                          for p in folder.iterdir()):
            raise InputError(f"收件箱 {inbox} 中没有 {source}/{date}/ 的交付文件：迟到数据应放在该目录（连同 .ok 标记）")
    ctx = RunContext.of(inbox if inbox is not None else workdir, workdir, date)
    return ctx, source, load_map(source).title_zh


def deliver_late(inbox: str | Path | None, workdir: str | Path, run_date: object, source: object, *,
                 actor: str | None = None) -> dict:
    """Take a late delivery of `source` into the run of `run_date`; return what changed.

    {"run_date", "source", "status" (the source's status now), "households", "outcomes_changed",
     "versions_issued" (request ids), "pages_rendered", "pages_unchanged", "seconds"}
    """
    from hedui.privacy.keyring import check_keys
    from hedui.privacy.keys import load_keys

    ctx, source, title = check_late(inbox, workdir, run_date, source)
    load_keys()  # a missing key is a clear error now
    check_keys(ctx.workdir)  # other keys than the folder's: nothing would link, stop before any work
    from hedui.pipeline import writing

    with writing(ctx, "late delivery"):
        return _deliver(ctx, source, title, actor or ACTOR)


def _outcomes(ctx) -> dict[str, tuple[str, str]]:
    from hedui.pipeline import _open

    con = _open(ctx)
    try:
        return {r: (o, f) for r, o, f in con.sql("select request_id, outcome, findings from outcomes "
                                                  "where run_date = ?", params=[ctx.run_date]).fetchall()}
    finally:
        con.close()


def _deliver(ctx, source: str, title: str, actor: str) -> dict:
    import contextlib

    from hedui.audit.auditor import default_audit_db, default_log_path
    from hedui.audit.log import AuditLog
    from hedui.ops.killpoint import kill_point
    from hedui.pipeline import _open, assess, ingest_and_validate, link, load
    from hedui.steps.publish import publish_audit_db
    from hedui.steps.report.outputs import write_reports

    started = time.perf_counter()
    before = _outcomes(ctx)
    validated = ingest_and_validate(ctx, source)
    load(ctx)
    link(ctx)
    assess(ctx)
    kill_point("late:assess")
    status_zh = {"passed": "已交付并通过校验", "missing": "仍未交付", "incomplete": "交付仍不完整",
                 "failed": "未通过校验"}.get(validated["status"], validated["status"])
    with contextlib.closing(_open(ctx)) as con:
        counts = write_reports(con, ctx, reissue={
            "actor": actor, "kind": "late_delivery", "what": f"{title}数据迟到补入（{status_zh}）后重新核对",
            "reason": ""})
    after = _outcomes(ctx)
    changed = sorted(r for r in after if before.get(r) != after[r])
    log_ = AuditLog(default_log_path(ctx.workdir))
    log_.append(actor=actor, action="late_delivery", subject=f"批次 {ctx.run_date} {title}数据迟到补入",
                details={"source": source, "status": validated["status"], "households": len(after),
                         "outcomes_changed": len(changed), "versions_issued": len(counts["versions_issued"])})
    publish_audit_db(ctx.database, default_audit_db(ctx.workdir), ctx.run_date, audit_log=log_)
    from hedui.ops.run_summary import refresh

    refresh(ctx)  # `hedui status` and the stored summary tell the date as it is now
    return {"run_date": ctx.run_date, "source": source, "source_zh": title, "status": validated["status"],
            "households": len(after), "outcomes_changed": changed, "versions_issued": counts["versions_issued"],
            "pages_rendered": counts["pages_rendered"], "pages_unchanged": counts["pages_unchanged"],
            "seconds": round(time.perf_counter() - started, 3)}


def late_params(params: dict) -> dict:
    """Trigger params of a late delivery with their defaults (``$HEDUI_WORKDIR``, ``$HEDUI_INBOX``), their
    types checked; raises InputError (Chinese) for a missing working folder or date, or a bad type."""
    import os

    workdir = params.get("workdir") or os.environ.get("HEDUI_WORKDIR")
    if not workdir or not isinstance(workdir, str):
        raise InputError("未指定工作目录：请在参数 workdir 或环境变量 HEDUI_WORKDIR 中给出")
    inbox = params.get("inbox") or os.environ.get("HEDUI_INBOX")
    if inbox is not None and not isinstance(inbox, str):
        raise InputError("inbox 应为收件箱目录的路径")
    if params.get("run_date") is None:
        raise InputError("请给出 run_date（迟到数据所属批次的日期 YYYYMMDD）：补入哪一天不能默认")
    return {"workdir": workdir, "inbox": inbox, "run_date": params["run_date"], "source": params.get("source"),
            "actor": params.get("actor")}


def deliver_from_params(params: dict) -> dict:
    """`deliver_late` from trigger params (the hedui_late_delivery DAG), validated first (`late_params`);
    returns the result without personal data (request ids only)."""
    p = late_params(params)
    return deliver_late(p["inbox"], p["workdir"], p["run_date"], p["source"], actor=p["actor"])
