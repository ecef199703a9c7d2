"""Stratus Red Team detonation logs vs the SigmaHQ AWS rules, through trailhound.

Issue "[P2] Run every SigmaHQ cloud rule", acceptance: "the Stratus Red Team detonation logs each
raise at least the SigmaHQ rules that name their technique (report which do not and why in a
test)".

Files: ../shared/data/external/stratus-red-team/detonation-logs/aws.<tactic>.<technique>.json,
one JSON array of CloudTrail records per technique, every record part of that attack. They are
read with trailhound's readers and normalizer and run with the reference engine.

1. Rules that NAME a technique: a SigmaHQ AWS rule file (rules/, rules-placeholder/,
   unsupported/) whose text mentions the Stratus technique id (`aws.defense-evasion.
   cloudtrail-stop`) or Stratus Red Team at all (its URLs are stratus-red-team.cloud/... and
   github.com/DataDog/stratus-red-team). At SigmaHQ commit 8eaafff (the copy in ../shared) NO
   rule does: no `references:`, description, title or tag mentions Stratus, so every technique
   is reported as having no naming rule (test_techniques_without_a_naming_rule), and the
   "each naming rule fires" check is vacuous until SigmaHQ adds such references. The check is
   written for that day: a new naming rule must fire on its technique's file or be listed with
   its reason in NAMED_BUT_SILENT.
2. Because (1) says nothing today, RELATED below is our own reading (not the rules' words) of
   which SigmaHQ rules describe the behaviour each technique detonates, judged from the rule's
   title, description and detection. Each must fire on the technique's file, except the
   (rule, technique) pairs in RELATED_BUT_SILENT, each with why.
3. FIRED pins, per technique, every one of the 57 rules/cloud/aws/cloudtrail rules that fires on
   its file (with the number of events), so that any change in coverage shows.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from trailhound.engine.reference import ReferenceEngine
from trailhound.model import Event, RawRecord
from trailhound.normalize import normalize
from trailhound.rules.loader import load_paths
from trailhound.rules.model import RuleSet
from trailhound.sources import read_paths

AWS_RULES = "sigmahq-sigma/rules/cloud/aws/cloudtrail"

# (rule file, technique) -> why the naming rule does not fire. Empty: no rule names a technique.
NAMED_BUT_SILENT: dict[tuple[str, str], str] = {}

# technique -> SigmaHQ rules describing the same behaviour (our curation, see the docstring).
RELATED: dict[str, list[str]] = {
    "aws.defense-evasion.cloudtrail-stop": ["aws_cloudtrail_disable_logging.yml"],
    "aws.defense-evasion.cloudtrail-delete": ["aws_cloudtrail_disable_logging.yml"],
    "aws.defense-evasion.cloudtrail-event-selectors": ["aws_cloudtrail_disable_logging.yml"],
    "aws.defense-evasion.vpc-remove-flow-logs": ["aws_cloudtrail_vpc_flow_logs_deleted.yml"],
    "aws.exfiltration.ec2-security-group-open-port-22-ingress": [
        "aws_cloudtrail_security_group_change_ingress_egress.yml"
    ],
    "aws.exfiltration.ec2-share-ebs-snapshot": ["aws_snapshot_backup_exfiltration.yml"],
    "aws.execution.ec2-user-data": ["aws_ec2_startup_script_change.yml"],
    "aws.execution.ssm-send-command": ["aws_cloudtrail_ssm_malicious_usage.yml"],
    "aws.credential-access.ec2-steal-instance-credentials": [
        "aws_cloudtrail_ssm_malicious_usage.yml",
        "aws_cloudtrail_imds_malicious_usage.yml",
    ],
    "aws.initial-access.console-login-without-mfa": [
        "aws_cloudtrail_console_login_success_without_mfa.yml"
    ],
    "aws.persistence.iam-backdoor-user": ["aws_iam_backdoor_users_keys.yml"],
    "aws.persistence.iam-create-admin-user": [
        "aws_iam_backdoor_users_keys.yml",
        "aws_iam_s3browser_user_or_accesskey_creation.yml",
    ],
    "aws.persistence.iam-create-user-login-profile": ["aws_iam_s3browser_loginprofile_creation.yml"],
    "aws.privilege-escalation.iam-update-user-login-profile": ["aws_update_login_profile.yml"],
    "aws.persistence.lambda-layer-extension": ["aws_new_lambda_layer_attached.yml"],
}

RELATED_BUT_SILENT: dict[tuple[str, str], str] = {
    ("aws_cloudtrail_disable_logging.yml", "aws.defense-evasion.cloudtrail-event-selectors"):
        "The rule lists StopLogging, UpdateTrail and DeleteTrail; the technique calls "
        "PutEventSelectors (management events off, read-only data events) - not in the list.",
    ("aws_ec2_startup_script_change.yml", "aws.execution.ec2-user-data"):
        "The rule wants requestParameters.attribute = userData (the `--attribute userData "
        "--value` call shape); Stratus uses the `--user-data` shape, which CloudTrail logs as "
        "requestParameters.userData with no `attribute` key.",
    ("aws_cloudtrail_imds_malicious_usage.yml", "aws.credential-access.ec2-steal-instance-credentials"):
        "The rule's regex wants a role session ARN `...:assumed-role/aws:...` (an AWS-managed "
        "role name); the stolen credentials are of the technique's own instance role "
        "(assumed-role/stratus-red-team-ec2-steal-credentials-role/i-...).",
    ("aws_iam_s3browser_user_or_accesskey_creation.yml", "aws.persistence.iam-create-admin-user"):
        "Tool-specific: needs userAgent containing 'S3 Browser'; Stratus calls with its own "
        "user agent (stratus-red-team_<uuid>).",
    ("aws_iam_s3browser_loginprofile_creation.yml", "aws.persistence.iam-create-user-login-profile"):
        "Tool-specific, as above: needs userAgent containing 'S3 Browser'.",
}

# Techniques no SigmaHQ AWS rule in rules/ describes (so not in RELATED), with a note.
NO_RELATED_RULE: dict[str, str] = {
    "aws.credential-access.ec2-get-password-data": "no rule on GetPasswordData",
    "aws.credential-access.secretsmanager-batch-retrieve-secrets": "no rule on BatchGetSecretValue",
    "aws.credential-access.secretsmanager-retrieve-secrets": "no rule on GetSecretValue",
    "aws.credential-access.ssm-retrieve-securestring-parameters": "no rule on GetParameters",
    "aws.defense-evasion.dns-delete-logs": "no rule on DeleteResolverQueryLogConfig",
    "aws.defense-evasion.organizations-leave": "no rule on LeaveOrganization",
    "aws.discovery.ec2-download-user-data":
        "only unsupported/cloud/aws_ec2_download_userdata.yml (`| count() > 10` aggregation: "
        "not loadable, refused by trailhound)",
    "aws.execution.ec2-launch-unusual-instances": "no rule on RunInstances instance types",
    "aws.execution.ssm-start-session": "no rule on StartSession (the SSM rule is SendCommand only)",
    "aws.exfiltration.ec2-share-ami": "no rule on ModifyImageAttribute",
    "aws.exfiltration.rds-share-snapshot": "no rule on ModifyDBSnapshotAttribute",
    "aws.impact.bedrock-invoke-model": "Bedrock rules cover guardrails only, not InvokeModel",
    "aws.lateral-movement.ec2-instance-connect": "no rule on SendSSHPublicKey",
    "aws.lateral-movement.ec2-serial-console-send-ssh-public-key":
        "no rule on EnableSerialConsoleAccess / SendSerialConsoleSSHPublicKey",
    "aws.persistence.iam-backdoor-role": "no rule on UpdateAssumeRolePolicy",
    "aws.persistence.iam-create-backdoor-role": "no rule on CreateRole / AttachRolePolicy",
    "aws.persistence.lambda-backdoor-function": "no rule on Lambda AddPermission",
    "aws.persistence.lambda-overwrite-code": "no rule on UpdateFunctionCode",
    "aws.persistence.rolesanywhere-create-trust-anchor": "no rule on IAM Roles Anywhere",
    "aws.persistence.sts-federation-token":
        "no rule on GetFederationToken (aws_sts_getsessiontoken_misuse is GetSessionToken)",
}

# technique -> {rule file: events it matched}, for all 57 rules/cloud/aws/cloudtrail rules.
# aws_sts_assumerole_misuse.yml (level low) fires on any call made with assumed-role
# credentials; it is context, not a detection of these techniques.
FIRED: dict[str, dict[str, int]] = {
    "aws.credential-access.ec2-get-password-data": {"aws_sts_assumerole_misuse.yml": 30},
    "aws.credential-access.ec2-steal-instance-credentials": {
        "aws_cloudtrail_ssm_malicious_usage.yml": 1,
        "aws_sts_assumerole_misuse.yml": 2,
    },
    "aws.credential-access.secretsmanager-batch-retrieve-secrets": {},
    "aws.credential-access.secretsmanager-retrieve-secrets": {},
    "aws.credential-access.ssm-retrieve-securestring-parameters": {},
    "aws.defense-evasion.cloudtrail-delete": {"aws_cloudtrail_disable_logging.yml": 1},
    "aws.defense-evasion.cloudtrail-event-selectors": {},
    "aws.defense-evasion.cloudtrail-stop": {"aws_cloudtrail_disable_logging.yml": 1},
    "aws.defense-evasion.dns-delete-logs": {},
    "aws.defense-evasion.organizations-leave": {"aws_sts_assumerole_misuse.yml": 1},
    "aws.defense-evasion.vpc-remove-flow-logs": {"aws_cloudtrail_vpc_flow_logs_deleted.yml": 1},
    "aws.discovery.ec2-download-user-data": {"aws_sts_assumerole_misuse.yml": 15},
    "aws.execution.ec2-launch-unusual-instances": {"aws_sts_assumerole_misuse.yml": 1},
    "aws.execution.ec2-user-data": {},
    "aws.execution.ssm-send-command": {"aws_cloudtrail_ssm_malicious_usage.yml": 1},
    "aws.execution.ssm-start-session": {},
    "aws.exfiltration.ec2-security-group-open-port-22-ingress": {
        "aws_cloudtrail_security_group_change_ingress_egress.yml": 1
    },
    "aws.exfiltration.ec2-share-ami": {},
    "aws.exfiltration.ec2-share-ebs-snapshot": {"aws_snapshot_backup_exfiltration.yml": 1},
    "aws.exfiltration.rds-share-snapshot": {},
    "aws.impact.bedrock-invoke-model": {"aws_sts_assumerole_misuse.yml": 15},
    "aws.initial-access.console-login-without-mfa": {
        "aws_cloudtrail_console_login_success_without_mfa.yml": 1
    },
    "aws.lateral-movement.ec2-instance-connect": {},
    "aws.lateral-movement.ec2-serial-console-send-ssh-public-key": {
        "aws_sts_assumerole_misuse.yml": 4
    },
    "aws.persistence.iam-backdoor-role": {},
    "aws.persistence.iam-backdoor-user": {"aws_iam_backdoor_users_keys.yml": 1},
    "aws.persistence.iam-create-admin-user": {"aws_iam_backdoor_users_keys.yml": 1},
    "aws.persistence.iam-create-backdoor-role": {},
    "aws.persistence.iam-create-user-login-profile": {},
    "aws.persistence.lambda-backdoor-function": {},
    "aws.persistence.lambda-layer-extension": {"aws_new_lambda_layer_attached.yml": 1},
    "aws.persistence.lambda-overwrite-code": {},
    "aws.persistence.rolesanywhere-create-trust-anchor": {},
    "aws.persistence.sts-federation-token": {},
    "aws.privilege-escalation.iam-update-user-login-profile": {"aws_update_login_profile.yml": 1},
}


@pytest.fixture(scope="module")
def techniques(external: Path) -> dict[str, list[Event]]:
    """technique id -> the file's events, through trailhound's readers and normalizer."""
    out = {}
    for f in sorted((external / "stratus-red-team" / "detonation-logs").glob("aws.*.json")):
        items = list(read_paths([str(f)]))
        assert all(isinstance(i, RawRecord) for i in items), [i for i in items if not isinstance(i, RawRecord)]
        out[f.stem] = [normalize(i)[0] for i in items if isinstance(i, RawRecord)]
    assert len(out) == 35
    return out


@pytest.fixture(scope="module")
def fired(external: Path, techniques: dict[str, list[Event]]) -> dict[str, dict[str, int]]:
    """technique -> {rule file: number of events it matched}, all 57 AWS rules, reference engine."""
    ruleset, problems = load_paths([external / AWS_RULES])
    assert not problems and len(ruleset.rules) == 57
    engine = ReferenceEngine()
    plan = engine.compile(RuleSet(ruleset.rules))
    out = {}
    for tech, events in techniques.items():
        n: Counter[str] = Counter()
        for m in engine.run(plan, events):
            n.update(Path(r.path or "").name for r in m.rules)
        out[tech] = dict(n)
    return out


def naming_rules(external: Path, technique: str) -> set[str]:
    """AWS rule files (any SigmaHQ folder) whose text names the technique or Stratus Red Team."""
    root = external / "sigmahq-sigma"
    found = set()
    for p in sorted(root.rglob("*.yml")):
        rel = str(p.relative_to(root))
        if "aws" not in rel:
            continue
        text = p.read_text(encoding="utf-8").lower()
        if technique.lower() in text or "stratus" in text:
            found.add(p.name)
    return found


def test_every_technique_file_is_read_whole(external: Path, techniques: dict[str, list[Event]]) -> None:
    import json

    for tech, events in techniques.items():
        raw = json.loads((external / "stratus-red-team" / "detonation-logs" / f"{tech}.json").read_text())
        assert len(events) == len(raw) and all(e.logsource == ("aws", "cloudtrail") for e in events)


def test_techniques_without_a_naming_rule(external: Path, techniques: dict[str, list[Event]]) -> None:
    named = {t: naming_rules(external, t) for t in techniques}
    # Observed: no SigmaHQ rule names any of the 35 techniques (nor Stratus Red Team at all).
    assert {t for t, rules in named.items() if not rules} == set(techniques)


def test_naming_rules_fire_on_their_technique(
    external: Path, techniques: dict[str, list[Event]], fired: dict[str, dict[str, int]]
) -> None:
    silent = {
        (rule, t): "?"
        for t in techniques
        for rule in naming_rules(external, t)
        if not fired[t].get(rule)
    }
    assert set(silent) == set(NAMED_BUT_SILENT), silent


def test_related_rules_fire_except_the_listed_ones(fired: dict[str, dict[str, int]]) -> None:
    silent = {(rule, t) for t, rules in RELATED.items() for rule in rules if not fired[t].get(rule)}
    assert silent == set(RELATED_BUT_SILENT)
    fire = {(rule, t) for t, rules in RELATED.items() for rule in rules if fired[t].get(rule)}
    assert len(fire) == 12  # 17 related pairs: 12 fire, 5 listed as silent


def test_every_technique_is_classified(techniques: dict[str, list[Event]]) -> None:
    assert set(RELATED) | set(NO_RELATED_RULE) == set(techniques)
    assert not set(RELATED) & set(NO_RELATED_RULE)


def test_fired_is_what_we_saw(fired: dict[str, dict[str, int]]) -> None:
    assert fired == FIRED


def stratus_table(fired: dict[str, dict[str, int]]) -> str:
    """The coverage report: technique -> related rules -> fired? (pytest -s prints it)."""
    lines = []
    for tech in sorted(fired):
        rel = RELATED.get(tech)
        if rel:
            cells = [f"{r} {'FIRED' if fired[tech].get(r) else 'silent'}" for r in rel]
            lines.append(f"{tech}: " + "; ".join(cells))
        else:
            lines.append(f"{tech}: (no related rule: {NO_RELATED_RULE[tech]})")
    return "\n".join(lines)


def test_print_stratus_table(fired: dict[str, dict[str, int]]) -> None:
    table = stratus_table(fired)
    print("\n" + table)
    assert table.count("\n") == 34
