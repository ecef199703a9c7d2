"""A correlation hit past correlate.LISTED events in the HTML report: the rows list the first
LISTED event ids and count the rest (`events_omitted`, README), and the page must say so too -
it showed the 100 ids as if they were the whole hit. In headless Chromium (skipped outside CI
without a browser, failed in CI: tests/conftest.require).

Oracle: plain Python over the generated records (those the rule matches, in time order)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.report_html_support import Opened, browser, report
from tests.test_hostile_correlation_hits import one_hit_of_every_event
from trailhound.engine.correlate import LISTED

__all__ = ["browser"]  # the fixture, imported for pytest


def test_the_page_counts_the_events_a_hit_does_not_list(tmp_path: Path, browser: Any) -> None:
    log, rules, want = one_hit_of_every_event(tmp_path, 400)
    first = want[:LISTED]
    out = tmp_path / "r.html"
    got = report(out, "--profile", "full", "--rules", str(rules), str(log))
    assert got.returncode == 0, got.stderr
    page = Opened(browser, out)
    try:
        page.page.locator("tr.finding-row").first.locator("td.score").click()
        (line,) = page.page.locator(".detail li").all_inner_texts()
        page.assert_clean()
    finally:
        page.close()
    assert line == (f"every bucket lister, forever: events {', '.join(first)} and "
                    f"{len(want) - LISTED} more (each a finding listing this correlation too)")
