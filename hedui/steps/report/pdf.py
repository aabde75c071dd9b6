"""Render HTML pages to PDF and PNG with headless Chromium (Debian's, driven by Playwright).

One browser serves a whole batch; pages are local files, and every request
that is not a local file is refused so that nothing reaches the network.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from contextlib import contextmanager
from pathlib import Path

from hedui.errors import ConfigError

CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def chromium_path() -> str:
    """Debian's chromium; ConfigError naming the install command when it is missing."""
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    raise ConfigError("未找到 Chromium：请运行 make setup（或 apt-get install -y chromium fonts-noto-cjk）")


@contextmanager
def browser():
    """A headless Chromium browser (Playwright) that only loads local files."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


def _page(b, width: int = 1000):
    page = b.new_page(viewport={"width": width, "height": 1200})
    page.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file:")
               else route.abort())
    return page


def _in_browser(b, work) -> None:
    """Run `work(browser)` in `b`, or in a browser of its own when `b` is None."""
    if b is not None:
        work(b)
        return
    with browser() as own:
        work(own)


def to_pdf(pages: Iterable[tuple[Path, Path]], b=None) -> int:
    """Print each (html, pdf) pair to A4 PDF; return how many were written."""
    n = 0

    def work(br):
        nonlocal n
        page = _page(br)
        for html, pdf in pages:
            page.goto(Path(html).resolve().as_uri(), wait_until="load")
            # the page's @page rule sets size, margins and the page-number boxes (_style.html)
            page.pdf(path=str(pdf), format="A4", print_background=True, prefer_css_page_size=True)
            n += 1
        page.close()

    _in_browser(b, work)
    return n


def to_png(html: Path, png: Path, width: int = 1000, b=None) -> Path:
    """Screenshot a local HTML page (full page) to PNG."""
    def work(br):
        page = _page(br, width)
        page.goto(Path(html).resolve().as_uri(), wait_until="load")
        page.screenshot(path=str(png), full_page=True)
        page.close()

    _in_browser(b, work)
    return png
