"""`hedui` command line: generate, run, demo (and the commands later features add)."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from hedui.cli_args import (
    Parser,
    check_generate_out,
    check_listen,
    check_workdir,
    int_in,
    plain_arguments,
    proxy_address,
    staff_text,
)
from hedui.errors import HeduiError
from hedui.logs import mask_text, setup_logging
from hedui.review.cli_review import _terminal_safe


def cmd_generate(args) -> int:
    from hedui.generate import generate
    from hedui.ops.business_date import parse_business_date

    args.date = parse_business_date(args.date, "--date")
    check_generate_out(args.out, args.date)
    started = time.perf_counter()
    summary = generate(Path(args.out), households=args.households, seed=args.seed, date=args.date)
    print(f"已生成样例交付：{args.out}（{args.households} 户，用时 {time.perf_counter() - started:.1f} 秒）")
    if summary is not None:
        print(summary)
    return 0


def cmd_run(args) -> int:
    from connectors.limits import InputLimits
    from hedui.errors import ConfigError, InputError
    from hedui.ops import failures, run_summary
    from hedui.ops.business_date import check_inbox, parse_business_date
    from hedui.ops.notify import notify
    from hedui.ops.progress import Progress
    from hedui.ops.sources_config import check_connections, load_sources_config
    from hedui.pipeline import RunContext, run
    from hedui.privacy.keys import load_keys
    from hedui.settings import Settings, parse_shards
    from hedui.steps.policy import check_run_year

    # the setup first (keys, settings, limits, sources configuration), then the delivery: nothing is
    # created before every check has passed
    date = parse_business_date(args.date, "--date")
    shards = parse_shards(args.shards, "--shards", InputError) if args.shards is not None else None
    load_keys()  # a missing key is a clear error now, not a crash mid-run
    Settings.from_env()  # a mistyped HEDUI_THREADS / HEDUI_REPORT_PDF / HEDUI_SHARDS ...
    try:
        InputLimits.from_env()  # a mistyped HEDUI_MAX_*_BYTES too
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    check_connections(load_sources_config())  # so is a wrong sources configuration or connection
    check_run_year(date)  # and a policy file that cannot be read or is refused, or no version in force that year
    check_inbox(Path(args.inbox), date)  # nothing is created for a date without deliveries
    check_workdir(args.workdir, args.inbox)
    ctx = RunContext.of(args.inbox, args.workdir, date)
    started = time.perf_counter()
    with Progress(f"核对批次 {date}") as progress, failures.notify_failure(ctx):  # a failure notice too
        timings = run(ctx, progress=progress, shards=shards)
    total = time.perf_counter() - started
    for step, seconds in timings.items():
        logging.getLogger("hedui.run").info("%s: %.2f s", step, seconds)
    summary = run_summary.build(ctx, {**timings, "total": total})
    run_summary.write(ctx, summary)
    print(mask_text(run_summary.text_zh(summary)))
    print(f"  数据库：  {ctx.database}")
    for line in notify(summary):
        print(f"  {line}")
    return run_summary.exit_code(summary)


def cmd_demo(args) -> int:
    from hedui.ops import airflow_env
    from hedui.ops.business_date import parse_business_date

    args.date = parse_business_date(args.date, "--date")
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
    print(f"  工作台：   .venv/bin/hedui users add --workdir {workdir} admin --role admin --region 360000；"
          f".venv/bin/hedui serve --workdir {workdir}")
    import csv

    with open(inbox / "truth.csv", encoding="utf-8") as fh:
        truth = {r["request_id"]: (r["outcome"], r["findings"]) for r in csv.DictReader(fh)}
    with open(reports / "outcomes.csv", encoding="utf-8") as fh:
        got = {r["request_id"]: (r["outcome"], r["findings"]) for r in csv.DictReader(fh)}
    same = sum(1 for k, v in truth.items() if got.get(k) == v)
    print(f"  与样例预期结论（{inbox / 'truth.csv'}）一致：{same}/{len(truth)} 户")
    return 0 if same == len(truth) else 1


def cmd_link(args) -> int:
    from hedui.link_cmd import run_link

    result = run_link(args.left, args.right, args.spec, args.out)
    print(f"已写出匹配对：{args.out}（候选 {result.n_candidates} 对，匹配 {result.n_link}，待复核 {result.n_review}）")
    return 0


def cmd_pdf(args) -> int:
    from hedui.ops.business_date import parse_business_date  # as `run` takes it: 20261128 or 2026-11-28
    from hedui.privacy.request_ids import as_staged
    from hedui.steps.report.display import safe_name
    from hedui.steps.report.outputs import write_pdf_files

    args.date = parse_business_date(args.date, "--date")
    folder = Path(args.workdir) / "reports" / args.date
    if not (folder / "households").is_dir():
        raise HeduiError(f"未找到批次 {args.date} 的报告目录 {folder}：请先运行 hedui run")
    ids = [as_staged(r) for r in args.request or []]
    missing = [r for r in ids if not (folder / "households" / f"{safe_name(r)}.html").exists()]
    if missing:
        from hedui.paths import shown

        more = f" 等 {len(missing)} 个（另有 {len(missing) - 5} 个未列出）" if len(missing) > 5 else ""
        raise HeduiError(f"批次 {args.date} 中没有委托编号 {', '.join(shown(r, 40) for r in missing[:5])}{more} 的报告："
                         "请检查 --request 的委托编号（可在 outcomes.csv 中查到）")
    stems = [safe_name(r) for r in ids] or [p.stem for p in sorted((folder / "households").glob("*.html"))]
    n = write_pdf_files(folder, stems)
    print(f"已生成 {n} 份 PDF：{folder / 'households'}")
    return 0


def cmd_review(args) -> int:
    from hedui.review.cli_review import cmd_review as review

    return review(args)


def cmd_serve(args) -> int:
    from hedui.web.app import serve

    workdir = Path(args.workdir).resolve()
    if not (workdir / "hedui.duckdb").exists():
        raise HeduiError(f"工作目录 {workdir} 中没有 hedui.duckdb：请先运行 hedui run")
    from hedui.web.accounts import list_users

    if not list_users(workdir):
        raise HeduiError(f"还没有任何账号：请先运行 hedui users add --workdir {workdir} 用户名 --role admin --region 360000")
    from hedui.privacy.keys import load_keys

    load_keys()  # a decision re-assesses and re-publishes: a missing key is a clear error now
    check_listen(args.host, args.port)  # a bad address or a port in use: said now, not after "it is up"
    print(f"核对工作台：http://{args.host}:{args.port}/ （工作目录 {workdir}；Ctrl+C 结束）")
    if args.https and not args.trusted_proxy:
        print("提示：未设 --trusted-proxy 时经代理的请求都算作代理一个地址，任何人输错密码都可能使全体人员暂时无法登录")
    serve(workdir, args.host, args.port, args.allowed_host, secure_cookie=args.https, trusted_proxies=args.trusted_proxy)
    return 0


def _read_password(args) -> str:
    import getpass

    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")  # a password file saved on Windows ends in CRLF
    first = getpass.getpass("新密码：")
    if getpass.getpass("再次输入新密码：") != first:
        raise HeduiError("两次输入的密码不一致，未作修改")
    return first


def cmd_users(args) -> int:
    from hedui.web import accounts

    workdir = Path(args.workdir)
    accounts.check_workdir(workdir, with_accounts=args.action != "add")  # a typo creates no stray folder
    if args.action == "list":
        print("用户名\t姓名\t角色\t辖区\t状态")
        for u in accounts.list_users(workdir):
            print(f"{u.username}\t{_terminal_safe(u.display_name)}\t{u.role_zh}\t{','.join(u.regions)}\t{'已停用' if u.disabled else '启用（待修改临时密码）' if u.must_change else '启用'}")
        return 0
    if not args.username:
        raise HeduiError("请指定用户名")
    if args.action == "add":
        if not args.role or not args.region:
            raise HeduiError("开设账号需要 --role 和至少一个 --region")
        u = accounts.add_user(workdir, args.username, _read_password(args), args.role, args.region, args.name or "")
        print(f"已开设账号 {u.username}（{u.role_zh}，辖区 {'、'.join(u.regions)}）")
    elif args.action == "passwd":
        accounts.set_password(workdir, args.username, _read_password(args))
        print(f"已修改 {args.username} 的密码")
    else:  # disable, enable, unlock
        print(accounts.cli_toggle(workdir, args.username, args.action))
    accounts.audit_cli(workdir, args.action, args.username, args.role or "", args.region or ())
    return 0


def cmd_verify(args) -> int:
    """Urgent verification (救急难) of one household against the latest loaded sources."""
    from hedui.steps.report.display import FINDING_ZH, OUTCOME_ZH
    from hedui.urgent import verify_household

    result = verify_household(args.workdir, request_file=args.request_file, answers=args.answers,
                              run_date=args.date)
    print(f"委托 {result['request_id']} 急难核对完成（第 {result['version']} 版，用时 {result['seconds']:.1f} 秒）")
    codes = [c for c in (result["findings"] or "").split(";") if c]
    print(f"  结论：{OUTCOME_ZH.get(result['outcome'], result['outcome'])}"
          + (f"（{'；'.join(FINDING_ZH.get(c, c) for c in codes)}）" if codes else ""))
    if result["pending"]:
        print(f"  待反馈：{'、'.join(result['pending_zh'])}（反馈到达后用 --answers 重新核对，出具新版报告）")
    if result.get("review_pending"):
        print(f"  另有 {result['review_pending']} 条概率匹配待人工确认（未计入结论），请核实")
    print(f"  报告：{result['report']}")
    return 0


def cmd_late(args) -> int:
    """A late delivery of one source taken into its date's run: re-assessed, changed pages re-issued."""
    from hedui.late import deliver_late
    from hedui.ops.run_summary import EXIT_OK, EXIT_SOURCES

    check_workdir(args.workdir, args.inbox)
    result = deliver_late(args.inbox, args.workdir, args.date, args.source)
    print(f"批次 {result['run_date']} 已补入迟到的{result['source_zh']}数据（用时 {result['seconds']:.1f} 秒）")
    if result["status"] != "passed":
        still = {"missing": "仍未交付", "incomplete": "交付仍不完整", "failed": "未通过校验"}.get(
            result["status"], result["status"])
        print(f"  注意：{result['source_zh']}数据{still}，各户仍为信息不全待核实")
    print(f"  重新核对 {result['households']} 户，结论或情形有变化 {len(result['outcomes_changed'])} 户")
    print(f"  出具新版报告 {len(result['versions_issued'])} 份（原报告保留），内容未变的 {result['pages_unchanged']} 户报告未重出")
    for request_id in result["versions_issued"][:20]:
        print(f"    {_terminal_safe(request_id)}")
    if len(result["versions_issued"]) > 20:
        print(f"    …… 另有 {len(result['versions_issued']) - 20} 户")
    return EXIT_OK if result["status"] == "passed" else EXIT_SOURCES


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog="hedui", description="家庭经济状况核对平台 hedui")
    p.add_argument("-v", "--verbose", action="store_true", help="log progress; show tracebacks of errors")
    # -v is accepted after the subcommand too; SUPPRESS keeps a -v before it from being reset
    verbose = Parser(add_help=False)
    verbose.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                         help="log progress; show tracebacks of errors")
    sub = p.add_subparsers(dest="command", required=True, parser_class=Parser)
    _add_parser = sub.add_parser
    sub.add_parser = lambda *a, **k: _add_parser(*a, parents=[verbose, *k.pop("parents", [])], **k)

    g = sub.add_parser("generate", help="write a synthetic inbox of department deliveries and its truth file")
    g.add_argument("--out", required=True)
    g.add_argument("--households", type=int_in(1, 10_000_000, "户数"), default=100)
    g.add_argument("--seed", type=int, default=1)
    g.add_argument("--date", required=True, help="YYYYMMDD")
    g.set_defaults(func=cmd_generate)

    r = sub.add_parser("run", help="run the nightly steps for one date without Airflow")
    r.add_argument("--inbox", required=True)
    r.add_argument("--date", required=True, help="YYYYMMDD")
    r.add_argument("--workdir", required=True)
    r.add_argument("--shards", default=None,
                   help="split link, assess and report into N shards (1-256; default $HEDUI_SHARDS or 1)")
    r.set_defaults(func=cmd_run)

    pdf = sub.add_parser("pdf", help="print household reports of a run to PDF (on demand)")
    pdf.add_argument("--workdir", required=True)
    pdf.add_argument("--date", required=True, help="YYYYMMDD")
    pdf.add_argument("--request", action="append", help="a request id (repeatable); default: all")
    pdf.set_defaults(func=cmd_pdf)

    rv = sub.add_parser("review", help="在命令行处理概率匹配复核队列（网页请用 hedui serve）",
                        description="列出复核队列，或对一个匹配对作出决定；核对人取当前操作系统用户。")
    rv.add_argument("action", choices=["list", "confirmed", "rejected", "deferred"],
                    help="list 列出队列；confirmed 确认 / rejected 否决 / deferred 暂缓")
    rv.add_argument("--workdir", required=True, help="工作目录（含 hedui.duckdb）")
    rv.add_argument("--date", help="批次日期 YYYYMMDD（默认最近一批）")
    rv.add_argument("--inbox", help=argparse.SUPPRESS)
    rv.add_argument("--status", choices=["pending", "confirmed", "rejected", "deferred"], help="只列出该状态的匹配对")
    rv.add_argument("--key", help="匹配对的决定键（见 hedui review list）")
    rv.add_argument("--reason", type=staff_text(2000, "决定的理由"), help="决定的理由（必填，不超过 2000 字）")
    rv.add_argument("--replace", action="store_true", help="改判：该匹配对已有决定时替换它（原决定保留在历史中）")
    rv.set_defaults(func=cmd_review)

    vf = sub.add_parser("verify", help="urgent verification (救急难) of one household against the latest loaded sources")
    vf.add_argument("--workdir", required=True)
    vf.add_argument("--request-file", required=True, help="the household's rows, in the format of requests_*.csv")
    vf.add_argument("--answers", help="folder of per-request answers: <source>/ with files and .ok markers")
    vf.add_argument("--date", help="business date YYYYMMDD (default: today, Asia/Shanghai)")
    vf.set_defaults(func=cmd_verify)

    lt = sub.add_parser("late", help="补入迟到的部门数据：重新核对该批次，内容有变化的各户出具新版报告",
                        description="把某部门迟到的交付补入已运行的批次：照常导入、校验、关联、评估；"
                                    "只有结论、情形或依据有变化的各户出具新版报告，原报告保留。")
    lt.add_argument("--inbox", required=True, help="收件箱目录（迟到的交付在 <来源>/<日期>/ 下，连同 .ok 标记）")
    lt.add_argument("--workdir", required=True, help="工作目录（含该批次的 hedui.duckdb）")
    lt.add_argument("--date", required=True, help="批次日期 YYYY-MM-DD 或 YYYYMMDD")
    lt.add_argument("--source", required=True, help="迟到的数据来源，如 vehicle")
    lt.set_defaults(func=cmd_late)

    sv = sub.add_parser("serve", help="启动核对工作台网页（登录、检索、复核、异议、导出）",
                        description="启动供核对中心工作人员使用的网页工作台。账号用 hedui users 管理。")
    sv.add_argument("--workdir", required=True, help="工作目录（含 hedui.duckdb 与 staff.sqlite）")
    sv.add_argument("--host", default="127.0.0.1", help="监听的网卡地址（默认 127.0.0.1；供其他电脑访问时填本机局域网地址）")
    sv.add_argument("--port", type=int_in(1, 65535, "端口"), default=8765, help="监听端口（默认 8765）")
    sv.add_argument("--allowed-host", action="append",
                    help="允许的访问主机名（可重复，如 hedui.example.gov.cn）；默认为监听地址与 localhost")
    sv.add_argument("--https", action="store_true", help="经 HTTPS 反向代理访问时使用：会话 Cookie 只经 HTTPS 发送（Secure）")
    sv.add_argument("--trusted-proxy", action="append", type=proxy_address, metavar="地址",
                    help="反向代理的 IP 地址或网段（可重复）：来自它的请求按其 X-Forwarded-For 所记的客户端地址"
                         "计算登录失败次数；不设时所有经代理的请求都算作代理一个地址")
    sv.set_defaults(func=cmd_serve)

    us = sub.add_parser("users", help="管理工作台账号：开设、停用、启用、改密码、列出",
                        description="管理工作台账号。密码从提示符读取（或 --password-stdin 从标准输入读一行），从不出现在命令行参数中。")
    us.add_argument("action", choices=["add", "disable", "enable", "unlock", "passwd", "list"],
                    help="add 开设；disable 停用；enable 启用；unlock 解除登录限制（输错密码过多）；passwd 改密码；list 列出")
    us.add_argument("username", nargs="?", help="用户名（字母、数字、_ . -）")
    us.add_argument("--workdir", required=True, help="工作目录")
    us.add_argument("--role", choices=["clerk", "supervisor", "auditor", "admin"],
                    help="角色：clerk 核对员、supervisor 审核员、auditor 审计员、admin 管理员")
    us.add_argument("--region", action="append",
                    help="辖区的 GB/T 2260 区划代码（可重复）：县区如 360102，市如 360100（含全市各县区）")
    us.add_argument("--name", help="显示的姓名")
    us.add_argument("--password-stdin", action="store_true", help="从标准输入读取密码（一行），用于脚本")
    us.set_defaults(func=cmd_users)

    lk = sub.add_parser("link", help="link two CSV/Parquet tables with a link spec (docs/linkage.md)")
    lk.add_argument("left")
    lk.add_argument("right")
    lk.add_argument("--spec", required=True)
    lk.add_argument("--out", required=True, help="pairs file (.csv or .parquet)")
    lk.set_defaults(func=cmd_link)

    from hedui.audit.cli import add_audit_commands
    from hedui.audit.retention import add_purge_command
    from hedui.ops.status import add_status_command
    from hedui.privacy.keyring import add_keys_command

    add_audit_commands(sub)
    add_purge_command(sub)
    add_status_command(sub)
    add_keys_command(sub)

    d = sub.add_parser("demo", help="generate a small world and run the DAG through Airflow")
    d.add_argument("--workdir", default=".work/demo")
    d.add_argument("--households", type=int_in(1, 10_000_000, "户数"), default=200)
    d.add_argument("--seed", type=int, default=7)
    d.add_argument("--date", default="20261128")
    d.set_defaults(func=cmd_demo)
    return p


def _user_errors() -> tuple[type[BaseException], ...]:
    """Exceptions that report a problem with the user's input or setup (exit 2), not a failed run."""
    from connectors import MapError
    from matching.linkage.exceptions import LinkageError

    return (HeduiError, MapError, LinkageError)


def _run_failures() -> tuple[type[BaseException], ...]:
    """hedui's own errors that stop a run midway (exit 1): the data or the environment, not the arguments."""
    from connectors import SourceUnavailable
    from hedui.audit.ledger import AuthorizationError
    from hedui.audit.log import AuditError
    from hedui.errors import ReconciliationError
    from hedui.privacy.keys import DecryptionError
    from hedui.privacy.protect import ProtectError

    return (ReconciliationError, AuthorizationError, AuditError, ProtectError, DecryptionError, SourceUnavailable)


def _deaf_to_ctrl_c() -> None:
    """Once a Ctrl+C has stopped the run, ignore any further SIGINT until the process has exited.

    The interpreter hands SIGINT back to its default action while it shuts down; a second press then, or
    a SIGINT still on its way (held by a thread's mask, re-sent by a library's own handler: polars' and
    pyarrow's chain to Python's), killed the process by the signal (exit -2) after the Chinese line had
    said 130. An ignored disposition survives the shutdown. Only the main thread can change a handler.
    """
    import signal
    import threading

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def main(argv: list[str] | None = None) -> int:
    from hedui.ops.run_summary import EXIT_ERROR, EXIT_INPUT, EXIT_LOCKED
    from hedui.workdir import private_umask

    private_umask()  # every file hedui writes holds or may hold personal data: 0600 / 0700

    args = build_parser().parse_args(argv)
    verbose = getattr(args, "verbose", False)
    workdir = getattr(args, "workdir", None)
    setup_logging(verbose)
    try:
        plain_arguments(args)  # a line break in a path never forges a line of the answer
        return args.func(args)
    except KeyboardInterrupt:
        if argv is None:  # the process's own command line (`hedui …`, `python -m hedui.cli …`): it ends now
            _deaf_to_ctrl_c()
        print("已中断：本批次未完成；可直接重跑同一日期。", file=sys.stderr)
        return 130
    except Exception as exc:  # one Chinese line; the traceback only with -v
        from hedui.errors import LockedError
        from hedui.ops.failures import error_line, resource_line, terminal_text

        if verbose:
            import traceback

            print(terminal_text(mask_text("".join(traceback.format_exception(exc)))), file=sys.stderr)
        if isinstance(exc, LockedError):
            print(error_line(exc, workdir), file=sys.stderr)
            return EXIT_LOCKED
        if isinstance(exc, HeduiError) and getattr(exc, "exit_code", None):  # e.g. 5: other keys
            print(error_line(exc, workdir), file=sys.stderr)
            return exc.exit_code
        if isinstance(exc, _run_failures()):
            print(error_line(exc, workdir), file=sys.stderr)
            return EXIT_ERROR
        if isinstance(exc, _user_errors()):
            print(error_line(exc, workdir), file=sys.stderr)
            return EXIT_INPUT
        if isinstance(exc, OSError):
            print(error_line(exc, workdir), file=sys.stderr)
            return EXIT_ERROR
        if (full := resource_line(exc, workdir)) is not None:  # DuckDB's write and memory errors included
            print(terminal_text(full), file=sys.stderr)
            return EXIT_ERROR
        print(f"错误：运行失败（内部错误 {type(exc).__name__}：{terminal_text(mask_text(str(exc))[:300])}）。"
              "加 -v 查看详细信息；修正后可直接重跑同一日期。", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
