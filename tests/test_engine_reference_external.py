"""Reference engine over real data: every SigmaHQ AWS rule compiles and runs over the Stratus
Red Team detonation logs (read in place from ../shared, never copied)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sigma.rule import SigmaRule

from trailhound.engine.base import Match
from trailhound.engine.reference import ReferenceEngine
from trailhound.model import Event, Location
from trailhound.rules.model import Rule, RuleSet


def _rule(path: Path) -> Rule:
    sr = SigmaRule.from_yaml(path.read_text(encoding="utf-8"))
    ls = sr.logsource
    return Rule(
        id=str(sr.id) if sr.id else sr.title,
        title=sr.title,
        level=sr.level.name.lower() if sr.level else None,
        author=sr.author,
        tags=tuple(f"{t.namespace}.{t.name}" for t in sr.tags),
        weight=1,
        signal=None,
        context=False,
        product=ls.product,
        service=ls.service,
        category=ls.category,
        sigma=sr,
        path=str(path),
    )


@pytest.fixture(scope="module")
def aws_rules(external: Path) -> RuleSet:
    paths = sorted((external / "sigmahq-sigma" / "rules" / "cloud" / "aws").rglob("*.yml"))
    assert len(paths) >= 50, paths
    return RuleSet(tuple(_rule(p) for p in paths))


@pytest.fixture(scope="module")
def stratus(external: Path) -> dict[str, list[Event]]:
    out = {}
    for p in sorted((external / "stratus-red-team" / "detonation-logs").glob("*.json")):
        records = json.loads(p.read_text(encoding="utf-8"))
        out[p.name] = [
            Event(source="cloudtrail", provider="aws", raw=rec, location=Location(str(p), index=i))
            for i, rec in enumerate(records)
        ]
    assert len(out) >= 30
    return out


@pytest.fixture(scope="module")
def results(aws_rules: RuleSet, stratus: dict[str, list[Event]]) -> dict[str, list[Match]]:
    engine = ReferenceEngine()
    plan = engine.compile(aws_rules)  # every AWS rule must compile
    return {name: list(engine.run(plan, events)) for name, events in stratus.items()}


def _titles(matches: list[Match]) -> set[str]:
    return {Path(r.path or "").name for m in matches for r in m.rules}


def test_every_aws_rule_compiles(aws_rules: RuleSet) -> None:
    plan = ReferenceEngine().compile(aws_rules)
    assert len(plan.rules) == len(aws_rules.rules)


def test_runs_over_all_detonations(results: dict[str, list[Match]]) -> None:
    assert sum(len(ms) for ms in results.values()) > 0
    for ms in results.values():
        for m in ms:
            assert m.rules and not m.suppressed  # no filters in this rule set


def test_stop_logging_detected(results: dict[str, list[Match]]) -> None:
    ms = results["aws.defense-evasion.cloudtrail-stop.json"]
    stop = [m for m in ms if m.event.raw.get("eventName") == "StopLogging"]
    assert len(stop) == 1
    assert "aws_cloudtrail_disable_logging.yml" in _titles(stop)


def test_delete_trail_detected(results: dict[str, list[Match]]) -> None:
    assert "aws_cloudtrail_disable_logging.yml" in _titles(
        results["aws.defense-evasion.cloudtrail-delete.json"]
    )


def test_disable_logging_only_where_expected(results: dict[str, list[Match]]) -> None:
    rule = "aws_cloudtrail_disable_logging.yml"
    hits = {name for name, ms in results.items() if rule in _titles(ms)}
    # StopLogging / DeleteTrail / UpdateTrail from cloudtrail.amazonaws.com only
    for name in hits:
        for m in results[name]:
            if rule in {Path(r.path or "").name for r in m.rules}:
                assert m.event.raw["eventSource"] == "cloudtrail.amazonaws.com"
                assert m.event.raw["eventName"] in {"StopLogging", "UpdateTrail", "DeleteTrail"}
    assert "aws.defense-evasion.cloudtrail-stop.json" in hits
