"""`trailhound rules ...`: inspect rule packs and user rules."""

from __future__ import annotations

import click

from trailhound.profiles import DEFAULT_PROFILE, PROFILES, get_profile

_profile_opt = click.option(
    "--profile",
    type=click.Choice(sorted(PROFILES)),
    default=DEFAULT_PROFILE,
    show_default=True,
    help="Whose pack to list.",
)


@click.group()
def rules() -> None:
    """Inspect rule packs."""


@rules.command("list")
@_profile_opt
def rules_list(profile: str) -> None:
    """List the rules (and filters) of a profile's pack, with weights and signals."""
    from trailhound.rules.loader import load_pack

    rs = load_pack(get_profile(profile).pack)
    for r in rs.rules:
        kind = "context" if r.context else (r.signal or "-")
        click.echo(f"{r.id}  {r.weight:>3}  {kind:<16} {r.product}/{r.service}  {r.title}")
    for flt in rs.filters:
        click.echo(f"{flt.id}  filter  {flt.title}")


