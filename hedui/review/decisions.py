"""A staff decision on a probabilistic link: saved with its audit entry, the household re-assessed and its report re-issued as a new version at once."""

from __future__ import annotations

import logging

from connectors import load_map
from hedui.errors import HeduiError
from hedui.pipeline import _open, assess, report, writing
from hedui.settings import RunContext

log = logging.getLogger(__name__)


def record_decision(ctx: RunContext, decision_key: str, decision: str, reviewer: str, reason: str,
                    expect: int | None = None, via: str = "") -> dict:
    """Store a staff decision on a probabilistic link, then re-assess and re-report its household at once.

    The household's page becomes a new report version (the earlier one kept, `hedui.steps.report.versions`) that
    states who decided what, when and why; the auditor database is published again at once.

    `expect`: how many decisions on the pair the decider saw (the web form's, 0 for `hedui review` without
    --replace). Checked under the writer lock, in the transaction that saves the decision: when another was made
    since (the web and the CLI on one pair at once), nothing is saved, the refusal is in the audit log and
    DecidedMeanwhile names the decision that stands; AlreadyRecorded when the one made since is this very one.
    """
    with writing(ctx, "review decision"):
        return _record_decision(ctx, decision_key, decision, reviewer, reason, expect, via)


def _record_decision(ctx: RunContext, decision_key: str, decision: str, reviewer: str, reason: str,
                     expect: int | None = None, via: str = "") -> dict:
    from hedui.audit.auditor import default_log_path
    from hedui.audit.log import AuditLog
    from hedui.review.conflicts import standing_decisions, unchanged_since_seen
    from hedui.review.queue import DECISIONS, SupersededRun, decide, later_run, superseded_message
    from hedui.steps.report import versions

    audit_log = AuditLog(default_log_path(ctx.workdir))
    con = _open(ctx)
    try:
        if later := later_run(con, ctx.run_date, decision_key):  # before the first report is kept as version 1
            raise SupersededRun(superseded_message(ctx.run_date, later))
        # every household the pair's record is in (one person asked about in two requests: the decision is on
        # both; a record confirmed as one household's member's no longer waits for another's, whose outcome moves)
        before = con.sql("select distinct q.request_id, o.outcome, o.findings from review_queue q join outcomes o "
                         "using (run_date, request_id) where q.run_date = ? and q.record_id in "
                         "(select record_id from review_queue where run_date = ? and decision_key = ?) "
                         "order by q.request_id", params=[ctx.run_date, ctx.run_date, decision_key]).fetchall()
        history = standing_decisions(con, decision_key)
        if expect is not None and len(history) != expect:
            unchanged_since_seen(audit_log, ctx.run_date, decision_key, history, expect, decision, reviewer, reason,
                                 via)
        for row in before:  # the nightly page becomes version 1, kept
            versions.keep_first(ctx.report_dir, *row)
        con.sql("begin transaction")
        pair = decide(con, ctx.run_date, decision_key, decision, reviewer, reason)
        details = {"decision": decision, "reason": reason, "run_date": ctx.run_date, "decision_key": decision_key}
        if history:  # a decision changed: which one it replaces is on record with it
            details["replaces"] = {k: str(history[-1][k]) for k in ("decision", "reviewer", "decided_at")}
        if via:
            details["via"] = via
        try:  # the decision is saved only together with its audit entry
            entry = audit_log.append(
                actor=reviewer, action="review_decision", subject=f"委托 {pair['request_id']} {pair['source']} 记录",
                details=details)
        except (OSError, HeduiError) as exc:
            con.sql("rollback")
            raise HeduiError(f"审计日志写入失败，复核决定未保存：{exc}。请检查审计日志目录 "
                             f"{audit_log.path.parent} 的权限与磁盘空间后重新提交") from None
        try:
            con.sql("commit")
        except Exception:
            audit_log.append(actor=reviewer, action="review_decision", subject=f"委托 {pair['request_id']} 决定未保存",
                             details={"void_seq": entry["seq"], "run_date": ctx.run_date})
            raise
    finally:
        con.close()
    households = sorted({pair["request_id"], *(r[0] for r in before)})
    assess(ctx)
    report(ctx, only=set(households))
    con = _open(ctx)
    try:
        outcomes = dict(con.sql("select request_id, [outcome, findings] from outcomes where run_date = ? "
                                "and list_contains(?, request_id)", params=[ctx.run_date, households]).fetchall())
    finally:
        con.close()
    what = (f"{DECISIONS.get(decision, decision)}{load_map(pair['source']).title_zh}记录（匹配权重 "
            f"{pair['match_weight']:.2f}）")
    # another household with a pair on the same record: its history says why it moved, not the other pair's reason
    elsewhere = (f"同一{load_map(pair['source']).title_zh}记录在另一户的待复核配对已{DECISIONS.get(decision, decision)}，"
                 "本户结论随之重新核算")
    pages = {}
    for rid in households:
        outcome, own = outcomes[rid], rid == pair["request_id"]
        pages[rid] = versions.keep_new(ctx.report_dir, rid, actor=reviewer, kind="review_decision",
                                      what=what if own else elsewhere, reason=reason if own else "",
                                      outcome=outcome[0], findings=outcome[1])
    outcome = outcomes[pair["request_id"]]
    kept = pages[pair["request_id"]]
    _refresh_auditor_db(ctx)
    from hedui.ops.run_summary import refresh

    refresh(ctx)  # the date's stored summary counts the outcomes as they are now, as `runs` of the auditor database
    return {"request_id": pair["request_id"], "outcome": outcome[0], "findings": outcome[1],
            "version": kept["version"], "households": households}


def _refresh_auditor_db(ctx: RunContext) -> None:
    """Publish the run's auditor database again at once, so auditors see the decision now."""
    from hedui.audit.auditor import default_audit_db, default_log_path
    from hedui.audit.log import AuditLog
    from hedui.steps.publish import publish_audit_db

    publish_audit_db(ctx.database, default_audit_db(ctx.workdir), ctx.run_date,
                     audit_log=AuditLog(default_log_path(ctx.workdir)))
