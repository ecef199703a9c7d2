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

import operator
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Self

import orjson

from trailhound.engine.base import Match
from trailhound.engine.correlate import CorrelationStats, Correlator, Hit
from trailhound.errors import SpillError
from trailhound.model import Event
from trailhound.rules.model import Correlation, Filter, Rule
from trailhound.spill import Codec, Payloads, Runs, spill_budget

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
    copies: int = 1  # records this finding stands for (see collapse())
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


def score_match(m: Match, order: int = 0) -> Finding | None:
    """A Finding when at least one counted detection (non-context) rule survived, else None.
    Rules with `generate` False (base rules of a correlation) are not counted."""
    counted: list[Signal] = [r for r in m.rules if r.generate]
    if not any(not r.context for r in counted):
        return None
    return Finding(m.event, _total(counted), counted, list(m.suppressed), order)


def add_hits(
    findings: dict[int, Finding], hits: Sequence[Hit], correlator: Correlator
) -> None:
    """Add every hit to the findings of the records that formed it (creating the findings of
    events only a correlation flagged): the correlation's weight once per correlation."""
    position = _positions(correlator)
    for order, hs in hits_by_order(hits).items():
        f = findings.get(order)
        if f is None:
            f = findings[order] = hit_only_finding(correlator, order)
        apply_hits(f, hs, position)


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
    counted: list[Signal] = [r for r in m.rules if r.generate]
    return Finding(m.event, 0, counted, list(m.suppressed), order)


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
    then input order, so the output is the same on every run. The one sort definition: the
    in-memory path sorts by it, the spilled path stores it with each final finding (spark/score.py
    spells the same order in Spark SQL)."""
    return _sort_key(f.score, event_order(f.event), f.order)


def _sort_key(score: float, event_order: tuple[object, ...], order: int) -> tuple[object, ...]:
    return (-score, *event_order, order)


def event_order(e: Event) -> tuple[object, ...]:
    """The event's part of sort_key: time (unknown last), then event id (missing last)."""
    t, eid = e.time_ns, e.event_id
    return (t is None, t or 0, eid is None, eid or "")


# What the spilled path sorts a finding by that depends on its event alone: its collapse key
# as JSON text (None: none), its status rank (_rank) and event_order.
EventKeys = tuple[bytes | None, int, tuple[object, ...]]


def event_keys(e: Event) -> EventKeys:
    """The event's EventKeys. Computed by the worker that matched the event (engine/fast.py:
    the main process is the serial part of a scan), else when the finding is spilled; the
    functions are the in-memory path's, so the two paths cannot drift."""
    key = collapse_key(e)
    # JSON text: equal keys give equal bytes, and bytes compare whatever the key holds (None
    # next to text)
    return (None if key is None else orjson.dumps(key), _status_rank(e), event_order(e))


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


def _rank(f: Finding) -> tuple[int, int]:
    return (_status_rank(f.event), f.order)


def _status_rank(e: Event) -> int:
    # The record that says how it ended wins (Succeeded/Failed over Started/Accepted).
    return 0 if e.status in ("success", "failure") else 1


def collapse(findings: list[Finding]) -> list[Finding]:
    """One finding per operation: the final-status record (else the first), counting copies."""
    best: dict[tuple[object, ...], Finding] = {}
    out: list[Finding] = []
    for f in findings:
        key = collapse_key(f.event)
        if key is None:
            out.append(f)
            continue
        kept = best.get(key)
        if kept is None:
            best[key] = f
        else:
            winner = kept if _rank(kept) <= _rank(f) else f
            winner.copies = kept.copies + f.copies
            best[key] = winner
    out.extend(best.values())
    return out


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
) -> Iterator[Finding]:
    """score_all, yielding the findings in order. Up to `spill_after` findings (default:
    spill.spill_budget()) stay in memory; past that they are kept compact in sorted runs on
    disk (spill.py) and merged back, so memory does not grow with the number of findings."""
    budget = spill_after if spill_after is not None else spill_budget()
    correlator = Correlator(
        correlations, same_operation=collapse_key if dedupe else None, stats=correlation_stats,
        max_items=max_correlation,  # None: Limits() (engine/correlate.py)
    )
    try:
        yield from _score_stream(matches, correlator, budget, dedupe, min_score, correlations)
    finally:
        # an engine reading in worker processes stops them when its stream is closed; an
        # exception here would otherwise keep the stream (and the pool) alive in its traceback
        close = getattr(matches, "close", None)
        if close is not None:
            close()


def _score_stream(
    matches: Iterable[Match],
    correlator: Correlator,
    budget: int,
    dedupe: bool,
    min_score: float | None,
    correlations: Sequence[Correlation],
) -> Iterator[Finding]:
    kept: list[Finding] = []
    spill: _Spill | None = None
    for i, m in enumerate(matches):
        may_hit = correlator.add(m, i)  # only matches the correlator keeps can get hits
        f = score_match(m, i)
        if f is None:
            continue
        if spill is not None:
            spill.add(f, may_hit)
            continue
        kept.append(f)
        if len(kept) > budget:
            spill = _Spill(budget, dedupe, min_score)
            kept.reverse()
            while kept:  # freed one by one as they are encoded
                f = kept.pop()
                spill.add(f, correlator.keeps(f.order))
    hits = correlator.finish() if correlations else []
    if spill is None and len(kept) + sum(len(h.orders) for h in hits) > budget:
        # the hits' findings would pass the budget (a `gte: 1` correlation over a common
        # event makes one per held event, up to the correlation cap): spill them too
        spill = _Spill(budget, dedupe, min_score)
        for f in kept:
            spill.add(f, correlator.keeps(f.order))
        kept = []
    if spill is None:
        yield from _in_memory(kept, hits, correlator, min_score, dedupe)
        return
    with spill:
        yield from spill.finish(hits, correlator)


def _in_memory(
    kept: list[Finding],
    hits: Sequence[Hit],
    correlator: Correlator,
    min_score: float | None,
    dedupe: bool,
) -> list[Finding]:
    by_order = {f.order: f for f in kept}
    if correlator.correlations:
        add_hits(by_order, hits, correlator)
    findings = [by_order[i] for i in sorted(by_order)]
    if dedupe:
        findings = collapse(findings)
    findings = [f for f in findings if keep(f, min_score)]
    findings.sort(key=sort_key)
    return findings


# -- the same, spilled (see spill.py) -------------------------------------------------------


class _Spill:
    """The findings past the budget, routed as soon as they are scored.

    Only records the correlator keeps can get hits (and so a new score and rules): only their
    input positions are held until the hits are known, and each is then built again from the
    correlator's compact copy of its match (which it holds anyway). Every other finding is final at once. Its event is written once (spill.Payloads: a worker's
    event as the bytes it came as) and only a small entry naming it, with the finding's score
    and rules as indices (spill.Codec.refs), is sorted, by the keys of the in-memory path computed from the
    Finding itself (sort_key, collapse_key, _rank: one definition each, so the two paths cannot
    drift): kept by `min_score` into `final`, sorted by sort_key; or, with `dedupe` and a
    collapse key, first into `groups`, sorted by key and rank, so that each operation's winner -
    the first of its key, as collapse() picks it - can count the copies.
    """

    def __init__(self, budget: int, dedupe: bool, min_score: float | None) -> None:
        try:
            self.folder = tempfile.TemporaryDirectory(prefix="trailhound-findings-")
        except OSError as exc:
            raise SpillError(tempfile.gettempdir(), exc) from exc
        self.codec = Codec()
        self.dedupe = dedupe
        self.min_score = min_score
        self.held: list[int] = []  # orders of findings the correlator keeps (may get hits)
        self.payloads = Payloads(self.folder.name)
        # entries are tuples whose natural order is the wanted one (compared in C, no key
        # function; the sort key ends with the unique order, so no comparison goes past it);
        # `at` says where the finding's event is, `refs` holds the rest of it
        self.groups = Runs(None, budget, self.folder.name)  # (key JSON, rank, sort key, copies, at, refs)
        self.final = Runs(None, budget, self.folder.name)  # (sort key, copies, at, refs)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.payloads.close()
        self.folder.cleanup()

    def add(self, f: Finding, may_hit: bool) -> None:
        if may_hit:  # built again from the correlator's copy once the hits are known
            self.held.append(f.order)
            return
        e = f.event
        # (the worker's, when it sent them: then nothing here reads the event's fields)
        key, status, order = getattr(e, "keys", None) or event_keys(e)
        kept = keep(f, self.min_score)
        # a finding below min_score is never read back: as a group's winner it hides its
        # copies, as a copy it only counts
        at = self.payloads.put_event(e) if kept else None
        refs = self.codec.refs(f)
        skey = _sort_key(f.score, order, f.order)
        if key is not None and self.dedupe:
            self.groups.add((key, (status, f.order), skey, f.copies, at, refs))  # (rank: _rank)
        elif kept:
            self.final.add((skey, f.copies, at, refs))

    def finish(self, hits: Sequence[Hit], correlator: Correlator) -> Iterator[Finding]:
        # One finding at a time, its event loaded once from the correlator's compact copy and
        # routed at once: held as objects, a hit's findings took ~6 KB each (1.9 GB at the
        # correlation cap)
        position = _positions(correlator)
        by_order = hits_by_order(hits)
        held, self.held = set(self.held), []
        for order in held | by_order.keys():
            m = correlator.match(order)
            f = score_match(m, order)
            hs = by_order.get(order)
            if hs:
                f = f or _hit_only(m, order)
                apply_hits(f, hs, position)
            if f is not None:
                self.add(f, False)
        final = self.final
        # sorted by key, then rank: the first of each key wins and counts the others' copies
        winner: list[Any] | None = None
        for key, _, skey, copies, at, refs in self.groups:
            if winner is not None and key == winner[0]:
                winner[2] += copies
                continue
            if winner is not None and winner[3] is not None:
                final.add(tuple(winner[1:]))
            winner = [key, skey, copies, at, refs]
        if winner is not None and winner[3] is not None:
            final.add(tuple(winner[1:]))
        codec, get_event = self.codec.finding, self.payloads.get_event
        for skey, copies, at, refs in final:
            yield codec(refs, get_event(at), skey[-1], copies, Finding)  # (sort_key ends with order)
