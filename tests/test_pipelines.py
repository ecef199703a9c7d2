"""Field-mapping pipelines: a Sigma rule written against one export shape (or one SIEM's names)
must match the raw record of every shape trailhound reads (rules/pipelines.py).

Each table test is (detection, {shape: record}, {shape: expected}). The records are minimal
hand-written examples of the shapes in log-formats.md §2-§4 (diagnostic export, REST / az CLI,
SDK snake_case, Sentinel columns; Graph, diagnostic, Sentinel; LogEntry). Expected values come
from what each shape means, not from running the engine.
"""

from __future__ import annotations

import json
import textwrap
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from sigma.processing.conditions import LogsourceCondition
from sigma.processing.transformations import FieldMappingTransformation

from trailhound.engine.reference import ReferenceEngine, compile_rule
from trailhound.model import Event, Location
from trailhound.rules.loader import load_paths
from trailhound.rules.pipelines import (
    FIELD_TABLES,
    NOT_MAPPED,
    default_pipeline,
    map_filter,
    placeholder_values,
)

Pred = Callable[[dict[str, Any]], bool]


def write_rule(tmp: Path, logsource: str, detection: str, **extra: Any) -> Path:
    product, _, service = logsource.partition("/")
    doc: dict[str, Any] = {
        "title": "t",
        "id": str(uuid.uuid4()),
        "logsource": {"product": product, "service": service},
        "detection": yaml.safe_load(textwrap.dedent(detection)),
        **extra,
    }
    path = tmp / f"{uuid.uuid4()}.yml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path


def rule_pred(tmp: Path, logsource: str, detection: str) -> Pred:
    ruleset, problems = load_paths([write_rule(tmp, logsource, detection)])
    assert not problems, problems
    return compile_rule(ruleset.rules[0])


def check_table(pred: Pred, records: dict[str, dict[str, Any]], want: dict[str, bool]) -> None:
    got = {shape: pred(rec) for shape, rec in records.items()}
    assert got == want


# ---------------------------------------------------------------------------------------------
# Azure Activity

AZ_OP = "Microsoft.ADHybridHealthService/services/delete"
AZ_RID = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.ADHybridHealthService/services/AdFederationService-x"


def azure_records(op: str = AZ_OP) -> dict[str, dict[str, Any]]:
    return {
        "diagnostic": {
            "time": "2026-01-02T03:04:05.1234567Z",
            "operationName": op.upper(),
            "category": "Administrative",
            "resultType": "Success",
            "resultSignature": "Succeeded.OK",
            "resourceId": AZ_RID.upper(),
            "callerIpAddress": "198.51.100.7",
            "properties": {"message": op, "eventCategory": "Administrative"},
        },
        "rest": {
            "eventTimestamp": "2026-01-02T03:04:05Z",
            "operationName": {"value": op, "localizedValue": "Delete service"},
            "category": {"value": "Administrative", "localizedValue": "Administrative"},
            "status": {"value": "Succeeded"},
            "resourceProviderName": {"value": "Microsoft.ADHybridHealthService"},
            "resourceId": AZ_RID,
            "httpRequest": {"clientIpAddress": "198.51.100.7"},
        },
        "sdk": {
            "event_timestamp": "2026-01-02T03:04:05Z",
            "operation_name": {"value": op, "localized_value": "Delete service"},
            "category": {"value": "Administrative", "localized_value": "Administrative"},
            "status": {"value": "Succeeded"},
            "resource_provider_name": {"value": "Microsoft.ADHybridHealthService"},
            "resource_id": AZ_RID,
            "http_request": {"client_ip_address": "198.51.100.7"},
        },
        "sentinel": {
            "Type": "AzureActivity",
            "OperationNameValue": op,
            "CategoryValue": "Administrative",
            "ActivityStatusValue": "Success",
            "ResourceProviderValue": "MICROSOFT.ADHYBRIDHEALTHSERVICE",
            "_ResourceId": AZ_RID.lower(),
            "CallerIpAddress": "198.51.100.7",
        },
    }


ALL_AZ = {"diagnostic": True, "rest": True, "sdk": True, "sentinel": True}
NO_AZ = dict.fromkeys(ALL_AZ, False)


@pytest.mark.parametrize(
    "detection,want",
    [
        # Event Hub names (most SigmaHQ activitylogs rules)
        (f"sel: {{operationName: {AZ_OP.upper()}}}\ncondition: sel", ALL_AZ),
        (f"sel: {{operationName: {AZ_OP}x}}\ncondition: sel", NO_AZ),
        (
            (
                "sel:\n  operationName|startswith: MICROSOFT.ADHYBRIDHEALTHSERVICE/\n"
                "  operationName|endswith: [/WRITE, /DELETE]\ncondition: sel"
            ),
            ALL_AZ,
        ),
        (
            "sel: {resultType: Succeeded}\ncondition: sel",
            {**ALL_AZ, "diagnostic": False, "sentinel": False},
        ),
        ("sel: {resultType: [Success, Succeeded]}\ncondition: sel", ALL_AZ),
        ("sel: {callerIpAddress|cidr: 198.51.100.0/24}\ncondition: sel", ALL_AZ),
        # Log Analytics columns (azure_aadhybridhealth_adfs_service_delete style). The diagnostic
        # export has no resource-provider field: documented, so it cannot match there.
        (
            (
                "sel:\n  CategoryValue: Administrative\n  ResourceProviderValue: Microsoft.ADHybridHealthService\n"
                f"  ResourceId|contains: AdFederationService\n  OperationNameValue: {AZ_OP}\ncondition: sel"
            ),
            {**ALL_AZ, "diagnostic": False},
        ),
        (
            (
                f"sel:\n  CategoryValue: Administrative\n  OperationNameValue: {AZ_OP}\n"
                "  ActivityStatusValue: [Success, Succeeded]\ncondition: sel"
            ),
            ALL_AZ,
        ),
        # properties.message exists in diagnostic Activity records (= the operation name)
        (f"sel: {{properties.message: {AZ_OP}}}\ncondition: sel", {**NO_AZ, "diagnostic": True}),
        # keywords search every string
        (f"kw: ['{AZ_OP}']\ncondition: kw", ALL_AZ),
    ],
)
def test_azure_activity_shapes(tmp_path: Path, detection: str, want: dict[str, bool]) -> None:
    check_table(rule_pred(tmp_path, "azure/activitylogs", detection), azure_records(), want)


# ---------------------------------------------------------------------------------------------
# Entra ID audit

GRAPH_AUDIT: dict[str, Any] = {
    "id": "Directory_1",
    "activityDateTime": "2026-01-02T03:04:05.1234567Z",
    "activityDisplayName": "Update user",
    "category": "UserManagement",
    "loggedByService": "Core Directory",
    "operationType": "Update",
    "result": "failure",
    "resultReason": "Microsoft.online.Security.userConsentBlockedForRiskyAppsExceptions",
    "initiatedBy": {"user": {"userPrincipalName": "eve@example.com", "ipAddress": "198.51.100.7"}},
    "targetResources": [
        {
            "type": "User",
            "userPrincipalName": "bob@example.com",
            "modifiedProperties": [
                {
                    "displayName": "StrongAuthenticationRequirement",
                    "oldValue": '[{"State":1}]',
                    "newValue": '[{"RelyingParty":"*","State":0}]',
                }
            ],
        }
    ],
    "additionalDetails": [{"key": "User-Agent", "value": "Mozilla/5.0"}],
}


def audit_records() -> dict[str, dict[str, Any]]:
    g = GRAPH_AUDIT
    return {
        "graph": dict(g),
        "diagnostic": {
            "time": g["activityDateTime"],
            "resourceId": "/tenants/t1/providers/Microsoft.aadiam",
            "operationName": g["activityDisplayName"],
            "category": "AuditLogs",
            "resultSignature": "None",
            "properties": dict(g),
        },
        # Sentinel AuditLogs queried through the Log Analytics API: dynamic columns are objects
        "sentinel": {
            "Type": "AuditLogs",
            "ActivityDisplayName": g["activityDisplayName"],
            "OperationName": g["activityDisplayName"],
            "Category": g["category"],
            "LoggedByService": g["loggedByService"],
            "AADOperationType": "Update",
            "Result": g["result"],
            "ResultReason": g["resultReason"],
            "InitiatedBy": g["initiatedBy"],
            "TargetResources": g["targetResources"],
        },
        # Sentinel exported to a file: dynamic columns are JSON TEXT, not navigable
        "sentinel_text": {
            "Type": "AuditLogs",
            "ActivityDisplayName": g["activityDisplayName"],
            "OperationName": g["activityDisplayName"],
            "Category": g["category"],
            "LoggedByService": g["loggedByService"],
            "Result": g["result"],
            "TargetResources": json.dumps(g["targetResources"]),
        },
    }


ALL_EA = {"graph": True, "diagnostic": True, "sentinel": True, "sentinel_text": True}
NO_EA = dict.fromkeys(ALL_EA, False)
OBJECTS_EA = {**ALL_EA, "sentinel_text": False}


@pytest.mark.parametrize(
    "detection,want",
    [
        # pitfall 24: properties.message is the activity display name in every shape
        ("sel: {properties.message: Update user}\ncondition: sel", ALL_EA),
        ("sel: {properties.message: Add user}\ncondition: sel", NO_EA),
        ("sel: {ActivityDisplayName: update USER}\ncondition: sel", ALL_EA),
        ("sel: {operationName: Update user}\ncondition: sel", ALL_EA),
        (
            (
                "sel:\n  LoggedByService: Core Directory\n  Category: UserManagement\n"
                "  OperationName: Update user\ncondition: sel"
            ),
            ALL_EA,
        ),
        # Graph category, not the diagnostic record's top-level category `AuditLogs`
        ("sel: {category: AuditLogs}\ncondition: sel", {**NO_EA, "diagnostic": True}),
        ("sel: {Status: failure}\ncondition: sel", ALL_EA),
        ("sel: {Status: success}\ncondition: sel", NO_EA),
        (
            (
                "sel: {failure_status_reason: Microsoft.online.Security.userConsentBlockedForRiskyAppsExceptions}\n"
                "condition: sel"
            ),
            {**ALL_EA, "sentinel_text": False},
        ),
        # azure_user_account_mfa_disable style: nested target properties, three spellings
        (
            (
                "sel:\n  TargetResources.ModifiedProperties.DisplayName: StrongAuthenticationRequirement\n"
                "  TargetResources.ModifiedProperties.NewValue|contains: 'State\":0'\ncondition: sel"
            ),
            OBJECTS_EA,
        ),
        ("sel: {targetResources.type: User}\ncondition: sel", OBJECTS_EA),
        # contains on the whole column also works on Sentinel's JSON text
        (
            "sel: {TargetResources|contains: StrongAuthenticationRequirement}\ncondition: sel",
            {**NO_EA, "sentinel_text": True},
        ),
        ("sel: {Initiatedby.user.userPrincipalName: eve@example.com}\ncondition: sel", OBJECTS_EA),
    ],
)
def test_entra_audit_shapes(tmp_path: Path, detection: str, want: dict[str, bool]) -> None:
    check_table(rule_pred(tmp_path, "azure/auditlogs", detection), audit_records(), want)


# ---------------------------------------------------------------------------------------------
# Entra ID sign-ins

GRAPH_SIGNIN: dict[str, Any] = {
    "id": "s1",
    "createdDateTime": "2026-01-02T03:04:05Z",
    "userPrincipalName": "bob@example.com",
    "appId": "app-1",
    "appDisplayName": "Azure Portal",
    "ipAddress": "203.0.113.9",
    "clientAppUsed": "IMAP4",
    "resourceDisplayName": "Device Registration Service",
    "conditionalAccessStatus": "success",
    "authenticationRequirement": "singleFactorAuthentication",
    "riskState": "atRisk",
    "userAgent": "azurehound/2.0",
    "status": {
        "errorCode": 50053,
        "failureReason": "Account is locked.",
        "additionalDetails": "MFA denied; user declined",
    },
    "deviceDetail": {"deviceId": "", "operatingSystem": "Linux", "isCompliant": False},
    "location": {"city": "Paris", "countryOrRegion": "FR"},
}


def signin_records(**device: Any) -> dict[str, dict[str, Any]]:
    g = {**GRAPH_SIGNIN, "deviceDetail": {**GRAPH_SIGNIN["deviceDetail"], **device}}
    return {
        "graph": g,
        "diagnostic": {
            "time": g["createdDateTime"],
            "category": "SignInLogs",
            "operationName": "Sign-in activity",
            "resultType": "50053",
            "resultSignature": "FAILURE",
            "resultDescription": "Account is locked.",
            "location": "FR",
            "callerIpAddress": "203.0.113.9",
            "properties": g,
        },
        "sentinel": {
            "Type": "SigninLogs",
            "ResultType": "50053",
            "ResultDescription": "Account is locked.",
            "ResultSignature": "FAILURE",
            "AuthenticationRequirement": "singleFactorAuthentication",
            "ConditionalAccessStatus": "success",
            "ResourceDisplayName": "Device Registration Service",
            "RiskState": "atRisk",
            "UserAgent": "azurehound/2.0",
            "UserPrincipalName": "bob@example.com",
            "ClientAppUsed": "IMAP4",
            "IPAddress": "203.0.113.9",
            "Location": "FR",
            "LocationDetails": g["location"],
            "DeviceDetail": g["deviceDetail"],
            "Status": g["status"],
        },
    }


ALL_ES = {"graph": True, "diagnostic": True, "sentinel": True}
NO_ES = dict.fromkeys(ALL_ES, False)


@pytest.mark.parametrize(
    "detection,want",
    [
        ("sel: {ResultType: 50053}\ncondition: sel", ALL_ES),  # azure_account_lockout style
        ("sel: {ResultType: 0}\ncondition: sel", NO_ES),
        ("sel: {ResultType|neq: 0}\ncondition: sel", ALL_ES),
        ("sel: {ResultType|neq: 50053}\ncondition: sel", NO_ES),
        ("sel: {Resultdescription: account is locked.}\ncondition: sel", ALL_ES),
        ("sel: {AuthenticationRequirement: singleFactorAuthentication}\ncondition: sel", ALL_ES),
        ("sel: {Status|contains: MFA denied}\ncondition: sel", {**ALL_ES, "sentinel": True}),
        ("sel: {Status: FAILURE}\ncondition: sel", {**NO_ES, "diagnostic": True, "sentinel": True}),
        (
            (
                "sel:\n  ResourceDisplayName: Device Registration Service\n  conditionalAccessStatus: success\n"
                "filter_mfa: {AuthenticationRequirement: multiFactorAuthentication}\n"
                "condition: sel and not filter_mfa"
            ),
            ALL_ES,
        ),
        ("sel: {userAgent|contains: azurehound}\ncondition: sel", ALL_ES),
        (
            "sel: {RiskState: atRisk, ClientApp: IMAP4, Username: bob@example.com}\ncondition: sel",
            ALL_ES,
        ),
        ("sel: {DeviceDetail.isCompliant: 'false'}\ncondition: sel", ALL_ES),
        ("sel: {DeviceDetail.deviceId: ''}\ncondition: sel", ALL_ES),
        ("sel: {location: FR}\ncondition: sel", ALL_ES),
        ("sel: {location|contains: GB}\ncondition: sel", NO_ES),
        ("sel: {IPaddress|cidr: 203.0.113.0/24}\ncondition: sel", ALL_ES),
    ],
)
def test_entra_signin_shapes(tmp_path: Path, detection: str, want: dict[str, bool]) -> None:
    check_table(rule_pred(tmp_path, "azure/signinlogs", detection), signin_records(), want)


TRUST = (
    "sel: {AuthenticationRequirement: singleFactorAuthentication}\n"
    "empty1: {DeviceDetail.trusttype: ''}\nempty2: {DeviceDetail.trusttype: null}\n"
    "condition: sel and 1 of empty*"
)


@pytest.mark.parametrize(
    "device,want",
    [
        # a known device in any shape: `null` must not hold just because the OTHER shapes'
        # paths are missing (pySigma's plain one-to-many mapping ORs them: always true)
        ({"trustType": "Hybrid Azure AD joined"}, NO_ES),
        ({}, ALL_ES),  # no trustType member: null
        ({"trustType": ""}, ALL_ES),
        ({"trustType": None}, ALL_ES),
    ],
)
def test_absence_holds_in_every_alternative(
    tmp_path: Path, device: dict[str, Any], want: dict[str, bool]
) -> None:
    check_table(rule_pred(tmp_path, "azure/signinlogs", TRUST), signin_records(**device), want)


@pytest.mark.parametrize(
    "detection,known,unknown",
    [
        ("sel: {DeviceDetail.trusttype|exists: false}\ncondition: sel", False, True),
        ("sel: {DeviceDetail.trusttype|exists: true}\ncondition: sel", True, False),
        ("sel: {DeviceDetail.trusttype: null}\ncondition: not sel", True, False),
        ("sel: {DeviceDetail.trusttype|neq: Hybrid Azure AD joined}\ncondition: sel", False, True),
        ("sel:\n  DeviceDetail.trusttype|neq: [a, b]\ncondition: sel", True, True),
        (
            "sel:\n  DeviceDetail.trusttype|contains|all: [Hybrid, joined]\ncondition: sel",
            True,
            False,
        ),
    ],
)
def test_absence_and_negation_every_shape(
    tmp_path: Path, detection: str, known: bool, unknown: bool
) -> None:
    pred = rule_pred(tmp_path, "azure/signinlogs", detection)
    for rec in signin_records(trustType="Hybrid Azure AD joined").values():
        assert pred(rec) is known, rec
    for rec in signin_records().values():
        assert pred(rec) is unknown, rec


# ---------------------------------------------------------------------------------------------
# GCP audit and Google Workspace


def gcp_entry(method: str, **payload: Any) -> dict[str, Any]:
    return {
        "logName": "projects/p1/logs/cloudaudit.googleapis.com%2Factivity",
        "resource": {"type": "k8s_cluster", "labels": {"project_id": "p1"}},
        "timestamp": "2026-01-02T03:04:05.123456Z",
        "insertId": "i1",
        "protoPayload": {
            "@type": "type.googleapis.com/google.cloud.audit.AuditLog",
            "serviceName": "compute.googleapis.com",
            "methodName": method,
            "authenticationInfo": {"principalEmail": "eve@example.com"},
            "requestMetadata": {"callerIp": "198.51.100.7", "callerSuppliedUserAgent": "gcloud"},
            "authorizationInfo": [
                {"permission": "accesscontextmanager.accessPolicies.delete", "granted": True},
            ],
            **payload,
        },
    }


@pytest.mark.parametrize(
    "detection,method,want",
    [
        (
            "sel: {gcp.audit.method_name: storage.buckets.delete}\ncondition: sel",
            "storage.buckets.delete",
            True,
        ),
        (
            "sel: {gcp.audit.method_name: storage.buckets.delete}\ncondition: sel",
            "storage.buckets.get",
            False,
        ),
        # gcp_firewall_rule_modified_or_deleted style: wildcards, other letter case
        (
            "sel: {gcp.audit.method_name: 'v*.Compute.Firewalls.Delete'}\ncondition: sel",
            "v1.compute.firewalls.delete",
            True,
        ),
        (
            "sel: {gcp.audit.method_name|endswith: .serviceAccounts.delete}\ncondition: sel",
            "iam.serviceAccounts.delete",
            True,
        ),
        (
            "sel: {gcp.audit.authentication_info.principal_email: eve@example.com}\ncondition: sel",
            "x",
            True,
        ),
        (
            "sel: {gcp.audit.request_metadata.caller_ip|cidr: 198.51.100.0/24}\ncondition: sel",
            "x",
            True,
        ),
        ("sel: {gcp.audit.service_name: compute.googleapis.com}\ncondition: sel", "x", True),
        ("sel: {gcp.audit.type|endswith: AuditLog}\ncondition: sel", "x", True),
        # gcp_access_policy_deleted style: `data.` wrapper
        (
            (
                "sel:\n  data.protoPayload.authorizationInfo.permission: accesscontextmanager.accessPolicies.delete\n"
                "  data.protoPayload.authorizationInfo.granted: 'true'\n"
                "  data.protoPayload.methodName: x\ncondition: sel"
            ),
            "x",
            True,
        ),
        ("sel: {data.protoPayload.resource.type: k8s_cluster}\ncondition: sel", "x", True),
        ("sel: {data.protoPayload.logName|endswith: '%2Factivity'}\ncondition: sel", "x", True),
    ],
)
def test_gcp_audit_ecs_and_data_names(
    tmp_path: Path, detection: str, method: str, want: bool
) -> None:
    assert rule_pred(tmp_path, "gcp/gcp.audit", detection)(gcp_entry(method)) is want


def workspace_entry(service: str, event_name: str) -> dict[str, Any]:
    """A Google Workspace audit event shared with Google Cloud: a Cloud Audit Log entry."""
    return {
        "logName": "organizations/123/logs/cloudaudit.googleapis.com%2Factivity",
        "resource": {"type": "audited_resource", "labels": {"service": service}},
        "timestamp": "2026-01-02T03:04:05Z",
        "protoPayload": {
            "@type": "type.googleapis.com/google.cloud.audit.AuditLog",
            "serviceName": service,
            "methodName": "google.admin.AdminService.x",
            "metadata": {
                "@type": "type.googleapis.com/ccc_hosted_reporting.ActivityProto",
                "event": [
                    {
                        "eventName": event_name,
                        "eventType": "DELEGATED_ADMIN_SETTINGS",
                        "parameter": [
                            {"name": "NEW_VALUE", "value": "true"},
                            {"name": "OLD_VALUE", "value": "false"},
                        ],
                    }
                ],
            },
        },
    }


def test_google_workspace_rules_are_rehomed_to_gcp_audit(tmp_path: Path) -> None:
    admin = write_rule(
        tmp_path,
        "gcp/google_workspace.admin",
        "sel: {eventService: admin.googleapis.com, eventName: [GRANT_ADMIN_PRIVILEGE]}\ncondition: sel",
    )
    login = write_rule(
        tmp_path,
        "gcp/google_workspace.login",
        "sel:\n  protoPayload.Servicename: login.googleapis.com\n"
        "  protoPayload.metadata.event.eventName: suspicious_login\ncondition: sel",
    )
    ruleset, problems = load_paths([admin, login])
    assert not problems
    by_path = {r.path: r for r in ruleset.rules}
    a, lg = by_path[str(admin)], by_path[str(login)]
    assert (a.product, a.service) == (lg.product, lg.service) == ("gcp", "gcp.audit")
    assert a.applies_to(("gcp", "gcp.audit"))
    fa, fl = compile_rule(a), compile_rule(lg)
    assert fa(workspace_entry("admin.googleapis.com", "GRANT_ADMIN_PRIVILEGE"))
    assert not fa(workspace_entry("admin.googleapis.com", "REMOVE_PRIVILEGE"))
    assert not fa(workspace_entry("login.googleapis.com", "GRANT_ADMIN_PRIVILEGE"))
    assert fl(workspace_entry("login.googleapis.com", "suspicious_login"))
    assert not fl(gcp_entry("v1.compute.instances.insert"))


# ---------------------------------------------------------------------------------------------
# AWS, M365


def test_cloudtrail_raw_names_and_src_ip(tmp_path: Path) -> None:
    pred = rule_pred(
        tmp_path,
        "aws/cloudtrail",
        "sel: {eventName: ConsoleLogin, src_ip|cidr: 198.51.100.0/24, errorCode: null}\ncondition: sel",
    )
    rec = {
        "eventSource": "signin.amazonaws.com",
        "eventName": "ConsoleLogin",
        "sourceIPAddress": "198.51.100.7",
    }
    assert pred(rec)
    assert not pred({**rec, "errorCode": "Failed"})
    assert not pred({**rec, "sourceIPAddress": "203.0.113.1"})


def test_m365_audit_ual_and_office_activity(tmp_path: Path) -> None:
    pred = rule_pred(
        tmp_path,
        "m365/audit",
        "sel: {Workload: ThreatIntelligence, Operation: TIMailData, Directionality: Inbound}\n"
        "filter_main_blocked: {DeliveryAction: Blocked}\ncondition: sel and not 1 of filter_main_*",
    )
    ual = {
        "Workload": "ThreatIntelligence",
        "Operation": "TIMailData",
        "Directionality": "Inbound",
        "DeliveryAction": "Delivered",
    }
    sentinel = {
        "OfficeWorkload": "ThreatIntelligence",
        "Operation": "TIMailData",
        "Directionality": "Inbound",
    }
    assert pred(ual) and pred(sentinel)
    assert not pred({**ual, "DeliveryAction": "Blocked"})


# ---------------------------------------------------------------------------------------------
# Lookups: fallbacks for user spellings, tables as data


@pytest.mark.parametrize(
    "logsource,name,paths",
    [
        (
            "azure/activitylogs",
            "OPERATIONNAMEVALUE",
            ["operationName", "operationName.value", "operation_name.value", "OperationNameValue"],
        ),
        (
            "azure/auditlogs",
            "targetresources.modifiedproperties.oldvalue",
            [
                "targetResources.modifiedProperties.oldValue",
                "properties.targetResources.modifiedProperties.oldValue",
                "TargetResources.modifiedProperties.oldValue",
            ],
        ),
        (
            "azure/auditlogs",
            "InitiatedBy.app.displayName",
            [
                "initiatedBy.app.displayName",
                "properties.initiatedBy.app.displayName",
                "InitiatedBy.app.displayName",
            ],
        ),
        (
            "azure/signinlogs",
            "DEVICEDETAIL.TRUSTTYPE",
            [
                "deviceDetail.trustType",
                "properties.deviceDetail.trustType",
                "DeviceDetail.trustType",
            ],
        ),
        (
            "azure/signinlogs",
            "Status.errorCode",
            ["resultType", "ResultType", "status.errorCode", "properties.status.errorCode"],
        ),
        (
            "azure/signinlogs",
            "LocationDetails.city",
            ["location.city", "properties.location.city", "LocationDetails.city"],
        ),
        (
            "gcp/gcp.audit",
            "gcp.audit.request.policy.bindings",
            ["protoPayload.request.policy.bindings"],
        ),
        ("gcp/gcp.audit", "data.protoPayload.status.code", ["protoPayload.status.code"]),
        ("aws/cloudtrail", "eventName", None),
        ("azure/activitylogs", "nosuchfield", None),
    ],
)
def test_table_lookup(logsource: str, name: str, paths: list[str] | None) -> None:
    table = {f"{t.product}/{t.service}": t for t in FIELD_TABLES}[logsource]
    assert table.lookup(name) == paths


def test_pipeline_items_are_field_mappings_under_a_logsource() -> None:
    """One FieldMappingTransformation per table under one LogsourceCondition, its `mapping`
    the table's names as written: readable as plain data (tests/test_sigmahq_differential.py
    builds its oracle's field maps from the tables)."""
    items = default_pipeline().items
    assert len(items) == len(FIELD_TABLES)
    for item in items:
        t = item.transformation
        assert isinstance(t, FieldMappingTransformation)
        (cond,) = item.rule_conditions
        assert isinstance(cond, LogsourceCondition)
        table = t.table  # type: ignore[attr-defined]
        assert (cond.logsource.product, cond.logsource.service) == (table.product, table.service)
        assert t.mapping == {k: list(v) for k, v in table.fields.items()}


def test_not_mapped_names_really_stay_unmapped() -> None:
    tables = {(t.product, t.service): t for t in FIELD_TABLES}
    for ls, names in NOT_MAPPED.items():
        for name in names:
            table = tables.get(ls)
            assert table is None or table.lookup(name) is None, (ls, name)


def test_sigmahq_rules_need_only_the_names_as_written(external: Path) -> None:
    """Every field name SigmaHQ's cloud rules use is either a table entry as written or left
    alone (never resolved by the case-insensitive or prefix fallbacks), so the table's entries
    are the whole story for them."""
    tables = {(t.product, t.service): t for t in FIELD_TABLES}
    seen = 0

    def names(d: Any) -> Any:
        if isinstance(d, dict):
            for k in d:
                yield str(k).split("|")[0]
        elif isinstance(d, list):
            for x in d:
                yield from names(x)

    for path in sorted((external / "sigmahq-sigma").rglob("*.yml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        ls = doc["logsource"]
        table = tables.get((ls.get("product"), ls.get("service")))
        if table is None:
            continue
        for key, body in doc["detection"].items():
            if key in ("condition", "timeframe"):
                continue
            for name in names(body):
                if name:
                    seen += 1
                    want = table.fields.get(name)
                    assert table.lookup(name) == (list(want) if want is not None else None), (
                        path.name,
                        name,
                    )
    assert seen > 300


# ---------------------------------------------------------------------------------------------
# Placeholders and filters


PLACEHOLDER_RULE = (
    "sel: {operationName: x}\nfilter_main: {caller|expand: '%Admins%'}\n"
    "condition: sel and not 1 of filter_main*"
)


def test_placeholders_from_argument_and_from_context(tmp_path: Path) -> None:
    path = write_rule(tmp_path, "azure/activitylogs", PLACEHOLDER_RULE)
    rec = {"operationName": "X", "resourceId": "/x", "Caller": "eve@example.com"}
    with placeholder_values({"Admins": ["alice@example.com", "eve@*"]}):
        ruleset, problems = load_paths([path])
    assert not problems
    pred = compile_rule(ruleset.rules[0])
    assert not pred(rec)  # eve is an admin: filtered
    assert pred({**rec, "Caller": "mallory@example.com"})
    # without values the placeholder stays, and the engine refuses the rule
    ruleset, _ = load_paths([path])
    with pytest.raises(Exception, match="placeholder: %Admins% has no value"):
        compile_rule(ruleset.rules[0])
    # the explicit argument form
    pipeline = default_pipeline(placeholders={"Admins": ["a"]})
    assert pipeline.vars == {"Admins": ["a"]} and pipeline.items[0].identifier == "th_placeholders"


def _event(source: str, provider: str, raw: dict[str, Any]) -> Event:
    return Event(source=source, provider=provider, raw=raw, location=Location("t"))


def test_filters_get_the_mapping(tmp_path: Path) -> None:
    rule = write_rule(
        tmp_path, "azure/activitylogs", "sel: {operationName|endswith: /delete}\ncondition: sel"
    )
    rule_id = yaml.safe_load(rule.read_text())["id"]
    flt = tmp_path / "filter.yml"
    flt.write_text(
        yaml.safe_dump(
            {
                "title": "benign deletes",
                "id": str(uuid.uuid4()),
                "logsource": {"product": "azure", "service": "activitylogs"},
                "filter": {
                    "rules": [rule_id],
                    "benign": {
                        "OperationNameValue|contains": "/locks/",
                        "ActivityStatusValue": "Succeeded",
                    },
                    "condition": "not benign",
                },
            }
        )
    )
    ruleset, problems = load_paths([rule, flt])
    assert not problems and len(ruleset.filters) == 1
    map_filter(ruleset.filters[0].sigma)
    map_filter(ruleset.filters[0].sigma)  # once is enough; again changes nothing
    plan = ReferenceEngine().compile(ruleset)
    rest_lock = azure_records("Microsoft.Authorization/locks/delete")["rest"]
    sdk_vm = azure_records("Microsoft.Compute/virtualMachines/delete")["sdk"]
    matches = list(
        ReferenceEngine().run(
            plan,
            [
                _event("azure_activity", "azure", rest_lock),
                _event("azure_activity", "azure", sdk_vm),
            ],
        )
    )
    assert [(len(m.rules), len(m.suppressed)) for m in matches] == [(0, 1), (1, 0)]


def test_filter_for_a_whole_product_gets_every_table_of_it(tmp_path: Path) -> None:
    from sigma.filters import SigmaFilter

    sf = SigmaFilter.from_dict(
        {
            "title": "f",
            "id": str(uuid.uuid4()),
            "logsource": {"product": "azure"},
            "filter": {
                "rules": "any",
                "ok": {"properties.message": "Add user"},
                "condition": "not ok",
            },
        }
    )
    map_filter(sf)
    fields = sorted(
        i.field
        for d in sf.filter.detections.values()
        for g in d.detection_items
        for i in g.detection_items  # type: ignore[union-attr]
    )
    # activitylogs keeps properties.message (+ Sentinel's column); auditlogs maps it to the
    # activity name; signinlogs leaves it alone
    assert {
        "properties.message",
        "Properties_d.message",
        "activityDisplayName",
        "OperationName",
    } <= set(fields)


def test_filter_placeholders(tmp_path: Path) -> None:
    from sigma.filters import SigmaFilter

    sf = SigmaFilter.from_dict(
        {
            "title": "f",
            "id": str(uuid.uuid4()),
            "logsource": {"product": "azure", "service": "activitylogs"},
            "filter": {"rules": "any", "ok": {"caller|expand": "%Admins%"}, "condition": "not ok"},
        }
    )
    map_filter(sf, {"Admins": ["alice@example.com", "bob@example.com"]})
    ruleset, _ = load_paths(
        [write_rule(tmp_path, "azure/activitylogs", "sel: {operationName: x}\ncondition: sel")]
    )
    from trailhound.rules.model import Filter, RuleSet

    flt = Filter(
        id="f", title="f", rule_ids=None, product="azure", service="activitylogs", sigma=sf
    )
    plan = ReferenceEngine().compile(RuleSet(ruleset.rules, (flt,)))
    events = [
        _event(
            "azure_activity",
            "azure",
            {"operationName": "X", "resourceId": "/r", "Caller": "bob@example.com"},
        ),
        _event(
            "azure_activity",
            "azure",
            {"operationName": "X", "resourceId": "/r", "caller": "eve@example.com"},
        ),
    ]
    got = [(len(m.rules), len(m.suppressed)) for m in ReferenceEngine().run(plan, events)]
    assert got == [(0, 1), (1, 0)]


# ---------------------------------------------------------------------------------------------
# SigmaHQ's own rules on every shape


@pytest.mark.parametrize(
    "rule,records,want",
    [
        (
            "rules/cloud/azure/activity_logs/azure_subscription_permissions_elevation_via_activitylogs.yml",
            azure_records("Microsoft.Authorization/elevateAccess/action"),
            ALL_AZ,
        ),
        (
            "rules/cloud/azure/activity_logs/azure_aadhybridhealth_adfs_service_delete.yml",
            azure_records(),
            {**ALL_AZ, "diagnostic": False},
        ),
        (
            "rules/cloud/azure/audit_logs/azure_user_account_mfa_disable.yml",
            audit_records(),
            OBJECTS_EA,
        ),
        ("rules/cloud/azure/signin_logs/azure_account_lockout.yml", signin_records(), ALL_ES),
        (
            "rules/cloud/azure/signin_logs/azure_ad_risky_sign_ins_with_singlefactorauth_from_unknown_devices.yml",
            signin_records(trustType="Azure AD joined"),
            NO_ES,  # a known device (the rule also wants Status: Success)
        ),
        (
            "rules/cloud/gcp/audit/gcp_kubernetes_secrets_modified_or_deleted.yml",
            {"entry": gcp_entry("io.k8s.core.v1.secrets.delete")},
            {"entry": True},
        ),
        (
            "rules/cloud/gcp/gworkspace/admin/gcp_gworkspace_user_granted_admin_privileges.yml",
            {"entry": workspace_entry("admin.googleapis.com", "GRANT_DELEGATED_ADMIN_PRIVILEGES")},
            {"entry": True},
        ),
    ],
)
def test_sigmahq_rules_on_every_shape(
    external: Path, rule: str, records: dict[str, dict[str, Any]], want: dict[str, bool]
) -> None:
    ruleset, problems = load_paths([external / "sigmahq-sigma" / rule])
    assert not problems
    check_table(compile_rule(ruleset.rules[0]), records, want)
