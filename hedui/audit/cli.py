"""`hedui audit`: read-only SQL on the auditor database, masked by column, and `hedui audit verify`."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import unicodedata
from pathlib import Path

import duckdb

from hedui.audit.auditor import (
    ENV_AUDIT_MEMORY_LIMIT,
    ENV_AUDIT_TEMP_LIMIT,
    ENV_AUDIT_TIMEOUT,
    MAX_TIMEOUT_S,
    auditor_limits,
    default_audit_db,
    default_log_path,
    open_auditor,
)
from hedui.audit.log import (
    AuditError,
    AuditLog,
    LogProblem,
    mask_free_text,
)
from hedui.audit.sql_errors import explain

log = logging.getLogger(__name__)


def _out(text: str = "", stream=None) -> None:
    (stream or sys.stdout).write(text + "\n")


def _width(s: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in s)


_MASKED_TEXT_TYPES = ("VARCHAR", "JSON")


def _cell(column: str, value, type_: str = "VARCHAR") -> str:
    """One value for the screen, masked by its column: numbers, dates and hashes as they are,
    text (free text may quote an ID or account number) through `mask_free_text`."""
    if value is None:
        return "NULL"
    s = str(value)
    if "hash" in column or column in ("sha256", "decision_key") or column.endswith("_pseudonym"):
        return s
    if not any(str(type_).upper().startswith(t) for t in _MASKED_TEXT_TYPES) and not isinstance(value, list | dict):
        return s  # a match_weight, a count, a date: never an ID
    return mask_free_text(s)


_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _visible(text: str, csv_out: bool) -> str:
    """A cell safe to print to a terminal: a delivered name or a staff reason holding ESC [2J or an OSC title
    sequence was written to the auditor's terminal as is. Control characters become U+FFFD (in a table also
    tab and newline, which break its columns; CSV keeps them, quoted)."""
    if csv_out:
        return _CONTROLS.sub("\ufffd", text)
    return "".join(c if c.isprintable() else "\ufffd" for c in text)


def _print_result(rel: duckdb.DuckDBPyRelation, *, csv_out: bool, max_rows: int) -> None:
    cols = list(rel.columns)
    types = [str(t) for t in rel.types]
    try:
        rows = rel.limit(max_rows + 1).fetchall()
    except (duckdb.InterruptException, duckdb.OutOfMemoryException):
        raise
    except duckdb.Error:
        rows = rel.fetchall()
    more = len(rows) > max_rows
    cells = [[_visible(_cell(c, v, t), csv_out) for c, v, t in zip(cols, r, types, strict=True)]
             for r in rows[:max_rows]]
    if csv_out:
        from hedui import safe_csv

        w = safe_csv.writer(sys.stdout)  # formula prefixes neutralized: the output is opened in Excel/WPS
        w.writerow(cols)
        w.writerows(cells)
    else:
        widths = [max([_width(c)] + [_width(r[i]) for r in cells]) for i, c in enumerate(cols)]

        def line(vals: list[str]) -> str:
            return " | ".join(v + " " * (w - _width(v)) for v, w in zip(vals, widths, strict=True)).rstrip()

        _out(line(cols))
        _out("-+-".join("-" * w for w in widths))
        for r in cells:
            _out(line(r))
        note = f"，仅显示前 {max_rows} 行" if more else ""
        _out(f"（{len(cells)} 行{note}）")


def _audit_db_arg(args) -> Path:
    if getattr(args, "db", None):
        return Path(args.db)
    workdir = getattr(args, "workdir", None) or os.environ.get("HEDUI_WORKDIR")
    if not workdir:
        raise AuditError("请用 --workdir 指定工作目录（或 --db 指定审计库文件）")
    return default_audit_db(workdir)


@contextlib.contextmanager
def _statement_timer(con, seconds: float):
    """Interrupt `con` after `seconds` (DuckDB has no statement timeout); yield a flag set when it fired."""
    import threading

    fired = threading.Event()

    def stop() -> None:
        fired.set()
        con.interrupt()

    timer = threading.Timer(seconds, stop)
    timer.daemon = True
    timer.start()
    try:
        yield fired
    finally:
        timer.cancel()


def _run_sql(con, sql: str, *, csv_out: bool, max_rows: int, timeout_s: float | None = None) -> None:
    limits = auditor_limits()
    timeout_s = timeout_s or limits["timeout_s"]
    try:
        statements = con.extract_statements(sql)
    except duckdb.Error as exc:
        raise AuditError(explain(exc)) from None
    for stmt in statements:
        with _statement_timer(con, timeout_s) as fired:
            try:
                rel = con.sql(stmt.query)
                if rel is not None:
                    _print_result(rel, csv_out=csv_out, max_rows=max_rows)
            except duckdb.InterruptException:
                raise AuditError(f"查询超过 {timeout_s:g} 秒被中止（{ENV_AUDIT_TIMEOUT}）：请缩小查询范围"
                                 "（加 where 条件或 limit），或请管理员调大该限制") from None
            except duckdb.OutOfMemoryException:
                raise AuditError(f"查询所需内存或临时空间超过限制（内存 {limits['memory_limit']}，临时空间 "
                                 f"{limits['max_temp_directory_size']}；{ENV_AUDIT_MEMORY_LIMIT} / "
                                 f"{ENV_AUDIT_TEMP_LIMIT}）：请缩小查询范围") from None
            except duckdb.Error as exc:
                if fired.is_set():
                    raise AuditError(f"查询超过 {timeout_s:g} 秒被中止（{ENV_AUDIT_TIMEOUT}）：请缩小查询范围") from None
                raise AuditError(explain(exc)) from None


def _no_statement(con, sql: str) -> bool:
    """True when `sql` holds no statement at all (empty, blanks, `;`, a comment); one that does not parse is
    not this case (`_run_sql` explains it)."""
    try:
        return not con.extract_statements(sql)
    except duckdb.Error:
        return False


def cli_audit(args) -> int:
    """`hedui audit [--workdir W | --db F] [-c SQL] [--csv]`: query the auditor database; output masked.

    Without -c, reads SQL statements from standard input (an `审计>` prompt on a terminal).
    """
    con = open_auditor(_audit_db_arg(args))
    try:
        opts = {"csv_out": bool(getattr(args, "csv", False)), "max_rows": int(getattr(args, "max_rows", 1000)),
                "timeout_s": getattr(args, "timeout", None)}
        if getattr(args, "sql", None) is not None:  # `-c ""` read stdin (nothing) and exited 0 as if it had run
            if _no_statement(con, args.sql):
                from hedui.errors import InputError

                raise InputError("-c 后没有可执行的 SQL 语句（为空，或只有分号、注释）：请在 -c 后写上查询，"
                                 "如 hedui audit -c \"select * from catalog\"；不加 -c 时从标准输入读取语句")
            _run_sql(con, args.sql, **opts)
            return 0
        interactive = sys.stdin.isatty()
        if interactive:
            _out("hedui 审计库（只读）。表：select * from catalog；以分号结束语句，Ctrl-D 退出。")
        buf = ""
        while True:
            if interactive:
                sys.stdout.write("审计> " if not buf else "  ... ")
                sys.stdout.flush()
            line = sys.stdin.readline()
            if not line:
                break
            buf += line
            if buf.strip().endswith(";"):
                try:
                    _run_sql(con, buf, **opts)
                except AuditError as exc:
                    if not interactive:
                        raise
                    _out(f"错误：{exc}", sys.stderr)
                buf = ""
        if buf.strip():
            _run_sql(con, buf, **opts)
        return 0
    finally:
        con.close()


def cli_audit_verify(args) -> int:
    """`hedui audit verify [--workdir W | --log F] [--db F]`: check the audit log; non-zero and the first bad entry."""
    workdir = getattr(args, "workdir", None) or os.environ.get("HEDUI_WORKDIR")
    log_path = Path(args.log) if getattr(args, "log", None) else default_log_path(workdir) if workdir else None
    if log_path is None:
        raise AuditError("请用 --workdir 指定工作目录（或 --log 指定审计日志文件）")
    if not log_path.is_file():
        raise AuditError(f"审计日志 {log_path} 不存在")
    anchors: list[tuple[int, str]] = []
    audit_log = AuditLog(log_path)
    missing_db: str | None = None
    if getattr(args, "db", None) or workdir:
        db_path = _audit_db_arg(args)
        if db_path.is_file():
            con = open_auditor(db_path)
            try:
                anchors = [(int(s), h) for s, h in con.sql("select seq, hash from audit_anchors").fetchall()]
            finally:
                con.close()
        elif any(e.get("action") == "run" for e in audit_log.entries()):
            # runs were published: the anchors must be there; a deleted database never turns the check off
            missing_db = (f"审计库 {db_path} 不存在，但审计日志记录了已发布的核对批次：无法核对锚点。"
                          "请从备份恢复审计库，或重新运行最近一个批次以重新发布")
    problems = audit_log.verify(anchors)
    n = len(audit_log.entries())
    if missing_db:
        problems = [LogProblem(0, None, "missing", missing_db), *problems]
    if problems:
        _out(f"审计日志校验失败：{problems[0]}", sys.stderr)
        for p in problems[1:]:
            _out(f"  另：{p}", sys.stderr)
        return 1
    _out(f"审计日志完整：{n} 条记录，哈希链无误（核对了 {len(anchors)} 个锚点）。")
    return 0


def add_audit_commands(subparsers) -> None:
    """Register `hedui audit` (query mode) and `hedui audit verify` on the CLI's subparsers."""
    import argparse

    from hedui.cli_args import int_in, seconds_in

    a = subparsers.add_parser("audit", help="query the auditor database (read-only, masked); "
                                            "`audit verify` checks the audit log's hash chain")
    a.add_argument("--workdir", help="working folder (default $HEDUI_WORKDIR)")
    a.add_argument("--db", help="the auditor database file (default WORKDIR/audit/hedui_audit.duckdb)")
    a.add_argument("-c", "--command", dest="sql", help="SQL to run (default: read statements from stdin)")
    a.add_argument("--csv", action="store_true", help="print CSV instead of a table")
    a.add_argument("--max-rows", type=int_in(1, 10_000_000, "最多显示行数"), default=1000)
    a.add_argument("--timeout", type=seconds_in(0.001, MAX_TIMEOUT_S, "每条查询的时限"),
                   help=f"seconds per statement (default ${ENV_AUDIT_TIMEOUT} or 300)")
    a.set_defaults(func=cli_audit)
    sub = a.add_subparsers(dest="audit_command")
    v = sub.add_parser("verify", help="check the audit log: changed, removed or reordered entries")
    v.add_argument("--workdir", default=argparse.SUPPRESS)
    v.add_argument("--log", help="the audit log (default WORKDIR/audit/audit_log.jsonl)")
    v.add_argument("--db", default=argparse.SUPPRESS, help="auditor database whose anchors to check")
    v.set_defaults(func=cli_audit_verify)
