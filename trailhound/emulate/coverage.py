"""The coverage matrix of `trailhound validate`: one row per scenario and expected signal (fired,
best score, principal rank), as rows for report/rows.py (table, jsonl, csv) or as JUnit XML for
CI systems (one test case per row and per rank check; ElementTree does the XML escaping)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

from trailhound.emulate.check import Report
from trailhound.wording import count

COLUMNS = ("scenario", "family", "expected_signal", "fired", "score", "rank")
# XML 1.0 forbids most control characters even escaped: a rule name could carry them
_XML_BAD = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def rows(report: Report) -> Iterator[dict[str, Any]]:
    """One row per scenario and expected signal; a scenario that must raise nothing has one
    row, `(no finding)`, whose `fired` lists what fired anyway."""
    for o in report.outcomes:
        s = o.scenario
        if not s.expects:
            fired = ", ".join(sorted(o.fired)) or "nothing"
            yield dict(zip(COLUMNS, (s.name, s.family, "(no finding)", fired, o.score, o.rank),
                           strict=True))
        for signal in s.expects:
            fired = "yes" if signal in o.fired else "MISSING"
            yield dict(zip(COLUMNS, (s.name, s.family, signal, fired, o.fired.get(signal), o.rank),
                           strict=True))


def summary(report: Report) -> str:
    failures = report.failures()
    return f"{count(len(report.outcomes), 'scenario')}: " + (
        "all expectations hold" if not failures else f"{len(failures)} failed"
    )


def _clean(text: str) -> str:
    return _XML_BAD.sub("\ufffd", text)


def render_junit(report: Report) -> str:
    suite = ET.Element("testsuite", name="trailhound validate")
    failures = report.failures()
    cases = 0
    for o in report.outcomes:
        for signal in o.scenario.expects or ("(no finding)",):
            case = ET.SubElement(suite, "testcase", classname=f"emulate.{o.scenario.family}",
                                 name=_clean(f"{o.scenario.name} :: {signal}"))
            cases += 1
            if signal in o.missing:
                ET.SubElement(case, "failure", message=_clean(
                    f"{o.scenario.name}: expected signal {signal} did not fire"))
        if o.issues:
            case = ET.SubElement(suite, "testcase", classname="emulate.input",
                                 name=_clean(f"{o.scenario.name} :: read without issues"))
            cases += 1
            ET.SubElement(case, "failure", message=f"{o.issues} input issue(s)")
    rank_failures = [f for f in failures if "ranks" in f]
    case = ET.SubElement(suite, "testcase", classname="emulate.rank",
                         name="benign look-alikes rank under every attack chain")
    cases += 1
    for f in rank_failures:
        ET.SubElement(case, "failure", message=_clean(f))
    suite.set("tests", str(cases))
    suite.set("failures", str(len(failures)))
    ET.indent(suite)
    return ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"

