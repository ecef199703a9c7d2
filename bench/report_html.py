"""How long `trailhound report` takes to write a page of many findings, against a bound
measured in the same run: `trailhound detect --format jsonl` of the same input (the scan and
the rows alone). Run by hand, never from the tests:

    python bench/report_html.py                    # 50,000 findings, into bench/data/report/
    python bench/report_html.py --findings 5000 --keep /tmp/r.html

The input is dense on purpose: CloudTrail records that each match a shipped rule (StopLogging,
CreateAccessKey, AttachUserPolicy, RunInstances, ...) by 2,000 IAM users over three days, plus as
many benign calls (KMS Decrypt) by the same users, so that 50,000 findings come from ~100,000
records. A realistic trail yields 50,000 findings only from millions of records, where the scan
dominates both commands alike; here the report's own work (spooling, ranking, the events pass,
the plots, the page) is what grows.
"""

from __future__ import annotations

import argparse
import gzip
import os
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

HERE = Path(__file__).resolve().parent
CALLS = [
    ("StopLogging", "cloudtrail.amazonaws.com"),
    ("CreateAccessKey", "iam.amazonaws.com"),
    ("AttachUserPolicy", "iam.amazonaws.com"),
    ("RunInstances", "ec2.amazonaws.com"),
    ("CreateUser", "iam.amazonaws.com"),
    ("PutUserPolicy", "iam.amazonaws.com"),
]
USERS = 2000
PER_FILE = 1000
START = datetime(2026, 3, 1, tzinfo=UTC)


def _record(i: int, who: int, name: str, source: str) -> dict[str, object]:
    user = f"u{who % USERS:04d}"
    t = START + timedelta(seconds=(i * 7919) % (3 * 86400))
    return {
        "eventVersion": "1.08",
        "userIdentity": {"type": "IAMUser", "principalId": f"AIDA{who % USERS:012d}",
                         "arn": f"arn:aws:iam::111122223333:user/{user}",
                         "accountId": "111122223333", "accessKeyId": f"AKIA{who % USERS:016d}",
                         "userName": user},
        "eventTime": t.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": source,
        "eventName": name,
        "awsRegion": "us-east-1",
        "sourceIPAddress": f"198.51.100.{i % 250}",
        "userAgent": "aws-cli/2.15.12 md/awscrt#0.19.19 ua/2.0 os/linux#6.6.9-amd64",
        "requestParameters": {"userName": f"new-{i}", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"},
        "responseElements": None,
        "requestID": f"{i:08x}-0000-4000-8000-000000000000",
        "eventID": f"{i:08x}-1111-4000-8000-000000000000",
        "readOnly": False,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": "111122223333",
    }


def generate(folder: Path, findings: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    records = []
    for i in range(findings):
        records.append(_record(2 * i, i, *CALLS[i % len(CALLS)]))
        records.append(_record(2 * i + 1, i, "Decrypt", "kms.amazonaws.com"))
    for n in range(0, len(records), PER_FILE):
        path = folder / f"111122223333_CloudTrail_us-east-1_{n // PER_FILE:05d}.json.gz"
        path.write_bytes(gzip.compress(orjson.dumps({"Records": records[n:n + PER_FILE]}), 1))


def timed(args: list[str], stdout: object = subprocess.DEVNULL) -> float:
    """Wall seconds of one trailhound run; its CPU seconds (with its worker processes) are
    printed too: on a shared machine they move less than the wall time."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "trailhound", *args], check=True, stdout=stdout)  # type: ignore[arg-type]
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    print(f"  ({args[0]}: {cpu:.1f} CPU s, load average {os.getloadavg()[0]:.1f})", flush=True)
    return wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--findings", type=int, default=50_000)
    ap.add_argument("--data", type=Path, default=HERE / "data" / "report")
    ap.add_argument("--keep", type=Path, default=None, help="write the report here (kept)")
    a = ap.parse_args()
    data = a.data / f"v2-{a.findings}"
    if not data.is_dir():
        generate(data, a.findings)
    out = a.keep or (a.data / f"report-{a.findings}.html")
    os.environ.setdefault("PYTHONPATH", str(HERE.parent))
    print(f"input: {data} ({2 * a.findings} records)", flush=True)
    with open(os.devnull, "wb") as sink:
        bound = timed(["detect", "--format", "jsonl", "-q", str(data)], sink)
    print(f"detect --format jsonl (bound): {bound:6.1f} s", flush=True)
    got = timed(["report", "-q", "-o", str(out), str(data)])
    size = out.stat().st_size / 1e6
    print(f"report -o                    : {got:6.1f} s  ratio {got / bound:4.2f}  "
          f"page {size:.1f} MB  ({out})", flush=True)
    only = timed(["report", "-q", "--findings-only", "-o",
                  str(out.with_suffix(".findings-only.html")), str(data)])
    print(f"report --findings-only       : {only:6.1f} s  ratio {only / bound:4.2f}")
    print("report under a minute:", "yes" if got < 60 else "NO")

if __name__ == "__main__":
    main()
