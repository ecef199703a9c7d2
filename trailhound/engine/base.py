"""The engine contract: compile a RuleSet once, then scan inputs into Matches.

Every engine (registered by name in engine/__init__.py, built by `make_engine`) subclasses
`Engine` and implements `compile` and `scan`; `discover` (which inputs the paths name) has a
default that an engine reading elsewhere overrides (Spark lists URIs through Hadoop).
pipeline.scan_stream calls these three and nothing else. Scoring, correlation, the tuning gate
and the output rows happen after the engine, once, for every engine.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol

from trailhound.model import Event, Issue
from trailhound.rules.model import Filter, Rule, RuleSet

if TYPE_CHECKING:  # (pipeline imports the engines: names only, no cycle at run time)
    from trailhound.pipeline import ScanStats
    from trailhound.profiles import Profile
    from trailhound.sources import InputSpec
    from trailhound.sources.limits import Limits


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
    """Subclass it (explicitly: `discover`'s default is inherited, not structural)."""

    NAME: str

    def discover(self, paths: Sequence[str]) -> tuple[list[InputSpec], list[Issue]]:
        """The inputs `paths` name, in order ("-": stdin), and an Issue for each path that
        names none: local files and folders (sources.discover) unless the engine reads from
        elsewhere."""
        from trailhound.sources import discover  # (sources import the engines' modules)

        return discover(paths)

    def compile(self, ruleset: RuleSet) -> Any:
        """Turn rules into whatever this engine runs. Raises EngineError on what it can't run."""

    def scan(
        self,
        plan: Any,
        specs: Sequence[InputSpec],
        stats: ScanStats,
        profile: Profile,
        *,
        stdin: BinaryIO | None = None,
        on_file: Callable[[InputSpec], None] | None = None,
        limits: Limits | None = None,
    ) -> Iterator[Match]:
        """Read `specs` (in order; "-" reads `stdin`) and yield one Match per event with at least
        one matched or suppressed rule, in input order. Fills `stats` (files, records, events,
        not_admitted, issues) as engine/loop.py's reader loop does; `on_file(spec)` after each
        input; `limits`: the per-input caps (sources/limits.py)."""
