"""Helpers of the HTML report tests (tests/test_report_html*.py): run `trailhound report`, take
the page apart with the standard library's HTML parser, and drive Debian's Chromium through
Playwright (missing: skip outside CI, fail in CI, per conftest.require)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import require
from tests.test_cli import th

CHROMIUM = Path("/usr/bin/chromium")


def report(out: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return th("report", "-q", "-o", str(out), *args)


class Page(HTMLParser):
    """Every element (tag, attributes) and the text of each <script> and <style>."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self.styles: list[str] = []
        self._open: tuple[str, dict[str, str | None]] | None = None
        self._text: list[str] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag in ("script", "style"):
            self._open, self._text = (tag, dict(attrs)), []

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if self._open is not None and tag == self._open[0]:
            text = "".join(self._text)
            if tag == "script":
                self.scripts.append((self._open[1], text))
            else:
                self.styles.append(text)
            self._open = None

    def json_block(self, block_id: str) -> Any:
        for attrs, text in self.scripts:
            if attrs.get("id") == block_id:
                assert attrs.get("type") == "application/json"
                return json.loads(text)
        raise AssertionError(f"no JSON block {block_id!r}")


def finding(data: dict[str, Any], i: int) -> dict[str, Any]:
    """The page's finding i as a dict (the page holds arrays in data['meta']['fields'] order)."""
    return dict(zip(data["meta"]["fields"], data["findings"][i], strict=True))


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Debian Chromium through Playwright (Playwright's own download is not used).
    Per module: each test module imports this fixture, and two Playwright instances cannot be
    alive at once, so one module's must be closed before the next one starts."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    require(sync_playwright is not None, "playwright is not installed (pip install '.[test]')")
    require(CHROMIUM.is_file(),
            f"no Chromium at {CHROMIUM} (apt-get install chromium; .ci/run does it in CI)")
    assert sync_playwright is not None
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield b
        b.close()


class Opened:
    """A report opened in a fresh page, with every request, console message and page error
    recorded. `url`: the file itself, the only request allowed."""

    def __init__(self, browser: Any, path: Path) -> None:
        self.page = browser.new_page(viewport={"width": 1300, "height": 1000})
        self.url = path.resolve().as_uri()
        self.requests: list[str] = []
        self.console: list[tuple[str, str]] = []
        self.errors: list[str] = []
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("console", lambda m: self.console.append((m.type, m.text)))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        # anything but the file itself is refused (and recorded above): nothing may leave
        self.page.route("**/*", lambda route: route.continue_() if route.request.url == self.url
                        else route.abort())
        self.page.goto(self.url)
        self.page.wait_for_selector("body[data-ready]")

    def assert_clean(self) -> None:
        assert self.errors == []
        assert [c for c in self.console if c[0] in ("error", "warning")] == []
        assert self.requests == [self.url]

    def close(self) -> None:
        self.page.close()
