"""Python's cycle collector paused while the report step makes and drops its rows.

The step makes millions of short-lived tuples, row objects and dicts (a batch's rows, each page's pieces,
pages.parquet's rows) that reference counting frees; every automatic collection walked them, and a full one
every live object of the process as well (the step's parent holds the pipeline's imports), for nothing: the
step makes no reference cycles of its own.  `hedui.steps.link.cycles_uncollected` is the same pause for
linkage; this one is here so that a page worker does not import linkage's modules.
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
