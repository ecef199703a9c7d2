"""First-seen rules (rules/first_seen.py): a rule raises only when its value is new for an
established group. The expected findings are computed here in plain Python over the raw records
(history = earlier records of the same group, in input order, plus the baseline), not read
from trailhound's output."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

import trailhound
from trailhound.errors import RuleError
from trailhound.rules.first_seen import FirstSeenGate, FirstSeenStats
from trailhound.rules.loader import load_paths, pack_dir

RULE_FILE = pack_dir("related") / "aws_console_login_new_source.yml"
A = "arn:aws:iam::111122223333:user/alice"
B = "arn:aws:iam::111122223333:user/bob"


def login(n: int, arn: str, ip: str, ok: bool = True) -> dict[str, Any]:
    return {
        "eventVersion": "1.08", "eventTime": f"2026-03-14T10:{n:02d}:00Z", "eventID": f"ev-{n}",
        "eventSource": "signin.amazonaws.com", "eventName": "ConsoleLogin",
        "awsRegion": "us-east-1", "sourceIPAddress": ip, "recipientAccountId": "111122223333",
        "userIdentity": {"type": "IAMUser", "arn": arn, "accountId": "111122223333"},
        "responseElements": {"ConsoleLogin": "Success" if ok else "Failure"},
    }


RECORDS = [
    login(0, A, "198.51.100.1"), login(1, A, "198.51.100.1"), login(2, A, "203.0.113.9"),
    login(3, B, "192.0.2.5"), login(4, A, "203.0.113.50"), login(5, A, "203.0.113.9"),
    login(6, A, "203.0.113.77", ok=False), login(7, B, "192.0.2.5"),
]


def oracle(records: list[dict[str, Any]], known: set[tuple[str, str]]) -> set[str]:
    """eventIDs of successful logins whose IP is new for an identity with earlier history."""
    seen_pairs = set(known)
    seen_groups = {g for g, _ in known}
    out = set()
    for r in records:
        if r["responseElements"]["ConsoleLogin"] != "Success":
            continue
        pair = (r["userIdentity"]["arn"], r["sourceIPAddress"])
        if pair not in seen_pairs and pair[0] in seen_groups:
            out.add(r["eventID"])
        seen_pairs.add(pair)
        seen_groups.add(pair[0])
    return out


def flagged_by(result: trailhound.Result, rule_id: str) -> set[str]:
    return {str(f.event.event_id) for f in result.findings if any(r.id == rule_id for r in f.rules)}


def _trail(tmp_path: Path) -> Path:
    p = tmp_path / "trail.json"
    p.write_text(json.dumps({"Records": RECORDS}))
    return p


def test_new_source_within_the_scan(tmp_path: Path) -> None:
    rule_id = yaml.safe_load(RULE_FILE.read_text())["id"]
    result = trailhound.scan([str(_trail(tmp_path))])  # the default profile ships the rule
    expected = oracle(RECORDS, set())
    assert expected == {"ev-2", "ev-4"}  # the oracle itself, on this data
    assert flagged_by(result, rule_id) == expected


def test_baseline_file_is_history(tmp_path: Path) -> None:
    base = tmp_path / "known.jsonl"
    base.write_text(json.dumps({"group": [A], "value": ["203.0.113.9"]}) + "\n\n")
    doc = yaml.safe_load(RULE_FILE.read_text())
    doc["id"] = "0b6c2f5e-1f6e-4a4e-9c55-9d3f1a2b3c4d"
    doc["first_seen"]["baseline"] = "known.jsonl"  # relative to the rule file
    doc.pop("name")
    rule = tmp_path / "mine.yml"
    rule.write_text(yaml.safe_dump(doc))
    result = trailhound.scan([str(_trail(tmp_path))], "corrected", rules=[str(rule)])
    assert not result.notes
    expected = oracle(RECORDS, {(A, "203.0.113.9")})
    assert expected == {"ev-0", "ev-4"}
    assert flagged_by(result, doc["id"]) == expected


def test_bad_baseline_line_names_file_and_line(tmp_path: Path) -> None:
    base = tmp_path / "known.jsonl"
    base.write_text('{"group": ["x"], "value": ["y"]}\nnot json\n')
    ruleset, problems = load_paths([RULE_FILE])
    assert not problems
    rule = ruleset.rules[0]
    rule.extra["first_seen"] = {**rule.extra["first_seen"], "baseline": str(base)}
    with pytest.raises(RuleError, match=r"known\.jsonl:2: not a baseline line"):
        list(FirstSeenGate(ruleset)([]))


@pytest.mark.parametrize("spec, reason", [
    ("nope", "must be a mapping"),
    ({"group-by": ["userIdentity.arn"]}, "field must be a field path"),
    ({"field": "sourceIPAddress", "group-by": []}, "group-by must be"),
    ({"field": "x", "group-by": ["y"], "max-pairs": 0}, "max-pairs must be a positive"),
    ({"field": "x", "group-by": ["y"], "window": "7d"}, "unknown key"),
])
def test_malformed_first_seen_refuses_the_rule(tmp_path: Path, spec: Any, reason: str) -> None:
    doc = yaml.safe_load(RULE_FILE.read_text())
    doc["first_seen"] = spec
    p = tmp_path / "bad.yml"
    p.write_text(yaml.safe_dump(doc))
    ruleset, problems = load_paths([p])
    assert not ruleset.rules and len(problems) == 1 and reason in problems[0].reason


def test_memory_is_bounded_and_the_overflow_counted(tmp_path: Path) -> None:
    from trailhound.engine.reference import ReferenceEngine
    from trailhound.model import RawRecord
    from trailhound.normalize import normalize
    from trailhound.rules.model import RuleSet
    from trailhound.sources import read_paths

    ruleset, _ = load_paths([RULE_FILE])
    rule = ruleset.rules[0]
    rule.extra["first_seen"] = {**rule.extra["first_seen"], "max-pairs": 2}
    items = list(read_paths([str(_trail(tmp_path))]))
    events = [normalize(i)[0] for i in items if isinstance(i, RawRecord)]
    assert len(events) == len(RECORDS)
    engine = ReferenceEngine()
    matches = list(engine.run(engine.compile(RuleSet((rule,))), events))
    stats = FirstSeenStats()
    kept = list(FirstSeenGate(RuleSet((rule,)), stats)(matches))
    # pairs learned: (A, .1), (A, .9); then full: (A, .50) new but not remembered, (B, ...) never
    # becomes established, so B's second login is not new either
    assert {str(m.event.event_id) for m in kept} == {"ev-2", "ev-4"}
    assert stats.unlearned == 3 and stats.suppressed == len(matches) - len(kept)


def test_rule_sets_without_first_seen_pass_through() -> None:
    ruleset, _ = load_paths([pack_dir("corrected")])
    sentinel = [object()]
    assert list(FirstSeenGate(ruleset)(sentinel)) == sentinel  # type: ignore[arg-type]
