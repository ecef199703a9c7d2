"""`trailhound tune PATH...`: propose allowlist entries from the findings (tuning/tune.py)."""

from __future__ import annotations

import sys
from datetime import UTC, datetime

import click

from trailhound.cli.params import FINITE_FLOAT
from trailhound.cli.tuning_opts import allow_options, tuned_ruleset, window_options
from trailhound.engine import DEFAULT_ENGINE
from trailhound.profiles import DEFAULT_PROFILE, PROFILES, get_profile
from trailhound.tuning.allowlist import Allowlist
from trailhound.tuning.tune import proposals_yaml, propose
from trailhound.tuning.window import TimeWindow

TUNE_EXIT_HELP = """\b
Exit codes: 0 proposals written; 1 fatal error; 2 usage error (a bad option or
--allow file); 3 written, but some input was bad (see the summary on stderr).
"""


@click.command(epilog=TUNE_EXIT_HELP)
@click.argument("paths", nargs=-1, required=True)
@click.option(
    "--profile", type=click.Choice(sorted(PROFILES)), default=DEFAULT_PROFILE, show_default=True,
    help="The profile whose findings are tuned (see detect --help).",
)
@click.option(
    "--rules", "rule_paths", multiple=True, metavar="PATH",
    help="Also run the Sigma rules in PATH (repeatable), as detect does.",
)
@click.option(
    "--engine", type=click.Choice(["parallel", "fast", "reference"]), default=DEFAULT_ENGINE,
    show_default=True, help="The local engine to scan with (see detect --help).",
)
@click.option("--min-score", type=FINITE_FLOAT, default=None, help="As detect: findings kept by score.")
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
@click.option("--quiet", "-q", is_flag=True, help="No summary on stderr.")
@allow_options
@window_options
def tune(
    paths: tuple[str, ...],
    profile: str,
    rule_paths: tuple[str, ...],
    engine: str,
    min_score: float | None,
    min_count: int,
    share: float,
    top: int,
    quiet: bool,
    allowlist: Allowlist,
    default_filters: bool,
    window: TimeWindow | None,
) -> None:
    """Propose allowlist entries from the findings in PATHS: the repeated principal/event pairs
    that carry most of the score, each with the findings it would remove. Prints an allowlist
    file (YAML) on stdout, ready to review and pass back with --allow; the findings your
    current --allow files already remove are not proposed again."""
    from trailhound.cli.app import EXIT_INPUT_ERRORS, EXIT_OK, _err, _ruleset, print_summary
    from trailhound.pipeline import scan_stream

    p = get_profile(profile)
    ruleset = _ruleset(p, rule_paths, None, default_filters)
    ruleset = tuned_ruleset(p, ruleset, allowlist, default_filters, _err)
    stdin = sys.stdin.buffer if "-" in paths else None
    result = scan_stream(
        paths, p, ruleset=ruleset, engine=engine, min_score=min_score, stdin=stdin, window=window
    )
    proposals, count, total = propose(result.findings, min_count=min_count, share=share, top=top)
    click.echo(proposals_yaml(proposals, count, total, datetime.now(UTC).date()), nl=False)
    if not quiet:
        print_summary(result.stats, profile)
    sys.exit(EXIT_INPUT_ERRORS if result.stats.error_count else EXIT_OK)
