"""The built-in log sources: one Source record each (see trailhound/logsources.py).

Each sample is a small, invented record in the shape log-formats.md documents, carrying the
fields the shipped rules of its log source test (tests/test_logsources.py checks it).
"""

from __future__ import annotations

from trailhound.logsources import Source
from trailhound.normalize import (
    azure_activity,
    cloudtrail,
    entra_audit,
    entra_signin,
    gcp_audit,
    m365_audit,
)
from trailhound.rules import pipelines as tables
from trailhound.sources.classify import _cloudtrail, _gcp, _m365, _microsoft

_TENANT = "0b5e7c21-8d4a-4f6e-9c3b-7a1d2e6f4b90"
_SUB = "9d2c4e6a-1f3b-4a5c-8e7d-6b0a2c4e8f13"

CLOUDTRAIL = Source(
    name="cloudtrail",
    title="AWS CloudTrail",
    logsource=("aws", "cloudtrail"),
    classifier=_cloudtrail,
    order=10,
    normalizer=cloudtrail.normalize,
    field_tables=(tables.AWS_CLOUDTRAIL,),
    shape="CloudTrail records (eventSource + eventName)",
    declared_types=("AWS.CloudTrail",),
    sample={
        "eventVersion": "1.08",
        "userIdentity": {
            "type": "IAMUser",
            "principalId": "AIDAZ3EXAMPLE7Q2KD4VN",
            "arn": "arn:aws:iam::210987654321:user/build-bot",
            "accountId": "210987654321",
            "accessKeyId": "AKIAZ3EXAMPLEW5T7PLQ",
            "userName": "build-bot",
        },
        "eventTime": "2026-02-03T04:05:06Z",
        "eventSource": "guardduty.amazonaws.com",
        "eventName": "UpdateDetector",
        "awsRegion": "eu-west-1",
        "sourceIPAddress": "203.0.113.40",
        "userAgent": "aws-cli/2.15.30 Python/3.11.8 Linux/6.5.0 exe/x86_64",
        "errorCode": "AccessDenied",
        "errorMessage": "User: arn:aws:iam::210987654321:user/build-bot is not authorized to "
        "perform: guardduty:UpdateDetector",
        "requestParameters": {"detectorId": "5ac2b6e1d0f94f7a8c3e1b2d4f6a8c0e", "enable": False},
        "responseElements": None,
        "requestID": "0f3c9e2a-5b7d-4e1f-8a6c-2d4b6f8a0c1e",
        "eventID": "7e1a3c5b-9d2f-4b6e-8c0a-1e3f5a7c9b2d",
        "readOnly": False,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": "210987654321",
        "eventCategory": "Management",
    },
)

AZURE_ACTIVITY = Source(
    name="azure_activity",
    title="Azure Activity",
    logsource=("azure", "activitylogs"),
    classifier=_microsoft,
    order=30,
    normalizer=azure_activity.normalize,
    field_tables=(tables.AZURE_ACTIVITY,),
    shape="Azure Activity records (operationName + resourceId/category, or the REST, SDK and "
    "Sentinel shapes)",
    declared_types=("Azure.MonitorActivity",),
    sample={  # diagnostic-settings export (log-formats §2.1, shape 1)
        "time": "2026-02-03T05:06:07.1234567Z",
        "resourceId": f"/SUBSCRIPTIONS/{_SUB.upper()}/RESOURCEGROUPS/RG-APPS/PROVIDERS/"
        "MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/4F1C2B3A-5D6E-4F70-8192-A3B4C5D6E7F8",
        "operationName": "MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/WRITE",
        "category": "Administrative",
        "resultType": "Success",
        "resultSignature": "Succeeded.Created",
        "durationMs": "812",
        "callerIpAddress": "198.51.100.61",
        "correlationId": "3b5d7f91-2c4e-4a6b-8d0f-1e3a5c7e9b2d",
        "identity": {
            "claims": {
                "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn": "dana@fabrikam.example",
                "http://schemas.microsoft.com/identity/claims/objectidentifier": (
                    "6c8e0a2b-4d6f-4812-9a3c-5e7b9d1f3a5c"
                ),
                "ipaddr": "198.51.100.61",
            }
        },
        "level": "Information",
        "location": "global",
        "properties": {"statusCode": "Created", "eventCategory": "Administrative"},
    },
)

ENTRA_AUDIT = Source(
    name="entra_audit",
    title="Entra ID audit",
    logsource=("azure", "auditlogs"),
    classifier=_microsoft,
    order=30,
    normalizer=entra_audit.normalize,
    field_tables=(tables.ENTRA_AUDIT,),
    shape="Entra ID audit records",
    declared_types=("Azure.Audit",),
    sample={  # Graph directoryAudit (log-formats §3.2)
        "id": "Directory_9F3A1C5E_2B7D_4E60_8A1C_3E5F7A9B1D2C",
        "category": "RoleManagement",
        "correlationId": "a1c3e5f7-9b2d-4f60-8e1a-3c5e7a9b1d2f",
        "result": "success",
        "resultReason": "",
        "activityDisplayName": "Add member to role",
        "activityDateTime": "2026-02-03T06:07:08.9876543Z",
        "loggedByService": "Core Directory",
        "operationType": "Assign",
        "initiatedBy": {
            "user": {
                "id": "6c8e0a2b-4d6f-4812-9a3c-5e7b9d1f3a5c",
                "userPrincipalName": "dana@fabrikam.example",
                "ipAddress": "198.51.100.61",
            },
            "app": None,
        },
        "targetResources": [
            {
                "id": "2e4a6c8e-0b1d-4f3a-9c5e-7a9b1d3f5e70",
                "type": "User",
                "userPrincipalName": "temp.helper@fabrikam.example",
                "modifiedProperties": [
                    {
                        "displayName": "Role.DisplayName",
                        "oldValue": None,
                        "newValue": '"Global Administrator"',
                    }
                ],
            }
        ],
        "additionalDetails": [],
    },
)

ENTRA_SIGNIN = Source(
    name="entra_signin",
    title="Entra ID sign-in",
    logsource=("azure", "signinlogs"),
    classifier=_microsoft,
    order=30,
    normalizer=entra_signin.normalize,
    field_tables=(tables.ENTRA_SIGNIN,),
    shape="Entra ID sign-in records",
    sample={  # Graph signIn
        "id": "5d7f9b1c-3e5a-4c70-9e2b-4d6f8a0c2e4a",
        "createdDateTime": "2026-02-03T07:08:09Z",
        "userPrincipalName": "dana@fabrikam.example",
        "userId": "6c8e0a2b-4d6f-4812-9a3c-5e7b9d1f3a5c",
        "appId": "c44b4083-3bb0-49c1-b47d-974e53cbdf3c",
        "appDisplayName": "Azure Portal",
        "ipAddress": "198.51.100.61",
        "clientAppUsed": "Browser",
        "conditionalAccessStatus": "success",
        "isInteractive": True,
        "resourceDisplayName": "Windows Azure Service Management API",
        "status": {"errorCode": 50126, "failureReason": "Invalid username or password."},
        "location": {"city": "Utrecht", "countryOrRegion": "NL"},
    },
)

GCP_AUDIT = Source(
    name="gcp_audit",
    title="GCP audit",
    logsource=("gcp", "gcp.audit"),
    classifier=_gcp,
    order=20,
    normalizer=gcp_audit.normalize,
    # Workspace audit logs shared with Google Cloud arrive as Cloud Audit Log entries: their
    # rules are re-homed to gcp/gcp.audit (see rules/pipelines.py).
    field_tables=(tables.GCP_AUDIT, tables.GOOGLE_WORKSPACE_ADMIN, tables.GOOGLE_WORKSPACE_LOGIN),
    shape="GCP Cloud Audit LogEntries",
    declared_types=("GCP.AuditLog",),
    sample={  # LogEntry from a Cloud Storage sink (log-formats §4)
        "protoPayload": {
            "@type": "type.googleapis.com/google.cloud.audit.AuditLog",
            "status": {"code": 7, "message": "Permission 'iam.serviceAccountKeys.create' denied"},
            "authenticationInfo": {
                "principalEmail": "deployer@tailspin-prod-7731.iam.gserviceaccount.com"
            },
            "requestMetadata": {
                "callerIp": "192.0.2.88",
                "callerSuppliedUserAgent": "google-cloud-sdk gcloud/465.0.0,gzip(gfe)",
            },
            "serviceName": "iam.googleapis.com",
            "methodName": "google.iam.admin.v1.CreateServiceAccountKey",
            "resourceName": "projects/-/serviceAccounts/104729384756102938475",
        },
        "insertId": "1x9q2kfe3b7c",
        "resource": {
            "type": "service_account",
            "labels": {"project_id": "tailspin-prod-7731", "unique_id": "104729384756102938475"},
        },
        "timestamp": "2026-02-03T08:09:10.123456Z",
        "severity": "ERROR",
        "logName": "projects/tailspin-prod-7731/logs/cloudaudit.googleapis.com%2Factivity",
        "receiveTimestamp": "2026-02-03T08:09:10.987654321Z",
    },
)

M365_AUDIT = Source(
    name="m365_audit",
    title="Microsoft 365 audit",
    logsource=("m365", "audit"),
    classifier=_m365,
    order=40,
    normalizer=m365_audit.normalize,
    field_tables=(tables.M365_AUDIT,),
    shape="Microsoft 365 Unified Audit Log records (Management Activity API, Sentinel "
    "OfficeActivity)",
    declared_prefixes=("Microsoft365.",),  # Microsoft365.Audit.Exchange, ...
    sample={  # Management Activity API, Exchange admin record
        "CreationTime": "2026-02-03T09:10:11",
        "Id": "8b0d2f4a-6c8e-4a1b-9d3f-5a7c9e1b3d5f",
        "Operation": "Add-MailboxPermission",
        "OrganizationId": _TENANT,
        "RecordType": 1,
        "ResultStatus": "True",
        "UserKey": "10032001A2B3C4D5",
        "UserType": 2,
        "Version": 1,
        "Workload": "Exchange",
        "ClientIP": "198.51.100.61:50312",
        "ObjectId": "cfo@fabrikam.example",
        "UserId": "dana@fabrikam.example",
        "Parameters": [
            {"Name": "Identity", "Value": "cfo@fabrikam.example"},
            {"Name": "User", "Value": "temp.helper@fabrikam.example"},
            {"Name": "AccessRights", "Value": "FullAccess"},
        ],
    },
)

# Registration order is the order of every derived list (LOGSOURCES, FIELD_TABLES, UNDERSTOOD).
BUILTIN: tuple[Source, ...] = (
    CLOUDTRAIL,
    AZURE_ACTIVITY,
    ENTRA_AUDIT,
    ENTRA_SIGNIN,
    GCP_AUDIT,
    M365_AUDIT,
)
