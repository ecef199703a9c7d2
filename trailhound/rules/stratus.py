"""Stratus Red Team techniques and the MITRE ATT&CK techniques that describe them.

Written from the Stratus Red Team technique pages (stratus-red-team.cloud) and MITRE ATT&CK
Enterprise (Cloud matrix), not read from trailhound's rules: it is the yardstick the rules are
measured against (tests/test_stratus_related.py) and what `trailhound rules coverage` reports
on. Ids are lower case as Sigma tags write them (`attack.t1537`).

The list of techniques is Stratus Red Team v2.36 (github.com/DataDog/stratus-red-team, commit
7c9a7a5a, 2026-08-19): docs/attack-techniques/list.md and the Go packages under
v2/internal/attacktechniques/{aws,azure,entra-id,gcp}, which also name the API calls each
technique makes (the emulated scenarios follow them). Out of scope: the Kubernetes (k8s.*) and
EKS (eks.*) techniques, whose telemetry is the Kubernetes audit log, a source trailhound does not
read. Techniques proposed on unmerged branches of that repository (gcp.execution.os-config-run-
command, gcp.exfiltration.share-cloud-sql-backup, gcp.exfiltration.backdoor-gcs-bucket,
gcp.execution.iap-tunnel-session, ...) are not in its list and not here.
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

# Techniques Stratus Red Team lists (docs/attack-techniques/{Azure,entra-id,GCP}, and AWS ones
# missing from ../shared's detonation logs) with no detonation log at hand: `trailhound emulate` writes one schema-faithful scenario each
# (emulate/stratus.py) and tests/test_stratus_emulated.py scans it with the default profile.
# Ids from MITRE ATT&CK's Cloud matrix for what each technique does (Stratus's pages give the
# tactic, and for Azure the Azure Threat Research Matrix id, not an ATT&CK technique).
STRATUS_EMULATED: dict[str, frozenset[str]] = {
    k: frozenset(v)
    for k, v in {
        # Cloud Administration Command: a script run on the VM through the control plane
        "azure.execution.vm-custom-script-extension": {"t1651"},
        "azure.execution.vm-run-command": {"t1651"},
        # Transfer Data to Cloud Account: a SAS URL anyone can download the disk from
        "azure.exfiltration.disk-export": {"t1537"},
        # AZT509: a link opening the VM's console to anyone holding it, outside Azure identity
        "azure.persistence.create-bastion-shareable-link": {"t1133", "t1098"},
        # Additional Cloud Credentials: a secret on an app or service principal someone else owns
        "entra-id.persistence.backdoor-application": {"t1098.001"},
        "entra-id.persistence.backdoor-application-sp": {"t1098.001"},
        # Create Account: Cloud Account (the guest is a new account in the tenant)
        "entra-id.persistence.guest-user": {"t1136.003"},
        # Hide Artifacts (hidden membership), Additional Cloud Roles (the role scoped to the AU)
        "entra-id.persistence.hidden-au": {"t1564", "t1098.003"},
        # Account Manipulation: the backdoor user is out of reach of the tenant's own admins
        "entra-id.persistence.restricted-au": {"t1098", "t1098.003"},
        # a new application (Cloud Account), its secret, its role
        "entra-id.persistence.new-application": {"t1136.003", "t1098.001", "t1098.003"},
        "gcp.defense-evasion.delete-logging-sink": {"t1562.008"},
        "gcp.defense-evasion.disable-audit-logs": {"t1562.008"},
        "gcp.defense-evasion.remove-project-from-organization": {"t1666"},
        "gcp.exfiltration.share-compute-disk": {"t1537"},
        "gcp.exfiltration.share-compute-image": {"t1537"},
        "gcp.exfiltration.share-compute-snapshot": {"t1537"},
        "gcp.persistence.backdoor-service-account-policy": {"t1098.003"},
        "gcp.persistence.create-admin-service-account": {"t1136.003", "t1098.003"},
        "gcp.persistence.create-service-account-key": {"t1098.001"},
        "gcp.persistence.invite-external-user": {"t1098.003"},
        # Temporary Elevated Cloud Access names GCP service-account impersonation; the token is
        # then a valid cloud account's
        "gcp.privilege-escalation.impersonate-service-accounts": {"t1548.005", "t1078.004"},
        # --- added in Stratus v2.36 ---
        # Unsecured Credentials: the publishing profile holds FTP / Web Deploy passwords
        "azure.credential-access.app-service-publishing-credentials": {"t1552"},
        # Data from Cloud Storage: anonymous access, or a SAS signed with a listed account key
        "azure.exfiltration.storage-public-access": {"t1530"},
        "azure.exfiltration.storage-sas-export": {"t1530"},
        # Data Encrypted for Impact: the data put under a key the attacker then deletes
        "azure.impact.blob-ransomware-client-encryption-scope": {"t1486"},
        "azure.impact.blob-ransomware-service-storage-cmk": {"t1486"},
        # Data Encrypted for Impact: each blob rewritten under a customer-provided key (CPK) only
        # the attacker holds; Data Destruction: every blob and version deleted one by one.
        # Data plane only: Azure Storage resource logs (StorageBlobLogs), read as azure_activity
        "azure.impact.blob-ransomware-cpek": {"t1486"},
        "azure.impact.blob-ransomware-individual-file-deletion": {"t1485"},
        # Data Destruction: a lock exists to prevent it; removing it is its first step
        "azure.impact.resource-lock": {"t1485"},
        # Additional Cloud Credentials: a federated credential, API keys turned back on
        "azure.persistence.backdoor-managed-identity-fic": {"t1098.001"},
        "azure.persistence.exfiltrate-foundry-key": {"t1098.001", "t1552"},
        # Additional Cloud Roles (User Access Administrator at the root scope)
        "azure.privilege-escalation.root-user-access-administrator": {"t1098.003"},
        "entra-id.persistence.backdoor-application-fic": {"t1098.001"},
        "gcp.credential-access.secretmanager-retrieve-secrets": {"t1555.006"},
        "gcp.defense-evasion.delete-dns-logs": {"t1562.008"},
        "gcp.defense-evasion.disable-logging-sink": {"t1562.008"},
        "gcp.defense-evasion.reduce-sink-log-retention": {"t1562.008"},
        "gcp.defense-evasion.remove-vpc-flow-logs": {"t1562.008"},
        # Cloud Infrastructure Discovery, then credentials in the instance metadata
        "gcp.discovery.download-instance-metadata": {"t1580", "t1552.005"},
        # Permission Groups Discovery: Cloud Groups (what the stolen key may do)
        "gcp.discovery.enumerate-permissions": {"t1069.003"},
        "gcp.execution.modify-vertex-notebook-startup": {"t1059", "t1037"},
        # Resource Hijacking (compute), Unused/Unsupported Cloud Regions
        "gcp.impact.create-gpu-vm": {"t1496"},
        "gcp.impact.create-instances-in-multiple-zones": {"t1496", "t1535"},
        "gcp.impact.gcs-ransomware-client-side-encryption": {"t1486"},
        "gcp.impact.gcs-ransomware-individual-deletion": {"t1485"},
        # Valid Accounts: Cloud Accounts, with a token from the instance metadata server
        "gcp.initial-access.use-compute-sa-outside-gcp": {"t1078.004", "t1552.005"},
        # Account Manipulation: SSH Authorized Keys
        "gcp.lateral-movement.add-sshkey-instance-metadata": {"t1098.004"},
        # --- AWS, no detonation log in ../shared: emulated from the Go package's calls ---
        # Disable Cloud Logs: S3 expires the trail's log files by itself
        "aws.defense-evasion.cloudtrail-lifecycle-rule": {"t1562.008"},
        # the OnStart script runs as the notebook's role (as gcp.execution.modify-vertex-notebook-
        # startup): Command and Scripting Interpreter, Boot or Logon Initialization Scripts
        "aws.execution.sagemaker-update-lifecycle-config": {"t1059", "t1037"},
        # Data Destruction (AWS Threat Technique Catalog T1485.A002, AMI Image Deletion)
        "aws.impact.ec2-deregister-ami": {"t1485"},
        # Data Destruction: every object version deleted (as gcp.impact.gcs-ransomware-...)
        "aws.impact.s3-ransomware-individual-deletion": {"t1485"},
        # Data Destruction: every version deleted in one DeleteObjects request
        "aws.impact.s3-ransomware-batch-deletion": {"t1485"},
        # Data Encrypted for Impact: objects rewritten under a key only the attacker holds (SSE-C)
        "aws.impact.s3-ransomware-client-side-encryption": {"t1486"},
        # Cloud Infrastructure Discovery (buckets, snapshots), Cloud Service Discovery (trails,
        # GuardDuty), Account Discovery: Cloud Account (IAM users, roles), from the instance's role
        "aws.discovery.ec2-enumerate-from-instance": {"t1580", "t1526", "t1087.004"},
        # Cloud Service Discovery: what SES lets the account send, and as whom
        "aws.discovery.ses-enumerate": {"t1526"},
    }.items()
}

# Stratus techniques whose only telemetry is a log trailhound does not read: listed by
# `rules coverage` as not covered, with the reason, instead of claiming a proxy. None now: the
# two Azure blob ransomware techniques (StorageBlobLogs, read as azure_activity) are emulated.
STRATUS_NOT_OBSERVABLE: dict[str, str] = {}

# AWS techniques Stratus Red Team lists with no detonation log here and no emulated scenario yet
# -> the rules (ids) written for them (the others are emulated: STRATUS_EMULATED). Only their own positive test
# case proves them (a "rule test only" claim); an empty tuple: nothing detects the technique yet.
AWS_IAM_CHANGE = "e39dec0c-629d-5b13-9d4a-9048703ef508"  # corrected: users, keys, bucket policies
STRATUS_WITHOUT_LOGS: dict[str, tuple[str, ...]] = {
    "aws.exfiltration.s3-backdoor-bucket-policy": (AWS_IAM_CHANGE,),
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
