"""Click options several commands share (one definition each)."""

from __future__ import annotations

import click

format_opt = click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "jsonl", "csv"]),
    default="table",
    show_default=True,
    help="Output format on stdout.",
)
