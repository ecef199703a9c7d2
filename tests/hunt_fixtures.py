"""Small realistic audit records for the hunt tests, and plain-Python oracles over raw records.

The oracles read the raw records (eventName, userIdentity.arn, eventTime...) themselves, never
trailhound's normalized events, and implement each hunt's documented rule on their own, so a
hunt that drifts from its description fails its test.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

T0 = dt.datetime(2026, 5, 4, 9, 0, 0, tzinfo=dt.UTC)
ACCT = "111122223333"
OTHER = "444455556666"
THIRD = "777788889999"
_ids = itertools.count(1)

Rec = dict[str, Any]


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def iso(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def shown(t: dt.datetime) -> str:
    """A time as trailhound prints it: RFC 3339 UTC, milliseconds (truncated)."""
    t = t.astimezone(dt.UTC)
    return t.strftime("%Y-%m-%dT%H:%M:%S") + f".{t.microsecond // 1000:03d}Z"


def parse(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def user(name: str, acct: str = ACCT) -> dict[str, Any]:
    return {
        "type": "IAMUser",
        "principalId": "AIDA" + name.upper().replace("-", "")[:12].ljust(12, "X"),
        "arn": f"arn:aws:iam::{acct}:user/{name}",
        "accountId": acct,
        "accessKeyId": "AKIA" + name.upper().replace("-", "")[:12].ljust(12, "Q"),
        "userName": name,
    }


def role(role_name: str, session: str, acct: str = ACCT) -> dict[str, Any]:
    return {
        "type": "AssumedRole",
        "principalId": f"AROAEXAMPLE{role_name.upper()[:6]}:{session}",
        "arn": f"arn:aws:sts::{acct}:assumed-role/{role_name}/{session}",
        "accountId": acct,
        "sessionContext": {
            "sessionIssuer": {
                "type": "Role",
                "arn": f"arn:aws:iam::{acct}:role/{role_name}",
                "accountId": acct,
                "userName": role_name,
            }
        },
    }


def root(acct: str = ACCT) -> dict[str, Any]:
    return {"type": "Root", "principalId": acct, "arn": f"arn:aws:iam::{acct}:root", "accountId": acct}


def ct(
    name: str,
    source: str,
    when: dt.datetime,
    who: dict[str, Any],
    *,
    ip: str = "203.0.113.10",
    ua: str = "aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64",
    error: str | None = None,
    request: dict[str, Any] | None = None,
    response: dict[str, Any] | None = None,
    **extra: Any,
) -> Rec:
    rec: Rec = {
        "eventVersion": "1.09",
        "userIdentity": who,
        "eventTime": iso(when),
        "eventSource": source,
        "eventName": name,
        "awsRegion": "us-east-1",
        "sourceIPAddress": ip,
        "userAgent": ua,
        "requestParameters": request,
        "responseElements": response,
        "requestID": f"req-{next(_ids)}",
        "eventID": f"0000{next(_ids):04d}-aaaa-4bbb-8ccc-{next(_ids):012d}",
        "readOnly": name.startswith(("Get", "List", "Describe")),
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": who.get("accountId", ACCT),
        "eventCategory": "Management",
    }
    if error is not None:
        rec["errorCode"] = error
        rec["errorMessage"] = f"User is not authorized to perform {name}"
    rec.update(extra)
    return rec


def write_trail(path: Path, records: list[Rec]) -> Path:
    """A CloudTrail S3 delivery file."""
    path.write_text(json.dumps({"Records": records}), encoding="utf-8")
    return path


def write_jsonl(path: Path, records: list[Rec]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


# ---------------------------------------------------------------------------------------------
# The spec's lists, as the hunts document them (their description names each call).

RECON = {
    ("cloudtrail.amazonaws.com", "GetTrailStatus"),
    ("cloudtrail.amazonaws.com", "DescribeTrails"),
    ("cloudtrail.amazonaws.com", "ListTrails"),
    ("cloudtrail.amazonaws.com", "GetEventSelectors"),
    ("cloudtrail.amazonaws.com", "GetTrail"),
    ("guardduty.amazonaws.com", "ListDetectors"),
    ("guardduty.amazonaws.com", "GetDetector"),
    ("config.amazonaws.com", "DescribeConfigurationRecorders"),
    ("iam.amazonaws.com", "ListUsers"),
    ("iam.amazonaws.com", "ListRoles"),
    ("iam.amazonaws.com", "ListGroups"),
    ("iam.amazonaws.com", "ListAccessKeys"),
    ("iam.amazonaws.com", "GetAccountAuthorizationDetails"),
}
TAMPER = {
    ("cloudtrail.amazonaws.com", "StopLogging"),
    ("cloudtrail.amazonaws.com", "DeleteTrail"),
    ("cloudtrail.amazonaws.com", "UpdateTrail"),
    ("cloudtrail.amazonaws.com", "PutEventSelectors"),
    ("guardduty.amazonaws.com", "DeleteDetector"),
    ("guardduty.amazonaws.com", "UpdateDetector"),
    ("config.amazonaws.com", "StopConfigurationRecorder"),
    ("config.amazonaws.com", "DeleteConfigurationRecorder"),
    ("ec2.amazonaws.com", "DeleteFlowLogs"),
}


def _key(r: Rec) -> tuple[str, str]:
    return (r.get("eventSource", ""), r.get("eventName", ""))


def arn(r: Rec) -> str | None:
    return (r.get("userIdentity") or {}).get("arn")


def _by_principal(records: Iterable[Rec], keep: Any) -> dict[str, list[Rec]]:
    """Records with a caller ARN and an event time, by ARN, in time order."""
    out: dict[str, list[Rec]] = defaultdict(list)
    for r in records:
        if arn(r) and r.get("eventTime") and keep(r):
            out[arn(r)].append(r)
    for rs in out.values():
        rs.sort(key=lambda r: parse(r["eventTime"]))
    return out


def _busiest(times: list[dt.datetime], span: dt.timedelta) -> tuple[int, int]:
    """(index of the earliest start, size) of the fullest [t, t + span] window."""
    best = (0, 0)
    for i, t in enumerate(times):
        n = sum(1 for u in times if t <= u <= t + span)
        if n > best[1]:
            best = (i, n)
    return best


def oracle_recon_without_tampering(records: list[Rec]) -> set[tuple[Any, ...]]:
    recon = _by_principal(records, lambda r: _key(r) in RECON)
    tamper = _by_principal(records, lambda r: _key(r) in TAMPER)
    out = set()
    for p, rs in recon.items():
        times = [parse(r["eventTime"]) for r in rs]
        i, n = _busiest(times, dt.timedelta(minutes=10))
        if n < 3:
            continue
        start = times[i]
        if any(parse(t["eventTime"]) >= start for t in tamper.get(p, [])):
            continue
        inside = [r for r, t in zip(rs, times) if start <= t <= start + dt.timedelta(minutes=10)]
        ops = tuple(sorted({r["eventName"] for r in inside}))
        end = max(parse(r["eventTime"]) for r in inside)
        out.add((p, shown(start), shown(end), n, ops))
    return out


def oracle_recon_then_tampering(records: list[Rec]) -> set[tuple[Any, ...]]:
    recon = _by_principal(records, lambda r: _key(r) in RECON)
    out = set()
    for t in records:
        if _key(t) not in TAMPER or not arn(t):
            continue
        p, when = arn(t), parse(t["eventTime"])
        before = [
            r for r in recon.get(p, [])
            if when - dt.timedelta(hours=1) <= parse(r["eventTime"]) <= when
        ]
        if before:
            status = "failure" if t.get("errorCode") else "success"
            ops = tuple(sorted({r["eventName"] for r in before}))
            out.add((p, shown(when), t["eventName"], status, len(before), ops))
    return out


def _aws_own(value: str) -> bool:
    return value == "AWS Internal" or value.endswith(".amazonaws.com")


def oracle_new_source(records: list[Rec]) -> set[tuple[Any, ...]]:
    by_p = _by_principal(records, lambda r: True)
    out = set()
    for p, rs in by_p.items():
        first = parse(rs[0]["eventTime"])
        for kind, field in (("source_ip", "sourceIPAddress"), ("user_agent", "userAgent")):
            seen: dict[str, list[dt.datetime]] = defaultdict(list)
            for r in rs:
                if r.get(field) and not _aws_own(r[field]):
                    seen[r[field]].append(parse(r["eventTime"]))
            for value, times in seen.items():
                if min(times) > first + dt.timedelta(hours=1):
                    out.add((p, kind, value, shown(min(times)), shown(max(times)), len(times)))
    return out


def oracle_access_key_for_other_user(records: list[Rec]) -> set[tuple[Any, ...]]:
    out = set()
    for r in records:
        if _key(r) != ("iam.amazonaws.com", "CreateAccessKey"):
            continue
        target = (r.get("requestParameters") or {}).get("userName")
        if target is None or target == r["userIdentity"].get("userName"):
            continue
        key = ((r.get("responseElements") or {}).get("accessKey") or {}).get("accessKeyId")
        out.add((shown(parse(r["eventTime"])), arn(r), target, key, r.get("errorCode")))
    return out


def oracle_assume_role_cross_account(records: list[Rec]) -> set[tuple[Any, ...]]:
    calls_by: dict[str, int] = defaultdict(int)
    for r in records:
        if "arn" in r.get("userIdentity", {}):
            calls_by[r["userIdentity"]["arn"]] += 1
    out = set()
    for r in records:
        who = r.get("userIdentity", {})
        if _key(r) != ("sts.amazonaws.com", "AssumeRole") or who.get("type") == "AWSService":
            continue
        role_arn = (r.get("requestParameters") or {}).get("roleArn")
        parts = role_arn.split(":") if isinstance(role_arn, str) else []
        target = parts[4] if len(parts) > 4 else ""
        caller = who.get("accountId") or r.get("recipientAccountId")
        if not target or not caller or target == caller:
            continue
        session = ((r.get("responseElements") or {}).get("assumedRoleUser") or {}).get("arn")
        out.add((
            who["arn"], caller, role_arn, target, who.get("type") == "AssumedRole",
            session, calls_by.get(session, 0) if session else 0,
        ))
    return out


PRIVILEGED_AWS = {"AttachUserPolicy", "CreateUser", "AssumeRole", "CreateAccessKey"}


def oracle_failed_then_succeeded(calls: list[tuple[str, str, dt.datetime, str, str | None]]) -> set[tuple[Any, ...]]:
    """calls: (principal, operation, time, success|failure, error code) of privileged calls."""
    groups: dict[tuple[str, str], list[tuple[dt.datetime, str, str | None]]] = defaultdict(list)
    for p, op, t, status, code in calls:
        groups[(p, op)].append((t, status, code))
    out = set()
    for (p, op), evs in groups.items():
        successes = sorted(t for t, s, _ in evs if s == "success")
        for s_t in successes:
            prev = max((t for t in successes if t < s_t), default=None)
            fails = [
                (t, c) for t, s, c in evs
                if s == "failure" and s_t - dt.timedelta(hours=1) <= t < s_t
                and (prev is None or t > prev)
            ]
            if fails:
                codes = tuple(sorted({c for _, c in fails if c is not None}))
                out.add((p, op, len(fails), shown(min(t for t, _ in fails)), shown(s_t), codes))
    return out


_READ = re.compile(r"^(List|Describe|Get)")


def oracle_enumeration_bursts(records: list[Rec]) -> set[tuple[Any, ...]]:
    reads = _by_principal(
        records,
        lambda r: _READ.match(r.get("eventName", "")) and r.get("eventCategory", "Management") == "Management",
    )
    out = set()
    for p, rs in reads.items():
        times = [parse(r["eventTime"]) for r in rs]
        best: tuple[int, int, int] | None = None  # calls, -index, distinct
        for i, t in enumerate(times):
            inside = [r for r, u in zip(rs, times) if t <= u <= t + dt.timedelta(minutes=10)]
            distinct = len({r["eventName"] for r in inside})
            if len(inside) >= 20 and distinct >= 5 and (best is None or len(inside) > best[0]):
                best = (len(inside), i, distinct)
        if best is not None:
            n, i, distinct = best
            out.add((p, shown(times[i]), n, distinct))
    return out
