"""click parameter types of our own."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, cast

import click

from trailhound.errors import UsageError


class FiniteFloat(click.ParamType[float]):
    """A float that is a number: click's FLOAT takes `nan` and `inf`, and `--min-score nan`
    would then silently keep nothing (every comparison with NaN is false)."""

    name = "number"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        # (Any: click 8.5 types convert's value as a number, 8.4 as Any; the CLI passes text)
        number = click.FLOAT.convert(cast(Any, value), param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number


FINITE_FLOAT = FiniteFloat()


def check_output_folder(output: str | Path) -> None:
    """A UsageError before any scan when -o FILE's folder does not exist (the scan would run to
    its end and then fail to write)."""
    folder = Path(output).resolve().parent
    if not folder.is_dir():
        raise UsageError(f"{output}: the folder {folder} does not exist; create it or pick another -o")
