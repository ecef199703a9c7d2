"""A correlation whose hits cover every event it holds: peak RSS and time of `detect`.

    python bench/correlation_hits.py                      # 300,000 events, both shapes
    python bench/correlation_hits.py --events 100000 --only groups

The rule is a `gte: 1` event_count over ListBuckets with a timespan of 99,999 days, so every
held event forms a hit (the worst case of the correlation cap, --max-correlation-events,
default 300,000): `groups` groups by userIdentity.arn, distinct per record (one hit per event);
`one` has no group-by (one hit of every event). The correlation does not set `generate`, so its
base rule counts only through it: every finding is one only a hit makes, built once the hits are
known. Do not run `one` on the code before session 9 past a few thousand events: every row
listed every event id of the hit (2,000 events: 151 MB of output; 300,000: terabytes).
Peak RSS: tests/hostile_inputs.run_measured (process tree, 20 ms).
Prints a Markdown table for bench/README.md ("Hostile inputs").
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests import hostile_inputs as H
from tests.test_hostile_correlation import RULES

MiB = 1 << 20

# the hostile test's rules (a `gte: 1` correlation over every ListBuckets, grouped per ARN), and
# the same without its group-by
GROUP_BY = "  group-by: [userIdentity.arn]\n"
SHAPES = {
    "groups": ("one hit per event (group-by a distinct ARN)", RULES),
    "one": ("one hit of every event (no group-by)", RULES.replace(GROUP_BY, "")),
}


def _record(i: int) -> dict[str, object]:
    return {
        "eventVersion": "1.08",
        "eventTime": f"2026-03-{14 + i // 86400:02d}T{i // 3600 % 24:02d}:{i // 60 % 60:02d}:"
                     f"{i % 60:02d}Z",
        "eventSource": "s3.amazonaws.com", "eventName": "ListBuckets",
        "eventID": str(uuid.UUID(int=i + 1)),
        "userIdentity": {"type": "IAMUser", "accountId": "111122223333",
                         "arn": f"arn:aws:iam::111122223333:user/u{i}"},
        "awsRegion": "us-east-1", "sourceIPAddress": "203.0.113.7",
        "recipientAccountId": "111122223333",
    }


def trail(path: Path, n: int) -> Path:
    """n ListBuckets records, a distinct user each, one a second, as JSON lines."""
    with open(path, "w", encoding="utf-8") as fh:
        fh.writelines(json.dumps(_record(i)) + "\n" for i in range(n))
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("/tmp/trailhound-corrhits"))
    ap.add_argument("--events", type=int, default=300_000)
    ap.add_argument("--only", default=",".join(SHAPES))
    ap.add_argument("--engine", default=None, help="default: the CLI's default engine")
    args = ap.parse_args()
    args.data.mkdir(parents=True, exist_ok=True)
    log = args.data / f"listers-{args.events}.jsonl"
    if not log.exists():
        trail(log, args.events)
    print("| correlation | events | exit | findings | output | peak RSS | time |")
    print("|---|---|---|---|---|---|---|")
    for key in args.only.split(","):
        what, text = SHAPES[key]
        rules = args.data / f"{key}.yml"
        rules.write_text(text, encoding="utf-8")
        engine = ["--engine", args.engine] if args.engine else []
        run = H.run_measured(
            ["detect", *engine, "--format", "jsonl", "--profile", "corrected", "--rules",
             str(rules), str(log)],
            timeout=3600,
        )
        lines = run.stdout.count("\n")
        print(f"| {what} | {args.events:,} | {run.returncode} | {lines:,} | "
              f"{len(run.stdout) / MiB:,.0f} MB | {run.peak_rss / MiB:,.0f} MB | "
              f"{run.seconds:,.1f} s |", flush=True)
        tail = run.stderr.strip().splitlines()
        print("   stderr: " + " / ".join(t.strip() for t in tail[-3:])[:400], file=sys.stderr)


if __name__ == "__main__":
    main()
