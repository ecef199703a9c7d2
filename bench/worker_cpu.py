"""Worker CPU per matching record: the fast engine's per-file scan alone, in this process.

    python bench/worker_cpu.py DIR [--profile corrected] [--rules PATH ...] [--repeat 3]
                               [--rows-only] [--cprofile OUT]

Loads (and decompresses) every file under DIR first, then times what a worker does with them
(`file_scan.file_parts`: projection, prefilter, decoding, normalizing, the rules' predicates,
the finding's row and the wire tuple) with `time.process_time`, the collector as a worker sets
it. `--rows-only`: the plan as pipeline.scan_stream sets it for a consumer of rows alone
(`detect --format jsonl`: FastPlan.for_rows), so findings cross as where the worker wrote
their rows (spill.RowStore, in a temporary folder: the writes are timed too). Prints CPU
seconds and µs per match for each repeat. By hand only (never in tests): the machine is
shared, so compare interleaved runs of two checkouts (PYTHONPATH) and take medians.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import os
import sys
import time

from trailhound.api import tuned_ruleset, user_ruleset
from trailhound.engine.fast import FastEngine
from trailhound.engine.file_scan import file_parts
from trailhound.profiles import get_profile
from trailhound.sources.inputs import load
from trailhound.sources.limits import Limits
from trailhound.spill import RowStore
from trailhound.tuning.allowlist import load_allowlists


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir")
    ap.add_argument("--profile", default="corrected")
    ap.add_argument("--rules", action="append", default=[])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--rows-only", action="store_true",
                    help="as `detect --format jsonl` runs it (FastPlan.for_rows)")
    ap.add_argument("--cprofile", help="write a cProfile of the last repeat here")
    args = ap.parse_args()

    profile = get_profile(args.profile)
    ruleset, problems = user_ruleset(profile, args.rules, None)
    ruleset = tuned_ruleset(profile, ruleset, load_allowlists([]), True, print)
    if ruleset is None:
        from trailhound.rules.loader import load_pack

        ruleset = load_pack(profile.pack)
    plan = FastEngine().compile(ruleset)
    store = RowStore.make() if args.rows_only else None
    if args.rows_only:
        plan.for_rows(store)  # as pipeline.scan_stream does for a rows-only consumer
    limits = Limits()
    names = sorted(os.listdir(args.dir))
    loaded = []
    for n in names:
        path = os.path.join(args.dir, n)
        with open(path, "rb") as fh:
            data = fh.read()
        loaded.append((path, data))
    gc.set_threshold(100_000, 50, 1000)  # as a worker (file_scan._start_worker)
    for rep in range(args.repeat):
        prof = cProfile.Profile() if args.cprofile and rep == args.repeat - 1 else None
        matches = 0
        cpu = 0.0
        for path, data in loaded:
            got = load(io.BytesIO(data), limits, len(data))
            t0 = time.process_time()
            if prof:
                prof.enable()
            for batch in file_parts(plan, profile, got, path, True, limits):
                matches += len(batch)
            if prof:
                prof.disable()
            cpu += time.process_time() - t0
        print(f"repeat {rep + 1}: {cpu:.2f} CPU-s, {matches} matches, "
              f"{cpu / max(matches, 1) * 1e6:.1f} µs per match", flush=True)
        if prof:
            prof.dump_stats(args.cprofile)
    if store is not None:
        store.close()
    return 1 if problems and not ruleset.rules else 0


if __name__ == "__main__":
    sys.exit(main())
