"""Publication: the run's auditor database, masked and pseudonymized, written apart and swapped in atomically."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
import os
import re
import subprocess
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import duckdb
import pyarrow as pa

from hedui import db
from hedui.audit.log import (
    AuditError,
    AuditLog,
    _now,
    default_actor,
    mask_free_text,
)
from hedui.privacy.keys import PSEUDONYM_PREFIX, Keys, load_keys
from hedui.resources import checkout_root

log = logging.getLogger(__name__)


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
    from hedui.settings import settings

    con = db.connect(workdir_db_path, threads=settings().threads, memory_limit=settings().memory_limit,
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
