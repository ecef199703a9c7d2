"""Record classification: one decoded record (a dict) -> registry source name, or why not.

Decided by keys and values only, never by file name. Key spelling varies by exporter (Athena,
CloudTrail Lake and Panther lower-case everything; Sentinel uses PascalCase), so lookups that
log-formats.md says vary go through `Keys.get`, which ignores letter case.

Adding a record format: write `def _myformat(rec, keys) -> Verdict | None` and name it as the
`classifier` of its Source record (trailhound/logsources.py); CLASSIFIERS is derived from there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from trailhound.model import Severity
from trailhound.sources._util import OrderedRegistry, key_list, snippet


@dataclass(frozen=True, slots=True)
class Verdict:
    """A supported record (`source` set) or an Issue to emit instead (`kind`, `message`)."""

    source: str | None = None
    kind: str | None = None
    message: str = ""
    severity: Severity = "skip"


class Keys:
    """Case-insensitive key lookup on one record; the lower-case index is built on first need."""

    __slots__ = ("_lower", "rec")

    def __init__(self, rec: dict[str, Any]) -> None:
        self.rec = rec
        self._lower: dict[str, str] | None = None

    def get(self, name: str) -> Any:
        rec = self.rec
        if name in rec:
            return rec[name]
        lower = self._lower
        if lower is None:
            lower = {}
            for key in rec:
                if isinstance(key, str):
                    lower.setdefault(key.lower(), key)
            self._lower = lower
        found = lower.get(name.lower())
        return None if found is None else rec[found]

    def has(self, name: str) -> bool:
        return self.get(name) is not None


Classifier = Callable[[dict[str, Any], Keys], "Verdict | None"]
CLASSIFIERS: OrderedRegistry[Classifier] = OrderedRegistry("record classifier")

CLOUDTRAIL = Verdict(source="cloudtrail")
AZURE_ACTIVITY = Verdict(source="azure_activity")
ENTRA_AUDIT = Verdict(source="entra_audit")
ENTRA_SIGNIN = Verdict(source="entra_signin")
GCP_AUDIT = Verdict(source="gcp_audit")
M365_AUDIT = Verdict(source="m365_audit")


def unsupported(what: str) -> Verdict:
    return Verdict(
        kind="unsupported_source",
        message=f"{what} record: recognised, but this source is not supported yet; skipped",
    )


def _lower_value(value: Any) -> str | None:
    """A string value, or the `value` member of an Azure {value, localizedValue} object."""
    if isinstance(value, dict):
        value = value.get("value", value.get("Value"))
    return value.lower() if isinstance(value, str) else None


# --- AWS ---------------------------------------------------------------------------------


def _cloudtrail(rec: dict[str, Any], keys: Keys) -> Verdict | None:
    es = rec.get("eventSource")
    if es is None:
        es = rec.get("eventsource")  # Athena / CloudTrail Lake / Panther exports
    en = rec.get("eventName")
    if en is None:
        en = rec.get("eventname")
    if isinstance(es, str) and isinstance(en, str):
        if not es.startswith("aws:"):
            return CLOUDTRAIL
        version = rec.get("eventVersion")
        if es == "aws:s3":
            return Verdict(
                kind="s3_notification",
                message=(
                    f"S3 event notification (eventSource 'aws:s3', eventVersion "
                    f"{snippet(version, 20)}) announces an object, it is not an audit record; "
                    "skipped"
                ),
            )
        return _aws_notification(es)
    if (
        isinstance(es, str)
        and en is None
        and es.endswith(".amazonaws.com")
        and keys.has("eventVersion")
        and (keys.has("eventID") or keys.has("userIdentity"))
    ):
        return CLOUDTRAIL  # a record that lost its eventName: the normalizer reports it
    other = rec.get("EventSource")  # SNS / SQS deliveries to Lambda
    if isinstance(other, str) and other.startswith("aws:"):
        return _aws_notification(other)
    if rec.get("Event") == "s3:TestEvent":
        return Verdict(
            kind="s3_notification",
            message="S3 test event (sent when notifications are set up); skipped",
        )
    if rec.get("eventType") == "AwsCloudTrailInsight" or (
        rec.get("eventCategory") == "Insight" and isinstance(rec.get("insightDetails"), dict)
    ):
        # CloudTrail-Insight/ files sit beside CloudTrail/ under AWSLogs/<account>/ in the same
        # {"Records": [...]} shape; walking the trail's bucket meets them (log-formats.md 1.4).
        return Verdict(
            kind="not_audit_log",
            message="CloudTrail Insights event (a rate anomaly CloudTrail computed over API "
            "calls, not an API call); skipped",
        )
    return None


def _aws_notification(source: str) -> Verdict:
    return Verdict(
        kind="not_audit_log",
        message=f"AWS event-notification record from {snippet(source, 30)}, not an audit record; "
        "skipped",
    )


# --- GCP ---------------------------------------------------------------------------------


_AUDITLOG_MEMBERS = ("methodName", "serviceName", "authenticationInfo", "authorizationInfo")


def _gcp(rec: dict[str, Any], keys: Keys) -> Verdict | None:
    payload = keys.get("protoPayload")
    log_name = keys.get("logName")
    is_entry = payload is not None or log_name is not None
    if not is_entry and keys.get("jsonPayload") is None and keys.get("textPayload") is None:
        return None
    at_type = None
    if isinstance(payload, dict):
        pk = Keys(payload)
        at_type = pk.get("@type") or pk.get("at_sign_type")  # Panther renames '@type'
        if isinstance(at_type, str) and at_type.endswith("google.cloud.audit.AuditLog"):
            return GCP_AUDIT
        # Trimmed entries (test fixtures) without @type or logName: AuditLog members decide.
        if at_type is None and log_name is None and any(pk.has(k) for k in _AUDITLOG_MEMBERS):
            return GCP_AUDIT
    if isinstance(log_name, str) and "cloudaudit.googleapis.com" in log_name:
        return GCP_AUDIT
    where = f"log {snippet(log_name, 60)}" if log_name is not None else "a log without logName"
    return Verdict(
        kind="not_audit_log",
        message=f"Cloud Logging entry from {where} is not a Cloud Audit Log entry "
        "(no AuditLog protoPayload); skipped",
    )


# --- Microsoft: Entra ID and Azure Activity -----------------------------------------------

# Sentinel / Log Analytics table names (the `Type` column).
_SENTINEL_TABLES: dict[str, Verdict] = {
    "azureactivity": AZURE_ACTIVITY,
    "auditlogs": ENTRA_AUDIT,
    "signinlogs": ENTRA_SIGNIN,
    "aadnoninteractiveusersigninlogs": ENTRA_SIGNIN,
    "aadserviceprincipalsigninlogs": ENTRA_SIGNIN,
    "aadmanagedidentitysigninlogs": ENTRA_SIGNIN,
    "adfssigninlogs": ENTRA_SIGNIN,  # AD FS sign-ins via Connect Health: the signIn schema
    "officeactivity": M365_AUDIT,
    "awscloudtrail": unsupported("CloudTrail as a Sentinel AWSCloudTrail table row"),
    "gcpauditlogs": unsupported("GCP audit log as a Sentinel GCPAuditLogs table row"),
}
_SIGNIN_CATEGORIES = frozenset(
    {
        "signinlogs",
        "noninteractiveusersigninlogs",
        "serviceprincipalsigninlogs",
        "managedidentitysigninlogs",
        "adfssigninlogs",  # AD FS sign-ins reported through Entra Connect Health
    }
)
# Other Entra ID diagnostic categories: Entra data, but neither audit nor sign-in records.
_ENTRA_OTHER_CATEGORIES = frozenset(
    {
        "provisioninglogs",
        "riskyusers",
        "userriskevents",
        "riskyserviceprincipals",
        "serviceprincipalriskevents",
        "networkaccesstrafficlogs",
        "microsoftgraphactivitylogs",
        "enrichedoffice365auditlogs",
        "b2crequestlogs",
    }
)
_REST_ACTIVITY_MARKERS = ("eventTimestamp", "submissionTimestamp", "eventDataId", "resourceId")
_SIGNIN_MARKERS = ("appDisplayName", "clientAppUsed", "conditionalAccessStatus", "isInteractive")


def _microsoft(rec: dict[str, Any], keys: Keys) -> Verdict | None:
    table = rec.get("Type")
    if isinstance(table, str):
        verdict = _SENTINEL_TABLES.get(table.lower())
        if verdict is not None:
            return verdict
    category = _lower_value(keys.get("category"))
    if category is not None:
        if category in _SIGNIN_CATEGORIES:
            return ENTRA_SIGNIN
        if category == "auditlogs":
            return ENTRA_AUDIT
        if category in _ENTRA_OTHER_CATEGORIES:
            return unsupported(f"Entra ID {snippet(category, 40)}")
    # Sentinel AuditLogs export without the Type column; Graph directoryAudit objects.
    if "ActivityDisplayName" in rec or all(
        k in rec for k in ("OperationName", "LoggedByService", "InitiatedBy")
    ):
        return ENTRA_AUDIT
    if keys.has("activityDisplayName") and keys.has("activityDateTime"):
        return ENTRA_AUDIT
    if _is_signin(keys):  # Graph signIn object
        return ENTRA_SIGNIN
    operation = keys.get("operationName")
    resource_id = keys.get("resourceId")
    # Entra diagnostic record filed under a Graph category (Policy, ApplicationManagement...).
    if (
        isinstance(operation, str)
        and isinstance(resource_id, str)
        and "/providers/microsoft.aadiam" in resource_id.lower()
    ):
        props = keys.get("properties")
        if isinstance(props, dict) and _is_signin(Keys(props)):
            return ENTRA_SIGNIN
        return ENTRA_AUDIT
    # Azure Activity Log: Sentinel columns, SDK snake_case, REST/az CLI, diagnostic export.
    if "OperationNameValue" in rec:
        return AZURE_ACTIVITY
    if "operation_name" in rec and "event_timestamp" in rec:
        return AZURE_ACTIVITY
    if (
        isinstance(operation, dict)
        and _lower_value(operation) is not None
        and any(keys.has(k) for k in _REST_ACTIVITY_MARKERS)
    ):
        return AZURE_ACTIVITY
    if isinstance(operation, str) and (resource_id is not None or category is not None):
        return AZURE_ACTIVITY
    return None


def _is_signin(keys: Keys) -> bool:
    return keys.has("createdDateTime") and any(keys.has(k) for k in _SIGNIN_MARKERS)


# --- Microsoft 365 -----------------------------------------------------------------------


def _m365(rec: dict[str, Any], keys: Keys) -> Verdict | None:
    """Unified Audit Log records: the Management Activity API shape (Panther lower-cases the
    keys of its Exchange records), and Sentinel OfficeActivity rows without the Type column."""
    if (
        keys.has("CreationTime")
        and keys.has("Operation")
        and (keys.has("Workload") or keys.has("RecordType"))
    ):
        return M365_AUDIT
    # Without its CreationTime (the normalizer reports it missing), Operation, Workload and
    # RecordType together still say UAL: no other format has all three.
    if keys.has("Operation") and keys.has("Workload") and keys.has("RecordType"):
        return M365_AUDIT
    if "OfficeWorkload" in rec and "Operation" in rec:
        return M365_AUDIT
    return None


# The classifiers, their order, the declared types and UNDERSTOOD are derived from the Source
# registry (trailhound/logsources.py), which fills them when it is imported (end of module).

# A declared log type (Panther test `log_type`, or a Panther-enriched record's `p_log_type`)
# decides only when the content alone does not (Panther tests include trimmed fragments).
DECLARED_TYPES: dict[str, Verdict] = {}
DECLARED_PREFIXES: dict[str, Verdict] = {}  # Microsoft365.Audit.Exchange, ...

UNDERSTOOD = ""  # "CloudTrail records (...), ..., and their envelopes: ..."


def classify(rec: dict[str, Any], declared: Any = None) -> Verdict:
    """Source of one record; `declared` is a log type named by an enclosing envelope."""
    keys = Keys(rec)
    for classifier in CLASSIFIERS.ordered():
        verdict = classifier(rec, keys)
        if verdict is not None:
            return verdict
    if not isinstance(declared, str):
        declared = rec.get("p_log_type")
    if isinstance(declared, str):
        verdict = DECLARED_TYPES.get(declared)
        if verdict is not None:
            return verdict
        for prefix, verdict in DECLARED_PREFIXES.items():
            if declared.startswith(prefix):
                return verdict
    return Verdict(
        kind="unknown_envelope",
        severity="error",
        message=(
            f"unrecognised record: top-level keys {key_list(rec)}; "
            f"trailhound understands {UNDERSTOOD}"
        ),
    )


from trailhound import logsources as _logsources  # noqa: F401 - fills the tables above
