"""`--s3-endpoint URL`: where s3:// inputs are read from (sources/s3.py). It travels in the
environment, as the --max-* caps do, so the fast engine's worker processes see it too."""

from __future__ import annotations

import os

import click

from trailhound.sources.s3 import ENDPOINT_ENV


def _set(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value:
        os.environ[ENDPOINT_ENV] = value


s3_endpoint_opt = click.option(
    "--s3-endpoint", metavar="URL", expose_value=False, callback=_set,
    help="S3-compatible endpoint for s3://bucket/prefix/ inputs (MinIO, a VPC endpoint); "
    "credentials come from the standard AWS chain.",
)
