"""CS: staging's Arrow buffers come from the C library's allocator (session 35: −10 % of the sources step's CPU-s).

`hedui.steps.stage_db.use_system_allocator` switches the process's Arrow pool unless the operator chose one with
``ARROW_DEFAULT_MEMORY_POOL``; `hedui.pipeline.ingest_source` (the nightly DAG's and `hedui run`'s per-source entry)
switches before it reads a byte.  Each case runs in its own interpreter: the pool is process-wide.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _backend(code: str, pool: str | None = None) -> str:
    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    if pool:
        env["ARROW_DEFAULT_MEMORY_POOL"] = pool
    out = subprocess.run([sys.executable, "-c", code + "\nimport pyarrow as pa\nprint(pa.default_memory_pool().backend_name)"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=True)
    return out.stdout.strip().splitlines()[-1]


def test_cs01_system_pool_unless_the_operator_chose():
    switch = "from hedui.steps.stage_db import use_system_allocator\nuse_system_allocator()"
    assert _backend("") != "system"  # pyarrow's own default: the switch below is what changes it
    assert _backend(switch) == "system"
    assert _backend(switch, pool="jemalloc") == "jemalloc"


def test_cs02_ingest_source_switches_before_reading():
    code = ("from hedui import pipeline\n"
            "class Ctx:\n    workdir = None\n"
            "try:\n    pipeline.ingest_source(Ctx(), 'bank')\nexcept Exception:\n    pass")
    assert _backend(code) == "system"
