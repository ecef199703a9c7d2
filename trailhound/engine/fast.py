"""The fast engine: the reference engine's semantics, evaluated only where a rule can match.

* `scan(plan, specs, stats, profile, ...)` (engine/base.Engine): reads the inputs itself
  (fast_scan.py), in worker processes, one file at a time each, through the one reader loop
  (engine/loop.py). For each event the prefilter (fast_prefilter.py) names the rules whose
  anchors hold on the event's raw record; only those (plus rules with no anchor) are
  evaluated, with the reference engine's own compiled predicates and filters, in RuleSet
  order. So the Matches are the reference's, and 25x more rules cost only what their anchor
  lookups cost. Matches of only "silent" rules (context rules no correlation references and
  no filter applies to: scoring never makes a finding of them alone) are not yielded.
  Findings are the same; only `Finding.order`, which numbers the matches, counts fewer.
* Unless `strict`, plain CloudTrail S3 files take a shortcut (fast_scan.py): the records no
  rule can match are counted but never decoded in full, so the issues the normalizer would
  raise on them (a wrong-typed or unreadable field) are not reported. Everything else -
  findings, suppressions, source issues (gzip, charset, JSON, envelopes), record and event
  counts - is identical, held by the differential tests (tests/test_engine_fast*.py).
* `run(plan, events)`: the same evaluation over events already read.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, BinaryIO

from trailhound.engine.base import Engine, Match
from trailhound.engine.fast_prefilter import ALL, Prefilter
from trailhound.engine.reference import Plan, ReferenceEngine, _CompiledRule, match_event
from trailhound.model import Event, LazyEvent, pack_head
from trailhound.rules.first_seen import spec_of
from trailhound.rules.model import Rule, RuleSet
from trailhound.scoring import RowEvent, event_keys, match_score
from trailhound.spill import RowStore

if TYPE_CHECKING:
    from trailhound.pipeline import ScanStats
    from trailhound.profiles import Profile
    from trailhound.sources import InputSpec
    from trailhound.sources.limits import Limits

__all__ = ["FastEngine", "FastPlan"]

# (rule index, compiled rule) in RuleSet order
_Gate = tuple[tuple[int, _CompiledRule], ...]
# A match as worker processes send it (see FastPlan.to_wire).
WireMatch = tuple[Any, ...]
# What a match's rules alone decide about it on the wire (FastPlan._combo): their indices,
# whether all are silent, whether none is watched, and the score (scoring.match_score).
_Combo = tuple[tuple[int, ...], bool, bool, float]


@dataclass(eq=False)
class FastPlan:
    """The reference plan (compiled predicates, filters) plus the anchors of every rule."""

    ruleset: RuleSet
    ref: Plan
    prefilter: Prefilter
    jobs: int | None = None  # worker processes for `scan` (None: one per core)
    use_projection: bool = True  # False: decode every record (no msgspec fast path)
    # the scan's consumer needs only rows (pipeline.scan_stream's `rows_only`): a finding nothing
    # after the engine can change crosses as its row, score and keys alone (to_wire)
    rows_only: bool = False
    # where such a finding's row goes (written by the worker; the wire carries where): None,
    # the wire carries the row
    rows: RowStore | None = field(default=None, repr=False)
    _gates: dict[tuple[str, str], tuple[_Gate, Prefilter]] = field(default_factory=dict, repr=False)
    _by_k: dict[tuple[str, str], dict[int, _CompiledRule]] = field(default_factory=dict, repr=False)
    _by_cands: dict[tuple[tuple[str, str], Any], tuple[_CompiledRule, ...]] = field(
        default_factory=dict, repr=False)
    _projection: Any = field(default=None, repr=False)
    _silent: frozenset[int] | None = field(default=None, repr=False)
    _watched: frozenset[int] | None = field(default=None, repr=False)
    _rule_index: dict[int, int] = field(default_factory=dict, repr=False)
    _combos: dict[tuple[Rule, ...], _Combo] = field(default_factory=dict, repr=False)
    _filter_index: dict[int, int] = field(default_factory=dict, repr=False)

    @property
    def rules(self) -> tuple[Rule, ...]:
        return self.ruleset.rules

    @property
    def silent(self) -> frozenset[int]:
        """Rules whose matches change nothing unless another rule matches the same event:
        context rules (scoring never makes a finding of them alone) that no correlation
        references and no filter applies to. `scan` neither decodes a record only they can
        match nor yields a Match of only them."""
        if self._silent is None:
            referenced = self._referenced()
            self._silent = frozenset(
                k
                for k, cr in enumerate(self.ref.rules)
                if cr.rule.context and cr.rule.id not in referenced and not cr.filters
            )
        return self._silent

    def for_rows(self, rows: RowStore | None = None) -> None:
        """The scan's consumer needs only rows (pipeline.scan_stream's `rows_only`): see to_wire.
        `rows`: where they are written (the wire then says where), else they cross as bytes."""
        _ = self.watched  # (computed once here, before worker processes fork)
        self.rows_only = True
        self.rows = rows

    def flush_rows(self) -> None:
        """The rows this process wrote reach the store (before the wires naming them leave)."""
        if self.rows is not None:
            self.rows.flush()

    def _referenced(self) -> set[str]:
        """Ids of the rules a correlation references (engine/correlate.Correlator keeps their
        matches)."""
        return {r.id for c in self.ruleset.correlations for r in c.rules}

    @property
    def watched(self) -> frozenset[int]:
        """Rules whose matches the main process may still change after the engine: those a
        correlation references (a hit adds to the finding: engine/correlate.py) and first-seen
        rules (rules/first_seen.FirstSeenGate drops a rule whose value is not new). A match of
        none of them, with nothing suppressed (the tuning gate counts suppressions by filter),
        makes a finding the worker can make final (to_wire's rows-only form)."""
        if self._watched is None:
            referenced = self._referenced()
            self._watched = frozenset(
                k for k, cr in enumerate(self.ref.rules)
                if cr.rule.id in referenced or spec_of(cr.rule) is not None
            )
        return self._watched

    def is_silent(self, m: Match) -> bool:
        return not m.suppressed and self._combo(m)[1]

    def gate(self, logsource: tuple[str, str]) -> tuple[_Gate, Prefilter]:
        """The rules of a log source and their prefilter (memoised)."""
        try:
            return self._gates[logsource]
        except KeyError:
            gate = tuple(
                (k, cr) for k, cr in enumerate(self.ref.rules) if cr.rule.applies_to(logsource)
            )
            pf = Prefilter(self.rules, [k for k, _ in gate], self.prefilter.anchors)
            got = self._gates[logsource] = (gate, pf)
            return got

    def evaluate(self, event: Event, candidates: Any = None) -> Match | None:
        """The reference engine's Match for `event`, evaluating only `candidates` (rule indices;
        ALL or None: ask the prefilter)."""
        logsource = event.logsource
        gate, pf = self.gate(logsource)
        if not gate:
            return None
        if candidates is None:
            candidates = pf.candidates(event.raw)
            if not candidates:
                return None
        if candidates is ALL:
            return match_event(event, (cr for _, cr in gate))
        # a few candidates of many rules: look them up in RuleSet order rather than walk the gate
        # (memoised for the projection's candidate sets: frozen, and a few distinct ones)
        if candidates.__class__ is not frozenset:
            return match_event(event, self._in_order(logsource, gate, candidates))
        key = (logsource, candidates)
        rules = self._by_cands.get(key)
        if rules is None:
            if len(self._by_cands) >= 4096:  # (bounded)
                self._by_cands.clear()
            rules = self._by_cands[key] = self._in_order(logsource, gate, candidates)
        return match_event(event, rules)

    def _in_order(self, logsource: tuple[str, str], gate: _Gate, candidates: Any
                  ) -> tuple[_CompiledRule, ...]:
        by_k = self._by_k.get(logsource)
        if by_k is None:
            by_k = self._by_k[logsource] = dict(gate)
        return tuple(by_k[k] for k in sorted(candidates) if k in by_k)

    # -- matches across process boundaries ------------------------------------------------------

    def _index(self) -> None:
        self._rule_index.update({id(cr.rule): k for k, cr in enumerate(self.ref.rules)})
        self._filter_index.update({id(f): j for j, f in enumerate(self.ruleset.filters)})

    def _combo(self, m: Match) -> _Combo:
        """What `m.rules` decide (see _Combo), once per combination of rules: a scan has a few,
        and the worker asks for every match (memoised, bounded; rules hash by identity)."""
        key = tuple(m.rules)
        got = self._combos.get(key)
        if got is None:
            if not self._rule_index:
                self._index()
            ri, silent = self._rule_index, self.silent
            rules = tuple(ri[id(r)] for r in key)
            got = (rules, bool(silent) and all(k in silent for k in rules),
                   self.watched.isdisjoint(rules), match_score(m))
            if len(self._combos) >= 4096:
                self._combos.clear()
            self._combos[key] = got
        return got

    def to_wire(self, m: Match, seg: bytes | None = None, value: Any = None,
                row: Callable[[Match], Any] | None = None) -> WireMatch | None:
        """A Match as indices (and, when the event's raw record is `orjson.loads(seg)` itself,
        as those bytes plus the event's other fields: cheaper to send than the dict, with
        `row(m)`, the output row of its finding built here: model.LazyEvent.row). In a rows-only
        scan, a finding nothing after the engine changes (see `watched`) crosses as its keys,
        score, rules and row JSON (or where `rows` holds it) alone: no event (scoring.RowEvent). None: a match of silent
        rules only (is_silent), which is not sent."""
        # (the memo read here, _combo only on a miss: one call fewer for every match)
        rules, silent, final, score = self._combos.get(tuple(m.rules)) or self._combo(m)
        e = m.event
        if not m.suppressed:
            if silent:
                return None
            if final and self.rows_only and row is not None:
                pre = row(m)
                if pre is not None:
                    rows = self.rows
                    return ("r", event_keys(e), score, rules,
                            pre[0] if rows is None else rows.put(pre[0], score))
        ri, fi = self._rule_index, self._filter_index
        supp = tuple((ri[id(r)], fi[id(f)]) for r, f in m.suppressed)
        if seg is not None and e.raw is value and type(e.meta) is dict and not e.meta:
            # the event's other fields and its finding's row pickled here, once: the main
            # process keeps (and spills) these bytes as they are, with the scoring keys
            # computed here too (model.LazyEvent.packed)
            pre = row(m) if row is not None else None
            rowp = None if pre is None else pickle.dumps(pre, pickle.HIGHEST_PROTOCOL)
            return ("s", pack_head(e), seg, rowp, event_keys(e), rules, supp)
        return ("e", e, rules, supp)

    def from_wire(self, w: WireMatch) -> Match:
        rules, filters = self.rules, self.ruleset.filters
        if w[0] == "r":  # final in the worker: its row, score and keys (see to_wire)
            _, keys, score, matched, json = w
            return Match(RowEvent(keys, score, json), [rules[k] for k in matched], [])
        if w[0] == "s":  # the record's own bytes, decoded if (when) something reads it
            _, head, seg, rowp, keys, matched, suppressed = w
            event: Event = LazyEvent.packed(head, seg, rowp, keys)
        else:
            _, event, matched, suppressed = w
        return Match(event, [rules[k] for k in matched], [(rules[k], filters[j]) for k, j in suppressed])


class FastEngine(Engine):
    """See the module docstring. `strict`: decode and normalize every record (no S3 shortcut),
    so every input issue the reference engine reports is reported (the CLI's `--strict`)."""

    NAME = "fast"

    def __init__(self, jobs: int | None = None, strict: bool = False) -> None:
        self.jobs = jobs
        self.strict = strict

    def compile(self, ruleset: RuleSet) -> FastPlan:
        ref = ReferenceEngine().compile(ruleset)  # same refusals, same predicates
        return FastPlan(ruleset, ref, Prefilter(ruleset.rules), self.jobs, not self.strict)

    def run(self, plan: FastPlan, events: Iterable[Event]) -> Iterator[Match]:
        """The Matches of `events` (already read): the prefilter + reference predicates alone."""
        for event in events:
            m = plan.evaluate(event)
            if m is not None:
                yield m

    def scan(
        self,
        plan: FastPlan,
        specs: Sequence[InputSpec],
        stats: ScanStats,
        profile: Profile,
        *,
        stdin: BinaryIO | None = None,
        on_file: Callable[[InputSpec], None] | None = None,
        limits: Limits | None = None,
    ) -> Iterator[Match]:
        """engine/base.Engine.scan, in worker processes (fast_scan.py)."""
        from trailhound.engine.file_scan import scan_specs

        return scan_specs(plan, specs, stats, profile, stdin=stdin, on_file=on_file, limits=limits)
