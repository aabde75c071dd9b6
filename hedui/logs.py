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


def setup_logging(verbose: bool) -> None:
    handler = logging.StreamHandler()
    handler.addFilter(_MaskingFilter())
    handler.setFormatter(MaskedFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, handlers=[handler], force=True)
    for noisy in ("great_expectations", "py.warnings"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
