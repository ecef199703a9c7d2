"""`hunt --allow`: allowlist entries leave the events they match out of a hunt, as `detect`
leaves out the findings; entries naming rules do not apply (hunts have none) and say so.

Oracle: plain Python over the raw records (fnmatch for globs, ipaddress for CIDRs)."""

from __future__ import annotations

import fnmatch
import ipaddress
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.hostile_inputs import stop_logging

ARNS = ["arn:aws:iam::111122223333:user/alice", "arn:aws:iam::111122223333:user/ci-bot",
        "arn:aws:sts::111122223333:assumed-role/deploy/ci-1"]
IPS = ["192.0.2.10", "198.51.100.23", "203.0.113.5"]


def th(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "trailhound", *args], capture_output=True,
                          text=True, timeout=300, check=False)


def _records() -> list[dict[str, Any]]:
    recs = []
    for i in range(27):
        r = stop_logging(i)
        r["eventName"] = ["ListUsers", "GetObject", "StopLogging"][i % 3]
        r["userIdentity"] = {"type": "IAMUser", "arn": ARNS[(i // 3) % 3], "accountId": "111122223333"}
        r["sourceIPAddress"] = IPS[(i // 9) % 3]
        recs.append(r)
    return recs


ALLOW = """\
allow:
  - principal: 'arn:aws:sts::111122223333:assumed-role/deploy/*'
    reason: the deploy pipeline
  - principal: arn:aws:iam::111122223333:user/alice
    cidr: 198.51.100.0/24
    event: [ListUsers, 'Get*']
    reason: alice from the office
  - principal: arn:aws:iam::111122223333:user/ci-bot
    rules: [trailhound-seed-stoplogging]
    reason: names a rule
"""


def _allowed(r: dict[str, Any]) -> bool:
    arn, ip, name = r["userIdentity"]["arn"], r["sourceIPAddress"], r["eventName"]
    if fnmatch.fnmatchcase(arn, "arn:aws:sts::111122223333:assumed-role/deploy/*"):
        return True
    return (arn == ARNS[0] and ipaddress.ip_address(ip) in ipaddress.ip_network("198.51.100.0/24")
            and (name == "ListUsers" or name.startswith("Get")))


def test_allow_leaves_the_matched_events_out_of_a_hunt(tmp_path: Path) -> None:
    recs = _records()
    trail = tmp_path / "t.json"
    trail.write_text(json.dumps({"Records": recs}))
    allow = tmp_path / "allow.yml"
    allow.write_text(ALLOW)
    q = tmp_path / "q.sql"
    q.write_text("SELECT event_id FROM events ORDER BY event_id\n")
    p = th("hunt", "--hunt-sql", str(q), "--allow", str(allow), "--format", "jsonl", str(trail))
    assert p.returncode == 0, p.stderr
    got = [json.loads(line)["event_id"] for line in p.stdout.splitlines()]
    want = sorted(r["eventID"] for r in recs if not _allowed(r))
    assert got == want and 0 < len(want) < len(recs)
    removed_deploy = sum(1 for r in recs if r["userIdentity"]["arn"] == ARNS[2])
    assert f"allow.yml:2 (the deploy pipeline): {removed_deploy} events removed" in p.stderr
    assert p.stderr.count("names rules") == 1
    assert "allow.yml:8 (names a rule): names rules (trailhound-seed-stoplogging), not applied" in p.stderr


def test_entries_naming_rules_are_said_not_to_apply_even_quiet(tmp_path: Path) -> None:
    recs = _records()
    trail = tmp_path / "t.json"
    trail.write_text(json.dumps({"Records": recs}))
    allow = tmp_path / "allow.yml"
    allow.write_text(
        "- principal: 'arn:aws:iam::*'\n  rules: [r1, r2]\n  reason: only for detect\n"
        "- event: StopLogging\n  rules: r3\n"
    )
    q = tmp_path / "q.sql"
    q.write_text("SELECT event_id FROM events\n")
    p = th("hunt", "-q", "--hunt-sql", str(q), "--allow", str(allow), "--format", "jsonl", str(trail))
    assert p.returncode == 0, p.stderr
    assert len(p.stdout.splitlines()) == len(recs)  # nothing left out: no entry applies
    lines = p.stderr.splitlines()
    assert len(lines) == 2, p.stderr  # -q: only the two entries that did not apply
    assert f"{allow}:1 (only for detect): names rules (r1, r2), not applied to hunts" in lines[0]
    assert f"{allow}:4 (no reason given): names rules (r3), not applied to hunts" in lines[1]
    assert all("add an entry without `rules`" in line for line in lines)


def test_a_broken_allowlist_stops_the_hunt_before_reading(tmp_path: Path) -> None:
    allow = tmp_path / "allow.yml"
    allow.write_text("allow:\n  - principal: x\n    colour: red\n")
    q = tmp_path / "q.sql"
    q.write_text("SELECT 1 AS one\n")
    trail = tmp_path / "t.json"
    trail.write_text(json.dumps({"Records": _records()}))
    p = th("hunt", "--hunt-sql", str(q), "--allow", str(allow), str(trail))
    assert p.returncode == 2 and "colour" in p.stderr and "Traceback" not in p.stderr
    assert p.stdout == ""
