"""What an operator reads when a command stops on an error: one Chinese line saying what, where and what to do.

`error_line` for the CLI; `disk_full_line` also for the Airflow tasks' logs.  A full disk shows in two ways:
an `OSError` with `errno.ENOSPC` from Python's own writes, and DuckDB's errors (`IOException`,
`TransactionException`) whose text carries the system's "No space left on device".
"""

from __future__ import annotations

import errno
import re
import shutil
from pathlib import Path

from hedui.privacy.masking import mask_text

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


def error_line(exc: BaseException, workdir: str | Path | None = None) -> str:
    """The one line the CLI prints for `exc` (personal numbers masked)."""
    from hedui.errors import LockedError

    if isinstance(exc, LockedError):
        return f"错误：{mask_text(str(exc))}"
    full = disk_full_line(exc, workdir)
    if full is not None:
        return full
    if isinstance(exc, (FileNotFoundError, NotADirectoryError, IsADirectoryError)):
        return f"错误：找不到文件或目录：{mask_text(str(exc.filename or exc))}"
    if isinstance(exc, PermissionError):
        return f"错误：没有权限读写 {mask_text(str(exc.filename or exc))}：请检查文件权限"
    if isinstance(exc, OSError):
        return f"错误：读写文件失败：{mask_text(str(exc))}"
    return f"错误：{mask_text(str(exc))}"
