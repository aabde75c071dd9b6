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


# Ctrl+C stopped the run and its one Chinese line said 130; another SIGINT then (a second press, or one a library's
# handler re-sent) reached the shutting-down interpreter: a KeyboardInterrupt traceback after the line, or, once the
# interpreter had handed SIGINT back to its default, the process killed by it (CI: exit -2 instead of 130)
_PRESS_AGAIN_WHILE_EXITING = """
import atexit
import os
import signal
import sys
import time

import hedui.cli as cli


def stopped(args):
    raise KeyboardInterrupt  # as a press during the run


def pressed_again():
    os.kill(os.getpid(), signal.SIGINT)
    time.sleep(0.3)


cli.plain_arguments = stopped
atexit.register(pressed_again)
sys.argv = ["hedui", "run", "--inbox", sys.argv[1], "--date", "20261128", "--workdir", sys.argv[2]]
sys.exit(cli.main())
"""


def test_a_second_ctrl_c_while_the_stopped_run_exits_changes_nothing(tmp_path):
    out = subprocess.run([sys.executable, "-c", _PRESS_AGAIN_WHILE_EXITING, str(tmp_path / "inbox"),
                          str(tmp_path / "work")], capture_output=True, text=True, timeout=120,
                         preexec_fn=_sigint_as_from_a_terminal)
    assert out.returncode == 130, (out.returncode, out.stderr[-2000:])
    assert out.stderr.strip() == "已中断：本批次未完成；可直接重跑同一日期。", out.stderr[-2000:]
