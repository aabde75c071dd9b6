"""Audit: the query ledger, the hash-chained audit log, the auditor database and `hedui audit`.

- `write_query_ledger` — one row per lookup of an authorized member's records in a source;
  `check_authorization_gate` — raises if a link reaches a member without an authorization.
- `AuditLog` (from `hedui.audit.log`, re-exported) — the hash-chained log of runs,
  renders, exports, review decisions, unmasked views and purges.
- `publish_audit_db` — a separate DuckDB file holding only masked or pseudonymized
  data (runs, input files with SHA-256, outcomes, findings with citations,
  quarantine counts, review decisions, the query ledger and the audit log),
  written to a temporary file and swapped in atomically.
- `open_auditor` — that file read-only, external access disabled, configuration locked.
- `scan_for_personal_data` (from `hedui.privacy.scan`, re-exported) — finds full ID / account numbers in outputs.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
import os
import re
import subprocess
import sys
import time
import unicodedata
from collections.abc import Callable, Iterable
from pathlib import Path

import duckdb
import pyarrow as pa

from hedui import db
from hedui.audit.log import (
    ACTIONS,
    GENESIS,
    AuditError,
    AuditLog,
    LogProblem,
    _now,
    default_actor,
    mask_free_text,
)
from hedui.errors import HeduiError
from hedui.privacy.keys import PSEUDONYM_PREFIX, Keys, load_keys
from hedui.privacy.scan import scan_for_personal_data
from hedui.resources import checkout_root

log = logging.getLogger(__name__)

AUDIT_DIR = "audit"
AUDIT_DB_NAME = "hedui_audit.duckdb"
AUDIT_LOG_NAME = "audit_log.jsonl"
__all__ = ["ACTIONS", "GENESIS", "AuditError", "AuditLog", "AuthorizationError", "LogProblem", "add_audit_commands",
           "check_authorization_gate", "cli_audit", "cli_audit_verify", "default_audit_db", "default_log_path",
           "mask_free_text", "open_auditor", "publish_audit_db", "scan_for_personal_data", "write_query_ledger"]


class AuthorizationError(HeduiError):
    """A member without an authorization on file was looked up."""


def default_log_path(workdir: Path | str) -> Path:
    """`<workdir>/audit/audit_log.jsonl` — kept by retention."""
    return Path(workdir) / AUDIT_DIR / AUDIT_LOG_NAME


def default_audit_db(workdir: Path | str) -> Path:
    """`<workdir>/audit/hedui_audit.duckdb` — the auditor database."""
    return Path(workdir) / AUDIT_DIR / AUDIT_DB_NAME


# -- query ledger and the authorization gate -----------------------------------------------


def write_query_ledger(con: duckdb.DuckDBPyConnection, run_date: str, *, run_id: str | None = None,
                       queried_at: dt.datetime | None = None) -> int:
    """Replace the run's rows of `query_ledger`: one per authorized member per source looked up.

    Reads `stg_requests` and `source_status`; run it in the link step's
    transaction, after `protect_table` so that `member_pseudonym` is a pseudonym.
    Returns the row count.
    """
    con.sql(db.sql_text("publish/schema.sql"))
    return db.replace_model(con, "query_ledger", "publish/query_ledger.sql", run_date,
                            run_id=run_id or f"hedui-{run_date}", queried_at=queried_at or _now())


def check_authorization_gate(con: duckdb.DuckDBPyConnection, run_date: str) -> None:
    """Raise AuthorizationError if a link of the run reaches a member without an authorization on file."""
    bad = db.query(con, "publish/unauthorized_links.sql", run_date=run_date).fetchall()
    if bad:
        sample = "；".join(f"{r} {s} {rec}" for r, s, rec in bad[:5])
        raise AuthorizationError(f"有 {len(bad)} 条记录关联到未签署授权书的成员（先授权后核对）：{sample}")


# -- the auditor database ---------------------------------------------------------------------

AUDITOR_TABLES = ("runs", "input_files", "source_status", "reconciliation", "households", "members",
                  "figures", "outcomes", "findings", "evidence", "quarantine_counts", "previous_verification",
                  "changes", "query_ledger", "audit_anchors")
OPTIONAL_TABLES = ("review_queue",)  # published when the working database has them
PSEUDONYM_COLUMNS = {"review_queue": "member_pseudonym", "members": "member_pseudonym", "findings": "member_pseudonym",
                     "evidence": "member_pseudonym", "changes": "member_pseudonym",
                     "query_ledger": "member_pseudonym"}
_DENY_COLUMNS = re.compile(r"^(id_number|name|account_no|securities_account|policy_no|.*_token)$")
_MEMBER_ID_COLUMNS = ("member_id", "member_pseudonym", "applicant_id", "id_norm")
_UNMASKED_ID_SQL = r"(^|[^0-9A-Za-z])[0-9]{17}[0-9Xx]([^0-9A-Za-z]|$)"


def describe_code_version() -> str:
    """`git describe --always --dirty` of the checkout, else the installed package version."""
    if checkout_root() is None:  # an installed wheel: its version, never a surrounding repository's
        from importlib.metadata import version

        return version("hedui")
    with contextlib.suppress(Exception):
        out = subprocess.run(["git", "describe", "--always", "--dirty", "--tags"], cwd=checkout_root(),
                             capture_output=True, text=True, timeout=5, check=True).stdout.strip()
        if out:
            return out
    with contextlib.suppress(Exception):
        from importlib.metadata import version

        return version("hedui")
    return "unknown"


def policy_files() -> dict[str, str]:
    """{policy file name: SHA-256} of hedui/policies/*.yaml."""
    from hedui.steps.policy import POLICY_DIR

    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(POLICY_DIR.glob("*.yaml"))}


def _register_mask_udf(con: duckdb.DuckDBPyConnection, names: Iterable[str] = ()) -> None:
    """`hd_audit_mask(text)`: ID/account-like numbers masked, and every name of `names` as 张*."""
    from hedui.privacy.masking import NameMasker

    mask_names = NameMasker(names)

    def udf(arr: pa.Array) -> pa.Array:
        return pa.array([mask_names(mask_free_text(v)) for v in arr.to_pylist()], type=pa.string())

    with contextlib.suppress(duckdb.CatalogException, duckdb.InvalidInputException):
        con.remove_function("hd_audit_mask")
    con.create_function("hd_audit_mask", udf, [duckdb.sqltype("VARCHAR")], duckdb.sqltype("VARCHAR"),
                        type="arrow", null_handling="special")


def _columns(con, table: str) -> dict[str, str]:
    return {r[0]: r[1] for r in con.sql(f"describe {table}").fetchall()}


def _quote_path(p: Path) -> str:
    return "'" + str(p).replace("'", "''") + "'"


def _ensure_pseudonyms(con, table: str, column: str, keys: Callable[[], Keys]) -> int:
    """Pseudonymize any value of `table.column` that is not yet a pseudonym (a safety net)."""
    n = con.sql(f"select count(*) from {table} where {column} is not null "
                f"and not starts_with({column}, '{PSEUDONYM_PREFIX}')").fetchall()[0][0]
    if n:
        from hedui.privacy.protect import protect_table

        protect_table(con, table, keys=keys(), id_columns=(column,), raw_id_columns=(), masked_id_column=None)
    return n


def _review_decisions_sql(con) -> str | None:
    if not db.table_exists(con, "review_decisions"):
        return None
    parts = []
    for col, typ in _columns(con, "review_decisions").items():
        if _DENY_COLUMNS.match(col):
            continue
        q = '"' + col.replace('"', '""') + '"'
        parts.append(f"hd_audit_mask({q}) as {q}" if typ == "VARCHAR" and "hash" not in col else q)
    return "select " + ", ".join(parts) + " from review_decisions"


def publish_audit_db(workdir_db_path: Path | str, audit_db_path: Path | str, run_date: str, *,
                     code_version: str | None = None, policy_versions: Iterable[str] | None = None,
                     audit_log: AuditLog | None = None, run_id: str | None = None,
                     started_at: dt.datetime | None = None, finished_at: dt.datetime | None = None,
                     keys: Keys | None = None) -> dict:
    """Publish the auditor database (all runs of the working database) after run `run_date`; return counts.

    Records the run (code version — default `describe_code_version()` —, policy versions —
    default the policy ids the run's households used —, policy file hashes,
    times) in the working database's `audit_runs`, anchors the audit log's head
    in `audit_anchors`, then writes every table of `AUDITOR_TABLES` (plus
    `review_decisions` when the working database has it, and `access_log`, the
    audit log's entries) to a temporary file that replaces `audit_db_path`
    atomically.  Member ids not yet pseudonymized are pseudonymized (keys loaded
    only then); free text is masked.  Needs the working database not held by
    another process.

    A broken audit log does not stop the publication: its problems are in
    `access_log_check` for the auditors (and `hedui audit verify` fails).

    Raises AuditError when an unmasked ID number would reach the auditor
    database (nothing is published and the run's record is left as it was),
    and ConfigError when keys are needed and missing.
    """
    audit_db_path = Path(audit_db_path)
    audit_db_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = audit_db_path.with_name(f".{audit_db_path.name}.{os.getpid()}.tmp")
    for p in (tmp, Path(str(tmp) + ".wal")):
        p.unlink(missing_ok=True)
    key_cache: list[Keys] = [keys] if keys else []

    def get_keys() -> Keys:
        if not key_cache:
            key_cache.append(load_keys())
        return key_cache[0]

    entries = audit_log.entries() if audit_log else []
    problems = audit_log.verify() if audit_log else []
    if problems:
        log.warning("the audit log has %d problem(s), first: %s", len(problems), problems[0])
    published_at = _now()
    workdir_db_path = Path(workdir_db_path)
    con = db.connect(workdir_db_path, threads=int(os.environ.get("HEDUI_THREADS", "2")),
                     memory_limit=os.environ.get("HEDUI_MEMORY_LIMIT", "4GB"),
                     temp_directory=workdir_db_path.parent / "tmp")
    con.sql("set preserve_insertion_order = false")  # every auditor table says its own order by
    counts: dict[str, int] = {}
    before: dict[str, list] = {}
    try:
        con.sql(db.sql_text("publish/schema.sql"))
        # the auditors see names only as 张*: every requested member's name is masked in free text too
        _register_mask_udf(con, [r[0] for r in con.sql(
            "select distinct trim(name) from stg_requests where name is not null").fetchall()]
            if db.table_exists(con, "stg_requests") else ())
        if policy_versions is None:
            policy_versions = [r[0] for r in con.sql(
                "select distinct policy_id from households where run_date = ? and policy_id is not null "
                "order by 1", params=[run_date]).fetchall()] if db.table_exists(con, "households") else []
        before = {t: con.execute(f"select * from {t} where run_date = ?", [run_date]).fetchall()
                  for t in ("audit_runs", "audit_anchors")}
        con.sql("begin transaction")
        con.execute("delete from audit_runs where run_date = ?", [run_date])
        con.execute("insert into audit_runs values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [run_date, run_id or f"hedui-{run_date}", code_version or describe_code_version(),
                     list(policy_versions), json.dumps(policy_files()), started_at, finished_at,
                     published_at, default_actor()])
        if audit_log:
            seq, h = audit_log.head()
            con.execute("delete from audit_anchors where run_date = ?", [run_date])
            con.execute("insert into audit_anchors values (?, ?, ?, ?)", [run_date, seq, h, published_at])
        con.sql("commit")

        req_cols = _columns(con, "stg_requests")
        masked = ("coalesce(id_masked, hd_mask_id(case when id_norm not like 'p1:%' then id_norm end))"
                  if "id_masked" in req_cols else "hd_mask_id(coalesce(id_norm, id_number))")
        con.sql(f"create or replace temp view _hd_requests as select *, {masked} as _id_masked from stg_requests")
        con.sql(f"attach {_quote_path(tmp)} as auditor")
        try:
            for table in AUDITOR_TABLES + OPTIONAL_TABLES:
                sql = db.sql_text(f"publish/auditor_{table}.sql")
                if table in OPTIONAL_TABLES and not db.table_exists(con, table):
                    continue
                t = time.perf_counter()
                con.sql(f"create table auditor.{table} as {sql}")
                log.debug("auditor table %s: %.1f s", table, time.perf_counter() - t)
            review = _review_decisions_sql(con)
            if review:
                con.sql(f"create table auditor.review_decisions as {review}")
                for column in set(_MEMBER_ID_COLUMNS) & set(_columns(con, "auditor.review_decisions")):
                    _ensure_pseudonyms(con, "auditor.review_decisions", column, get_keys)
            con.register("_hd_log", pa.Table.from_pylist(
                [{**e, "details": json.dumps(e.get("details"), ensure_ascii=False, sort_keys=True)} for e in entries],
                schema=pa.schema([("seq", pa.int64()), ("time", pa.string()), ("actor", pa.string()),
                                  ("action", pa.string()), ("subject", pa.string()), ("details", pa.string()),
                                  ("prev_hash", pa.string()), ("hash", pa.string())])))
            con.sql("create table auditor.access_log as select seq, cast(time as timestamptz) as time, actor, action, "
                    "hd_audit_mask(subject) as subject, hd_audit_mask(details) as details, prev_hash, hash "
                    "from _hd_log order by seq")
            con.unregister("_hd_log")
            con.sql("create table auditor.access_log_check as select * from (values (?, ?, ?, ?)) "
                    "t(checked_at, n_entries, n_problems, first_problem_zh)",
                    params=[published_at, len(entries), len(problems), str(problems[0]) if problems else None])
            published = {r[0] for r in con.sql("select table_name from duckdb_tables() "
                                               "where database_name = 'auditor'").fetchall()}
            for table, column in PSEUDONYM_COLUMNS.items():
                if table in published:
                    _ensure_pseudonyms(con, f"auditor.{table}", column, get_keys)
            _guard_unmasked(con)
            for table in sorted(published | {"access_log"}):
                counts[table] = con.sql(f"select count(*) from auditor.{table}").fetchall()[0][0]
            from hedui.audit.catalog import write_catalog

            write_catalog(con, "auditor")
            con.sql("checkpoint auditor")
        finally:
            con.sql("detach auditor")
    except BaseException:
        tmp.unlink(missing_ok=True)
        with contextlib.suppress(Exception):  # the run stays recorded as it was before this attempt
            con.sql("begin transaction")
            for table, rows in before.items():
                con.execute(f"delete from {table} where run_date = ?", [run_date])
                for row in rows:
                    con.execute(f"insert into {table} values ({', '.join('?' * len(row))})", list(row))
            con.sql("commit")
        raise
    finally:
        con.close()
    os.replace(tmp, audit_db_path)
    audit_db_path.chmod(0o600)  # masked, but still about households: the service user only
    _fsync_dir(audit_db_path.parent)
    log.info("published the auditor database %s (%s)", audit_db_path, counts)
    return {"path": str(audit_db_path), "tables": counts, "log_problems": len(problems)}


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _guard_unmasked(con) -> None:
    """Refuse to publish when any text column of the auditor database holds an unmasked ID number."""
    rows = con.sql("select table_name, column_name from duckdb_columns() where database_name = 'auditor' "
                   "and data_type = 'VARCHAR' and column_name not like '%hash%' and column_name <> 'sha256'"
                   ).fetchall()
    for table, column in rows:
        q = '"' + column.replace('"', '""') + '"'
        n = con.sql(f"select count(*) from auditor.{table} where regexp_matches({q}, ?)",
                    params=[_UNMASKED_ID_SQL]).fetchall()[0][0]
        if n:
            raise AuditError(f"审计库发布中止：{table}.{column} 中有 {n} 个未遮蔽的身份证号")


ENV_AUDIT_MEMORY_LIMIT = "HEDUI_AUDIT_MEMORY_LIMIT"
ENV_AUDIT_TEMP_LIMIT = "HEDUI_AUDIT_TEMP_LIMIT"
ENV_AUDIT_TIMEOUT = "HEDUI_AUDIT_TIMEOUT_S"


def auditor_limits(environ: dict[str, str] | None = None) -> dict:
    """The auditor connection's limits: memory, temp (spill) space, seconds per statement.

    From `HEDUI_AUDIT_MEMORY_LIMIT` (default 2GB), `HEDUI_AUDIT_TEMP_LIMIT`
    (default 2GB) and `HEDUI_AUDIT_TIMEOUT_S` (default 300).  Raises ConfigError on a bad timeout.
    """
    from hedui.errors import ConfigError

    env = os.environ if environ is None else environ
    text = env.get(ENV_AUDIT_TIMEOUT, "300")
    try:
        timeout = float(text)
    except ValueError:
        timeout = 0.0
    if timeout <= 0:
        raise ConfigError(f"{ENV_AUDIT_TIMEOUT}={text!r} 无效：应为正数（每条查询最多运行的秒数）")
    return {"memory_limit": env.get(ENV_AUDIT_MEMORY_LIMIT, "2GB"),
            "max_temp_directory_size": env.get(ENV_AUDIT_TEMP_LIMIT, "2GB"), "timeout_s": timeout}


def open_auditor(audit_db_path: Path | str, *, memory_limit: str | None = None,
                 max_temp_directory_size: str | None = None) -> duckdb.DuckDBPyConnection:
    """The auditor database read-only, with external access disabled and configuration locked.

    The connection cannot write, read or write other files, attach databases,
    load extensions or change settings (it may make temporary in-memory tables).
    Memory and spill space are capped (`auditor_limits`); statement time is
    capped by `run_limited`.  Raises AuditError when the file does not exist.
    """
    path = Path(audit_db_path)
    if not path.is_file():
        raise AuditError(f"审计库 {path} 不存在：请先完成一次核对批次（发布审计库）")
    limits = auditor_limits()
    config = {"threads": 2, "memory_limit": memory_limit or limits["memory_limit"],
              "max_temp_directory_size": max_temp_directory_size or limits["max_temp_directory_size"],
              "enable_external_access": False,
              "autoinstall_known_extensions": False, "autoload_known_extensions": False}
    con = duckdb.connect(str(path), read_only=True, config=config)
    con.sql("set enable_progress_bar = false")  # a local option: set it, then lock everything
    con.sql("set lock_configuration = true")
    return con


# -- the `hedui audit` command ----------------------------------------------------------------


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
    cells = [[_cell(c, v, t) for c, v, t in zip(cols, r, types, strict=True)] for r in rows[:max_rows]]
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
        raise AuditError(f"查询失败：{mask_free_text(str(exc))}") from None
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
                raise AuditError(f"查询失败：{mask_free_text(str(exc))}") from None


def cli_audit(args) -> int:
    """`hedui audit [--workdir W | --db F] [-c SQL] [--csv]`: query the auditor database; output masked.

    Without -c, reads SQL statements from standard input (an `审计>` prompt on a terminal).
    """
    con = open_auditor(_audit_db_arg(args))
    try:
        opts = {"csv_out": bool(getattr(args, "csv", False)), "max_rows": int(getattr(args, "max_rows", 1000)),
                "timeout_s": getattr(args, "timeout", None)}
        if getattr(args, "sql", None):
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

    a = subparsers.add_parser("audit", help="query the auditor database (read-only, masked); "
                                            "`audit verify` checks the audit log's hash chain")
    a.add_argument("--workdir", help="working folder (default $HEDUI_WORKDIR)")
    a.add_argument("--db", help="the auditor database file (default WORKDIR/audit/hedui_audit.duckdb)")
    a.add_argument("-c", "--command", dest="sql", help="SQL to run (default: read statements from stdin)")
    a.add_argument("--csv", action="store_true", help="print CSV instead of a table")
    a.add_argument("--max-rows", type=int, default=1000)
    a.add_argument("--timeout", type=float, help=f"seconds per statement (default ${ENV_AUDIT_TIMEOUT} or 300)")
    a.set_defaults(func=cli_audit)
    sub = a.add_subparsers(dest="audit_command")
    v = sub.add_parser("verify", help="check the audit log: changed, removed or reordered entries")
    v.add_argument("--workdir", default=argparse.SUPPRESS)
    v.add_argument("--log", help="the audit log (default WORKDIR/audit/audit_log.jsonl)")
    v.add_argument("--db", default=argparse.SUPPRESS, help="auditor database whose anchors to check")
    v.set_defaults(func=cli_audit_verify)
