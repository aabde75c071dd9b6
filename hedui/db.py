"""DuckDB access: the working database, SQL files from sql/, and run-scoped models.

A *model* is one SQL file holding one SELECT for one run (parameters such as
`$run_date` are bound, never pasted).  `replace_model` stores its rows in a
table keyed by `run_date`, replacing that run's rows inside a transaction so
that a re-run of a logical date is atomic.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any

import duckdb

from hedui.errors import LockedError
from hedui.resources import data_path

log = logging.getLogger(__name__)

SQL_DIR = data_path("sql")


def connect(path: Path | str = ":memory:", *, threads: int = 2, memory_limit: str = "4GB",
            temp_directory: Path | None = None, read_only: bool = False,
            stored_macros: bool = False) -> duckdb.DuckDBPyConnection:
    """Open a DuckDB database with explicit resources and the hedui macros loaded.

    The macros are the connection's own (temp), made anew: DuckDB binds each body, ≈ 0.4 CPU-s for the 82 of
    ``sql/macros.sql``, paid by every connection whatever it runs. With `stored_macros` (the run's steps on the
    working database, five to seven connections a run) they are kept in the database file instead and made
    again only when ``sql/macros.sql`` has changed (`_store_macros`).
    """
    config: dict[str, Any] = {"threads": threads, "memory_limit": memory_limit}
    if temp_directory:
        Path(temp_directory).mkdir(parents=True, exist_ok=True)
        config["temp_directory"] = str(temp_directory)
    if read_only or str(path) == ":memory:":
        con = duckdb.connect(str(path), read_only=read_only, config=config)
    else:
        con = _connect_writer(Path(path), config)
    con.sql("set enable_progress_bar = false")
    if read_only:
        return con
    if stored_macros and str(path) != ":memory:":
        _store_macros(con)
    else:
        con.sql(sql_text("macros.sql"))
    return con


#: a stored macro that answers the digest of the ``sql/macros.sql`` the database's macros were made from
MACROS_DIGEST = "hd_macros_digest"
_TEMP_MACRO = re.compile(r"(?m)^create or replace temp macro ")


def stored_macros_sql(text: str | None = None) -> str:
    """``sql/macros.sql`` (or `text` of it) with its macros made in the database's ``main`` schema, kept with the
    database and seen by every connection to it, instead of the connection's own temp schema."""
    return _TEMP_MACRO.sub("create or replace macro ", sql_text("macros.sql") if text is None else text)


def _stored_macros_script() -> tuple[str, str]:
    """(digest of ``sql/macros.sql``, the script that stores its macros and the digest in the database)."""
    import hashlib

    text = sql_text("macros.sql")
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]
    return digest, f"{stored_macros_sql(text)}\ncreate or replace macro {MACROS_DIGEST}() as '{digest}';\n"


def _store_macros(con: duckdb.DuckDBPyConnection) -> None:
    """The ``hd_*`` macros kept in the database (its ``main`` schema): made, in one transaction, when the file
    has none or those of another ``sql/macros.sql`` (an upgrade), else taken as stored (a catalog read)."""
    digest, script = _stored_macros_script()
    try:
        if con.sql(f"select {MACROS_DIGEST}()").fetchall() == [(digest,)]:
            return
    except duckdb.CatalogException:  # a database made before, or by a connection without stored macros
        pass
    con.execute("begin transaction")
    try:
        con.execute(script)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise


def wait_seconds(name: str, default: float) -> float:
    """The seconds of the environment variable `name` (unset or blank: `default`); ConfigError, in Chinese, for
    a value that is no number of seconds ("10m", "nan"): an empty `HEDUI_WRITE_WAIT_S=` in an env file failed
    every command, the nightly run and every workspace page with an English "could not convert string to float"."""
    import math
    import os

    from hedui.errors import ConfigError

    raw = os.environ.get(name, "").strip()
    if not raw:
        return float(default)
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise ConfigError(f"环境变量 {name} 的值“{raw[:20]}”无效：应为等待的秒数（0 或正数，如 {int(default)}）；"
                          f"请改正或删去该变量（默认 {int(default)} 秒）后重试")
    return value


def check_wait_settings() -> None:
    """ConfigError when HEDUI_READ_WAIT_S or HEDUI_WRITE_WAIT_S is set to no number of seconds (`wait_seconds`)."""
    wait_seconds("HEDUI_READ_WAIT_S", 120)
    wait_seconds("HEDUI_WRITE_WAIT_S", 600)


class WorkingDatabaseHeldError(LockedError):
    """A writer waited longer than ``HEDUI_WRITE_WAIT_S`` for other processes to let go of the database."""


def _connect_writer(path: Path, config: dict[str, Any]) -> duckdb.DuckDBPyConnection:
    """`path` opened read-write, waiting while another process holds it — a reader such as `hedui serve`
    answering a page or `hedui pdf` printing (they hold it read-only, briefly): DuckDB refuses a writer then,
    and the nightly step failed on it.  Waits up to ``HEDUI_WRITE_WAIT_S`` seconds (default 600), backing off
    to 1 s; raises WorkingDatabaseHeldError (exit code 4, in Chinese) when the file stayed held."""
    import time

    wait_s = wait_seconds("HEDUI_WRITE_WAIT_S", 600)
    deadline, delay, told = time.monotonic() + wait_s, 0.05, False
    while True:
        try:
            return duckdb.connect(str(path), config=config)
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise
            if time.monotonic() >= deadline:
                raise WorkingDatabaseHeldError(
                    f"数据库 {path} 一直被另一个进程占用（例如 hedui serve 的网页查询、hedui pdf 正在读取），"
                    f"等待 {wait_s:.0f} 秒仍未释放：请等它结束后重跑同一日期（可用 HEDUI_WRITE_WAIT_S 调整等待秒数）"
                ) from None
            if not told:
                log.warning("database %s is held by another process (a reader?): waiting up to %.0f s", path, wait_s)
                told = True
        time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
        delay = min(delay * 2, 1.0)


class DatabaseBusyError(Exception):
    """The working database stayed held by a writer for longer than a reader waits."""


def connect_read(path: Path | str, *, wait_s: float | None = None, delay: float = 0.05,
                 threads: int = 1, memory_limit: str = "1GB") -> duckdb.DuckDBPyConnection:
    """The database opened read-only, retrying while a writer (a run, a decision) holds it.

    DuckDB refuses a second process while one holds the file read-write; the
    run's steps open and close it step by step, so a reader that retries gets
    in between.  Waits up to `wait_s` seconds (default `HEDUI_READ_WAIT_S` or
    120), backing off from `delay` to 1 s.  Raises DatabaseBusyError when the
    database stayed held, FileNotFoundError when it does not exist.
    """
    import time

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(str(path))
    if wait_s is None:
        wait_s = wait_seconds("HEDUI_READ_WAIT_S", 120)
    deadline, told = time.monotonic() + wait_s, False
    while True:
        try:
            return connect(path, read_only=True, threads=threads, memory_limit=memory_limit)
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower() or time.monotonic() >= deadline:
                if "lock" in str(exc).lower():
                    raise DatabaseBusyError(str(path)) from None
                raise
            if not told:
                log.info("database %s is held by a writer: waiting up to %.0f s to read it", path, wait_s)
                told = True
        time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
        delay = min(delay * 2, 1.0)


def sql_text(name: str) -> str:
    """The text of sql/<name>."""
    return (SQL_DIR / name).read_text(encoding="utf-8")


def _used_params(sql: str, params: dict[str, Any]) -> dict[str, Any]:
    names = set(re.findall(r"\$([a-z_][a-z0-9_]*)", sql))
    return {k: v for k, v in params.items() if k in names}


def query(con: duckdb.DuckDBPyConnection, name: str, **params: Any) -> duckdb.DuckDBPyRelation:
    """Run the SELECT in sql/<name> with its named parameters bound."""
    sql = sql_text(name)
    return con.sql(sql, params=_used_params(sql, params))


def table_exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    return bool(
        con.sql("select count(*) from information_schema.tables where table_name = ?",
                params=[table]).fetchall()[0][0]
    )


_COMMENTS = re.compile(r"--[^\n]*|/\*.*?\*/", re.S)
_STRINGS = re.compile(r"'(?:[^']|'')*'")


def reads_itself(select_sql: str, table: str) -> bool:
    """Whether `select_sql` names `table` outside comments and string literals, other than as a CTE of that name
    (which every later reference in the query means): a word in a comment ("-- Household figures …") or a CTE
    `facts as (…)` made replace_rows write the figures, findings and facts of a run twice, once into a temp
    table first (a copy of the rows, not a second evaluation: assess at province within noise, 150 → 150 CPU-s)."""
    text = _STRINGS.sub("''", _COMMENTS.sub(" ", select_sql))
    name = re.escape(table)
    defined = re.search(rf"\b{name}\s+as\s*(?:not\s+)?(?:materialized\s*)?\(", text, re.I)
    if defined:  # a CTE of the name: the table only inside the CTE's own body, before its first use
        start, depth, i = defined.end(), 1, defined.end()
        while i < len(text) and depth:
            depth += {"(": 1, ")": -1}.get(text[i], 0)
            i += 1
        return bool(re.search(rf"\b{name}\b", text[start:i]))
    return bool(re.search(rf"\b{name}\b", text))


def replace_rows(con: duckdb.DuckDBPyConnection, table: str, select_sql: str,
                 params: dict[str, Any], run_date: str) -> int:
    """Replace `table`'s rows of `run_date` by the rows of `select_sql`; return the count.

    The table is created from the query's shape on first use.  The rows stream
    straight into the table; only a query that reads `table` itself is
    materialized first (it must see the rows it replaces).  Run inside the
    caller's transaction for atomicity across several tables.
    """
    bound = _used_params(select_sql, params)
    if reads_itself(select_sql, table):
        con.execute(f"create temp table _rows as {select_sql}", bound)
        select_sql, bound = "select * from _rows", {}
    try:
        if not table_exists(con, table):
            shape = con.execute(f"describe {select_sql}", bound).fetchall()
            con.sql(f"create table {table} ({', '.join(_staged_column(n, t, MODEL_COMPRESSION, None) for n, t, *_ in shape)})")
        else:  # a column a newer model adds is added to a working database's older table
            have = {r[0] for r in con.sql(f"describe {table}").fetchall()}
            for name, type_, *_ in con.execute(f"describe {select_sql}", bound).fetchall():
                if name not in have:
                    con.sql(f'alter table {table} add column "{name}" {type_}')
        con.execute(f"delete from {table} where run_date = ?", [run_date])
        return int(con.execute(f"insert into {table} by name {select_sql}", bound).fetchall()[0][0])
    finally:
        con.sql("drop table if exists _rows")


# A model table's `record_id` (source:file:row, new on every row: links, figure_lineage) is stored zstd, as a
# staged table's: DuckDB's own choice for it is dictionary + FSST, which costs a quarter more CPU at commit
# (links at tenth: 0.59 -> 0.45 CPU-s).  Its other columns keep DuckDB's choice per segment.
MODEL_COMPRESSION = {"record_id": "zstd"}


def replace_model(con: duckdb.DuckDBPyConnection, table: str, name: str, run_date: str, **params: Any) -> int:
    """Store the rows of model sql/<name> for one run in `table` (see replace_rows)."""
    return replace_rows(con, table, sql_text(name), {"run_date": run_date, **params}, run_date)


# How a staged table stores its text columns, chosen once instead of by DuckDB's analysis of every
# segment at commit (which tries each method on each column).  `record_id` (source:file:row) is new
# on every row, so a dictionary never pays: zstd stores it smaller (social insurance's table a third
# smaller) for less CPU.  The other text columns repeat (a person's pseudonym and token on each of
# their rows, names, lineage), which DuckDB's dictionary + FSST method is for.
STAGED_COMPRESSION = {"record_id": "zstd"}
STAGED_TEXT_COMPRESSION = "dict_fsst"

# A token (an ID or account number encrypted at staging) is random base64, new for each distinct value: where
# nearly every row has its own (public security's IDs, bank accounts) a dictionary cannot pay and FSST finds few
# repeated symbols, yet DuckDB tries both on each segment (a third of load's CPU for those tables, for a 5-10 %
# smaller table).  Such a column is stored uncompressed; where a person's token repeats on many rows (social
# insurance's 18 months per person) the dictionary still pays and stays.
UNIQUE_TOKEN_SHARE = 0.5

# The pseudonym (`p1:` + 32 hex digits, one per person) is the same case: where a person has one row (public
# security, bank, requests, the small sources) DuckDB's dictionary + FSST costs 2-3 times the uncompressed
# append (public security's `id_norm` at tenth 0.15 -> 0.05 CPU-s) for a column 1.8 times smaller.  Staging counts
# its distinct values like a token's (hedui.privacy.protect.StreamProtector's `id_columns`).
PSEUDONYM_COLUMNS = ("id_norm",)


def staged_compression(path: Path, source: str) -> dict[str, str]:
    """STAGED_COMPRESSION for the staged file `path` of `source`: its token and pseudonym columns with at least
    UNIQUE_TOKEN_SHARE distinct values per row stored uncompressed.  The distinct counts are those staging
    wrote into the file's metadata (none there: every column as STAGED_COMPRESSION says)."""
    import pyarrow.parquet as pq

    from hedui.privacy.protect import COUNTS_KEY, source_columns

    meta = pq.ParquetFile(path).metadata
    counts = json.loads((meta.metadata or {}).get(COUNTS_KEY, b"{}"))
    tokens = [*PSEUDONYM_COLUMNS, *(c for cols in source_columns(source).values() for c in cols)]
    unique = {c: "uncompressed" for c in tokens
              if meta.num_rows and int(counts.get(c) or 0) >= UNIQUE_TOKEN_SHARE * meta.num_rows}
    return {**STAGED_COMPRESSION, **unique}


def _staged_column(name: str, type_: str, compression: dict[str, str] = STAGED_COMPRESSION,
                   text: str | None = STAGED_TEXT_COMPRESSION) -> str:
    """A column's definition, a text column stored as `compression` names it, else as `text` (None: DuckDB's
    choice per segment)."""
    quoted = '"' + name.replace('"', '""') + '"'
    method = (compression.get(name) or text) if type_ == "VARCHAR" else None
    return f"{quoted} {type_}" + (f" using compression {method}" if method else "")


def create_table_like(con: duckdb.DuckDBPyConnection, table: str, select_sql: str,
                      compression: dict[str, str] = STAGED_COMPRESSION) -> None:
    """Create `table`, empty, with the columns and types of `select_sql` (planned, not run), its text
    columns stored as `compression` says (else dictionary + FSST), as a staged table's: a table written
    whole at once (`create table … as`) has DuckDB try every method on every column of every segment."""
    shape = con.sql(f"describe {select_sql}").fetchall()
    con.sql(f"create table {table} ({', '.join(_staged_column(n, t, compression) for n, t, *_ in shape)})")


def replace_staged(con: duckdb.DuckDBPyConnection, table: str, src: str, run_date: str,
                   compression: dict[str, str] = STAGED_COMPRESSION) -> None:
    """Replace `table`'s rows of `run_date` by the staged Parquet file `src` (a `read_parquet(...)`
    expression), streamed (no copy in memory).

    The table is created from the file's shape on first use, its text columns
    stored as `compression` says (see `staged_compression`); columns a newer file adds (e.g.
    ``id_masked``) are added to an older table, which keeps its own columns.
    """
    shape = con.sql(f"describe select * from {src}").fetchall()
    if not table_exists(con, table):
        con.sql(f"create table {table} ({', '.join(_staged_column(n, t, compression) for n, t, *_ in shape)})")
    have = {r[0] for r in con.sql(f"describe {table}").fetchall()}
    for name, type_, *_ in shape:
        if name not in have:
            con.sql(f"alter table {table} add column {_staged_column(name, type_, compression)}")
    con.execute(f"delete from {table} where run_date = ?", [run_date])
    con.sql(f"insert into {table} by name select * from {src}")
