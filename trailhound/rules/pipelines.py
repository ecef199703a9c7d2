"""Field mapping per log source, as pySigma processing pipelines.

Rules name fields the way one export shape (or one SIEM) spells them; the same fact sits under
other names in the other shapes of the same log (log-formats.md §2.1, §3.3, §4). Each Sigma field
below maps to the list of raw paths where any shape keeps it, and a one-to-many mapping becomes
an OR of detection items, so the engines only ever look raw paths up in `Event.raw`.

How a rule field is looked up in a table (`FieldTable.lookup`):

1. the name as written (every spelling SigmaHQ's cloud rules use is listed, typos included:
   `Resultdescription`, `protoPayload.Servicename`; the transformation's `mapping` holds exactly
   these entries, so it can be read as plain data);
2. else the same name IGNORING CASE (within one log source two spellings of a name never mean
   two facts), for user rules;
3. else the longest matching name PREFIX (`TargetResources.` -> the three roots where the
   shapes keep target resources), the rest of the name kept; under Microsoft Graph roots the
   rest is re-spelled the way Graph spells its members (`ModifiedProperties.NewValue` ->
   `modifiedProperties.newValue`, `trusttype` -> `trustType`), for user rules too;
4. else the name stays as written (CloudTrail rules use raw names; `fields.py` then looks the
   name up case-sensitively).
The raw paths a name maps to are exact. A test checks that SigmaHQ's rules need only step 1.

Absence and negation across alternatives: "the field is null / does not exist" must hold in
EVERY alternative path (a record has one shape, the other paths are always missing), and so
must "the field is not X" (`|neq`). `ShapeFieldMapping` links the copies of such items with AND
instead of pySigma's OR; without it `DeviceDetail.trusttype: null` would be true for every
record of every shape.

Decisions per log source (the full tables are the dicts below; `NOT_MAPPED` lists rule fields
deliberately left alone, with the reason, and `trailhound rules check` prints those reasons):

* aws/cloudtrail: raw names, no mapping; `src_ip` (Sigma taxonomy name in a rules-placeholder
  rule) -> `sourceIPAddress`.
* azure/activitylogs: Event Hub names (`operationName`, `resultType`, `category`, ...) and Log
  Analytics columns (`OperationNameValue`, `CategoryValue`, `ActivityStatusValue`,
  `ResourceProviderValue`, ...) map to the same alternatives across diagnostic export, REST /
  az CLI, SDK snake_case and Sentinel `AzureActivity`. `properties.message` is a real member of
  Activity diagnostic records (it repeats the operation name) and stays as written (plus the
  Sentinel dynamic column). The diagnostic export has no resource-provider field, so a rule
  testing `ResourceProviderValue` only matches REST / SDK / Sentinel records. The diagnostic
  export has no `caller` either: `caller` also reads its token claims (UPN, else object id).
* azure/auditlogs (Entra ID audit): `properties.message` does not exist in the audit schema
  (log-formats §6 pitfall 24). SigmaHQ took those rules from Microsoft's security-operations
  guide, whose "Activity: Add member to role" is the activity display name, so
  `properties.message` (like `operationName`, `OperationName`, `ActivityDisplayName`,
  `activityType`) maps to every place the activity name is kept: Graph `activityDisplayName`,
  diagnostic `properties.activityDisplayName` and top-level `operationName`, Sentinel
  `ActivityDisplayName` / `OperationName`. Rules whose `properties.message` value is not an
  activity name (a modifiedProperties JSON fragment, "Update Application Sucess- Property Name
  AppAddress") load but cannot match. `Status` is the Graph `result`.
* azure/signinlogs: Sentinel `SigninLogs` columns (`ResultType`, `ResultDescription`,
  `AuthenticationRequirement`, `DeviceDetail.*`, `Status`...) map to the Graph `signIn` members
  (top level, or under `properties` in the diagnostic export). `ResultType` is also Graph
  `status.errorCode`; `ResultDescription` also `status.failureReason`; `Status` is the text
  that says how the sign-in went (`resultSignature`, `status.additionalDetails`,
  `status.failureReason`).
* azure/riskdetection: `riskEventType` in the Graph / diagnostic / Sentinel spellings. No
  source trailhound reads produces these records yet, so the rules load and never apply.
* azure/pim: not mapped: the values are PIM alert definition ids; no export trailhound knows
  has them under any field name.
* gcp/gcp.audit: the Elastic (ECS) names `gcp.audit.*` map to their LogEntry paths
  (`gcp.audit.method_name` -> `protoPayload.methodName`, ...); `data.` (a Pub/Sub / CloudEvents
  `data` wrapper around the LogEntry) is stripped, and the two LogEntry fields one rule put under
  `data.protoPayload` (`resource.type`, `logName`) go to where the LogEntry keeps them.
* gcp/google_workspace.admin and .login: Workspace audit logs shared with Google Cloud arrive as
  Cloud Audit Log entries (`protoPayload.serviceName` `admin.googleapis.com` /
  `login.googleapis.com`, events under `protoPayload.metadata.event[]`), which trailhound reads
  as `gcp_audit` records. The rules' log source is therefore changed to gcp/gcp.audit, and
  `eventService` -> `protoPayload.serviceName`, `eventName` ->
  `protoPayload.metadata.event.eventName`. `setting_name` / `new_value` are NOT mapped: they are
  entries of the `parameter[]` name/value list, which no path can address (mapping them to "any
  parameter value" would make `new_value: 'false'` fire when the OLD value was false).
* m365/audit (`m365_audit` records): rules use the Unified Audit Log names of the Management
  Activity API records; added are the Sentinel `OfficeActivity` columns where Sentinel renamed
  them (`Workload` -> `OfficeWorkload`, `ObjectId` -> `OfficeObjectId`) and Panther's spelling
  of its Microsoft365.Audit.Exchange records, whose top-level keys are all lower case
  (`operation`, `parameters`, `objectid`, ...; the members of the Name/Value lists keep their
  case). `Parameters` and `OperationProperties` are `[{"Name": ..., "Value": ...}]` lists in
  the API records and JSON text in Sentinel; SigmaHQ's rules search them with `contains` for
  words that are parameter NAMES (`ForwardingSmtpAddress`, `DeleteMessage`), so they map to the
  entries' `Name` and `Value` (what a search of the whole text finds) and, for Sentinel, to the
  text itself. `RequestType` is an `ExtendedProperties` Name/Value entry: not mapped.
  m365/threat_management, exchange and threat_detection use `eventSource` / `eventName` /
  `status`, Elastic o365 concepts (event.provider / rule.name / event.outcome) whose UAL
  counterparts (Workload / Name / ResultStatus) hold other values (`Succeeded`, never
  `success`): not mapped; trailhound reads no records of those log sources.

Placeholders (`|expand`): `default_pipeline(placeholders={"name": [values]})`, or a
`with placeholder_values({...}):` block around code that calls `default_pipeline()` (the
loader does), fills them in with pySigma's ValueListPlaceholderTransformation. Placeholders
without values stay, and the engines refuse those rules.

Filters: `map_filter(sigma_filter)` applies the same mapping (and placeholders) to the
detections of a pySigma SigmaFilter, in place, once (the engines compile a filter's detections
as they are); call it on every SigmaFilter right after parsing. rules/check.py calls it on the
filters it loads.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from sigma.conditions import ConditionAND, ConditionOR
from sigma.correlations import SigmaCorrelationRule
from sigma.filters import SigmaFilter
from sigma.processing.conditions import LogsourceCondition
from sigma.processing.pipeline import ProcessingItem, ProcessingPipeline
from sigma.processing.transformations import (
    FieldMappingTransformation,
    ValueListPlaceholderTransformation,
)
from sigma.rule import SigmaDetection, SigmaDetectionItem, SigmaLogSource, SigmaRule
from sigma.types import SigmaExists, SigmaNull, SigmaType

from trailhound.azure_fields import STORAGE_CALLER

__all__ = [
    "AWS_CLOUDTRAIL_FIELDS",
    "AZURE_ACTIVITY_FIELDS",
    "ENTRA_AUDIT_FIELDS",
    "ENTRA_RISK_FIELDS",
    "ENTRA_SIGNIN_FIELDS",
    "FIELD_TABLES",
    "GCP_AUDIT_FIELDS",
    "GOOGLE_WORKSPACE_FIELDS",
    "M365_AUDIT_FIELDS",
    "NOT_MAPPED",
    "FieldTable",
    "PrefixRule",
    "ShapeFieldMapping",
    "default_pipeline",
    "map_filter",
    "placeholder_values",
]

# ---------------------------------------------------------------------------------------------
# AWS CloudTrail: rules use the raw names.

AWS_CLOUDTRAIL_FIELDS: dict[str, list[str]] = {
    "src_ip": ["sourceIPAddress"],
}

# ---------------------------------------------------------------------------------------------
# Azure Activity: diagnostic export (Event Hub) / REST + az CLI / SDK snake_case / Sentinel.

_AA_OPERATION = [
    "operationName",
    "operationName.value",
    "operation_name.value",
    "OperationNameValue",
]
_AA_STATUS = ["resultType", "status.value", "ActivityStatusValue", "ActivityStatus"]
_AA_SUBSTATUS = ["resultSignature", "subStatus.value", "sub_status.value", "ActivitySubstatusValue"]
_AA_CATEGORY = ["category", "category.value", "CategoryValue"]
_AA_PROVIDER = [
    "resourceProviderName.value",
    "resource_provider_name.value",
    "ResourceProviderValue",
]
_AA_RESOURCE_ID = ["resourceId", "resource_id", "ResourceId", "_ResourceId"]
_AA_RESOURCE_GROUP = ["resourceGroupName", "resource_group_name", "ResourceGroup"]
_AA_SUBSCRIPTION = ["subscriptionId", "subscription_id", "SubscriptionId"]
_AA_CALLER_IP = [
    "callerIpAddress",
    "httpRequest.clientIpAddress",
    "http_request.client_ip_address",
    "CallerIpAddress",
]
_AA_CORRELATION = ["correlationId", "correlation_id", "CorrelationId"]
_AA_UPN = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn"
_AA_OID = "http://schemas.microsoft.com/identity/claims/objectidentifier"

AZURE_ACTIVITY_FIELDS: dict[str, list[str]] = {
    "operationName": _AA_OPERATION,
    "operationName.value": _AA_OPERATION,
    "OperationNameValue": _AA_OPERATION,
    "resultType": _AA_STATUS,
    "ActivityStatusValue": _AA_STATUS,
    "ActivityStatus": _AA_STATUS,
    "resultSignature": _AA_SUBSTATUS,
    "ActivitySubstatusValue": _AA_SUBSTATUS,
    "category": _AA_CATEGORY,
    "CategoryValue": _AA_CATEGORY,
    "ResourceProviderValue": _AA_PROVIDER,
    "resourceProviderName.value": _AA_PROVIDER,
    "resourceId": _AA_RESOURCE_ID,
    "ResourceId": _AA_RESOURCE_ID,
    "resourceGroupName": _AA_RESOURCE_GROUP,
    "subscriptionId": _AA_SUBSCRIPTION,
    "callerIpAddress": _AA_CALLER_IP,
    # the diagnostic export has no `caller`: its token claims name the caller (UPN, else the
    # object id of a service principal), as the normalizer reads them; Storage resource logs
    # name the OAuth requester, else the SAS / key hash
    "caller": ["caller", "Caller", f"identity.claims.{_AA_UPN}", f"identity.claims.{_AA_OID}",
               *STORAGE_CALLER],
    "correlationId": _AA_CORRELATION,
    "properties.message": ["properties.message", "Properties_d.message"],
}

# ---------------------------------------------------------------------------------------------
# Entra ID audit: Graph directoryAudit (top level) / diagnostic export (Graph object under
# `properties`, top-level operationName) / Sentinel AuditLogs columns.

_EA_ACTIVITY = [
    "activityDisplayName",
    "properties.activityDisplayName",
    "ActivityDisplayName",
    "operationName",
    "OperationName",
]
_EA_RESULT = ["result", "properties.result", "Result"]
_EA_RESULT_REASON = ["resultReason", "properties.resultReason", "ResultReason"]
_EA_CATEGORY = ["category", "properties.category", "Category"]
_EA_LOGGED_BY = ["loggedByService", "properties.loggedByService", "LoggedByService"]
_EA_OPERATION_TYPE = ["operationType", "properties.operationType", "AADOperationType"]
_EA_TARGETS = ["targetResources", "properties.targetResources", "TargetResources"]
_EA_INITIATOR = ["initiatedBy", "properties.initiatedBy", "InitiatedBy"]
_EA_DETAILS = ["additionalDetails", "properties.additionalDetails", "AdditionalDetails"]


def _sub(roots: list[str], rest: str) -> list[str]:
    return [f"{r}.{rest}" for r in roots]


ENTRA_AUDIT_FIELDS: dict[str, list[str]] = {
    "activityDisplayName": _EA_ACTIVITY,
    "ActivityDisplayName": _EA_ACTIVITY,
    "properties.activityDisplayName": _EA_ACTIVITY,
    "operationName": _EA_ACTIVITY,
    "OperationName": _EA_ACTIVITY,
    "activityType": _EA_ACTIVITY,
    "ActivityType": _EA_ACTIVITY,
    "properties.message": _EA_ACTIVITY,  # pitfall 24: see the module docstring
    "result": _EA_RESULT,
    "properties.result": _EA_RESULT,
    "Status": _EA_RESULT,
    "resultReason": _EA_RESULT_REASON,
    "properties.resultReason": _EA_RESULT_REASON,
    "failure_status_reason": _EA_RESULT_REASON,
    "category": _EA_CATEGORY,
    "Category": _EA_CATEGORY,
    "properties.category": _EA_CATEGORY,
    "loggedByService": _EA_LOGGED_BY,
    "LoggedByService": _EA_LOGGED_BY,
    "properties.loggedByService": _EA_LOGGED_BY,
    "operationType": _EA_OPERATION_TYPE,
    "properties.operationType": _EA_OPERATION_TYPE,
    "AADOperationType": _EA_OPERATION_TYPE,
    "targetResources": _EA_TARGETS,
    "TargetResources": _EA_TARGETS,
    "properties.targetResources": _EA_TARGETS,
    "Target": _EA_TARGETS,
    "targetResources.type": _sub(_EA_TARGETS, "type"),
    "TargetResources.modifiedProperties": _sub(_EA_TARGETS, "modifiedProperties"),
    "TargetResources.modifiedProperties.newValue": _sub(_EA_TARGETS, "modifiedProperties.newValue"),
    "TargetResources.ModifiedProperties.NewValue": _sub(_EA_TARGETS, "modifiedProperties.newValue"),
    "TargetResources.ModifiedProperties.DisplayName": _sub(
        _EA_TARGETS, "modifiedProperties.displayName"
    ),
    "initiatedBy": _EA_INITIATOR,
    "Initiatedby": _EA_INITIATOR,
    "properties.initiatedBy": _EA_INITIATOR,
    "additionalDetails": _EA_DETAILS,
    "properties.additionalDetails": _EA_DETAILS,
}

# ---------------------------------------------------------------------------------------------
# Entra ID sign-ins: Graph signIn (top level) / diagnostic export (under `properties`, plus
# top-level resultType, resultSignature, resultDescription, location) / Sentinel SigninLogs.


def _graph(member: str, sentinel: str) -> list[str]:
    return [member, f"properties.{member}", sentinel]


_ES_RESULT_TYPE = ["resultType", "ResultType", "status.errorCode", "properties.status.errorCode"]
_ES_RESULT_DESCRIPTION = [
    "resultDescription",
    "ResultDescription",
    "status.failureReason",
    "properties.status.failureReason",
]
_ES_STATUS = [
    "resultSignature",
    "ResultSignature",
    "status.additionalDetails",
    "properties.status.additionalDetails",
    "status.failureReason",
    "properties.status.failureReason",
    "Status",  # Sentinel's dynamic column, as JSON text in file exports (`contains` works)
    "Status.additionalDetails",
    "Status.failureReason",
]
_ES_COUNTRY = [
    "location",  # diagnostic export: the country code
    "Location",  # Sentinel: the country code
    "location.countryOrRegion",
    "properties.location.countryOrRegion",
    "LocationDetails.countryOrRegion",
]
_ES_IP = ["ipAddress", "properties.ipAddress", "IPAddress", "callerIpAddress"]

_ES_DEVICE = ["deviceDetail", "properties.deviceDetail", "DeviceDetail"]
_ES_AUTH_REQUIREMENT = _graph("authenticationRequirement", "AuthenticationRequirement")

ENTRA_SIGNIN_FIELDS: dict[str, list[str]] = {
    "resultType": _ES_RESULT_TYPE,
    "ResultType": _ES_RESULT_TYPE,
    "status.errorCode": _ES_RESULT_TYPE,
    "properties.status.errorCode": _ES_RESULT_TYPE,
    "resultDescription": _ES_RESULT_DESCRIPTION,
    "ResultDescription": _ES_RESULT_DESCRIPTION,
    "Resultdescription": _ES_RESULT_DESCRIPTION,
    "Status": _ES_STATUS,
    "authenticationRequirement": _ES_AUTH_REQUIREMENT,
    "AuthenticationRequirement": _ES_AUTH_REQUIREMENT,
    "properties.authenticationRequirement": _ES_AUTH_REQUIREMENT,
    "userAgent": _graph("userAgent", "UserAgent"),
    "riskState": _graph("riskState", "RiskState"),
    "RiskState": _graph("riskState", "RiskState"),
    "resourceDisplayName": _graph("resourceDisplayName", "ResourceDisplayName"),
    "ResourceDisplayName": _graph("resourceDisplayName", "ResourceDisplayName"),
    "conditionalAccessStatus": _graph("conditionalAccessStatus", "ConditionalAccessStatus"),
    "networkLocationDetails": _graph("networkLocationDetails", "NetworkLocationDetails"),
    "NetworkLocationDetails": _graph("networkLocationDetails", "NetworkLocationDetails"),
    "clientAppUsed": _graph("clientAppUsed", "ClientAppUsed"),
    "ClientApp": _graph("clientAppUsed", "ClientAppUsed"),
    "userPrincipalName": _graph("userPrincipalName", "UserPrincipalName"),
    "Username": _graph("userPrincipalName", "UserPrincipalName"),
    "appId": _graph("appId", "AppId"),
    "properties.appId": _graph("appId", "AppId"),
    "appDisplayName": _graph("appDisplayName", "AppDisplayName"),
    "homeTenantId": _graph("homeTenantId", "HomeTenantId"),
    "resourceTenantId": _graph("resourceTenantId", "ResourceTenantId"),
    "ipAddress": _ES_IP,
    "IPaddress": _ES_IP,
    "callerIpAddress": _ES_IP,
    "location": _ES_COUNTRY,
    "Location": _ES_COUNTRY,
    "DeviceDetail.deviceId": _sub(_ES_DEVICE, "deviceId"),
    "properties.deviceDetail.deviceId": _sub(_ES_DEVICE, "deviceId"),
    "DeviceDetail.isCompliant": _sub(_ES_DEVICE, "isCompliant"),
    "DeviceDetail.trusttype": _sub(_ES_DEVICE, "trustType"),
}

# Entra ID Protection risk detections (Graph riskDetection / diagnostic UserRiskEvents /
# Sentinel AADUserRiskEvents).
ENTRA_RISK_FIELDS: dict[str, list[str]] = {
    "riskEventType": _graph("riskEventType", "RiskEventType"),
}

# ---------------------------------------------------------------------------------------------
# GCP Cloud Audit Logs: Elastic gcp.audit (ECS) names -> LogEntry paths.

_P = "protoPayload"
GCP_AUDIT_FIELDS: dict[str, list[str]] = {
    "gcp.audit.method_name": [f"{_P}.methodName"],
    "gcp.audit.service_name": [f"{_P}.serviceName"],
    "gcp.audit.resource_name": [f"{_P}.resourceName"],
    "gcp.audit.type": [f"{_P}.@type", f"{_P}.at_sign_type"],  # Panther renames '@type'
    "gcp.audit.num_response_items": [f"{_P}.numResponseItems"],
    "gcp.audit.authentication_info.principal_email": [f"{_P}.authenticationInfo.principalEmail"],
    "gcp.audit.authentication_info.principal_subject": [
        f"{_P}.authenticationInfo.principalSubject"
    ],
    "gcp.audit.authentication_info.authority_selector": [
        f"{_P}.authenticationInfo.authoritySelector"
    ],
    "gcp.audit.authentication_info.service_account_key_name": [
        f"{_P}.authenticationInfo.serviceAccountKeyName"
    ],
    "gcp.audit.authentication_info.service_account_delegation_info": [
        f"{_P}.authenticationInfo.serviceAccountDelegationInfo"
    ],
    "gcp.audit.authentication_info.third_party_principal": [
        f"{_P}.authenticationInfo.thirdPartyPrincipal"
    ],
    "gcp.audit.authorization_info": [f"{_P}.authorizationInfo"],
    "gcp.audit.authorization_info.granted": [f"{_P}.authorizationInfo.granted"],
    "gcp.audit.authorization_info.permission": [f"{_P}.authorizationInfo.permission"],
    "gcp.audit.authorization_info.resource": [f"{_P}.authorizationInfo.resource"],
    "gcp.audit.authorization_info.resource_attributes.name": [
        f"{_P}.authorizationInfo.resourceAttributes.name"
    ],
    "gcp.audit.authorization_info.resource_attributes.service": [
        f"{_P}.authorizationInfo.resourceAttributes.service"
    ],
    "gcp.audit.authorization_info.resource_attributes.type": [
        f"{_P}.authorizationInfo.resourceAttributes.type"
    ],
    "gcp.audit.request_metadata.caller_ip": [f"{_P}.requestMetadata.callerIp"],
    "gcp.audit.request_metadata.raw.caller_ip": [f"{_P}.requestMetadata.callerIp"],
    "gcp.audit.request_metadata.caller_supplied_user_agent": [
        f"{_P}.requestMetadata.callerSuppliedUserAgent"
    ],
    "gcp.audit.resource_location.current_locations": [f"{_P}.resourceLocation.currentLocations"],
    "gcp.audit.status.code": [f"{_P}.status.code"],
    "gcp.audit.status.message": [f"{_P}.status.message"],
    "gcp.audit.request": [f"{_P}.request"],
    "gcp.audit.response": [f"{_P}.response"],
    "gcp.audit.labels": ["labels"],
    "gcp.audit.logentry_operation.id": ["operation.id"],
    "gcp.audit.logentry_operation.producer": ["operation.producer"],
    "gcp.audit.logentry_operation.first": ["operation.first"],
    "gcp.audit.logentry_operation.last": ["operation.last"],
    # A Pub/Sub / CloudEvents `data` wrapper around the LogEntry (gcp_access_policy_deleted,
    # gcp_breakglass_container_workload_deployed); the latter also puts two LogEntry fields under
    # protoPayload.
    "data.protoPayload.serviceName": [f"{_P}.serviceName"],
    "data.protoPayload.methodName": [f"{_P}.methodName"],
    "data.protoPayload.authorizationInfo.granted": [f"{_P}.authorizationInfo.granted"],
    "data.protoPayload.authorizationInfo.permission": [f"{_P}.authorizationInfo.permission"],
    "data.protoPayload.resource.type": ["resource.type"],
    "data.protoPayload.logName": ["logName"],
}

# Google Workspace audit logs shared with Google Cloud (Cloud Audit Log entries).
GOOGLE_WORKSPACE_FIELDS: dict[str, list[str]] = {
    "eventService": [f"{_P}.serviceName"],
    "eventName": [f"{_P}.metadata.event.eventName"],
    "protoPayload.serviceName": [f"{_P}.serviceName"],
    "protoPayload.Servicename": [f"{_P}.serviceName"],
}

# Microsoft 365 Unified Audit Log: Management Activity API records / Sentinel OfficeActivity
# rows / Panther Microsoft365.Audit.Exchange records (top-level keys in lower case).


def _name_value(root: str) -> list[str]:
    """A `[{"Name", "Value"}]` list (API records, Panther) or its JSON text (Sentinel)."""
    return [f"{root}.Name", f"{root}.Value", root, f"{root.lower()}.Name", f"{root.lower()}.Value"]


M365_AUDIT_FIELDS: dict[str, list[str]] = {
    "Workload": ["Workload", "OfficeWorkload", "workload"],
    "ObjectId": ["ObjectId", "OfficeObjectId", "objectid"],
    "Operation": ["Operation", "operation"],
    "ResultStatus": ["ResultStatus", "resultstatus"],
    "Parameters": _name_value("Parameters"),
    "OperationProperties": _name_value("OperationProperties"),
}

# ---------------------------------------------------------------------------------------------
# Rule fields deliberately left unmapped, with the reason (shown by `trailhound rules check`).

_NAME_VALUE = "a name/value list entry ({}); no field path can address it, so it never matches"
_NO_SUCH = "no export of this log has such a field; it never matches"

NOT_MAPPED: dict[tuple[str, str], dict[str, str]] = {
    ("aws", "cloudtrail"): {
        "status": "CloudTrail has no status field (a success has no errorCode); it never matches",
        "src_country": "CloudTrail records carry no geolocation; it never matches",
    },
    ("azure", "auditlogs"): {
        "additionalDetails.additionalInfo": _NAME_VALUE.format("additionalDetails[] key/value"),
        "ConsentContext.IsAdminConsent": _NAME_VALUE.format(
            "targetResources[].modifiedProperties[] displayName/newValue"
        ),
        "Initiatied.By": _NO_SUCH,
    },
    ("azure", "signinlogs"): {
        "properties.message": (
            "no sign-in export has it (SigmaHQ's 'Device Code' / 'ROPC' values name an "
            "authenticationProtocol, which logs spell deviceCode / ropc); it never matches"
        ),
        "ActivityDetails": _NO_SUCH,
        "Initiatied.By": _NO_SUCH,
        "DeviceInfo": _NO_SUCH,
        "Date": _NO_SUCH,
        "Count": "a report statistic, not a log field; it never matches",
        "TargetUserName": "a Windows event field, not a sign-in field; it never matches",
    },
    ("azure", "pim"): {
        "riskEventType": (
            "PIM alert ids are in no export trailhound knows under this or any field name"
        ),
    },
    ("gcp", "google_workspace.admin"): {
        "setting_name": _NAME_VALUE.format("protoPayload.metadata.event[].parameter[] name/value"),
        "new_value": _NAME_VALUE.format("protoPayload.metadata.event[].parameter[] name/value"),
    },
    ("m365", "threat_management"): {
        f: "an Elastic o365 concept whose UAL field holds other values; not mapped"
        for f in ("eventSource", "eventName", "status", "Payload")
    },
    ("m365", "exchange"): {
        f: "an Elastic o365 concept whose UAL field holds other values; not mapped"
        for f in ("eventSource", "eventName", "status")
    },
    ("m365", "threat_detection"): {
        f: "an Elastic o365 concept whose UAL field holds other values; not mapped"
        for f in ("eventSource", "eventName", "status")
    },
    ("m365", "audit"): {
        "RequestType": _NAME_VALUE.format("ExtendedProperties[] Name/Value"),
    },
}

# ---------------------------------------------------------------------------------------------
# Tables


@dataclass(frozen=True)
class PrefixRule:
    """Rule fields starting with `prefix` (any case) go to each of `raw`, the rest appended.

    `graph`: re-spell the rest the way Microsoft Graph spells its members (camelCase, known
    member names fixed, e.g. `trusttype` -> `trustType`).
    """

    prefix: str
    raw: tuple[str, ...]
    graph: bool = False


# Microsoft Graph member names met under the prefixes below, for re-spelling.
_GRAPH_MEMBERS = {
    m.casefold(): m
    for m in [
        "modifiedProperties",
        "displayName",
        "oldValue",
        "newValue",
        "type",
        "id",
        "userPrincipalName",
        "groupType",
        "ipAddress",
        "user",
        "app",
        "appId",
        "servicePrincipalId",
        "servicePrincipalName",
        "roles",
        "deviceId",
        "operatingSystem",
        "browser",
        "isCompliant",
        "isManaged",
        "trustType",
        "errorCode",
        "failureReason",
        "additionalDetails",
        "city",
        "state",
        "countryOrRegion",
        "geoCoordinates",
        "latitude",
        "longitude",
    ]
}


def _graph_spelling(rest: str) -> str:
    out = []
    for seg in rest.split("."):
        known = _GRAPH_MEMBERS.get(seg.casefold())
        out.append(known if known is not None else seg[:1].lower() + seg[1:])
    return ".".join(out)


@dataclass(frozen=True)
class FieldTable:
    """How one Sigma log source's field names map to the raw paths of trailhound's exports."""

    product: str
    service: str
    fields: Mapping[str, Sequence[str]]
    prefixes: tuple[PrefixRule, ...] = ()
    logsource: tuple[str, str] | None = None  # rules of this log source are re-homed here
    ident: str = ""
    _index: dict[str, tuple[str, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        index: dict[str, tuple[str, ...]] = {}
        for name, paths in self.fields.items():
            key = name.casefold()
            if key in index and index[key] != tuple(paths):
                raise ValueError(f"{self.product}/{self.service}: {name!r} mapped twice")
            index[key] = tuple(paths)
        object.__setattr__(self, "_index", index)

    def lookup(self, name: str | None) -> list[str] | None:
        """The raw paths of a rule field, or None when the name stays as written."""
        if name is None:
            return None
        exact = self.fields.get(name)
        if exact is not None:
            return list(exact)
        key = name.casefold()
        folded = self._index.get(key)
        if folded is not None:
            return list(folded)
        best: PrefixRule | None = None
        for rule in self.prefixes:
            if key.startswith(rule.prefix.casefold()) and (
                best is None or len(rule.prefix) > len(best.prefix)
            ):
                best = rule
        if best is None:
            return None
        rest = name[len(best.prefix) :]
        if best.graph:
            rest = _graph_spelling(rest)
        return [raw + rest for raw in best.raw]


def _roots(*roots: str) -> tuple[str, ...]:
    return tuple(f"{r}." for r in roots)


_TARGETS = _roots(*_EA_TARGETS)
_INITIATOR = _roots(*_EA_INITIATOR)
_DEVICE = _roots("deviceDetail", "properties.deviceDetail", "DeviceDetail")
_STATUS = _roots("status", "properties.status", "Status")
_LOCATION = _roots("location", "properties.location", "LocationDetails")

# One table per Sigma log source. Each belongs to the Source record (trailhound/logsources.py)
# whose events answer to it; FIELD_TABLES, the list the pipeline applies, is derived from there.

AWS_CLOUDTRAIL = FieldTable(
    "aws", "cloudtrail", AWS_CLOUDTRAIL_FIELDS, ident="th_aws_cloudtrail_fields"
)
AZURE_ACTIVITY = FieldTable(
    "azure", "activitylogs", AZURE_ACTIVITY_FIELDS, ident="th_azure_activity_fields"
)
ENTRA_AUDIT = FieldTable(
    "azure",
    "auditlogs",
    ENTRA_AUDIT_FIELDS,
    prefixes=tuple(
        PrefixRule(p, raw, graph=True)
        for raw in (_TARGETS, _INITIATOR)
        for p in raw[:2]  # Graph and diagnostic roots (Sentinel's differs in case only)
    ),
    ident="th_entra_audit_fields",
)
ENTRA_SIGNIN = FieldTable(
    "azure",
    "signinlogs",
    ENTRA_SIGNIN_FIELDS,
    prefixes=tuple(
        PrefixRule(p, raw, graph=True)
        for raw in (_DEVICE, _STATUS, _LOCATION)
        for p in dict.fromkeys(r.casefold() for r in raw)
    ),
    ident="th_entra_signin_fields",
)
ENTRA_RISK = FieldTable("azure", "riskdetection", ENTRA_RISK_FIELDS, ident="th_entra_risk_fields")
GCP_AUDIT = FieldTable(
    "gcp",
    "gcp.audit",
    GCP_AUDIT_FIELDS,
    prefixes=(
        PrefixRule("gcp.audit.request.", (f"{_P}.request.",)),
        PrefixRule("gcp.audit.response.", (f"{_P}.response.",)),
        PrefixRule("gcp.audit.labels.", ("labels.",)),
        PrefixRule("data.", ("",)),  # a Pub/Sub / CloudEvents `data` wrapper
    ),
    ident="th_gcp_audit_fields",
)
GOOGLE_WORKSPACE_ADMIN = FieldTable(
    "gcp",
    "google_workspace.admin",
    GOOGLE_WORKSPACE_FIELDS,
    logsource=("gcp", "gcp.audit"),
    ident="th_google_workspace_admin_fields",
)
GOOGLE_WORKSPACE_LOGIN = FieldTable(
    "gcp",
    "google_workspace.login",
    GOOGLE_WORKSPACE_FIELDS,
    logsource=("gcp", "gcp.audit"),
    ident="th_google_workspace_login_fields",
)
M365_AUDIT = FieldTable("m365", "audit", M365_AUDIT_FIELDS, ident="th_m365_audit_fields")

# Tables of log sources no registered source produces: their rules load and never apply, but
# a filter or `rules check` still sees their fields mapped.
UNSOURCED_TABLES: tuple[FieldTable, ...] = (ENTRA_RISK,)

# Every table the pipeline applies: the tables of the registered sources (in registry order),
# then UNSOURCED_TABLES. Filled, in place, by trailhound.logsources; never edit it by hand.
FIELD_TABLES: list[FieldTable] = []

# ---------------------------------------------------------------------------------------------
# The transformation


def _is_absence(value: SigmaType) -> bool:
    """`null` and `exists: false` say the field is NOT there: true only if no path has it."""
    return isinstance(value, SigmaNull) or (isinstance(value, SigmaExists) and not value.exists)


@dataclass
class ShapeFieldMapping(FieldMappingTransformation):
    """FieldMappingTransformation driven by a FieldTable (see the module docstring): `mapping`
    holds the table's names as written; other spellings and prefixes go through
    `FieldTable.lookup`; absence / negated items are AND-linked across the alternative paths
    instead of OR-linked; a table with `logsource` re-homes the rules it maps."""

    table: FieldTable | None = None

    @classmethod
    def of(cls, table: FieldTable) -> ShapeFieldMapping:
        return cls(mapping={k: list(v) for k, v in table.fields.items()}, table=table)

    def apply(self, rule: SigmaRule | SigmaCorrelationRule) -> None:
        super().apply(rule)
        if (
            self.table is not None
            and self.table.logsource is not None
            and isinstance(rule, SigmaRule)
        ):
            product, service = self.table.logsource
            rule.logsource = SigmaLogSource(
                product=product, service=service, source=rule.logsource.source
            )

    def apply_field_name(self, field: str | None) -> None | str | list[str]:
        if self.table is None:
            return None
        paths = self.table.lookup(field)
        if paths is None:
            return None
        return paths[0] if len(paths) == 1 else paths

    def apply_detection_item(
        self, detection_item: SigmaDetectionItem
    ) -> SigmaDetection | SigmaDetectionItem | None:
        result = super().apply_detection_item(detection_item)
        if not isinstance(result, SigmaDetection) or detection_item.field is None:
            return result
        values: list[SigmaType] = list(detection_item.value) or [SigmaNull()]
        if not detection_item.negated and not any(_is_absence(v) for v in values):
            return result  # plain values: pySigma's OR over the paths is right
        paths = [d.field for d in result.detection_items if isinstance(d, SigmaDetectionItem)]
        return _linked(detection_item, paths, values)


def _linked(
    item: SigmaDetectionItem, paths: list[str | None], values: list[SigmaType]
) -> SigmaDetection:
    """One group per value: the copies for each path, AND-linked when the value says "absent"
    XOR the item is negated (both mean "no path may have it"), else OR-linked. The groups are
    linked like the item's values, flipped under negation (De Morgan)."""
    groups: list[SigmaDetectionItem | SigmaDetection] = []
    for value in values:
        copies: list[SigmaDetectionItem | SigmaDetection] = [
            dataclasses.replace(item, field=p, value=[value], auto_modifiers=False) for p in paths
        ]
        every = _is_absence(value) != item.negated
        groups.append(SigmaDetection(copies, item_linking=ConditionAND if every else ConditionOR))
    linking = item.value_linking
    if item.negated:
        linking = ConditionAND if linking is ConditionOR else ConditionOR
    if len(groups) == 1:
        only = groups[0]
        assert isinstance(only, SigmaDetection)
        return only
    return SigmaDetection(groups, item_linking=linking)


# ---------------------------------------------------------------------------------------------
# Pipelines

_PLACEHOLDERS: ContextVar[Mapping[str, Sequence[Any]] | None] = ContextVar(
    "trailhound_placeholders", default=None
)


@contextmanager
def placeholder_values(values: Mapping[str, Sequence[Any]] | None) -> Iterator[None]:
    """Within the block, `default_pipeline()` fills `|expand` placeholders from `values`."""
    token = _PLACEHOLDERS.set(dict(values) if values else None)
    try:
        yield
    finally:
        _PLACEHOLDERS.reset(token)


def _placeholder_item(values: Mapping[str, Sequence[Any]]) -> ProcessingItem:
    return ProcessingItem(
        identifier="th_placeholders",
        transformation=ValueListPlaceholderTransformation(include=sorted(values)),
    )


def _mapping_item(table: FieldTable) -> ProcessingItem:
    return ProcessingItem(
        identifier=table.ident,
        transformation=ShapeFieldMapping.of(table),
        rule_conditions=[LogsourceCondition(product=table.product, service=table.service)],
    )


def default_pipeline(placeholders: Mapping[str, Sequence[Any]] | None = None) -> ProcessingPipeline:
    """The pipeline applied to every rule trailhound loads (a new one each call: pySigma
    pipelines keep per-rule state). `placeholders` (name -> values) fills `|expand`
    placeholders; by default the values of the enclosing `placeholder_values` block."""
    values = placeholders if placeholders is not None else _PLACEHOLDERS.get()
    items: list[ProcessingItem] = [_placeholder_item(values)] if values else []
    # Tables that re-home rules to another log source come last, so that the target log
    # source's own mapping never runs on names the first mapping already produced.
    items.extend(
        _mapping_item(t) for t in sorted(FIELD_TABLES, key=lambda t: t.logsource is not None)
    )
    return ProcessingPipeline(
        name="trailhound raw exports",
        priority=20,
        items=items,
        vars=dict(values) if values else {},
    )


def _tables_for(logsource: SigmaLogSource) -> list[FieldTable]:
    """Tables for every log source the filter can apply to (Filter.applies_to semantics: the
    fields the filter sets must be equal)."""
    if logsource.category is not None:
        return []
    product = (logsource.product or "").lower() or None
    service = (logsource.service or "").lower() or None
    return [
        t
        for t in FIELD_TABLES
        if (product is None or t.product == product) and (service is None or t.service == service)
    ]


def _merged(tables: list[FieldTable]) -> FieldTable | None:
    if not tables:
        return None
    if len(tables) == 1:
        return tables[0]
    fields: dict[str, list[str]] = {}
    spelled: dict[str, str] = {}
    for t in tables:
        for name, paths in t.fields.items():
            key = spelled.setdefault(name.casefold(), name)
            merged = fields.setdefault(key, [])
            merged.extend(p for p in paths if p not in merged)
    prefixes = tuple(p for t in tables for p in t.prefixes)
    return FieldTable(tables[0].product, "*", fields, prefixes=prefixes, ident="th_filter_fields")


def map_filter(
    sigma_filter: SigmaFilter, placeholders: Mapping[str, Sequence[Any]] | None = None
) -> SigmaFilter:
    """Give a pySigma SigmaFilter the field mapping (and placeholder values) rules get, IN PLACE,
    and return it. Call it once per filter, before reading `sigma_filter.logsource` (Workspace
    filters are re-homed to gcp/gcp.audit like Workspace rules). Calling it again on the same
    object does nothing.

    The engines compile `sigma_filter.filter.detections` as they are, so this is where a filter
    written with `OperationNameValue` or `gcp.audit.method_name` gets the raw paths. A filter
    whose log source leaves the service open (`product: azure`) gets the union of the tables of
    every service it can apply to; a record has one shape, so the extra alternatives are absent.
    """
    if getattr(sigma_filter, "_trailhound_mapped", False):
        return sigma_filter
    values = placeholders if placeholders is not None else _PLACEHOLDERS.get()
    detections = list(sigma_filter.filter.detections.values())
    if values:
        pipeline = ProcessingPipeline(items=[_placeholder_item(values)], vars=dict(values))
        for item in pipeline.items:
            for d in detections:
                item.transformation.apply_detection(d)  # type: ignore[attr-defined]
    tables = _tables_for(sigma_filter.logsource)
    table = _merged(tables)
    if table is not None:
        transformation = ShapeFieldMapping.of(table)
        for d in detections:
            transformation.apply_detection(d)
    homes = {t.logsource for t in tables}
    home = homes.pop() if len(homes) == 1 else None
    if home is not None:
        product, service = home
        sigma_filter.logsource = SigmaLogSource(
            product=product, service=service, source=sigma_filter.logsource.source
        )
    object.__setattr__(sigma_filter, "_trailhound_mapped", True)
    return sigma_filter


from trailhound import logsources as _logsources  # noqa: F401 - fills FIELD_TABLES
