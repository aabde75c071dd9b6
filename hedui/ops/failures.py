"""What an operator reads when a command stops on an error: one Chinese line saying what, where and what to do.

`error_line` for the CLI (ending with the step that failed, when a run's step did); `notify_failure` sends the
failure notice of a `hedui run` that stopped midway; `disk_full_line` also for the Airflow tasks' logs.  A full disk shows in two ways:
an `OSError` with `errno.ENOSPC` from Python's own writes, and DuckDB's errors (`IOException`,
`TransactionException`) whose text carries the system's "No space left on device".
"""

from __future__ import annotations

import contextlib
import errno
import logging
import re
import shutil
from pathlib import Path

from hedui.privacy.masking import mask_text

log = logging.getLogger(__name__)
_NO_SPACE = ("No space left on device", "Disk quota exceeded", "not enough space on the disk")
_DUCKDB_FILE = re.compile(r'(?:write|create|open|extend) file "([^"]+)"')


def _chain(exc: BaseException):
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def disk_full_path(exc: BaseException) -> str | None:
    """The file whose write found the disk full ('' when the error does not say which), or None when `exc`
    (or an exception it was raised from) is no full disk."""
    for e in _chain(exc):
        if isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT):
            return str(e.filename or "")
        text = str(e)
        if any(s in text for s in _NO_SPACE):
            m = _DUCKDB_FILE.search(text)
            return m.group(1) if m else ""
    return None


def _read_only_fs(path: str | Path | None) -> bool:
    """True when `path` (or its nearest existing parent) lies on a file system mounted read-only."""
    import os

    for p in (Path(path), *Path(path).parents) if path else ():
        try:
            return bool(os.statvfs(p).f_flag & os.ST_RDONLY)
        except OSError:
            continue
    return False


def read_only_line(exc: BaseException, workdir: str | Path | None = None) -> str | None:
    """The line for a write refused by a read-only file system (a disk the system remounted read-only after an
    error, an archive on read-only media), or None when `exc` is something else.  Python says it with
    `errno.EROFS`, DuckDB with the system's "Read-only file system" in its text, SQLite (the workspace's
    accounts) only "unable to open database file": any error of a command whose working folder is on a
    read-only file system is taken for this."""
    if _read_only_fs(workdir):
        exc = OSError(errno.EROFS, "Read-only file system", str(workdir))
    for e in _chain(exc):
        if isinstance(e, OSError) and e.errno == errno.EROFS:
            where = str(e.filename or "")
        elif "Read-only file system" in str(e):
            m = _DUCKDB_FILE.search(str(e))
            where = m.group(1) if m else ""
        else:
            continue
        written = f"写入 {mask_text(where)} 时被拒绝" if where else "写入工作目录时被拒绝"
        return (f"错误：工作目录所在的文件系统是只读的：{written}。已有的报告、结论与数据库保持原样；"
                "请检查该磁盘（系统出错后可能已将其改为只读挂载，先查看系统日志），恢复可写后重跑同一日期，"
                "或用 --workdir 换到可写的目录。")
    return None


def _free_mb(path: Path) -> str:
    for p in (path, *path.parents):
        try:
            return f"{shutil.disk_usage(p).free / 1e6:,.0f} MB"
        except OSError:
            continue
    return "未知"


def disk_full_line(exc: BaseException, workdir: str | Path | None) -> str | None:
    """The line for a full disk, or None when `exc` is something else."""
    where = disk_full_path(exc)
    if where is None:
        return None
    folder = Path(where).parent if where else Path(workdir or ".")
    written = f"写入 {mask_text(where)} 时" if where else "写入工作目录时"
    return (f"错误：磁盘空间不足：{written}磁盘已满（{mask_text(str(folder))} 所在磁盘剩余 {_free_mb(folder)}）。"
            "请清理该磁盘，或用 --workdir 换到空间更大的磁盘，然后重跑同一日期：已发布的审计库不受影响，"
            "本次未写完的报告与数据会在重跑时重新生成。")


def out_of_memory(exc: BaseException) -> bool:
    """True when `exc` (or an exception it was raised from) is DuckDB running out of its memory limit."""
    return any(type(e).__name__ == "OutOfMemoryException" or "Out of Memory Error" in str(e) for e in _chain(exc))


def memory_line(exc: BaseException) -> str | None:
    """The line for DuckDB's memory limit reached (naming the setting to raise, with its value), or None."""
    if not out_of_memory(exc):
        return None
    import os

    working = os.environ.get("HEDUI_MEMORY_LIMIT") or "4GB"
    per_source = os.environ.get("HEDUI_SOURCE_MEMORY_LIMIT") or "1GB"
    return (f"错误：内存不足：DuckDB 用满了所设的内存上限（工作数据库 HEDUI_MEMORY_LIMIT={working}，"
            f"每个数据来源 HEDUI_SOURCE_MEMORY_LIMIT={per_source}）。请调大 HEDUI_MEMORY_LIMIT（接收与校验数据时失败的，"
            "也调大 HEDUI_SOURCE_MEMORY_LIMIT；本机内存不够时减小 HEDUI_THREADS），然后重跑同一日期："
            "已发布的审计库与报告不受影响，仍是上一次完整运行的结果。")


def resource_line(exc: BaseException, workdir: str | Path | None) -> str | None:
    """`error_line` for a full disk, DuckDB's memory limit reached or a read-only working folder; None for anything
    else."""
    if disk_full_path(exc) is None and not out_of_memory(exc) and read_only_line(exc, workdir) is None:
        return None
    return error_line(exc, workdir)


#: the steps of `hedui run` as the operator reads them (hedui.pipeline.failing_step marks an error with one)
STEP_ZH = {"sources": "接收与校验数据", "load": "入库", "link": "关联", "assess": "评估", "report": "出报告",
           "publish": "发布", "shard_plan": "分片计划", "shard_work": "分片处理", "shard_merge": "分片合并"}


def failed_where_zh(exc: BaseException) -> str | None:
    """Where `exc` stopped the run — ``失败步骤：关联（link）``, with the source for a source's step — or None
    when it carries no step (raised before the run's steps, e.g. a refused argument)."""
    step = getattr(exc, "hedui_step", None)
    if not step:
        return None
    where = f"失败步骤：{STEP_ZH.get(step, step)}（{step}）"
    if source := getattr(exc, "hedui_source", None):
        title = source
        with contextlib.suppress(Exception):  # an unknown source is still named by its key
            from connectors import load_map

            title = f"{load_map(source).title_zh}（{source}）"
        where += f"，数据来源：{title}"
    return where


def error_line(exc: BaseException, workdir: str | Path | None = None) -> str:
    """The one line the CLI prints for `exc` (personal numbers masked), ending with the step that failed."""
    from hedui.errors import HeduiError

    line = _error_line(exc, workdir)
    if not isinstance(exc, HeduiError):  # one line: a driver's or the system's message may run over several; ours
        line = " ".join(line.split())  # (an audit query's caret under its SQL) are laid out to be read as written
    where = failed_where_zh(exc)
    return terminal_text(f"{line}（{where}）" if where else line)


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def terminal_text(text: str) -> str:
    """`text` safe to print to an operator's terminal: a control character other than the newline and tab (ESC of an
    escape sequence, BEL, a carriage return) shown as `\\x1b`. A path, date or name given on the command line is
    echoed in the error line, and `--inbox $'in\\e]0;…\\a\\e[2J'` retitled and cleared the operator's terminal;
    a name that cannot be encoded (non-UTF-8 bytes on the command line) is shown as `\\udcff`, not a crash."""
    text = _CONTROL.sub(lambda m: f"\\x{ord(m[0]):02x}", text)
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


#: the commands that are a date's nightly run holding the working folder: `hedui run`, or a step of the DAG
NIGHT_COMMANDS = frozenset({"run", "load", "link", "assess", "report", "shard_plan", "shard_merge", "publish"})


def refused_duplicate(holder: dict | None, run_date: str) -> bool:
    """True when the working folder's holder is the nightly run of `run_date` itself (`hedui run` or a DAG
    step of that date): a second run of the same night refused by the lock is a duplicate, not a failed night;
    the holder's run sends that night's summary or failure notice."""
    holder = holder or {}
    return holder.get("run_date") == run_date and holder.get("command") in NIGHT_COMMANDS


def duplicate_line_zh(run_date: str) -> str:
    return (f"同一批次 {run_date} 已在运行，本次运行未启动，也未发送失败通知："
            "该批次的结果由正在进行的运行通知；它结束后如需重跑，再运行同一日期即可")


def holder_zh(holder: dict | None) -> str:
    """Who holds the working folder, as the notice names it (counts and ids only, nothing personal)."""
    holder = holder or {}
    if not holder.get("pid"):  # held shared: a DAG run's ingest tasks write no record
        return "Airflow 夜间批次的数据接收任务（ingest）或另一写入进程"
    return (f"进程号 {holder['pid']}，命令 {holder.get('command', '未知')}，开始于 {holder.get('started_at') or '未知时间'}"
            + (f"，批次日期 {holder['run_date']}" if holder.get("run_date") else ""))


def not_started_text_zh(run_date: str, holder: dict | None, where: str) -> str:
    """The failure notice of a night whose run never started: the working folder was held by something else."""
    from hedui.ops.run_summary import failure_text_zh

    return failure_text_zh(run_date, f"本批次未能开始（{where}）：工作目录正被另一个进程写入（{holder_zh(holder)}）。"
                                     "请等它结束后重跑同一日期；若该进程已不存在，重跑即可自动接管")


def _error_line(exc: BaseException, workdir: str | Path | None = None) -> str:
    from hedui.errors import LockedError

    if isinstance(exc, LockedError):
        line = f"错误：{mask_text(str(exc))}"
        if getattr(exc, "hedui_duplicate", None):
            line = f"{line.rstrip('。')}。{duplicate_line_zh(exc.hedui_duplicate)}。"
        return line
    full = disk_full_line(exc, workdir)
    if full is not None:
        return full
    if (memory := memory_line(exc)) is not None:
        return memory
    if (read_only := read_only_line(exc, workdir)) is not None:
        return read_only
    if isinstance(exc, (FileNotFoundError, NotADirectoryError, IsADirectoryError)):
        return f"错误：找不到文件或目录：{mask_text(str(exc.filename or exc))}"
    if isinstance(exc, PermissionError):
        return f"错误：没有权限读写 {mask_text(str(exc.filename or exc))}：请检查文件权限"
    if isinstance(exc, ConnectionError):  # an exchange database unreachable (connectors.SourceUnavailable)
        return f"错误：{mask_text(str(exc))}"
    if isinstance(exc, OSError):
        return f"错误：读写文件失败：{mask_text(str(exc))}"
    return f"错误：{mask_text(str(exc))}"


@contextlib.contextmanager
def notify_failure(ctx):
    """Send a failure notice when the block (`hedui run`'s steps) stops on an error, then let it go on:
    the date, the step and source that failed and the error's one line, masked (`error_line`).
    An interrupt (Ctrl+C) is the operator's own doing: no notice."""
    try:
        yield
    except Exception as exc:
        from hedui.ops.notify import notify
        from hedui.ops.run_summary import failure_text_zh
        from hedui.workdir import WorkdirBusyError

        if isinstance(exc, WorkdirBusyError):  # refused at the start: `hedui run` holds the folder throughout
            if refused_duplicate(exc.holder, ctx.run_date):
                exc.hedui_duplicate = ctx.run_date  # its line says so (error_line)
                log.warning("run of %s refused: the same date's run holds %s; no failure notice", ctx.run_date,
                            ctx.workdir)
                raise
            message = not_started_text_zh(ctx.run_date, exc.holder, "hedui run")
        else:
            line = error_line(exc, ctx.workdir).removeprefix("错误：").rstrip("。")
            message = failure_text_zh(ctx.run_date, f"{line}。修正后可直接重跑同一日期。")
        for sent in notify({"run_date": ctx.run_date, "failed": True, "message_zh": message}):
            log.warning("%s", sent)
        raise
