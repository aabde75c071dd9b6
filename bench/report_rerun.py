"""The report step alone, first run and re-run, in CPU seconds (this process and its page workers).

    python -m bench.report_rerun --size tenth [--rounds 2]

Runs ``hedui run`` once on the cached bench world (bench/cache/<size>-<seed>/inbox, made by
``python -m bench.pipeline``) into bench/cache/<size>-<seed>/report-work, unless that is done already;
then, per round, the report step with its folder removed (a first run) and again without a change (a
re-run, where no page's content changed), printing CPU and wall seconds of each.  CPU seconds are the
figure to compare on a shared machine.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

from bench.pipeline import BENCH_KEYS, CACHE, DATE

ROOT = Path(__file__).resolve().parent.parent


def _env() -> None:
    os.environ.setdefault("HEDUI_REPORT_PDF", "none")
    os.environ.setdefault("HEDUI_THREADS", "2")
    for key in BENCH_KEYS:
        os.environ.setdefault(key, base64.b64encode(hashlib.sha256(f"hedui bench {key}".encode()).digest()).decode())


def _cpu() -> float:
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def measure(workdir: Path, inbox: Path, first: bool) -> tuple[float, float]:
    from hedui.pipeline import RunContext, report

    ctx = RunContext.of(inbox, workdir, DATE)
    if first:
        shutil.rmtree(ctx.report_dir / "households", ignore_errors=True)
        (ctx.report_dir / "pages.parquet").unlink(missing_ok=True)
    cpu, wall = _cpu(), time.perf_counter()
    report(ctx)
    return _cpu() - cpu, time.perf_counter() - wall


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", default="tenth")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--step", choices=("first", "rerun"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    _env()
    base = CACHE / f"{args.size}-{args.seed}"
    inbox, workdir = base / "inbox", base / "report-work"
    if args.step:  # one measurement in a fresh process
        cpu, wall = measure(workdir, inbox, args.step == "first")
        print(f"{args.step}\t{cpu:.2f}\t{wall:.2f}")
        return 0
    if not (inbox.parent / "world.json").exists():
        raise SystemExit(f"no bench world at {inbox}: run python -m bench.pipeline --size {args.size} first")
    if not (workdir / "hedui.duckdb").exists():
        shutil.rmtree(workdir, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "hedui.cli", "run", "--inbox", str(inbox), "--date", DATE,
                        "--workdir", str(workdir)], check=False, cwd=ROOT)
    print("step\tcpu_s\twall_s")
    for _ in range(args.rounds):
        for step in ("first", "rerun"):
            out = subprocess.run([sys.executable, "-m", "bench.report_rerun", "--size", args.size, "--seed",
                                  str(args.seed), "--step", step], check=True, capture_output=True, text=True,
                                 cwd=os.getcwd())
            print(out.stdout.strip().splitlines()[-1], flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
