"""`trailhound detect` with a chosen engine, for the benchmark until the CLI has `--engine`.

    python bench/detect_engine.py --engine fast --profile seed --format jsonl [--rules PATH] PATHS...

Same steps as cli.app._detect + scan.scan (rule set, discovery, engine, scoring with
correlations, output rows, summary on stderr), except that an engine with a `scan` method reads
the inputs itself (the integration the fast engine asks for in scan.py).
"""

from __future__ import annotations

import argparse
import sys

from trailhound.cli.app import _ruleset, print_summary
from trailhound.engine.fast import FastEngine
from trailhound.engine.reference import ReferenceEngine
from trailhound.profiles import get_profile
from trailhound.report.columns import row
from trailhound.report.writers import WRITERS
from trailhound.rules.loader import load_pack
from trailhound.scan import ScanStats, _count_suppressed, _events
from trailhound.scoring import score_all
from trailhound.sources import discover


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("paths", nargs="+")
    ap.add_argument("--engine", choices=["fast", "reference"], default="fast")
    ap.add_argument("--profile", default="corrected")
    ap.add_argument("--format", default="jsonl")
    ap.add_argument("--rules", action="append", default=[])
    ap.add_argument("--quiet", "-q", action="store_true")
    a = ap.parse_args()
    profile = get_profile(a.profile)
    rs = _ruleset(profile, a.rules, None) or load_pack(profile.pack)
    eng = FastEngine() if a.engine == "fast" else ReferenceEngine()
    plan = eng.compile(rs)
    stats = ScanStats()
    specs, issues = discover(a.paths)
    for issue in issues:
        stats.add_issue(issue)
    stdin = sys.stdin.buffer if "-" in a.paths else None
    if isinstance(eng, FastEngine):
        matches = eng.scan(plan, specs, stats, profile, stdin=stdin)
    else:
        matches = eng.run(plan, _events(specs, stats, profile, stdin, None))
    findings = score_all(
        _count_suppressed(matches, stats),
        None,
        dedupe=profile.dedupe,
        correlations=rs.correlations,
        correlation_stats=stats.correlation,
    )
    stats.findings = len(findings)
    WRITERS.get(a.format)((row(f, profile) for f in findings), sys.stdout)
    sys.stdout.flush()
    if not a.quiet:
        print_summary(stats, a.profile)
    return 3 if stats.error_count else 0


if __name__ == "__main__":
    sys.exit(main())
