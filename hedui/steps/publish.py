"""Publication: the run's auditor database, masked and pseudonymized, written apart and swapped in atomically.

Incremental per run date: the published file is copied, only the run date's
rows of each per-run table are replaced in the copy (the small tables that are
not per run — the review decisions, the audit log, the catalog — are written
whole), and the copy replaces the published file with `os.replace`, so an
auditor never sees a half-written file.  The table `publication` keeps a
digest per table of what defines it (its SQL, the macros, its columns and
types, the pseudonym key's fingerprint, `PUBLICATION_FORMAT`); the file is
rebuilt whole when there is none yet, when any digest changed, or when asked
(`full=True`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import duckdb
import pyarrow as pa

from hedui import db
from hedui.audit.ledger import ensure_query_ledger
from hedui.audit.log import (
    AuditError,
    AuditLog,
    _now,
    default_actor,
    mask_free_text,
)
from hedui.ops.killpoint import kill_point
from hedui.privacy.keys import PSEUDONYM_PREFIX, Keys, load_keys
from hedui.resources import checkout_root
from hedui.settings import REQUESTS, sources

log = logging.getLogger(__name__)


AUDITOR_TABLES = ("runs", "input_files", "source_status", "reconciliation", "households", "members",
                  "figures", "outcomes", "findings", "evidence", "quarantine_counts", "previous_verification",
                  "changes", "query_ledger", "audit_anchors", "outcome_history")

OPTIONAL_TABLES = ("review_queue",)  # published when the working database has them

PUBLICATION_FORMAT = 1  # raise it when publication changes in a way the digests do not see (masking code…)

PUBLICATION_TABLE = "publication"

_BEFORE = "_hd_before_"  # a temp table of a working table's rows of the run as before this publication

#: how the per-run auditor tables store their text columns, chosen here rather than by DuckDB's analysis of
#: every method on every column at commit (hedui.db.create_table_like): a record ID is new on every row (zstd),
#: the other texts repeat (dictionary + FSST). At tenth, evidence written in 0.84 instead of 1.05 CPU-s, and
#: stored in 21 instead of 32 MB
AUDITOR_COMPRESSION = {"record_id": "zstd", "member_record_id": "zstd"}

PSEUDONYM_COLUMNS = {"review_queue": "member_pseudonym", "members": "member_pseudonym", "findings": "member_pseudonym",
                     "evidence": "member_pseudonym", "changes": "member_pseudonym",
                     "query_ledger": "member_pseudonym"}

_DENY_COLUMNS = re.compile(r"^(id_number|name|account_no|securities_account|policy_no|.*_token)$")

_MEMBER_ID_COLUMNS = ("member_id", "member_pseudonym", "applicant_id", "id_norm")

_UNMASKED_ID_SQL = r"(^|[^0-9A-Za-z])[0-9]{17}[0-9Xx]([^0-9A-Za-z]|$)"

_ID_LENGTH = 18  # the characters `_UNMASKED_ID_SQL` needs at least


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
    """{policy file name: SHA-256} of the policy files the run reads (.yaml and .yml, as loaded)."""
    from hedui.steps.policy import policy_dir
    from hedui.steps.policy_yaml import policy_paths

    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in policy_paths(policy_dir())}


def _register_mask_udf(con: duckdb.DuckDBPyConnection, names: Iterable[str] = ()) -> None:
    """`hd_audit_mask(text)`: ID/account-like numbers masked, and every name of `names` as 张*."""
    from hedui.privacy.masking import NameMasker

    mask_names = _candidates_only(NameMasker(names))

    @functools.lru_cache(maxsize=200_000)  # the same text masks the same way: many findings share their wording
    def mask(v: str | None) -> str | None:
        return mask_names(mask_free_text(v))

    def udf(arr: pa.Array | pa.ChunkedArray) -> pa.Array:
        if isinstance(arr, pa.ChunkedArray):
            arr = arr.combine_chunks()
        if not isinstance(arr, pa.DictionaryArray):
            arr = arr.dictionary_encode()  # each distinct text masked once, then put back in place
        masked = pa.array([mask(v) for v in arr.dictionary.to_pylist()], type=pa.string())
        return masked.take(arr.indices)

    with contextlib.suppress(duckdb.CatalogException, duckdb.InvalidInputException):
        con.remove_function("hd_audit_mask")
    con.create_function("hd_audit_mask", udf, [duckdb.sqltype("VARCHAR")], duckdb.sqltype("VARCHAR"),
                        type="arrow", null_handling="special")


def _candidates_only(masker) -> Callable[[str | None], str | None]:
    """`masker` (a `NameMasker`) tried only where a name can start: at a first character of a name.

    The same result as `masker(text)` (a name begins with its first character,
    so no other position can match), found by one regex scan in C instead of a
    Python step per character.
    """
    names, lengths = masker.names, masker.lengths
    if not names:
        return masker
    starts = re.compile("[" + "".join(re.escape(c) for c in sorted({n[0] for n in names})) + "]")

    def mask(text: str | None) -> str | None:
        if not text:
            return text
        out, done = [], 0  # text[:done] is written to out
        for m in starts.finditer(text):
            i = m.start()
            if i < done:
                continue
            for length in lengths:
                if text[i:i + length] in names:
                    out += (text[done:i], text[i], "*")
                    done = i + length
                    break
        if not out:
            return text
        out.append(text[done:])
        return "".join(out)

    return mask


def _columns(con, table: str) -> dict[str, str]:
    return {r[0]: r[1] for r in con.sql(f"describe {table}").fetchall()}


def _quote_path(p: Path) -> str:
    return "'" + str(p).replace("'", "''") + "'"


def _ensure_pseudonyms(con, table: str, column: str, keys: Callable[[], Keys], run_date: str | None = None) -> int:
    """Pseudonymize any value of `table.column` (of `run_date`'s rows when given) not yet a pseudonym (a safety net)."""
    n = con.sql(f"select count(*) from {table} where {column} is not null "
                f"and not starts_with({column}, '{PSEUDONYM_PREFIX}')" + (" and run_date = $d" if run_date else ""),
                params={"d": run_date} if run_date else None).fetchall()[0][0]
    if n:
        from hedui.privacy.protect import protect_table

        protect_table(con, table, keys=keys(), id_columns=(column,), raw_id_columns=(), masked_id_column=None)
    return n


def evidence_parts() -> list[str]:
    """`auditor_evidence.sql` once per department's source, and once for the links of no source.

    Each source's links are joined to that source's staged records and figure
    lineage only (a record ID begins with its source), so no join holds all
    links against all records; together (`union all`) the same rows as one join
    against `source_records`.  Publication runs them one by one: a join's hash
    tables are one source's, not every source's at once.
    """
    template = db.sql_text("publish/auditor_evidence.sql")
    prefixes = {s: "'" + f"{s}:".replace("'", "''") + "'" for s in sources() if s != REQUESTS}
    parts = [template.format(records=f"stg_{s}", of_source=f"starts_with(record_id, {p})")
             for s, p in prefixes.items()]
    parts.append(template.format(  # links whose record ID names no source: no record to join
        records="(select * from source_records limit 0)",
        of_source="not coalesce(" + " or ".join(f"starts_with(record_id, {p})" for p in prefixes.values())
                  + ", false)"))
    return parts


def _links_of_their_source(con) -> bool:
    """True when every link's record ID begins with its own department source (``source:``): then the last part of
    `evidence_parts` (links of no source) has no rows and is not run (≈ 0.2 CPU-s at tenth; this check ≈ 0.03)."""
    departments = [s for s in sources() if s != REQUESTS]
    return not con.sql("select exists (select 1 from links where record_id is null or source is null "
                       "or not list_contains($d, source) or not starts_with(record_id, source || ':'))",
                       params={"d": departments}).fetchall()[0][0]


def _union(parts: list[str]) -> str:
    return "\nunion all\n".join(f"({part})" for part in parts)


def _review_decisions_sql(con) -> str | None:
    if not db.table_exists(con, "review_decisions"):
        return None
    parts = []
    for col, typ in _columns(con, "review_decisions").items():
        if _DENY_COLUMNS.match(col):
            continue
        q = '"' + col.replace('"', '""') + '"'
        parts.append(f"hd_audit_mask({q}) as {q}" if typ == "VARCHAR" and "hash" not in col else q)
    if {"decision_key", "decided_at"} <= set(_columns(con, "review_decisions")):  # a later decision replaces it
        parts += ["lead(decided_at) over (partition by decision_key order by decided_at) as superseded_at",
                  "decided_at < max(decided_at) over (partition by decision_key) as is_superseded"]
    return "select " + ", ".join(parts) + " from review_decisions"


def publish_audit_db(workdir_db_path: Path | str, audit_db_path: Path | str, run_date: str, *,
                     code_version: str | None = None, policy_versions: Iterable[str] | None = None,
                     audit_log: AuditLog | None = None, run_id: str | None = None,
                     started_at: dt.datetime | None = None, finished_at: dt.datetime | None = None,
                     keys: Keys | None = None, full: bool = False) -> dict:
    """Publish the auditor database (all runs of the working database) after run `run_date`; return counts.

    Records the run (code version — default `describe_code_version()` —, policy versions —
    default the policy ids the run's households used —, policy file hashes,
    times) in the working database's `audit_runs`, anchors the audit log's head
    in `audit_anchors`, then writes every table of `AUDITOR_TABLES` (plus
    `review_decisions` when the working database has it, and `access_log`, the
    audit log's entries) to a temporary file that replaces `audit_db_path`
    atomically.  Incremental: the temporary file is a copy of the published one
    in which only `run_date`'s rows of the per-run tables are replaced; it is
    built whole when there is no published file, when the definition of a
    table changed (`publication` digests) or with `full=True`.  Member ids not
    yet pseudonymized are pseudonymized (keys loaded only then); free text is
    masked.  Needs the working database not held by another process.

    A broken audit log does not stop the publication: its problems are in
    `access_log_check` for the auditors (and `hedui audit verify` fails).

    Raises AuditError when an unmasked ID number would reach the auditor
    database (nothing is published and the run's record is left as it was),
    and ConfigError when keys are needed and missing.  The result says
    `mode`: ``incremental`` or ``full``.
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
                     temp_directory=workdir_db_path.parent / "tmp", stored_macros=True)
    con.sql("set preserve_insertion_order = false")  # every auditor table says its own order by
    counts: dict[str, int] = {}
    before: dict[str, list | None] = {}  # the run's rows as before this attempt (None: in a temp table)
    mode = "full"
    try:
        con.sql("begin transaction")
        ensure_query_ledger(con)  # also creates audit_runs and audit_anchors
        con.sql("commit")
        # the auditors see names only as 张*: every requested member's name is masked in free text too,
        # also a member whose request row was quarantined (a finding names them: 委托名单中本户的一名成员（叶某某…）
        named = [f"select distinct trim({c}) from {t} where {c} is not null"
                 for t, c in (("stg_requests", "name"), ("quarantine_subjects", "name_norm")) if db.table_exists(con, t)]
        _register_mask_udf(con, [r[0] for r in con.sql(" union ".join(named)).fetchall()] if named else ())
        if policy_versions is None:
            policy_versions = [r[0] for r in con.sql(
                "select distinct policy_id from households where run_date = ? and policy_id is not null "
                "order by 1", params=[run_date]).fetchall()] if db.table_exists(con, "households") else []
        before = {t: con.execute(f"select * from {t} where run_date = ?", [run_date]).fetchall()
                  for t in ("audit_runs", "audit_anchors")}
        # the run's published outcomes (a row per household) kept beside, not fetched into Python (≈ 0.1 CPU-s)
        con.execute(f"create or replace temp table {_BEFORE}outcome_history as select * from outcome_history "
                    "where run_date = ?", [run_date])
        before["outcome_history"] = None
        con.sql("begin transaction")
        con.execute("delete from audit_runs where run_date = ?", [run_date])
        if started_at is finished_at is None and before["audit_runs"]:  # re-published (a review decision, a late
            _, earlier_id, *_, started_at, finished_at, _, _ = before["audit_runs"][0]  # file): the run's record
            run_id = run_id or earlier_id
        con.execute("insert into audit_runs values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [run_date, run_id or f"hedui-{run_date}", code_version or describe_code_version(),
                     list(policy_versions), json.dumps(policy_files()), started_at, finished_at,
                     published_at, default_actor()])
        if audit_log:
            seq, h = audit_log.head()
            con.execute("delete from audit_anchors where run_date = ?", [run_date])
            con.execute("insert into audit_anchors values (?, ?, ?, ?)", [run_date, seq, h, published_at])
        if db.table_exists(con, "outcomes"):  # an outcome a re-run, late delivery or review decision replaces stays
            con.sql("insert into outcome_history " + db.sql_text("publish/outcome_history.sql"),
                    params={"run_date": run_date, "published_at": published_at})
        con.sql("commit")

        req_cols = _columns(con, "stg_requests")
        masked = ("coalesce(id_masked, hd_mask_id(case when id_norm not like 'p1:%' then id_norm end))"
                  if "id_masked" in req_cols else "hd_mask_id(coalesce(id_norm, id_number))")
        con.sql(f"create or replace temp view _hd_requests as select *, {masked} as _id_masked from stg_requests")
        parts = {"evidence": evidence_parts()}  # tables written part by part (one statement each)
        tables = {t: _union(parts[t]) if t in parts else db.sql_text(f"publish/auditor_{t}.sql")
                  for t in AUDITOR_TABLES + OPTIONAL_TABLES if t not in OPTIONAL_TABLES or db.table_exists(con, t)}
        digests = {t: _digest(con, sql, workdir_db_path.parent) for t, sql in tables.items()}
        if not full and _copy_published(audit_db_path, tmp):
            con.sql(f"attach {_quote_path(tmp)} as auditor")
            if _published_digests(con) == digests:
                mode = "incremental"
            else:  # a table's definition changed (or the file predates `publication`): rebuild whole
                con.sql("detach auditor")
                tmp.unlink(missing_ok=True)
        if mode == "full":
            con.sql(f"attach {_quote_path(tmp)} as auditor")
        try:
            t0 = time.perf_counter()
            scope: dict[str, str | None] = {}  # table → the run date whose rows are new, None: the whole table
            present = _auditor_tables(con)
            for table, sql in tables.items():
                t, c = time.perf_counter(), time.process_time()
                pieces = parts.get(table, [sql])
                if table == "evidence" and _links_of_their_source(con):  # the part for links of no source: none
                    pieces = pieces[:-1]
                con.sql("begin transaction")  # a table's parts in one transaction: written once, all or none
                try:
                    if mode == "incremental":
                        con.execute(f"delete from auditor.{table} where run_date = ?", [run_date])
                        for part in pieces:
                            con.execute(f"insert into auditor.{table} select * from ({part}) where run_date = ?",
                                        [run_date])
                    else:  # the whole query's columns and types, then its parts' rows
                        db.create_table_like(con, f"auditor.{table}", f"select * from ({sql})", AUDITOR_COMPRESSION)
                        for part in pieces:
                            con.sql(f"insert into auditor.{table} select * from ({part})")
                    con.sql("commit")
                except BaseException:
                    with contextlib.suppress(Exception):
                        con.sql("rollback")
                    raise
                scope[table] = run_date if mode == "incremental" else None
                log.debug("auditor table %s (%s): %.1f s, %.1f CPU-s", table, mode, time.perf_counter() - t,
                          time.process_time() - c)
            for table in present - set(tables):  # e.g. an optional table the working database no longer has
                con.sql(f"drop table auditor.{table}")
            for table in ("review_decisions", "access_log", "access_log_check", "catalog", "catalog_columns",
                          PUBLICATION_TABLE):  # small and not per run: written whole every time
                con.sql(f"drop table if exists auditor.{table}")
            review = _review_decisions_sql(con)
            if review:
                con.sql(f"create table auditor.review_decisions as {review}")
                scope["review_decisions"] = None
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
            scope["access_log"] = scope["access_log_check"] = None
            for table, column in PSEUDONYM_COLUMNS.items():
                if table in scope:
                    _ensure_pseudonyms(con, f"auditor.{table}", column, get_keys, scope[table])
            _guard_unmasked(con, scope)
            con.sql("begin transaction")  # one commit, not one per row of `executemany`
            con.sql(f"create table auditor.{PUBLICATION_TABLE} (table_name varchar, digest varchar, "
                    f"published_at timestamptz, run_date varchar, mode varchar)")
            con.executemany(f"insert into auditor.{PUBLICATION_TABLE} values (?, ?, ?, ?, ?)",
                            [(t, d, published_at, run_date, mode) for t, d in sorted(digests.items())])
            con.sql("commit")
            published = _auditor_tables(con)
            for table in sorted(published | {"access_log"}):
                counts[table] = con.sql(f"select count(*) from auditor.{table}").fetchall()[0][0]
            from hedui.audit.catalog import write_catalog

            write_catalog(con, "auditor")
            con.sql("checkpoint auditor")
            log.info("auditor tables written (%s): %.1f s", mode, time.perf_counter() - t0)
        finally:
            con.sql("detach auditor")
    except BaseException:
        tmp.unlink(missing_ok=True)
        with contextlib.suppress(Exception):  # the run stays recorded as it was before this attempt
            con.sql("begin transaction")
            for table, rows in before.items():
                con.execute(f"delete from {table} where run_date = ?", [run_date])
                if rows is None:  # kept in a temp table
                    con.sql(f"insert into {table} select * from {_BEFORE}{table}")
                for row in rows or ():
                    con.execute(f"insert into {table} values ({', '.join('?' * len(row))})", list(row))
            con.sql("commit")
        raise
    finally:
        con.close()
    tmp.chmod(0o600)  # masked, but still about households: the service user only
    kill_point("publish")  # the new file is complete, the published one untouched
    os.replace(tmp, audit_db_path)
    _fsync_dir(audit_db_path.parent)
    log.info("published the auditor database %s (%s, %s)", audit_db_path, mode, counts)
    return {"path": str(audit_db_path), "tables": counts, "log_problems": len(problems), "mode": mode}


def _auditor_tables(con) -> set[str]:
    return {r[0] for r in con.sql("select table_name from duckdb_tables() where database_name = 'auditor'").fetchall()}


def _digest(con, sql: str, workdir: Path) -> str:
    """What defines a published table: its SQL, the macros, its columns and types, the pseudonym key."""
    from hedui.privacy.keyring import stored_fingerprint

    fingerprint = None
    with contextlib.suppress(Exception):
        fingerprint = (stored_fingerprint(workdir) or {}).get("pseudonym_key")
    rel = con.sql(sql)  # planned, not run
    columns = [[c, str(t)] for c, t in zip(rel.columns, rel.dtypes, strict=True)]
    text = json.dumps({"format": PUBLICATION_FORMAT, "sql": sql, "macros": db.sql_text("macros.sql"),
                       "columns": columns, "pseudonym_key": fingerprint}, ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _copy_published(audit_db_path: Path, tmp: Path) -> bool:
    """Copy the published auditor database to `tmp`; False when there is none (or it has a WAL beside it)."""
    if not audit_db_path.is_file() or Path(str(audit_db_path) + ".wal").exists():
        return False
    shutil.copyfile(audit_db_path, tmp)
    tmp.chmod(0o600)
    return True


def _published_digests(con) -> dict[str, str] | None:
    """{table: digest} of the attached auditor database's `publication`, None when it has none."""
    if PUBLICATION_TABLE not in _auditor_tables(con):
        return None
    return dict(con.sql(f"select table_name, digest from auditor.{PUBLICATION_TABLE}").fetchall())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _guard_unmasked(con, scope: dict[str, str | None] | None = None) -> None:
    """Refuse to publish when any text column of the auditor database holds an unmasked ID number.

    `scope` limits a table to the rows of one run date (the rows this publication wrote).  A column's
    count of matching rows is the same whether the regex runs per row or per distinct value (each
    value's rows counted); per value is cheaper but for record IDs, which never repeat.
    """
    scope = scope or {}
    rows = con.sql("select table_name, column_name from duckdb_columns() where database_name = 'auditor' "
                   "and data_type = 'VARCHAR' and column_name not like '%hash%' and column_name <> 'sha256'"
                   ).fetchall()
    for table, column in rows:
        q = '"' + column.replace('"', '""') + '"'
        day = scope.get(table)
        # a match is 18 characters at least (ASCII, a byte each): a shorter text (most: dates, codes, sources)
        # cannot hold one, and its byte length costs nothing next to the regex
        rows = (f"from auditor.{table} where strlen({q}) >= {_ID_LENGTH}" + (" and run_date = $d" if day else ""))
        if column.endswith("record_id"):  # one value per row: the regex on every row
            sql = f"select count(*) {rows} and regexp_matches({q}, $p)"
        else:  # most texts repeat (file names, items, reasons, a member's pseudonym): the regex once per value
            sql = f"select coalesce(sum(n), 0) from (select {q} as v, count(*) as n {rows} group by all) " \
                  f"where regexp_matches(v, $p)"
        n = con.sql(sql, params={"p": _UNMASKED_ID_SQL, **({"d": day} if day else {})}).fetchall()[0][0]
        if n:
            raise AuditError(f"审计库发布中止：{table}.{column} 中有 {n} 个未遮蔽的身份证号")
