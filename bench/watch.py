"""Per-cycle time and memory of incremental detection as the state grows (issue 15).

    python bench/watch.py                        # up to 100,000 seen files, 100 new per cycle
    python bench/watch.py --files 20000 --batch 50 --engine reference --lookback 2d

The folder is filled (small CloudTrail S3-layout files, tests/watch_fixtures' records) and read
by untimed catch-up cycles up to each checkpoint (1%, 10%, 30%, 100% of --files); at each, one
steady cycle is timed: --batch new files dropped, then one `Detector.run` (the listing of
the folders that changed, watch/listing.py, the state lookup of their files, the scan of the
new ones, the commit), then another batch's cycle under tracemalloc for its allocation peak.
Printed: the files seen, the timed cycle's wall time and the other's Python allocation peak,
each also as a ratio to the first checkpoint's, from the same run; the folders the timed cycle
listed; and, apart, the time of the listing alone (list_inputs: one stat per folder, the
entries of the changed ones), as the cycle does it (default: no --lookback, the whole folder
tree). In-process (no interpreter start-up); run on an idle machine.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.watch_fixtures import ACCOUNT, T0, record
from trailhound.cli.scan_options import ScanOptions
from trailhound.profiles import get_profile
from trailhound.sources import datepath
from trailhound.tuning.window import parse_duration
from trailhound.watch.cycle import NEWEST_DAY, Detector
from trailhound.watch.listing import list_inputs
from trailhound.watch.state import State

PER_DAY = 1000


def fill(root: Path, start: int, stop: int) -> None:
    """Files start..stop-1: one per minute of CloudTrail, PER_DAY per date folder
    (CloudTrail/REGION/YYYY/MM/DD/, as S3 holds them)."""
    for n in range(start, stop):
        t = T0 + timedelta(minutes=n)
        day = (T0 + timedelta(days=n // PER_DAY)).strftime("%Y/%m/%d")
        folder = root / "AWSLogs" / ACCOUNT / "CloudTrail" / "us-east-1" / day
        folder.mkdir(parents=True, exist_ok=True)
        recs = [
            record("ListBuckets", "ops", t, f"r-{n}", "s3.amazonaws.com"),
            record("CreateUser" if n % 10 == 0 else "GetTrailStatus", f"u{n % 50}", t,
                   f"x-{n}", "iam.amazonaws.com" if n % 10 == 0 else "cloudtrail.amazonaws.com"),
        ]
        with gzip.open(folder / f"{ACCOUNT}_CloudTrail_us-east-1_{n:08d}.json.gz", "wt",
                       compresslevel=1) as f:
            json.dump({"Records": recs}, f)


def walk_before(state: State, lookback: int | None) -> datepath.Day | None:
    newest = state.get_meta(NEWEST_DAY)
    if lookback is None or not newest:
        return None
    y, m, d = map(int, newest.split("-"))
    return datepath.day_of(int(datetime(y, m, d, tzinfo=UTC).timestamp()) * 10**9 - lookback)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=100_000)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--engine", default="fast")
    ap.add_argument("--lookback", default="none",
                    help="watch --lookback (date folders older are not walked); 'none': all")
    args = ap.parse_args()
    lookback = None if args.lookback == "none" else parse_duration(args.lookback)
    points = sorted({max(args.batch, int(args.files * f)) for f in (0.01, 0.1, 0.3, 1.0)})
    with tempfile.TemporaryDirectory(prefix="trailhound-watch-bench-") as tmp:
        root = Path(tmp) / "logs"
        root.mkdir()
        state = State(str(Path(tmp) / "state.db"))
        opts = ScanOptions(paths=(str(root),), profile=get_profile("corrected"), engine=args.engine)
        detector = Detector(opts, None, lookback_ns=lookback)
        made = 0
        first: tuple[float, float, float] | None = None
        print(f"{'files seen':>10} {'cycle s':>8} {'x first':>8} {'peak MB':>8} {'x first':>8} "
              f"{'listed':>6} {'listing s':>9} {'rest s':>7} {'x first':>8}")
        for point in points:
            fill(root, made, point - args.batch)  # catch up (untimed)
            detector.run(state)
            fill(root, point - args.batch, point)
            made = point
            t = time.perf_counter()
            result = detector.run(state)  # timed without tracemalloc (it slows allocation)
            wall = time.perf_counter() - t
            assert result.files == args.batch, result.files
            listed = result.folders_listed
            fill(root, made, made + args.batch)  # one more batch, for the memory peak
            made += args.batch
            tracemalloc.start()
            detector.run(state)
            peak = tracemalloc.get_traced_memory()[1] / 1e6
            tracemalloc.stop()
            t = time.perf_counter()
            datepath.WALK_BEFORE = walk_before(state, lookback)
            list_inputs(opts.paths, state)  # as the cycle lists it (nothing changed since)
            datepath.WALK_BEFORE = None
            listing = time.perf_counter() - t
            rest = max(wall - listing, 1e-9)
            first = first or (wall, peak, rest)
            print(f"{state.files_seen():>10} {wall:>8.2f} {wall / first[0]:>8.2f} "
                  f"{peak:>8.1f} {peak / first[1]:>8.2f} {listed:>6} {listing:>9.3f} {rest:>7.2f} "
                  f"{rest / first[2]:>8.2f}", flush=True)
        state.close()


if __name__ == "__main__":
    main()
