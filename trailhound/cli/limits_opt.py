"""`--max-record-size`, `--max-inflate-ratio`, `--max-inflated-size`,
`--max-correlation-events`: the caps of sources/limits.py on the command line (one decorator on `detect` and `demo`).

Each option sets its TRAILHOUND_* environment variable for this process, which `Limits()` reads:
so every engine sees it (worker processes inherit it, Spark's local executors too) without the
caps being threaded through every call.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

import click

from trailhound.digits import is_digits
from trailhound.errors import UsageError
from trailhound.sources.limits import (
    ENV,
    MAX_CORRELATION,
    MAX_INFLATE_RATIO,
    MAX_INFLATED,
    MAX_RECORD,
    Limits,
    human,
    parse_size,
)

F = TypeVar("F", bound=Callable[..., Any])


def _setter(key: str, ratio: bool = False) -> Callable[[click.Context, click.Parameter, Any], None]:
    def set_env(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
        if value is None:
            return
        try:
            if ratio:
                if not is_digits(value.strip()):
                    raise UsageError(f"expected a whole number, e.g. 500, not {value!r}")
                n = int(value)
            else:
                n = parse_size(value)
            os.environ[ENV[key]] = str(n)
            Limits()  # validates the whole set now, not in a worker
        except UsageError as exc:
            raise click.BadParameter(str(exc), ctx, param) from None

    return set_env


def limit_options(f: F) -> F:
    """Add the cap options to a command."""
    options = [
        click.option(
            "--max-record-size", metavar="SIZE", expose_value=False, is_eager=True,
            callback=_setter("max_record"),
            help=f"Largest line, array element or member of a large input (default "
            f"{human(MAX_RECORD)}; K/M/G units); larger ones are skipped with an issue.",
        ),
        click.option(
            "--max-inflate-ratio", metavar="N", expose_value=False, is_eager=True,
            callback=_setter("max_ratio", ratio=True),
            help=f"Stop reading a gzip file that inflates more than N times its size "
            f"(default {MAX_INFLATE_RATIO}): a decompression bomb.",
        ),
        click.option(
            "--max-inflated-size", metavar="SIZE", expose_value=False, is_eager=True,
            callback=_setter("max_inflated"),
            help="Stop reading a gzip file past this many decompressed bytes "
            f"(default {'none' if not MAX_INFLATED else human(MAX_INFLATED)}).",
        ),
        click.option(
            "--max-correlation-events", metavar="N", expose_value=False, is_eager=True,
            callback=_setter("max_correlation", ratio=True),
            help=f"Events all correlation rules hold at once (default {MAX_CORRELATION:,}); "
            "those past it take no part and are reported (exit code 3).",
        ),
    ]
    for option in reversed(options):
        f = option(f)
    return f
