"""Full-size hostile inputs, default caps, default engine: peak RSS and time of each scan.

    python bench/hostile.py                 # data generated once into /tmp/trailhound-hostile
    python bench/hostile.py --only bomb,tiny --engine reference

Each case scans the hostile input together with a small clean CloudTrail file holding a
StopLogging record (the control): its finding must come out, whatever the other input does.
Peak RSS is the largest sum of RSS over the CLI process and all its worker processes, sampled
every 20 ms (tests/hostile_inputs.run_measured). Prints a Markdown table for bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests import hostile_inputs as H

GiB = 1 << 30
MiB = 1 << 20
TARGET = 512 * MiB


def _bomb(path: Path) -> Path:
    """10 GiB of zeros as ten 1 GiB gzip members (about 10 MB): one member, written ten times."""
    one = path.with_suffix(".member")
    H.gzip_bomb(one, GiB)
    member = one.read_bytes()
    with open(path, "wb") as fh:
        fh.writelines(member for _ in range(10))
    one.unlink()
    return path


CASES: dict[str, tuple[str, str, Callable[[Path], Path]]] = {
    "bomb": ("10 GiB gzip bomb (zeros, 10 MB .gz)", "bomb.json.gz", _bomb),
    "jsonl": ("1 GiB JSON lines (CloudTrail)", "big.jsonl", lambda p: H.big_jsonl(p, GiB)),
    "tiny": ("1M tiny records in one {\"Records\":[...]}", "tiny.json",
             lambda p: H.tiny_records(p, 1_000_000)),
    "bad": ("1M bad records ({} each, 3 MB)", "empty.json", lambda p: H.empty_records(p, 1_000_000)),
    "spaces": ('{"Records":[ then 2 GiB of spaces', "spaces.json",
               lambda p: H.open_records_then_spaces(p, 2 * GiB)),
    "junk": ("JSON lines after a 200 MB junk first line", "junk.jsonl",
             lambda p: H.junk_then_record(p, 200 * MiB)),
    "matching": ("1M matching records in one JSON-lines file (a StopLogging each)",
                 "matching.jsonl", lambda p: H.matching_jsonl(p, 1_000_000)),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("/tmp/trailhound-hostile"))
    ap.add_argument("--only", default=",".join(CASES))
    ap.add_argument("--engine", default=None, help="default: the CLI's default engine")
    args = ap.parse_args()
    args.data.mkdir(parents=True, exist_ok=True)
    control = H.control_file(args.data / "control.json")
    want = H.stop_logging(7)["eventID"]
    print("| input | size on disk | exit | peak RSS | time | control finding |")
    print("|---|---|---|---|---|---|")
    worst = 0
    for key in args.only.split(","):
        what, name, build = CASES[key]
        path = args.data / name
        if not path.exists():
            t = time.monotonic()
            build(path)
            print(f"(built {name} in {time.monotonic() - t:.0f} s)", file=sys.stderr)
        engine = ["--engine", args.engine] if args.engine else []
        run = H.run_measured(
            ["detect", *engine, "--format", "jsonl", "--profile", "seed", str(control), str(path)],
            timeout=3600,
        )
        ids = {json.loads(line).get("eventID") for line in run.stdout.splitlines()}
        ok = "yes" if want in ids else "**MISSING**"
        worst = max(worst, run.peak_rss)
        print(f"| {what} | {path.stat().st_size / MiB:,.0f} MB | {run.returncode} | "
              f"{run.peak_rss / MiB:,.0f} MB | {run.seconds:,.1f} s | {ok} |", flush=True)
        tail = run.stderr.strip().splitlines()
        print("   stderr: " + " / ".join(t.strip() for t in tail[:4])[:400], file=sys.stderr)
    verdict = "under" if worst < TARGET else "OVER"
    print(f"\nworst peak RSS {worst / MiB:,.0f} MB: {verdict} the {TARGET // MiB} MB target")


if __name__ == "__main__":
    main()
