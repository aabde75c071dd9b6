"""The one place where a user's region scope is applied.

Every page, search and export reads household data through `scoped()`: a read-only connection to the
working database whose temporary views `my_households`, `my_members` and `my_queue` hold only the
households of the user's regions.  Handlers never read the base tables for household data.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hedui import db
from hedui.web.accounts import User

# the working database is opened per request and closed again; one request at a time in this process
# (DuckDB refuses a second connection to one file with another configuration, and a run writing it)
DB_LOCK = threading.RLock()


def prefixes(user: User) -> list[str]:
    """Region-code prefixes a user sees: a county code itself, a city's first 4 digits, a province's 2."""
    out = []
    for code in user.regions:
        if code.endswith("0000"):
            out.append(code[:2])
        elif code.endswith("00"):
            out.append(code[:4])
        else:
            out.append(code)
    return out


def allows(user: User, region_code: str | None) -> bool:
    return bool(region_code) and any(str(region_code).startswith(p) for p in prefixes(user))


@contextmanager
def scoped(workdir: Path, user: User, wait_s: float | None = None) -> Iterator:
    """A read-only connection whose `my_*` views are limited to the user's regions; `wait_s`: how long to wait while
    a run writes (default `connect_read`'s), then DatabaseBusyError."""
    path = Path(workdir) / "hedui.duckdb"
    with DB_LOCK:
        con = db.connect_read(path, threads=1, memory_limit="1GB", wait_s=wait_s)  # waits while a run writes
        try:
            con.execute("create temp table _scope (prefix varchar)")
            con.executemany("insert into _scope values (?)", [(p,) for p in prefixes(user)])
            con.sql("""
                create temp view my_households as
                select h.run_date, h.request_id, h.region_code, h.program, h.urban_rural, h.request_date,
                       o.outcome, o.findings
                from households h join outcomes o using (run_date, request_id)
                where exists (select 1 from _scope s where starts_with(h.region_code, s.prefix))
            """)
            con.sql("""
                create temp view my_members as
                select m.* from stg_requests m
                where exists (select 1 from my_households h
                              where h.run_date = m.run_date and h.request_id = m.request_id)
            """)
            con.sql("""
                create temp view my_queue as
                select q.* from review_queue q
                where exists (select 1 from my_households h
                              where h.run_date = q.run_date and h.request_id = q.request_id)
            """)
            yield con
        finally:
            con.close()

