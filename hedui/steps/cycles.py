"""Python's cycle collector paused while a step makes and drops its rows.

The link and report steps make millions of short-lived strings, tuples, row objects and dicts (decrypted IDs,
fetched rows, a batch's rows, each page's pieces, pages.parquet's rows) that reference counting frees; every
automatic collection walked them, and a full one every live object of the process as well (the pipeline's
imports), for nothing: those steps make no reference cycles of their own (0.19 CPU-s of link at tenth; 0.8 of
report).  A module of its own, so that a page worker does not import linkage's modules.
"""

from __future__ import annotations

import contextlib
import gc


@contextlib.contextmanager
def cycles_uncollected():
    """The cycle collector off for the block, back as it was after (also on an error)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()
