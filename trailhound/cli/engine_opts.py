"""`--strict`: the default engine, reporting every input issue the reference engine reports."""

from __future__ import annotations

import click

strict_opt = click.option(
    "--strict",
    is_flag=True,
    help="Decode and normalize every record, also the records of CloudTrail S3 files that no "
    "rule can match (the default skips them), so their wrong-typed or unreadable fields are "
    "reported too, as --engine reference reports them. Same findings; about 4x slower.",
)
