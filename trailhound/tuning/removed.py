"""Which filters removed an event's finding: one definition for every engine (the local engines
call it per Match in pipeline.py, Spark per matched row in spark/tuning.py).

An event counts as a finding REMOVED by a filter when, with the filters, it is not a finding
(no counted detection rule survived: scoring.score_match) and, without them, it would have been
one (a counted detection rule was suppressed, and the score of every counted rule that matched,
suppressed or not, passes `--min-score`). Every filter that suppressed one of its counted
detection rules is credited, so an event two entries both allow counts for each. Correlation
weights are not part of that score (they are added after the whole stream is read): an event
only a correlation would have made a finding is not counted.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, TypeVar

from trailhound.scoring import keep_score

__all__ = ["Scored", "detects", "removed_by"]

F = TypeVar("F")


class Scored(Protocol):
    """What scoring reads of a rule (rules/model.Rule, or spark/tuning's row-side copy)."""

    @property
    def id(self) -> str: ...
    @property
    def weight(self) -> float: ...
    @property
    def context(self) -> bool: ...
    @property
    def generate(self) -> bool: ...


def detects(r: Scored) -> bool:
    """A rule that makes a finding on its own (a counted detection rule, not context)."""
    return r.generate and not r.context


def removed_by(
    kept: Sequence[Scored], suppressed: Sequence[tuple[Scored, F]], min_score: float | None
) -> list[F]:
    """The filters (in first-suppression order) that removed this event's finding; [] when it
    is still a finding or would not have been one."""
    if not suppressed or any(detects(r) for r in kept):
        return []
    culprits: list[F] = []
    for r, f in suppressed:
        if detects(r) and f not in culprits:
            culprits.append(f)
    if not culprits:
        return []
    counted = {r.id: r for r in kept if r.generate}
    for r, _ in suppressed:
        if r.generate:
            counted.setdefault(r.id, r)
    if not keep_score(sum(r.weight for r in counted.values()), min_score):
        return []
    return culprits
