"""Logging for every hedui process: one format, and no full ID or account number in any line."""

from __future__ import annotations

import logging

from hedui.audit.log import mask_free_text as mask_text


class _MaskingFilter(logging.Filter):
    """Never let a full ID number reach a log line."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = mask_text(record.getMessage())
        record.args = None
        return True


class MaskedFormatter(logging.Formatter):
    """The whole line masked, traceback included: an error's message may quote a delivered ID or account."""

    def format(self, record: logging.LogRecord) -> str:
        return mask_text(super().format(record))


class _StderrNow(logging.StreamHandler):
    """A handler writing to the standard error the process has *now*, not the one it had when `setup_logging` ran.

    `hedui.cli.main` run in a process that lives on (an Airflow worker's task, a test calling it, a workspace server
    in the same process) left the root handler bound to the stream of that moment; once that stream was replaced
    and closed (a task's or a test's capture ended), every later warning of any thread — a page's request, a
    decision waiting for a reader of the database — failed inside logging and printed "--- Logging error ---
    Traceback …" into whatever stderr was current, another command's answer included (test_hostile5's oh11)."""

    def __init__(self) -> None:
        logging.Handler.__init__(self)

    @property
    def stream(self):  # logging.StreamHandler reads `self.stream` on every record
        import sys

        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:  # StreamHandler.setStream: nothing is kept
        pass


def setup_logging(verbose: bool) -> None:
    handler = _StderrNow()
    handler.addFilter(_MaskingFilter())
    handler.setFormatter(MaskedFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, handlers=[handler], force=True)
    for noisy in ("great_expectations", "py.warnings"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
