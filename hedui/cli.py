"""`hedui` command line: generate, run, demo (and the commands later features add)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

from hedui.errors import HeduiError
from hedui.logs import mask_text, setup_logging


def cmd_generate(args) -> int:
    from hedui.generate import generate
    from hedui.paths import validate_run_date

    validate_run_date(args.date)
    started = time.perf_counter()
    summary = generate(Path(args.out), households=args.households, seed=args.seed, date=args.date)
    print(f"已生成样例交付：{args.out}（{args.households} 户，用时 {time.perf_counter() - started:.1f} 秒）")
    if summary is not None:
        print(summary)
    return 0


def cmd_run(args) -> int:
    from connectors.limits import InputLimits
    from hedui.errors import ConfigError
    from hedui.pipeline import RunContext, run
    from hedui.privacy.keys import load_keys

    ctx = RunContext.of(args.inbox, args.workdir, args.date)  # a bad --date stops here, before any write
    load_keys()  # a missing key is a clear error now, not a crash mid-run
    try:
        InputLimits.from_env()  # a mistyped HEDUI_MAX_*_BYTES too
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    started = time.perf_counter()
    timings = run(ctx)
    total = time.perf_counter() - started
    for step, seconds in timings.items():
        logging.getLogger("hedui.run").info("%s: %.2f s", step, seconds)
    print(f"核对批次 {ctx.run_date} 完成，用时 {total:.1f} 秒")
    print(f"  报告目录：{ctx.report_dir}")
    print(f"  数据库：  {ctx.database}")
    return 0


def cmd_demo(args) -> int:
    from hedui import airflow_env
    from hedui.paths import validate_run_date

    validate_run_date(args.date)
    airflow_env.configure()
    workdir = Path(args.workdir).resolve()
    inbox = workdir / "inbox"
    from hedui.generate import generate

    print(f"1/3 生成样例交付（{args.households} 户）→ {inbox}")
    generate(inbox, households=args.households, seed=args.seed, date=args.date)
    print("2/3 初始化 Airflow 元数据库（SQLite）")
    airflow_env.migrate()
    print("3/3 通过 Airflow 运行 hedui_nightly（dag.test）")
    import datetime as dt

    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(airflow_env.ROOT / "dags"))
    if bag.import_errors:
        raise HeduiError(f"DAG 导入失败：{bag.import_errors}")
    dag = bag.dags["hedui_nightly"]
    logical = dt.datetime.strptime(args.date, "%Y%m%d").replace(tzinfo=dt.timezone(dt.timedelta(hours=8)))
    started = time.perf_counter()
    dagrun = dag.test(logical_date=logical, run_conf={"inbox": str(inbox), "workdir": str(workdir),
                                                       "run_date": args.date})
    state = str(getattr(dagrun, "state", dagrun))
    if "success" not in state:
        print(f"DAG 运行失败，状态：{state}。请查看上面的任务日志。", file=sys.stderr)
        return 1
    reports = workdir / "reports" / args.date
    print(f"\nDAG 运行成功（{time.perf_counter() - started:.1f} 秒）。")
    print(f"  批次汇总： {reports / 'index.html'}")
    print(f"  各户报告： {reports / 'households'}/")
    print(f"  结论：     {reports / 'outcomes.csv'}")
    print(f"  对账：     {reports / 'reconciliation.csv'}")
    print(f"  数据库：   {workdir / 'hedui.duckdb'}")
    print(f"  打开数据库：.venv/bin/python -c \"import duckdb; duckdb.connect('{workdir / 'hedui.duckdb'}', "
          f"read_only=True).sql('select outcome, count(*) from outcomes group by all').show()\"")
    print(f"  审计库：   .venv/bin/hedui audit --workdir {workdir} -c \"from outcomes limit 5\"")
    print(f"  复核页面： .venv/bin/hedui review --workdir {workdir}")
    import csv

    with open(inbox / "truth.csv", encoding="utf-8") as fh:
        truth = {r["request_id"]: (r["outcome"], r["findings"]) for r in csv.DictReader(fh)}
    with open(reports / "outcomes.csv", encoding="utf-8") as fh:
        got = {r["request_id"]: (r["outcome"], r["findings"]) for r in csv.DictReader(fh)}
    same = sum(1 for k, v in truth.items() if got.get(k) == v)
    print(f"  与样例预期结论（{inbox / 'truth.csv'}）一致：{same}/{len(truth)} 户")
    return 0 if same == len(truth) else 1


def cmd_link(args) -> int:
    from matching.linkage import cli_link

    result = cli_link(args.left, args.right, args.spec, args.out)
    print(f"已写出匹配对：{args.out}（候选 {result.n_candidates} 对，匹配 {result.n_link}，待复核 {result.n_review}）")
    return 0


def cmd_pdf(args) -> int:
    from hedui.paths import validate_run_date
    from hedui.steps.report.outputs import safe_name, write_pdf_files

    validate_run_date(args.date)
    folder = Path(args.workdir) / "reports" / args.date
    if not (folder / "households").is_dir():
        raise HeduiError(f"未找到批次 {args.date} 的报告目录 {folder}：请先运行 hedui run")
    ids = args.request or []
    missing = [r for r in ids if not (folder / "households" / f"{safe_name(r)}.html").exists()]
    if missing:
        raise HeduiError(f"批次 {args.date} 中没有委托编号 {', '.join(missing)} 的报告")
    stems = [safe_name(r) for r in ids] or [p.stem for p in sorted((folder / "households").glob("*.html"))]
    n = write_pdf_files(folder, stems)
    print(f"已生成 {n} 份 PDF：{folder / 'households'}")
    return 0


def _terminal_safe(value) -> str:
    """Delivered text for a terminal: control characters (escape sequences, tabs, newlines) made harmless."""
    return "".join(c if c.isprintable() else "\ufffd" for c in str(value))


def _review_ctx(args):
    from hedui import db
    from hedui.paths import validate_run_date
    from hedui.pipeline import RunContext
    from hedui.review.queue import latest_run

    if args.date:
        validate_run_date(args.date)
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
    """Serve the review page, or (list/decide) work the queue from the command line."""
    from hedui import db
    from hedui.pipeline import record_decision
    from hedui.review.queue import DECISIONS, queue

    ctx = _review_ctx(args)
    if args.action == "serve":
        from hedui.review_web import make_server

        server = make_server(ctx, port=args.port)
        print(f"复核页面：http://127.0.0.1:{server.server_address[1]}/ （批次 {ctx.run_date}；Ctrl+C 结束）")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        return 0
    if args.action == "list":
        con = db.connect_read(ctx.database)
        try:
            rows = queue(con, ctx.run_date, args.status)
        finally:
            con.close()
        print("序号\t部门\t委托编号\t成员\t权重\t判定\t状态\t决定键")
        for i, r in enumerate(rows, 1):
            t = _terminal_safe
            print(f"{i}\t{t(r['source'])}\t{t(r['request_id'])}\t{t(r['member_name'])}({r['member_masked']})\t"
                  f"{r['match_weight']:.2f}\t{r['band']}\t{r['status_zh']}\t{r['decision_key']}")
        return 0
    if args.action not in DECISIONS:
        raise HeduiError(f"未知操作 {args.action}")
    if not args.key:
        raise HeduiError("请用 --key 指定匹配对的决定键（见 hedui review list）")
    result = record_decision(ctx, args.key, args.action, args.reviewer, args.reason or "")
    print(f"已记录：{DECISIONS[args.action]}。委托 {result['request_id']} 重新核对结论："
          f"{result['outcome']} {result['findings']}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="hedui", description="家庭经济状况核对平台 hedui")
    p.add_argument("-v", "--verbose", action="store_true", help="log progress")
    sub = p.add_subparsers(dest="command", required=True)

    g = sub.add_parser("generate", help="write a synthetic inbox of department deliveries and its truth file")
    g.add_argument("--out", required=True)
    g.add_argument("--households", type=int, default=100)
    g.add_argument("--seed", type=int, default=1)
    g.add_argument("--date", required=True, help="YYYYMMDD")
    g.set_defaults(func=cmd_generate)

    r = sub.add_parser("run", help="run the nightly steps for one date without Airflow")
    r.add_argument("--inbox", required=True)
    r.add_argument("--date", required=True, help="YYYYMMDD")
    r.add_argument("--workdir", required=True)
    r.set_defaults(func=cmd_run)

    pdf = sub.add_parser("pdf", help="print household reports of a run to PDF (on demand)")
    pdf.add_argument("--workdir", required=True)
    pdf.add_argument("--date", required=True, help="YYYYMMDD")
    pdf.add_argument("--request", action="append", help="a request id (repeatable); default: all")
    pdf.set_defaults(func=cmd_pdf)

    rv = sub.add_parser("review", help="review probabilistic links: serve the page, or list/decide on the CLI")
    rv.add_argument("action", nargs="?", default="serve", choices=["serve", "list", "confirmed", "rejected", "deferred"])
    rv.add_argument("--workdir", required=True)
    rv.add_argument("--date", help="YYYYMMDD (default: the latest run)")
    rv.add_argument("--inbox", help=argparse.SUPPRESS)
    rv.add_argument("--port", type=int, default=8765)
    rv.add_argument("--status", choices=["pending", "confirmed", "rejected", "deferred"])
    rv.add_argument("--key", help="the pair's decision key (hedui review list)")
    rv.add_argument("--reviewer", default=os.environ.get("USER", ""))
    rv.add_argument("--reason")
    rv.set_defaults(func=cmd_review)

    lk = sub.add_parser("link", help="link two CSV/Parquet tables with a link spec (docs/linkage.md)")
    lk.add_argument("left")
    lk.add_argument("right")
    lk.add_argument("--spec", required=True)
    lk.add_argument("--out", required=True, help="pairs file (.csv or .parquet)")
    lk.set_defaults(func=cmd_link)

    from hedui.audit.auditor import add_audit_commands
    from hedui.audit.retention import add_purge_command
    from hedui.privacy.keyring import add_keys_command

    add_audit_commands(sub)
    add_purge_command(sub)
    add_keys_command(sub)

    d = sub.add_parser("demo", help="generate a small world and run the DAG through Airflow")
    d.add_argument("--workdir", default=".work/demo")
    d.add_argument("--households", type=int, default=200)
    d.add_argument("--seed", type=int, default=7)
    d.add_argument("--date", default="20261128")
    d.set_defaults(func=cmd_demo)
    return p


def main(argv: list[str] | None = None) -> int:
    from hedui.workdir import private_umask

    private_umask()  # every file hedui writes holds or may hold personal data: 0600 / 0700
    args = build_parser().parse_args(argv)
    setup_logging(args.verbose)
    try:
        return args.func(args)
    except HeduiError as exc:
        print(f"错误：{mask_text(str(exc))}", file=sys.stderr)
        return getattr(exc, "exit_code", 2)  # 3: working folder busy, 4: other keys


if __name__ == "__main__":
    sys.exit(main())
