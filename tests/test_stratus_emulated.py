"""Issue #16, the techniques without a detonation log: each Azure, Entra ID and GCP technique Stratus
Red Team lists, and the AWS ones missing from ../shared's logs, has a `trailhound emulate` scenario,
and default `detect` raises a finding on it from a rule whose ATT&CK tag matches the technique.

The oracle is STRATUS_EMULATED (rules/stratus.py): the ATT&CK ids of each technique, written from
Stratus's pages and MITRE ATT&CK, not read from the rules. The records' schema is held to real
samples by tests/test_emulate.py (key sets and value types); here, plain Python over the written
files checks that each scenario carries the call Stratus's "Detection" section names.
"""

from __future__ import annotations

import json
from itertools import groupby
from pathlib import Path
from typing import Any

import pytest

import trailhound
from trailhound.emulate.check import labels
from trailhound.emulate.registry import SCENARIOS
from trailhound.emulate.run import emulate, records
from trailhound.emulate.stratus import scenario_name
from trailhound.pipeline import scan_stream
from trailhound.profiles import DEFAULT_PROFILE, get_profile
from trailhound.rules.cases import _label as label
from trailhound.rules.loader import load_pack
from trailhound.rules.model import RuleSet
from trailhound.rules.stratus import STRATUS_EMULATED as EXPECTED
from trailhound.rules.stratus import tag_matches
from trailhound.scoring import Finding

# Techniques the default profile does not raise with a matching tag, and why.
MISSES: dict[str, str] = {}

# The operation Stratus's page says to look for (stream, field, value), checked on the raw record
DETECTION = {
    "azure.execution.vm-custom-script-extension":
        ("operationName", "microsoft.compute/virtualmachines/extensions/write"),
    "azure.execution.vm-run-command":
        ("operationName", "microsoft.compute/virtualmachines/runcommand/action"),
    "azure.exfiltration.disk-export":
        ("operationName", "microsoft.compute/disks/begingetaccess/action"),
    "azure.persistence.create-bastion-shareable-link":
        ("operationName", "microsoft.network/bastionhosts/createshareablelinks/action"),
    "entra-id.persistence.backdoor-application":
        ("operationName", "update application – certificates and secrets management "),
    "entra-id.persistence.backdoor-application-sp":
        ("operationName", "add service principal credentials"),
    "entra-id.persistence.guest-user": ("operationName", "invite external user"),
    "entra-id.persistence.hidden-au": ("operationName", "add administrative unit"),
    "entra-id.persistence.new-application": ("operationName", "add application"),
    "entra-id.persistence.restricted-au": ("operationName", "add administrative unit"),
    "gcp.defense-evasion.delete-logging-sink":
        ("methodName", "google.logging.v2.configservicev2.deletesink"),
    "gcp.defense-evasion.disable-audit-logs": ("methodName", "setiampolicy"),
    "gcp.defense-evasion.remove-project-from-organization":
        ("methodName", "google.cloud.resourcemanager.v3.projects.moveproject"),
    "gcp.exfiltration.share-compute-disk": ("methodName", "v1.compute.disks.setiampolicy"),
    "gcp.exfiltration.share-compute-image": ("methodName", "v1.compute.images.setiampolicy"),
    "gcp.exfiltration.share-compute-snapshot": ("methodName", "v1.compute.snapshots.setiampolicy"),
    "gcp.persistence.backdoor-service-account-policy":
        ("methodName", "google.iam.admin.v1.setiampolicy"),
    "gcp.persistence.create-admin-service-account":
        ("methodName", "google.iam.admin.v1.createserviceaccount"),
    "gcp.persistence.create-service-account-key":
        ("methodName", "google.iam.admin.v1.createserviceaccountkey"),
    "gcp.persistence.invite-external-user": ("methodName", "setiampolicy"),
    "gcp.privilege-escalation.impersonate-service-accounts": ("methodName", "generateaccesstoken"),
    # added in Stratus v2.36 (the calls each technique's Go package makes)
    "azure.credential-access.app-service-publishing-credentials":
        ("operationName", "microsoft.web/sites/publishxml/action"),
    "azure.exfiltration.storage-public-access":
        ("operationName", "microsoft.storage/storageaccounts/write"),
    "azure.exfiltration.storage-sas-export":
        ("operationName", "microsoft.storage/storageaccounts/listkeys/action"),
    "azure.impact.blob-ransomware-client-encryption-scope":
        ("operationName", "microsoft.storage/storageaccounts/encryptionscopes/write"),
    "azure.impact.blob-ransomware-service-storage-cmk":
        ("operationName", "microsoft.keyvault/vaults/delete"),
    "azure.impact.resource-lock": ("operationName", "microsoft.authorization/locks/delete"),
    # data plane: StorageBlobLogs records (emulate/stratus_azure_blob.py)
    "azure.impact.blob-ransomware-individual-file-deletion": ("operationName", "deleteblob"),
    "azure.impact.blob-ransomware-cpek": ("statusText", "blobusescustomerspecifiedencryption"),
    "azure.persistence.backdoor-managed-identity-fic":
        ("operationName", ("microsoft.managedidentity/userassignedidentities/"
                           "federatedidentitycredentials/write")),
    "azure.persistence.exfiltrate-foundry-key":
        ("operationName", "microsoft.cognitiveservices/accounts/write"),
    "azure.privilege-escalation.root-user-access-administrator":
        ("operationName", "microsoft.authorization/elevateaccess/action"),
    "entra-id.persistence.backdoor-application-fic": ("operationName", "update application"),
    "gcp.credential-access.secretmanager-retrieve-secrets":
        ("methodName", "google.cloud.secretmanager.v1.secretmanagerservice.accesssecretversion"),
    "gcp.defense-evasion.delete-dns-logs": ("methodName", "dns.policies.delete"),
    "gcp.defense-evasion.disable-logging-sink":
        ("methodName", "google.logging.v2.configservicev2.updatesink"),
    "gcp.defense-evasion.reduce-sink-log-retention": ("methodName", "storage.buckets.update"),
    "gcp.defense-evasion.remove-vpc-flow-logs": ("methodName", "v1.compute.subnetworks.patch"),
    "gcp.discovery.download-instance-metadata": ("methodName", "v1.compute.instances.get"),
    "gcp.discovery.enumerate-permissions": ("methodName", "testiampermissions"),
    "gcp.execution.modify-vertex-notebook-startup":
        ("methodName", "google.cloud.notebooks.v2.notebookservice.updateinstance"),
    "gcp.impact.create-gpu-vm": ("methodName", "v1.compute.instances.insert"),
    "gcp.impact.create-instances-in-multiple-zones": ("methodName", "v1.compute.instances.insert"),
    "gcp.impact.gcs-ransomware-client-side-encryption": ("methodName", "storage.objects.create"),
    "gcp.impact.gcs-ransomware-individual-deletion": ("methodName", "storage.objects.delete"),
    "gcp.initial-access.use-compute-sa-outside-gcp":
        ("methodName", "v1.compute.instances.setlabels"),
    "gcp.lateral-movement.add-sshkey-instance-metadata":
        ("methodName", "v1.compute.instances.setmetadata"),
    # AWS techniques with no detonation log in ../shared (CloudTrail eventName)
    "aws.defense-evasion.cloudtrail-lifecycle-rule": ("eventName", "putbucketlifecycle"),
    "aws.execution.sagemaker-update-lifecycle-config": ("eventName", "updatenotebookinstance"),
    "aws.impact.ec2-deregister-ami": ("eventName", "deregisterimage"),
    "aws.impact.s3-ransomware-individual-deletion": ("eventName", "deleteobject"),
    "aws.impact.s3-ransomware-batch-deletion": ("eventName", "deleteobjects"),
    "aws.impact.s3-ransomware-client-side-encryption": ("eventName", "copyobject"),
    "aws.discovery.ec2-enumerate-from-instance": ("eventName", "getaccountauthorizationdetails"),
    "aws.discovery.ses-enumerate": ("eventName", "getsendquota"),
}


def matching(findings: list[Finding], expected: frozenset[str]) -> set[str]:
    return {label(r) for f in findings for r in f.rules
            if not r.context and any(tag_matches(t, expected) for t in r.tags)}


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Path]]:
    root = tmp_path_factory.mktemp("stratus")
    out = {}
    for stratus_id in EXPECTED:
        files, n = emulate(SCENARIOS.get(scenario_name(stratus_id)), root / stratus_id)
        assert n > 0
        out[stratus_id] = files
    return out


def test_every_technique_has_a_scenario_with_its_ids() -> None:
    stratus = {SCENARIOS.get(n) for n in SCENARIOS if SCENARIOS.get(n).family == "stratus"}
    assert {s.name for s in stratus} == {scenario_name(t) for t in EXPECTED}
    for t, ids in EXPECTED.items():
        assert {x.lower() for x in SCENARIOS.get(scenario_name(t)).techniques} == ids


@pytest.mark.parametrize("stratus_id", sorted(DETECTION))
def test_scenario_carries_the_call_stratus_names(stratus_id: str) -> None:
    field, value = DETECTION[stratus_id]
    recs = [r for rs in records(SCENARIOS.get(scenario_name(stratus_id))).values() for r in rs]
    got = {str((r.get("protoPayload") or r).get(field, "")).lower() for r in recs}
    assert value in got, got


def test_detection_table_names_every_technique() -> None:
    assert set(DETECTION) == set(EXPECTED)


@pytest.fixture(scope="module")
def hits(written: dict[str, list[Path]]) -> dict[str, set[str]]:
    out = {}
    for stratus_id, files in written.items():
        result = trailhound.scan([str(f) for f in files])
        assert result.profile.name == DEFAULT_PROFILE
        out[stratus_id] = matching(result.findings, EXPECTED[stratus_id])
    return out


def test_default_profile_hits_every_emulated_technique(hits: dict[str, set[str]]) -> None:
    missed = {t: sorted(EXPECTED[t]) for t, rules in hits.items() if not rules}
    assert set(missed) == set(MISSES), missed


@pytest.mark.parametrize("stratus_id", sorted(EXPECTED))
def test_scenario_raises_what_it_promises_and_reads_cleanly(
    written: dict[str, list[Path]], stratus_id: str
) -> None:
    result = trailhound.scan([str(f) for f in written[stratus_id]])
    stats = result.summary
    assert stats.records > 0 and stats.error_count == 0 and not sum(stats.skipped.values())
    fired = set().union(*(labels(f) for f in result.findings))
    assert fired == set(SCENARIOS.get(scenario_name(stratus_id)).expects)


def test_each_hit_goes_away_without_its_rules(
    written: dict[str, list[Path]], hits: dict[str, set[str]]
) -> None:
    """The claim can fail: drop the matching rules and the technique is no longer hit."""
    profile = get_profile(DEFAULT_PROFILE)
    ruleset = load_pack(profile.pack)
    for stratus_id, rules in hits.items():
        kept = RuleSet(tuple(r for r in ruleset.rules if label(r) not in rules), ruleset.filters,
                       tuple(c for c in ruleset.correlations if label(c) not in rules))
        findings = scan_stream([str(f) for f in written[stratus_id]], profile,
                               ruleset=kept).findings
        assert not matching(findings, EXPECTED[stratus_id]), stratus_id


def test_flagship_alone_misses_the_related_packs_techniques(
    written: dict[str, list[Path]]
) -> None:
    """--profile corrected does not have the new rules: those techniques are not hit there."""
    corrected = get_profile("corrected")
    for stratus_id in ("azure.persistence.create-bastion-shareable-link",
                       "entra-id.persistence.hidden-au",
                       "gcp.defense-evasion.remove-project-from-organization",
                       "entra-id.persistence.backdoor-application-fic",
                       "gcp.defense-evasion.disable-logging-sink",
                       "gcp.impact.gcs-ransomware-individual-deletion",
                       "azure.persistence.backdoor-managed-identity-fic",
                       "aws.defense-evasion.cloudtrail-lifecycle-rule",
                       "aws.execution.sagemaker-update-lifecycle-config",
                       "aws.impact.ec2-deregister-ami",
                       "aws.impact.s3-ransomware-individual-deletion",
                       "aws.impact.s3-ransomware-batch-deletion",
                       "aws.impact.s3-ransomware-client-side-encryption",
                       "aws.discovery.ec2-enumerate-from-instance",
                       "aws.discovery.ses-enumerate"):
        findings = scan_stream([str(f) for f in written[stratus_id]], corrected).findings
        assert not matching(findings, EXPECTED[stratus_id]), stratus_id



def test_validate_holds_the_default_profile_to_every_promise(tmp_path: Path) -> None:
    """`trailhound validate` (default profile): every expected label fires, none excused."""
    from trailhound.emulate.check import run_all

    profile = get_profile(DEFAULT_PROFILE)
    chosen = [SCENARIOS.get(scenario_name(t)) for t in EXPECTED]
    report = run_all(chosen, tmp_path, profile, load_pack(profile.pack))
    assert report.failures() == []
    assert not any(o.absent for o in report.outcomes)


@pytest.mark.parametrize(("stratus_id", "setting", "value"), [
    ("entra-id.persistence.hidden-au", "Visibility", ["HiddenMembership"]),
    ("entra-id.persistence.restricted-au", "IsMemberManagementRestricted", [True]),
])
def test_administrative_unit_scenarios_set_what_stratus_sets(
    stratus_id: str, setting: str, value: list[object]
) -> None:
    recs = records(SCENARIOS.get(scenario_name(stratus_id)))["entra_audit"]
    unit = next(r for r in recs if r["operationName"] == "Add administrative unit")
    props = {m["displayName"]: m["newValue"]
             for t in unit["properties"]["targetResources"] for m in t["modifiedProperties"]}
    assert json.loads(props[setting]) == value


# What each Go package (v2/internal/attacktechniques/aws/...) calls, in order, read off the written
# records by plain Python: (eventName, how many) runs, consecutive calls of one name folded
GO_CALLS = {
    "aws.impact.s3-ransomware-batch-deletion": [
        ("ListObjects", 1), ("GetObject", 51), ("ListObjectVersions", 1), ("DeleteObjects", 1),
        ("PutObject", 1)],
    "aws.impact.s3-ransomware-client-side-encryption": [
        ("ListObjects", 1), ("GetObject", 51), ("ListObjectVersions", 1), ("CopyObject", 51),
        ("PutObject", 1)],
    "aws.discovery.ses-enumerate": [
        ("GetAccountSendingEnabled", 1), ("ListIdentities", 1),
        ("GetIdentityVerificationAttributes", 1), ("GetSendQuota", 1)],
    "aws.discovery.ec2-enumerate-from-instance": [
        ("DescribeInstanceInformation", 1), ("SendCommand", 1), ("GetCallerIdentity", 1),
        ("ListBuckets", 1), ("GetAccountSummary", 1), ("ListRoles", 1), ("ListUsers", 1),
        ("GetAccountAuthorizationDetails", 1), ("DescribeSnapshots", 1), ("DescribeTrails", 1),
        ("ListDetectors", 1), ("GetCommandInvocation", 1)],
}


def _aws_records(stratus_id: str) -> list[dict[str, Any]]:
    recs = records(SCENARIOS.get(scenario_name(stratus_id)))["cloudtrail"]
    return sorted(recs, key=lambda r: str(r["eventTime"]))


@pytest.mark.parametrize("stratus_id", sorted(GO_CALLS))
def test_aws_scenario_makes_the_go_packages_calls_in_order(stratus_id: str) -> None:
    names = [r["eventName"] for r in _aws_records(stratus_id)]
    assert [(name, len(list(run))) for name, run in groupby(names)] == GO_CALLS[stratus_id]


def test_sse_c_scenario_rewrites_each_object_in_place_under_a_customer_key() -> None:
    copies = [r for r in _aws_records("aws.impact.s3-ransomware-client-side-encryption")
              if r["eventName"] == "CopyObject"]
    for r in copies:
        params = r["requestParameters"]
        assert params["x-amz-server-side-encryption-customer-algorithm"] == "AES256"
        assert params["x-amz-copy-source"] == f"{params['bucketName']}/{params['key']}"
        assert r["eventCategory"] == "Data" and r["managementEvent"] is False
    assert len({r["requestParameters"]["key"] for r in copies}) == 51


def test_instance_scenario_runs_as_the_instance_role_and_is_denied() -> None:
    """The instance role holds AmazonSSMManagedInstanceCore only (the Terraform): its session,
    named after the instance, gets its identity and nothing else."""
    recs = _aws_records("aws.discovery.ec2-enumerate-from-instance")
    box = [r for r in recs if r["userIdentity"]["type"] == "AssumedRole"]
    assert len(box) == 9
    for r in box:
        assert r["userIdentity"]["arn"].split("/")[-1].startswith("i-")
        assert ("errorCode" in r) == (r["eventName"] != "GetCallerIdentity")


# What the Azure blob ransomware Go packages call, read off the StorageBlobLogs records by plain
# Python: 51 blobs (main.tf num_files) in 5 containers, one caller
def _blob_records(stratus_id: str) -> list[dict[str, Any]]:
    recs = records(SCENARIOS.get(scenario_name(stratus_id)))["azure_activity"]
    return sorted(recs, key=lambda r: str(r["time"]))


def test_blob_deletion_scenario_deletes_each_blob_then_its_version() -> None:
    recs = _blob_records("azure.impact.blob-ransomware-individual-file-deletion")
    ops = [(r["operationName"], r["properties"]["objectKey"]) for r in recs]
    read = [k for op, k in ops if op == "GetBlob"]
    deleted = [k for op, k in ops if op == "DeleteBlob"]
    assert len(set(read)) == 51 and len(read) == 51
    assert deleted == read + read  # each blob, then its version left by versioning
    assert ops[-1][0] == "PutBlob" and ops[-1][1].endswith("/your-files-deleted/FILES-DELETED.txt")
    assert len({r["identity"]["requester"]["upn"] for r in recs}) == 1
    assert all(r["category"] == "StorageDelete" for r in recs if r["operationName"] == "DeleteBlob")


def test_cpk_scenario_rewrites_each_blob_in_place_then_reads_are_refused() -> None:
    recs = _blob_records("azure.impact.blob-ransomware-cpek")
    attacker = [r for r in recs if r["statusCode"] < 400]
    pairs = [(r["operationName"], r["properties"]["objectKey"]) for r in attacker
             if r["operationName"] in ("GetBlob", "PutBlob")]
    rewritten = [k for op, k in pairs[0:-1:2]]
    assert pairs[:-1] == [x for k in rewritten for x in (("GetBlob", k), ("PutBlob", k))]
    assert len(set(rewritten)) == 51 and pairs[-1][1].endswith("/FILES-ENCRYPTED.txt")
    refused = [r for r in recs if r["statusCode"] >= 400]
    assert {r["statusText"] for r in refused} == {"BlobUsesCustomerSpecifiedEncryption"}
    assert {r["properties"]["objectKey"] for r in refused} <= set(rewritten)
    assert min(r["time"] for r in refused) > max(r["time"] for r in attacker)
