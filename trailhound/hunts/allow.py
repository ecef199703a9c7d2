"""`hunt --allow FILE`: allowlist entries applied to the events a hunt reads, as `detect`
applies them to findings. An entry is compiled by tuning.allowlist to the same pySigma filter
`detect` uses and evaluated by the reference engine's predicates, so an entry matches the same
events in both commands. Entries that name `rules` are about findings of those rules; hunts
have no rules, so those entries are not applied, and `not_applied` says so, one stderr line
each, before any log is read (as expired entries are), `-q` or not: an entry that silently does
nothing would let through the events its author meant to leave out."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator

from trailhound.engine.reference import compile_filter
from trailhound.model import Event
from trailhound.report.escape import for_terminal
from trailhound.rules.model import RuleSet
from trailhound.tuning.allowlist import Allowlist, Entry


def for_events(allowlist: Allowlist) -> tuple[Allowlist, tuple[Entry, ...]]:
    """(the entries that apply to events, with the expired ones; those naming rules)."""
    return (
        Allowlist(tuple(e for e in allowlist.entries if not e.rules), allowlist.expired),
        tuple(e for e in allowlist.entries if e.rules),
    )


def not_applied(skipped: Iterable[Entry]) -> list[str]:
    """One line per entry that names rules: which entry, the rules, why it does not apply, and
    what to do instead."""
    return [
        f"trailhound: {for_terminal(e.label)}: names rules ({for_terminal(', '.join(e.rules))}), "
        "not applied to hunts: a hunt's rows come from its SQL, not from rules; to leave these "
        "events out of hunts too, add an entry without `rules`"
        for e in skipped
    ]


class EventAllowlist:
    """Removes allowlisted events, counting them per entry (its label: FILE:LINE (reason)).
    `ruleset`: no rules, the entries' filters (tuning.allowlist.with_allowlists)."""

    def __init__(self, ruleset: RuleSet) -> None:
        self._preds: list[tuple[str, Callable[[Event], bool]]] = [
            (f.title, compile_filter(f)) for f in ruleset.filters
        ]
        self.removed: Counter[str] = Counter()

    def __bool__(self) -> bool:
        return bool(self._preds)

    def keep(self, events: Iterable[Event]) -> Iterator[Event]:
        for e in events:
            for label, passes in self._preds:
                if not passes(e):
                    self.removed[label] += 1  # the first entry that removes it, in file order
                    break
            else:
                yield e

    def notes(self) -> list[str]:
        """Summary lines: what each entry removed."""
        return [f"  {for_terminal(label)}: {n} event{'s' if n != 1 else ''} removed"
                for label, n in self.removed.items()]
