"""Click options several commands share (one definition each)."""

from __future__ import annotations

import click

from trailhound.cli.choices import FORMAT_CHOICE

format_opt = click.option(
    "--format",
    "fmt",
    type=FORMAT_CHOICE,
    default="table",
    show_default=True,
    help="Output format on stdout (the registered writers, report/writers.WRITERS).",
)
