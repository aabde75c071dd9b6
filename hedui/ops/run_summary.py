"""The summary a run ends with: outcome counts, sources missing or failed, quarantine, time per step.

`hedui run` prints it and the DAG's last task logs it; both store it as
``reports/<date>/run_summary.json`` and hand it to the notifier.  Its exit
code tells a completed run with missing or failed sources (3) from a clean
one (0).  It holds counts only — nothing personal.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path

from hedui import db

log = logging.getLogger("hedui.run")

# Exit codes of `hedui` (README, "Exit codes")
EXIT_OK = 0
EXIT_ERROR = 1  # the run failed (an unexpected error or a failed step)
EXIT_INPUT = 2  # usage or input error: nothing was run, nothing created
EXIT_SOURCES = 3  # the run completed, but sources were missing or failed: affected households are INCOMPLETE
EXIT_LOCKED = 4  # another run holds the working folder

OUTCOME_ZH = {"CLEAR": "未发现问题", "FINDINGS": "有核对发现", "INCOMPLETE": "信息不全待核实"}
STATUS_ZH = {"passed": "通过", "missing": "未交付", "incomplete": "交付不完整", "failed": "未通过校验"}


def build(ctx, timings: dict[str, float], run_id: str | None = None) -> dict:
    """Collect the summary of `ctx`'s run from the working database and the step timings."""
    con = db.connect_read(ctx.database)  # after the run let go: a review decision may hold it a moment
    try:
        outcomes = {o: int(n) for o, n in db.query(con, "report/summary_outcomes.sql", run_date=ctx.run_date).fetchall()}
        sources = [dict(zip(("source", "source_zh", "status", "reasons_zh", "rows_quarantined"), r, strict=True))
                   for r in db.query(con, "report/summary_sources.sql", run_date=ctx.run_date).fetchall()]
    finally:
        con.close()
    problems = [s for s in sources if s["status"] != "passed"]
    return {
        "run_date": ctx.run_date,
        "run_id": run_id,
        "finished_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "households": sum(outcomes.values()),
        "outcomes": outcomes,
        "sources_missing": [s["source"] for s in problems if s["status"] in ("missing", "incomplete")],
        "sources_failed": [s["source"] for s in problems if s["status"] == "failed"],
        "sources": sources,
        "quarantined_rows": sum(int(s["rows_quarantined"]) for s in sources),
        "seconds": {k: round(float(v), 2) for k, v in timings.items()},
        "report_dir": str(ctx.report_dir),
    }


def refresh(ctx) -> None:
    """Rebuild a date's stored summary from the working database, keeping its timings and run id (after a late
    delivery re-assessed the date: the sources and outcomes it states are the date's now)."""
    path = ctx.report_dir / "run_summary.json"
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return  # no completed run of the date to refresh
    write(ctx, build(ctx, old.get("seconds") or {}, run_id=old.get("run_id")))


def exit_code(summary: dict) -> int:
    return EXIT_SOURCES if summary["sources_missing"] or summary["sources_failed"] else EXIT_OK


def write(ctx, summary: dict) -> Path:
    """Store the summary as reports/<date>/run_summary.json and log it in one line."""
    ctx.report_dir.mkdir(parents=True, exist_ok=True)
    path = ctx.report_dir / "run_summary.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(summary, ensure_ascii=False, indent=1), encoding="utf-8")
    tmp.replace(path)
    log.info("run summary %s", json.dumps({k: summary[k] for k in (
        "run_date", "households", "outcomes", "sources_missing", "sources_failed", "quarantined_rows", "seconds")},
        ensure_ascii=False))
    return path


def text_zh(summary: dict) -> str:
    """The summary as a few lines of Chinese for the terminal, the mail and the webhook."""
    problems = summary["sources_missing"] + summary["sources_failed"]
    head = (f"核对批次 {summary['run_date']} 已完成，但有 {len(problems)} 个数据来源缺失或未通过校验"
            if problems else f"核对批次 {summary['run_date']} 完成")
    if summary["households"]:
        lines = [head, f"  家庭：{summary['households']} 户（"
                 + "，".join(f"{OUTCOME_ZH.get(o, o)} {n}" for o, n in sorted(summary["outcomes"].items())) + "）"]
    else:  # e.g. the request list not complete (no .ok yet): its rows are quarantined, nobody was verified
        lines = [head, "  家庭：0 户（没有可核对的家庭：请检查委托名单是否已完整交付，补齐后重跑本批次）"]
    for s in summary["sources"]:
        if s["status"] != "passed":
            lines.append(f"  ！{s['source_zh']}（{s['source']}）：{STATUS_ZH.get(s['status'], s['status'])}"
                         f"{'：' + s['reasons_zh'] if s['reasons_zh'] else ''}")
    if problems:
        lines.append("  依赖这些来源的结论为“信息不全待核实”；补交后请重跑本批次。")
    lines.append(f"  隔离行数：{summary['quarantined_rows']}"
                 + "".join(f"，{s['source_zh']} {s['rows_quarantined']}" for s in summary["sources"]
                           if s["rows_quarantined"]))
    steps = "，".join(f"{k} {v:.1f}s" for k, v in summary["seconds"].items() if not k.startswith("ingest:"))
    lines.append(f"  用时：{steps}")
    lines.append(f"  报告目录：{summary['report_dir']}")
    return "\n".join(lines)


def failure_text_zh(run_date: str, message: str) -> str:
    return f"核对批次 {run_date} 失败：{message}"
