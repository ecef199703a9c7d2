"""The shipped recon-then-tamper correlation end to end, through `scan()` and `row()`.

The Stratus Red Team detonation logs (stratus-red-team/detonation-logs) hold one record per
technique and no GetTrailStatus / DescribeTrails at all, so the pattern is checked on:
* invictus-ir-aws_dataset, real CloudTrail S3 delivery files of a full Stratus Red Team run,
  where the operator's identity lists and checks trails, then calls StopLogging and DeleteTrail;
  the expected members are computed here with plain json and pairwise comparison;
* the Stratus StopLogging detonation record, alone and after a hand-built GetTrailStatus;
* hand-built CloudTrail records (JSON lines plus an EventBridge copy).
"""

from __future__ import annotations

import copy
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from trailhound.pipeline import scan
from trailhound.profiles import get_profile
from trailhound.report.columns import row
from trailhound.rules.loader import load_pack

RECON = {"GetTrailStatus", "DescribeTrails"}
TAMPER = {"StopLogging", "DeleteTrail", "UpdateTrail", "PutEventSelectors"}
WINDOW = 30 * 60  # seconds


def shipped() -> Any:
    (c,) = [c for c in load_pack("corrected").correlations
            if c.name == "aws_cloudtrail_recon_then_tamper"]
    return c


def rows_of(paths: list[Path]) -> list[dict[str, Any]]:
    p = get_profile("corrected")
    res = scan([str(x) for x in paths], p)
    assert res.stats.error_count == 0, [str(i) for i in res.stats.samples]
    return [row(f, p) for f in res.findings]


def secs(t: str) -> float:
    return datetime.fromisoformat(t).timestamp()


# -- real data: invictus-ir (a Stratus Red Team run) -------------------------------------------


def test_invictus_recon_then_trail_tampering(external: Path) -> None:
    folder = external / "invictus-ir-aws_dataset" / "CloudTrail"
    records: dict[str, dict[str, Any]] = {}
    for f in sorted(folder.glob("*.json")):
        for r in json.loads(f.read_text(encoding="utf-8"))["Records"]:
            records.setdefault(r["eventID"], r)
    trail = [
        r
        for r in records.values()
        if r["eventSource"] == "cloudtrail.amazonaws.com" and r["eventName"] in RECON | TAMPER
    ]
    # The oracle: a recon call and a tampering call by the same ARN, tamper not before recon,
    # at most 30 minutes apart; both are members.
    expected: set[str] = set()
    for a in trail:
        for b in trail:
            arn = a.get("userIdentity", {}).get("arn")
            if (
                a["eventName"] in RECON
                and b["eventName"] in TAMPER
                and arn is not None
                and arn == b.get("userIdentity", {}).get("arn")
                and 0 <= secs(b["eventTime"]) - secs(a["eventTime"]) <= WINDOW
            ):
                expected |= {a["eventID"], b["eventID"]}
    names = sorted(records[i]["eventName"] for i in expected)
    assert {"DescribeTrails", "GetTrailStatus", "StopLogging", "DeleteTrail"} <= set(names)
    # a DeleteTrail that came before the recon is in the data, and is not a member
    early = [r for r in trail if r["eventName"] == "DeleteTrail" and r["eventID"] not in expected]
    assert early and all(secs(r["eventTime"]) < min(secs(records[i]["eventTime"]) for i in expected) for r in early)
    times = [secs(records[i]["eventTime"]) for i in expected]
    assert max(times) - min(times) <= WINDOW  # one episode: a single hit

    rows = rows_of([folder])
    c = shipped()
    flagged = [r for r in rows if r["correlations"]]
    assert {r["eventID"] for r in flagged} == expected
    want_events = sorted(expected, key=lambda i: (records[i]["eventTime"], i))
    for r in flagged:
        assert r["correlations"] == [{"rule_id": c.id, "title": c.title, "events": want_events}]
        weights = {s["rule_id"]: s["weight"] for s in r["signals"]}
        assert weights[c.id] == 2
        if r["eventName"] in RECON:  # read-only calls score through the correlation alone
            assert r["suspicion_score"] == 2 and list(weights) == [c.id]
        else:  # security_disable 3 (+ the failed-call context -0.5) + 2
            assert r["security_disable"] == 1
            assert r["suspicion_score"] == (4.5 if r["errorCode"] else 5)
    assert all(r["eventID"] not in expected for r in rows if not r["correlations"])


# -- real data: the Stratus detonation records -------------------------------------------------


def stratus(external: Path, technique: str) -> list[dict[str, Any]]:
    path = external / "stratus-red-team" / "detonation-logs" / f"aws.defense-evasion.{technique}.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(data, list)
    return data


def test_stratus_detonations_alone_do_not_fire_the_correlation(external: Path) -> None:
    folder = external / "stratus-red-team" / "detonation-logs"
    for technique in ("cloudtrail-stop", "cloudtrail-delete"):
        recs = stratus(external, technique)
        assert not [r for r in recs if r["eventName"] in RECON]  # nothing to correlate with
    rows = rows_of([folder / "aws.defense-evasion.cloudtrail-stop.json", folder / "aws.defense-evasion.cloudtrail-delete.json"])
    assert sorted((r["eventName"], r["suspicion_score"], r["correlations"]) for r in rows) == [
        ("DeleteTrail", 3, []),
        ("StopLogging", 3, []),
    ]


def test_stratus_stoplogging_after_a_trail_status_check(tmp_path: Path, external: Path) -> None:
    (stop,) = stratus(external, "cloudtrail-stop")
    check = copy.deepcopy(stop)
    check.update(
        eventName="GetTrailStatus",
        eventID="00000000-0000-4000-8000-00000000c0de",
        eventTime="2024-07-31T12:40:24Z",  # 26 minutes before the StopLogging
        readOnly=True,
        requestParameters={"name": stop["requestParameters"]["name"]},
        responseElements=None,
    )
    f = tmp_path / "pair.json"
    f.write_text(json.dumps([check, stop]), encoding="utf-8")
    rows = rows_of([f])
    assert [(r["eventName"], r["suspicion_score"]) for r in rows] == [("StopLogging", 5), ("GetTrailStatus", 2)]
    assert rows[0]["correlations"] == rows[1]["correlations"]
    assert rows[0]["correlations"][0]["events"] == [check["eventID"], stop["eventID"]]


# -- hand-built CloudTrail ---------------------------------------------------------------------


def ct(name: str, t: str, user: str, n: int, **extra: Any) -> dict[str, Any]:
    rec = {
        "eventVersion": "1.08",
        "userIdentity": {
            "type": "IAMUser",
            "principalId": f"AIDA{user.upper()}",
            "arn": f"arn:aws:iam::111122223333:user/{user}",
            "accountId": "111122223333",
            "accessKeyId": f"AKIA{user.upper()}",
            "userName": user,
        },
        "eventTime": f"2026-03-14T{t}Z",
        "eventSource": "cloudtrail.amazonaws.com",
        "eventName": name,
        "awsRegion": "us-east-1",
        "sourceIPAddress": "203.0.113.7",
        "userAgent": "aws-cli/2.15.0",
        "requestParameters": {"name": "main-trail"},
        "responseElements": None,
        "eventID": f"00000000-0000-4000-8000-{n:012d}",
        "readOnly": name in RECON,
        "eventType": "AwsApiCall",
        "recipientAccountId": "111122223333",
    }
    rec.update(extra)
    return rec


def test_hand_built_sequences_through_scan(tmp_path: Path) -> None:
    recs = [
        ct("StopLogging", "09:58:00", "alice", 1),  # before her recon: not part of it
        ct("GetTrailStatus", "10:00:00", "alice", 2),
        ct("DescribeTrails", "10:01:00", "bob", 3),  # bob's recon...
        ct("DescribeTrails", "10:05:00", "alice", 4),
        ct("UpdateTrail", "10:30:00", "alice", 5),  # exactly 30 minutes after her first recon
        ct("StopLogging", "10:31:01", "bob", 6),  # ...bob's stop 30 min 1 s later: outside
        ct("DeleteTrail", "10:10:00", "carol", 7),  # no recon at all
        ct("GetTrailStatus", "10:20:00", "dave", 8),  # recon only
    ]
    stop_copy = ct("StopLogging", "10:35:00", "erin", 10)
    recs += [ct("GetTrailStatus", "10:34:00", "erin", 9), stop_copy]
    (tmp_path / "trail.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs), encoding="utf-8")
    bridge = {
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.cloudtrail",
        "account": "111122223333",
        "time": "2026-03-14T10:35:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": stop_copy,
    }
    (tmp_path / "eventbridge.json").write_text(json.dumps(bridge), encoding="utf-8")
    rows = rows_of([tmp_path])
    by_id = {r["eventID"][-2:]: r for r in rows}
    c = shipped()

    def events(key: str) -> list[str]:
        (h,) = by_id[key]["correlations"]
        assert h["rule_id"] == c.id
        return [e[-2:] for e in h["events"]]

    assert events("02") == events("04") == events("05") == ["02", "04", "05"]
    assert events("09") == events("10") == ["09", "10"]
    assert by_id["10"]["records"] == 2  # the EventBridge copy is the same call, counted once
    assert [(k, by_id[k]["suspicion_score"]) for k in ("01", "05", "06", "07", "02", "04", "10")] == [
        ("01", 3), ("05", 5), ("06", 3), ("07", 3), ("02", 2), ("04", 2), ("10", 5),
    ]
    for k in ("01", "06", "07"):
        assert by_id[k]["correlations"] == []
    assert "03" not in by_id and "08" not in by_id  # recon without tampering is no finding
    # highest score first; the correlation's rows are ordinary findings
    assert [r["suspicion_score"] for r in rows] == sorted((r["suspicion_score"] for r in rows), reverse=True)


def test_demo_dataset_sequence() -> None:
    from trailhound.demo import dataset_path

    p = get_profile("corrected")
    res = scan([str(dataset_path())], p, min_score=0)
    c = shipped()
    flagged = [row(f, p) for f in res.findings if any(h.correlation.id == c.id for h in f.hits)]
    assert sorted((r["eventName"], r["suspicion_score"], r["records"]) for r in flagged) == [
        ("DescribeTrails", 2, 1),
        ("DescribeTrails", 2, 1),
        ("GetTrailStatus", 2, 1),
        ("PutEventSelectors", 5, 1),  # in the data account, as the assumed role
        ("StopLogging", 5, 2),  # S3 delivery + EventBridge copy, one finding
    ]
    assert {r["userArn"] for r in flagged} == {
        "arn:aws:iam::111122223333:user/m.okafor",
        "arn:aws:sts::444455556666:assumed-role/acme-data-crossaccount-admin/aws-support-sync",
    }
    assert res.stats.correlation.hits[c.id] == 2  # one episode per principal


@pytest.mark.parametrize("gap", ["10:30:00", "10:30:01"])
def test_shipped_rule_window_edge(tmp_path: Path, gap: str) -> None:
    recs = [ct("GetTrailStatus", "10:00:00", "alice", 1), ct("StopLogging", gap, "alice", 2)]
    (tmp_path / "t.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs), encoding="utf-8")
    rows = rows_of([tmp_path])
    inside = gap == "10:30:00"
    assert [(r["eventName"], r["suspicion_score"]) for r in rows] == (
        [("StopLogging", 5), ("GetTrailStatus", 2)] if inside else [("StopLogging", 3)]
    )
