"""Every envelope shape, written by the test: what comes out, with which envelope/meta/location."""

from __future__ import annotations

import base64
import gzip
import io
import json
from pathlib import Path
from typing import Any

import pytest

from trailhound.model import Issue, RawRecord
from trailhound.sources import ENVELOPES, read_bytes, read_paths


def _split(items: list[RawRecord | Issue]) -> tuple[list[RawRecord], list[Issue]]:
    records = [i for i in items if isinstance(i, RawRecord)]
    issues = [i for i in items if isinstance(i, Issue)]
    return records, issues


def _read(raw: bytes, explicit: bool = True) -> tuple[list[RawRecord], list[Issue]]:
    return _split(list(read_bytes(raw, "in.json", explicit)))


def _ct(i: int, **extra: Any) -> dict[str, Any]:
    rec = {
        "eventVersion": "1.08",
        "eventTime": f"2024-01-01T00:00:{i % 60:02d}Z",
        "eventSource": "iam.amazonaws.com",
        "eventName": f"CreateUser{i}",
        "awsRegion": "us-east-1",
        "userIdentity": {"type": "IAMUser", "arn": f"arn:aws:iam::111122223333:user/u{i}"},
        "eventID": f"00000000-0000-0000-0000-{i:012d}",
    }
    rec.update(extra)
    return rec


def _dumps(value: Any) -> bytes:
    return json.dumps(value).encode()


# --- CloudTrail S3 files ---------------------------------------------------------------------


def test_gzip_s3_file_sniffed_by_content_not_name(tmp_path: Path) -> None:
    recs = [_ct(i) for i in range(7)]
    body = gzip.compress(_dumps({"Records": recs}))
    (tmp_path / "a.json.gz").write_bytes(body)
    (tmp_path / "b.log").write_bytes(body)  # no .gz: gzip found by magic bytes
    (tmp_path / "c.json.gz").write_bytes(_dumps({"Records": recs}))  # .gz name, plain content
    records, issues = _split(list(read_paths([str(tmp_path)])))
    assert issues == []
    assert [r.data for r in records] == recs * 3
    assert {(r.source, r.envelope) for r in records} == {("cloudtrail", "s3_records")}
    assert [r.location.pointer for r in records[:7]] == [f"/Records/{i}" for i in range(7)]


def test_records_key_need_not_be_first_and_empty_records_is_silent() -> None:
    recs = [_ct(i) for i in range(3)]
    records, issues = _read(_dumps({"other": {"x": 1}, "Records": recs}))
    assert issues == [] and [r.data for r in records] == recs
    assert _read(b'{"Records":[]}') == ([], [])


def test_digest_file_is_one_skip() -> None:
    digest = {
        "awsAccountId": "111122223333",
        "digestStartTime": "2024-01-01T00:00:00Z",
        "digestEndTime": "2024-01-01T01:00:00Z",
        "digestS3Bucket": "b",
        "digestS3Object": "AWSLogs/111122223333/CloudTrail-Digest/x.json.gz",
        "logFiles": [{"s3Bucket": "b", "s3Object": "o", "hashValue": "00"}],
    }
    records, issues = _read(gzip.compress(_dumps(digest)))
    assert records == []
    assert [(i.kind, i.severity) for i in issues] == [("cloudtrail_digest", "skip")]


def _s3_notification(key: str) -> dict[str, Any]:
    return {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": "us-east-1",
        "eventTime": "2024-01-01T00:00:00.000Z",
        "eventName": "ObjectCreated:Put",
        "s3": {"bucket": {"name": "trail"}, "object": {"key": key}},
    }


def test_s3_notifications_are_skipped_anywhere() -> None:
    records, issues = _read(_dumps({"Records": [_s3_notification("a"), _s3_notification("b")]}))
    assert records == []
    assert [(i.kind, i.severity) for i in issues] == [("s3_notification", "skip")] * 2
    assert [i.location.pointer for i in issues] == ["/Records/0", "/Records/1"]
    # Also as JSON lines next to a real record.
    jl = _dumps(_s3_notification("c")) + b"\n" + _dumps(_ct(1)) + b"\n"
    records, issues = _read(jl)
    assert [r.data for r in records] == [_ct(1)]
    assert [(i.kind, i.location.line) for i in issues] == [("s3_notification", 1)]


# --- AWS transports ----------------------------------------------------------------------------


def _eventbridge(detail: dict[str, Any]) -> dict[str, Any]:
    return {
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.iam",
        "account": "111122223333",
        "time": "2024-01-01T00:00:05Z",
        "region": "us-east-1",
        "resources": [],
        "detail": detail,
    }


def test_eventbridge_event() -> None:
    event = _eventbridge(_ct(1))
    records, issues = _read(_dumps(event))
    assert issues == []
    [r] = records
    assert (r.source, r.envelope, r.data) == ("cloudtrail", "eventbridge", _ct(1))
    assert r.meta == {
        k: event[k] for k in ("id", "time", "detail-type", "source", "account", "region")
    }
    assert r.location.pointer == "/detail"
    plain, _ = _read(_dumps(_ct(2)))
    assert type(plain[0].meta) is dict and type(r.meta) is dict  # serialisable, not shared


def test_eventbridge_event_without_cloudtrail_detail_is_a_skip() -> None:
    event = _eventbridge({"instance-id": "i-0", "state": "running"})
    event["detail-type"] = "EC2 Instance State-change Notification"
    records, issues = _read(_dumps(event))
    assert records == []
    assert [(i.kind, i.severity) for i in issues] == [("not_audit_log", "skip")]


def _cw_payload(messages: list[str], kind: str = "DATA_MESSAGE") -> dict[str, Any]:
    return {
        "messageType": kind,
        "owner": "111122223333",
        "logGroup": "aws-cloudtrail-logs",
        "logStream": "111122223333_CloudTrail_us-east-1",
        "subscriptionFilters": ["all"],
        "logEvents": [
            {"id": str(1000 + i), "timestamp": 1704067200000 + i, "message": m}
            for i, m in enumerate(messages)
        ],
    }


def test_cloudwatch_logs_lambda_event_base64_gzip() -> None:
    recs = [_ct(i) for i in range(3)]
    messages = [json.dumps(recs[0]), "not json {", json.dumps(recs[1]), json.dumps(recs[2])]
    data = base64.b64encode(gzip.compress(_dumps(_cw_payload(messages)))).decode()
    records, issues = _read(_dumps({"awslogs": {"data": data}}))
    assert [r.data for r in records] == recs
    assert {(r.source, r.envelope) for r in records} == {("cloudtrail", "cloudwatch_logs")}
    assert records[0].meta["logGroup"] == "aws-cloudtrail-logs"
    assert records[0].meta["logEventId"] == "1000"
    assert [r.location.index for r in records] == [0, 2, 3]
    [bad] = issues
    assert (bad.kind, bad.severity, bad.location.index) == ("bad_json", "error", 1)
    assert "not valid JSON" in bad.message and "'not json {'" in bad.message


def test_cloudwatch_logs_firehose_file_and_control_message() -> None:
    # Firehose writes the gzip'd payloads back to back, with no separator.
    payloads = [_cw_payload([json.dumps(_ct(i))]) for i in range(3)]
    payloads.insert(
        1, {"messageType": "CONTROL_MESSAGE", "owner": "CloudwatchLogs", "logEvents": []}
    )
    body = gzip.compress(b"".join(_dumps(p) for p in payloads))
    records, issues = _read(body)
    assert [r.data for r in records] == [_ct(0), _ct(1), _ct(2)]
    assert [(i.kind, i.severity) for i in issues] == [("cloudwatch_control", "skip")]


def test_cloudwatch_bad_base64_is_an_error() -> None:
    records, issues = _read(_dumps({"awslogs": {"data": "%%%not base64%%%"}}))
    assert records == []
    assert [(i.kind, i.severity) for i in issues] == [("bad_payload", "error")]


def test_lookup_events_cli_wrapper() -> None:
    events = [
        {
            "EventId": f"e{i}",
            "EventName": f"CreateUser{i}",
            "Username": "u",
            "CloudTrailEvent": json.dumps(_ct(i)),
        }
        for i in range(2)
    ]
    records, issues = _read(_dumps({"Events": events, "NextToken": "abc"}))
    assert issues == []
    assert [r.data for r in records] == [_ct(0), _ct(1)]
    assert {r.envelope for r in records} == {"lookup_events"}
    assert records[1].meta == {"EventId": "e1", "EventName": "CreateUser1", "Username": "u"}
    assert records[1].location.pointer == "/Events/1/CloudTrailEvent"


# --- Azure / Entra -----------------------------------------------------------------------------

_ACTIVITY_DIAG = {
    "time": "2024-01-01T00:00:00.1234567Z",
    "resourceId": "/SUBSCRIPTIONS/S/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.COMPUTE/VIRTUALMACHINES/VM",
    "operationName": "MICROSOFT.COMPUTE/VIRTUALMACHINES/WRITE",
    "category": "Administrative",
    "resultType": "Success",
    "properties": {},
}
_ACTIVITY_REST = {
    "eventTimestamp": "2024-01-01T00:00:00.1234567Z",
    "operationName": {"value": "Microsoft.Compute/virtualMachines/write", "localizedValue": "x"},
    "category": {"value": "Administrative"},
    "eventDataId": "d",
}
_ACTIVITY_SENTINEL = {"TimeGenerated": "2024-01-01T00:00:00Z", "OperationNameValue": "X/WRITE"}
_AUDIT_GRAPH = {
    "id": "Directory_1",
    "activityDateTime": "2024-01-01T00:00:00Z",
    "activityDisplayName": "Add member to role",
    "category": "RoleManagement",
    "loggedByService": "Core Directory",
}
_AUDIT_DIAG = {
    "time": "2024-01-01T00:00:00Z",
    "resourceId": "/tenants/t/providers/Microsoft.aadiam",
    "operationName": "Add member to role",
    "category": "AuditLogs",
    "properties": _AUDIT_GRAPH,
}
_SIGNIN_GRAPH = {
    "id": "s1",
    "createdDateTime": "2024-01-01T00:00:00Z",
    "userPrincipalName": "a@b.c",
    "appDisplayName": "Azure Portal",
    "ipAddress": "203.0.113.1",
    "status": {"errorCode": 0},
}


@pytest.mark.parametrize(
    ("record", "source"),
    [
        (_ACTIVITY_DIAG, "azure_activity"),
        (_ACTIVITY_REST, "azure_activity"),
        (_ACTIVITY_SENTINEL, "azure_activity"),
        ({"Type": "AzureActivity", "OperationName": "x"}, "azure_activity"),
        (_AUDIT_GRAPH, "entra_audit"),
        (_AUDIT_DIAG, "entra_audit"),
        ({"Type": "AuditLogs", "OperationName": "x"}, "entra_audit"),
        (_SIGNIN_GRAPH, "entra_signin"),
        ({**_AUDIT_DIAG, "category": "NonInteractiveUserSignInLogs"}, "entra_signin"),
        ({**_AUDIT_DIAG, "category": "managedidentitysigninlogs"}, "entra_signin"),
        ({"Type": "SigninLogs", "ResultType": "0"}, "entra_signin"),
    ],
)
def test_azure_and_entra_records_in_azure_records_envelope(
    record: dict[str, Any], source: str
) -> None:
    records, issues = _read(_dumps({"records": [record, record]}))
    assert issues == []
    assert [(r.source, r.envelope) for r in records] == [(source, "azure_records")] * 2


def test_rest_value_pages_and_az_cli_array() -> None:
    page = {"value": [_ACTIVITY_REST, _ACTIVITY_REST], "nextLink": "https://management.azure.com/x"}
    graph = {"@odata.context": "x", "value": [_AUDIT_GRAPH], "@odata.nextLink": "https://graph/x"}
    for body, n, source in ((page, 2, "azure_activity"), (graph, 1, "entra_audit")):
        records, issues = _read(_dumps(body))
        assert issues == []
        assert [(r.source, r.envelope) for r in records] == [(source, "rest_value")] * n
    records, issues = _read(_dumps([_ACTIVITY_REST, _ACTIVITY_DIAG]))
    assert issues == []
    assert [(r.source, r.envelope) for r in records] == [("azure_activity", "json_array")] * 2


# --- exports and tests from other tools ------------------------------------------------------


def test_sumo_export_rows_both_key_spellings() -> None:
    rows = [
        {"_messagetime": "1704067200000", "_raw": json.dumps(_ct(1)), "_sourcecategory": "aws/ct"},
        {"_messageTime": "1704067201000", "_raw": json.dumps(_AUDIT_DIAG), "_sourceCategory": "az"},
    ]
    records, issues = _read(b"\n".join(_dumps(r) for r in rows))
    assert issues == []
    assert [(r.source, r.envelope) for r in records] == [
        ("cloudtrail", "sumo_export"),
        ("entra_audit", "sumo_export"),
    ]
    assert records[0].meta == {"_sourceCategory": "aws/ct", "_messageTime": "1704067200000"}
    assert records[1].meta == {"_sourceCategory": "az", "_messageTime": "1704067201000"}
    assert records[0].data == _ct(1)


def test_panther_test_case_line() -> None:
    row = {"rule_id": "R", "log_type": "AWS.CloudTrail", "expected_result": True, "log": _ct(3)}
    records, issues = _read(_dumps(row) + b"\n" + _dumps(row))
    assert issues == []
    assert [r.envelope for r in records] == ["panther_test"] * 2
    assert records[0].meta == {
        "rule_id": "R",
        "log_type": "AWS.CloudTrail",
        "expected_result": True,
    }
    assert records[0].data == _ct(3)


def test_pubsub_push_message() -> None:
    entry = {
        "logName": "projects/p/logs/cloudaudit.googleapis.com%2Factivity",
        "protoPayload": {"@type": "type.googleapis.com/google.cloud.audit.AuditLog"},
        "insertId": "1",
    }
    push = {
        "message": {
            "data": base64.b64encode(_dumps(entry)).decode(),
            "messageId": "42",
            "publishTime": "2024-01-01T00:00:00Z",
        },
        "subscription": "projects/p/subscriptions/s",
    }
    records, issues = _read(_dumps(push))
    assert issues == []
    [r] = records
    assert (r.source, r.envelope, r.data) == ("gcp_audit", "pubsub", entry)
    assert r.meta["subscription"] == "projects/p/subscriptions/s"
    assert r.meta["messageId"] == "42"


# --- framing ---------------------------------------------------------------------------------


def test_concatenated_json_without_separator_has_line_numbers() -> None:
    body = _dumps(_ct(0)) + _dumps(_ct(1)) + b"\n" + _dumps(_ct(2)) + _dumps(_ct(3))
    records, issues = _read(body)
    assert issues == []
    assert [r.data for r in records] == [_ct(i) for i in range(4)]
    assert [r.location.line for r in records] == [1, 1, 2, 2]
    assert {r.envelope for r in records} == {"jsonl"}


def test_pretty_printed_concatenated_and_blank_lines() -> None:
    body = b"\n\n".join(json.dumps(_ct(i), indent=2).encode() for i in range(3)) + b"\n\n"
    records, issues = _read(body)
    assert issues == []
    assert [r.data for r in records] == [_ct(i) for i in range(3)]
    starts = [i + 1 for i, line in enumerate(body.split(b"\n")) if line == b"{"]
    assert [r.location.line for r in records] == starts


def test_utf8_bom_and_utf16_are_read() -> None:
    records, issues = _read(b"\xef\xbb\xbf" + _dumps({"Records": [_ct(1)]}))
    assert issues == [] and [r.data for r in records] == [_ct(1)]
    records, issues = _read(json.dumps([_ct(2)]).encode("utf-16"))  # BOM + UTF-16
    assert issues == [] and [r.data for r in records] == [_ct(2)]


def test_stdin(tmp_path: Path) -> None:
    body = gzip.compress(b"\n".join(_dumps(_ct(i)) for i in range(4)))
    records, issues = _split(list(read_paths(["-"], stdin=io.BytesIO(body))))
    assert issues == []
    assert [r.data for r in records] == [_ct(i) for i in range(4)]
    assert {r.location.path for r in records} == {"<stdin>"}
    assert [r.location.line for r in records] == [1, 2, 3, 4]


def test_envelope_registry_is_ordered_and_named() -> None:
    names = ENVELOPES.names()
    assert names.index("s3_records") < names.index("eventbridge")
    assert "panther_test" in ENVELOPES and "pubsub" in ENVELOPES
