"""The demo's report in headless Chromium (Debian's package, driven by Playwright): it loads
nothing but itself, logs no error, a finding leads to its principal and the plot is drawn,
paging, searching and sorting work, and a raw record is the record in the input file.
Without a browser: skipped outside CI, failed in CI (tests/conftest.require)."""

from __future__ import annotations

import base64
import gzip
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.report_html_support import Opened, Page, browser, report
from tests.test_cli import th
from trailhound.demo import dataset_path

__all__ = ["browser"]  # the fixture, imported for pytest

DEMO = str(dataset_path())


@pytest.fixture(scope="module")
def demo_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "report.html"
    got = report(out, DEMO)
    assert got.returncode == 0, got.stderr
    return out


@pytest.fixture(scope="module")
def detect_rows() -> list[dict[str, Any]]:
    got = th("detect", "--format", "jsonl", "-q", DEMO)
    return [json.loads(line) for line in got.stdout.splitlines()]


@pytest.fixture
def opened(browser: Any, demo_report: Path) -> Iterator[Opened]:
    o = Opened(browser, demo_report)
    yield o
    o.close()


def _shown_indexes(o: Opened) -> list[int]:
    return [int(x) for x in o.page.eval_on_selector_all(
        "tr.finding-row", "rows => rows.map(r => r.dataset.index)")]


def test_finding_to_principal_and_its_plot(opened: Opened, demo_report: Path,
                                           detect_rows: list[dict[str, Any]]) -> None:
    page = opened.page
    # the fourth finding's principal, as detect names it
    want = detect_rows[3]["userArn"]
    link = page.locator("tr.finding-row").nth(3).locator(".principal-link")
    assert link.inner_text() == want
    link.click()
    card = page.locator(".principal.selected")
    assert card.count() == 1
    assert card.locator(".name").inner_text() == want
    assert card.is_visible()
    assert page.evaluate("() => { const r = document.querySelector('.principal.selected')"
                         ".getBoundingClientRect(); return r.top >= -1 && r.top < innerHeight; }")
    img = card.locator("img.plot")
    img.scroll_into_view_if_needed()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=img.element_handle())
    box = img.bounding_box()
    assert box is not None and box["width"] > 300 and box["height"] > 60
    # the picture has one dot per finding of the principal (counted in detect's rows)
    svg = base64.b64decode(img.get_attribute("src").split(",", 1)[1]).decode()  # type: ignore[union-attr]
    assert svg.count("<circle") == sum(1 for r in detect_rows if r["userArn"] == want)
    # and it is drawn: the pixels under it are not all one colour
    shot = img.screenshot()
    assert len(set(shot[200:])) > 50
    opened.assert_clean()


def test_page_two(opened: Opened, detect_rows: list[dict[str, Any]]) -> None:
    page = opened.page
    assert _shown_indexes(opened) == list(range(50))
    assert page.inner_text("#page-label") == "page 1 of 2"
    page.click("#pager-next-top")
    assert page.inner_text("#page-label") == "page 2 of 2"
    assert _shown_indexes(opened) == list(range(50, len(detect_rows)))
    ops = page.eval_on_selector_all("tr.finding-row td:nth-child(3)", "c => c.map(x => x.textContent)")
    assert ops == [r["eventName"] or r["operationName"] for r in detect_rows[50:]]
    opened.assert_clean()


def test_search_and_sort(opened: Opened, detect_rows: list[dict[str, Any]]) -> None:
    page = opened.page
    page.fill("#search", "ci-deployer@")
    expect = [i for i, r in enumerate(detect_rows) if "ci-deployer@" in (r["userArn"] or "")]
    assert expect
    page.wait_for_function(f"() => document.querySelectorAll('tr.finding-row').length === {len(expect)}")
    assert _shown_indexes(opened) == expect
    assert page.inner_text("#count") == f"{len(expect)} of {len(detect_rows)} findings"
    page.fill("#search", "")
    page.wait_for_function("() => document.querySelectorAll('tr.finding-row').length === 50")
    header = page.locator("th.sortable[data-col='time']")
    header.click()  # newest first
    header.click()  # oldest first
    times = page.eval_on_selector_all("tr.finding-row td.time", "c => c.map(x => x.textContent)")
    assert times == sorted(r["time"] for r in detect_rows)[:50]
    opened.assert_clean()


_ORIGIN = re.compile(r"^(?P<path>.+) at /Records/(?P<i>\d+)$")


def test_raw_record_is_the_record_in_the_file(opened: Opened, detect_rows: list[dict[str, Any]]) -> None:
    page = opened.page
    i = next(i for i, r in enumerate(detect_rows[:50]) if _ORIGIN.match(r["origin"]))
    m = _ORIGIN.match(detect_rows[i]["origin"])
    assert m is not None
    with gzip.open(m["path"], "rt", encoding="utf-8") as f:
        expect = json.load(f)["Records"][int(m["i"])]
    page.locator("tr.finding-row").nth(i).locator("td.score").click()
    page.locator(".raw-button").click()
    assert json.loads(page.locator("pre.raw-record").inner_text()) == expect
    opened.assert_clean()


def test_rule_guide_from_a_signal(opened: Opened, demo_report: Path) -> None:
    page = opened.page
    data = Page(demo_report.read_text(encoding="utf-8")).json_block("data")
    page.locator("tr.finding-row").first.locator("td.score").click()
    link = page.locator(".rule-link").first
    title = link.inner_text()
    rule = next(r for r in data["rules"] if r["title"] == title)
    link.click()
    guide = page.locator(f"#rule-{data['rules'].index(rule)}")
    assert guide.evaluate("d => d.open")
    text = guide.inner_text()
    for heading in ("What it means", "What to check", "Containment"):
        assert heading in text
    for h in rule["hunts"]:
        assert f"trailhound hunt {h['name']} PATH" in text
    opened.assert_clean()


def test_page_says_what_it_plots_and_what_it_leaves_out(browser: Any, tmp_path: Path,
                                                       detect_rows: list[dict[str, Any]]) -> None:
    """The plotted principals are named above them; a page cut by --max-findings says so at its
    top and above its findings, with the counts (oracle: detect's rows)."""
    out = tmp_path / "cut.html"
    got = report(out, "--max-findings", "5", DEMO)
    assert got.returncode == 0, got.stderr
    o = Opened(browser, out)
    try:
        page = o.page
        n = len(detect_rows)
        assert page.locator("#plotted").is_visible()
        assert page.inner_text("#plotted").startswith("Every principal has a timeline plot")
        assert page.inner_text("#findings-cut") == (
            f"The 5 highest-scored of {n} findings are in this page; {n - 5} more are not "
            "(trailhound detect lists them all).")
        assert any(f"the 5 highest-scored of {n} findings" in t
                   for t in page.eval_on_selector_all("header .note", "ns => ns.map(x => x.textContent)"))
        assert page.inner_text("#count") == "5 of 5 findings"
        o.assert_clean()
    finally:
        o.close()
