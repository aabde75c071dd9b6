"""`hedui` command line: generate, run, demo (and the commands later features add)."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from hedui.errors import HeduiError
from hedui.masking import mask_text


class _MaskingFilter(logging.Filter):
    """Never let a full ID number reach a log line."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = mask_text(record.getMessage())
        record.args = None
        return True


def _setup_logging(verbose: bool) -> None:
    handler = logging.StreamHandler()
    handler.addFilter(_MaskingFilter())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, handlers=[handler], force=True)
    for noisy in ("great_expectations", "py.warnings"):
        logging.getLogger(noisy).setLevel(logging.ERROR)


def cmd_generate(args) -> int:
    from hedui.generate import generate

    started = time.perf_counter()
    summary = generate(Path(args.out), households=args.households, seed=args.seed, date=args.date)
    print(f"已生成样例交付：{args.out}（{args.households} 户，用时 {time.perf_counter() - started:.1f} 秒）")
    if summary is not None:
        print(summary)
    return 0


def cmd_run(args) -> int:
    from hedui.pipeline import RunContext, run

    ctx = RunContext.of(args.inbox, args.workdir, args.date)
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
    print(f"  样例的预期结论：{inbox / 'truth.csv'}")
    return 0


def cmd_pdf(args) -> int:
    from hedui.report import safe_name, write_pdfs

    folder = Path(args.workdir) / "reports" / args.date
    if not (folder / "households").is_dir():
        raise HeduiError(f"未找到批次 {args.date} 的报告目录 {folder}：请先运行 hedui run")
    ids = args.request or [p.stem for p in sorted((folder / "households").glob("*.html"))]
    missing = [r for r in ids if not (folder / "households" / f"{safe_name(r)}.html").exists()]
    if missing:
        raise HeduiError(f"批次 {args.date} 中没有委托编号 {', '.join(missing)} 的报告")
    n = write_pdfs(folder, ids)
    print(f"已生成 {n} 份 PDF：{folder / 'households'}")
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

    d = sub.add_parser("demo", help="generate a small world and run the DAG through Airflow")
    d.add_argument("--workdir", default=".work/demo")
    d.add_argument("--households", type=int, default=200)
    d.add_argument("--seed", type=int, default=7)
    d.add_argument("--date", default="20261128")
    d.set_defaults(func=cmd_demo)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _setup_logging(args.verbose)
    try:
        return args.func(args)
    except HeduiError as exc:
        print(f"错误：{mask_text(str(exc))}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
