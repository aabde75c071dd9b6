"""`hedui status`: did a night go well? — for the operator, without opening DuckDB.

Reads what the runs left in the working folder: ``reports/<D>/run_summary.json`` (written by every completed
`hedui run` and DAG run, refreshed by a late delivery), ``outcomes.csv`` for the findings by code, the run's
``runs/<D>/.attempt`` marker (touched when a run of the date begins) and the writer lock.  Prints which sources arrived, what was quarantined, the outcomes
and findings by code, how long each step took, and what to do next; its exit code is the run's (README, "Exit
codes"): 0 complete, 3 complete with sources missing or failed, 1 the latest run of the date did not complete,
4 a run is writing the folder now, 2 no such date.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from collections import Counter
from pathlib import Path

from hedui.errors import InputError


def _dates(workdir: Path) -> list[str]:
    found = set()
    for parent in (workdir / "runs", workdir / "reports"):
        if parent.is_dir():
            found |= {p.name for p in parent.iterdir() if p.is_dir() and re.fullmatch(r"[0-9]{8}", p.name)}
    return sorted(found)


ATTEMPT = ".attempt"


def mark_attempt(ctx) -> None:
    """Mark that a run of `ctx`'s date began (each source's ingest touches ``runs/<D>/.attempt``): a completed
    run's summary is written after it, so a marker newer than the summary is a run that did not complete."""
    ctx.run_dir.mkdir(parents=True, exist_ok=True)
    (ctx.run_dir / ATTEMPT).touch()


def _began_after(workdir: Path, date: str, summary_path: Path) -> float | None:
    """When a later run of the date began, if it began after the summary was written (it did not complete)."""
    marker = workdir / "runs" / date / ATTEMPT
    if not marker.exists() or not summary_path.exists():
        return None
    began = marker.stat().st_mtime
    return began if began > summary_path.stat().st_mtime else None


def _findings(report_dir: Path) -> Counter:
    counts: Counter = Counter()
    path = report_dir / "outcomes.csv"
    if path.exists():
        with open(path, encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                counts.update(c for c in (row.get("findings") or "").split(";") if c)
    return counts


def status_text(workdir: Path | str, date: str | None = None) -> tuple[int, str]:
    """(exit code, the Chinese text) of the date's run (default: the latest date the folder knows)."""
    from hedui.ops.business_date import parse_business_date
    from hedui.ops.failures import holder_zh
    from hedui.ops.run_summary import EXIT_ERROR, EXIT_LOCKED, exit_code, text_zh
    from hedui.privacy.masking import mask_text
    from hedui.steps.report.display import FINDING_ZH
    from hedui.workdir import holder_of

    workdir = Path(workdir)
    if not workdir.is_dir():
        raise InputError(f"工作目录 {workdir} 不存在：请检查 --workdir")
    known = _dates(workdir)
    if date is None:
        if not known:
            raise InputError(f"工作目录 {workdir} 中还没有任何批次：请先运行 hedui run（或 Airflow 的 hedui_nightly）")
        date = known[-1]
    date = parse_business_date(date, "--date")
    if date not in known:
        shown = "、".join(known[-5:]) or "无"
        raise InputError(f"工作目录 {workdir} 中没有批次 {date}：已有的批次 {shown}")
    report_dir = workdir / "reports" / date
    path = report_dir / "run_summary.json"
    lines: list[str] = []
    code = None
    holder = holder_of(workdir)
    if holder is not None:
        lines.append(f"！工作目录正被写入（{holder_zh(holder)}）：运行结束后再查看；下面是此前的记录。")
        code = EXIT_LOCKED
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        summary = None
    if summary is None:
        lines.append(f"核对批次 {date} 没有完成的运行：运行未完成或失败（失败通知与日志中有原因）。"
                     f"下一步：修正后重跑同一日期（hedui run --date {date}，或在 Airflow 中清除失败的任务重跑）。")
        return (code or EXIT_ERROR), "\n".join(lines)
    began = _began_after(workdir, date, path)
    if began is not None and holder is None:
        when = dt.datetime.fromtimestamp(began).astimezone().isoformat(timespec="seconds")
        lines.append(f"！批次 {date} 在上次完成之后又运行过（{when}）但没有完成：下面是上一次完成的运行；"
                     "下一步：查看失败通知或日志，修正后重跑同一日期。")
        code = EXIT_ERROR
    lines.append(text_zh(summary))
    arrived = [f"{s['source_zh']}（{s['source']}）" for s in summary["sources"] if s["status"] == "passed"]
    lines.append(f"  已到并通过校验的来源（{len(arrived)}）：{'、'.join(arrived) or '无'}")
    findings = _findings(report_dir)
    if findings:
        lines.append("  核对发现（按情形代码）：" + "，".join(f"{c} {FINDING_ZH.get(c, c)} {n}"
                                                  for c, n in sorted(findings.items())))
    lines.append(f"  完成于：{summary.get('finished_at')}" + (f"（{summary['run_id']}）" if summary.get("run_id") else ""))
    lines.append("  下一步：" + "；".join(_next_steps(summary, workdir, date)))
    return (code if code is not None else exit_code(summary)), mask_text("\n".join(lines))


def _next_steps(summary: dict, workdir: Path, date: str) -> list[str]:
    steps = [f"来源 {s} 补交后运行 hedui late --inbox 收件箱 --workdir {workdir} --date {date} --source {s}"
             for s in summary["sources_missing"] + summary["sources_failed"]]
    if summary["quarantined_rows"]:
        steps.append("被隔离的行及原因见批次汇总 index.html，请通知相关部门更正后重新交付")
    if not summary["households"]:
        steps.append("没有可核对的家庭：检查委托名单是否完整交付（含 .ok 标记），补齐后重跑同一日期")
    return steps or ["无需处理"]


def cli_status(args) -> int:
    import sys

    code, text = status_text(args.workdir, args.date)
    sys.stdout.write(text + "\n")
    return code


def add_status_command(subparsers) -> None:
    """Register `hedui status` on the CLI's subparsers."""
    p = subparsers.add_parser("status", help="一个批次是否顺利：来源、隔离、结论与情形、各步用时、下一步（退出码同运行）",
                              description="查看工作目录中一个批次（默认最近一批）的运行情况，不必打开 DuckDB。"
                                          "退出码：0 完成；3 完成但有来源缺失或未通过校验；1 最近一次运行未完成；"
                                          "4 正有运行写入该工作目录；2 没有该批次。")
    p.add_argument("--workdir", required=True, help="工作目录")
    p.add_argument("--date", help="批次日期 YYYYMMDD 或 YYYY-MM-DD（默认最近一批）")
    p.set_defaults(func=cli_status)
