"""Real-world file shapes a user feeds that the fixtures did not show (log-formats.md): read
correctly, skipped as not audit data, or refused with a message naming the shape and what to do.

- CloudTrail Insights files (AWSLogs/<account>/CloudTrail-Insight/...) sit beside the trail's
  files in the same {"Records": [...]} shape; each Insights event was an `unknown_envelope`
  error, so scanning a trail bucket exited 3 for nothing wrong. Now a skip.
- The Microsoft 365 audit search exports CSV with the records as JSON in an AuditData column;
  it was "not JSON (starts with 'CreationDate,...')". Now the message names the export and
  the command that takes the JSON out; CloudTrail Lake / Athena CSV results likewise.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from pathlib import Path
from typing import Any

import pytest

from tests import hostile_inputs as H
from tests.hostile_inputs import run
from trailhound.model import Issue, RawRecord
from trailhound.sources import read_bytes
from trailhound.sources.limits import Limits


def insight(state: str, n: int) -> dict[str, Any]:
    """An Insights event as CloudTrail delivers it (cloudtrail-insights-fields-trails.html)."""
    return {
        "eventVersion": "1.08",
        "eventTime": f"2026-03-14T10:{n:02d}:00Z",
        "awsRegion": "us-east-1",
        "eventID": f"00000000-0000-4000-a000-{n:012d}",
        "eventType": "AwsCloudTrailInsight",
        "recipientAccountId": "111122223333",
        "sharedEventID": "11111111-0000-4000-a000-000000000000",
        "insightDetails": {
            "state": state,
            "eventSource": "cloudtrail.amazonaws.com",
            "eventName": "StopLogging",
            "insightType": "ApiCallRateInsight",
            "insightContext": {"statistics": {"baseline": {"average": 0.1}}},
        },
        "eventCategory": "Insight",
    }



@pytest.fixture()
def trail_bucket(tmp_path: Path) -> Path:
    """AWSLogs/ with one trail file (a StopLogging among noise) and an Insights file whose
    events describe that very StopLogging burst."""
    acct = tmp_path / "AWSLogs" / "111122223333"
    trail = acct / "CloudTrail" / "us-east-1" / "2026" / "03" / "14"
    insights = acct / "CloudTrail-Insight" / "us-east-1" / "2026" / "03" / "14"
    trail.mkdir(parents=True)
    insights.mkdir(parents=True)
    records = [H.stop_logging(7), *(H.ct("ListUsers", n=i) for i in range(8, 12))]
    (trail / "111122223333_CloudTrail_us-east-1_20260314T1005Z_a.json.gz").write_bytes(
        gzip.compress(json.dumps({"Records": records}).encode())
    )
    (insights / "111122223333_CloudTrail-Insight_us-east-1_20260314T1010Z_b.json.gz").write_bytes(
        gzip.compress(json.dumps({"Records": [insight("Start", 1), insight("End", 9)]}).encode())
    )
    return tmp_path / "AWSLogs"


@pytest.mark.parametrize("engine", ["reference", "fast"])
def test_insights_files_in_a_trail_bucket_are_skipped_not_errors(trail_bucket: Path,
                                                                 engine: str) -> None:
    p = run("detect", "--engine", engine, "--format", "jsonl", "--profile", "seed", trail_bucket)
    assert p.returncode == 0, p.stderr  # nothing in the bucket is bad input
    rows = [json.loads(line) for line in p.stdout.splitlines()]
    assert [r["eventName"] for r in rows] == ["StopLogging"]  # the API call, not its Insight
    assert "5 events" in p.stderr  # the trail file's records, counted in plain Python above
    assert "CloudTrail-Insight_us-east-1" in p.stderr  # the skipped file is named


def test_insights_event_reader_verdict() -> None:
    raw = json.dumps({"Records": [insight("Start", 1), H.stop_logging(2)]}).encode()
    items = list(read_bytes(raw, "i.json"))
    records = [i for i in items if isinstance(i, RawRecord)]
    issues = [i for i in items if isinstance(i, Issue)]
    assert [r.data["eventName"] for r in records] == ["StopLogging"]
    assert [(i.kind, i.severity, i.location.pointer) for i in issues] == [
        ("not_audit_log", "skip", "/Records/0")
    ]
    assert "Insights" in issues[0].message


def purview_csv(rows: int) -> bytes:
    """The audit search's CSV export: its header, and one JSON record per row in AuditData
    (quoted, with doubled quotes, as csv writes it)."""
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["RecordId", "CreationDate", "RecordType", "Operation", "UserId", "AuditData",
                "AssociatedAdminUnits", "AssociatedAdminUnitsNames"])
    for i in range(rows):
        rec = {"CreationTime": "2026-03-14T10:00:00", "Id": f"id-{i}", "Operation":
               "New-InboxRule", "Workload": "Exchange", "UserId": "a@b.example", "RecordType": 1}
        w.writerow([f"r{i}", "2026-03-14T10:00:00.0000000Z", "ExchangeAdmin", "New-InboxRule",
                    "a@b.example", json.dumps(rec), "", ""])
    return out.getvalue().encode()


LAKE_CSV = (b"eventversion,useridentity,eventtime,eventsource,eventname\n"
            b"1.08,{},x,iam.amazonaws.com,ListUsers\n")


@pytest.mark.parametrize("streamed", [False, True])
@pytest.mark.parametrize(("raw", "names", "step"), [
    (purview_csv(3), "Microsoft 365 audit log", "ForEach-Object AuditData"),
    (LAKE_CSV, "CloudTrail Lake or Athena", "scan the trail's S3 files"),
], ids=["m365_audit_search", "cloudtrail_lake"])
def test_csv_exports_are_named_with_the_next_step(raw: bytes, names: str, step: str,
                                                  streamed: bool) -> None:
    limits = Limits(stream_threshold=16 if streamed else 1 << 20)
    for explicit, severity in ((True, "error"), (False, "skip")):
        items = list(read_bytes(raw, "export.csv", explicit, limits))
        assert len(items) == 1 and isinstance(items[0], Issue)
        issue = items[0]
        assert (issue.kind, issue.severity) == ("not_json", severity)
        assert names in issue.message and step in issue.message


def test_big_purview_export_streamed_through_the_cli(tmp_path: Path) -> None:
    export = tmp_path / "audit.csv"
    export.write_bytes(purview_csv(3000))  # about 600 KB: streamed past the lowered threshold
    control = H.control_file(tmp_path / "control.json")
    p = run("detect", "--format", "jsonl", "--profile", "seed", export, control,
            env={"TRAILHOUND_STREAM_THRESHOLD": str(64 << 10)})
    assert p.returncode == 3  # a named file that cannot be read
    assert "audit.csv: a CSV export of the Microsoft 365 audit log" in p.stderr
    assert [json.loads(line)["eventName"] for line in p.stdout.splitlines()] == ["StopLogging"]


def test_a_csv_we_do_not_know_keeps_the_plain_message() -> None:
    items = list(read_bytes(b"a,b,c\n1,2,3\n", "other.csv"))
    assert len(items) == 1 and isinstance(items[0], Issue)
    assert "not JSON (starts with 'a,b,c" in items[0].message
