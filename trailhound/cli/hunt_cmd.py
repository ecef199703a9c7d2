"""`trailhound hunt ...`: list the shipped hunting queries and run one (or your own SQL) over
logs. The logic is in trailhound/hunts/; this module only parses arguments and prints."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import click

from trailhound.cli.exits import epilog
from trailhound.cli.options import format_opt
from trailhound.cli.tuning_opts import window_options
from trailhound.errors import UsageError

if TYPE_CHECKING:
    from trailhound.hunts.registry import Hunt
    from trailhound.pipeline import ScanStats
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
Exit code 2 also for an unknown hunt, an unreadable --hunt-sql file or SQL
DuckDB refuses (one line: the file and DuckDB's reason).

"""


@click.command("hunt", epilog=HUNT_HELP + epilog())
@click.argument("args", nargs=-1, metavar="NAME PATH... | list | show NAME")
@click.option(
    "--hunt-sql",
    metavar="FILE",
    default=None,
    help="Run the DuckDB SQL in FILE instead of a shipped hunt; every ARG is then a PATH.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    metavar="SECONDS",
    help="Stop the query after SECONDS (its check before the logs are read, and its run "
    "after): exit 1 with one line; the rows printed before are incomplete. Default: no limit.",
)
@click.option(
    "--allow",
    multiple=True,
    metavar="FILE",
    help="Allowlist file (YAML, or CSV when named .csv; repeatable), as for detect: the events "
    "an entry matches are left out of the hunt. Entries naming `rules` do not apply here (one "
    "stderr line names each).",
)
@format_opt
@window_options
@click.option("--quiet", "-q", is_flag=True, help="No summary on stderr.")
def hunt(
    args: tuple[str, ...], hunt_sql: str | None, timeout: float | None, allow: tuple[str, ...],
    fmt: str, window: TimeWindow | None, quiet: bool,
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
    sys.exit(_run(chosen, paths, shipped, fmt, quiet, window, timeout, allow))


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
    timeout: float | None = None,
    allow: tuple[str, ...] = (),
) -> int:
    # the exit-code policy of `detect` (cli/exits.py): a missing path is a usage error, nothing
    # readable is 4, bad input 3, a reader that left early 141
    from trailhound.cli.app import _err
    from trailhound.cli.exits import EXIT_BROKEN_PIPE, nothing_read, scan_exit_code
    from trailhound.cli.pipe import write_stdout
    from trailhound.cli.summary import nothing_read_line, query_summary_lines
    from trailhound.cli.tuning_opts import tuned_ruleset
    from trailhound.hunts.allow import EventAllowlist, for_events, not_applied
    from trailhound.hunts.run import run_hunt
    from trailhound.profiles import DEFAULT_PROFILE, get_profile
    from trailhound.report.rows import write_rows
    from trailhound.rules.model import RuleSet
    from trailhound.sources.files import missing_paths
    from trailhound.tuning.allowlist import load_allowlists

    missing = missing_paths(paths)
    if missing:
        raise UsageError(f"{missing[0]}: no such file or folder; check the path")
    stdin = sys.stdin.buffer if "-" in paths else None
    profile = get_profile(DEFAULT_PROFILE)
    # --allow: a bad file is one line, exit 2, before any log is read; expired entries and
    # those naming rules are said here, -q or not (tuned_ruleset does the same for detect)
    applied, skipped = for_events(load_allowlists(allow))
    for line in not_applied(skipped):
        _err(line)
    filters = tuned_ruleset(profile, RuleSet(rules=()), applied, True, _err)
    allowed = EventAllowlist(filters or RuleSet(rules=()))
    with run_hunt(chosen, paths, profile, shipped=shipped, stdin=stdin, window=window,
                  timeout=timeout, allow=allowed) as run:
        if nothing_read(run.stats):
            click.echo(nothing_read_line(run.stats, paths), err=True)
            return scan_exit_code(run.stats)
        counted = _counting(run.rows, run.stats)
        if not write_stdout(lambda rows, out: write_rows(fmt, run.columns, rows, out), counted):
            return EXIT_BROKEN_PIPE
    if not quiet:
        for line in query_summary_lines(f"hunt {chosen.name}", run.stats):
            click.echo(line, err=True)
        for note in allowed.notes():
            click.echo(note, err=True)
    return scan_exit_code(run.stats)


def _counting(rows: Iterator[dict[str, Any]], stats: ScanStats) -> Iterator[dict[str, Any]]:
    for r in rows:
        stats.findings += 1
        yield r
