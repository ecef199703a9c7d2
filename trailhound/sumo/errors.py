"""The one error of the Sumo runner: a query it cannot run, named by operator and position."""

from __future__ import annotations

from trailhound.errors import UsageError


def line_col(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of `offset` in `text`."""
    line = text.count("\n", 0, offset) + 1
    start = text.rfind("\n", 0, offset) + 1
    return line, offset - start + 1


class SumoQueryError(UsageError):
    """A query outside the subset trailhound runs, or malformed: exit 2 before any log is read.
    The message names the query (file), the position (line:column), the operator, what is wrong
    and what to write instead."""

    def __init__(self, query: str, name: str, offset: int, operator: str, reason: str) -> None:
        self.line, self.column = line_col(query, offset)
        self.operator, self.reason = operator, reason
        super().__init__(f"{name}:{self.line}:{self.column}: {operator}: {reason}")
