"""A correlation rule that would hold every event of a huge input (hostile audit: "no input,
however large or hostile, may exhaust memory"): a 99,999-day timespan grouped by a field with a
distinct value per event. The items all correlations hold are capped (Limits.max_correlation,
--max-correlation-events); what passes the cap is counted, reported and makes exit code 3.

Oracles are plain Python over the generated records: which records match the base rule and
carry the group-by field, in input order; the first `cap` of them are held, the rest overflow.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tracemalloc
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from trailhound.engine.base import Match
from trailhound.engine.correlate import Correlator
from trailhound.model import Event, Location
from trailhound.pipeline import scan
from trailhound.profiles import get_profile
from trailhound.report.columns import row
from trailhound.rules.loader import load_paths
from trailhound.rules.model import RuleSet
from trailhound.sources.limits import Limits

BASE_ID = "6c1a1d2e-0b7e-4a53-9b1f-2f2d7d0c0001"
CORR_ID = "6c1a1d2e-0b7e-4a53-9b1f-2f2d7d0c0002"
TITLE = "every bucket lister, forever"
RULES = f"""title: bucket listing
id: {BASE_ID}
name: bucket_listing
logsource: {{product: aws, service: cloudtrail}}
level: low
detection:
  selection:
    eventName: ListBuckets
  condition: selection
---
title: {TITLE}
id: {CORR_ID}
correlation:
  type: event_count
  rules: [bucket_listing]
  group-by: [userIdentity.arn]
  timespan: 99999d
  condition: {{gte: 1}}
"""
T0 = 1_773_482_400  # 2026-03-14T10:00:00Z


def records(n: int) -> list[dict[str, Any]]:
    """n CloudTrail records: mostly ListBuckets by a distinct user each (a group per event),
    every 7th another call (no match), every 11th without an ARN (no group)."""
    out = []
    for i in range(n):
        ident: dict[str, Any] = {"type": "IAMUser", "accountId": "111122223333"}
        if i % 11 != 5:
            ident["arn"] = f"arn:aws:iam::111122223333:user/u{i}"
        out.append({
            "eventVersion": "1.08",
            "eventTime": f"2026-03-14T{10 + i // 3600 % 10:02d}:{i // 60 % 60:02d}:{i % 60:02d}Z",
            "eventSource": "s3.amazonaws.com",
            "eventName": "GetObject" if i % 7 == 3 else "ListBuckets",
            "eventID": str(uuid.UUID(int=i + 1)),
            "userIdentity": ident,
            "awsRegion": "us-east-1",
            "sourceIPAddress": "203.0.113.7",
            "recipientAccountId": "111122223333",
        })
    return out


def correlated(recs: list[dict[str, Any]]) -> list[str]:
    """The oracle: event ids of the records that take part, in input order."""
    return [r["eventID"] for r in recs
            if r["eventName"] == "ListBuckets" and "arn" in r["userIdentity"]]


def setup(tmp_path: Path, n: int) -> tuple[Path, Path, list[dict[str, Any]]]:
    recs = records(n)
    log = tmp_path / "trail.jsonl"
    log.write_text("".join(json.dumps(r) + "\n" for r in recs), encoding="utf-8")
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "forever.yml").write_text(RULES, encoding="utf-8")
    return log, rules, recs


def ruleset(rules: Path) -> RuleSet:
    rs, problems = load_paths([rules])
    assert not problems, [str(p) for p in problems]
    return rs


def correlated_ids(findings_rows: list[dict[str, Any]]) -> set[str]:
    return {r["eventID"] for r in findings_rows if r["correlations"]}


def test_overflow_counted_reported_and_exit_code(tmp_path: Path) -> None:
    log, rules, recs = setup(tmp_path, 3000)
    want = correlated(recs)
    cap = 1000
    assert len(want) > cap
    proc = subprocess.run(
        [sys.executable, "-m", "trailhound", "detect", "--rules", str(rules), "--format", "jsonl",
         "--max-correlation-events", str(cap), str(log)],
        capture_output=True, text=True, timeout=600, check=False,
    )
    assert proc.returncode == 3, proc.stderr  # results incomplete, as for the other caps
    assert "Traceback" not in proc.stderr
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    flagged = {r["eventID"] for r in rows if any(c["rule_id"] == CORR_ID for c in r["correlations"])}
    assert flagged == set(want[:cap])  # the first `cap` in input order were held; each a hit
    (line,) = [x for x in proc.stderr.splitlines() if TITLE in x]
    assert TITLE in line and CORR_ID in line
    assert f"{len(want) - cap:,} matching events" in line
    assert "hits may be missed" in line and "--max-correlation-events" in line
    assert str(log) in line  # located at the first event it could not hold
    assert "correlation_limit 1" in proc.stderr  # counted among the scan's issues


def test_overflow_count_in_the_library(tmp_path: Path) -> None:
    log, rules, recs = setup(tmp_path, 2000)
    want = correlated(recs)
    cap = 300
    res = scan([str(log)], get_profile("full"), ruleset=ruleset(rules),
               limits=Limits(max_correlation=cap))
    assert res.stats.correlation.overflow[CORR_ID] == len(want) - cap
    assert res.stats.correlation.hits[CORR_ID] == cap
    assert res.stats.errors["correlation_limit"] == 1


def test_under_the_cap_equals_an_uncapped_run(tmp_path: Path) -> None:
    log, rules, recs = setup(tmp_path, 1500)
    want = correlated(recs)
    p = get_profile("full")
    rs = ruleset(rules)
    exact = scan([str(log)], p, ruleset=rs, limits=Limits(max_correlation=len(want)))
    uncapped = scan([str(log)], p, ruleset=rs, limits=Limits(max_correlation=10**12))
    assert exact.stats.error_count == uncapped.stats.error_count == 0
    assert not exact.stats.correlation.overflow
    rows = [row(f, p) for f in exact.findings]
    assert rows == [row(f, p) for f in uncapped.findings]
    assert correlated_ids(rows) == set(want)
    # one below: exactly the last one is left out, and said so
    short = scan([str(log)], p, ruleset=rs, limits=Limits(max_correlation=len(want) - 1))
    assert short.stats.correlation.overflow[CORR_ID] == 1
    assert correlated_ids([row(f, p) for f in short.findings]) == set(want[:-1])


def _matches(rs: RuleSet, n: int) -> Iterator[Match]:
    """n matches, made one at a time (so only what the correlator holds stays in memory)."""
    (c,) = rs.correlations
    rule = c.rules[0]
    for i in range(n):
        arn = f"arn:aws:iam::111122223333:user/u{i}"
        e = Event(
            source="cloudtrail", provider="aws", location=Location("mem", line=i + 1),
            raw={"eventName": "ListBuckets", "eventID": str(uuid.UUID(int=i + 1)),
                 "userIdentity": {"arn": arn}},
            time_ns=(T0 + i) * 10**9, operation="ListBuckets", principal=arn,
            status="success", event_id=str(uuid.UUID(int=i + 1)),
        )
        yield Match(e, [rule], [])


def _held_bytes(rs: RuleSet, n: int, cap: int) -> int:
    """tracemalloc bytes still allocated after feeding n matches to a Correlator with `cap`."""
    tracemalloc.start()
    try:
        cor = Correlator(rs.correlations, max_items=cap)
        base = tracemalloc.get_traced_memory()[0]
        for i, m in enumerate(_matches(rs, n)):
            cor.add(m, i)
        held = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    assert cor.stats.overflow[CORR_ID] == max(0, n - cap)
    return held


def test_memory_stays_bounded_past_the_cap(tmp_path: Path) -> None:
    _, rules, _ = setup(tmp_path, 1)
    rs = ruleset(rules)
    cap = 2000
    small = _held_bytes(rs, cap, cap)
    large = _held_bytes(rs, 20 * cap, cap)  # ten times as many events past the cap
    # Uncapped, the large run would hold ~20x the small one; capped it holds about the same
    # (generous margin: the overflow bookkeeping is a counter and one location per rule).
    assert large < 1.5 * small + (256 << 10), (small, large)


def test_a_bad_cap_is_a_usage_error(tmp_path: Path) -> None:
    log, _, _ = setup(tmp_path, 3)
    for bad in ("0", "lots"):
        proc = subprocess.run(
            [sys.executable, "-m", "trailhound", "detect", "--max-correlation-events", bad, str(log)],
            capture_output=True, text=True, timeout=600, check=False,
        )
        assert proc.returncode == 2, proc.stderr
        assert "--max-correlation-events" in proc.stderr and "Traceback" not in proc.stderr
        assert proc.stdout == ""
