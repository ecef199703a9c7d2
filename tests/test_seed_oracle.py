"""Acceptance: `detect --profile seed` equals an independent implementation of the seed query.

The oracle below shares no code with trailhound: plain `json` unwraps the files, and the query
itself is hand-written DuckDB SQL transcribed from the Sumo Logic query on the seed page.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

duckdb = pytest.importorskip("duckdb")

SEED_SQL = r"""
WITH x AS (
  SELECT ord,
         json_extract_string(raw, '$.eventName')          AS eventName,
         json_extract_string(raw, '$.operationName')      AS operationName,
         json_extract_string(raw, '$.userIdentity.arn')   AS userArn,
         json_extract_string(raw, '$.userIdentity.type')  AS identityType,
         json_extract_string(raw, '$.sourceIPAddress')    AS sourceIP,
         json_extract_string(raw, '$.awsRegion')          AS awsRegion,
         json_extract_string(raw, '$.errorCode')          AS errorCode,
         json_extract_string(raw, '$.errorMessage')       AS errorMessage,
         json_extract_string(raw, '$.eventID')            AS eventID,
         -- trailhound's `time` is the event time; Logstash-shipped records (OTRF) lost eventTime
         -- and keep it as @timestamp, written with a zero millisecond fraction.
         COALESCE(json_extract_string(raw, '$.eventTime'),
                  regexp_replace(json_extract_string(raw, '$."@timestamp"'), '\.0+Z$', 'Z')) AS eventTime
  FROM recs
), flagged AS (
  SELECT *,
    CASE WHEN eventName IN ('CreateUser','AttachUserPolicy','CreateAccessKey','CreateRole') THEN 1 ELSE 0 END AS iam_change,
    CASE WHEN eventName IN ('StopLogging','DeleteTrail','PutEventSelectors','DisableGuardDuty','DeleteDetector') THEN 1 ELSE 0 END AS security_disable,
    CASE WHEN eventName IN ('AssumeRole','AttachUserPolicy') THEN 1 ELSE 0 END AS priv_esc,
    CASE WHEN eventName IN ('RunInstances','CreateFunction','UpdateFunctionCode') THEN 1 ELSE 0 END AS compute_create
  FROM x
  WHERE eventName IN ('CreateUser','AttachUserPolicy','CreateAccessKey','CreateRole','AssumeRole',
        'GetSessionToken','PutBucketPolicy','DeleteBucketPolicy','CreateFunction','UpdateFunctionCode',
        'RunInstances','CreateKeyPair','StopLogging','DeleteTrail','PutEventSelectors','DisableGuardDuty',
        'DeleteDetector','CreateGroup','AddMemberToGroup')
     OR regexp_matches(operationName, 'roleDefinitions/write|roleAssignments/write|virtualMachines/write')
), scored AS (
  SELECT *, iam_change*2 + security_disable*3 + priv_esc*2 + compute_create AS suspicion_score
  FROM flagged
)
SELECT eventTime AS time, eventName, operationName, userArn, identityType, sourceIP, awsRegion,
       errorCode, errorMessage, iam_change, security_disable, priv_esc, compute_create,
       suspicion_score, eventID
FROM scored
WHERE suspicion_score > 0
ORDER BY suspicion_score DESC, eventTime ASC NULLS LAST, eventID ASC NULLS LAST, ord ASC
"""

FLAGS = ("iam_change", "security_disable", "priv_esc", "compute_create")


def cloudtrail_files(ext: Path) -> list[Path]:
    files = [
        *sorted((ext / "invictus-ir-aws_dataset" / "CloudTrail").glob("*.json")),
        *sorted((ext / "stratus-red-team" / "detonation-logs").glob("*.json")),
        *sorted((ext / "permiso-cloudconsolecartographer").rglob("InputEvents.json")),
        *sorted((ext / "otrf-security-datasets" / "atomic" / "aws").rglob("*.json")),
        ext / "plaso" / "jsonl" / "aws_cloudtrail.jsonl",
    ]
    assert len(files) == 55 + 35 + 32 + 1 + 1
    return files


def oracle_records(path: Path) -> list[dict]:
    """Plain-json unwrapping, written for these files only: Records documents, arrays, JSON
    lines, and lookup-events lines whose record is a JSON string in CloudTrailEvent."""
    text = path.read_text(encoding="utf-8")
    try:
        docs = [json.loads(text)]
    except json.JSONDecodeError:
        docs = [json.loads(line) for line in text.splitlines() if line.strip()]
    out: list[dict] = []
    for d in docs:
        items = d["Records"] if isinstance(d, dict) and "Records" in d else d
        for r in items if isinstance(items, list) else [items]:
            out.append(json.loads(r["CloudTrailEvent"]) if "CloudTrailEvent" in r else r)
    return out


def oracle_rows(files: list[Path]) -> list[dict]:
    con = duckdb.connect()
    con.execute("CREATE TABLE recs (ord INTEGER, raw JSON)")
    rows = []
    for f in files:
        for r in oracle_records(f):
            rows.append((len(rows), json.dumps(r)))
    con.executemany("INSERT INTO recs VALUES (?, ?)", rows)
    cur = con.execute(SEED_SQL)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


def test_seed_profile_equals_hand_written_sql(external: Path) -> None:
    files = cloudtrail_files(external)
    expected = oracle_rows(files)
    # Precondition of comparing times as text: every scored record has a canonical eventTime.
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", r["time"]) for r in expected)
    assert len(expected) > 50  # the data holds many AssumeRole/CreateUser/StopLogging calls
    # Output times have one format in every profile: RFC 3339 UTC, 3 fraction digits.
    for r in expected:
        when = datetime.strptime(r["time"], "%Y-%m-%dT%H:%M:%SZ")
        r["time"] = when.strftime("%Y-%m-%dT%H:%M:%S") + f".{when.microsecond // 1000:03d}Z"

    proc = subprocess.run(
        [sys.executable, "-m", "trailhound", "detect", "--profile", "seed", "--format", "jsonl", "--quiet", *map(str, files)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    got = [json.loads(line) for line in proc.stdout.splitlines()]

    cols = [c for c in expected[0] if c != "eventID"]
    assert [{c: g[c] for c in cols} | {"eventID": g["eventID"]} for g in got] == expected
    for g in got:
        assert g["provider"] == "aws"
        assert {s["signal"] for s in g["signals"]} == {f for f in FLAGS if g[f] == 1}
        assert sum(s["weight"] for s in g["signals"]) == g["suspicion_score"]
    # The column contract: the query's columns first, in its order, then ours.
    assert list(got[0])[:17] == [
        "time", "eventName", "operationName", "userArn", "identityType", "sourceIP", "awsRegion",
        "errorCode", "errorMessage", *FLAGS, "suspicion_score", "eventID", "provider", "signals",
    ]
