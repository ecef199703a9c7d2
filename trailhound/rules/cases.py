"""Rule tests written inside rule files: a `tests:` list in a Sigma rule (pySigma keeps it as a
custom attribute, so the rule still loads anywhere), each case a raw log record and whether the
rule must match it; for a correlation rule, an event sequence and whether the correlation must
fire. The shape follows Panther's `Tests:` (docs/style.md section 4):

    tests:
      - name: CreateUser by a stolen key
        match: true
        event: {eventSource: iam.amazonaws.com, eventName: CreateUser}
      - name: ListUsers is only a read
        match: false
        event: {eventSource: iam.amazonaws.com, eventName: ListUsers}

Optional `source:` names the record's format (cloudtrail, azure_activity, entra_audit,
entra_signin, gcp_audit, m365_audit); by default it is the one the rule's logsource answers to,
and for a correlation over base rules of several log sources, each record's own (as the readers
classify it).
Cases run on the reference engine (the spec-written evaluator), the rule alone: no filters, no
other rules. A case that is malformed fails with the reason; it never stops the other cases.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trailhound.engine.correlate import CorrelationStats
from trailhound.engine.reference import ReferenceEngine
from trailhound.model import LOGSOURCES, Event, Location, RawRecord
from trailhound.normalize import normalize
from trailhound.rules.loader import load_paths
from trailhound.rules.model import Correlation, Rule, RuleSet
from trailhound.scoring import iter_findings
from trailhound.sources.classify import classify

CASE_KEYS = {"name", "match", "event", "events", "source"}


@dataclass(frozen=True)
class CaseResult:
    """One case's outcome; `error` says why a case could not run (it then fails)."""

    path: str
    rule: str  # the rule's name (else title) and id
    case: str
    expected: bool | None
    got: bool | None
    error: str | None = None

    @property
    def passed(self) -> bool:
        return self.error is None and self.expected == self.got


@dataclass
class TestRun:
    results: list[CaseResult]
    untested: list[tuple[str, str]]  # (path, rule) without a positive and a negative case
    problems: list[str]  # files or rules that did not load

    @property
    def failed(self) -> list[CaseResult]:
        return [r for r in self.results if not r.passed]


class CaseError(ValueError):
    """A case that is not a valid test case (message says which key and why)."""


def run_tests(paths: Sequence[Path]) -> TestRun:
    """Run every case of every rule and correlation under `paths`."""
    ruleset, problems = load_paths(paths, filters=False)
    results: list[CaseResult] = []
    untested: list[tuple[str, str]] = []
    items: list[Rule | Correlation] = [*ruleset.rules, *ruleset.correlations]
    for item in items:
        cases = item.extra.get("tests")
        label = _label(item)
        path = item.path or "?"
        if not _has_both(cases):
            untested.append((path, label))
        if cases is None:
            continue
        if not isinstance(cases, list):
            results.append(CaseResult(path, label, "tests", None, None,
                                      "`tests` must be a list of cases"))
            continue
        for n, case in enumerate(cases, 1):
            results.append(_run_case(item, case, n, path, label))
    return TestRun(results, untested, [str(p) for p in problems])


def _label(item: Rule | Correlation) -> str:
    name = getattr(item, "name", None) or getattr(item.sigma, "name", None) or item.title
    return f"{name} ({item.id[:8]})"


def _has_both(cases: Any) -> bool:
    if not isinstance(cases, list):
        return False
    outcomes = {c.get("match") for c in cases if isinstance(c, dict)}
    return True in outcomes and False in outcomes


def _run_case(item: Rule | Correlation, case: Any, n: int, path: str, label: str) -> CaseResult:
    name = case.get("name") if isinstance(case, dict) else None
    title = name if isinstance(name, str) and name else f"case {n}"
    expected = case.get("match") if isinstance(case, dict) else None
    try:
        _check_case(case, isinstance(item, Correlation))
        if isinstance(item, Correlation):
            got = _correlation_fires(item, case, path)
        else:
            got = _rule_matches(item, case, path)
    except CaseError as e:
        return CaseResult(path, label, title, None, None, f"case {n}: {e}")
    return CaseResult(path, label, title, bool(expected), got)


def _check_case(case: Any, correlation: bool) -> None:
    if not isinstance(case, dict):
        raise CaseError("a case must be a mapping with name, match and event(s)")
    unknown = set(case) - CASE_KEYS
    if unknown:
        raise CaseError(f"unknown key(s) {', '.join(sorted(map(str, unknown)))}; a case has "
                        f"{', '.join(sorted(CASE_KEYS))}")
    if not isinstance(case.get("name"), str) or not case["name"]:
        raise CaseError("`name` must be a non-empty text")
    if not isinstance(case.get("match"), bool):
        raise CaseError("`match` must be true or false")
    if correlation:
        events = case.get("events")
        if "event" in case or not isinstance(events, list) or not events or not all(
            isinstance(e, dict) for e in events
        ):
            raise CaseError("a correlation case needs `events`: a list of records, in order")
    elif "events" in case or not isinstance(case.get("event"), dict):
        raise CaseError("a rule case needs `event`: one record (a mapping)")


def _source(case: dict[str, Any], rule: Rule) -> str:
    source = case.get("source")
    if source is not None:
        if source not in LOGSOURCES:
            raise CaseError(f"unknown source {source!r}; one of {', '.join(LOGSOURCES)}")
        return str(source)
    # read at call time: the source registry fills LOGSOURCES in place as sources register
    source_of = {ls: name for name, ls in LOGSOURCES.items()}
    try:
        return source_of[(rule.product or "", rule.service or "")]
    except KeyError:
        raise CaseError(
            f"logsource {rule.product}/{rule.service} is not a format trailhound reads; add "
            f"`source:` to the case"
        ) from None


def _classified(record: dict[str, Any], index: int) -> str:
    verdict = classify(record)
    if verdict.source is None:
        raise CaseError(f"event {index + 1}: {verdict.message}; add `source:` to the case or "
                        "complete the record")
    return verdict.source


def _events(records: Iterable[dict[str, Any]], source: str, path: str) -> list[Event]:
    # normalization issues (a test record without an event time...) do not fail a case: the
    # rule sees what the engine would see
    return [_event(r, source, path, i) for i, r in enumerate(records)]


def _event(record: dict[str, Any], source: str, path: str, index: int) -> Event:
    return normalize(RawRecord(record, Location(path, index=index), source, "rule_test"))[0]


def _rule_matches(rule: Rule, case: dict[str, Any], path: str) -> bool:
    engine = ReferenceEngine()
    plan = engine.compile(RuleSet((rule,)))
    events = _events([case["event"]], _source(case, rule), path)
    return any(r.id == rule.id for m in engine.run(plan, events) for r in m.rules)


def _correlation_fires(corr: Correlation, case: dict[str, Any], path: str) -> bool:
    engine = ReferenceEngine()
    ruleset = RuleSet(corr.rules, (), (corr,))
    if case.get("source") is None and len({(r.product, r.service) for r in corr.rules}) > 1:
        # base rules of several log sources (an Entra sign-in before Azure Activity
        # operations): each record is read as the format the readers recognise it to be
        events = [_event(r, _classified(r, i), path, i) for i, r in enumerate(case["events"])]
    else:
        events = _events(case["events"], _source(case, corr.rules[0]), path)
    findings = iter_findings(engine.run(engine.compile(ruleset), events),
                             correlations=ruleset.correlations,
                             correlation_stats=CorrelationStats())
    return any(h.correlation.id == corr.id for f in findings for h in f.hits)
