"""`trailhound rules ...`: inspect rule packs and user rules (the logic is in rules/check.py)."""

from __future__ import annotations

import sys

import click

from trailhound.cli.choices import PROFILE_CHOICE
from trailhound.profiles import DEFAULT_PROFILE, get_profile
from trailhound.report.escape import for_terminal

_profile_opt = click.option(
    "--profile",
    type=PROFILE_CHOICE,
    default=DEFAULT_PROFILE,
    show_default=True,
    help="Whose pack to list (when no PATH is given).",
)
_placeholders_opt = click.option(
    "--placeholders",
    metavar="FILE",
    default=None,
    help="YAML/JSON map of placeholder name -> list of values for |expand placeholders, e.g. "
    "'Legitimate_Countries: [GB, FR]'. Placeholders without a value make their rule refused.",
)

CHECK_EXIT_HELP = """\b
Exit codes:
  0  every rule in every file loaded and compiles
  1  some rule was refused (each file's line says why)
  2  usage error (a PATH or the --placeholders file does not exist or is malformed)
"""


@click.group()
def rules() -> None:
    """Inspect rule packs and check Sigma rule files."""


@rules.command("list")
@click.argument("paths", nargs=-1)
@_profile_opt
@_placeholders_opt
def rules_list(paths: tuple[str, ...], profile: str, placeholders: str | None) -> None:
    """List the rules (and filters) of PATHS, or of a profile's pack when no PATH is given, with
    weights and signals. Rules that cannot run are reported on stderr."""
    from trailhound.rules.check import check_paths, read_placeholders
    from trailhound.rules.loader import load_pack

    if paths:
        values = read_placeholders(placeholders) if placeholders is not None else None
        checked = check_paths(paths, values)
        rs = checked.ruleset
        for problem in checked.problems:
            click.echo(f"trailhound: refused: {for_terminal(problem)}", err=True)
    else:
        rs = load_pack(get_profile(profile).pack)
    for r in rs.rules:
        kind = "context" if r.context else (r.signal or "-")
        click.echo(
            for_terminal(f"{r.id}  {r.weight:>3}  {kind:<16} {r.product}/{r.service}  {r.title}")
        )
    for flt in rs.filters:
        click.echo(for_terminal(f"{flt.id}  filter  {flt.title}"))
    for c in getattr(rs, "correlations", ()):
        click.echo(for_terminal(f"{c.id}  {c.weight:>3}  correlation      {c.type}  {c.title}"))


@rules.command("check", epilog=CHECK_EXIT_HELP)
@click.argument("paths", nargs=-1, required=True)
@_placeholders_opt
def rules_check(paths: tuple[str, ...], placeholders: str | None) -> None:
    """Load every Sigma rule file under PATHS (files or folders) and compile each rule with the
    reference engine. Prints one line per file, `PATH: loaded` (with notes when a rule can never
    apply or a field never matches) or `PATH: refused: REASON`, then a summary. A broken rule
    never stops the others."""
    from trailhound.rules.check import check_paths, read_placeholders

    values = read_placeholders(placeholders) if placeholders is not None else None
    result = check_paths(paths, values)
    for f in result.files:
        click.echo(for_terminal(f.line()))
    click.echo(result.summary())
    sys.exit(0 if result.ok else 1)
