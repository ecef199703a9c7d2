"""Matches + rule weights -> scored findings, in the order a responder reads them.

Score of an event = sum of the weights of every rule that matched it (filters already removed
what they remove). Context rules (`context: true`, e.g. "the call failed") add their weight only
to events that some detection rule flagged: they never make a finding on their own.

Correlation rules (engine/correlate.py): a hit adds the correlation's weight, once per
correlation, to every event that formed it; the correlation is listed among the finding's rules
(after the base rules, in RuleSet order) and the hit in `Finding.hits`. An event only a
correlation flagged still becomes a finding (with the context rules that matched it). Base rules
that a `generate: false` correlation references (`Rule.generate` False) are evaluated but never
counted: they neither make a finding nor add weight on their own.
"""

from __future__ import annotations

import gc
import heapq
import operator
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import chain, groupby
from typing import Any

import orjson

from trailhound.engine.base import Match
from trailhound.engine.correlate import CorrelationStats, Correlator, Hit
from trailhound.errors import SpillError
from trailhound.model import Event
from trailhound.rules.model import Correlation, Filter, Rule
from trailhound.spill import (
    MAX_PILES,
    At,
    Codec,
    FindingRefs,
    Payloads,
    Piles,
    RowStore,
    Runs,
    spill_budget,
)

# The Event fields that name an operation (collapse_key's inputs, in _collapse_key's order).
COLLAPSE_FIELDS = (
    "source", "correlation_id", "operation", "resource", "principal", "event_id", "account",
    "src_ip", "time_ns",
)
_collapse_inputs = operator.attrgetter(*COLLAPSE_FIELDS)
# Azure: the records of one write lie minutes (a long deployment: hours) apart; one
# correlationId reused years later is another operation. The span is a UTC day, as a key
# (every engine, the spill path and Spark group on the same key without a second pass): an
# operation running across 00:00 UTC shows as two findings, never hides one.
AZURE_SPAN_NS = 86_400 * 1_000_000_000

Signal = Rule | Correlation  # what a finding lists: both carry the same scoring attributes

# The seed query's four flag columns, in its order.
SIGNALS = ("iam_change", "security_disable", "priv_esc", "compute_create")


@dataclass(slots=True)
class Finding:
    event: Event
    score: float
    # every rule that counted, detection and context, in RuleSet order, then the correlations
    # whose hits the event is part of, in RuleSet order
    rules: list[Signal]
    suppressed: list[tuple[Rule, Filter]] = field(default_factory=list)
    order: int = 0  # input position, the last tie-breaker
    copies: int = 1  # records this finding stands for (copies of one operation: see _Sorter)
    hits: list[Hit] = field(default_factory=list)  # correlation hits the event is part of

    def flag(self, signal: str) -> int:
        return int(signal in self.signals())

    def signals(self) -> set[str | None]:
        """The seed signals (SIGNALS) its counted detection rules raise."""
        return {r.signal for r in self.rules if not r.context}


def _total(rules: Iterable[Signal]) -> float:
    score = sum(r.weight for r in rules)
    if isinstance(score, float) and score.is_integer():
        score = int(score)
    return score


def counted(rules: Iterable[Signal]) -> list[Signal]:
    """The rules that count towards a score: not those with `generate` False (base rules of a
    correlation)."""
    return [r for r in rules if r.generate]


def match_score(m: Match) -> float:
    """The score of the finding `m` makes (score_match), without making it (engine/fast.py)."""
    return _total(counted(m.rules))


def score_match(m: Match, order: int = 0) -> Finding | None:
    """A Finding when at least one counted detection (non-context) rule survived, else None.
    Rules with `generate` False (base rules of a correlation) are not counted."""
    rules = counted(m.rules)
    if not any(not r.context for r in rules):
        return None
    return Finding(m.event, _total(rules), rules, list(m.suppressed), order)


def _positions(correlator: Correlator) -> dict[str, int]:
    return {c.id: i for i, c in enumerate(correlator.correlations)}


def hits_by_order(hits: Sequence[Hit]) -> dict[int, list[Hit]]:
    """Input position -> the hits that record is part of, in `hits` order."""
    out: dict[int, list[Hit]] = {}
    for hit in hits:
        for order in hit.orders:
            out.setdefault(order, []).append(hit)
    return out


def hit_only_finding(correlator: Correlator, order: int) -> Finding:
    """The finding of an event no counted rule flagged but a correlation hit includes."""
    return _hit_only(correlator.match(order), order)


def _hit_only(m: Match, order: int) -> Finding:
    return Finding(m.event, 0, counted(m.rules), list(m.suppressed), order)


def apply_hits(f: Finding, hits: Sequence[Hit], position: dict[str, int]) -> None:
    """Add `hits` to `f`: each correlation listed once after the base rules (RuleSet order),
    its weight counted once; hits sorted by correlation, start, group."""
    for hit in hits:
        f.hits.append(hit)
        if not any(r is hit.correlation for r in f.rules):
            f.rules.append(hit.correlation)
    if not f.hits:
        return
    base = [r for r in f.rules if not isinstance(r, Correlation)]
    corr = sorted((r for r in f.rules if isinstance(r, Correlation)), key=lambda r: position[r.id])
    f.rules = [*base, *corr]
    f.hits.sort(key=lambda h: (position[h.correlation.id], h.start_ns, h.group))
    f.score = _total(f.rules)


def keep(f: Finding, min_score: float | None) -> bool:
    """Default (None): the seed's `suspicion_score > 0`. `--min-score 0`: every flagged event,
    whatever its score. Otherwise: score >= min_score."""
    return keep_score(f.score, min_score)


def keep_score(score: float, min_score: float | None) -> bool:
    if min_score is None:
        return score > 0
    if min_score == 0:
        return True
    return score >= min_score


def sort_key(f: Finding) -> tuple[object, ...]:
    """Highest score first; ties by event time (unknown last), then event id (missing last),
    then input order, so the output is the same on every run. The one sort definition: scoring
    sorts every finding by it, in memory or spilled, computed from its parts (_sort_key) where the
    event's part came from a worker (spark/score.py spells the same order in Spark SQL)."""
    return _sort_key(f.score, event_order(f.event), f.order)


def _sort_key(score: float, event_order: tuple[object, ...], order: int) -> tuple[object, ...]:
    return (-score, *event_order, order)


def event_order(e: Event) -> tuple[object, ...]:
    """The event's part of sort_key: time (unknown last), then event id (missing last)."""
    t, eid = e.time_ns, e.event_id
    return (t is None, t or 0, eid is None, eid or "")


# What scoring sorts a finding by that depends on its event alone: its collapse key as JSON
# text (None: none), its status rank (copies of one operation: the lowest rank, then the
# first, wins), event_order, and what the collapse groups are sorted by before the key
# (group_first).
EventKeys = tuple[bytes | None, int, tuple[object, ...], tuple[object, ...]]


def event_keys(e: Event) -> EventKeys:
    """The event's EventKeys. Computed by the worker that matched the event (engine/fast.py:
    the main process is the serial part of a scan), else when the finding is sorted. (The
    helpers' bodies are written out here: once per finding, each call costs.)"""
    key = _collapse_key(*_collapse_inputs(e))  # collapse_key(e)
    order = event_order(e)
    # status rank: the record that says how it ended wins (Succeeded/Failed over
    # Started/Accepted)
    rank = 0 if e.status in ("success", "failure") else 1
    if key is None:
        return (None, rank, order, ())
    # JSON text: equal keys give equal bytes, and bytes compare whatever the key holds (None
    # next to text). Then group_first, what the collapse groups are sorted by before the key
    # itself: event_order when the key determines it, else nothing. Why: copies of one
    # operation need only be adjacent, so any order that keeps equal keys together will do,
    # and a "record" key (collapse_key) holds the event time and id, i.e. all of event_order:
    # sorted by it first, the groups come out nearly in the final order (most findings share a
    # few scores), and input read in time order is nearly sorted by it already, so both sorts
    # cost little more than a pass (timsort, spill.merge of runs that barely overlap) instead
    # of a shuffle by event id.
    return (orjson.dumps(key), rank, order, order if key[1] == "record" else ())


def collapse_key(e: Event) -> tuple[object, ...] | None:
    """Records that report one operation (log-formats pitfalls 12-14); None: nothing to
    collapse with.

    * Azure Activity: one write is logged as Started, Accepted and Succeeded records sharing a
      correlationId; one ARM deployment shares its correlationId across every resource it
      writes. Key: correlationId + operation (case-insensitive, pitfall 3) + resource id
      (case-insensitive) + caller + the UTC day (AZURE_SPAN_NS).
    * Every other record with a logged id (CloudTrail eventID, Entra id, GCP insertId, M365
      Id): a second delivery (CloudTrail's own, an organisation trail, an EventBridge copy,
      overlapping GCP sinks) is the same record again, so every field agrees. Key: id + account
      + operation + principal + source IP + time; one id on records that differ in identity,
      IP, operation or time (template data, one sign-in id logged under two categories from two
      IPs) is several events. The category is not part of it: the same sign-in filed under two
      categories from one user and IP is one event.
    """
    return _collapse_key(*_collapse_inputs(e))


def _collapse_key(
    source: str, correlation_id: str | None, operation: str | None, resource: str | None,
    principal: str | None, event_id: str | None, account: str | None, src_ip: str | None,
    time_ns: int | None,
) -> tuple[object, ...] | None:
    if source == "azure_activity" and correlation_id and operation:
        day = None if time_ns is None else time_ns // AZURE_SPAN_NS
        return (
            source, "operation", correlation_id.lower(), operation.lower(),
            resource.lower() if resource else None, principal, day,
        )
    if event_id and not event_id.startswith("syn:"):
        return (source, "record", account, event_id, operation, principal, src_ip, time_ns)
    return None


def score_all(
    matches: Iterable[Match],
    min_score: float | None = None,
    *,
    dedupe: bool = False,
    correlations: Sequence[Correlation] = (),
    correlation_stats: CorrelationStats | None = None,
    spill_after: int | None = None,
) -> list[Finding]:
    """Score every match, evaluate the correlations over the same stream, add their hits,
    collapse copies of one operation (`dedupe`), keep by `min_score`, sort."""
    return list(
        iter_findings(
            matches,
            min_score,
            dedupe=dedupe,
            correlations=correlations,
            correlation_stats=correlation_stats,
            spill_after=spill_after,
        )
    )


def iter_findings(
    matches: Iterable[Match],
    min_score: float | None = None,
    *,
    dedupe: bool = False,
    correlations: Sequence[Correlation] = (),
    correlation_stats: CorrelationStats | None = None,
    spill_after: int | None = None,
    max_correlation: int | None = None,
    rows: RowStore | None = None,
) -> Iterator[Finding]:
    """score_all, yielding the findings in order. Up to `spill_after` findings (default:
    spill.spill_budget()) stay in memory; past that they are kept compact in sorted runs on
    disk (spill.py) and merged back, so memory does not grow with the number of findings.
    `rows`: where the rows of rows-only findings (RowEvent, RowMatches) are, when their wires
    say where (engine/fast.py FastPlan.for_rows); also the spill's folder. Closed at the end."""
    budget = spill_after if spill_after is not None else spill_budget()
    correlator = Correlator(
        correlations, same_operation=collapse_key if dedupe else None, stats=correlation_stats,
        max_items=max_correlation,  # None: Limits() (engine/correlate.py)
    )
    try:
        yield from _score_stream(matches, correlator, budget, dedupe, min_score, correlations, rows)
    finally:
        # an engine reading in worker processes stops them when its stream is closed; an
        # exception here would otherwise keep the stream (and the pool) alive in its traceback
        close = getattr(matches, "close", None)
        if close is not None:
            close()
        if rows is not None:
            rows.close()


def _score_stream(
    matches: Iterable[Match],
    correlator: Correlator,
    budget: int,
    dedupe: bool,
    min_score: float | None,
    correlations: Sequence[Correlation],
    store: RowStore | None,
) -> Iterator[Finding]:
    sorter = _Sorter(dedupe, min_score, store)
    # Every entry the sorter builds and merges (millions of tuples past a few hundred thousand
    # findings) forms no reference cycle: the collector would only walk them again and again
    # (measured: ~1 us a finding). Paused while the findings are sorted and handed on, restored
    # after (engine/file_scan.py pauses it the same way while reading).
    paused = gc.isenabled()
    gc.disable()
    try:
        found = 0  # findings so far; past `budget`, the sorter spills
        add, add_row, add_rows = sorter.add, sorter.add_row, sorter.add_rows
        i = -1  # input position of the last match
        for m in matches:
            i += 1
            if m.__class__ is RowMatches:  # a batch of findings final in the worker
                rows: list[RowWire] = m.wires
                if sorter.payloads is None and found + len(rows) > budget:
                    cut = budget + 1 - found  # the finding past the budget spills (as below)
                    add_rows(rows[:cut], i)
                    sorter.spill(budget, correlator.keeps)
                    add_rows(rows[cut:], i + cut)
                else:
                    add_rows(rows, i)
                i += len(rows) - 1
                found += len(rows)
                continue
            e = m.event
            if e.__class__ is RowEvent:  # final in the worker: scored, its row built there
                add_row(e, i)
            else:
                may_hit = correlator.add(m, i)  # only matches the correlator keeps can get hits
                f = score_match(m, i)
                if f is None:
                    continue
                # in memory, every finding waits for the hits (the correlator says which can
                # get any only once it has seen them all)
                add(f, may_hit or sorter.payloads is None)
            found += 1
            if found == budget + 1 and sorter.payloads is None:
                sorter.spill(budget, correlator.keeps)
        hits = correlator.finish() if correlations else []
        if sorter.payloads is None and found + sum(len(h.orders) for h in hits) > budget:
            # the hits' findings would pass the budget (a `gte: 1` correlation over a common
            # event makes one per held event, up to the correlation cap): spill them too
            sorter.spill(budget, correlator.keeps)
        yield from sorter.finish(hits, correlator)
    finally:
        sorter.close()
        if paused:
            gc.enable()


# -- sorting: one way, in memory or spilled (see spill.py) ---------------------------------


class RowEvent(Event):
    """What the main process gets of an event whose finding the worker that matched it made
    final (engine/fast.py FastPlan.to_wire, in scans asked for rows only: pipeline.scan_stream's
    `rows_only`): the finding's score, its output row as JSON (report/columns.pre_row) or where
    the worker wrote it (an int: spill.RowStore) and the event's EventKeys; of the Event's
    fields only `time_ns` (the tuning gate's window reads it), the others raise AttributeError.
    Such a finding has no rule a correlation or a first-seen history reads and nothing a filter
    suppressed: nothing after the engine can change it, so it goes from the wire to its sorted
    place and its JSON line as these bytes."""

    __slots__ = ("json", "keys", "score")
    json: bytes | int
    keys: EventKeys
    score: float

    def __init__(self, keys: EventKeys, score: float, json: bytes | int) -> None:
        self.keys, self.score, self.json = keys, score, json
        self.time_ns = row_time(keys)

    def __repr__(self) -> str:
        return f"RowEvent(keys={self.keys!r}, score={self.score!r}, json={self.json!r})"


def row_time(keys: EventKeys) -> int | None:
    """The event time (ns) its EventKeys hold (in event_order)."""
    order = keys[2]
    return None if order[0] else order[1]  # type: ignore[return-value]


# A rows-only finding as the worker sends it (engine/fast.py FastPlan.to_wire): ("r", the event's
# EventKeys, score, indices of its rules, its row's JSON or where the worker wrote it)
RowWire = tuple[str, EventKeys, float, tuple[int, ...], bytes | int]


class RowMatches(Match):
    """Consecutive matches of a rows-only scan that are RowEvents' (final in the worker), as the
    worker sent them, in one item of the match stream (engine/file_scan.scan_specs): what they
    go through after the engine needs none of a Match's parts (the tuning gate reads their time,
    the first-seen gate has no rule of theirs, scoring reads the wire), and building a Match and
    a RowEvent for each, then passing it through every generator of the stream one by one, was
    work per finding that nothing reads. `match(wire)` builds one as a Match
    (its rules: what the rare reader that needs them gets, as the time window's count of what it
    left out). Reading `event`, `rules` or `suppressed` raises AttributeError: a consumer of the
    stream that does not know the batch fails rather than read one finding instead of many."""

    __slots__ = ("match", "wires")
    wires: list[RowWire]
    match: Callable[[RowWire], Match]

    def __init__(self, wires: list[RowWire], match: Callable[[RowWire], Match]) -> None:
        self.wires, self.match = wires, match

    def __repr__(self) -> str:
        return f"RowMatches({len(self.wires)} rows)"


class RowFinding(Finding):
    """A finding final in the worker that matched it, as scans asked for rows only yield it:
    its score, order, copies and its row's JSON as the worker built it (report/columns.row_json
    writes it, `records` set to the copies); no event, rules or hits (reading them raises
    AttributeError)."""

    __slots__ = ("json",)
    json: bytes

    @classmethod
    def of(cls, json: bytes, score: float, order: int, copies: int) -> RowFinding:
        f = cls.__new__(cls)  # (no event, rules or hits to set)
        f.json, f.score, f.order, f.copies = json, score, order, copies
        return f

    def __repr__(self) -> str:
        return f"RowFinding(score={self.score!r}, order={self.order}, copies={self.copies}, json={self.json!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RowFinding):
            return NotImplemented
        return (self.json, self.score, self.order, self.copies) == (other.json, other.score, other.order, other.copies)

    __hash__ = None  # type: ignore[assignment]  # (as Finding's)


# How the sorter keeps a finding until it is output: the Finding itself (in memory), a rows-only
# finding's row JSON (in memory; spilled: where spill.Payloads wrote it, an int), or where the
# spill wrote its event and the rest of it as indices (spill.Payloads, spill.Codec.refs).
Item = Finding | bytes | int | tuple[At, FindingRefs]
_UNBOUNDED = sys.maxsize  # a Runs budget that never writes a run


class _Sorter:
    """Findings -> their output order, collapsing copies of one operation (`dedupe`) and keeping
    by `min_score`; in memory until `spill()`, then in sorted runs on disk (spill.Runs).

    Only records the correlator keeps can get hits (and so a new score and rules): in memory,
    every finding is `held` as an object until the hits are known (which the correlator keeps
    is known only at the end); spilled, only the input positions of those it keeps are (`kept`),
    and each is then built again from the correlator's compact copy of its match (which it holds
    anyway). Every other finding is final at once: a small entry - its keys, copies and Item - is
    sorted, kept by `min_score` into `final`, sorted by sort key; or, with `dedupe` and a
    collapse key, first into `groups` or `records`, sorted by key (after group_first) and rank,
    so that each operation's winner (the lowest rank: final status, then first in input order)
    can count the copies. Entries are tuples whose natural order is the wanted one (compared in C, no key
    function; the sort key ends with the unique order, so no comparison goes past it into the
    Item).
    """

    def __init__(self, dedupe: bool, min_score: float | None, rows: RowStore | None = None) -> None:
        self.dedupe = dedupe
        self.min_score = min_score
        self.codec = Codec()
        self.held: list[Finding] = []  # in memory: every finding, until the hits are known
        self.kept: list[int] = []  # spilled: orders of findings the correlator keeps (may get hits)
        self.rows = rows  # where rows-only findings' rows are (their Item: an int), if anywhere
        self.folder: tempfile.TemporaryDirectory[str] | None = None
        self.payloads: Payloads | None = None  # None: in memory
        self.reader: Payloads | None = None  # reads `rows` (in memory; spilled: `payloads` does)
        # The collapse groups, sorted by group_first, key, then rank (status, order): those with
        # no group_first (key JSON, status, order, *sort key, copies, item), and the "record"
        # keys' (group_first is event_order: *event_order, key JSON, status, order, -score,
        # copies, item), its sort key rebuilt for the winners alone. Every entry is one flat
        # tuple: a tuple in a tuple cost ~2x to pickle, unpickle, sort and merge (measured on
        # 84,250 entries). Every group of the first kind sorts before the second (() before any
        # event_order); the key is at _GROUP_KEY and _RECORD_KEY.
        self.groups = Runs(None, _UNBOUNDED, "")
        self.records = Runs(None, _UNBOUNDED, "")
        self.final = Runs(None, _UNBOUNDED, "")  # (*sort key, copies, item)
        # the scores (-score, the sort key's first part) `final` holds: _winners' piles of
        # other scores need no sort key (_output merges no entry of `final` into them)
        self.final_scores: set[Any] = set()
        # -score -> its pile's entries are whole (*sort key, copies, item): True; short
        # (-score, order, copies, item): False; no pile (past MAX_PILES; into `final`): None
        self.whole: dict[Any, bool | None] = {}

    def spill(self, budget: int, keeps: Callable[[int], bool]) -> None:
        """From now on keep at most `budget` entries per sort in memory, the rest on disk;
        the held findings the correlator did not keep (`keeps(order)` False) become entries."""
        if self.rows is not None:  # (the rows' folder: one Payloads reads them and its own)
            where = self.rows.folder
        else:
            try:
                self.folder = tempfile.TemporaryDirectory(prefix="trailhound-findings-")
            except OSError as exc:
                raise SpillError(tempfile.gettempdir(), exc) from exc
            where = self.folder.name
        self.payloads = Payloads(where)
        self.groups.limit(budget, where)
        self.records.limit(budget, where)
        self.final.limit(budget, where)
        held, self.held = self.held, []
        held.reverse()
        while held:  # freed one by one as they are written
            f = held.pop()
            self.add(f, keeps(f.order))

    def close(self) -> None:
        for payloads in (self.payloads, self.reader):
            if payloads is not None:
                payloads.close()
        if self.folder is not None:
            self.folder.cleanup()

    def add(self, f: Finding, may_hit: bool) -> None:
        if may_hit:
            if self.payloads is None:
                self.held.append(f)
            else:  # built again from the correlator's copy once the hits are known
                self.kept.append(f.order)
            return
        e = f.event
        # (the worker's, when it sent them: then nothing here reads the event's fields)
        key, status, order, first = getattr(e, "keys", None) or event_keys(e)
        item: Item | None = None
        # a finding below min_score is never output: as a group's winner it hides its copies,
        # as a copy it only counts
        if keep(f, self.min_score):
            payloads = self.payloads
            item = f if payloads is None else (payloads.put_event(e), self.codec.refs(f))
        self._add_all(((key, first, status, f.score, order, f.order, f.copies, item),))

    def add_row(self, e: RowEvent, order: int) -> None:
        """The finding of a RowEvent (final in the worker) at input position `order`."""
        self.add_rows((("r", e.keys, e.score, (), e.json),), order)

    def add_rows(self, wires: Sequence[RowWire], order: int) -> None:
        """The findings of rows-only wires (RowMatches), the first at input position `order`;
        a finding's Item is where its row is (an int: where the worker wrote it, RowStore, or
        spilled, where Payloads did), or its row."""
        min_score = self.min_score
        # (keep_score once per score in the batch, not once per finding: a batch has a few)
        dropped = {s for s in {w[2] for w in wires} if not keep_score(s, min_score)}
        if dropped or (self.payloads is not None and self.rows is None):
            wires = self._kept(wires, dropped)
        dedupe = self.dedupe
        if dedupe:
            # most findings of a rows-only scan have a "record" collapse key (group_first set):
            # their entries in one comprehension (_add_all's, spelled out, event_order's four
            # fields by index: once per finding, each call, generator step and unpacking costs)
            records = [
                (f[0], f[1], f[2], f[3], key, status, o, -score, 1, item)
                for o, (_, (key, status, _, f), score, _, item) in enumerate(wires, order)
                if f
            ]
            if records:
                self.records.extend(records)
            if len(records) == len(wires):
                return
        self._add_all(
            (key, first, status, score, event_order, o, 1, item)
            for o, (_, (key, status, event_order, first), score, _, item) in enumerate(wires, order)
            if not (first and dedupe)
        )

    def _kept(self, wires: Sequence[RowWire], dropped: set[float]) -> list[RowWire]:
        """`wires` with the Item the sorter keeps of each: None below min_score (`dropped`
        scores); spilled, where Payloads wrote a row that came as bytes (the batch's at once,
        each with its score: a pile's file)."""
        items: list[Any] = [None if w[2] in dropped else w[4] for w in wires]
        if self.payloads is not None:
            kept = [i for i, json in enumerate(items) if json.__class__ is bytes]
            if kept:
                where = self.payloads.put_rows([items[i] for i in kept], [wires[i][2] for i in kept])
                for i, at in zip(kept, where):
                    items[i] = at
        return [(w[0], w[1], w[2], w[3], item) for w, item in zip(wires, items)]

    def _add_all(self, found: Iterable[tuple[Any, ...]]) -> None:
        """Sort each (collapse key, group_first, status, score, event_order, input order, copies,
        Item or None) found: into `groups` or `records` (`dedupe` and a key), else into `final`
        when it is output."""
        groups: list[tuple[Any, ...]] = []
        records: list[tuple[Any, ...]] = []
        final: list[tuple[Any, ...]] = []
        dedupe = self.dedupe
        for key, first, status, score, event_order, order, copies, item in found:
            if key is not None and dedupe:
                # (rank: status, order; the sort key, _sort_key's, rebuilt from -score and
                # event_order (= first) for the winners alone: _winners)
                if first:
                    records.append((*first, key, status, order, -score, copies, item))
                else:
                    groups.append((key, status, order, *_sort_key(score, event_order, order), copies, item))
            elif item is not None:
                final.append((*_sort_key(score, event_order, order), copies, item))
        if groups:
            self.groups.extend(groups)
        if records:
            self.records.extend(records)
        if final:
            self.final_scores.update(map(_SCORE, final))
            self.final.extend(final)

    def finish(self, hits: Sequence[Hit], correlator: Correlator) -> Iterator[Finding]:
        position = _positions(correlator)
        by_order = hits_by_order(hits)
        if self.payloads is None:
            held = {f.order: f for f in self.held}
            self.held = []
            for order, hs in by_order.items():
                f = held.get(order)
                if f is None:
                    f = held[order] = hit_only_finding(correlator, order)
                apply_hits(f, hs, position)
            for f in held.values():
                self.add(f, False)
            held.clear()
        else:
            # One finding at a time, its event loaded once from the correlator's compact copy
            # and routed at once: held as objects, a hit's findings took ~6 KB each (1.9 GB at
            # the correlation cap)
            kept, self.kept = set(self.kept), []
            for order in kept | by_order.keys():
                m = correlator.match(order)
                found = score_match(m, order)
                its = by_order.get(order)
                if its:
                    found = found or _hit_only(m, order)
                    apply_hits(found, its, position)
                if found is not None:
                    self.add(found, False)
        piles = Piles(None if self.payloads is None else self.payloads.folder)
        try:
            self._winners(piles)
            yield from self._output(piles)
        finally:
            piles.close()

    def _winners(self, piles: Piles) -> None:
        """Each collapse group's winner, counting the others' copies, into `final` - or, for
        groups sorted by event order (group_first), into one pile per score: the groups come
        out in event order, so each score's winners do too (once the few that share one event
        order are sorted by input order), and the piles read in score order are sorted by sort
        key without a second external sort of every finding. A pile of a score `final` holds
        none of takes (-score, order, copies, item) alone: nothing is merged into it (_output),
        and an entry of 4 fields is half the cost of 8 to pickle and read back."""
        final, shared = self.final, self.final_scores
        for e, copies in _collapsed(self.groups, _GROUP_KEY):
            entry = (*e[3:9], copies, e[-1])
            shared.add(entry[0])
            final.add(entry)
        whole = self.whole
        out: list[tuple[Any, ...]] = []  # winners in order, piled a batch at a time
        start = 0  # where the winners of the event order of `at` (a winner) begin in `out`
        at: tuple[Any, ...] = _LAST
        # entries (*event_order, key, status, order, -score, copies, item)
        for won, copies in _collapsed(self.records, _RECORD_KEY):
            # a new event order (its id first: it differs the most)
            if won[3] != at[3] or won[1] != at[1] or won[0] != at[0] or won[2] != at[2]:
                if len(out) - start > 1:  # (one event order: by score, then input order)
                    out[start:] = sorted(out[start:])
                if len(out) >= _PILE_BATCH:
                    piles.extend(out)
                    out.clear()
                start, at = len(out), won
            if whole.get(won[7]) is False:  # (a short pile's: the common case)
                out.append((won[7], won[6], copies, won[9]))
            else:
                self._winner(won, copies, out)
        if len(out) - start > 1:
            out[start:] = sorted(out[start:])
        piles.extend(out)

    def _winner(self, won: tuple[Any, ...], copies: int, out: list[tuple[Any, ...]]) -> None:
        """Where _winners puts a winner of a score whose pile does not take short entries (or
        that it meets first): its pile, with its whole sort key when `final` holds the score
        (merged with it: _ordered), or `final` itself, past MAX_PILES scores."""
        score, whole = won[7], self.whole
        kind = whole.get(score, _UNSEEN)
        if kind is _UNSEEN:
            kind = whole[score] = None if len(whole) >= MAX_PILES else score in self.final_scores
        entry = (*_sort_key(-score, won[:4], won[6]), copies, won[9])
        if kind is None:  # (no pile has its score: `final` sorts it)
            self.final.add(entry)
        else:
            out.append(entry if kind else (score, won[6], copies, won[9]))

    def _output(self, piles: Piles) -> Iterator[Finding]:
        codec, row_finding = self.codec.finding, RowFinding.of
        reader = self.payloads
        if reader is None and self.rows is not None:
            reader = self.reader = Payloads(self.rows.folder)
        get_row = None if reader is None else reader.get_row
        for score, order, copies, item in chain.from_iterable(self._ordered(piles)):
            kind = item.__class__
            if kind is int:
                assert get_row is not None  # (only a spill or a RowStore holds rows)
                yield row_finding(get_row(item), -score, order, copies)
            elif kind is bytes:
                yield row_finding(item, -score, order, copies)
            elif kind is tuple:
                at, refs = item
                assert self.payloads is not None  # (only a spill writes events)
                yield codec(refs, self.payloads.get_event(at), order, copies, Finding)
            else:
                item.copies = copies
                yield item

    def _ordered(self, piles: Piles) -> Iterator[Iterable[tuple[Any, ...]]]:
        """The findings' (-score, order, copies, item) by sort key, in runs of entries: `final`'s
        (sorted by sort key) and the piles' (one score each, in sort key order; whole entries
        where `final` holds the score: merged with its entries of that score)."""
        scores = groupby(self.final if self.final.count else (), _SCORE)  # (final by score)
        got = next(scores, None)
        for score, chunks in piles:
            while got is not None and got[0] < score:
                yield map(_SHORT, got[1])
                got = next(scores, None)
            if got is not None and got[0] == score:  # (its pile's entries are whole: whole)
                yield map(_SHORT, heapq.merge(got[1], chain.from_iterable(chunks)))
                got = next(scores, None)
            else:  # (short entries: `final` holds no finding of this score)
                yield chain.from_iterable(chunks)
        while got is not None:
            yield map(_SHORT, got[1])
            got = next(scores, None)


_SCORE = operator.itemgetter(0)  # an entry's -score (whole or short)
_SHORT = operator.itemgetter(0, -3, -2, -1)  # a whole entry's (-score, order, copies, item)
_PILE_BATCH = 1024  # winners handed to Piles.extend at once
_UNSEEN = object()
_LAST = (None,) * 10  # (_winners' event order before the first: none is None)


# Where the collapse key is in the entries of _Sorter.groups and _Sorter.records
_GROUP_KEY = 0
_RECORD_KEY = 4


def _collapsed(groups: Iterable[tuple[Any, ...]], at: int) -> Iterator[tuple[tuple[Any, ...], int]]:
    """(entry, copies) of each group's winner that is output, of entries (..., copies, item)
    with the key at `at`, sorted by group_first (equal for equal keys), key, then rank: the
    first of each key wins and counts the others' copies."""
    groups = iter(groups)
    for won in groups:
        break
    else:
        return
    key, copies = won[at], won[-2]
    for e in groups:
        if e[at] == key:
            copies += e[-2]
            continue
        if won[-1] is not None:
            yield won, copies
        won, key, copies = e, e[at], e[-2]
    if won[-1] is not None:
        yield won, copies
