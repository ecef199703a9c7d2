"""`trailhound hunt ...`: list the shipped hunting queries and run one (or your own SQL) over
logs. The logic is in trailhound/hunts/; this module only parses arguments and prints."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import click

from trailhound.cli.options import format_opt
from trailhound.cli.tuning_opts import window_options
from trailhound.errors import UsageError
from trailhound.report.escape import for_terminal

if TYPE_CHECKING:
    from trailhound.hunts.registry import Hunt
    from trailhound.scan import ScanStats
    from trailhound.tuning.window import TimeWindow

HUNT_HELP = """\b
Examples:
  trailhound hunt list
  trailhound hunt show recon_then_tampering      # the SQL, to copy and adapt
  trailhound hunt recon_then_tampering ./AWSLogs/
  trailhound hunt --hunt-sql mine.sql ./AWSLogs/ --format csv

\b
Your SQL runs in DuckDB over a table `events` (ts, time, source, provider,
operation, service, principal, principal_type, src_ip, region, account,
status, error_code, error_message, user_agent, event_id, correlation_id,
origin, raw JSON): see docs/hunts.md.

\b
Exit codes:
  0  hunt ran, every input read cleanly (with or without rows)
  1  fatal error
  2  usage error (unknown hunt, unreadable file, SQL DuckDB refuses)
  3  hunt ran, but some input was bad: see the summary on stderr
"""


@click.command("hunt", epilog=HUNT_HELP)
@click.argument("args", nargs=-1, metavar="NAME PATH... | list | show NAME")
@click.option(
    "--hunt-sql",
    metavar="FILE",
    default=None,
    help="Run the DuckDB SQL in FILE instead of a shipped hunt; every ARG is then a PATH.",
)
@format_opt
@window_options
@click.option("--quiet", "-q", is_flag=True, help="No summary on stderr.")
def hunt(
    args: tuple[str, ...], hunt_sql: str | None, fmt: str, window: TimeWindow | None, quiet: bool
) -> None:
    """Run a hunting query over the events in PATHS (files, folders, or - for stdin)."""
    from trailhound.hunts.registry import hunts, read_user_hunt

    if hunt_sql is None and args[:1] == ("list",):
        _list()
        return
    if hunt_sql is None and args[:1] == ("show",):
        if len(args) != 2:
            raise UsageError("usage: trailhound hunt show NAME (see `trailhound hunt list`)")
        click.echo(hunts().get(args[1]).sql, nl=False)
        return
    if hunt_sql is not None:
        chosen, paths, shipped = read_user_hunt(hunt_sql), args, False
    else:
        if not args:
            raise UsageError("name a hunt and PATHS, or `list` (see `trailhound hunt --help`)")
        chosen, paths, shipped = hunts().get(args[0]), args[1:], True
    if not paths:
        raise UsageError(f"hunt {chosen.name}: give one or more PATHS to read (or - for stdin)")
    sys.exit(_run(chosen, paths, shipped, fmt, quiet, window))


def _list() -> None:
    from trailhound.hunts.registry import hunts

    reg = hunts()
    for name in reg:
        h = reg.get(name)
        click.echo(f"{h.name:<34} {h.title}")
        click.echo(f"{'':<34} {', '.join(h.tags)}")


def _run(
    chosen: Hunt,
    paths: tuple[str, ...],
    shipped: bool,
    fmt: str,
    quiet: bool,
    window: TimeWindow | None,
) -> int:
    from trailhound.cli.app import EXIT_INPUT_ERRORS, EXIT_OK, print_summary
    from trailhound.hunts.run import run_hunt
    from trailhound.profiles import DEFAULT_PROFILE, get_profile
    from trailhound.report.rows import write_rows

    stdin = sys.stdin.buffer if "-" in paths else None
    profile = get_profile(DEFAULT_PROFILE)
    with run_hunt(chosen, paths, profile, shipped=shipped, stdin=stdin, window=window) as run:
        counted = _counting(run.rows, run.stats)
        write_rows(fmt, run.columns, counted, sys.stdout)
        sys.stdout.flush()
    if not quiet:
        click.echo(f"trailhound: hunt {for_terminal(chosen.name)}: {run.stats.findings} rows", err=True)
        print_summary(run.stats, DEFAULT_PROFILE)
    return EXIT_INPUT_ERRORS if run.stats.error_count else EXIT_OK


def _counting(rows: Iterator[dict[str, Any]], stats: ScanStats) -> Iterator[dict[str, Any]]:
    for r in rows:
        stats.findings += 1
        yield r
