"""Azure Activity normalizer: plaso SDK snake_case records, Panther diagnostic records, and
synthetic REST / diagnostic / Sentinel shapes. Expected values written by hand from the files."""

from __future__ import annotations

import copy
import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest

from trailhound.model import Location, RawRecord
from trailhound.normalize import normalize

SUB = "12345678-9abc-defg-hijk-lmnopqrstuvw"


def rec(data: dict[str, Any]) -> RawRecord:
    return RawRecord(
        data=data, location=Location("a.json", line=1), source="azure_activity", envelope="jsonl"
    )


def plaso(external: Path, index: int) -> dict[str, Any]:
    lines = (external / "plaso/jsonl/azure_activity_log.jsonl").read_text().splitlines()
    return json.loads(lines[index])


def panther(external: Path, rule_id: str, test_name: str) -> dict[str, Any]:
    with (external / "panther-analysis/rule_test_cases.jsonl").open() as fh:
        for line in fh:
            row = json.loads(line)
            if row["rule_id"] == rule_id and row["test_name"] == test_name:
                return row["log"]
    raise LookupError((rule_id, test_name))


def test_plaso_sdk_app_caller(external: Path) -> None:
    data = plaso(external, 0)
    ev, issues = normalize(rec(data))
    assert issues == []
    assert ev.provider == "azure"
    assert ev.time == "2022-02-09T03:04:54.297853Z"
    assert ev.time_ns == 1644375894 * 10**9 + 297_853_000
    assert ev.operation == "Microsoft.Compute/disks/delete"  # operation_name.value
    assert ev.service == "Microsoft.Compute"  # resource_provider_name.value
    assert ev.principal == SUB  # caller (an app id)
    assert ev.principal_type == "ServicePrincipal"  # idtyp claim "app"
    assert ev.src_ip == "1.2.3.4"  # http_request.client_ip_address
    assert ev.region is None
    assert ev.account == SUB  # subscription_id
    assert ev.status == "other"  # status.value Started
    assert ev.error_code is None and ev.error_message is None
    assert ev.user_agent is None
    assert ev.event_id == "587eda65-125e-48c2-9b04-ab5e8d3a1d8e"  # event_data_id


def test_plaso_sdk_user_caller(external: Path) -> None:
    data = plaso(external, 1)
    ev, issues = normalize(rec(data))
    assert issues == []
    assert ev.operation == "Microsoft.Compute/virtualMachines/delete"
    assert ev.principal == "fakeemail@fakedomain.com"
    assert ev.principal_type is None  # no evidence, no idtyp claim
    assert ev.time == "2022-02-09T03:04:26.49265Z"  # .492650 -> trailing zero stripped


def test_panther_failed_upper_case(external: Path) -> None:
    data = panther(
        external, "Azure.MonitorActivity.Authorization.ResourceLockDeleted", "Failed Lock Deletion"
    )
    ev, issues = normalize(rec(data))
    assert issues == []
    assert ev.operation == "MICROSOFT.AUTHORIZATION/LOCKS/DELETE"  # case kept
    assert ev.service == "MICROSOFT.AUTHORIZATION"
    assert ev.time == "2025-01-27T17:00:00Z"
    assert ev.status == "failure"
    assert ev.error_code == "403"  # resultSignature
    assert ev.src_ip == "198.18.0.50"
    assert ev.account == "12345678-1234-1234-1234-123456789abc"
    assert ev.region is None
    assert ev.principal is None  # no caller, no claims in this record
    assert ev.event_id is not None and re.fullmatch(r"syn:[0-9a-f]{16}", ev.event_id)


def test_panther_rest_like_values(external: Path) -> None:
    data = panther(
        external,
        "Azure.MonitorActivity.RoleAssignment.PrivilegedOrElevated",
        "Elevate Access to All Azure Subscriptions",
    )
    ev, issues = normalize(rec(data))
    assert issues == []
    assert ev.operation == "Microsoft.Authorization/elevateAccess/action"  # operationName.value
    assert ev.service == "Microsoft.Authorization"
    assert ev.principal == "attacker@example.com"  # UPN claim under identity.claims
    assert ev.status == "success"
    assert ev.account is None  # tenant scope: resourceId has no subscription
    assert ev.src_ip == "203.0.113.42"
    assert ev.time == "2024-12-24T15:45:00Z"


def test_panther_evidence_principal_type(external: Path) -> None:
    data = panther(
        external,
        "Azure.MonitorActivity.RoleAssignment.PrivilegedOrElevated",
        "Owner Role Assignment",
    )
    ev, issues = normalize(rec(data))
    assert issues == []
    assert ev.principal_type == "User"  # identity.authorization.evidence.principalType
    assert ev.status == "success" and ev.error_code is None
    assert ev.account == "12345678-1234-1234-1234-123456789abc"


def test_panther_storage_http_status(external: Path) -> None:
    data = panther(
        external,
        "Azure.MonitorActivity.Storage.Blob.CPKEncryptionDetected",
        "CPK Encrypted Blob Access Denied",
    )
    ev, issues = normalize(rec(data))
    assert issues == []
    assert ev.operation == "GetBlobMetadata"
    assert ev.service is None  # no provider segment in the operation
    assert ev.status == "failure"  # statusCode 409
    assert ev.error_code == "BlobUsesCustomerSpecifiedEncryption"
    assert ev.src_ip == "1.1.1.1"  # callerIpAddress "1.1.1.1:57485": the port cut off
    assert ev.user_agent.startswith("Mozilla/5.0 (Macintosh")  # properties.userAgentHeader
    assert ev.principal == "key1(EXAMPLE_HASH)"  # a SAS request: identity.tokenHash, no claims


# A StorageBlobLogs record of an OAuth request, as Microsoft Learn's "Azure Blob Storage
# monitoring data reference" lays out `identity` (requester, authorization[].principals)
OAUTH_BLOB = {
    "time": "2026-03-14T10:00:00.1234567Z",
    "resourceId": "/subscriptions/0b1f6471-1bf0-4dda-aec3-cb9272f09590/resourceGroups/rg1/"
    "providers/Microsoft.Storage/storageAccounts/acct1/blobServices/default",
    "category": "StorageDelete",
    "operationName": "DeleteBlob",
    "statusCode": 202,
    "statusText": "Success",
    "callerIpAddress": "203.0.113.9:50122",
    "identity": {
        "type": "OAuth",
        "tokenHash": "D2AE5E8F2D6A0E1C",
        "authorization": [{"action": "Microsoft.Storage/storageAccounts/blobServices/"
                           "containers/blobs/delete", "result": "Granted", "type": "RBAC",
                           "principals": [{"id": "6f1e-oid", "type": "User"}]}],
        "requester": {"appId": "04b07795-8ddb-461a-bbee-02f9e1bf7b46",
                      "audience": "https://storage.azure.com/", "objectId": "6f1e-oid",
                      "tenantId": "72f988bf", "upn": "user@contoso.com"},
    },
    "properties": {"accountName": "acct1", "objectKey": "/acct1/c1/a.txt", "serviceType": "blob"},
}


def test_storage_oauth_requester_is_the_principal() -> None:
    ev, issues = normalize(rec(OAUTH_BLOB))
    assert issues == []
    assert ev.principal == "user@contoso.com"  # identity.requester.upn, before the token hash
    assert ev.status == "success" and ev.src_ip == "203.0.113.9"
    no_upn = {**OAUTH_BLOB, "identity": {**OAUTH_BLOB["identity"], "requester": {
        "objectId": "6f1e-oid", "appId": "04b07795-8ddb-461a-bbee-02f9e1bf7b46"}}}
    assert normalize(rec(no_upn))[0].principal == "6f1e-oid"  # a managed identity: object id


def test_panther_recommendation_active_is_other(external: Path) -> None:
    data = panther(
        external,
        "Azure.MonitorActivity.Advisor.SecurityRecommendation",
        "Security Recommendation Available",
    )
    ev, issues = normalize(rec(data))
    assert issues == []
    assert ev.status == "other"
    assert ev.error_code is None  # only on failure
    assert ev.account == "00000000-0000-0000-0000-111111111111"  # from /SUBSCRIPTIONS/ upper-case
    assert ev.time == "2025-12-22T08:46:29.6787073Z"


REST = {
    "authorization": {
        "action": "Microsoft.Authorization/roleAssignments/write",
        "scope": "/subscriptions/0b1f6471-1bf0-4dda-aec3-cb9272f09590/resourceGroups/rg1",
    },
    "caller": "admin@contoso.com",
    "channels": "Operation",
    "claims": {"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn": "other@contoso.com"},
    "correlationId": "6e2c4b6a-4c6a-4a1b-9b3c-111111111111",
    "eventDataId": "4e0b2b4f-7c3d-4e5a-8f9b-222222222222",
    "eventName": {"value": "EndRequest", "localizedValue": "End request"},
    "category": {"value": "Administrative", "localizedValue": "Administrative"},
    "eventTimestamp": "2024-05-06T07:08:09.1234567Z",
    "httpRequest": {"clientRequestId": "x", "clientIpAddress": "198.51.100.7", "method": "PUT"},
    "id": "/subscriptions/0b1f6471-1bf0-4dda-aec3-cb9272f09590/resourceGroups/rg1/events/4e0b/t/1",
    "level": "Error",
    "operationId": "op-1",
    "operationName": {
        "value": "Microsoft.Authorization/roleAssignments/write",
        "localizedValue": "Create role assignment",
    },
    "resourceGroupName": "rg1",
    "resourceProviderName": {
        "value": "Microsoft.Authorization",
        "localizedValue": "Microsoft.Authorization",
    },
    "resourceId": "/subscriptions/0b1f6471-1bf0-4dda-aec3-cb9272f09590/resourceGroups/rg1",
    "status": {"value": "Failed", "localizedValue": "Failed"},
    "subStatus": {"value": "Forbidden", "localizedValue": "Forbidden (HTTP Status Code: 403)"},
    "submissionTimestamp": "2024-05-06T07:10:00.0000000Z",
    "subscriptionId": "0b1f6471-1bf0-4dda-aec3-cb9272f09590",
    "properties": {
        "statusCode": "Forbidden",
        "statusMessage": '{"error":{"code":"AuthorizationFailed","message":"no"}}',
    },
}


def test_rest_shape() -> None:
    data = copy.deepcopy(REST)
    ev, issues = normalize(rec(data))
    assert issues == []
    assert ev.time == "2024-05-06T07:08:09.1234567Z"
    assert ev.operation == "Microsoft.Authorization/roleAssignments/write"
    assert ev.service == "Microsoft.Authorization"
    assert ev.principal == "admin@contoso.com"  # caller wins over claims
    assert ev.src_ip == "198.51.100.7"
    assert ev.account == "0b1f6471-1bf0-4dda-aec3-cb9272f09590"
    assert ev.status == "failure"
    assert ev.error_code == "Forbidden"  # subStatus.value (no resultSignature)
    assert (
        ev.error_message == '{"error":{"code":"AuthorizationFailed","message":"no"}}'
    )  # kept as text
    assert ev.event_id == "4e0b2b4f-7c3d-4e5a-8f9b-222222222222"


def test_diagnostic_upper_case_shape() -> None:
    data = {
        "time": "2018-01-29T20:42:31.3810679Z",
        "resourceId": "/SUBSCRIPTIONS/ABCDEF01-0000-0000-0000-000000000000/RESOURCEGROUPS/RG"
        "/PROVIDERS/MICROSOFT.COMPUTE/VIRTUALMACHINES/VM1",
        "operationName": "MICROSOFT.COMPUTE/VIRTUALMACHINES/RUNCOMMAND/ACTION",
        "category": "Administrative",
        "resultType": "Start",
        "resultSignature": "Started.",
        "durationMs": "0",
        "callerIpAddress": "203.0.113.5",
        "correlationId": "c0ffee00-0000-0000-0000-000000000001",
        "identity": {
            "authorization": {"evidence": {"principalType": "ServicePrincipal"}},
            "claims": {"appid": "11111111-2222-3333-4444-555555555555"},
        },
        "level": "Information",
        "location": "global",
        "properties": {"statusCode": "Accepted"},
    }
    ev, issues = normalize(rec(data))
    assert issues == []
    assert ev.time == "2018-01-29T20:42:31.3810679Z"
    assert ev.time_ns == 1517258551 * 10**9 + 381_067_900
    assert ev.operation == "MICROSOFT.COMPUTE/VIRTUALMACHINES/RUNCOMMAND/ACTION"
    assert ev.service == "MICROSOFT.COMPUTE"
    assert ev.principal == "11111111-2222-3333-4444-555555555555"  # appid claim
    assert ev.principal_type == "ServicePrincipal"
    assert ev.account == "ABCDEF01-0000-0000-0000-000000000000"  # as logged
    assert ev.region is None  # location is the processing site
    assert ev.status == "other" and ev.error_code is None


def test_sentinel_shape_with_json_text_claims() -> None:
    data = {
        "TimeGenerated": "2024-02-03T04:05:06.789Z",
        "OperationName": "Create or Update Virtual Machine",
        "OperationNameValue": "MICROSOFT.COMPUTE/VIRTUALMACHINES/WRITE",
        "ActivityStatus": "Succeeded",
        "ActivityStatusValue": "Success",
        "Caller": "",
        "CallerIpAddress": "192.0.2.44",
        "Claims": '{"name":"Jane Doe","appid":"a1","http://schemas.microsoft.com/identity/claims/objectidentifier":"oid-1"}',
        "EventDataId": "ed-1",
        "ResourceProviderValue": "MICROSOFT.COMPUTE",
        "SubscriptionId": "sub-1",
        "TenantId": "workspace-id",
    }
    ev, issues = normalize(rec(data))
    assert issues == []
    assert ev.time == "2024-02-03T04:05:06.789Z"
    assert ev.operation == "MICROSOFT.COMPUTE/VIRTUALMACHINES/WRITE"  # value, not display text
    assert ev.service == "MICROSOFT.COMPUTE"
    assert ev.principal == "Jane Doe"  # empty Caller -> claims: name before appid
    assert ev.src_ip == "192.0.2.44"
    assert ev.account == "sub-1"
    assert ev.status == "success"
    assert ev.event_id == "ed-1"


@pytest.mark.parametrize(
    ("word", "status"),
    [
        ("Success", "success"),
        ("Succeeded", "success"),
        ("SUCCEEDED", "success"),
        ("Failure", "failure"),
        ("failed", "failure"),
        ("Start", "other"),
        ("Started", "other"),
        ("Accept", "other"),
        ("ACCEPTED", "other"),
        ("Resolved", "other"),
    ],
)
def test_outcome_words(word: str, status: str) -> None:
    ev, _ = normalize(rec({"resultType": word}))
    assert ev.status == status
    ev, _ = normalize(rec({"status": {"value": word}}))
    assert ev.status == status
    ev, _ = normalize(rec({"ActivityStatusValue": word}))
    assert ev.status == status


def test_synthesized_ids() -> None:
    base = {
        "time": "2024-01-01T00:00:00.5000000Z",
        "correlationId": "corr-1",
        "operationName": "Microsoft.Storage/storageAccounts/listKeys/action",
        "resultType": "Start",
    }
    ids = {}
    for result in ("Start", "Accept", "Success"):
        ev, _ = normalize(rec({**base, "resultType": result}))
        ids[result] = ev.event_id
    assert len(set(ids.values())) == 3  # one operation, three records, three ids
    for value in ids.values():
        assert re.fullmatch(r"syn:[0-9a-f]{16}", value)
    # deterministic, and independent of the operation's case and of the time's spelling
    again, _ = normalize(
        rec(
            {
                **base,
                "time": "2024-01-01 00:00:00.5",
                "operationName": base["operationName"].upper(),
            }
        )
    )
    assert again.event_id == ids["Start"]
    # the documented recipe, computed here without the code under test
    payload = json.dumps(
        ["2024-01-01T00:00:00.5Z", "corr-1", base["operationName"].lower(), "start"]
    )
    assert ids["Start"] == "syn:" + hashlib.sha256(payload.encode()).hexdigest()[:16]
    # nothing to build a key from -> no id rather than one shared by every record
    ev, _ = normalize(rec({"operationName": "x"}))
    assert ev.event_id is None


@pytest.mark.parametrize(
    ("patch", "path", "found", "field"),
    [
        ({"operationName": ["a"]}, "operationName", "array", "operation"),
        ({"time": 1700000000}, "time", "number", "time"),
        ({"caller": {"upn": "x"}}, "caller", "object", "principal"),
        ({"identity": "Managed Service Identity"}, "identity", "string", "principal"),
        ({"claims": "not json"}, "claims", "string", "principal"),
        ({"resultType": {"v": 1}}, "resultType", "object", "status"),
        ({"callerIpAddress": ["1.2.3.4"]}, "callerIpAddress", "array", "src_ip"),
    ],
)
def test_wrong_types(patch: dict, path: str, found: str, field: str) -> None:
    data = {
        "operationName": "Microsoft.Compute/virtualMachines/write",
        "time": "2024-01-01T00:00:00Z",
        **patch,
    }
    snapshot = copy.deepcopy(data)
    ev, issues = normalize(rec(data))
    kinds = [i for i in issues if i.kind == "wrong_type"]
    assert len(kinds) == 1, issues
    assert f"'{path}'" in kinds[0].message and f"found {found}" in kinds[0].message
    assert getattr(ev, field) is None
    assert data == snapshot and ev.raw is data
