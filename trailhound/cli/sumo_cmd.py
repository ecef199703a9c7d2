"""`trailhound sumo QUERY_FILE PATH...`: run a Sumo Logic search query over local logs. The
runner is trailhound/sumo/; this module only reads arguments and prints."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import click

from trailhound.cli.exits import epilog
from trailhound.cli.options import format_opt
from trailhound.errors import UsageError
from trailhound.report.escape import for_terminal

SUMO_HELP = """\b
Examples:
  trailhound sumo trailhound/rules/packs/seed/seed_query.sumo ./AWSLogs/
  trailhound sumo mine.sumo ./exports/ --format csv

\b
The subset run: the scope line (_sourceCategory=... with AND, OR, NOT),
json [field=F] "path", ... [as a, ...] [nodrop], where (in, matches "w*ld"
or /re2/, = != < > <= >=, and or not !, isNull isEmpty isBlank), if(c,a,b)
and c ? a : b, arithmetic, EXPR as NAME, fields [-], sort by [+]f [asc|desc],
count [as n] by, timeslice 5m, limit N. `eval x = e` and `table a, b` (SPL,
which Sumo rejects) run as `e as x` and `fields a, b`, with a warning.
Records from raw files get the _sourceCategory of their log source
(aws/cloudtrail, azure/activity, azure/audit, azure/signin, gcp/audit,
o365/audit); records from Sumo exports keep theirs. See docs/sumo.md.

\b
Exit code 2 also for a query outside the subset or malformed: one line
naming the file, line:column, the operator and what to write instead.

"""


@click.command("sumo", epilog=SUMO_HELP + epilog())
@click.argument("query_file", metavar="QUERY_FILE")
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@format_opt
@click.option("--quiet", "-q", is_flag=True, help="No summary and no warnings on stderr.")
def sumo(query_file: str, paths: tuple[str, ...], fmt: str, quiet: bool) -> None:
    """Run the Sumo Logic query in QUERY_FILE over PATHS (files, folders, or - for stdin)."""
    sys.exit(_run(query_file, paths, fmt, quiet))


def _read_query(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise UsageError(f"{path}: cannot read the query file ({reason}); check the path") from None


def _run(query_file: str, paths: tuple[str, ...], fmt: str, quiet: bool) -> int:
    # detect's exit-code policy (cli/exits.py): a bad query or a missing path is a usage error
    # before anything is read, nothing readable is 4, bad input 3, a reader that left early 141
    from trailhound.cli.app import _err
    from trailhound.cli.exits import EXIT_BROKEN_PIPE, nothing_read, scan_exit_code
    from trailhound.cli.pipe import write_stdout
    from trailhound.cli.summary import nothing_read_line, query_summary_lines
    from trailhound.pipeline import ScanStats
    from trailhound.report.rows import write_rows
    from trailhound.sources.files import missing_paths
    from trailhound.sumo import prepare, run_plan

    plan = prepare(_read_query(query_file), query_file)
    missing = missing_paths(paths)
    if missing:
        raise UsageError(f"{missing[0]}: no such file or folder; check the path")
    if not quiet:
        for w in plan.warnings:
            _err(f"trailhound: warning: {for_terminal(w)}")
    stats = ScanStats()
    stdin = sys.stdin.buffer if "-" in paths else None
    rows = _counting(run_plan(plan, paths, stats, stdin), stats)
    first = next(rows, None)  # reads the inputs up to the first row (all of them for a sort)
    if first is None and nothing_read(stats):
        _err(nothing_read_line(stats, paths))
        return scan_exit_code(stats)
    chained = rows if first is None else _chain(first, rows)
    if not write_stdout(lambda rs, out: write_rows(fmt, plan.columns, rs, out), chained):
        return EXIT_BROKEN_PIPE
    if not quiet:
        for line in query_summary_lines(f"sumo {query_file}", stats):
            _err(line)
    return scan_exit_code(stats)


def _chain(first: dict[str, Any], rest: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    yield first
    yield from rest


def _counting(rows: Iterator[dict[str, Any]], stats: Any) -> Iterator[dict[str, Any]]:
    for r in rows:
        stats.findings += 1
        yield r
