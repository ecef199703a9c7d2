"""Every registered Source is complete, and every table that lists sources is derived from the
one registry (trailhound/logsources.py).

The oracles are the Source records' own samples and the shipped rule files read as plain YAML
(not through trailhound's loader); field paths are resolved over the sample by plain Python.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from trailhound.logsources import SOURCES, Source
from trailhound.model import LOGSOURCES, Location, RawRecord
from trailhound.normalize import NORMALIZERS, normalize
from trailhound.rules.pipelines import FIELD_TABLES, NOT_MAPPED, UNSOURCED_TABLES
from trailhound.sources.classify import CLASSIFIERS, UNDERSTOOD, classify

PACKS = Path(__file__).resolve().parents[1] / "trailhound" / "rules" / "packs"
ALL = SOURCES.values()
IDS = [s.name for s in ALL]


def _fields(node: Any) -> Iterator[str]:
    """Field names of a Sigma detection (keys of its maps, modifiers cut off)."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield str(key).split("|")[0]
            yield from _fields(value)
    elif isinstance(node, list):
        for item in node:
            yield from _fields(item)


def _shipped_rule_fields() -> dict[tuple[str, str], set[str]]:
    """(product, service) -> every field the shipped rules of that log source test."""
    out: dict[tuple[str, str], set[str]] = {}
    for path in sorted(PACKS.glob("*/*.yml")):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if not isinstance(doc, dict) or not isinstance(doc.get("detection"), dict):
                continue  # correlation documents name rules, not fields
            ls = doc.get("logsource") or {}
            key = (str(ls.get("product")), str(ls.get("service")))
            fields = out.setdefault(key, set())
            for name, detection in doc["detection"].items():
                if name != "condition":
                    fields.update(_fields(detection))
    return out


SHIPPED = _shipped_rule_fields()


def _resolve(record: Any, path: str) -> list[Any]:
    """Values at a dotted path; a list on the way is searched element by element."""
    nodes = [record]
    for key in path.split("."):
        nxt: list[Any] = []
        for node in nodes:
            for item in node if isinstance(node, list) else [node]:
                if isinstance(item, dict) and item.get(key) is not None:
                    nxt.append(item[key])
        nodes = nxt
    return nodes


def test_the_builtin_sources_are_registered() -> None:
    assert IDS == [
        "cloudtrail",
        "azure_activity",
        "entra_audit",
        "entra_signin",
        "gcp_audit",
        "m365_audit",
    ]


@pytest.mark.parametrize("source", ALL, ids=IDS)
def test_the_classifier_recognises_the_sample(source: Source) -> None:
    verdict = classify(dict(source.sample))
    assert verdict.source == source.name, verdict.message
    assert source.classifier in CLASSIFIERS.ordered()


@pytest.mark.parametrize("source", ALL, ids=IDS)
def test_the_normalizer_makes_an_event_of_the_logsource(source: Source) -> None:
    rec = RawRecord(
        data=dict(source.sample), location=Location("sample"), source=source.name, envelope="single"
    )
    event, issues = normalize(rec)
    assert issues == []
    assert event.source == source.name
    assert event.logsource == source.logsource
    assert event.time is not None and event.time_ns is not None
    assert event.operation
    assert event.principal


# CloudTrail's per-API objects: their keys depend on the API called, so no one sample can hold
# them all. A shipped rule's path under them must occur in a real record instead: the Stratus Red
# Team detonation logs in ../shared (CloudTrail as AWS wrote it), or be listed here with why not.
PER_API = ("requestParameters.", "responseElements.", "additionalEventData.")
NOT_IN_STRATUS = {
    "requestParameters.cidrIpv6": "AuthorizeSecurityGroupIngress with an IPv6 range (Stratus opens IPv4)",
    "requestParameters.createVolumePermission.add.items.group":
        "ModifySnapshotAttribute shared with group all (Stratus shares with one account)",
    "requestParameters.launchPermission.add.items.group":
        "ModifyImageAttribute shared with group all (Stratus shares with one account)",
    # the related pack's rules for AWS techniques Stratus has no detonation log of
    "requestParameters.bucketName":
        "every S3 bucket-level call's bucket (CloudTrail's S3 log reference); the Stratus logs here"
        " hold no S3 call",
    "requestParameters.lifecycleConfigName":
        "UpdateNotebookInstance's request (SageMaker API LifecycleConfigName, as CloudTrail logs"
        " request members: camelCase); Stratus aws.execution.sagemaker-update-lifecycle-config has"
        " no detonation log",
    "requestParameters.LifecycleConfiguration.Rule.Expiration.Days":
        "PutBucketLifecycle's request body as CloudTrail logs it (the S3 API's LifecycleConfiguration"
        " XML; Stratus aws.defense-evasion.cloudtrail-lifecycle-rule has no detonation log)",
    "requestParameters.x-amz-server-side-encryption-customer-algorithm":
        "the SSE-C request header of PutObject / CopyObject as CloudTrail logs it (Stratus"
        " aws.impact.s3-ransomware-client-side-encryption's Detection section; Panther's"
        " AWS.S3.CopyObjectWithClientSideEncryption sample in ../shared); that technique has no"
        " detonation log",
    "additionalEventData.SSEApplied":
        "the encryption S3 applied to a written object (SSE_S3, SSE_KMS, SSE_C: CloudTrail's S3"
        " data-event reference; Panther's AWS.S3.RansomwareNoteUpload sample in ../shared carries"
        " SSE_S3); the Stratus logs here hold no S3 data event",
}

# Top-level CloudTrail members only some records carry (the one sample cannot hold them all): a
# shipped rule testing one must find it in a real record of ../shared (invictus-ir's trail)
TOP_LEVEL_OPTIONAL = {
    "sessionCredentialFromConsole":
        "\"true\" on calls made with AWS Management Console session credentials (CloudTrail record"
        " contents); absent otherwise",
}

# GCP's per-method payloads (protoPayload.serviceData, request, response) vary like CloudTrail's:
# a shipped rule's path there that the sample lacks is listed with the schema that defines it.
GCP_PER_METHOD = {
    "protoPayload.serviceData.policyDelta.auditConfigDeltas.action":
        "google.iam.v1.logging.AuditData policyDelta (AuditConfigDelta.action); no record in "
        "../shared removes an audit config (Panther's SetIamPolicy samples carry bindingDeltas)",
    # the related pack's GCP rules (Stratus v2.36 techniques); where ../shared shows the shape
    "protoPayload.authorizationInfo.permission":
        "every checked permission; a GCS rewrite checks create and delete (Panther "
        "GCP.GCS.BulkObjectRewrite sample in ../shared/data/external/panther-analysis)",
    "protoPayload.metadata.instanceMetadataDelta.addedMetadataKeys":
        "GceInstanceAuditMetadata of setMetadata (Panther GCP.Compute.SSHConnection sample)",
    "protoPayload.metadata.instanceMetadataDelta.modifiedMetadataKeys":
        "GceInstanceAuditMetadata of setMetadata (Panther GCP.Compute.SSHConnection sample)",
    "protoPayload.metadata.projectMetadataDelta.addedMetadataKeys":
        "GceProjectAuditMetadata of setCommonInstanceMetadata",
    "protoPayload.metadata.projectMetadataDelta.modifiedMetadataKeys":
        "GceProjectAuditMetadata of setCommonInstanceMetadata",
    "protoPayload.request.enableFlowLogs":
        "subnetworks.patch request (Panther GCP.VPC.Flow.Logs.Disabled sample)",
    "protoPayload.request.logConfig.enable":
        "subnetworks.patch request (Panther GCP.VPC.Flow.Logs.Disabled sample)",
    "protoPayload.request.guestAccelerators.acceleratorType":
        "instances.insert request (Stratus gcp.impact.create-gpu-vm detection section)",
    "protoPayload.request.policy.enableLogging": "dns.policies.patch request (Cloud DNS API)",
    "protoPayload.request.sink.disabled":
        "UpdateSinkRequest (Panther GCP.Logging.Sink.Modified samples carry request.sink)",
    "protoPayload.request.updateMask":
        "UpdateInstanceRequest of notebooks v2 (Stratus gcp.execution.modify-vertex-notebook-"
        "startup patches gceSetup.metadata)",
}

# Azure Activity fields only some records carry, as GCP_PER_METHOD
AZURE_PER_OPERATION = {
    "properties.requestbody":
        "the request body of a write, in its Start record of the diagnostic export; the "
        "sample is a Success record",
    # Azure Storage resource logs (StorageBlobLogs), read as azure_activity: the sample is an
    # Activity Log record; tests/test_stratus_blob_panther.py matches them on Panther's logs
    "properties.metricResponseType": "StorageBlobLogs only",
    "properties.userAgentHeader": "StorageBlobLogs only",
    "statusText": "StorageBlobLogs only",
}


def _walk(v: Any, parts: list[str]) -> bool:
    if not parts:
        return v is not None
    if isinstance(v, list):
        return any(_walk(x, parts) for x in v)
    return isinstance(v, dict) and parts[0] in v and _walk(v[parts[0]], parts[1:])


@cache
def _stratus_records() -> tuple[dict[str, Any], ...]:
    from tests.conftest import EXTERNAL, require

    require(EXTERNAL.is_dir(), f"external test data not found at {EXTERNAL} (../shared is absent)")
    logs = EXTERNAL / "stratus-red-team" / "detonation-logs"
    return tuple(r for f in sorted(logs.glob("aws.*.json")) for r in json.loads(f.read_text()))


@cache
def _invictus_records() -> tuple[dict[str, Any], ...]:
    from tests.conftest import EXTERNAL, require

    trail = EXTERNAL / "invictus-ir-aws_dataset" / "CloudTrail"
    require(trail.is_dir(), f"external test data not found at {trail} (../shared is absent)")
    return tuple(r for f in sorted(trail.glob("*.json")) for r in json.loads(f.read_text())["Records"])


@pytest.mark.parametrize("source", ALL, ids=IDS)
def test_the_field_tables_map_what_the_shipped_rules_test(source: Source) -> None:
    table = source.field_tables[0]
    assert (table.product, table.service) == source.logsource
    for extra in source.field_tables[1:]:
        assert extra.logsource == source.logsource, "an extra table must re-home its rules here"
    for t in source.field_tables:
        for field in sorted(SHIPPED.get((t.product, t.service), ())):
            if field in NOT_MAPPED.get((t.product, t.service), {}):
                continue
            paths = t.lookup(field) or [field]
            if any(_resolve(source.sample, p) for p in paths):
                continue
            if source.name == "gcp_audit" and field in GCP_PER_METHOD:
                continue
            if source.name == "azure_activity" and field in AZURE_PER_OPERATION:
                continue
            if source.name == "cloudtrail" and field in TOP_LEVEL_OPTIONAL:
                assert any(field in r for r in _invictus_records()), field
                continue
            per_api = source.name == "cloudtrail" and all(p.startswith(PER_API) for p in paths)
            assert per_api, (
                f"{source.name}: the shipped rules test {field!r} (raw paths {paths}); "
                "the sample has none of them"
            )
            if field in NOT_IN_STRATUS:
                continue
            assert any(_walk(r, p.split(".")) for p in paths for r in _stratus_records()), (
                f"cloudtrail: the shipped rules test {field!r}, in no real CloudTrail record"
            )


def test_the_per_api_exceptions_are_still_needed() -> None:
    fields = set(SHIPPED.get(("aws", "cloudtrail"), ()))
    for field in NOT_IN_STRATUS:
        assert field in fields, f"{field}: no shipped rule tests it any more; drop it from the list"
        assert not any(_walk(r, field.split(".")) for r in _stratus_records())
    for field in TOP_LEVEL_OPTIONAL:
        assert field in fields, f"{field}: no shipped rule tests it any more; drop it from the list"
        assert field not in SOURCES.get("cloudtrail").sample


def test_every_shipped_rule_has_a_source_that_reads_it() -> None:
    homes = {(t.product, t.service) for s in ALL for t in s.field_tables}
    assert set(SHIPPED) <= homes
    assert len(SHIPPED) >= 5  # the oracle did read the packs


def test_the_derived_tables_list_exactly_the_registered_sources() -> None:
    assert LOGSOURCES == {s.name: s.logsource for s in ALL}
    assert NORMALIZERS.names() == sorted(IDS)
    for s in ALL:
        assert NORMALIZERS.get(s.name) is s.normalizer
        assert s.shape in UNDERSTOOD
    # Each classifier once, in `order`; CloudTrail first (the fast path relies on it).
    distinct = list(dict.fromkeys(s.classifier for s in sorted(ALL, key=lambda s: s.order)))
    assert list(CLASSIFIERS.ordered()) == distinct
    assert CLASSIFIERS.ordered()[0] is SOURCES.get("cloudtrail").classifier
    expected = [t for s in ALL for t in s.field_tables] + list(UNSOURCED_TABLES)
    assert FIELD_TABLES == expected
    assert len({(t.product, t.service) for t in FIELD_TABLES}) == len(FIELD_TABLES)


@pytest.mark.parametrize(
    ("declared", "name"),
    [
        ("AWS.CloudTrail", "cloudtrail"),
        ("GCP.AuditLog", "gcp_audit"),
        ("Azure.Audit", "entra_audit"),
        ("Azure.MonitorActivity", "azure_activity"),
        ("Microsoft365.Audit.Exchange", "m365_audit"),
    ],
)
def test_a_declared_log_type_decides_for_a_fragment(declared: str, name: str) -> None:
    assert classify({"p_any_ip_addresses": []}, declared).source == name


def test_an_unknown_record_names_every_registered_shape() -> None:
    verdict = classify({"hello": "world"})
    assert verdict.kind == "unknown_envelope"
    for s in ALL:
        assert s.shape in verdict.message


def test_register_refuses_a_record_that_contradicts_itself_or_the_registry() -> None:
    import dataclasses

    from trailhound import logsources

    azure = SOURCES.get("azure_activity")
    wrong_table = dataclasses.replace(azure, name="x1", field_tables=())
    with pytest.raises(ValueError, match="first field table"):
        logsources.register(wrong_table)
    other_order = dataclasses.replace(azure, name="x2", order=31)
    with pytest.raises(ValueError, match="shares the classifier"):
        logsources.register(other_order)
    assert "x1" not in LOGSOURCES and "x2" not in LOGSOURCES
