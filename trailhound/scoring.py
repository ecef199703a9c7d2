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

from dataclasses import dataclass, field
from typing import Iterable, Sequence

from trailhound.engine.base import Match
from trailhound.engine.correlate import CorrelationStats, Correlator, Hit
from trailhound.model import Event
from trailhound.rules.model import Correlation, Filter, Rule

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
        return int(any(r.signal == signal for r in self.rules if not r.context))


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
    position = {c.id: i for i, c in enumerate(correlator.correlations)}
    for hit in hits:
        for order in hit.orders:
            f = findings.get(order)
            if f is None:
                m = correlator.match(order)
                counted: list[Signal] = [r for r in m.rules if r.generate]
                f = findings[order] = Finding(
                    m.event, 0, counted, list(m.suppressed), order
                )
            f.hits.append(hit)
            if not any(r is hit.correlation for r in f.rules):
                f.rules.append(hit.correlation)
    for f in findings.values():
        if f.hits:
            base = [r for r in f.rules if not isinstance(r, Correlation)]
            corr = sorted(
                (r for r in f.rules if isinstance(r, Correlation)), key=lambda r: position[r.id]
            )
            f.rules = [*base, *corr]
            f.hits.sort(key=lambda h: (position[h.correlation.id], h.start_ns, h.group))
            f.score = _total(f.rules)


def keep(f: Finding, min_score: float | None) -> bool:
    """Default (None): the seed's `suspicion_score > 0`. `--min-score 0`: every flagged event,
    whatever its score. Otherwise: score >= min_score."""
    if min_score is None:
        return f.score > 0
    if min_score == 0:
        return True
    return f.score >= min_score


def sort_key(f: Finding) -> tuple[object, ...]:
    """Highest score first; ties by event time (unknown last), then event id (missing last),
    then input order, so the output is the same on every run."""
    t = f.event.time_ns
    eid = f.event.event_id
    return (-f.score, t is None, t or 0, eid is None, eid or "", f.order)


def collapse_key(e: Event) -> tuple[str | None, ...] | None:
    """Records that report one operation (log-formats pitfalls 12-14).

    CloudTrail delivers some events twice (and an EventBridge or organisation-trail copy is a
    second delivery of the same eventID); Azure logs one write as Started, Accepted and
    Succeeded records sharing a correlationId. None: nothing to collapse with.
    """
    if e.source == "azure_activity" and e.correlation_id and e.operation:
        return (e.source, e.correlation_id.lower(), e.operation.lower())
    if e.event_id and not e.event_id.startswith("syn:"):
        return (e.source, e.account, e.event_id, e.operation)
    return None


def _rank(f: Finding) -> tuple[int, int]:
    # The record that says how it ended wins (Succeeded/Failed over Started/Accepted).
    return (0 if f.event.status in ("success", "failure") else 1, f.order)


def collapse(findings: list[Finding]) -> list[Finding]:
    """One finding per operation: the final-status record (else the first), counting copies."""
    best: dict[tuple[str | None, ...], Finding] = {}
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
) -> list[Finding]:
    """Score every match, evaluate the correlations over the same stream, add their hits,
    collapse copies of one operation (`dedupe`), keep by `min_score`, sort."""
    correlator = Correlator(
        correlations, same_operation=collapse_key if dedupe else None, stats=correlation_stats
    )
    by_order: dict[int, Finding] = {}
    for i, m in enumerate(matches):
        correlator.add(m, i)
        f = score_match(m, i)
        if f is not None:
            by_order[i] = f
    if correlations:
        add_hits(by_order, correlator.finish(), correlator)
    findings = [by_order[i] for i in sorted(by_order)]
    if dedupe:
        findings = collapse(findings)
    findings = [f for f in findings if keep(f, min_score)]
    findings.sort(key=sort_key)
    return findings
