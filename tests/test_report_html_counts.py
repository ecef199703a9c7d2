"""The demo report's counts read as English (`1 finding`, `2 findings`), in the header and in
each fired rule's line; the numbers are those of `detect` over the same logs (the oracle:
findings counted per rule id from detect's JSONL rows, not from the page).
Without a browser: skipped outside CI, failed in CI (tests/conftest.require)."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

from tests.report_html_support import Opened, browser
from tests.test_cli import th
from tests.test_report_html_browser import DEMO, demo_report

__all__ = ["browser", "demo_report"]  # the fixtures, imported for pytest

def _english(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def test_counts_are_singular_for_one(browser: Any, demo_report: Path) -> None:
    rows = [json.loads(x) for x in th("detect", "--format", "jsonl", "-q", DEMO).stdout.splitlines()]
    per_rule = Counter(s["title"] for r in rows for s in r["signals"])
    assert 1 in per_rule.values() and any(n > 1 for n in per_rule.values())  # both forms shown
    o = Opened(browser, demo_report)
    try:
        o.page.get_by_role("button", name="Rules", exact=True).click()
        lines = o.page.eval_on_selector_all(
            "#rules summary", "els => els.map(e => e.innerText.replace(/\\s+/g, ' ').trim())")
        shown = {}
        for line in lines:
            m = re.fullmatch(r"\S+ (.+) · (\d+ findings?) · weight .*", line)
            assert m, line
            shown[m.group(1)] = m.group(2)
        assert shown == {t: _english(n, "finding") for t, n in per_rule.items()}
        meta = o.page.inner_text("header .meta")
        assert meta.startswith(f"{_english(len(rows), 'finding')}, ")
        o.assert_clean()
    finally:
        o.close()
