"""Entra ID audit and sign-in normalizers: OTRF Sentinel AuditLogs rows (JSON-text columns),
Panther diagnostic-settings records, synthetic Graph / diagnostic / Sentinel shapes."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from trailhound.model import Location, RawRecord
from trailhound.normalize import normalize


def rec(data: dict[str, Any], source: str = "entra_audit") -> RawRecord:
    return RawRecord(
        data=data, location=Location("e.json", line=3), source=source, envelope="jsonl"
    )


def panther(external: Path, rule_id: str, test_name: str) -> dict[str, Any]:
    with (external / "panther-analysis/rule_test_cases.jsonl").open() as fh:
        for line in fh:
            row = json.loads(line)
            if row["rule_id"] == rule_id and row["test_name"] == test_name:
                return row["log"]
    raise LookupError((rule_id, test_name))


def otrf(external: Path, index: int) -> dict[str, Any]:
    path = external / "otrf-security-datasets/compound/GoldenSAMLADFSMailAccess/AADAuditEvents.json"
    return json.loads(path.read_text().splitlines()[index])


# -- audit ------------------------------------------------------------------------------------


def test_otrf_sentinel_audit_row(external: Path) -> None:
    data = otrf(external, 0)
    ev, issues = normalize(rec(data))
    assert issues == []
    assert ev.provider == "azure"
    assert ev.time == "2021-08-02T13:29:25.983Z"
    assert ev.time_ns == 1627910965 * 10**9 + 983_000_000
    # as logged: en dash and trailing space kept
    assert ev.operation == "Update application \u2013 Certificates and secrets management "
    assert ev.service == "Core Directory"
    assert ev.principal == "pgustavo@simulandlabs.com"  # from the InitiatedBy JSON text
    assert ev.principal_type == "User"
    assert ev.src_ip is None  # ipAddress is null
    assert ev.account == "00000000-0000-0000-0000-000000000000"
    assert ev.status == "success"
    assert ev.error_code is None
    assert (
        ev.user_agent
        == "Mozilla/5.0 (Windows NT; Windows NT 10.0; en-US) WindowsPowerShell/5.1.17763.1971"
    )
    assert ev.event_id == "Directory_10065ffb-8199-48bc-8ff5-912cb5b8295a_AUMVX_13992832"
    assert ev.raw is data and isinstance(data["InitiatedBy"], str)  # not replaced by the decode


def test_otrf_all_rows_clean(external: Path) -> None:
    path = external / "otrf-security-datasets/compound/GoldenSAMLADFSMailAccess/AADAuditEvents.json"
    operations = []
    for line in path.read_text().splitlines():
        ev, issues = normalize(rec(json.loads(line)))
        assert issues == []
        assert ev.principal == "pgustavo@simulandlabs.com"
        operations.append(ev.operation)
    assert operations[2:] == ["Update application", "Add delegated permission grant"]


def test_panther_diagnostic_audit(external: Path) -> None:
    data = panther(external, "Azure.Audit.DomainSettingsModified", "Set Federation Settings")
    ev, issues = normalize(rec(data))
    assert issues == []
    assert ev.time == "2025-01-15T09:30:25.1234567Z"  # properties.activityDateTime, 7 digits
    assert ev.operation == "Set federation settings on domain"
    assert ev.service == "Core Directory"
    assert ev.principal == "frodo@lotr.com" and ev.principal_type == "User"
    assert ev.src_ip == "2.2.2.2"
    assert ev.account == "tenant-123"
    assert ev.status == "success"


def test_panther_top_level_result_upper_case(external: Path) -> None:
    data = panther(
        external,
        "Azure.Audit.ElevateUserAccessAdministrator",
        "User Elevated to User Access Administrator",
    )
    ev, issues = normalize(rec(data))
    assert issues == []
    # no activityDisplayName: the top-level operationName is used
    assert (
        ev.operation
        == "User has elevated their access to User Access Administrator for their Azure Resources"
    )
    assert ev.service == "Microsoft.Authorization"
    assert ev.status == "success"  # "SUCCESS"
    assert ev.principal == "denethor@lotr.com"


def test_panther_failed_invite(external: Path) -> None:
    data = panther(external, "Azure.Audit.InviteExternalUsers", "Unsuccessful invite")
    ev, issues = normalize(rec(data))
    assert issues == []
    assert ev.status == "failure"
    assert ev.error_code == "failed"
    assert ev.time == "2024-09-23T14:33:09.0496611Z"
    assert ev.event_id == "Invited Users_123456789"


GRAPH_APP = {
    "id": "Directory_abc",
    "category": "ApplicationManagement",
    "correlationId": "c1",
    "result": "failure",
    "resultReason": "Insufficient privileges",
    "activityDisplayName": "Add service principal credentials",
    "activityDateTime": "2024-03-04T05:06:07.1234567Z",
    "loggedByService": "Core Directory",
    "operationType": "Update",
    "initiatedBy": {
        "user": None,
        "app": {
            "appId": "app-guid",
            "displayName": "Automation App",
            "servicePrincipalId": "sp-guid",
            "servicePrincipalName": None,
        },
    },
    "targetResources": [],
    "additionalDetails": [{"key": "User-Agent", "value": "python-requests/2.31"}],
}


def test_graph_app_initiator_failure() -> None:
    ev, issues = normalize(rec(copy.deepcopy(GRAPH_APP)))
    assert issues == []
    assert ev.principal == "Automation App" and ev.principal_type == "ServicePrincipal"
    assert ev.status == "failure"
    assert ev.error_code == "failure"
    assert ev.error_message == "Insufficient privileges"
    assert ev.user_agent == "python-requests/2.31"
    assert ev.event_id == "Directory_abc"
    assert ev.time == "2024-03-04T05:06:07.1234567Z"
    assert ev.account is None  # Graph records carry no tenant


def test_diagnostic_shape_with_properties() -> None:
    data = {
        "time": "2024-03-04T05:06:08.0000000Z",
        "resourceId": "/tenants/7a2b0000-0000-0000-0000-00000000000c/providers/Microsoft.aadiam",
        "operationName": "Add member to role",
        "operationVersion": "1.0",
        "category": "AuditLogs",
        "resultSignature": "None",
        "durationMs": 0,
        "callerIpAddress": "198.51.100.20",
        "correlationId": "c2",
        "identity": "Managed Service Identity",  # a plain string in Entra records
        "Level": 4,
        "properties": {
            "id": "Directory_xyz",
            "category": "RoleManagement",
            "activityDisplayName": "Add member to role",
            "activityDateTime": "2024-03-04T05:06:07.654321+00:00",
            "loggedByService": "Core Directory",
            "result": "success",
            "resultReason": "",
            "initiatedBy": {
                "app": {"appId": "a-1", "displayName": None, "servicePrincipalName": "msi-1"}
            },
        },
    }
    ev, issues = normalize(rec(data))
    assert issues == []
    assert ev.time == "2024-03-04T05:06:07.654321Z"  # +00:00 converted, properties time preferred
    assert ev.operation == "Add member to role"
    assert ev.principal == "msi-1" and ev.principal_type == "ServicePrincipal"
    assert ev.src_ip == "198.51.100.20"  # callerIpAddress: no user ipAddress
    assert ev.account == "7a2b0000-0000-0000-0000-00000000000c"  # from resourceId
    assert ev.event_id == "Directory_xyz"
    assert ev.status == "success" and ev.error_message is None


def test_sentinel_app_initiator_json_text() -> None:
    data = {
        "TimeGenerated": "2024-03-04T05:06:09Z",
        "OperationName": "Consent to application",
        "Result": "success",
        "InitiatedBy": '{"app":{"appId":"app-2","displayName":null,"servicePrincipalName":null}}',
        "AADTenantId": "tenant-real",
        "TenantId": "workspace-id",
        "Id": "Directory_s1",
    }
    ev, issues = normalize(rec(data))
    assert issues == []
    assert ev.operation == "Consent to application"
    assert ev.principal == "app-2" and ev.principal_type == "ServicePrincipal"
    assert ev.account == "tenant-real"  # AADTenantId before the workspace TenantId
    assert ev.event_id == "Directory_s1"


@pytest.mark.parametrize(
    ("patch", "path", "found", "field"),
    [
        ({"properties": "oops"}, "properties", "string", "principal"),
        ({"initiatedBy": ["x"]}, "initiatedBy", "array", "principal"),
        ({"additionalDetails": {"User-Agent": "x"}}, "additionalDetails", "object", "user_agent"),
        ({"activityDisplayName": ["x"]}, "activityDisplayName", "array", "operation"),
        ({"activityDateTime": 1700000000}, "activityDateTime", "number", "time"),
        ({"InitiatedBy": "{not json"}, "InitiatedBy", "string", "principal"),
    ],
)
def test_audit_wrong_types(patch: dict, path: str, found: str, field: str) -> None:
    data = {"result": "success", **patch}
    snapshot = copy.deepcopy(data)
    ev, issues = normalize(rec(data))
    wrong = [i for i in issues if i.kind == "wrong_type"]
    assert len(wrong) == 1, issues
    assert f"'{path}'" in wrong[0].message and f"found {found}" in wrong[0].message
    assert getattr(ev, field) is None
    assert data == snapshot


# -- sign-ins ---------------------------------------------------------------------------------


def test_panther_signin_failure(external: Path) -> None:
    data = panther(external, "Azure.Audit.ExcessiveAccountLockouts", "Account Lockout Error 50053")
    ev, issues = normalize(rec(data, "entra_signin"))
    assert issues == []
    assert ev.operation == "Sign-in activity"
    assert ev.service == "Microsoft Graph"
    assert ev.principal == "boromir@lotr.com" and ev.principal_type == "User"
    assert ev.src_ip == "4.4.4.4"
    assert ev.status == "failure"
    assert ev.error_code == "50053"  # number converted to text
    assert ev.error_message.startswith("The account is locked")
    assert ev.user_agent == "python-requests/2.28.0"
    assert ev.time == "2025-01-15T08:15:23.456Z"  # no createdDateTime: top-level time
    assert ev.account == "tenant-123"


def test_panther_service_principal_signin_lower_case_keys(external: Path) -> None:
    data = panther(external, "Azure.Audit.ManyFailedSignIns", "Failed Sign-In")
    ev, issues = normalize(rec(data, "entra_signin"))
    assert issues == []
    assert ev.principal == "some-service-principal" and ev.principal_type == "ServicePrincipal"
    assert ev.time == "2023-07-26T22:58:30.9832019Z"  # createdDateTime "…30.983201900"
    assert ev.status == "failure" and ev.error_code == "7000215"
    assert ev.src_ip == "12.12.12.12"
    assert ev.account == "a2aa49aa-2c0c-49d2-af87-f402c421df0b"  # lower-case "tenantid"
    assert ev.event_id == "36658c78-02d9-4d8f-84ee-5ca4a3fdefef"
    assert ev.service == "Azure Storage"


def test_graph_signin_success() -> None:
    data = {
        "id": "si-1",
        "createdDateTime": "2024-06-01T10:00:00Z",
        "userPrincipalName": "jane@contoso.com",
        "appDisplayName": "Azure Portal",
        "resourceDisplayName": "Windows Azure Service Management API",
        "ipAddress": "203.0.113.77",
        "status": {"errorCode": 0, "failureReason": "Other."},
        "userAgent": "Mozilla/5.0",
    }
    ev, issues = normalize(rec(data, "entra_signin"))
    assert issues == []
    assert ev.operation == "Sign-in activity"
    assert ev.status == "success" and ev.error_code is None and ev.error_message is None
    assert ev.principal == "jane@contoso.com"
    assert ev.event_id == "si-1"


def test_sentinel_signin_status_json_text() -> None:
    data = {
        "TimeGenerated": "2024-06-01T10:00:00.1Z",
        "OperationName": "Sign-in activity",
        "UserPrincipalName": "bob@contoso.com",
        "IPAddress": "192.0.2.9",
        "ResultType": "50126",
        "ResultDescription": "Invalid username or password.",
        "Status": '{"errorCode":50126,"failureReason":"Invalid username or password."}',
    }
    ev, issues = normalize(rec(data, "entra_signin"))
    assert issues == []
    assert ev.status == "failure" and ev.error_code == "50126"
    assert ev.error_message == "Invalid username or password."
    assert ev.src_ip == "192.0.2.9"
    assert ev.principal == "bob@contoso.com"


@pytest.mark.parametrize(
    ("result_type", "status", "code"),
    [
        ("0", "success", None),
        (0, "success", None),
        ("Success", "success", None),
        ("Failure", "failure", "Failure"),
        ("50126", "failure", "50126"),
        (7000215, "failure", "7000215"),
    ],
)
def test_signin_result_type_without_status(result_type: Any, status: str, code: str | None) -> None:
    ev, issues = normalize(
        rec(
            {"time": "2024-01-02T03:04:05Z", "resultType": result_type, "resultDescription": "why"},
            "entra_signin",
        )
    )
    assert issues == []
    assert (ev.status, ev.error_code) == (status, code)
    assert ev.error_message == (None if code is None else "why")


# -- correlation id ---------------------------------------------------------------------------


def _correlation_oracle(data: dict[str, Any]) -> str | None:
    """correlationId read off the raw record by hand (log-formats §3.2, §3.3, Sentinel): the Graph
    object's, else the export's top-level copy, else Sentinel's PascalCase column."""
    props = data.get("properties")
    if isinstance(props, dict) and props.get("correlationId"):
        return str(props["correlationId"])
    for key in ("correlationId", "CorrelationId"):
        if data.get(key):
            return str(data[key])
    return None


def test_otrf_rows_carry_correlation_id(external: Path) -> None:
    path = external / "otrf-security-datasets/compound/GoldenSAMLADFSMailAccess/AADAuditEvents.json"
    for line in path.read_text().splitlines():
        data = json.loads(line)
        ev, _ = normalize(rec(data))
        assert ev.correlation_id == data["CorrelationId"]
        assert ev.correlation_id  # every row has one


def test_panther_entra_records_carry_correlation_id(external: Path) -> None:
    from trailhound.sources.classify import classify

    checked = 0
    with (external / "panther-analysis/rule_test_cases.jsonl").open() as fh:
        for line in fh:
            data = json.loads(line)["log"]
            if not isinstance(data, dict):
                continue
            source = classify(data).source
            if source not in ("entra_audit", "entra_signin"):
                continue
            expected = _correlation_oracle(data)
            ev, _ = normalize(rec(data, source))
            assert ev.correlation_id == expected, data
            checked += expected is not None
    assert checked >= 20  # the Panther cases hold dozens of Entra records with a correlationId


@pytest.mark.parametrize("source", ["entra_audit", "entra_signin"])
def test_graph_object_correlation_id_first(source: str) -> None:
    data = {
        "time": "2024-03-04T05:06:08Z",
        "correlationId": "top-level",
        "properties": {"correlationId": "graph-object", "activityDisplayName": "Add user"},
    }
    ev, _ = normalize(rec(data, source))
    assert ev.correlation_id == "graph-object"
    assert normalize(rec(copy.deepcopy(GRAPH_APP)))[0].correlation_id == "c1"
