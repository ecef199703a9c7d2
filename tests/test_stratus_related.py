"""Issue #16 acceptance: default `detect` raises a finding on at least 33 of the 35 Stratus Red
Team AWS detonation logs, each from a rule whose ATT&CK tag matches the technique.

The oracle is EXPECTED (rules/stratus.py, STRATUS_ATTACK): for each Stratus technique, the ATT&CK
technique ids that describe it, written from the Stratus Red Team technique pages and MITRE ATT&CK
(Enterprise, Cloud matrix), not read from our rules. A rule "matches" when one of its tags is `attack.<id>` for an
expected id, or for the expected id's parent technique (T1098 for T1098.001: the flagship's
tags name parents). Every technique must be hit, except the ones in MISSES (with the reason).
The logs are read with trailhound's readers, through the library's `scan` with its default
profile: exactly what `trailhound detect FILE` runs.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import trailhound
from trailhound.profiles import DEFAULT_PROFILE
from trailhound.rules.stratus import STRATUS_ATTACK as EXPECTED
from trailhound.rules.stratus import tag_matches
from trailhound.scoring import Finding

# Techniques the default profile does not raise with a matching tag, and why (at most 2).
MISSES: dict[str, str] = {}


def stratus_files(external: Path) -> list[Path]:
    files = sorted((external / "stratus-red-team" / "detonation-logs").glob("aws.*.json"))
    assert len(files) == 35
    return files


def matching_rules(findings: list[Finding], expected: frozenset[str]) -> set[str]:
    """Names (else titles) of the finding rules with a tag matching `expected`."""
    out = set()
    for f in findings:
        for r in f.rules:
            if not r.context and any(tag_matches(t, expected) for t in r.tags):
                out.add(getattr(r, "name", None) or r.title)
    return out


@pytest.fixture(scope="module")
def hits(external: Path) -> dict[str, set[str]]:
    """technique -> rules of the default profile's findings whose tag matches it."""
    out = {}
    for f in stratus_files(external):
        result = trailhound.scan([str(f)])
        assert result.profile.name == DEFAULT_PROFILE and result.summary.records > 0
        out[f.stem] = matching_rules(result.findings, EXPECTED[f.stem])
    return out


def test_expected_names_every_technique(external: Path) -> None:
    assert {f.stem for f in stratus_files(external)} == set(EXPECTED)


def test_default_profile_hits_33_of_35_with_a_matching_tag(hits: dict[str, set[str]]) -> None:
    missed = {t for t, rules in hits.items() if not rules}
    assert missed == set(MISSES), {t: EXPECTED[t] for t in missed - set(MISSES)}
    assert len(hits) - len(missed) >= 33


def test_tag_match_is_not_vacuous() -> None:
    # the flagship tags every rule attack.t1059.009 (Cloud API): that must not count as T1059
    assert not tag_matches("attack.t1059.009", frozenset({"t1059"}))
    assert tag_matches("attack.t1098", frozenset({"t1098.001"}))
    assert not tag_matches("attack.execution", frozenset({"t1651"}))
    assert not tag_matches("attack.t1098.003", frozenset({"t1098.001"}))
