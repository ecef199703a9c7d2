"""`trailhound sources`: the log sources trailhound reads, listed from the Source registry
(trailhound/logsources.py), so the list can never disagree with what the readers do."""

from __future__ import annotations

import click

from trailhound.logsources import ENVELOPES_UNDERSTOOD, SOURCES
from trailhound.report.escape import for_terminal


@click.command("sources")
def sources() -> None:
    """List the log sources trailhound recognises: name, the Sigma log source its rules use
    (`logsource: product/service`), the record shapes, and the envelopes they may come in."""
    for s in SOURCES.values():
        product, service = s.logsource
        mapped = ", ".join(
            f"{t.product}/{t.service}"
            for t in s.field_tables
            if (t.product, t.service) != s.logsource
        )
        also = f" (rules of {mapped} too)" if mapped else ""
        click.echo(for_terminal(f"{s.name:<16} {product + '/' + service:<20} {s.shape}{also}"))
    click.echo(for_terminal(f"envelopes: {ENVELOPES_UNDERSTOOD}"))
