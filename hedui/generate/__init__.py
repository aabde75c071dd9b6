"""Sample-delivery generator: a synthetic inbox of department deliveries plus its truth.

``generate(out, households, seed, date)`` writes ``out/<source>/<date>/<files>``
with ``.ok`` markers for the 核对委托 (``requests``) and the eleven departments,
in the formats, encodings and messiness of ``shared/spec/sources.md``, and
``out/truth.csv`` (``request_id,scenario,outcome,findings``): what a correct
verification must conclude for every household.  Output is byte-identical for
a seed and is streamed, so province-sized worlds need no more memory than small
ones.  All people are synthetic.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

from .world import MAX_HOUSEHOLDS, SCENARIOS, SOURCES, TRUTH, GenerateSummary, World

__all__ = ["MAX_HOUSEHOLDS", "SCENARIOS", "SOURCES", "TRUTH", "GenerateSummary", "generate"]


def generate(out: Path | str, households: int, seed: int, date: str) -> GenerateSummary:
    """Write a sample inbox for run date ``date`` (YYYYMMDD) with ``households`` households."""
    date = str(date)
    try:
        dt.datetime.strptime(date, "%Y%m%d")
    except ValueError:
        raise ValueError(f"date must be YYYYMMDD, got {date!r}") from None
    if len(date) != 8:
        raise ValueError(f"date must be YYYYMMDD, got {date!r}")
    if households < 0:
        raise ValueError("households must be >= 0")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    world = World(out, int(households), int(seed), date)
    for h in range(int(households)):
        world.household(h)
    summary = GenerateSummary(out=out, date=date, seed=int(seed), households=int(households))
    world.close(summary)
    summary.seconds = time.perf_counter() - started
    return summary
