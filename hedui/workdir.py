"""The working folder's guards: one writer at a time, private file modes, kill leftovers.

- `writer_lock(workdir, command)` — an exclusive ``fcntl`` lock on
  ``<workdir>/.hedui-writer.lock`` held by every writing command (run and its
  steps, review decisions, purge, key rotation).  The lock file names its
  holder (pid, command, start time); a second writer is refused with
  :class:`WorkdirBusyError` (Chinese message naming the holder, exit code 4).
  The kernel drops the lock when its process dies, so a holder left behind by
  a killed process is taken over and the takeover is logged.  Re-entrant
  within one thread (a `hedui run` holds it while its steps take it again);
  another thread of the same process is refused like another process.
- `shared_writer_lock(workdir, command)` — the same lock held shared, by
  writers of their own files only (a DAG run's per-source ingest tasks, side
  by side); refused beside an exclusive writer, and refuses one.
- `private_umask()` — umask 0o077 for the process: every file hedui creates is
  0600, every folder 0700.  `secure_workdir` also tightens what an older
  version left 0644/0755.
- `clean_leftovers(workdir)` — folders and files a killed process left
  (``report_parts_*``, spill folders, ``*.tmp`` half-written files).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import logging
import os
import shutil
import socket
import stat
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from hedui.errors import HeduiError, LockedError

log = logging.getLogger(__name__)

LOCK_NAME = ".hedui-writer.lock"
EXIT_BUSY = 4  # as hedui.ops.run_summary.EXIT_LOCKED
PRIVATE_DIR, PRIVATE_FILE = 0o700, 0o600
# top-level entries of a working folder that hold personal data
_PRIVATE_ENTRIES = ("runs", "reports", "audit", "tmp", "hedui.duckdb", "hedui.duckdb.wal", "keys.fingerprint.json")


class WorkdirBusyError(LockedError):
    """Another process is writing to the working folder."""

    exit_code = EXIT_BUSY

    def __init__(self, message: str, holder: dict):
        super().__init__(message)
        self.holder = holder


def private_umask() -> int:
    """Set the process umask to 0o077 (files 0600, folders 0700); return the previous one."""
    return os.umask(0o077)


def _chmod(path: Path, mode: int) -> None:
    with contextlib.suppress(FileNotFoundError, PermissionError):
        if not path.is_symlink():
            path.chmod(mode)


def secure_tree(path: Path | str) -> None:
    """Folders 0700 and files 0600 under `path` (symlinks left alone)."""
    path = Path(path)
    if not path.exists() or path.is_symlink():
        return
    if path.is_file():
        _chmod(path, PRIVATE_FILE)
        return
    _chmod(path, PRIVATE_DIR)
    for root, dirs, files in os.walk(path):
        for d in dirs:
            _chmod(Path(root) / d, PRIVATE_DIR)
        for f in files:
            _chmod(Path(root) / f, PRIVATE_FILE)


MODES_MARKER = ".modes-private"


def secure_workdir(workdir: Path | str, *, deep: bool = False) -> None:
    """The working folder 0700 and its personal-data entries private.

    `deep`: every file below too, once per folder (a marker file records it;
    files made since are private through the umask).
    """
    workdir = Path(workdir)
    if deep and (workdir / MODES_MARKER).exists():
        deep = False
    workdir.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
    _chmod(workdir, PRIVATE_DIR)
    for name in _PRIVATE_ENTRIES:
        p = workdir / name
        if deep:
            secure_tree(p)
        elif p.is_dir():
            _chmod(p, PRIVATE_DIR)
        elif p.exists():
            _chmod(p, PRIVATE_FILE)
    if deep:
        (workdir / MODES_MARKER).touch()


# -- one writer per working folder ------------------------------------------------------------

_held: dict[tuple[str, int], list] = {}  # (realpath, thread) -> [fd, depth, holder]
_held_guard = threading.Lock()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _read_holder(fd: int) -> dict:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        data = os.read(fd, 65536)
        holder = json.loads(data.decode("utf-8")) if data.strip() else {}
        return holder if isinstance(holder, dict) else {}
    except (OSError, ValueError):
        return {}


def _busy_message(workdir: Path, holder: dict) -> str:
    if not holder.get("pid"):  # no holder record: held shared (a DAG run's ingest tasks write none), or just taken
        return (f"工作目录 {workdir} 正在被另一个进程写入（例如 Airflow 夜间批次的数据接收任务 ingest）。"
                "同一工作目录同一时间只能有一个写入操作。请等它结束后再试。")
    started = str(holder.get("started_at") or "未知时间")
    return (f"工作目录 {workdir} 正在被另一个进程写入：进程号 {holder.get('pid', '未知')}，"
            f"命令 {holder.get('command', '未知')}，开始于 {started}"
            + (f"，批次日期 {holder['run_date']}" if holder.get("run_date") else "")
            + "。同一工作目录同一时间只能有一个写入操作。请等它结束后再试；"
              "若确认该进程已不存在，重新运行即可自动接管。")


def _flock_or_busy(workdir: Path, fd: int, mode: int) -> None:
    """Take the lock file's flock in `mode` at once, or raise WorkdirBusyError naming its holder."""
    try:
        fcntl.flock(fd, mode | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _read_holder(fd)
        raise WorkdirBusyError(_busy_message(workdir, holder), holder) from None


@contextlib.contextmanager
def writer_lock(workdir: Path | str, command: str, *, run_date: str | None = None) -> Iterator[dict]:
    """Hold the working folder's writer lock for the block; yield the holder record.

    Raises WorkdirBusyError (exit code 4) at once when another process holds it.
    A holder record left by a dead process is taken over and logged in the audit log.
    """
    workdir = Path(workdir)
    secure_workdir(workdir)
    key = (os.path.realpath(workdir), threading.get_ident())  # re-entrant per thread, not across threads
    with _held_guard:
        if key in _held:
            _held[key][1] += 1
            reentered = True
        else:
            reentered = False
    if reentered:
        try:
            yield _held[key][2]
        finally:
            with _held_guard:
                _held[key][1] -= 1
        return
    fd = os.open(workdir / LOCK_NAME, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), PRIVATE_FILE)
    try:
        _flock_or_busy(workdir, fd, fcntl.LOCK_EX)
        previous = _read_holder(fd)
        holder = {"pid": os.getpid(), "host": socket.gethostname(), "command": command,
                  "started_at": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
                  **({"run_date": run_date} if run_date else {})}
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, json.dumps(holder, ensure_ascii=False).encode("utf-8"))
        os.fsync(fd)
        if previous.get("pid"):
            _log_takeover(workdir, previous, holder)
        with _held_guard:
            _held[key] = [fd, 1, holder]
        try:
            yield holder
        finally:
            with _held_guard:
                _held.pop(key, None)
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)  # a clean release leaves no holder behind
    finally:
        os.close(fd)  # releases the flock


@contextlib.contextmanager
def shared_writer_lock(workdir: Path | str, command: str) -> Iterator[None]:
    """Hold the writer lock shared: for writers of their own files only, side by side, never beside a writer.

    A DAG's per-source ingest tasks write only their source's files of the run
    and run in parallel; a `hedui run` (or any exclusive writer) of the same
    folder must not mix its files with theirs, so each holds the lock shared.
    Raises WorkdirBusyError at once while an exclusive writer holds it; an
    exclusive writer is refused while any shared holder runs.
    """
    workdir = Path(workdir)
    secure_workdir(workdir)
    fd = os.open(workdir / LOCK_NAME, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), PRIVATE_FILE)
    try:
        _flock_or_busy(workdir, fd, fcntl.LOCK_SH)
        log.debug("writer lock of %s held shared by %s", workdir, command)
        yield
    finally:
        os.close(fd)  # releases the flock


def _log_takeover(workdir: Path, previous: dict, holder: dict) -> None:
    alive = previous.get("host") == holder["host"] and _pid_alive(int(previous.get("pid") or 0))
    log.warning("taking over the writer lock of %s left by pid %s (%s, started %s)%s", workdir,
                previous.get("pid"), previous.get("command"), previous.get("started_at"),
                "" if not alive else " — that pid exists again but does not hold the lock")
    from hedui.audit.auditor import default_log_path
    from hedui.audit.log import AuditLog

    with contextlib.suppress(HeduiError):
        AuditLog(default_log_path(workdir)).append(
            action="lock_takeover", subject=f"工作目录写入锁（上一持有者进程 {previous.get('pid')} 已结束）",
            details={"previous": previous, "command": holder["command"]})


def holder_of(workdir: Path | str) -> dict | None:
    """Who holds the writer lock now (None when nobody does)."""
    path = Path(workdir) / LOCK_NAME
    if not path.exists():
        return None
    # read-only: flock needs no write access, and a reader (`hedui status`) must answer on a working folder the
    # system remounted read-only, or on an archive copy
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read_holder(fd)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


# -- leftovers of killed processes ----------------------------------------------------------------


def clean_leftovers(workdir: Path | str, run_date: str | None = None) -> dict:
    """Remove what a killed run left: ``runs/*/report_parts_*``, spill folders ``tmp/`` and
    ``runs/*/tmp/``, half-written ``*.tmp`` files and the auditor database's temporary copies.

    Call it holding the writer lock (nobody else may be writing); with
    `run_date`, only that run's folder is cleaned under ``runs/`` (a DAG's
    per-source tasks of another date may be running).  Returns
    {"folders": n, "files": n, "bytes": n}.
    """
    workdir = Path(workdir)
    counts = {"folders": 0, "files": 0, "bytes": 0}

    def drop(p: Path) -> None:
        if p.is_symlink() or p.is_file():
            counts["files"] += 1
            counts["bytes"] += p.lstat().st_size
            p.unlink(missing_ok=True)
        elif p.is_dir():
            held = 0
            for f in p.rglob("*"):
                if f.is_file() and not f.is_symlink():
                    held += 1
                    counts["bytes"] += f.stat().st_size
            counts["files"] += held
            # an empty spill folder is what every finished run leaves (DuckDB's temp_directory): no leftover
            counts["folders"] += 1 if held or p.name.startswith("report_parts_") else 0
            shutil.rmtree(p, ignore_errors=True)

    if not workdir.is_dir():
        return counts
    runs = workdir / "runs"
    for run in sorted(runs.iterdir()) if runs.is_dir() else []:
        if not run.is_dir() or run.is_symlink() or (run_date and run.name != run_date):
            continue
        for p in run.glob("report_parts_*"):
            drop(p)
        drop(run / "tmp")
        for p in run.rglob("*.tmp"):
            drop(p)
    drop(workdir / "tmp")
    counts["folders"] += clean_dead_scratch(workdir)
    for folder in (workdir / "audit", workdir / "reports"):
        for p in folder.rglob("*.tmp") if folder.is_dir() else []:
            drop(p)
        for p in folder.glob(".*.tmp.wal") if folder.is_dir() else []:
            drop(p)
    if any(counts.values()):
        log.warning("removed leftovers of an interrupted process in %s: %s", workdir, counts)
    return counts


#: the file an urgent verification's scratch folder is held by (an flock) while the verification runs
SCRATCH_LOCK = ".in_use"


def hold_scratch(folder: Path) -> int:
    """Create `folder` (an urgent verification's scratch, ``<workdir>/urgent/<key>/``) and hold it as in use:
    the returned descriptor's flock, which the system releases when the process ends however it ends.  Close
    the descriptor once the folder is removed."""
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / SCRATCH_LOCK, os.O_CREAT | os.O_RDWR, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


def clean_dead_scratch(workdir: Path | str) -> int:
    """Remove the scratch folders of urgent verifications that were killed (``urgent/<key>/``, held by none):
    they hold the household's raw rows, plain ID numbers included, which no purge would ever reach.  A
    running verification's folder (its flock held) and one just being made are left.  Returns how many."""
    root = Path(workdir) / "urgent"
    removed = 0
    for folder in sorted(root.iterdir()) if root.is_dir() else []:
        if folder.is_symlink() or not folder.is_dir():
            continue
        try:
            fd = os.open(folder / SCRATCH_LOCK, os.O_RDWR)
        except FileNotFoundError:  # killed before it held the folder, or being made this instant
            if time.time() - folder.stat().st_mtime > 600:
                shutil.rmtree(folder, ignore_errors=True)
                removed += 1
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            continue  # a verification is running in it
        else:
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
        finally:
            os.close(fd)
    return removed


@contextlib.contextmanager
def replaced_whole(path: Path, mode: str = "w", **kwargs):
    """A file object writing `path` as a whole: written to ``<path>.tmp`` and moved over `path` when the
    block ends without error; on an error (a full disk, a kill) the temporary file is removed (or, after a
    kill, by `clean_leftovers`) and `path` stays as it was — never half of a new file."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, mode, **kwargs) as fh:
            yield fh
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def is_private(path: Path | str) -> bool:
    """True when nobody but the owner can read `path` (group/other bits clear)."""
    return not (Path(path).stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO))
