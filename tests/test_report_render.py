"""Reports rendered the way staff see them: headless Chromium to PNG, Chromium to PDF, PDF to PNG."""

from __future__ import annotations

import csv
import shutil
import subprocess

import pytest
from conftest import skip_or_fail


@pytest.fixture(scope="module")
def chromium():
    if not shutil.which("chromium"):
        skip_or_fail("Debian's chromium is not installed (make setup installs it)")


def _first(ctx, outcome):
    with open(ctx.report_dir / "outcomes.csv", encoding="utf-8") as fh:
        return next(r["request_id"] for r in csv.DictReader(fh) if r["outcome"] == outcome)


@pytest.mark.browser
def test_a_household_report_prints_to_a_pdf_with_chinese_text(chromium, world_run, tmp_path):
    from hedui.steps.report.display import safe_name
    from hedui.steps.report.outputs import write_pdfs

    ctx, _ = world_run
    rid = _first(ctx, "FINDINGS")
    assert write_pdfs(ctx.report_dir, [rid]) == 1
    pdf = ctx.report_dir / "households" / f"{safe_name(rid)}.pdf"
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "家庭经济状况核对报告" in text
    assert "发现以下情形" in text
    assert "演示" in text  # demonstration policy figures are marked
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page")],
                   check=True)
    png = next(tmp_path.glob("page*.png"))
    assert png.stat().st_size > 20_000  # a rendered page, not a blank one
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert fonts.count("yes") >= 2  # fonts are embedded (Chromium subsets the CJK font as Type 3)


@pytest.mark.browser
def test_the_summary_and_a_report_render_in_chromium(chromium, world_run, tmp_path):
    from hedui.steps.report.display import safe_name
    from hedui.steps.report.pdf import browser, to_png

    ctx, _ = world_run
    rid = _first(ctx, "INCOMPLETE")
    with browser() as b:
        page = b.new_page()
        page.goto((ctx.report_dir / "index.html").as_uri())
        assert page.locator("svg rect").count() >= 3  # outcome and finding charts, drawn offline
        assert "核对批次汇总" in page.title()
        # every chart label ends before its bar starts (the longest finding label is 17 characters)
        overlaps = page.evaluate("""() => [...document.querySelectorAll('svg')].flatMap(svg => {
            const texts = [...svg.querySelectorAll('text')], rects = [...svg.querySelectorAll('rect')];
            return rects.map((r, i) => [texts[2 * i].textContent,
                texts[2 * i].getBBox().x + texts[2 * i].getBBox().width - r.x.baseVal.value])
              .filter(([, over]) => over > -4); })""")
        assert page.locator("svg text", has_text="涉及成员的记录被隔离").count() == 1
        assert overlaps == []
        page.goto((ctx.report_dir / "households" / f"{safe_name(rid)}.html").as_uri())
        assert page.locator(".outcome.INCOMPLETE").is_visible()
        assert page.locator("h2", has_text="核对信息不完整之处").is_visible()
        to_png(ctx.report_dir / "index.html", tmp_path / "summary.png", b=b)
    assert (tmp_path / "summary.png").stat().st_size > 20_000
