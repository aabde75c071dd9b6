"""The stage step's DuckDB database, one per worker process, with the ``hd_*`` macros created once.

Creating the macros of ``sql/macros.sql`` costs DuckDB a bind of each body (tax's month macros alone
≈ 0.2 CPU-s: ``hd_month_clean``, ``hd_month_span``, ``hd_period_ends``), and staging made them three
times per source (on its connection, and on the ID and name parsers' cursors: temp macros are per
connection).  A source worker stages several sources, one after another: :func:`stage_connection`
keeps one in-memory database per process whose macros are made once (persistent macros of its
``main`` schema, seen by every connection to it), and hands each source a connection of its own
(``cursor()``): the source's temp tables, types, registered views and functions are that
connection's and go with it, so nothing of one source is seen by the next (test_contract_stagecost).

The database's settings (threads, memory limit, spill folder) are its key: DuckDB cannot switch a
temp directory once used, so the spill folder is one per process beside the staged files
(``.duckdb_tmp_stage_<pid>``), removed when the key changes or the process ends.
"""

from __future__ import annotations

import atexit
import functools
import os
import re
import shutil
import threading
from pathlib import Path

import duckdb

try:  # the one call that runs a statement (duckdb/_seam.py); absent in another DuckDB: con.sql as before
    from duckdb._seam import DEFAULT_BATCH_SIZE as _BATCH
    from duckdb._seam import submit as _submit
except ImportError:  # pragma: no cover
    _submit = None

from hedui.db import stored_macros_sql
from hedui.resources import data_path

SQL_DIR = data_path("sql")
_MACRO = re.compile(r"(?m)^create or replace temp macro (hd_\w+)\(")
_MACRO_USE = re.compile(r"\b(hd_\w+)\s*\(")


@functools.lru_cache(maxsize=1)
def _macro_statements() -> tuple[dict[str, str], dict[str, frozenset[str]]]:
    """Each macro of ``sql/macros.sql``: its statement and the macros it calls (in file order)."""
    text = (SQL_DIR / "macros.sql").read_text(encoding="utf-8")
    starts = [m.start() for m in _MACRO.finditer(text)]
    ends = [*starts[1:], len(text)]
    statements = {_MACRO.match(text, a).group(1): text[a:b] for a, b in zip(starts, ends, strict=True)}
    uses = {name: frozenset(_MACRO_USE.findall(body, body.index(")"))) & statements.keys()
            for name, body in statements.items()}
    return statements, uses


def load_macros(con: duckdb.DuckDBPyConnection, sql: str | None = None) -> None:
    """Create (or replace) the ``hd_*`` macros of ``sql/macros.sql`` on ``con``: all of them, or with
    ``sql`` only those it calls and theirs (creating a macro costs DuckDB a bind: the two ``hd_id_status``
    / ``hd_id_norm`` trees alone 70 ms, three times per source)."""
    if sql is None:
        con.sql((SQL_DIR / "macros.sql").read_text(encoding="utf-8"))
        return
    statements, uses = _macro_statements()
    needed, todo = set(), [n for n in _MACRO_USE.findall(sql) if n in statements]
    while todo:
        name = todo.pop()
        if name not in needed:
            needed.add(name)
            todo.extend(uses[name])
    script = "".join(body for name, body in statements.items() if name in needed)  # file order: callees first
    if script:
        con.sql(script)


def arrow_of(con: duckdb.DuckDBPyConnection, sql: str, params: dict | None = None, stream_rows: int = 0):
    """One SELECT's rows as an Arrow table (or, with ``stream_rows``, a reader of batches of that many rows),
    the statement bound once.  ``con.sql(sql).to_arrow_…()`` binds it twice: ``con.sql`` asks the binder for
    the relation's columns, the terminal binds it again to run it — a bind expands every ``hd_*`` macro the
    statement calls (split.sql's checks 0.08–0.39 CPU-s a source at tenth, ``hd_date``'s slow path ≈ 0.035).
    Runs what the relation would run (the same text and values, the same Arrow terminal), so the rows and
    types are the same (test_contract_srcfixed); no Python variable is read by
    name: the statement reads tables, files and what is registered on ``con``."""
    if _submit is None:  # pragma: no cover
        rel = con.sql(sql, params=params)
        return rel.to_arrow_reader(stream_rows) if stream_rows else rel.to_arrow_table()
    if stream_rows:
        return _submit(con, sql, params or None, "stream", int(stream_rows)).arrow_reader()
    return _submit(con, sql, params or None, "arrow", _BATCH).arrow_table()


def use_system_allocator() -> None:
    """This process's Arrow buffers from the C library's allocator, not pyarrow's default (mimalloc).

    Staging makes and drops hundreds of MB of Arrow buffers per source; mimalloc hands freed pages back to
    the system and faults fresh ones in for the next batch (a quarter of social insurance's staging CPU was
    the kernel's), the C library's allocator keeps them: the sources step −10 % CPU-s at tenth, peak no
    higher (BENCHMARKS, session 35).  ``ARROW_DEFAULT_MEMORY_POOL``, when set, decides instead."""
    if os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        return
    import pyarrow as pa

    pa.set_memory_pool(pa.system_memory_pool())


_lock = threading.Lock()
#: (key, database connection, spill folder made here or None) of this process
_shared: list = []
#: a database inherited across a fork: the parent's, neither closed nor its folder removed here
_inherited: list = []


def _drop_shared() -> None:
    with _lock:
        while _shared:
            key, base, made = _shared.pop()
            if key[-1] != os.getpid():
                _inherited.append(base)
                continue
            base.close()
            if made is not None:
                shutil.rmtree(made, ignore_errors=True)


atexit.register(_drop_shared)


def _register_worker_exit() -> None:
    # a multiprocessing worker leaves by os._exit: atexit does not run there, its finalizers do
    from multiprocessing import util

    util.Finalize(None, _drop_shared, exitpriority=10)


def stage_connection(threads: int | None, memory_limit: str, folder: Path,
                     temp_directory: Path | None = None) -> duckdb.DuckDBPyConnection:
    """A new connection to this process's staging database (made, with every ``hd_*`` macro, on the first
    call or when the settings differ from the last call's): ``threads`` (None: DuckDB's default),
    ``memory_limit``, and the spill folder ``temp_directory`` (default ``folder/.duckdb_tmp_stage_<pid>``).
    The caller closes it (its temp objects go with it); the database stays for the next source."""
    spill = Path(temp_directory) if temp_directory else Path(folder) / f".duckdb_tmp_stage_{os.getpid()}"
    key = (threads, memory_limit, str(spill), os.getpid())
    with _lock:
        if _shared and _shared[0][0] == key:
            return _shared[0][1].cursor()
    _drop_shared()
    made = None
    if not spill.exists():
        spill.mkdir(parents=True, exist_ok=True)
        made = spill if not temp_directory else None
    config: dict = {"memory_limit": memory_limit, "temp_directory": str(spill)}
    if threads:
        config["threads"] = threads
    base = duckdb.connect(":memory:", config=config)
    base.sql(stored_macros_sql())  # persistent macros of its main schema: every cursor sees them
    with _lock:
        if not _shared:
            _register_worker_exit()
        _shared.append((key, base, made))
    return base.cursor()
