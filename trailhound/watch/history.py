"""First-seen history carried across cycles (rules/first_seen.py: `first_seen:` rules).

`detect` learns a first-seen rule's history (groups with history, their pairs) from the records
before each one, in input order. A watch reads the same records over many cycles: the history a
cycle learned is committed with the cycle (state table `first_seen`, digests only) and is where
the next cycle starts, so a value new once is not new again a cycle later, and a group
established in one cycle is established in the next: the alerts are those of one `detect` over
every file read in the order the watch read them.

The history stays in memory between cycles of one process (loaded once from the state); only
what a cycle added is written at its commit. A failed commit drops the memory, so the next
cycle reloads what the state holds.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from trailhound.rules.first_seen import History, load_baseline, spec_of
from trailhound.rules.model import RuleSet
from trailhound.watch.state import Learned, State

GROUP, PAIR = 0, 1


class _Recorded(set[bytes]):
    """A set that lists what was added to it since the last `new.clear()`. (The gate adds
    through `.add` only: rules/first_seen.History.remember.)"""

    def __init__(self) -> None:
        super().__init__()
        self.new: list[bytes] = []

    def add(self, item: bytes) -> None:
        if item not in self:
            self.new.append(item)
            super().add(item)


class Histories:
    """The first-seen rules' histories of a watch, carried from cycle to cycle."""

    def __init__(self, ruleset: RuleSet, baseline: Path | None = None) -> None:
        self.baseline = baseline  # `--baseline`: known pairs for every first-seen rule
        self.specs = {r.id: s for r in ruleset.rules if (s := spec_of(r)) is not None}
        self.loaded: dict[str, History] | None = None

    def for_cycle(self, state: State) -> dict[str, History] | None:
        """What the gate starts from (None: the rule set has no first-seen rule)."""
        if not self.specs:
            return None
        if self.loaded is None:
            self.loaded = {rid: self._load(state, rid) for rid in self.specs}
        return self.loaded

    def _load(self, state: State, rid: str) -> History:
        groups, pairs = _Recorded(), _Recorded()
        h = History(self.specs[rid], groups, pairs)
        load_baseline(h.spec, h, rid, self.baseline)
        for kind, digest in state.first_seen(rid):
            set.add(groups if kind == GROUP else pairs, digest)
        groups.new.clear()
        pairs.new.clear()  # the baseline is re-read each start: not state
        return h

    def learned(self) -> Iterable[Learned]:
        """What the gate added this cycle, to commit with it."""
        for rid, h in (self.loaded or {}).items():
            for kind, got in ((GROUP, h.groups), (PAIR, h.pairs)):
                if isinstance(got, _Recorded):
                    yield from ((rid, kind, d) for d in got.new)

    def committed(self) -> None:
        for h in (self.loaded or {}).values():
            for got in (h.groups, h.pairs):
                if isinstance(got, _Recorded):
                    got.new.clear()

    def forget(self) -> None:
        """The commit failed: what is in memory may be ahead of the state."""
        self.loaded = None
