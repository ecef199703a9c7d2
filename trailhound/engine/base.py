"""The engine contract: compile a RuleSet once, then stream events through it."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from trailhound.model import Event
from trailhound.rules.model import Filter, Rule, RuleSet


@dataclass(slots=True)
class Match:
    """The rules that matched one event, in RuleSet order.

    rules: matched, and no applicable filter removed them.
    suppressed: matched, but a filter removed them: (rule, filter) pairs, for tuning reports.
    """

    event: Event
    rules: list[Rule] = field(default_factory=list)
    suppressed: list[tuple[Rule, Filter]] = field(default_factory=list)


class Engine(Protocol):
    NAME: ClassVar[str]

    def compile(self, ruleset: RuleSet) -> Any:
        """Turn rules into whatever this engine runs. Raises EngineError on what it can't run."""

    def run(self, plan: Any, events: Iterable[Event]) -> Iterator[Match]:
        """Yield one Match per event with at least one matched or suppressed rule, in input order."""
