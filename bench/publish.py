"""Publication of the auditor database for a second run date: incremental versus a full rebuild (CPU seconds).

    python -m bench.publish --size tenth

Runs `hedui run` once on the cached world of the size (bench.pipeline's cache, keys and date; it publishes the
first date), copies every per-run row of the working database to a second date (to `--dates` - 1 more
dates), then publishes the last date into a copy of the auditor file of the dates before it, incrementally
and with ``full=True``, `--repeat` times each.
CPU seconds are this process's (DuckDB's threads included): more reliable than wall time on a shared machine.
The working folder is kept (``--workdir``) so that a second invocation skips the run.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import hashlib
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.pipeline import BENCH_KEYS, DATE, ROOT, ensure_world, households_of

DAY2 = "20261205"


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def copy_run_date(database: Path, from_date: str, to_date: str) -> list[str]:
    """Copy every per-run row (tables with a `run_date`) of `from_date` to `to_date`, replacing its rows;
    return the tables copied."""
    import duckdb

    con = duckdb.connect(str(database))
    try:
        con.sql("begin transaction")
        tables = [r[0] for r in con.sql(
            "select t.table_name from duckdb_tables() t join duckdb_columns() c using (database_name, table_name) "
            "where t.database_name = current_database() and c.column_name = 'run_date' and not t.temporary"
        ).fetchall()]
        for table in tables:
            con.execute(f"delete from {table} where run_date = ?", [to_date])
            con.execute(f"insert into {table} select * replace (cast(? as varchar) as run_date) from {table} "
                        f"where run_date = ?", [to_date, from_date])
        con.sql("commit")
        con.sql("checkpoint")
    finally:
        con.close()
    return tables


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.publish", description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", default="tenth")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--dates", type=int, default=2, help="run dates in the auditor file after the publication")
    ap.add_argument("--workdir", type=Path, help="default /tmp/hedui-bench-publish-<size>")
    args = ap.parse_args(argv)
    for key in BENCH_KEYS:
        os.environ.setdefault(key, base64.b64encode(hashlib.sha256(f"hedui bench {key}".encode()).digest()).decode())
    os.environ.setdefault("HEDUI_THREADS", "2")
    inbox, _ = ensure_world(args.size, households_of(args.size), args.seed)
    workdir = args.workdir or Path(f"/tmp/hedui-bench-publish-{args.size}")
    database = workdir / "hedui.duckdb"
    base = workdir / "bench" / "first_date.duckdb"
    if not base.exists():
        shutil.rmtree(workdir, ignore_errors=True)
        workdir.mkdir(parents=True)
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "hedui.cli", "run", "--inbox", str(inbox), "--date", DATE,
                        "--workdir", str(workdir)], cwd=ROOT, check=True, stdout=subprocess.DEVNULL,
                       env=dict(os.environ, HEDUI_REPORT_PDF="none"))
        print(f"hedui run {args.size}: {time.perf_counter() - t:.0f} s", flush=True)
        copy_run_date(database, DATE, DAY2)
        base.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(workdir / "audit" / "hedui_audit.duckdb", base)

    import duckdb

    from hedui.steps.publish import publish_audit_db

    first = dt.date(int(DATE[:4]), int(DATE[4:6]), int(DATE[6:]))
    dates = [DATE, DAY2] + [(first + dt.timedelta(days=7 * i)).strftime("%Y%m%d") for i in range(2, args.dates)]
    last = dates[args.dates - 1]
    if args.dates > 2:
        previous = workdir / "bench" / f"dates_{args.dates - 1}.duckdb"
        if not previous.exists():
            shutil.copy(base, previous)
            for day in dates[2:args.dates]:
                copy_run_date(database, DATE, day)
            for day in dates[1:args.dates - 1]:
                publish_audit_db(database, previous, day, code_version="bench")
        base = previous
    con = duckdb.connect(str(database), read_only=True)
    members, lookups = con.sql("select count(*), sum(len(sources)) from query_ledger where run_date = ?",
                               params=[DATE]).fetchall()[0]
    evidence = con.sql("select count(*) from links where run_date = ?", params=[DATE]).fetchall()[0][0]
    con.close()
    print(f"query_ledger per date: {members:,} rows (the earlier shape: {lookups:,}); links {evidence:,}")
    times: dict[str, list[tuple[float, float]]] = {"incremental": [], "full": []}
    for _ in range(args.repeat):
        for mode in ("incremental", "full"):
            target = workdir / "bench" / f"{mode}.duckdb"
            shutil.copy(base, target)
            c, w = _cpu(), time.perf_counter()
            out = publish_audit_db(database, target, last, code_version="bench", full=mode == "full")
            times[mode].append((_cpu() - c, time.perf_counter() - w))
            assert out["mode"] == mode, out["mode"]
            print(f"{mode}: {times[mode][-1][0]:.1f} CPU s, {times[mode][-1][1]:.1f} s wall, "
                  f"load {os.getloadavg()[0]:.1f}", flush=True)
    for mode, ts in times.items():
        print(f"{args.size} publish of date {args.dates} of {args.dates}, {mode}: median {statistics.median(c for c, _ in ts):.1f} "
              f"CPU s, {statistics.median(w for _, w in ts):.1f} s wall")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
