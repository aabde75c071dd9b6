"""Ctrl+C while the source workers' forkserver starts: the run stops (it was lost, and the run went on)."""

from __future__ import annotations

import subprocess
import sys

import pytest

# Ctrl+C arrives exactly while the forkserver is being started (SIGINT blocked there, so that it and the
# workers inherit deafness): the press must not be lost, also when DuckDB's threads run beside (CI: the
# press was handed to one of them while this thread ignored SIGINT, and the run went on to the end).
_PRESS_DURING_START = """
import multiprocessing as mp
import os
import signal
import sys
from multiprocessing import forkserver

import duckdb

from hedui.steps import source_pool

if sys.argv[1] == "threads":
    con = duckdb.connect()
    con.execute("set threads = 4")
    con.sql("select sum(range) from range(20000000)").fetchall()
    assert len(os.listdir("/proc/self/task")) > 1

real = forkserver.ensure_running


def pressed():
    os.kill(os.getpid(), signal.SIGINT)
    real()


forkserver.ensure_running = pressed
try:
    source_pool._start_forkserver_deaf_to_ctrl_c(mp.get_context("forkserver"))
except KeyboardInterrupt:
    print("interrupted")
else:
    print("lost")
"""


def _sigint_as_from_a_terminal() -> None:
    """SIGINT at its default and unblocked in the child, whatever this test process inherited (an ignored SIGINT is
    inherited across exec, and Python keeps it ignored: the press would be lost for that reason alone)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


@pytest.mark.parametrize("beside", ["alone", "threads"])
def test_ctrl_c_while_the_forkserver_starts_is_not_lost(beside):
    out = subprocess.run([sys.executable, "-c", _PRESS_DURING_START, beside], capture_output=True, text=True,
                         timeout=120, preexec_fn=_sigint_as_from_a_terminal)
    assert out.stdout.strip() == "interrupted", (out.stdout, out.stderr[-2000:])
    assert "Traceback" not in out.stderr, out.stderr[-2000:]
