"""The query ledger (one row per lookup of an authorized member's records) and the authorization gate."""

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
