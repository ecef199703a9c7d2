"""`trailhound rules coverage`: the ATT&CK techniques a profile's packs cover, what proves each
and which Stratus Red Team techniques are not covered (the logic is in rules/coverage.py)."""

from __future__ import annotations

from pathlib import Path

import click

from trailhound.cli.choices import PROFILE_CHOICE
from trailhound.cli.options import format_opt
from trailhound.cli.pipe import write_stdout
from trailhound.profiles import DEFAULT_PROFILE, get_profile


@click.command("coverage")
@click.option("--profile", type=PROFILE_CHOICE, default=DEFAULT_PROFILE, show_default=True,
              help="Whose packs to report on.")
@click.option("--stratus", "stratus_dir", metavar="DIR", default=None,
              type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Folder of Stratus Red Team detonation logs (aws.<tactic>.<technique>.json): "
              "scan each with the profile's rules and show which technique it proves. Without "
              "it, the stratus_log column says (not run).")
@format_opt
def coverage(profile: str, stratus_dir: Path | None, fmt: str) -> None:
    """ATT&CK techniques covered by the active packs (rules that raise findings), which test
    proves each (Stratus log, emulated scenario, the rule's own positive test case), and the
    Stratus Red Team techniques that are not covered, with why."""
    from trailhound.report.rows import write_rows
    from trailhound.rules import coverage as cov
    from trailhound.rules.loader import load_pack, pack_dirs

    prof = get_profile(profile)
    result = cov.coverage(load_pack(prof.pack), prof, pack_dirs(prof.pack), stratus_dir)
    table = cov.rows(result)
    write_stdout(lambda rows, out: write_rows(fmt, cov.COLUMNS, rows, out), table)
    proven = sum(t.proven for t in result.techniques.values())
    click.echo(
        f"trailhound: rules coverage: {len(result.techniques)} ATT&CK techniques, {proven} "
        f"proven; Stratus Red Team techniques: {len(result.rule_test_only)} covered by rule "
        f"tests only, {len(result.not_covered)} not covered",
        err=True,
    )
