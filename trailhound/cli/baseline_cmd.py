"""`trailhound baseline build PATHS -o FILE` writes the first-seen baseline a user keeps
(rules/baseline.py); `--baseline FILE` on the scanning commands (`detect`, `report`, `watch`...)
gives it to every first-seen rule of the run (rules/first_seen.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

import click

from trailhound.cli.choices import PROFILE_CHOICE
from trailhound.cli.exits import EXIT_NOTHING_READ, epilog, nothing_read, scan_exit_code
from trailhound.cli.params import check_output_folder
from trailhound.cli.summary import nothing_read_line, summary_lines
from trailhound.errors import RuleError
from trailhound.profiles import DEFAULT_PROFILE, get_profile
from trailhound.report.escape import for_terminal
from trailhound.rules.baseline import (
    DEFAULT_MAX_PAIRS,
    BaselineStats,
    build,
    first_seen_rules,
    write_file,
)
from trailhound.rules.first_seen import read_baseline

F = TypeVar("F", bound=Callable[..., Any])


def _check(path: Path) -> None:
    """Read the whole file now: a bad line is a usage error before any scanning, naming it."""
    try:
        for _ in read_baseline(path):
            pass
    except RuleError as e:
        raise click.BadParameter(for_terminal(str(e))) from None


def _checked(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    """The file, read whole now (a bad line is a usage error before anything is scanned)."""
    if value is None:
        return None
    _check(value)
    return value.resolve()


def baseline_option(f: F) -> F:
    """`--baseline FILE`: pairs already seen, for every first-seen rule of the run."""
    return click.option(
        "--baseline", metavar="FILE",
        type=click.Path(exists=True, dir_okay=False, path_type=Path), callback=_checked,
        help="First-seen baseline (from `trailhound baseline build`): values in it are not new "
        "for their group.",
    )(f)


@click.group()
def baseline() -> None:
    """First-seen baselines: what was normal before this scan."""


@baseline.command("build", epilog=epilog())
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("-o", "--output", "output", required=True, metavar="FILE",
              type=click.Path(dir_okay=False, writable=True, path_type=Path),
              help="Baseline file to write (JSON lines; replaced whole when the build ends).")
@click.option("--profile", type=PROFILE_CHOICE, default=DEFAULT_PROFILE, show_default=True,
              help="Whose first-seen rules to learn for.")
@click.option("--max-pairs", type=click.IntRange(min=1), default=DEFAULT_MAX_PAIRS,
              show_default=True,
              help="Most (rule, group, value) lines to write; past it the earliest seen are "
              "kept and the rest counted on stderr.")
def build_cmd(paths: tuple[str, ...], output: Path, profile: str, max_pairs: int) -> None:
    """Learn the (group, value) pairs the profile's first-seen rules see in PATHS (e.g. last
    month's logs) and write them to FILE, for `detect --baseline FILE`."""
    from trailhound.rules.loader import load_pack

    check_output_folder(output)
    prof = get_profile(profile)
    ruleset = load_pack(prof.pack)
    if not first_seen_rules(ruleset).rules:
        raise click.UsageError(f"profile {profile} has no first-seen rule: nothing to learn")

    def write(out: BinaryIO) -> BaselineStats:
        return build(list(paths), ruleset, prof, out, max_pairs=max_pairs)

    stats = write_file(output, write)
    scan = stats.scan
    for line in summary_lines(scan, prof.name)[1:]:
        click.echo(line, err=True)
    if nothing_read(scan):
        click.echo(nothing_read_line(scan, paths), err=True)
        raise SystemExit(EXIT_NOTHING_READ)
    dropped = f"; {stats.dropped} past --max-pairs {max_pairs}, not written" \
        if stats.dropped else ""
    click.echo(
        f"trailhound: baseline: {scan.records} records, {stats.rules} first-seen rules, "
        f"{stats.pairs} pairs written to {for_terminal(str(output))}{dropped}", err=True)
    raise SystemExit(scan_exit_code(scan))
