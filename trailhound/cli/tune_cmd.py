"""`trailhound tune PATH...`: propose allowlist entries from the findings (tuning/tune.py)."""

from __future__ import annotations

import sys
from datetime import UTC, datetime

import click

from trailhound.cli.exits import EXIT_BROKEN_PIPE, EXIT_INPUT_ERRORS, EXIT_OK
from trailhound.cli.scan_options import ScanOptions, scan_options
from trailhound.tuning.tune import proposals_yaml, propose

TUNE_EXIT_HELP = """\b
Exit codes: 0 proposals written; 1 fatal error; 2 usage error (a bad option, a
missing path or --allow file); 3 written, but some input was bad or a --rules
rule was refused (see the summary on stderr).
"""


@click.command(epilog=TUNE_EXIT_HELP)
@scan_options()
@click.option(
    "--min-count", type=click.IntRange(min=1), default=2, show_default=True,
    help="Propose a principal/event pair only when it has at least this many findings.",
)
@click.option(
    "--share", type=click.FloatRange(0, 1), default=0.8, show_default=True,
    help="Stop proposing once the proposals cover this share of the total score.",
)
@click.option("--top", type=click.IntRange(min=1), default=10, show_default=True,
              help="At most this many proposals.")
def tune(min_count: int, share: float, top: int, opts: ScanOptions) -> None:
    """Propose allowlist entries from the findings in PATHS: the repeated principal/event pairs
    that carry most of the score, each with the findings it would remove. Prints an allowlist
    file (YAML) on stdout, ready to review and pass back with --allow; the findings your
    current --allow files already remove are not proposed again."""
    from trailhound.cli.app import _run_scan, print_summary, scan_ruleset
    from trailhound.cli.pipe import write_stdout

    ruleset, refused = scan_ruleset(opts)
    result = _run_scan(opts, ruleset)
    proposals, count, total = propose(result.findings, min_count=min_count, share=share, top=top)
    text = proposals_yaml(proposals, count, total, datetime.now(UTC).date())
    if not write_stdout(lambda _rows, out: print(text, end="", file=out), ()):
        sys.exit(EXIT_BROKEN_PIPE)
    result.stats.rules_refused = refused
    if not opts.quiet:
        print_summary(result.stats, opts.profile.name)
    sys.exit(EXIT_INPUT_ERRORS if result.stats.error_count or refused else EXIT_OK)
