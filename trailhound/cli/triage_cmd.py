"""`trailhound principals` and `trailhound timeline`: triage views over the findings of any
engine (the logic is in triage/, the layout in report/triage.py)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import click

from trailhound.cli.app import (
    EXIT_CODES_HELP,
    _engine_opt,
    _min_score_opt,
    _placeholders_opt,
    _profile_opt,
    _quiet_opt,
    _rules_opt,
    _spark_conf_opt,
    _spark_master_opt,
    emit,
    finding_rows,
)
from trailhound.cli.engine_opts import strict_opt
from trailhound.cli.exits import EXIT_BROKEN_PIPE, nothing_read
from trailhound.cli.options import format_opt as _format_opt
from trailhound.cli.tuning_opts import allow_options, window_options
from trailhound.profiles import get_profile
from trailhound.report.escape import for_terminal
from trailhound.report.triage import principal_writer, timeline_writer
from trailhound.triage.principals import rank_principals
from trailhound.triage.timeline import build_timeline
from trailhound.tuning.allowlist import Allowlist
from trailhound.tuning.window import TimeWindow, parse_duration


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


def _detect_options(f: Any) -> Any:
    """The detect options every triage view takes (the same click option objects as detect)."""
    f = allow_options(window_options(f))  # innermost, as on detect
    for opt in reversed(
        (_profile_opt, _format_opt, _min_score_opt, _quiet_opt, _rules_opt, _placeholders_opt,
         _engine_opt, strict_opt, _spark_master_opt, _spark_conf_opt)
    ):
        f = opt(f)
    return f


@click.command(epilog=EXIT_CODES_HELP)
@click.argument("paths", nargs=-1, required=True)
@_detect_options
def principals(
    paths: tuple[str, ...],
    profile: str,
    fmt: str,
    min_score: float | None,
    quiet: bool,
    rule_paths: tuple[str, ...],
    placeholders: str | None,
    engine: str,
    strict: bool,
    spark_master: str,
    spark_conf: tuple[str, ...],
    allowlist: Allowlist,
    default_filters: bool,
    window: TimeWindow | None,
) -> None:
    """Rank the principals of the findings in PATHS by risk, highest first.

    One row per principal (AWS ARN, Azure caller, Entra initiator, GCP principalEmail, M365
    UserId): summed score, findings, distinct rules and ATT&CK tactics, first and last seen,
    source IPs, user agents, accounts, access keys, the highest score in any 24 h window, and a
    `risky` flag with its reason (thresholds: README "Triage").
    """
    rows, stats = finding_rows(
        paths, profile, min_score, quiet, rule_paths, placeholders, engine, spark_master,
        spark_conf, allowlist, default_filters, window, strict,
    )
    ranked = rank_principals(rows)  # reads every row: the summary is complete after this
    risky = sum(1 for r in ranked if r["risky"])
    note = f"  {len(ranked)} principals, {risky} risky"
    sys.exit(emit(principal_writer(fmt), ranked, stats, paths, profile, quiet, [note]))


@click.command(epilog=EXIT_CODES_HELP)
@click.argument("paths", nargs=-1, required=True)
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
@_detect_options
def timeline(
    paths: tuple[str, ...],
    principal: str,
    around: str | None,
    span: int,
    profile: str,
    fmt: str,
    min_score: float | None,
    quiet: bool,
    rule_paths: tuple[str, ...],
    placeholders: str | None,
    engine: str,
    strict: bool,
    spark_master: str,
    spark_conf: tuple[str, ...],
    allowlist: Allowlist,
    default_filters: bool,
    window: TimeWindow | None,
) -> None:
    """Every event of one principal in PATHS, in time order, findings marked with their score
    and signals: what else did they do?

    The events are read by trailhound itself, from local paths (not stdin: the input is read
    twice, for the events and for the findings); the findings come from --engine.
    """
    if "-" in paths:
        raise click.UsageError("timeline reads its input twice (events, then findings): save stdin to a file first")
    rows, stats = finding_rows(
        paths, profile, min_score, quiet, rule_paths, placeholders, engine, spark_master,
        spark_conf, allowlist, default_filters, window, strict,
    )
    with build_timeline(
        paths, get_profile(profile), principal, rows, around=around, window_ns=span,
        within=window, before_events=lambda: nothing_read(stats),
    ) as found:  # the finding rows are read (kept on disk) first: the summary is complete then
        if found is None:  # nothing to look for a principal in: say so as detect does
            sys.exit(emit(timeline_writer(fmt), [], stats, paths, profile, quiet))
        shown = marked = 0

        def counted(rows: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
            nonlocal shown, marked
            for r in rows:
                shown += 1
                marked += r["suspicion_score"] is not None
                yield r

        code = emit(timeline_writer(fmt), counted(found.rows), stats, paths, profile, quiet)
    if not quiet and code != EXIT_BROKEN_PIPE:  # after the summary, as emit's notes come
        click.echo(f"  timeline of {for_terminal(principal)}: {found.events} events, "
                   f"{shown} shown, {marked} of them findings", err=True)
    sys.exit(code)
