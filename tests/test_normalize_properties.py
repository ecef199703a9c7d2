"""Property tests: normalize never raises, never modifies the record, and only reports the
documented issue kinds, for arbitrary JSON-like dicts and for real records with values
replaced by wrong types. Also the registry contract."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import requires_external
from trailhound.errors import UsageError
from trailhound.model import LOGSOURCES, Event, Location, RawRecord
from trailhound.normalize import NORMALIZERS, normalize

SOURCES = sorted(LOGSOURCES)
PROVIDER = {
    "cloudtrail": "aws",
    "azure_activity": "azure",
    "entra_audit": "azure",
    "entra_signin": "azure",
    "gcp_audit": "gcp",
    "m365_audit": "m365",
}
STRING_FIELDS = [
    "time",
    "operation",
    "service",
    "principal",
    "principal_type",
    "src_ip",
    "region",
    "account",
    "error_code",
    "error_message",
    "user_agent",
    "event_id",
]

# Key names the normalizers look for, so random records reach the deep paths too.
KEYS = sorted(
    {
        "eventTime",
        "eventName",
        "eventSource",
        "userIdentity",
        "arn",
        "principalId",
        "userName",
        "accountId",
        "invokedBy",
        "type",
        "sourceIPAddress",
        "awsRegion",
        "recipientAccountId",
        "errorCode",
        "errorMessage",
        "responseElements",
        "ConsoleLogin",
        "userAgent",
        "eventID",
        "@timestamp",
        "time",
        "eventTimestamp",
        "event_timestamp",
        "TimeGenerated",
        "operationName",
        "operation_name",
        "OperationNameValue",
        "value",
        "resourceProviderName",
        "resource_provider_name",
        "ResourceProviderValue",
        "caller",
        "Caller",
        "claims",
        "Claims",
        "identity",
        "authorization",
        "evidence",
        "principalType",
        "callerIpAddress",
        "httpRequest",
        "clientIpAddress",
        "http_request",
        "client_ip_address",
        "subscriptionId",
        "resourceId",
        "resource_id",
        "resultType",
        "status",
        "ActivityStatusValue",
        "resultSignature",
        "subStatus",
        "statusCode",
        "statusText",
        "resultDescription",
        "properties",
        "statusMessage",
        "eventDataId",
        "correlationId",
        "idtyp",
        "appid",
        "name",
        "activityDateTime",
        "activityDisplayName",
        "ActivityDisplayName",
        "loggedByService",
        "initiatedBy",
        "InitiatedBy",
        "user",
        "app",
        "userPrincipalName",
        "ipAddress",
        "displayName",
        "servicePrincipalName",
        "appId",
        "result",
        "resultReason",
        "additionalDetails",
        "AdditionalDetails",
        "key",
        "id",
        "Id",
        "tenantId",
        "AADTenantId",
        "createdDateTime",
        "failureReason",
        "resourceDisplayName",
        "timestamp",
        "protoPayload",
        "methodName",
        "serviceName",
        "authenticationInfo",
        "principalEmail",
        "principalSubject",
        "requestMetadata",
        "callerIp",
        "callerSuppliedUserAgent",
        "resource",
        "labels",
        "location",
        "zone",
        "region",
        "project_id",
        "resourceLocation",
        "currentLocations",
        "logName",
        "insertId",
        "code",
        "message",
        "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn",
        "http://schemas.microsoft.com/identity/claims/objectidentifier",
    }
)

TEXTS = st.sampled_from(
    [
        "",
        "...",
        "2024-01-02T03:04:05.1234567Z",
        "2024-13-45T99:99:99Z",
        "2020-01-11 00:42:12+0000",
        "Failure",
        "Success",
        "Started",
        "User-Agent",
        '{"user": {"userPrincipalName": "a@b"}}',
        '[{"key": "User-Agent", "value": "ua"}]',
        '{"errorCode": 0}',
        "[[[[[[[[[[",
        "{" * 3000,
        "projects/p/logs/x",
        "/subscriptions/s1/resourceGroups/r",
        "x@y.iam.gserviceaccount.com",
        "7",
        "PERMISSION_DENIED",
    ]
)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=12)
    | TEXTS
)
KEY = st.sampled_from(KEYS) | st.text(max_size=6)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEY, inner, max_size=5),
    max_leaves=25,
)
RECORDS = st.dictionaries(KEY, JSON, max_size=8)


def check(source: str, data: Any) -> tuple[Event, list]:
    """Run normalize and assert the invariants every output must keep."""
    snapshot = copy.deepcopy(data)
    location = Location("prop.json", line=1)
    meta = {"m": 1}
    ev, issues = normalize(RawRecord(data, location, source, "jsonl", meta=meta))
    assert ev.raw is data and data == snapshot
    assert ev.location is location and ev.meta is meta and ev.source == source
    assert ev.provider == PROVIDER[source]
    for name in STRING_FIELDS:
        value = getattr(ev, name)
        assert value is None or (isinstance(value, str) and value != ""), (name, value)
    assert ev.status in (None, "success", "failure", "other")
    assert (ev.time is None) == (ev.time_ns is None)
    if ev.time_ns is not None:
        assert type(ev.time_ns) is int and ev.time.endswith("Z")
    for issue in issues:
        # never normalize_failed
        assert issue.kind in ("wrong_type", "bad_time", "missing_field", "nonstandard_time"), issue
        assert issue.severity == "error" and issue.location is location
        assert str(location) not in issue.message
    return ev, issues


@pytest.mark.parametrize("source", SOURCES)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=RECORDS)
def test_never_raises_on_arbitrary_dicts(source: str, data: dict) -> None:
    check(source, data)


@pytest.mark.parametrize("source", SOURCES)
@settings(max_examples=60, deadline=None)
@given(data=st.dictionaries(st.text(max_size=4), JSON, max_size=6))
def test_never_raises_on_unbiased_dicts(source: str, data: dict) -> None:
    check(source, data)


# -- real records with one value replaced by a wrong type ---------------------------------------


def _real_records() -> list[tuple[str, dict]]:
    root = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "external"
    if not root.is_dir():
        return []
    out: list[tuple[str, dict]] = []
    ct = json.loads(
        (
            root
            / "stratus-red-team/detonation-logs/aws.credential-access.ec2-get-password-data.json"
        ).read_text()
    )
    out += [("cloudtrail", ct[0]), ("cloudtrail", ct[30])]
    az = (root / "plaso/jsonl/azure_activity_log.jsonl").read_text().splitlines()
    out += [("azure_activity", json.loads(az[0])), ("azure_activity", json.loads(az[1]))]
    aad = (
        root / "otrf-security-datasets/compound/GoldenSAMLADFSMailAccess/AADAuditEvents.json"
    ).read_text()
    out.append(("entra_audit", json.loads(aad.splitlines()[0])))
    for line in (root / "panther-analysis/rule_test_cases.jsonl").read_text().splitlines():
        row = json.loads(line)
        if (
            row["rule_id"] == "Azure.Audit.ExcessiveAccountLockouts"
            and row["test_name"] == "Account Lockout Error 50053"
        ):
            out.append(("entra_signin", row["log"]))
        if (
            row["rule_id"] == "Azure.Audit.DomainSettingsModified"
            and row["test_name"] == "Set Federation Settings"
        ):
            out.append(("entra_audit", row["log"]))
    gcp = json.loads(
        (root / "google-cloudevents/audit/v1/LogEntryData-pubsubCreateTopic.json").read_text()
    )
    out.append(("gcp_audit", gcp))
    out.append(
        (
            "gcp_audit",
            json.loads((root / "plaso/jsonl/gcp_logging.jsonl").read_text().splitlines()[-1]),
        )
    )
    return out


REAL = _real_records()


def _paths(node: Any, prefix: tuple = ()) -> Iterator[tuple]:
    """Every path (tuple of keys / indexes) inside a JSON value, containers included."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield prefix + (k,)
            yield from _paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node[:3]):
            yield prefix + (i,)
            yield from _paths(v, prefix + (i,))


def _replace(doc: Any, path: tuple, value: Any) -> Any:
    doc = copy.deepcopy(doc)
    node = doc
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    return doc


WRONG = st.sampled_from(
    [12345, 1.5, True, [], ["x"], {}, {"a": 1}, "not json", "{broken", None, "..."]
)


@requires_external
@settings(max_examples=400, deadline=None)
@given(pick=st.integers(min_value=0), which=st.integers(min_value=0), value=WRONG)
def test_never_raises_on_mutated_real_records(pick: int, which: int, value: Any) -> None:
    source, original = REAL[pick % len(REAL)]
    paths = list(_paths(original))
    path = paths[which % len(paths)]
    check(source, _replace(original, path, value))


@requires_external
@pytest.mark.parametrize(
    ("source", "original"), REAL, ids=[f"{s}-{i}" for i, (s, _) in enumerate(REAL)]
)
def test_mutating_a_top_level_value_to_a_container_reports_it(source: str, original: dict) -> None:
    """Top-level string fields the normalizer reads: replaced by a list, they are reported."""
    _, issues0 = check(source, copy.deepcopy(original))
    assert issues0 == []
    read = {  # a top-level string field each source reads directly
        "cloudtrail": "eventName",
        "azure_activity": "caller",
        "entra_audit": "tenantId" if "tenantId" in original else "AADTenantId",
        "entra_signin": "tenantId",
        "gcp_audit": "insertId",
    }[source]
    if read not in original:
        pytest.skip(f"this record has no top-level {read!r}")
    _, issues = check(source, _replace(original, (read,), ["x"]))
    assert [i.kind for i in issues] == ["wrong_type"]
    assert f"'{read}'" in issues[0].message and "found array" in issues[0].message


# -- odd inputs and the registry -----------------------------------------------------------------


@pytest.mark.parametrize("source", SOURCES)
def test_odd_python_inputs(source: str) -> None:
    weird = {
        1: "int key",
        (1, 2): "tuple key",
        "eventTime": "2024-01-01T00:00:00Z",
        "time": 10**5000,  # too many digits for str()
        "operationName": {"value": 10**5000},
        "claims": b"bytes",
        "protoPayload": {"status": {"code": 10**5000}},
        "properties": set(),
        "InitiatedBy": "[" * 100_000,
    }
    ev, issues = normalize(RawRecord(weird, Location("w"), source, "jsonl"))
    assert ev.raw is weird
    assert all(i.kind in ("wrong_type", "bad_time", "missing_field") for i in issues), issues


@pytest.mark.parametrize("source", SOURCES)
def test_record_that_is_not_a_dict(source: str) -> None:
    data: Any = ["not", "a", "dict"]
    ev, issues = normalize(RawRecord(data, Location("w"), source, "jsonl"))
    assert ev.raw is data
    assert issues and all(i.kind == "wrong_type" for i in issues)
    assert "(record)" in issues[0].message


def test_registry_has_one_normalizer_per_logsource() -> None:
    assert NORMALIZERS.names() == sorted(LOGSOURCES)


def test_unknown_source_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="cloudtrail"):
        normalize(RawRecord({}, Location("x"), "cloudtrial", "jsonl"))


@pytest.mark.parametrize("source", SOURCES)
def test_empty_record(source: str) -> None:
    ev, issues = check(source, {})
    # the time is required everywhere, the event name wherever the format has one (a sign-in
    # is always "Sign-in activity"; a GCP entry without protoPayload names no method)
    assert [i.kind for i in issues] == ["missing_field"] * (
        1 if source in ("entra_signin", "gcp_audit") else 2
    )
    assert ev.time is None and ev.principal is None and ev.event_id is None
    # a sign-in is a sign-in even when nothing else is known
    assert ev.operation == ("Sign-in activity" if source == "entra_signin" else None)
