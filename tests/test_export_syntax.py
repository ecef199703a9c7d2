"""The splunk, kql and esql exports pass the syntax check of tests/query_syntax.py (no maintained
Python parser exists for SPL, KQL or ES|QL), for every golden case; and the check does reject
broken queries, so it can fail."""

from __future__ import annotations

import pytest

from tests.query_syntax import ESQL, KQL, SPL, Language, check
from tests.test_export_golden import CASES, _export

LANGUAGES = {"splunk": SPL, "kql": KQL, "esql": ESQL}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("target", sorted(LANGUAGES))
def test_export_passes_the_syntax_check(target: str, case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.conftest import REPO

    monkeypatch.chdir(REPO)
    text, _ = _export(target, case)
    assert check(text, LANGUAGES[target]) == []


@pytest.mark.parametrize(
    ("lang", "text", "problem"),
    [
        (SPL, '(sourcetype="aws:cloudtrail")\n| eval r1=if(lower(x)="a, 1, 0)', "unclosed"),
        (SPL, '(sourcetype="aws:cloudtrail")\n| eval r1=if(lowercase(x)="a", 1, 0)', "unknown function"),
        (SPL, '(sourcetype="aws:cloudtrail")\n| stats count by x', "unknown command"),
        (KQL, 'AWSCloudTrail\n| extend r1 = iff(EventName =~ "a", 1, 0', "left open"),
        (KQL, 'AWSCloudTrail\n| extend r1 = iff(x matches regex @"a""b, 1, 0)', "unclosed"),
        (ESQL, 'FROM logs-aws.cloudtrail-*\n| EVAL r1 = CASE(LOWER(x) == "a", 1, 0)', "unknown function"),
        (ESQL, 'FROM logs-aws.cloudtrail-*\n| EVAL r1 = CASE(x == "a", 1, 0))', "closes nothing"),
    ],
)
def test_the_check_rejects_broken_queries(lang: Language, text: str, problem: str) -> None:
    assert any(problem in p for p in check(text, lang))
