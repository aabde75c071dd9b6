"""GX Data Docs of a run, readable offline (hedui.steps.validate.datadocs)."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hedui.steps.validate.check import validate_source
from hedui.steps.validate.datadocs import CDN_ASSETS, VENDOR_DIR, build_data_docs

RUN_DATE = "2026-11-28"
CHROMIUM = Path("/usr/bin/chromium")
REMOTE_ASSET = re.compile(r"""<(?:script|link|img)\b[^>]*(?:src|href)\s*=\s*["'](?:https?:)?//""", re.I)


def staged_bank(path: Path) -> Path:
    """Four bank rows: one with a negative balance, one with an account type outside the map."""
    file_name = "bank/20261128/bank_1.csv"
    ids = ["360102199001010018", "360102199001010026", "360102199001010034", "360102199001010042"]
    rows = {
        "institution": ["某银行"] * 4, "name": ["张三", "李四", "王五", "赵六"], "id_number": ids,
        "account_no": [f"62220000111122{i:02d}" for i in range(4)],
        "account_type": ["活期", "定期", "信用卡", "理财"], "balance_yuan": [100.0, -50.0, 20.0, 1e6],
        "query_date": [dt.date(2026, 11, 20)] * 4, "id_norm": ids, "id_status": ["valid"] * 4,
        "name_norm": ["张三", "李四", "王五", "赵六"], "run_date": [RUN_DATE] * 4, "source": ["bank"] * 4,
        "delivery_date": ["20261128"] * 4, "file_name": [file_name] * 4,
        "row_no": pa.array([2, 3, 4, 5], pa.int32()), "record_id": [f"bank:{file_name}:{i}" for i in range(2, 6)],
    }
    pq.write_table(pa.table(rows), path)
    return path


@pytest.fixture(scope="module")
def docs(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("run")
    docs_dir = tmp / "reports" / RUN_DATE / "datadocs"
    result = validate_source("bank", staged_bank(tmp / "bank.parquet"), RUN_DATE, tmp / "passed.parquet",
                             tmp / "quarantine.parquet", docs_dir=docs_dir, expected_rows=4)
    assert result.status == "failed"
    assert result.gx_result_path == str(docs_dir / "_results" / "stg_bank.json")
    return docs_dir


def validation_page(docs_dir: Path) -> Path:
    [page] = (docs_dir / "validations" / "stg_bank").rglob("*.html")
    return page


def test_the_run_gets_an_index_a_suite_page_and_a_validation_page(docs):
    assert (docs / "index.html").exists()
    assert (docs / "expectations" / "stg_bank.html").exists()
    html = validation_page(docs).read_text(encoding="utf-8")
    assert "values must belong to this set" in html
    assert "被隔离的记录占 50%（2/4 行），超过允许的 2%" in html
    assert "本来源未通过校验" in html


def test_no_page_loads_anything_from_the_network(docs):
    for page in docs.rglob("*.html"):
        html = page.read_text(encoding="utf-8")
        assert not REMOTE_ASSET.search(html), page
        assert "url('http" not in html and 'url("http' not in html, page
        for ref in re.findall(r'(?:src|href)="([^"#:]+\.(?:css|js|png))"', html):
            assert (page.parent / ref).resolve().exists(), (page, ref)


def test_the_status_gx_shows_is_the_verdict_on_the_source(docs):
    saved = json.loads((docs / "_results" / "stg_bank.json").read_text(encoding="utf-8"))
    assert saved["success"] is False
    assert saved["meta"]["hedui"]["status"] == "failed"


def test_every_cdn_asset_gx_uses_is_vendored_or_dropped():
    for local in filter(None, CDN_ASSETS.values()):
        assert (VENDOR_DIR / local).is_file(), local


def test_personal_values_do_not_reach_the_saved_results(docs):
    saved = (docs / "_results" / "stg_bank.json").read_text(encoding="utf-8")
    assert "360102199001010026" not in saved
    assert "unexpected_index_list" not in json.loads(saved)["results"][0]["result"]


def test_rebuilding_keeps_one_page_per_source(docs):
    build_data_docs(docs)
    build_data_docs(docs)
    assert len(list((docs / "validations").rglob("*.html"))) == 1


@pytest.mark.browser
def test_the_pages_render_styled_in_headless_chromium_without_network(docs, tmp_path):
    if not CHROMIUM.exists():
        if os.environ.get("HEDUI_REQUIRE_SERVICES") == "1":
            pytest.fail(f"{CHROMIUM} is missing (apt-get install chromium)")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    blocked: list[str] = []
    errors: list[str] = []

    def only_local(route):
        url = route.request.url
        if url.startswith(("file://", "data:")):
            route.continue_()
        else:
            blocked.append(url)
            route.abort()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run",
        ])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1600})
            page.route("**/*", only_local)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(validation_page(docs).as_uri())
            page.wait_for_load_state("load")
            page.screenshot(path=str(tmp_path / "validation.png"), full_page=True)

            # Bootstrap's stylesheet is applied: its font stack and its alert colours.
            assert "Segoe UI" in page.evaluate("getComputedStyle(document.body).fontFamily")
            verdict = page.locator("#hedui-verdict")
            assert verdict.is_visible()
            assert page.evaluate(
                "getComputedStyle(document.getElementById('hedui-verdict')).backgroundColor"
            ) == "rgb(248, 215, 218)"
            # Font Awesome (vendored webfont) draws the status icons.
            assert "Font Awesome" in page.evaluate(
                "getComputedStyle(document.querySelector('.fa-times, .fa-check-circle'), '::before').fontFamily"
            )
            table = page.locator("table", has_text="values must belong to this set").first
            assert table.is_visible()
            assert table.locator("text=信用卡").first.is_visible()

            page.goto((docs / "index.html").as_uri())
            page.wait_for_load_state("load")
            page.screenshot(path=str(tmp_path / "index.png"))
            # bootstrap-table (vendored JS) has turned the results list into its widget.
            assert page.locator(".bootstrap-table").first.is_visible()
            assert page.locator("td", has_text="stg_bank").first.is_visible()
        finally:
            browser.close()
    assert blocked == []
    assert errors == []
    assert (tmp_path / "validation.png").stat().st_size > 10_000
