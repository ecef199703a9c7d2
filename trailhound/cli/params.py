"""click parameter types of our own."""

from __future__ import annotations

import math

import click


class FiniteFloat(click.ParamType[float]):
    """A float that is a number: click's FLOAT takes `nan` and `inf`, and `--min-score nan`
    would then silently keep nothing (every comparison with NaN is false)."""

    name = "number"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        number = click.FLOAT.convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number


FINITE_FLOAT = FiniteFloat()
