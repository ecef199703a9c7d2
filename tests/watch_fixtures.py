"""A CloudTrail generator for the watch tests: batches of S3-shaped files, each batch planting a
recon call (GetTrailStatus) whose tampering call (StopLogging, same principal, 5 minutes later)
only comes in the NEXT batch, so the correlation mr_aws_cloudtrail_recon_then_tamper can only be
seen by a run that carries its window across batches. It knows what it planted (`Planted`): the
tests check the alerts against that, in plain Python, as well as against `detect`."""

from __future__ import annotations

import gzip
import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

T0 = datetime(2026, 3, 14, 8, 0, tzinfo=UTC)
ACCOUNT = "111122223333"
CORRELATION = "95e44c45-15b5-4202-aaaa-b1bbcb2e41b8"  # mr_aws_cloudtrail_recon_then_tamper
SECURITY_DISABLE = "70becef3-34ae-5677-8c6a-859c3172b43c"


@dataclass
class Planted:
    recon: dict[int, str] = field(default_factory=dict)  # batch -> eventID of its recon call
    tamper: dict[int, str] = field(default_factory=dict)  # batch -> eventID of its StopLogging


def record(name: str, user: str, when: datetime, event_id: str, source: str) -> dict[str, Any]:
    return {
        "eventVersion": "1.08",
        "userIdentity": {
            "type": "IAMUser", "principalId": "AIDAEXAMPLE" + user.upper(),
            "arn": f"arn:aws:iam::{ACCOUNT}:user/{user}", "accountId": ACCOUNT,
            "accessKeyId": "AKIAEXAMPLE", "userName": user,
        },
        "eventTime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": source,
        "eventName": name,
        "awsRegion": "us-east-1",
        "sourceIPAddress": "203.0.113.77",
        "userAgent": "aws-cli/2.15.0",
        "requestParameters": None,
        "responseElements": None,
        "eventID": event_id,
        "readOnly": name.startswith(("Get", "List", "Describe")),
        "eventType": "AwsApiCall",
        "recipientAccountId": ACCOUNT,
    }


def _write(path: Path, records: list[dict[str, Any]]) -> None:
    """Atomically (a hidden temporary name, which discovery skips, then a rename): a reader
    never sees half a file."""
    tmp = path.with_name("." + path.name + ".tmp")
    with gzip.open(tmp, "wt") as f:
        json.dump({"Records": records}, f)
    os.replace(tmp, path)


def drop_batch(root: Path, i: int, planted: Planted, rewrite: bool = True) -> None:
    """Batch i: two files of one 5-minute slot (recon by user i, tampering by user i-1, an IAM
    change and benign reads), and every 5th batch (with `rewrite`) a rewrite of the previous
    batch's first file with one more record (a changed file: read again, its old alerts not
    repeated)."""
    t = T0 + timedelta(minutes=5 * i)
    day = root / "AWSLogs" / ACCOUNT / "CloudTrail" / "us-east-1" / t.strftime("%Y/%m/%d")
    day.mkdir(parents=True, exist_ok=True)
    stamp = t.strftime("%Y%m%dT%H%MZ")
    recon_id = f"recon-{i:04d}"
    planted.recon[i] = recon_id
    a = [
        record("GetTrailStatus", f"user{i}", t, recon_id, "cloudtrail.amazonaws.com"),
        record("ListBuckets", f"user{i}", t + timedelta(seconds=5), f"read-{i:04d}", "s3.amazonaws.com"),
        record("CreateUser", f"user{i}", t + timedelta(seconds=9), f"iam-{i:04d}", "iam.amazonaws.com"),
    ]
    b = [record("DescribeInstances", "ops", t + timedelta(seconds=20), f"ops-{i:04d}", "ec2.amazonaws.com")]
    if i > 0:
        tamper_id = f"tamper-{i:04d}"
        planted.tamper[i] = tamper_id
        b.append(record("StopLogging", f"user{i - 1}", t + timedelta(seconds=30), tamper_id,
                        "cloudtrail.amazonaws.com"))
    _write(day / f"{ACCOUNT}_CloudTrail_us-east-1_{stamp}_a.json.gz", a)
    _write(day / f"{ACCOUNT}_CloudTrail_us-east-1_{stamp}_b.json.gz", b)
    if rewrite and i % 5 == 4:
        p = T0 + timedelta(minutes=5 * (i - 1))
        prev = root / "AWSLogs" / ACCOUNT / "CloudTrail" / "us-east-1" / p.strftime("%Y/%m/%d")
        name = f"{ACCOUNT}_CloudTrail_us-east-1_{p.strftime('%Y%m%dT%H%MZ')}_a.json.gz"
        with gzip.open(prev / name, "rt") as f:
            records = json.load(f)["Records"]
        records.append(record("CreateAccessKey", f"user{i - 1}", p + timedelta(seconds=40),
                              f"late-{i:04d}", "iam.amazonaws.com"))
        _write(prev / name, records)
