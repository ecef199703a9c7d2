"""Sigma correlation rules, evaluated over the matches any engine produces.

Input: the stream of `Match`es (event + base rules that matched it, filters already applied) of
any engine, in input order. Output: `Hit`s, each naming the events that formed it. Nothing here
depends on how the base rules were evaluated, so the reference and the fast engines share it.

Citations are to SigmaHQ/sigma-specification
specification/sigma-correlation-rules-specification.md (v2.0.2, "corr spec"); the types and
condition shapes are the ones pySigma 1.5.1's `sigma.correlations` parses.

What an event contributes
-------------------------
* An event takes part in a correlation when one of the correlation's referenced rules matched it
  (`Match.rules`: a match a filter removed does not count). Base rules are evaluated whatever
  their `generate` flag; `generate` only decides whether scoring counts them on their own.
* Time is `Event.time_ns`. An event without a time cannot be placed in a window: it takes no part
  and is counted in `CorrelationStats.untimed` (per correlation).
* Group-by ("treated as separate event occurrence scope", "When you use multiple fields they are
  linked by an AND", corr spec, Grouping): each entry is read from `Event.raw` with the lookup of
  engine/fields.py section 1, at the raw paths the loader resolved for the matching rule
  (`Correlation.group_paths`: the alias's field for that rule - corr spec, Field Name Aliases -
  mapped through the log-source pipeline, first path holding a value wins). A value is the tuple
  of its leaves' texts (fields.text_of; null and objects have none), compared exactly
  (case-sensitively, as SIEM `stats ... by` does), except in Microsoft's records, whose names
  compare without case (identity.fold: an Entra UPN typed `User@Contoso.com` at sign-in is the
  Activity Log's `user@contoso.com`). An event missing any group-by value takes no
  part (as `stats by` drops it) and is counted in `CorrelationStats.ungrouped`. No `group-by`:
  one group.
* An event matched by several referenced rules is one event for event_count / value_*: it is
  read with the first of those rules in the correlation's list. For temporal types it stands for
  every rule it matched (with aliases it may then fall in two groups).
* Copies of one operation (scoring.collapse_key: a CloudTrail record delivered twice, Azure's
  Started/Accepted/Succeeded records) count once when the caller passes `same_operation`; the
  record with the final status (else the first) stands for them, and every copy belongs to the
  hits it forms.

Windows (sliding, not buckets: "The time frame should not be restricted to boundaries", corr
spec, Temporal Proximity; fixed buckets are a "should"-level restriction, corr spec,
Compatibility)
-----------------------------------------------------------------------------------------------
Per group, the events sorted by (time_ns, rule, input order). A WINDOW is a maximal run of them
whose first and last times differ by AT MOST `timespan`: the edge is inclusive, so an event
exactly `timespan` after the first is inside, one nanosecond later is outside. Every set of
events that fits in `timespan` lies inside some window, and windows depend on the times only, so
shuffled input gives the same windows (and hits) as sorted input.

Types (corr spec, Correlation Types; Condition)
-----------------------------------------------
* event_count: the number of events in the window ("Counts events occurring in the given time
  frame"). Members: every event of the window.
* value_count: the number of distinct values of the condition `field` in the window ("the count
  of distinct values contained in the field"); events without the field add no value and are
  not members.
* value_sum / value_avg (pySigma types, not in the spec): the sum / mean of the field's first
  numeric leaf (fields.number_of) over the window's events that have one (exact arithmetic);
  no such event: the condition is false. Members: the events with a number.
* temporal: the number of distinct referenced rules that matched in the window ("All events
  defined by the rules referred by the rule field must occur in the time frame"; the condition
  "specified the count of different event types", default: all rules). Members: every event of
  the window.
* temporal_ordered: "behaves like temporal and requires in addition that the events appear in
  the order provided": the count is the longest chain of events e1..en whose rules are in
  strictly increasing list position with times t1 <= t2 <= ... <= tn (equal times count as in
  order: the logs' clock cannot order them) and tn - t1 <= timespan. One event matching two
  listed rules may fill both steps. Members: only the events on such a chain of the required
  length, so a StopLogging before any recon is not part of a recon-then-StopLogging hit.

Conditions: gt / gte / lt / lte / eq / neq compare the window's count (or value) with the given
number. For event_count and value_* every window is tested, so `lt` means "some window holds
fewer": a window is maximal, so a burst is never split to satisfy `lt`. Temporal types accept
gt / gte only (the loader refuses others): a count of rules matched "at most" is not a detection.

Hits
----
Satisfied windows of one correlation and group that overlap in time merge into ONE hit, whose
members are the members of those windows; so an event belongs to at most one hit per correlation
and group, and one burst is one hit (not one per window). A hit lists the event ids of its
members' representative events sorted by (time, event id, input order) - the first LISTED of
them, and how many there are - and the input positions of every record that formed it.

Memory: only events some correlation's referenced rules matched are kept (their `Match`, on
disk past a budget), plus one small item per (event, referenced rule, group) in memory until the
end. The items all correlations hold at once are capped (`max_items`: sources/limits.py
`max_correlation`, `--max-correlation-events`): an item past the cap is not held, so its event
takes no part in that correlation (hits may be missed); such events are counted per correlation
(`CorrelationStats.overflow`) and reported as one `correlation_limit` issue each (`issues`).
Below the cap nothing changes.
"""

from __future__ import annotations

import hashlib
import operator
from collections import Counter, deque
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from trailhound.engine import fields as F
from trailhound.engine.base import Match
from trailhound.identity import fold
from trailhound.model import Event, Issue, Location
from trailhound.rules.model import Correlation
from trailhound.sources.limits import ENV, OPTION, Limits
from trailhound.spill import Codec, Shelf, pack_event, unpack_event

__all__ = ["LISTED", "CorrelationStats", "Correlator", "Hit", "correlate"]

GroupKey = tuple[tuple[str, ...], ...]

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
    "eq": operator.eq,
    "neq": operator.ne,
}


# Event ids a hit lists, at most. Every event of a hit is a finding whose row lists the hit:
# a `gte: 1` correlation without group-by over 300,000 events (the cap) would otherwise write
# 300,000 ids into each of 300,000 rows (3.6 TB); past this many the ids are those of the
# first events in time order, and the rest are counted (Hit.size), as the row says.
LISTED = 100


@dataclass(frozen=True, slots=True)
class Hit:
    """One correlation hit: the events (one per operation) that formed it, in time order.

    It names its events by input position and event id, never holds them: a hit's findings
    load each event once, when they are built (scoring.py), so holding every hit of a scan
    costs a few hundred bytes per event, not the events."""

    correlation: Correlation
    group: GroupKey  # the group-by values, in group_by order (each a tuple of leaf texts)
    # event ids of the first LISTED operations (representative records), by (time, event id,
    # input order)
    event_ids: tuple[str | None, ...]
    size: int  # operations that formed it (event_ids lists the first LISTED of them)
    orders: tuple[int, ...]  # input positions of every record that formed it (copies included)
    start_ns: int
    end_ns: int


@dataclass
class CorrelationStats:
    """Per correlation id: events that matched a referenced rule but could not take part."""

    untimed: Counter[str] = field(default_factory=Counter)  # no event time
    ungrouped: Counter[str] = field(default_factory=Counter)  # a group-by value missing
    hits: Counter[str] = field(default_factory=Counter)
    overflow: Counter[str] = field(default_factory=Counter)  # past the cap: not held
    # one `correlation_limit` issue per correlation that overflowed, located at its first such
    # event (finish() adds them; the pipeline counts them as input errors: exit code 3)
    issues: list[Issue] = field(default_factory=list)


@dataclass(slots=True)
class _Item:
    # Held per (event, rule, group) until the end of the scan: slots, and nothing the kept
    # event can give back (its event id is read from there for the few items in a hit).
    time: int
    rule: int  # position of the matched rule in Correlation.rules
    order: int  # input position of the record
    unit: int | bytes  # the operation it reports (copies share it): see _unit
    value: Any  # value_count: tuple of texts; value_sum/avg: a number; else None
    final: bool  # the record says how the operation ended (success / failure)


def _unit(key: Hashable | None, order: int) -> int | bytes:
    """The operation an event reports, as a small value: its input position when it has no
    copies, else a 128-bit digest of the same-operation key. The key itself (source, account,
    event id, operation, principal, IP, time...) would keep ~0.4 KB of strings alive per held
    event; repr of a tuple of str/int/None is injective, and a 128-bit collision is out of
    reach, so copies are grouped exactly as by the key."""
    if key is None:
        return order
    return hashlib.blake2b(repr(key).encode("utf-8", "surrogatepass"), digest_size=16).digest()


def _texts(raw: Any, paths: tuple[str, ...]) -> tuple[str, ...] | None:
    for p in paths:
        present, leaves = F.lookup(raw, p)
        if present:
            texts = tuple(t for t in map(F.text_of, leaves) if t is not None)
            if texts:
                return texts
    return None


def _number(raw: Any, paths: tuple[str, ...]) -> int | float | None:
    for p in paths:
        present, leaves = F.lookup(raw, p)
        if present:
            for leaf in leaves:
                n = F.number_of(leaf)
                if n is not None:
                    return n
    return None


class Correlator:
    """Feed it every Match (`add`), then `finish()` for the hits.

    same_operation: a key naming the operation an event reports (scoring.collapse_key), so that
    copies of one operation count once; None: every record is its own operation.
    """

    def __init__(
        self,
        correlations: Sequence[Correlation],
        *,
        same_operation: Callable[[Event], Hashable | None] | None = None,
        stats: CorrelationStats | None = None,
        max_items: int | None = None,
    ) -> None:
        self.correlations = tuple(correlations)
        self.stats = stats if stats is not None else CorrelationStats()
        # the cap on items held at once (None: Limits(), i.e. TRAILHOUND_* or the default)
        self.max_items = max_items if max_items is not None else Limits().max_correlation
        self._held = 0
        self._overflow_at: dict[int, Location] = {}  # correlation -> its first event past the cap
        self._same_operation = same_operation
        self._refs: dict[str, list[tuple[int, int]]] = {}
        for ci, c in enumerate(self.correlations):
            for ri, r in enumerate(c.rules):
                self._refs.setdefault(r.id, []).append((ci, ri))
        self._groups: list[dict[GroupKey, list[_Item]]] = [{} for _ in self.correlations]
        # order -> (packed event, rules, suppressed): every match a correlation references,
        # kept to the end; on disk past a budget (spill.Shelf), read back for the few in a hit
        self._kept = Shelf()
        self._codec = Codec()  # rules and filters travel as indices

    def add(self, m: Match, order: int) -> bool:
        """Remember what the correlations need of this match; True when it was kept."""
        if not self._refs:
            return False
        hits: dict[int, list[int]] = {}
        for r in m.rules:
            for ci, ri in self._refs.get(r.id, ()):
                hits.setdefault(ci, []).append(ri)
        if not hits:
            return False
        e = m.event
        kept = False
        unit: int | bytes | None = None
        for ci, ris in hits.items():
            c = self.correlations[ci]
            if e.time_ns is None:
                self.stats.untimed[c.id] += 1
                continue
            if unit is None:
                key = self._same_operation(e) if self._same_operation is not None else None
                unit = _unit(key, order)
            ungrouped = overflow = False
            for ri in sorted(set(ris)):
                group: list[tuple[str, ...]] = []
                for paths in c.group_paths[ri]:
                    v = _texts(e.raw, paths)
                    if v is None:
                        break
                    group.append(tuple(fold(e.provider, t) for t in v))  # identity.py
                else:
                    value: Any = None
                    if c.value_paths is not None:
                        paths = c.value_paths[ri]
                        value = _texts(e.raw, paths) if c.type == "value_count" else _number(e.raw, paths)
                    if self._held >= self.max_items:
                        overflow = True
                        continue
                    item = _Item(
                        e.time_ns, ri, order, unit, value, e.status in ("success", "failure")
                    )
                    self._groups[ci].setdefault(tuple(group), []).append(item)
                    self._held += 1
                    kept = True
                    continue
                ungrouped = True
            if ungrouped:
                self.stats.ungrouped[c.id] += 1
            if overflow:
                self.stats.overflow[c.id] += 1
                self._overflow_at.setdefault(ci, e.location)
        if kept:
            # compact (raw record as JSON bytes): every match a correlation references is kept
            # until the end; decoded again only for the few that end up in a hit
            self._kept.put(order, (pack_event(m.event), self._refs_of(m.rules), self._refs_of(m.suppressed)))
        return kept

    def keeps(self, order: int) -> bool:
        """Whether the match at this input position was kept (only those can be in a hit)."""
        return order in self._kept

    def match(self, order: int) -> Match:
        """The kept Match at an input position (every order a Hit names was kept)."""
        packed, rules, suppressed = self._kept.get(order)
        return Match(unpack_event(packed), self._objs_of(rules), self._objs_of(suppressed))

    def _refs_of(self, items: Iterable[Any]) -> tuple[Any, ...]:
        ref = self._codec.ref
        return tuple(tuple(map(ref, x)) if isinstance(x, tuple) else ref(x) for x in items)

    def _objs_of(self, refs: Iterable[Any]) -> list[Any]:
        obj = self._codec.obj
        return [tuple(map(obj, r)) if isinstance(r, tuple) else obj(r) for r in refs]

    def finish(self) -> list[Hit]:
        """Every hit, by correlation (RuleSet order), then start time, then group."""
        out: list[Hit] = []
        for ci, c in enumerate(self.correlations):
            hits: list[Hit] = []
            # each group's items let go once evaluated (the hits name what they need)
            groups, self._groups[ci] = self._groups[ci], {}
            while groups:
                group, items = groups.popitem()
                hits.extend(self._evaluate(c, group, items))
            hits.sort(key=lambda h: (h.start_ns, h.group, h.end_ns))
            self.stats.hits[c.id] += len(hits)
            out.extend(hits)
            if ci in self._overflow_at:
                self.stats.issues.append(self._overflow_issue(c, self._overflow_at[ci]))
        return out

    def _overflow_issue(self, c: Correlation, where: Location) -> Issue:
        n = self.stats.overflow[c.id]
        return Issue(where, "correlation_limit", (
            f"correlation rule {c.title or c.name or c.id!r} ({c.id}): {n:,} matching events from "
            f"here on could not be held: all correlations together hold at most "
            f"{self.max_items:,} at once; those take no part in it, so its hits may be missed; "
            f"narrow its timespan or group-by, or raise the cap with {OPTION['max_correlation']} "
            f"or {ENV['max_correlation']}"
        ))

    # -- one group -------------------------------------------------------------------------

    def _evaluate(self, c: Correlation, group: GroupKey, items: list[_Item]) -> list[Hit]:
        # Copies of one operation: all records of a unit, and per (unit, rule) the best copy.
        copies: dict[int | bytes, list[int]] = {}
        best: dict[tuple[int | bytes, int], _Item] = {}
        for it in items:
            copies.setdefault(it.unit, []).append(it.order)
            k = (it.unit, it.rule)
            cur = best.get(k)
            if cur is None or self._rank(it) < self._rank(cur):
                best[k] = it
        chosen = list(best.values())
        if not c.type.startswith("temporal"):
            # One item per operation: the first listed rule that matched it.
            first: dict[int | bytes, _Item] = {}
            for it in chosen:
                cur = first.get(it.unit)
                if cur is None or it.rule < cur.rule:
                    first[it.unit] = it
            chosen = list(first.values())
        chosen.sort(key=lambda it: (it.time, it.rule, it.order))
        if c.type == "temporal_ordered":
            ranges, eligible = _ordered_ranges(c, chosen)
        else:
            ranges, eligible = _window_ranges(c, chosen)
        return [self._hit(c, group, m, copies) for m in _hits_of(ranges, chosen, eligible)]

    def _rank(self, it: _Item) -> tuple[int, int]:
        # As scoring collapses copies: the record that says how the operation ended stands for it.
        return (0 if it.final else 1, it.order)

    def _kept_event(self, order: int) -> Event:
        return unpack_event(self._kept.get(order)[0])

    def _hit(
        self, c: Correlation, group: GroupKey, members: list[_Item], copies: dict[int | bytes, list[int]]
    ) -> Hit:
        reps: dict[int | bytes, _Item] = {}
        for it in members:
            cur = reps.get(it.unit)
            if cur is None or self._rank(it) < self._rank(cur):
                reps[it.unit] = it
        # each representative's event id, read from its kept match (the event is let go at once)
        ids = {it.order: self._kept_event(it.order).event_id for it in reps.values()}
        named = sorted(reps.values(), key=lambda it: (it.time, ids[it.order] or "", it.order))
        orders = sorted({o for it in named for o in copies[it.unit]})
        return Hit(
            correlation=c,
            group=group,
            event_ids=tuple(ids[it.order] for it in named[:LISTED]),
            size=len(named),
            orders=tuple(orders),
            start_ns=min(it.time for it in members),
            end_ns=max(it.time for it in members),
        )


# -- windows -----------------------------------------------------------------------------------


def _windows(times: Sequence[int], span: int) -> Iterable[tuple[int, int]]:
    """(first, last) index of every maximal run with times[last] - times[first] <= span."""
    n = len(times)
    j = 0
    for i in range(n):
        j = max(j, i)
        while j + 1 < n and times[j + 1] - times[i] <= span:
            j += 1
        if i == 0 or times[j] - times[i - 1] > span:
            yield i, j


def _window_ranges(c: Correlation, items: list[_Item]) -> tuple[list[tuple[int, int]], list[bool]]:
    """For every type but temporal_ordered: the (first, last) times of the satisfied windows,
    and which items may be members (value_*: the items with a value; others: all)."""
    test = _OPS[c.op]
    target = c.count
    kind = c.type
    times = [it.time for it in items]
    valued = kind.startswith("value_")
    eligible = [it.value is not None for it in items] if valued else [True] * len(items)
    ranges: list[tuple[int, int]] = []
    # Incremental state over the window items[lo:hi].
    lo = hi = 0
    seen: Counter[Any] = Counter()  # value_count: value -> items; temporal: rule -> items
    total = Fraction(0)
    with_value = 0

    def step(it: _Item, sign: int) -> None:
        nonlocal total, with_value
        key = it.rule if kind == "temporal" else it.value
        if kind in ("temporal", "value_count") and key is not None:
            seen[key] += sign
            if not seen[key]:
                del seen[key]
        if it.value is not None:
            with_value += sign
            if kind in ("value_sum", "value_avg"):
                total += sign * Fraction(it.value)

    for i, j in _windows(times, c.timespan_ns):
        while hi <= j:
            step(items[hi], 1)
            hi += 1
        while lo < i:
            step(items[lo], -1)
            lo += 1
        if kind == "event_count":
            ok = test(j - i + 1, target)
        elif kind in ("temporal", "value_count"):
            ok = test(len(seen), target)
        elif with_value == 0:  # value_sum / value_avg of nothing: no measure
            ok = False
        else:
            ok = test(total if kind == "value_sum" else total / with_value, target)
        if ok and (not valued or with_value):
            ranges.append((times[i], times[j]))
    return ranges, eligible


def _ordered_ranges(c: Correlation, items: list[_Item]) -> tuple[list[tuple[int, int]], list[bool]]:
    """temporal_ordered: the satisfied windows (those holding an in-order chain of the required
    length) and the items on such a chain.

    Forward pass (items by time, then rule position): late[x][L] = the latest start time of a
    chain of length L ending at x; backward pass: early[x][L] = the earliest end of a chain of
    length L starting at x. x is on a chain when some L1 + L2 - 1 >= need has
    early[x][L2] - late[x][L1] <= timespan (the two halves join at x). A window whose first time
    is t holds a full chain when some x in it has late[x][L] >= t for an L >= need.
    """
    k = len(c.rules)
    need = max(c.count + 1 if c.op == "gt" else c.count, 1)
    n = len(items)
    if need > k or not n:
        return [], [False] * n
    span = c.timespan_ns
    late: list[list[int | None]] = []
    best: list[list[int | None]] = [[None] * (k + 1) for _ in range(k)]  # rule -> length -> max
    for it in items:
        row: list[int | None] = [None] * (k + 1)
        row[1] = it.time
        for length in range(2, it.rule + 2):
            cand = [v for r in range(it.rule) if (v := best[r][length - 1]) is not None]
            if cand:
                row[length] = max(cand)
        for length in range(1, k + 1):
            v, b = row[length], best[it.rule][length]
            if v is not None and (b is None or v > b):
                best[it.rule][length] = v
        late.append(row)
    early: list[list[int | None]] = [[] for _ in items]
    best = [[None] * (k + 1) for _ in range(k)]  # rule -> length -> min
    for x in range(n - 1, -1, -1):
        it = items[x]
        row = [None] * (k + 1)
        row[1] = it.time
        for length in range(2, k - it.rule + 1):
            cand = [v for r in range(it.rule + 1, k) if (v := best[r][length - 1]) is not None]
            if cand:
                row[length] = min(cand)
        for length in range(1, k + 1):
            v, b = row[length], best[it.rule][length]
            if v is not None and (b is None or v < b):
                best[it.rule][length] = v
        early[x] = row
    on_chain = []
    for x in range(n):
        ok = False
        for l1 in range(1, k + 1):
            start = late[x][l1]
            if start is None:
                continue
            for l2 in range(max(1, need - l1 + 1), k + 1):
                end = early[x][l2]
                if end is not None and end - start <= span:
                    ok = True
                    break
            if ok:
                break
        on_chain.append(ok)
    # full[x]: the latest start of a full chain ending at x (None: none ends there).
    full = [max((v for v in late[x][need:] if v is not None), default=None) for x in range(n)]
    times = [it.time for it in items]
    ranges: list[tuple[int, int]] = []
    window: deque[int] = deque()  # indexes with a full chain, decreasing `full`
    hi = 0
    for i, j in _windows(times, span):
        while hi <= j:
            f = full[hi]
            if f is not None:
                while window and full[window[-1]] <= f:  # type: ignore[operator]
                    window.pop()
                window.append(hi)
            hi += 1
        while window and window[0] < i:
            window.popleft()
        if window and full[window[0]] >= times[i]:  # type: ignore[operator]
            ranges.append((times[i], times[j]))
    return ranges, on_chain


def _hits_of(
    ranges: list[tuple[int, int]], items: list[_Item], eligible: list[bool]
) -> list[list[_Item]]:
    """Merge satisfied windows that overlap in time; each merged range is one hit, whose
    members are the eligible items inside it (items are sorted by time)."""
    merged: list[list[int]] = []
    for start, stop in sorted(ranges):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], stop)
        else:
            merged.append([start, stop])
    out: list[list[_Item]] = []
    x = 0
    for start, stop in merged:
        while x < len(items) and items[x].time < start:
            x += 1
        members = []
        while x < len(items) and items[x].time <= stop:
            if eligible[x]:
                members.append(items[x])
            x += 1
        if members:
            out.append(members)
    return out


def correlate(
    correlations: Sequence[Correlation],
    matches: Iterable[Match],
    *,
    same_operation: Callable[[Event], Hashable | None] | None = None,
) -> list[Hit]:
    """Convenience: every hit of `correlations` over `matches` (positions = enumeration)."""
    cor = Correlator(correlations, same_operation=same_operation)
    for i, m in enumerate(matches):
        cor.add(m, i)
    return cor.finish()
