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

import json
from pathlib import Path

import pytest

import trailhound
from trailhound.cli.app import main
from trailhound.profiles import DEFAULT_PROFILE, Profile, get_profile
from trailhound.rules import coverage as cov
from trailhound.rules.cases import _label as label
from trailhound.rules.loader import load_pack, pack_dirs
from trailhound.rules.model import RuleSet
from trailhound.rules.stratus import STRATUS_ATTACK as EXPECTED
from trailhound.rules.stratus import (
    STRATUS_EMULATED,
    STRATUS_NOT_OBSERVABLE,
    STRATUS_WITHOUT_LOGS,
    tag_matches,
)
from trailhound.scoring import Finding

# Techniques the default profile does not raise with a matching tag, and why (at most 2).
MISSES: dict[str, str] = {}


def stratus_files(external: Path) -> list[Path]:
    files = sorted((external / "stratus-red-team" / "detonation-logs").glob("aws.*.json"))
    assert len(files) == 35
    return files


def matching_rules(findings: list[Finding], expected: frozenset[str]) -> set[str]:
    """Labels (name or title, and id) of the finding rules with a tag matching `expected`."""
    out = set()
    for f in findings:
        for r in f.rules:
            if not r.context and any(tag_matches(t, expected) for t in r.tags):
                out.add(label(r))
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


# ---------------------------------------------------------------------------------------------
# `trailhound rules coverage` agrees with the logs: what it claims for each Stratus technique is
# what the default scan above raised, and each claim disappears when its rules are removed.


@pytest.fixture(scope="module")
def claimed(external: Path) -> tuple[cov.Coverage, RuleSet, Profile]:
    profile = get_profile(DEFAULT_PROFILE)
    ruleset = load_pack(profile.pack)
    stratus_dir = external / "stratus-red-team" / "detonation-logs"
    return cov.coverage(ruleset, profile, pack_dirs(profile.pack), stratus_dir), ruleset, profile


def test_coverage_claims_what_the_default_scan_raised(
    claimed: tuple[cov.Coverage, RuleSet, Profile], hits: dict[str, set[str]]
) -> None:
    result, _, _ = claimed
    per_log: dict[str, set[str]] = {}
    for t in result.techniques.values():
        for stratus_id, rules in t.stratus.items():
            per_log.setdefault(stratus_id, set()).update(rules)
    assert set(per_log) == {t for t, rules in hits.items() if rules}
    for stratus_id, rules in per_log.items():
        assert rules == hits[stratus_id], stratus_id
    assert not set(per_log) & set(result.not_covered)


def test_each_stratus_claim_fails_without_its_rules(
    claimed: tuple[cov.Coverage, RuleSet, Profile], external: Path
) -> None:
    result, ruleset, profile = claimed
    stratus_dir = external / "stratus-red-team" / "detonation-logs"
    checked = 0
    for t in result.techniques.values():
        for stratus_id, rules in t.stratus.items():
            kept = RuleSet(
                tuple(r for r in ruleset.rules if label(r) not in rules),
                ruleset.filters,
                tuple(c for c in ruleset.correlations if label(c) not in rules),
            )
            log = stratus_dir / f"{stratus_id}.json"
            again = cov.stratus_hits(kept, profile, log.parent, only=(stratus_id,))
            assert t.technique not in again.get(stratus_id, {}), (t.technique, stratus_id, rules)
            checked += 1
    assert checked >= 35


def test_coverage_command_lists_proofs_and_gaps(
    external: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = _coverage_rows(["--stratus", str(external / "stratus-red-team" / "detonation-logs")], capsys)
    by_tech = {r["technique"]: r for r in rows if r["technique"] != "-"}
    assert "aws.exfiltration.ec2-share-ami" in by_tech["T1537"]["stratus_log"]
    assert by_tech["T1537"]["status"] == "proven"
    gaps = {r["stratus_log"] for r in rows if r["status"] == "not covered"}
    assert gaps == {t for t, rule_ids in STRATUS_WITHOUT_LOGS.items() if not rule_ids} | set(
        STRATUS_NOT_OBSERVABLE)
    only_tested = {r["stratus_log"]: r["rules"] for r in rows if r["status"] == "rule test only"}
    assert set(only_tested) == {t for t, rule_ids in STRATUS_WITHOUT_LOGS.items() if rule_ids}
    emulated = {r["stratus_log"]: r for r in rows if r["status"] == "emulated"}
    assert set(emulated) == set(STRATUS_EMULATED)
    assert "azure_activity_disk_exported" in emulated["azure.exfiltration.disk-export"]["rules"]
    # data plane only, read from Azure Storage resource logs (StorageBlobLogs)
    assert "azure_storage_blobs_cpk_locked" in emulated["azure.impact.blob-ransomware-cpek"]["rules"]
    # the flagship alone does not cover the related pack's techniques, and says so
    flagship = _coverage_rows(
        ["--profile", "corrected", "--stratus", str(external / "stratus-red-team" / "detonation-logs")],
        capsys,
    )
    assert "T1537" not in {r["technique"] for r in flagship}
    flagship_gaps = {r["stratus_log"] for r in flagship if r["status"] == "not covered"}
    assert "aws.exfiltration.ec2-share-ami" in flagship_gaps
    assert "aws.defense-evasion.cloudtrail-stop" not in flagship_gaps
    # the related pack's Azure rule is not in the flagship profile: its technique is a gap there
    assert "azure.exfiltration.disk-export" in flagship_gaps


def _coverage_rows(args: list[str], capsys: pytest.CaptureFixture[str]) -> list[dict[str, str]]:
    main(["rules", "coverage", "--format", "jsonl", *args])  # returns: exit code 0
    out = capsys.readouterr().out
    return [json.loads(line) for line in out.splitlines()]
