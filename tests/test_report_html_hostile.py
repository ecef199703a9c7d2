"""Attacker-controlled log fields in the HTML report: markup, script-closing tags, `javascript:`
URLs and line separators in eventName, the principal's ARN, userAgent, sourceIPAddress,
errorMessage, region, request parameters, and in a rule's title and guide, are shown as text and
run nothing. Asserted in Chromium: a global each payload would set stays unset, every payload
is on the page as visible text, no request leaves the page and no error is logged."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.report_html_support import Opened, Page, browser, finding, report
from tests.test_cli import jsonl
from tests.test_profiles_defects import ct

__all__ = ["browser"]  # the fixture, imported for pytest

PAYLOADS = {
    1: "<script>window.__pwned=1</script>",
    2: '"><img src=x onerror="window.__pwned=2">',
    3: "javascript:window.__pwned=3",
    4: "</script><script>window.__pwned=4</script>",
    5: "</style><svg onload=window.__pwned=5>",
    6: "<!--<script>window.__pwned=6</script>",
    7: "\u2028</script>\u2029<iframe src=javascript:window.__pwned=7>",
}
RULE_ID = "6d1ad7c6-8c36-4f7e-9a7c-3f1e0d2a9b11"


def _rule_dir(tmp: Path) -> Path:
    """A user rule whose title carries payloads, matching eventNames that do; its guide too."""
    d = tmp / "rules"
    d.mkdir()
    title = f"Markup in eventName {PAYLOADS[1]} {PAYLOADS[2]}"
    (d / "markup.yml").write_text(
        f"title: {json.dumps(title)}\n"
        f"id: {RULE_ID}\n"
        "status: test\nlevel: high\n"
        "logsource: {product: aws, service: cloudtrail}\n"
        "detection:\n  sel:\n    eventName|contains: '<'\n  condition: sel\n",
        encoding="utf-8",
    )
    (d / "markup.md").write_text(
        f"## What it means\n\nText {PAYLOADS[4]} and `{PAYLOADS[2]}`\n\n"
        f"## What to check\n\n- {PAYLOADS[3]}\n- [link]({PAYLOADS[3]})\n\n"
        f"## Hunts to run\n\n- `trailhound hunt enumeration_bursts PATH`\n\n"
        f"## Containment\n\n```\n{PAYLOADS[5]}\n```\n\n## False positives\n\n{PAYLOADS[6]}\n",
        encoding="utf-8",
    )
    return d


def _records() -> list[dict[str, Any]]:
    arn = f"arn:aws:iam::111122223333:user/{PAYLOADS[1]}"
    ident = {"type": "IAMUser", "arn": arn, "accessKeyId": PAYLOADS[2]}
    return [
        ct(PAYLOADS[1], "cloudtrail.amazonaws.com", 1, eventID="hostile-1", userIdentity=ident,
           userAgent=PAYLOADS[2], sourceIPAddress=PAYLOADS[3]),
        ct("StopLogging", "cloudtrail.amazonaws.com", 2, eventID="hostile-2", userIdentity=ident,
           errorCode=PAYLOADS[5], errorMessage=PAYLOADS[4], awsRegion=PAYLOADS[7],
           requestParameters={"name": PAYLOADS[6], "x": PAYLOADS[7]}),
        ct(PAYLOADS[4], "cloudtrail.amazonaws.com", 3, eventID=PAYLOADS[6], userAgent=PAYLOADS[5]),
    ]


@pytest.fixture(scope="module")
def hostile_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("hostile")
    src = jsonl(tmp / "hostile.jsonl", _records())
    out = tmp / "report.html"
    got = report(out, "--rules", str(_rule_dir(tmp)), str(src))
    assert got.returncode == 0, got.stderr
    return out


def test_the_payloads_are_in_the_findings(hostile_report: Path) -> None:
    """The report holds every hostile record as a finding (else the browser test proves
    nothing), and no payload survives in the HTML outside the escaped JSON."""
    text = hostile_report.read_text(encoding="utf-8")
    data = Page(text).json_block("data")
    ids = {finding(data, i)["eventID"] for i in range(len(data["findings"]))}
    assert ids == {r["eventID"] for r in _records()}
    assert any(r["id"] == RULE_ID for r in data["rules"])
    for p in PAYLOADS.values():
        assert "<" not in p or p not in text  # a javascript: text is inert in JSON: not escaped
    assert "<img" not in text and "<iframe" not in text and "<svg" not in text


@pytest.fixture
def opened(browser: Any, hostile_report: Path) -> Iterator[Opened]:
    o = Opened(browser, hostile_report)
    yield o
    o.close()


def test_payloads_show_as_text_and_run_nothing(opened: Opened) -> None:
    page = opened.page
    # open every place a log field reaches: each finding's details and raw record, the guides
    rows = page.locator("tr.finding-row")
    for i in range(rows.count()):
        rows.nth(i).locator("td.score").click()
    buttons = page.locator(".raw-button:visible")
    for _ in range(rows.count()):
        buttons.first.click()  # a clicked button hides itself: the next is first
    assert page.locator("pre.raw-record").count() == rows.count()
    page.eval_on_selector_all("details.rule", "ds => ds.forEach(d => d.open = true)")
    page.locator(".principal-link").first.click()
    page.wait_for_timeout(300)  # let an injected onerror / onload have its chance
    pwned = page.evaluate("() => typeof window.__pwned")
    assert pwned == "undefined"
    def lines(text: str) -> str:  # a line separator may be rendered as one, or not
        return text.replace("\u2028", "\n").replace("\u2029", "\n")

    body = lines(page.inner_text("body"))  # what is rendered, as text
    for n, p in PAYLOADS.items():
        assert lines(p) in body, n
    # nothing the payloads name exists as an element
    assert page.locator("#app img:not(.plot), iframe, svg, a").count() == 0
    assert page.locator("script").count() == 2 + len(page.locator("script[id^=raw-]").all())
    opened.assert_clean()
