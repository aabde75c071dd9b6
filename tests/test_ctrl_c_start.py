"""Ctrl+C while the source workers' forkserver starts: the run stops (it was lost, and the run went on)."""

from __future__ import annotations

import subprocess
import sys

# Ctrl+C arrives exactly while the forkserver is being started (SIGINT ignored there, so that it and the
# workers inherit deafness): the press must not be lost.
_PRESS_DURING_START = """
import multiprocessing as mp
import os
import signal
from multiprocessing import forkserver

from hedui.steps import source_pool

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


def test_ctrl_c_while_the_forkserver_starts_is_not_lost():
    out = subprocess.run([sys.executable, "-c", _PRESS_DURING_START], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "interrupted", (out.stdout, out.stderr[-2000:])
    assert "Traceback" not in out.stderr, out.stderr[-2000:]
