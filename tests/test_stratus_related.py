"""Issue #16 acceptance: default `detect` raises a finding on at least 33 of the 35 Stratus Red
Team AWS detonation logs, each from a rule whose ATT&CK tag matches the technique.

The oracle is EXPECTED below: for each Stratus technique, the ATT&CK technique ids that describe
it, written from the Stratus Red Team technique pages and MITRE ATT&CK (Enterprise, Cloud
matrix), not read from our rules. A rule "matches" when one of its tags is `attack.<id>` for an
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
from trailhound.scoring import Finding

# Stratus technique -> ATT&CK technique ids describing it (independent of the rules).
EXPECTED: dict[str, set[str]] = {
    "aws.credential-access.ec2-get-password-data": {"t1552"},
    "aws.credential-access.ec2-steal-instance-credentials": {"t1552.005"},
    "aws.credential-access.secretsmanager-batch-retrieve-secrets": {"t1555.006"},
    "aws.credential-access.secretsmanager-retrieve-secrets": {"t1555.006"},
    "aws.credential-access.ssm-retrieve-securestring-parameters": {"t1555.006", "t1552"},
    "aws.defense-evasion.cloudtrail-delete": {"t1562.008"},
    "aws.defense-evasion.cloudtrail-event-selectors": {"t1562.008"},
    "aws.defense-evasion.cloudtrail-stop": {"t1562.008"},
    "aws.defense-evasion.dns-delete-logs": {"t1562.008"},
    "aws.defense-evasion.organizations-leave": {"t1666"},
    "aws.defense-evasion.vpc-remove-flow-logs": {"t1562.008"},
    "aws.discovery.ec2-download-user-data": {"t1580", "t1552.005"},
    "aws.execution.ec2-launch-unusual-instances": {"t1496", "t1578.002"},
    "aws.execution.ec2-user-data": {"t1059", "t1037"},
    "aws.execution.ssm-send-command": {"t1651"},
    "aws.execution.ssm-start-session": {"t1651", "t1021.008"},
    "aws.exfiltration.ec2-security-group-open-port-22-ingress": {"t1562.007"},
    "aws.exfiltration.ec2-share-ami": {"t1537"},
    "aws.exfiltration.ec2-share-ebs-snapshot": {"t1537"},
    "aws.exfiltration.rds-share-snapshot": {"t1537"},
    "aws.impact.bedrock-invoke-model": {"t1496.004"},
    "aws.initial-access.console-login-without-mfa": {"t1078.004"},
    "aws.lateral-movement.ec2-instance-connect": {"t1021.008"},
    "aws.lateral-movement.ec2-serial-console-send-ssh-public-key": {"t1021.008"},
    "aws.persistence.iam-backdoor-role": {"t1098.003"},
    "aws.persistence.iam-backdoor-user": {"t1098.001"},
    "aws.persistence.iam-create-admin-user": {"t1136.003"},
    "aws.persistence.iam-create-backdoor-role": {"t1098.003", "t1136.003"},
    "aws.persistence.iam-create-user-login-profile": {"t1098.001"},
    "aws.persistence.lambda-backdoor-function": {"t1546", "t1648"},
    "aws.persistence.lambda-layer-extension": {"t1546", "t1525"},
    "aws.persistence.lambda-overwrite-code": {"t1648", "t1525"},
    "aws.persistence.rolesanywhere-create-trust-anchor": {"t1098.001"},
    "aws.persistence.sts-federation-token": {"t1078.004", "t1550.001"},
    "aws.privilege-escalation.iam-update-user-login-profile": {"t1098.001"},
}

# Techniques the default profile does not raise with a matching tag, and why (at most 2).
MISSES: dict[str, str] = {}


def stratus_files(external: Path) -> list[Path]:
    files = sorted((external / "stratus-red-team" / "detonation-logs").glob("aws.*.json"))
    assert len(files) == 35
    return files


def tag_matches(tag: str, expected: set[str]) -> bool:
    if not tag.startswith("attack.t"):
        return False
    tech = tag.removeprefix("attack.")
    return any(tech == e or tech == e.split(".")[0] for e in expected)


def matching_rules(findings: list[Finding], expected: set[str]) -> set[str]:
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
    assert not tag_matches("attack.t1059.009", {"t1059"})
    assert tag_matches("attack.t1098", {"t1098.001"})
    assert not tag_matches("attack.execution", {"t1651"})
