"""Report step CPU (session 30): the page workers' fixed cost, and what the parent still does for them."""

from __future__ import annotations

import subprocess
import sys

import pytest

from hedui.steps.report import pages


def test_BO01_a_page_worker_imports_no_connectors_nor_polars():
    """A page worker is a fresh interpreter (`pages.WORKER_ENTRY`): importing the page modules must not pull in
    the connectors package and polars (≈ 0.45 CPU-s per worker, two workers per report step), which only the
    parent needs (to mask a failed worker's log)."""
    code = (
        "import sys\n"
        "import hedui.steps.report.pages, hedui.steps.report.fastpage, hedui.steps.report.digests\n"
        "import hedui.steps.report.versions, hedui.steps.workdays\n"
        "print(sorted(m for m in ('polars', 'connectors', 'pandas') if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_BO02_a_failed_worker_log_is_still_masked(tmp_path):
    """The parent masks a failed worker's log before raising (the import moved into the error path)."""
    parts = tmp_path / "36010219900101123X"
    parts.mkdir()
    (parts / "tmp").write_text("not a folder")  # the worker's `(parts / "tmp").mkdir(exist_ok=True)` fails
    common = {"parts": str(parts), "folder": str(parts / "households"), "run_date": "20261128", "heads": {},
              "records": [], "statuses_html": "", "source_names": {}, "template": "x", "explicit": False,
              "reissue": None, "previous": None}
    with pytest.raises(RuntimeError) as raised:
        with pages._pages_rendered(common, 2, 2, in_process=False) as wait:
            wait()
    message = str(raised.value)
    assert "report worker 0 failed" in message
    assert "36010219900101123X" not in message
    assert "360102********123X" in message
