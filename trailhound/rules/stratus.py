"""Stratus Red Team techniques and the MITRE ATT&CK techniques that describe them.

Written from the Stratus Red Team technique pages (stratus-red-team.cloud) and MITRE ATT&CK
Enterprise (Cloud matrix), not read from trailhound's rules: it is the yardstick the rules are
measured against (tests/test_stratus_related.py) and what `trailhound rules coverage` reports
on. Ids are lower case as Sigma tags write them (`attack.t1537`).
"""

from __future__ import annotations

# Techniques with a detonation log in ../shared/data/external/stratus-red-team/ (35 files).
STRATUS_ATTACK: dict[str, frozenset[str]] = {
    k: frozenset(v)
    for k, v in {
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
    }.items()
}

# Techniques Stratus Red Team lists with no detonation log here -> the rules (ids) written for
# them. Only their own positive test case proves them (a "rule test only" claim); an empty tuple:
# nothing detects the technique yet.
AWS_IAM_CHANGE = "e39dec0c-629d-5b13-9d4a-9048703ef508"  # corrected: users, keys, bucket policies
AZURE_COMPUTE_CREATE = "283c5e58-06e8-575a-bc2e-69d5b3d00f92"  # corrected: VM write, Run Command
GCP_IAM_CHANGE = "cc90519c-50f1-5c8f-9bfb-a54b7989632f"  # corrected: service accounts and keys
GCP_PRIV_ESC = "44938d75-848e-5b15-bff4-96a3d1f0bf99"  # corrected: SetIamPolicy, impersonation
GCP_SHARED = "2b54dc24-a701-5fe3-ae5a-1709674ec290"  # related: gcp_audit_compute_resource_shared
STRATUS_WITHOUT_LOGS: dict[str, tuple[str, ...]] = {
    "aws.defense-evasion.cloudtrail-lifecycle-rule": (),
    "aws.discovery.ec2-enumerate-from-instance": (),
    "aws.discovery.ses-enumerate": (),
    "aws.exfiltration.s3-backdoor-bucket-policy": (AWS_IAM_CHANGE,),
    "aws.impact.s3-ransomware-batch-deletion": (),
    "aws.impact.s3-ransomware-client-side-encryption": (),
    "aws.impact.s3-ransomware-individual-deletion": (),
    "azure.execution.vm-custom-script-extension": ("64513a2c-995b-519b-b99f-47d9a14e9814",),
    "azure.execution.vm-run-command": (AZURE_COMPUTE_CREATE,),
    "azure.exfiltration.disk-export": ("5ac003c7-63db-5e4a-bca2-0dd912f59bac",),
    "gcp.exfiltration.share-compute-disk": (GCP_SHARED,),
    "gcp.exfiltration.share-compute-image": (GCP_SHARED,),
    "gcp.exfiltration.share-compute-snapshot": (GCP_SHARED,),
    "gcp.persistence.backdoor-service-account-policy": (GCP_PRIV_ESC,),
    "gcp.persistence.create-admin-service-account": (GCP_IAM_CHANGE, GCP_PRIV_ESC),
    "gcp.persistence.create-service-account-key": (GCP_IAM_CHANGE,),
    "gcp.persistence.invite-external-user": (GCP_PRIV_ESC,),
    "gcp.privilege-escalation.impersonate-service-accounts": (GCP_PRIV_ESC,),
}


def technique_of(tag: str) -> str | None:
    """`attack.t1098.001` -> `t1098.001`; None for a tactic or any other tag."""
    if not tag.startswith("attack.t") or not tag[8:9].isdigit():
        return None
    return tag.removeprefix("attack.")


def tag_matches(tag: str, expected: frozenset[str] | set[str]) -> bool:
    """A rule tag names one of `expected`, or an expected technique's parent (the flagship tags
    T1098 where Stratus means T1098.001). A sub-technique never stands for its parent: the
    flagship's T1059.009 (Cloud API) on every rule is not T1059."""
    tech = technique_of(tag)
    return tech is not None and any(tech in (e, e.split(".")[0]) for e in expected)
