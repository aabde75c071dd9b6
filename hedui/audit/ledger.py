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


def ensure_query_ledger(con: duckdb.DuckDBPyConnection) -> bool:
    """Create the audit tables if absent; migrate a `query_ledger` of the earlier shape once.

    The earlier ledger had one row per member per source (`source`,
    `source_status`); it becomes one row per run and member with `sources`, the
    sources in order (a status is `source_status` of the run).  Run it inside
    the caller's transaction.  Returns True when it migrated.
    """
    con.sql(db.sql_text("publish/schema.sql"))
    cols = {r[0] for r in con.sql("describe query_ledger").fetchall()}
    if "sources" in cols or "source" not in cols:
        return False
    key = ", ".join(_LEDGER_KEY)
    con.sql(f"create table _hd_query_ledger as select {key}, list(source order by source) as sources, queried_at "
            f"from query_ledger group by {key}, queried_at order by run_date, request_id, member_record_id")
    con.sql("drop table query_ledger")
    con.sql("alter table _hd_query_ledger rename to query_ledger")
    return True


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
