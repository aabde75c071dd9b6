"""Progress of a run's long steps: a bar on a terminal, plain lines otherwise.

On a terminal (stderr is a TTY) one line is redrawn: ``核对批次 20261128 [######····] 7/12 导入 tax``.
Otherwise — a log file, cron, Airflow — every finished part is one plain
line, so the log says how far a run got.  ``HEDUI_PROGRESS=0`` silences it.
"""

from __future__ import annotations

import os
import sys
import time


class Progress:
    def __init__(self, label: str, stream=None):
        self.label = label
        self.stream = stream or sys.stderr
        self.enabled = os.environ.get("HEDUI_PROGRESS", "1") != "0"
        self.tty = self.enabled and hasattr(self.stream, "isatty") and self.stream.isatty()
        self.total = 0
        self.done = 0
        self.started = time.perf_counter()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()

    def expect(self, n: int) -> None:
        """Announce `n` more parts to come."""
        self.total += n

    def advance(self, what: str) -> None:
        """One part is finished."""
        self.done += 1
        if not self.enabled:
            return
        elapsed = time.perf_counter() - self.started
        if self.tty:
            width = 24
            filled = width * self.done // max(self.total, 1)
            bar = "#" * filled + "·" * (width - filled)
            self.stream.write(f"\r\x1b[2K{self.label} [{bar}] {self.done}/{self.total} {what}（{elapsed:.0f} 秒）")
        else:
            self.stream.write(f"{self.label}：{self.done}/{self.total} {what} 完成（{elapsed:.1f} 秒）\n")
        self.stream.flush()
