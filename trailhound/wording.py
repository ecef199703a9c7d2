"""Words every output shares: counted nouns and the label of a missing principal. One definition
each, so the summary, the tables and the HTML report say the same thing."""

from __future__ import annotations

__all__ = ["NO_PRINCIPAL", "count"]

# A principal no field of the record names (the table, `principals`, the HTML report's cards)
NO_PRINCIPAL = "(no principal)"


def count(n: int, noun: str, plural: str | None = None) -> str:
    """`1 file`, `0 files`, `2 files`; `plural` for a noun not made plural by an `s`."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"
