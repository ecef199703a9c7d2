"""Whole numbers written with the ASCII digits 0-9: the one test for text that `int()` is then
asked to read (options, environment variables, Sumo queries, key names of a bucket).

Why not `str.isdigit()`: it is also true of characters `int()` refuses (superscripts "²",
circled digits), so a "²" in `--max-correlation-events`, `TRAILHOUND_JOBS`, a Sumo query or
an S3 date folder raised a traceback instead of a clear error; and of other scripts' digits,
which `int()` reads ("٣" is 3) where no user meant a number.
"""

from __future__ import annotations

__all__ = ["is_digits"]


def is_digits(text: str) -> bool:
    """True when `text` is one or more of 0-9 and nothing else."""
    return text.isascii() and text.isdigit()
