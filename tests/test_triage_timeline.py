"""One principal's timeline (issue #11, item 4), through the real CLI: every event of the
principal, not only findings, in time order, the findings marked; checked against plain Python
over the raw invictus-ir records and against the demo generator's story."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from tests.test_triage_principals import stratus_principal
from trailhound.demo import dataset_path


def th(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "trailhound", *args],
        capture_output=True, text=True, timeout=300, check=False,
    )


def timeline(*args: str) -> list[dict[str, Any]]:
    p = th("timeline", "--format", "jsonl", "-q", *args)
    assert p.returncode == 0, p.stderr
    return [json.loads(line) for line in p.stdout.splitlines()]


def findings(*paths: str) -> list[dict[str, Any]]:
    p = th("detect", "--format", "jsonl", "-q", *paths)
    return [json.loads(line) for line in p.stdout.splitlines()]


def test_invictus_timeline_is_every_event_of_the_operator(external: Path) -> None:
    folder = external / "invictus-ir-aws_dataset"
    who = stratus_principal(folder)
    # the oracle: the principal's records, one per eventID (CloudTrail's duplicate deliveries)
    raw: dict[str, str] = {}
    for path in sorted(folder.rglob("*.json")):
        for rec in json.loads(path.read_text(encoding="utf-8"))["Records"]:
            if (rec.get("userIdentity") or {}).get("arn") == who:
                raw.setdefault(rec["eventID"], rec["eventTime"])
    rows = timeline("--principal", who, str(folder))
    assert sorted(r["eventID"] for r in rows) == sorted(raw)
    assert [r["time"] for r in rows] == sorted(r["time"] for r in rows)
    assert all(r["principal"] == who for r in rows)
    # findings are marked with their score and signals, and only they are
    theirs = {r["eventID"]: r for r in findings(str(folder)) if r["userArn"] == who}
    marked = {r["eventID"]: r for r in rows if r["suspicion_score"] is not None}
    assert marked.keys() == theirs.keys()
    assert all(marked[k]["signals"] == theirs[k]["signals"] for k in marked)
    # and the unflagged events around them are there: between its first and last finding
    first, last = min(r["time"] for r in marked.values()), max(r["time"] for r in marked.values())
    between = [r for r in rows if first < r["time"] < last and r["suspicion_score"] is None]
    assert len(between) > len(marked)


def test_demo_timeline_shows_the_recon_before_the_tampering() -> None:
    """The story: recon (GetCallerIdentity, ListUsers), then GetTrailStatus and StopLogging."""
    rows = timeline("--principal", "user/m.okafor", str(dataset_path()))
    ops = [r["operation"] for r in rows]
    assert ops.index("GetCallerIdentity") < ops.index("ListUsers") < ops.index("StopLogging")
    whoami = [r for r in rows if r["operation"] == "GetCallerIdentity"]
    assert whoami and all(r["suspicion_score"] is None for r in whoami)
    # ListUsers before the IAM changes is marked, by the recon correlation (issue #13 point 4)
    listed = rows[ops.index("ListUsers")]
    assert [s["rule_id"] for s in listed["signals"]] == ["d0a47b0d-1b4a-482f-a1dd-39cc2e694e4e"]
    stop = rows[ops.index("StopLogging")]
    assert stop["suspicion_score"] and any(s["signal"] == "security_disable" for s in stop["signals"])


def test_around_keeps_the_window_and_points_at_the_event() -> None:
    demo = str(dataset_path())
    every = timeline("--principal", "user/m.okafor", demo)
    stop = next(r for r in every if r["operation"] == "StopLogging")
    near = timeline("--principal", "user/m.okafor", "--around", stop["eventID"], "--window", "2m", demo)

    def seconds(r: dict[str, Any]) -> int:
        h, m, s = (int(x) for x in r["time"][11:19].split(":"))
        return h * 3600 + m * 60 + s

    want = [r["eventID"] for r in every if abs(seconds(r) - seconds(stop)) <= 120]
    assert [r["eventID"] for r in near] == want and len(want) > 1
    assert [r["around"] for r in near].count(True) == 1
    assert next(r for r in near if r["around"])["eventID"] == stop["eventID"]


def test_unknown_principal_and_bad_window_are_usage_errors() -> None:
    demo = str(dataset_path())
    p = th("timeline", "-q", "--principal", "user/m.okafr", demo)
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert "no event of principal 'user/m.okafr'" in p.stderr and "Did you mean" in p.stderr
    p = th("timeline", "-q", "--principal", "user/m.okafor", "--around", "nope", demo)
    assert p.returncode == 2 and "event 'nope' is not one of" in p.stderr
    p = th("timeline", "-q", "--principal", "user/m.okafor", "--window", "soon", demo)
    assert p.returncode == 2 and "'soon' is not a duration" in p.stderr


def test_demo_timeline_of_the_top_principal_shows_unflagged_events_around_its_findings() -> None:
    demo = str(dataset_path())
    p = th("principals", "--format", "jsonl", "-q", demo)
    top = json.loads(p.stdout.splitlines()[0])
    rows = timeline("--principal", top["principal"], demo)
    assert all(r["principal"] == top["principal"] for r in rows)
    marked = [r for r in rows if r["suspicion_score"] is not None]
    assert len(marked) == top["findings"]

    def at(r: dict[str, Any]) -> datetime:
        return datetime.fromisoformat(r["time"][:19])

    found = [at(r) for r in marked]
    around = [
        r for r in rows
        if r["suspicion_score"] is None and any(abs(at(r) - t) <= timedelta(hours=1) for t in found)
    ]
    assert around


def test_since_until_bound_the_timeline_too() -> None:
    demo = str(dataset_path())
    every = timeline("--principal", "user/m.okafor", demo)
    since, until = "2026-03-14T10:04:00Z", "2026-03-14T10:06:00Z"
    inside = timeline("--principal", "user/m.okafor", "--since", since, "--until", until, demo)
    want = [r["eventID"] for r in every if since <= r["time"] < until]
    assert [r["eventID"] for r in inside] == want and want
