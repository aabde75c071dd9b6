"""`hedui review`: the review queue from the command line; the actor is the OS user (the web page is `hedui serve`).

A decision on a pair that has one already is refused unless `--replace` says it is meant (改判): the web and the
command line on one pair at once never save the second answer over the first without a word."""

from __future__ import annotations

from pathlib import Path

from hedui.errors import HeduiError


def _terminal_safe(value) -> str:
    """Delivered text for a terminal: control characters (escape sequences, tabs, newlines) made harmless."""
    return "".join(c if c.isprintable() else "\ufffd" for c in str(value))


def review_ctx(args):
    from hedui import db
    from hedui.ops.business_date import parse_business_date  # as `run` takes it: 20261128 or 2026-11-28
    from hedui.pipeline import RunContext
    from hedui.review.queue import latest_run

    if args.date:
        args.date = parse_business_date(args.date, "--date")
    workdir = Path(args.workdir)
    if not (workdir / "hedui.duckdb").exists():
        raise HeduiError(f"工作目录 {workdir} 中没有 hedui.duckdb：请先运行 hedui run")
    date = args.date
    if not date:
        con = db.connect_read(workdir / "hedui.duckdb")
        try:
            date = latest_run(con)
        finally:
            con.close()
    return RunContext.of(args.inbox or workdir, workdir, date)


def cmd_review(args) -> int:
    from hedui import db
    from hedui.audit.log import default_actor
    from hedui.logs import mask_text
    from hedui.review.conflicts import AlreadyRecorded, refused_busy, when
    from hedui.review.decisions import record_decision
    from hedui.review.queue import DECISIONS, listed
    from hedui.workdir import WorkdirBusyError

    ctx = review_ctx(args)
    if args.action == "list":
        con = db.connect_read(ctx.database)
        try:
            rows = listed(con, ctx.run_date, args.status)
        finally:
            con.close()
        print("序号\t部门\t委托编号\t成员\t权重\t判定\t状态\t决定人\t决定时间\t决定键" if rows
              else f"批次 {ctx.run_date} 没有这样的复核匹配对。")
        for i, r in enumerate(rows, 1):
            t = _terminal_safe
            by, at = r.get("decided_by"), r.get("decided_at")
            print(f"{i}\t{t(r['source'])}\t{t(r['request_id'])}\t{t(r['member_name'])}({r['member_masked']})\t"
                  f"{r['match_weight']:.2f}\t{r['band']}\t{r['status_zh']}\t{t(by) if by else '—'}\t"
                  f"{at.strftime('%Y-%m-%d %H:%M') if at else '—'}\t{r['decision_key']}")
        return 0
    if args.action not in DECISIONS:
        raise HeduiError(f"未知操作 {args.action}")
    if not args.key:
        raise HeduiError("请用 --key 指定匹配对的决定键（见 hedui review list）")
    actor = default_actor()
    try:
        result = record_decision(ctx, args.key, args.action, actor, mask_text(args.reason or ""),  # no IDs kept
                                 expect=None if getattr(args, "replace", False) else 0, via="cli")
    except WorkdirBusyError as busy:  # the web (or another `hedui review`) writing: refused, on record, said so
        if busy.holder.get("command") != "review decision":
            raise
        from hedui.audit.auditor import default_log_path
        from hedui.audit.log import AuditLog

        refused_busy(AuditLog(default_log_path(ctx.workdir)), ctx.run_date, args.key, args.action, actor,
                     mask_text(args.reason or ""), busy.holder, "cli")
        raise WorkdirBusyError(
            f"另一项复核决定（网页或另一个 hedui review，进程号 {busy.holder.get('pid', '未知')}）正在保存并重新核对，"
            f"本次“{DECISIONS[args.action]}”未保存。请稍候（约 1 分钟）用 hedui review list 查看该匹配对的最新状态，"
            "再决定是否提交（已有决定时须加 --replace 才会改判）。", busy.holder) from None
    except AlreadyRecorded as done:  # the same command run again: the decision it made stands, nothing new
        print(f"该决定已记录过：{DECISIONS[args.action]}（核对人 {actor}，{when(done.standing['decided_at'])}），"
              "未重复记录。")
        return 0
    print(f"已记录：{DECISIONS[args.action]}（核对人 {actor}）。委托 {result['request_id']} 重新核对结论："
          f"{result['outcome']} {result['findings']}；已出具第 {result['version']} 版报告，原报告保留")
    return 0
