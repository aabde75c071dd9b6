"""Data Docs show delivered values as text: a script payload stays inert in real headless Chromium."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from test_datadocs import RUN_DATE, staged_bank

import hedui.steps.validate.datadocs as datadocs
from hedui.steps.validate.check import validate_source

IMG = "<img src=x onerror=\"document.title='XSS-IMG';window.__xss=(window.__xss||0)+1\">"
SCRIPT = "<script>document.title='XSS-SCRIPT';window.__xss=(window.__xss||0)+1</script>"


def _docs_with_payload(tmp: Path) -> Path:
    """Bank rows whose 账户类型 (an allowed-values check) hold the payloads; returns the validation page."""
    staged = staged_bank(tmp / "bank.parquet")
    table = pq.read_table(staged)
    rows = table.to_pydict()
    rows["account_type"] = ["活期", IMG, SCRIPT, "理财"]
    pq.write_table(pa.table(rows, schema=table.schema), staged)
    docs_dir = tmp / "datadocs"
    result = validate_source("bank", staged, RUN_DATE, tmp / "passed.parquet", tmp / "quarantine.parquet",
                             docs_dir=docs_dir, expected_rows=4)
    assert result.status == "failed"
    [page] = (docs_dir / "validations" / "stg_bank").rglob("*.html")
    return page


def _open_in_chromium(*pages: Path) -> list[tuple[str, object, str]]:
    """Per page: (document.title, window.__xss, the visible text) after it loaded in Chromium."""
    from hedui.steps.report.pdf import _page, browser

    out = []
    with browser() as b:
        for page_path in pages:
            page = _page(b)
            page.goto(page_path.resolve().as_uri(), wait_until="load")
            page.wait_for_timeout(300)  # an onerror handler runs after the failed image load
            out.append((page.title(), page.evaluate("window.__xss === undefined ? null : window.__xss"),
                        page.inner_text("body")))
            page.close()
    return out


def test_a_delivered_script_payload_is_shown_as_text_and_never_runs(tmp_path, monkeypatch):
    page = _docs_with_payload(tmp_path)
    html = page.read_text(encoding="utf-8")
    assert IMG not in html and SCRIPT not in html
    # the control: the same saved result rendered without the sanitizer (GX alone) runs the payload
    raw_docs = tmp_path / "raw_docs"
    shutil.copytree(tmp_path / "datadocs" / "_results", raw_docs / "_results")
    with monkeypatch.context() as m:
        m.setattr(datadocs, "sanitize_result", lambda data: data)
        datadocs.build_data_docs(raw_docs)
    [raw_page] = (raw_docs / "validations" / "stg_bank").rglob("*.html")

    (title, xss, text), (_, raw_xss, _) = _open_in_chromium(page, raw_page)
    assert xss is None, "a delivered payload ran in the Data Docs page"
    assert "XSS" not in title
    assert IMG in text and SCRIPT in text  # shown as the text it is, for staff to see what was delivered
    if raw_xss is None:
        pytest.fail("GX no longer renders values unescaped: datadocs.sanitize_result now double-escapes")
    assert raw_xss >= 1
