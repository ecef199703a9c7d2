"""Microsoft 365 Unified Audit Log normalizer (normalize/m365_audit.py).

Real samples: plaso's Management Activity API lines, OTRF's Sentinel OfficeActivity row and
Panther's 19 Microsoft365.Audit.* test records; expected values written by hand from the files.
Then synthetic variants (status, UserType, addresses, user agent), wrong types, and property
tests (never raises, never modifies the record).
"""

from __future__ import annotations

import copy
import json
from calendar import timegm
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import requires_external
from trailhound.model import LOGSOURCES, Event, Issue, Location, RawRecord
from trailhound.normalize import normalize

OTRF = "otrf-security-datasets/compound/GoldenSAMLADFSMailAccess/OfficeActivityEvents.json"
PANTHER = "panther-analysis/rule_test_cases.jsonl"


def rec(data: Any, location: Location | None = None) -> RawRecord:
    return RawRecord(data, location or Location("m.json", line=1), "m365_audit", "jsonl")


def run(data: Any) -> tuple[Event, list[Issue]]:
    """normalize(); the issues without `missing_field` (most records here are partial on
    purpose), each checked to name a time or an operation the event indeed lacks."""
    snapshot = copy.deepcopy(data)
    ev, issues = normalize(rec(data))
    assert ev.raw is data and data == snapshot
    for issue in issues:
        if issue.kind == "missing_field":
            assert ("required time field" in issue.message and ev.time is None) or (
                "required event name field" in issue.message and ev.operation is None
            ), issue
    return ev, [i for i in issues if i.kind != "missing_field"]


def epoch_ns(y: int, mo: int, d: int, h: int, mi: int, s: int) -> int:
    return timegm((y, mo, d, h, mi, s, 0, 0, 0)) * 10**9


def plaso(external: Path) -> list[dict[str, Any]]:
    text = (external / "plaso/jsonl/microsoft_audit_log.jsonl").read_text()
    return [json.loads(x) for x in text.splitlines()]


def panther_rows(external: Path) -> list[tuple[int, dict[str, Any]]]:
    rows = []
    for number, line in enumerate((external / PANTHER).read_text().splitlines(), 1):
        row = json.loads(line)
        if row["log_type"].startswith("Microsoft365."):
            rows.append((number, row))
    return rows


def panther(external: Path, rule_id: str, test_name: str) -> dict[str, Any]:
    for _, row in panther_rows(external):
        if row["rule_id"] == rule_id and row["test_name"] == test_name:
            log: dict[str, Any] = row["log"]
            return log
    raise LookupError((rule_id, test_name))


def test_logsource_and_provider() -> None:
    assert LOGSOURCES["m365_audit"] == ("m365", "audit")
    ev, issues = run({})
    assert issues == [] and ev.provider == "m365" and ev.logsource == ("m365", "audit")


# -- Management Activity API shape (plaso) ------------------------------------------------------


def test_plaso_exchange_admin_cmdlet(external: Path) -> None:
    ev, issues = run(plaso(external)[0])
    assert issues == []
    assert ev.source == "m365_audit" and ev.provider == "m365"
    assert ev.time == "2022-05-07T12:55:53Z"  # logged without a zone: UTC
    assert ev.time_ns == epoch_ns(2022, 5, 7, 12, 55, 53)
    assert ev.operation == "Install-DefaultSharingPolicy"
    assert ev.service == "Exchange"
    assert ev.principal == "NT AUTHORITY\\SYSTEM (Microsoft.Exchange.Servicehost)"
    assert ev.principal_type == "DcAdmin"  # UserType 3
    assert ev.src_ip is None  # no ClientIP in Exchange admin records
    assert ev.region is None
    assert ev.account == "5a0f38c6-710b-4503-92c0-3a9f6e00f726"
    assert ev.status == "success"  # ResultStatus "True"
    assert ev.error_code is None and ev.error_message is None
    assert ev.user_agent is None
    assert ev.event_id == "c9d2d808-0efe-48cb-eaec-08da3028eb80"


def test_plaso_all_lines(external: Path) -> None:
    got = []
    for data in plaso(external):
        ev, issues = run(data)
        assert issues == []
        got.append((ev.time, ev.operation, ev.service, ev.principal_type, ev.src_ip, ev.status))
    assert got == [
        (
            "2022-05-07T12:55:53Z",
            "Install-DefaultSharingPolicy",
            "Exchange",
            "DcAdmin",
            None,
            "success",
        ),
        ("2022-05-07T12:56:18Z", "Set-MailboxPlan", "Exchange", "DcAdmin", None, "success"),
        ("2022-05-07T12:56:24Z", "Set-AdminAuditLogConfig", "Exchange", "DcAdmin", None, "success"),
        (
            "2022-05-08T15:13:41Z",
            "UserLoggedIn",
            "AzureActiveDirectory",
            "Regular",
            "0.0.0.0",
            "success",
        ),
    ]


def test_plaso_user_logged_in(external: Path) -> None:
    ev, issues = run(plaso(external)[3])
    assert issues == []
    assert ev.principal == "piet@sst5f.onmicrosoft.com"
    assert ev.principal_type == "Regular"  # UserType 0
    assert ev.src_ip == "0.0.0.0"  # as logged
    assert ev.status == "success"  # ResultStatus "Success"
    assert ev.event_id == "0a454a7b-fbac-4329-a20c-72bad3bc5000"
    assert ev.account == "5a0f38c6-710b-4503-92c0-3a9f6e00f726"


# -- Sentinel OfficeActivity row (OTRF) ----------------------------------------------------------


def test_otrf_office_activity_row(external: Path) -> None:
    data = json.loads((external / OTRF).read_text())
    ev, issues = run(data)
    assert issues == []
    assert ev.time == "2021-08-02T13:32:07Z"  # TimeGenerated (no CreationTime column)
    assert ev.time_ns == epoch_ns(2021, 8, 2, 13, 32, 7)
    assert ev.operation == "MailItemsAccessed"
    assert ev.service == "Exchange"  # OfficeWorkload
    assert ev.principal == "pgustavo@simulandlabs.com"
    assert ev.principal_type == "Regular"  # logged as the name
    assert ev.src_ip == "1.2.3.4"  # Client_IPAddress
    assert ev.account == "00000000-0000-0000-0000-000000000000"  # OrganizationId
    assert ev.status == "success"  # "Succeeded"
    assert ev.user_agent == "Client=REST;;"  # ClientInfoString
    assert ev.event_id == "699e0b10-1c53-403e-976f-ce0847a92b44"  # OfficeId


# -- Panther Microsoft365.Audit.* test records ----------------------------------------------------


def test_panther_all_19_read_without_issues(external: Path) -> None:
    rows = panther_rows(external)
    assert len(rows) == 19  # MANIFEST
    for number, row in rows:
        data = row["log"]
        ev, issues = normalize(rec(data, Location(PANTHER, line=number)))
        assert issues == [], (number, [str(i) for i in issues])
        assert ev.provider == "m365" and ev.raw is data
        assert ev.time is not None and ev.time_ns is not None, number
        assert ev.operation and ev.principal and ev.event_id and ev.account, number
        assert ev.principal_type in ("Regular", "Admin", "System"), number


def test_panther_failed_login(external: Path) -> None:
    data = panther(external, "Microsoft365.Brute.Force.Login.by.User", "Failed Login event")
    ev, issues = run(data)
    assert issues == []
    assert ev.time == "2022-12-12T15:57:57Z"  # "2022-12-12 15:57:57"
    assert ev.operation == "UserLoginFailed"
    # ResultStatus says "Success" (the HTTP call); LogonError says how the logon went
    assert (ev.status, ev.error_code) == ("failure", "InvalidUserNameOrPassword")
    assert ev.user_agent == (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/107.0.0.0 Safari/537.36"
    )  # ExtendedProperties[Name=UserAgent]
    assert ev.src_ip == "1.2.3.4" and ev.account == "11-aa-22-bb"
    assert ev.event_id == "abc-def-123"


def test_panther_login_without_workload(external: Path) -> None:
    ev, issues = run(panther(external, "Microsoft365.Brute.Force.Login.by.User", "Login Event"))
    assert issues == []
    assert ev.operation == "UserLoggedIn" and ev.service is None  # the test has no Workload
    assert ev.status == "success"


def test_panther_sharepoint_sharing(external: Path) -> None:
    data = panther(external, "Microsoft365.External.Document.Sharing", "External user")
    ev, issues = run(data)
    assert issues == []
    assert ev.operation == "AddedToSecureLink" and ev.service == "OneDrive"
    assert ev.status is None  # no ResultStatus in this record
    assert ev.user_agent is not None and ev.user_agent.startswith("Mozilla/5.0 (Macintosh")
    assert ev.correlation_id == "dd-ee-ff"  # AppAccessContext.CorrelationId
    assert ev.principal == "my.user@yourorg.onmicrosoft.com"


def test_panther_service_principal_update_user(external: Path) -> None:
    ev, issues = run(panther(external, "Microsoft365.MFA.Disabled", "MFA Remove event"))
    assert issues == []
    assert ev.operation == "Update user."  # period kept
    assert ev.principal == "ServicePrincipal_aa-bb-ccc"
    assert ev.principal_type == "System"  # UserType 4
    assert ev.account == "111-222-333"


def test_panther_exchange_lower_case_keys(external: Path) -> None:
    data = panther(
        external,
        "Microsoft365.Exchange.External.Forwarding",
        "Internal Forwarding with Suspicious Pattern",
    )
    assert "operation" in data and "Operation" not in data
    ev, issues = run(data)
    assert issues == []
    assert ev.time == "2025-07-07T09:11:11Z"  # "2025-07-07 09:11:11.000000000"
    assert ev.operation == "New-InboxRule" and ev.service == "Exchange"
    assert ev.src_ip == "1.2.3.4"  # "1.2.3.4:10736": the port cut off
    assert ev.principal_type == "Admin"  # usertype 2
    assert ev.status == "success"  # resultstatus "True"
    assert ev.event_id == "111-22-33" and ev.account == "11-aa-bb"


# -- synthetic variants ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Succeeded", ("success", None)),
        ("Success", ("success", None)),
        ("True", ("success", None)),
        ("succeeded", ("success", None)),
        (True, ("success", None)),
        ("Failed", ("failure", "Failed")),
        ("False", ("failure", "False")),
        ("Failure", ("failure", "Failure")),
        (False, ("failure", "false")),
        ("PartiallySucceeded", ("other", None)),
        ("Unknown", ("other", None)),
        ("", (None, None)),
        (None, (None, None)),
    ],
)
def test_result_status(value: Any, expected: tuple[str | None, str | None]) -> None:
    ev, issues = run({"Operation": "Set-Mailbox", "ResultStatus": value})
    assert issues == []
    assert (ev.status, ev.error_code) == expected


def test_logon_failure_wins_over_result_status() -> None:
    ev, _ = run({"Operation": "UserLoginFailed", "ResultStatus": "Succeeded"})
    assert (ev.status, ev.error_code) == ("failure", None)
    ev, _ = run({"Operation": "UserLoggedIn", "ResultStatus": "Success", "LogonError": "X"})
    assert (ev.status, ev.error_code) == ("failure", "X")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, "Regular"),
        (1, "Reserved"),
        (2, "Admin"),
        (3, "DcAdmin"),
        (4, "System"),
        (5, "Application"),
        (6, "ServicePrincipal"),
        (7, "CustomPolicy"),
        (8, "SystemPolicy"),
        (9, "PartnerTechnician"),
        (10, "Guest"),
        (42, "42"),
        (-1, "-1"),
        (2.0, "Admin"),
        ("2", "Admin"),  # Sentinel / CSV exports write numbers as text
        ("Admin", "Admin"),
        ("ServicePrincipal", "ServicePrincipal"),
        ("", None),
        (None, None),
    ],
)
def test_user_type(value: Any, expected: str | None) -> None:
    ev, issues = run({"UserType": value})
    assert issues == []
    assert ev.principal_type == expected


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"ClientIP": "203.0.113.9:51234"}, "203.0.113.9"),
        ({"ClientIP": "[2001:db8::1]:443"}, "2001:db8::1"),
        ({"ClientIP": "[2001:db8::1]"}, "2001:db8::1"),
        ({"ClientIP": "2001:db8::7"}, "2001:db8::7"),
        ({"ClientIP": "::ffff:192.0.2.1"}, "::ffff:192.0.2.1"),
        ({"ClientIP": "203.0.113.9:"}, "203.0.113.9:"),
        ({"ClientIP": "[2001:db8::1]x"}, "[2001:db8::1]x"),
        ({"ClientIP": "host:port"}, "host:port"),
        ({"ClientIPAddress": "198.51.100.2"}, "198.51.100.2"),
        ({"Client_IPAddress": "198.51.100.3"}, "198.51.100.3"),
        ({"ActorIpAddress": "198.51.100.4"}, "198.51.100.4"),
        ({"ClientIP": "", "ActorIpAddress": "198.51.100.4"}, "198.51.100.4"),
        ({"ClientIP": "198.51.100.1", "ClientIPAddress": "198.51.100.2"}, "198.51.100.1"),
    ],
)
def test_source_address_without_port(data: dict[str, Any], expected: str) -> None:
    ev, issues = run(data)
    assert issues == [] and ev.src_ip == expected


def test_user_agent_sources() -> None:
    props = [
        {"Name": "RequestType", "Value": "Login:login"},
        {"Name": "UserAgent", "Value": "ua/1"},
    ]
    assert run({"ExtendedProperties": props})[0].user_agent == "ua/1"
    # Sentinel keeps the list as JSON text
    assert run({"ExtendedProperties": json.dumps(props)})[0].user_agent == "ua/1"
    assert run({"UserAgent": "top", "ExtendedProperties": props})[0].user_agent == "top"
    lower = [{"name": "useragent", "value": "ua/2"}]
    assert run({"ExtendedProperties": lower})[0].user_agent == "ua/2"
    assert run({"ClientInfoString": "Client=OWA;Mozilla/5.0"})[0].user_agent == (
        "Client=OWA;Mozilla/5.0"
    )
    ev, issues = run({"ExtendedProperties": [{"Name": "RequestType", "Value": "x"}, "junk"]})
    assert issues == [] and ev.user_agent is None


def test_account_prefers_the_tenant_over_the_workspace() -> None:
    ev, _ = run({"TenantId": "workspace-1", "OrganizationId": "tenant-1"})
    assert ev.account == "tenant-1"
    assert run({"TenantId": "workspace-1"})[0].account == "workspace-1"


def test_time_prefers_creation_time() -> None:
    ev, _ = run({"CreationTime": "2024-01-02T03:04:05", "TimeGenerated": "2024-01-02T03:09:00Z"})
    assert ev.time == "2024-01-02T03:04:05Z"
    assert run({"creationtime": "2024-01-02 03:04:05.5"})[0].time == "2024-01-02T03:04:05.5Z"


# -- wrong types: reported, never raised ------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "path", "found", "field"),
    [
        ({"UserType": True}, "UserType", "boolean", "principal_type"),
        ({"UserType": {"v": 2}}, "UserType", "object", "principal_type"),
        ({"UserType": [2]}, "UserType", "array", "principal_type"),
        ({"UserType": 10**40}, "UserType", "number", "principal_type"),
        ({"UserType": 1.5}, "UserType", "number", "principal_type"),
        ({"Operation": ["Set-Mailbox"]}, "Operation", "array", "operation"),
        ({"UserId": {"upn": "a@b"}}, "UserId", "object", "principal"),
        ({"ClientIP": {"ip": "1.2.3.4"}}, "ClientIP", "object", "src_ip"),
        ({"ResultStatus": ["Succeeded"]}, "ResultStatus", "array", "status"),
        ({"CreationTime": 1651928153}, "CreationTime", "number", "time"),
        ({"Id": {"a": 1}}, "Id", "object", "event_id"),
        ({"ExtendedProperties": "UserAgent=x"}, "ExtendedProperties", "string", "user_agent"),
        ({"ExtendedProperties": {"UserAgent": "x"}}, "ExtendedProperties", "object", "user_agent"),
        (
            {"ExtendedProperties": [{"Name": "UserAgent", "Value": ["x"]}]},
            "ExtendedProperties[0].Value",
            "array",
            "user_agent",
        ),
    ],
)
def test_wrong_types(data: dict[str, Any], path: str, found: str, field: str) -> None:
    ev, issues = run(data)
    assert getattr(ev, field) is None
    assert [i.kind for i in issues] == ["wrong_type"]
    assert f"'{path}'" in issues[0].message and f"found {found}" in issues[0].message
    assert issues[0].severity == "error"


def test_wrong_type_falls_back_to_the_next_candidate() -> None:
    ev, issues = run({"ClientIP": ["1.2.3.4"], "Client_IPAddress": "198.51.100.3"})
    assert ev.src_ip == "198.51.100.3"
    assert [i.kind for i in issues] == ["wrong_type"]


def test_bad_time() -> None:
    ev, issues = run({"CreationTime": "yesterday", "TimeGenerated": "2021-08-02T13:32:07Z"})
    assert ev.time == "2021-08-02T13:32:07Z"  # the next candidate
    assert [i.kind for i in issues] == ["bad_time"] and "'CreationTime'" in issues[0].message


def test_record_that_is_not_an_object() -> None:
    data: Any = ["CreationTime", "Operation"]
    ev, issues = normalize(rec(data))
    assert ev.raw is data and ev.provider == "m365"
    assert issues and {i.kind for i in issues} == {"wrong_type"}
    assert "(record)" in issues[0].message


# -- property tests ------------------------------------------------------------------------------

KEYS = [
    "CreationTime",
    "creationtime",
    "TimeGenerated",
    "Operation",
    "operation",
    "Workload",
    "OfficeWorkload",
    "UserId",
    "UserType",
    "usertype",
    "ClientIP",
    "ClientIPAddress",
    "Client_IPAddress",
    "ActorIpAddress",
    "OrganizationId",
    "TenantId",
    "ResultStatus",
    "LogonError",
    "UserAgent",
    "ExtendedProperties",
    "Name",
    "Value",
    "name",
    "value",
    "ClientInfoString",
    "Id",
    "OfficeId",
    "CorrelationId",
    "AppAccessContext",
    "RecordType",
    "Parameters",
]
TEXTS = st.sampled_from(
    [
        "",
        "2022-05-07T12:55:53",
        "2022-12-12 15:57:57",
        "2024-13-45T99:99:99Z",
        "Succeeded",
        "PartiallySucceeded",
        "False",
        "UserAgent",
        "UserLoginFailed",
        "3",
        "99999999999999999999",
        '[{"Name": "UserAgent", "Value": "ua"}]',
        '{"CorrelationId": "c"}',
        "[[[[",
        "{" * 3000,
        "1.2.3.4:5678",
    ]
)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True)
    | st.text(max_size=10)
    | TEXTS
)
KEY = st.sampled_from(KEYS) | st.text(max_size=5)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEY, inner, max_size=4),
    max_leaves=25,
)
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
    "correlation_id",
]


def check(data: Any) -> None:
    snapshot = copy.deepcopy(data)
    location = Location("prop.json", line=3)
    ev, issues = normalize(RawRecord(data, location, "m365_audit", "jsonl", meta={"m": 1}))
    assert ev.raw is data and data == snapshot
    assert ev.provider == "m365" and ev.source == "m365_audit" and ev.location is location
    for name in STRING_FIELDS:
        value = getattr(ev, name)
        assert value is None or (isinstance(value, str) and value != ""), (name, value)
    assert ev.status in (None, "success", "failure", "other")
    assert (ev.time is None) == (ev.time_ns is None)
    for issue in issues:
        # never normalize_failed
        assert issue.kind in ("wrong_type", "bad_time", "missing_field", "nonstandard_time"), issue
        assert issue.location is location


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.dictionaries(KEY, JSON, max_size=8))
def test_never_raises_on_arbitrary_records(data: dict[str, Any]) -> None:
    check(data)


def _real_records() -> list[dict[str, Any]]:
    from tests.conftest import EXTERNAL

    if not EXTERNAL.is_dir():
        return []
    out = plaso(EXTERNAL)
    out.append(json.loads((EXTERNAL / OTRF).read_text()))
    for _, row in panther_rows(EXTERNAL):
        if row["test_name"] in ("Failed Login event", "External user", "MFA Remove event"):
            out.append(row["log"])
        if row["test_name"] == "Suspicious Forwarding Pattern":
            out.append(row["log"])
    return out


REAL = _real_records()


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(node, dict):
        for k, v in node.items():
            yield prefix + (k,)
            yield from _paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node[:3]):
            yield prefix + (i,)
            yield from _paths(v, prefix + (i,))


def _replace(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    doc = copy.deepcopy(doc)
    node = doc
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    return doc


WRONG = st.sampled_from(
    [12345, 1.5, True, [], ["x"], {}, {"a": 1}, "not json", "[broken", None, "", 10**5000]
)


@requires_external
@settings(max_examples=400, deadline=None)
@given(pick=st.integers(min_value=0), which=st.integers(min_value=0), value=WRONG)
def test_never_raises_on_mutated_real_records(pick: int, which: int, value: Any) -> None:
    original = REAL[pick % len(REAL)]
    paths = list(_paths(original))
    check(_replace(original, paths[which % len(paths)], value))
