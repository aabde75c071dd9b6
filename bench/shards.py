"""Scale-out benchmark: the cost of link → assess → report → publish in N shards, per step and per shard.

    python -m bench.shards --size tenth --shards 1,2,4 [--seed 1]

The cached world of ``--size`` (``bench/cache/<size>-<seed>/inbox``, as ``bench.pipeline``
makes it) is ingested and loaded once into ``.work/bench-shards/base`` (kept and reused
while the world is the same). For each N the loaded working folder is copied, then every
step after ``load`` runs as its own process, one after another — for N > 1:
``shard_plan``, ``shard_work`` 0 … N-1 (as N workers would run them), ``shard_merge``,
``publish``; for N = 1 today's ``link``, ``assess``, ``report``, ``publish``. Each step's
wall time and CPU time (the process and the children it waited for: DuckDB threads
and report workers included) are printed as a Markdown table and written to
``.work/bench-shards/results.json``. ``HEDUI_REPORT_PDF=none``, ``HEDUI_THREADS=2``.

It is a benchmark, not a test: nothing asserts a time. On a shared machine, read the
CPU seconds; wall seconds include waiting for the other processes.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

from bench.pipeline import BENCH_KEYS, CACHE, DATE, ROOT, ensure_world, households_of, log

WORK = ROOT / ".work" / "bench-shards"


def _env() -> dict[str, str]:
    env = dict(os.environ, HEDUI_REPORT_PDF="none", HEDUI_THREADS="2")
    env.pop("HEDUI_SHARDS", None)
    for key in BENCH_KEYS:  # synthetic data: the fixed keys of bench.pipeline unless the caller set real ones
        env.setdefault(key, base64.b64encode(hashlib.sha256(f"hedui bench {key}".encode()).digest()).decode())
    return env


def _step(name: str, inbox: Path, workdir: Path, arg: str = "") -> dict:
    """Run one step in a child process; its wall and CPU seconds."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "bench.shards", "--child", name, str(inbox), str(workdir), arg],
                   cwd=ROOT, env=_env(), check=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    label = f"{name} {arg}".strip()
    log(f"  {label}: wall {wall:.1f} s, CPU {cpu:.1f} s")
    return {"step": label, "wall_s": round(wall, 2), "cpu_s": round(cpu, 2)}


def child(name: str, inbox: str, workdir: str, arg: str) -> int:
    from hedui import pipeline
    from hedui.pipeline import RunContext

    ctx = RunContext.of(inbox, workdir, DATE)
    if name == "sources":
        pipeline.ingest_all(ctx)
    elif name == "shard_plan":
        pipeline.shard_plan(ctx, int(arg))
    elif name == "shard_work":
        pipeline.shard_work(ctx, int(arg))
    else:
        getattr(pipeline, name)(ctx)
    return 0


def _base(inbox: Path, info: dict) -> tuple[Path, list[dict]]:
    """The world ingested and loaded once (reused while the world is the same)."""
    base = WORK / "base"
    marker = base / "loaded.json"
    if marker.is_file():
        kept = json.loads(marker.read_text(encoding="utf-8"))
        if kept.get("world") == info:
            return base, kept["steps"]
    shutil.rmtree(base, ignore_errors=True)
    base.mkdir(parents=True)
    log(f"ingesting and loading {inbox} once …")
    steps = [_step("sources", inbox, base), _step("load", inbox, base)]
    marker.write_text(json.dumps({"world": info, "steps": steps}), encoding="utf-8")
    return base, steps


def measure(inbox: Path, base: Path, n: int) -> list[dict]:
    workdir = WORK / f"n{n}"
    shutil.rmtree(workdir, ignore_errors=True)
    shutil.copytree(base, workdir, symlinks=True)
    (workdir / "loaded.json").unlink(missing_ok=True)
    log(f"N = {n}:")
    if n == 1:
        steps = [_step(s, inbox, workdir) for s in ("link", "assess", "report")]
    else:
        steps = [_step("shard_plan", inbox, workdir, str(n))]
        steps += [_step("shard_work", inbox, workdir, str(i)) for i in range(n)]
        steps.append(_step("shard_merge", inbox, workdir))
    steps.append(_step("publish", inbox, workdir))
    db = workdir / "hedui.duckdb"
    steps.append({"step": "working database", "bytes": db.stat().st_size})
    shutil.rmtree(workdir, ignore_errors=True)
    return steps


def table(results: dict) -> str:
    lines = ["| N | step | wall s | CPU s |", "|---|---|---|---|"]
    for n, steps in results["runs"].items():
        for s in steps:
            if "cpu_s" in s:
                lines.append(f"| {n} | {s['step']} | {s['wall_s']:.1f} | {s['cpu_s']:.1f} |")
        timed = [s for s in steps if "cpu_s" in s]
        lines.append(f"| {n} | **total after load** | {sum(s['wall_s'] for s in timed):.1f} | "
                     f"{sum(s['cpu_s'] for s in timed):.1f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="tenth")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--shards", default="1,2,4", help="comma-separated shard counts")
    ap.add_argument("--child", nargs=4, metavar=("STEP", "INBOX", "WORKDIR", "ARG"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        return child(*args.child)
    inbox, info = ensure_world(args.size, households_of(args.size), args.seed)
    base, base_steps = _base(inbox, info)
    results = {"size": args.size, "households": info["households"], "rows": info.get("rows_total"),
               "load_start": os.getloadavg()[0], "cpus": os.cpu_count(), "base": base_steps, "runs": {}}
    for n in (int(x) for x in args.shards.split(",")):
        results["runs"][str(n)] = measure(inbox, base, n)
    results["load_end"] = os.getloadavg()[0]
    (WORK / "results.json").write_text(json.dumps(results, indent=1), encoding="utf-8")
    print(f"size {args.size}: {info['households']:,} households, {info.get('rows_total', 0):,} rows; "
          f"load average {results['load_start']:.1f} → {results['load_end']:.1f}; cache {CACHE}")
    for s in base_steps:
        print(f"  once: {s['step']} wall {s['wall_s']:.1f} s, CPU {s['cpu_s']:.1f} s")
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
