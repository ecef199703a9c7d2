"""`trailhound principals` and `trailhound timeline`: triage views over the findings of any
engine (the logic is in triage/, the layout in report/triage.py)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import click

from trailhound.cli.app import emit, finding_rows
from trailhound.cli.exits import EXIT_BROKEN_PIPE, epilog, nothing_read
from trailhound.cli.options import format_opt
from trailhound.cli.scan_options import ScanOptions, scan_options
from trailhound.cli.watch_cmd import principals_incremental
from trailhound.report.escape import for_terminal
from trailhound.report.triage import principal_writer, timeline_writer
from trailhound.triage.principals import rank_principals
from trailhound.triage.timeline import build_timeline
from trailhound.tuning.window import parse_duration
from trailhound.wording import count


class Duration(click.ParamType[int]):
    """`90s`, `30m`, `1h`, `7d`, `2w` -> nanoseconds (tuning/window.parse_duration)."""

    name = "duration"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        span = parse_duration(str(value))
        if span is None:
            self.fail(f"{value!r} is not a duration: write a number and a unit, e.g. 30m, 1h, 2d", param, ctx)
        return span


@click.command(epilog=epilog())
@format_opt
@scan_options()
@click.option("--state", "state_path", default=None, metavar="FILE", help="Incremental: one "
              "cycle over the new files (as detect --state), then rank every finding the state "
              "holds, from all cycles (docs/watch.md).")
def principals(fmt: str, opts: ScanOptions, state_path: str | None) -> None:
    """Rank the principals of the findings in PATHS by risk, highest first.

    One row per principal (AWS ARN, Azure caller, Entra initiator, GCP principalEmail, M365
    UserId): summed score, findings, distinct rules and ATT&CK tactics, first and last seen,
    source IPs, user agents, accounts, access keys, the highest score in any 24 h window, and a
    `risky` flag with its reason (thresholds: README "Triage").
    """
    if state_path is not None:
        sys.exit(principals_incremental(opts, fmt, state_path))
    rows, stats = finding_rows(opts)
    ranked = rank_principals(rows)  # reads every row: the summary is complete after this
    risky = sum(1 for r in ranked if r["risky"])
    note = f"  {count(len(ranked), 'principal')}, {risky} risky"
    sys.exit(emit(principal_writer(fmt), ranked, stats, opts, [note]))


@click.command(epilog=epilog())
@format_opt
@scan_options()
@click.option(
    "--principal",
    required=True,
    metavar="ARN",
    help="Whose events: the principal as logged (ARN, UPN, e-mail) or as the tables shorten it "
    "(user/alice, assumed-role/Deploy/session); case is ignored.",
)
@click.option(
    "--around",
    metavar="EVENT_ID",
    default=None,
    help="Only the events within --window of this event (its eventID, or its origin).",
)
@click.option(
    "--window",
    "span",
    type=Duration(),
    default="1h",
    show_default=True,
    help="With --around: how far before and after (30m, 1h, 2d).",
)
def timeline(principal: str, around: str | None, span: int, fmt: str, opts: ScanOptions) -> None:
    """Every event of one principal in PATHS, in time order, findings marked with their score
    and signals: what else did they do?

    The events are read by trailhound itself, from local paths (not stdin: the input is read
    twice, for the events and for the findings); the findings come from --engine.
    """
    if "-" in opts.paths:
        raise click.UsageError("timeline reads its input twice (events, then findings): save stdin to a file first")
    rows, stats = finding_rows(opts)
    with build_timeline(
        opts.paths, opts.profile, principal, rows, around=around, window_ns=span,
        within=opts.window, before_events=lambda: nothing_read(stats),
    ) as found:  # the finding rows are read (kept on disk) first: the summary is complete then
        if found is None:  # nothing to look for a principal in: say so as detect does
            sys.exit(emit(timeline_writer(fmt), [], stats, opts))
        shown = marked = 0

        def counted(rows: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
            nonlocal shown, marked
            for r in rows:
                shown += 1
                marked += r["suspicion_score"] is not None
                yield r

        code = emit(timeline_writer(fmt), counted(found.rows), stats, opts)
    if not opts.quiet and code != EXIT_BROKEN_PIPE:  # after the summary, as emit's notes come
        click.echo(f"  timeline of {for_terminal(principal)}: {count(found.events, 'event')}, "
                   f"{shown} shown, {marked} of them findings", err=True)
    sys.exit(code)
