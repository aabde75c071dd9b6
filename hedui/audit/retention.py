"""Retention: purge raw deliveries and staged raw values older than a configured number of days.

Purged (a date is purged when it is more than `older_than_days` days before `today`):

- ``<inbox>/<source>/<YYYYMMDD>/`` — the departments' deliveries as received;
- ``<workdir>/runs/<YYYYMMDD>/raw|staged_pre|staged|quarantine_*`` — connector
  output and staged Parquet (manifests and statuses, which hold hashes and
  counts, stay);
- in the working database, the raw ID and account columns (encrypted by
  `hedui.privacy.protect`) of the `stg_<source>` rows of those run dates, set to NULL.

Kept: reports, outcomes, findings, pseudonyms, masked columns, file hashes,
the query ledger and the audit log.  The purge itself is an entry in the audit log.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import shutil
from pathlib import Path

import duckdb

from hedui import db
from hedui.audit.auditor import default_log_path
from hedui.audit.log import AuditLog
from hedui.errors import ConfigError, HeduiError

log = logging.getLogger(__name__)

ENV_RETENTION_DAYS = "HEDUI_RETENTION_DAYS"
DEFAULT_RETENTION_DAYS = 90
#: a century: more days than that is a typo (and past ~700,000 the cut-off date falls before year 1)
MAX_RETENTION_DAYS = 36500
RUN_KINDS = ("raw", "staged_pre", "staged")
#: fullmatch, ASCII digits: `\d` also takes full-width digits ("２０２６１２０１", a folder made with a Chinese input
#: method), which sort after every real date and so defeated the --today check of `check_today`
_DATE = re.compile(r"[0-9]{8}")


class RetentionError(HeduiError):
    """The purge could not run (e.g. the working database is held by another process)."""


def retention_days(environ: dict[str, str] | None = None) -> int:
    """Days to keep raw data: `HEDUI_RETENTION_DAYS` (default 90).  Raises ConfigError when not a positive integer."""
    env = os.environ if environ is None else environ
    text = env.get(ENV_RETENTION_DAYS, str(DEFAULT_RETENTION_DAYS))
    try:
        days = int(text)
    except ValueError:
        days = 0
    if not 1 <= days <= MAX_RETENTION_DAYS:
        raise ConfigError(f"{ENV_RETENTION_DAYS}={text[:40]!r} 无效：应为 1 到 {MAX_RETENTION_DAYS} 之间的整数（保留原始数据的天数）")
    return days


def _as_date(value: dt.date | str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.datetime.strptime(str(value), "%Y%m%d").date()


def _old_date_dirs(parent: Path, cutoff: dt.date) -> list[Path]:
    if not parent.is_dir():
        return []
    out = []
    for d in sorted(parent.iterdir()):
        if not _DATE.fullmatch(d.name) or not (d.is_dir() or d.is_symlink()):
            continue
        try:
            when = dt.datetime.strptime(d.name, "%Y%m%d").date()
        except ValueError:
            continue
        if when < cutoff:
            out.append(d)
    return out


def _remove(path: Path) -> tuple[int, int]:
    """Delete a folder (or a symlink to one, not its target); return (files, bytes)."""
    if path.is_symlink() or path.is_file():
        size = path.lstat().st_size
        path.unlink()
        return 1, size
    files = [f for f in path.rglob("*") if f.is_file() and not f.is_symlink()]
    size = sum(f.stat().st_size for f in files)
    shutil.rmtree(path)
    return len(files), size


def _purge_database(database: Path, cutoff: str) -> dict[str, int]:
    from connectors import load_map

    if not database.exists():
        return {}
    try:
        con = db.connect(database)
    except duckdb.IOException as exc:
        raise RetentionError(f"无法打开工作数据库 {database}（可能有批次正在运行）：{exc}") from None
    counts: dict[str, int] = {}
    try:
        con.sql("begin transaction")
        tables = [r[0] for r in con.sql("select table_name from duckdb_tables() where database_name = current_database() "
                                        "and table_name like 'stg_%' order by 1").fetchall()]
        for table in tables:
            try:
                smap = load_map(table.removeprefix("stg_"))
            except Exception:  # noqa: BLE001 — a table without a header map is not a staged source
                continue
            have = {r[0] for r in con.sql(f"describe {table}").fetchall()}
            cols = [c.column for c in smap.columns if c.type in ("id", "account") and c.column in have]
            if not cols or "run_date" not in have:
                continue
            rel = con.sql(
                f"update {table} set " + ", ".join(f"{c} = null" for c in cols)
                + " where run_date < $cutoff and (" + " or ".join(f"{c} is not null" for c in cols) + ")",
                params={"cutoff": cutoff})
            counts[table] = int(rel.fetchall()[0][0]) if rel is not None else 0
        con.sql("commit")
        con.sql("checkpoint")
    finally:
        con.close()
    return counts


def drop_run_files(workdir: Path | str, run_date: str, *, audit_log: AuditLog | None = None,
                   actor: str | None = None) -> dict:
    """Delete one run's raw and staged Parquet (plain ID and account numbers) once it is loaded and protected.

    For deployments that keep no plain copies beyond the run: call it after the
    step that protects the working database has committed.  Manifests and
    statuses (hashes, counts) stay; re-running the date re-reads the inbox.
    The deletion is logged (`purge`).  Returns {"run_folders", "run_files", "run_bytes"}.
    """
    audit_log = audit_log or AuditLog(default_log_path(workdir))
    audit_log.check_tail()  # the deletion's record can be written before anything is deleted (see `purge`)
    run = Path(workdir) / "runs" / str(run_date)
    counts = {"run_date": str(run_date), "run_folders": 0, "run_files": 0, "run_bytes": 0}
    for kind in sorted(run.iterdir()) if run.is_dir() else []:
        if kind.name in RUN_KINDS or kind.name.startswith("quarantine"):
            files, size = _remove(kind)
            counts["run_folders"] += 1
            counts["run_files"] += files
            counts["run_bytes"] += size
    audit_log.append(
        actor=actor, action="purge", subject=f"批次 {run_date} 入库后删除原始与暂存文件", details=counts)
    return counts


def purge(workdir: Path | str, inbox: Path | str | None, older_than_days: int, today: dt.date | str, *,
          audit_log: AuditLog | None = None, database: Path | str | None = None, actor: str | None = None) -> dict:
    """Purge raw deliveries and staged raw values of dates more than `older_than_days` before `today`.

    `today` is the logical date (a date or YYYYMMDD), never read from the clock.
    `audit_log` defaults to `<workdir>/audit/audit_log.jsonl`; `database` to
    `<workdir>/hedui.duckdb` (skipped when absent).  Returns the counts also
    written to the audit log's `purge` entry.

    Raises ConfigError when `older_than_days` is not 1..MAX_RETENTION_DAYS or `inbox` is the working
    folder, and RetentionError when the working database is held by another process.
    """
    if not 1 <= int(older_than_days) <= MAX_RETENTION_DAYS:
        raise ConfigError(f"保留天数 {older_than_days} 无效：应为 1 到 {MAX_RETENTION_DAYS} 之间的整数")
    if inbox is not None and not Path(inbox).is_dir():  # a typo purged nothing of it and said "交付目录 0 个", exit 0
        raise ConfigError(f"--inbox {inbox} 不存在或不是目录：未删除任何文件。请给出各部门交付数据的收件箱路径"
                          "（只清除工作目录中的批次文件时省略 --inbox）")
    if inbox is not None and Path(inbox).resolve() == Path(workdir).resolve():
        # its reports/<date> and runs/<date> (manifests: the inputs' hashes) would be taken for old deliveries
        raise ConfigError(f"--inbox {inbox} 就是工作目录：工作目录中的报告与批次记录会被当作过期交付删除，"
                          "未删除任何文件；--inbox 应为各部门交付数据的收件箱")
    from hedui.workdir import writer_lock

    audit_log = audit_log or AuditLog(default_log_path(workdir))
    with writer_lock(workdir, "purge"):
        # its record can be written (the keys set, the log intact) before anything is deleted: a purge run without
        # the keys deleted every old delivery, then failed to say so in the audit log
        audit_log.check_tail()
        return _purge(Path(workdir), inbox, older_than_days, today, audit_log=audit_log, database=database,
                      actor=actor)


def _purge(workdir: Path, inbox, older_than_days: int, today, *, audit_log, database, actor) -> dict:
    from hedui.workdir import clean_leftovers

    cutoff = _as_date(today) - dt.timedelta(days=int(older_than_days))
    cutoff_s = cutoff.strftime("%Y%m%d")
    counts: dict = {"cutoff": cutoff_s, "older_than_days": int(older_than_days),
                    "inbox_folders": 0, "inbox_files": 0, "inbox_bytes": 0,
                    "run_folders": 0, "run_files": 0, "run_bytes": 0, "database_rows": {}}
    counts["future_folders"] = future_folders(inbox, _as_date(today).strftime("%Y%m%d"))
    counts["leftovers"] = clean_leftovers(workdir)  # what killed runs left (report parts, spill, half-written)
    if inbox is not None:
        inbox = Path(inbox)
        for source in sorted(p for p in inbox.iterdir() if p.is_dir() and not p.is_symlink()) if inbox.is_dir() else []:
            for d in _old_date_dirs(source, cutoff):
                files, size = _remove(d)
                counts["inbox_folders"] += 1
                counts["inbox_files"] += files
                counts["inbox_bytes"] += size
    for run in _old_date_dirs(workdir / "runs", cutoff):
        for kind in sorted(run.iterdir()):
            if kind.name in RUN_KINDS or kind.name.startswith("quarantine"):
                files, size = _remove(kind)
                counts["run_folders"] += 1
                counts["run_files"] += files
                counts["run_bytes"] += size
    counts["database_rows"] = _purge_database(Path(database) if database else workdir / "hedui.duckdb", cutoff_s)
    audit_log.append(
        actor=actor, action="purge", subject=f"原始数据保留 {int(older_than_days)} 天：清除 {cutoff_s} 之前的交付与暂存原始值",
        details=counts)
    log.info("purged raw data before %s: %s", cutoff_s, counts)
    return counts


def latest_known_date(workdir: Path | str, inbox: Path | str | None, not_after: str | None = None) -> str | None:
    """The latest date the working folder ran (`runs/<date>`) or the inbox holds a delivery of, `not_after` or
    before: a folder dated after it (a department's typo, 20371128) says nothing about whether it is right."""
    parents = [Path(workdir) / "runs"]
    if inbox is not None and Path(inbox).is_dir():
        parents += [p for p in Path(inbox).iterdir() if p.is_dir() and not p.is_symlink()]
    dates = [d.name for parent in parents if parent.is_dir() for d in parent.iterdir() if _is_date(d.name)]
    return max((d for d in dates if not_after is None or d <= not_after), default=None)


def future_folders(inbox: Path | str | None, today: str) -> list[str]:
    """The inbox's delivery folders (``<source>/<date>``) dated after `today`: never older than any retention
    period, so never purged — a mistyped date whose personal data would stay for ever unless someone looks."""
    if inbox is None or not Path(inbox).is_dir():
        return []
    return sorted(f"{s.name}/{d.name}" for s in Path(inbox).iterdir() if s.is_dir() and not s.is_symlink()
                  for d in s.iterdir() if _is_date(d.name) and d.name > today and d.is_dir())


def _is_date(name: str) -> bool:
    """A folder name that is a calendar date YYYYMMDD (a folder "20261399" or "２０２６１２０１" is no run's)."""
    if not _DATE.fullmatch(name):
        return False
    try:
        dt.datetime.strptime(name, "%Y%m%d")
    except ValueError:
        return False
    return True


def check_today(workdir: Path | str, inbox: Path | str | None, days: int, today: str) -> None:
    """Refuse a --today whose cut-off passes every date known (a typo of the year, 20361128): the purge would
    delete the raw data of every run, the latest included, which re-checks and objections still need."""
    latest = latest_known_date(workdir, inbox, not_after=_as_date(today).strftime("%Y%m%d"))
    if latest is None:
        return
    cutoff = (_as_date(today) - dt.timedelta(days=int(days))).strftime("%Y%m%d")
    if cutoff > latest:
        raise ConfigError(
            f"--today {today} 晚于已知最近的批次或交付日期 {latest} 超过保留天数 {int(days)} 天：按此日期会清除全部"
            f"批次（包括最近的 {latest}）的原始数据，未删除任何文件。请检查 --today 是否写错（应为今天的日期）；"
            "如确需清除全部原始数据（例如系统停用），请加 --including-latest")


def cli_purge(args) -> int:
    """`hedui purge --workdir W [--inbox I] [--days N] --today YYYYMMDD`: run `purge`, print the counts."""
    import sys

    from hedui.cli_args import existing_workdir
    from hedui.ops.business_date import parse_business_date

    days = args.days if args.days is not None else retention_days()
    today = parse_business_date(args.today, "--today")
    workdir = existing_workdir(args.workdir, "purge")
    if not args.including_latest:
        check_today(workdir, args.inbox, days, today)
    counts = purge(workdir, args.inbox, days, today)
    sys.stdout.write(
        f"已清除 {counts['cutoff']} 之前的原始数据：交付目录 {counts['inbox_folders']} 个（{counts['inbox_files']} 个文件），"
        f"批次文件目录 {counts['run_folders']} 个，数据库原始值 {sum(counts['database_rows'].values())} 行，"
        f"中断遗留文件 {counts['leftovers']['files']} 个。"
        f"报告、结论、哈希与审计日志均保留。\n")
    if counts["future_folders"]:
        shown = "、".join(counts["future_folders"][:10]) + ("等" if len(counts["future_folders"]) > 10 else "")
        sys.stdout.write(f"注意：收件箱中有 {len(counts['future_folders'])} 个交付目录的日期晚于 --today {today}（{shown}），"
                         "永远不会到期，未清除：请核实其日期是否写错，改正后再清除或重新交付。\n")
    return 0


def add_purge_command(subparsers) -> None:
    """Register `hedui purge` on the CLI's subparsers."""
    from hedui.cli_args import int_in

    p = subparsers.add_parser("purge", help="delete raw deliveries and staged raw values older than the retention period")
    p.add_argument("--workdir", required=True)
    p.add_argument("--inbox", help="the inbox whose old delivery folders to delete")
    p.add_argument("--days", type=int_in(1, MAX_RETENTION_DAYS, "保留天数"),
                   help=f"days to keep (default ${ENV_RETENTION_DAYS} or {DEFAULT_RETENTION_DAYS})")
    p.add_argument("--today", required=True, help="the logical date YYYYMMDD the age is counted from")
    p.add_argument("--including-latest", action="store_true",
                   help="确认清除全部原始数据，包括最近一个批次的（--today 晚于已知最近日期超过保留天数时需要）")
    p.set_defaults(func=cli_purge)
