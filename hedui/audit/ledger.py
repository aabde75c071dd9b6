"""The query ledger (one row per run and authorized member looked up, with the sources) and the authorization gate."""

from __future__ import annotations

import datetime as dt

import duckdb

from hedui import db
from hedui.audit.log import (
    _now,
)
from hedui.errors import HeduiError


class AuthorizationError(HeduiError):
    """A member without an authorization on file was looked up."""


_LEDGER_KEY = ("run_date", "run_id", "request_id", "purpose", "authorization_no", "authorization_date",
               "member_pseudonym", "member_record_id")

# How the ledger stores its text columns, chosen when the table is made instead of by DuckDB's analysis of every
# method on every column at each commit: a member's pseudonym and request row are new on every row (one row per
# member), so a dictionary never pays; the pseudonym is stored as is and the row (source:file:row) as zstd, as a
# staged table's; the other texts repeat (dictionary + FSST). At tenth the write and its commit
# 0.66 -> 0.45 CPU-s (BENCHMARKS, session 34 ledger). The `sources` list takes no method (DuckDB's choice).
LEDGER_COMPRESSION = {"member_pseudonym": "uncompressed", "member_record_id": "zstd"}


def ensure_query_ledger(con: duckdb.DuckDBPyConnection) -> bool:
    """Create the audit tables if absent; migrate a `query_ledger` of the earlier shape once.

    The earlier ledger had one row per member per source (`source`,
    `source_status`); it becomes one row per run and member with `sources`, the
    sources in order (a status is `source_status` of the run).  Run it inside
    the caller's transaction.  Returns True when it migrated.
    """
    fresh = not db.table_exists(con, "query_ledger")
    con.sql(db.sql_text("publish/schema.sql"))
    if fresh:  # schema.sql's columns, stored as LEDGER_COMPRESSION says
        _rebuild(con, "select * from query_ledger")
        return False
    cols = {r[0] for r in con.sql("describe query_ledger").fetchall()}
    if "sources" in cols or "source" not in cols:
        return False
    key = ", ".join(_LEDGER_KEY)
    _rebuild(con, f"select {key}, list(source order by source) as sources, queried_at from query_ledger "
                  f"group by {key}, queried_at order by run_date, request_id, member_record_id")
    return True


def _rebuild(con: duckdb.DuckDBPyConnection, select_sql: str) -> None:
    """Replace `query_ledger` by the rows of `select_sql` (which reads it), its columns stored as LEDGER_COMPRESSION."""
    db.create_table_like(con, "_hd_query_ledger", select_sql, LEDGER_COMPRESSION)
    con.sql(f"insert into _hd_query_ledger {select_sql}")
    con.sql("drop table query_ledger")
    con.sql("alter table _hd_query_ledger rename to query_ledger")


def write_query_ledger(con: duckdb.DuckDBPyConnection, run_date: str, *, run_id: str | None = None,
                       queried_at: dt.datetime | None = None) -> int:
    """Replace the run's rows of `query_ledger`: one per authorized member looked up, with the sources.

    Reads `stg_requests` and `source_status`; run it in the link step's
    transaction, after `protect_table` so that `member_pseudonym` is a pseudonym.
    Returns the row count.
    """
    ensure_query_ledger(con)
    return db.replace_model(con, "query_ledger", "publish/query_ledger.sql", run_date,
                            run_id=run_id or f"hedui-{run_date}", queried_at=queried_at or _now())


def check_authorization_gate(con: duckdb.DuckDBPyConnection, run_date: str) -> None:
    """Raise AuthorizationError if a link of the run reaches a member without an authorization on file."""
    bad = db.query(con, "publish/unauthorized_links.sql", run_date=run_date).fetchall()
    if bad:
        sample = "；".join(f"{r} {s} {rec}" for r, s, rec in bad[:5])
        raise AuthorizationError(f"有 {len(bad)} 条记录关联到未签署授权书的成员（先授权后核对）：{sample}")
