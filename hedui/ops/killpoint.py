"""Test hook proving that a run killed anywhere can simply be re-run.

``HEDUI_TEST_KILL_AT=<point>`` makes a run SIGKILL its own process group (the
`hedui run` process, its ingest workers and page renderers) when it reaches
<point>, exactly as an out-of-memory kill or a power cut would stop it:

- ``ingest:<source>``  after that source is staged and validated
- ``after:<step>``     after a step of `hedui run` finished (load, link, assess, report)
- ``link``             inside the link step's transaction, before its commit
- ``report``           in the report step, after the page data are exported, before any page is written
- ``publish``          in the publish step, the auditor database written apart, before it is swapped in
- ``report:batch``     in the report step, after a batch of pages is written (in the page worker)
- ``report:index``     in the report step, after every page, before pages.parquet is written
- ``late:assess``      in a late delivery (`hedui late`), after the date is re-assessed, before its report

Only tests set it (tests/test_kill_rerun.py, which starts each run in its own
session); it is never set in a deployment.
"""

from __future__ import annotations

import os
import signal

ENV = "HEDUI_TEST_KILL_AT"


def kill_point(name: str) -> None:
    """SIGKILL this process group if HEDUI_TEST_KILL_AT names this point."""
    if os.environ.get(ENV) == name:
        os.killpg(os.getpgrp(), signal.SIGKILL)
