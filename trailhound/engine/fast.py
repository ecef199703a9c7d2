"""The fast engine: the reference engine's semantics, evaluated only where a rule can match.

Two ways in:

* `run(plan, events)` (the Engine protocol): for each event, the prefilter (fast_prefilter.py)
  names the rules whose anchors hold on the event's raw record; only those (plus rules with no
  anchor) are evaluated, with the reference engine's own compiled predicates and filters, in
  RuleSet order. So the Matches are the reference's, and 25x more rules cost only what their
  anchor lookups cost.
* `scan(plan, specs, stats, profile, ...)`: reads the inputs itself (fast_scan.py), in worker
  processes, one file at a time each, and skips decoding, normalizing and evaluating the records
  no rule can match. It yields the Matches `run` would yield on the events of `pipeline.py`'s
  reader loop, in the same order, and fills the same counters - less the Matches of only
  "silent" rules (context rules no correlation references and no filter applies to: scoring
  never makes a finding of them alone), whose records it does not even decode. Findings are
  the same; only `Finding.order`, which numbers the matches, counts fewer (same order).

What `scan` does not reproduce: issues that the normalizer would raise on a record no rule can
match (a wrong-typed or unreadable field of a record that is never decoded in full). Everything
else - findings, suppressions, source issues (gzip, charset, JSON, envelopes), record and event
counts - is identical; files that are not plain CloudTrail S3 documents go through the readers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from trailhound.engine.base import Match
from trailhound.engine.fast_prefilter import ALL, Prefilter
from trailhound.engine.reference import Plan, ReferenceEngine, _CompiledRule, match_event
from trailhound.model import Event
from trailhound.rules.model import Rule, RuleSet
from trailhound.spill import location_tuple, scalars_of, unpack_event

__all__ = ["FastEngine", "FastPlan", "ParallelEngine"]

# (rule index, compiled rule) in RuleSet order
_Gate = tuple[tuple[int, _CompiledRule], ...]
# A match as worker processes send it (see FastPlan.to_wire).
WireMatch = tuple[Any, ...]
# where each goes in Event(*args), which takes the fields in declaration order


@dataclass(eq=False)
class FastPlan:
    """The reference plan (compiled predicates, filters) plus the anchors of every rule."""

    ruleset: RuleSet
    ref: Plan
    prefilter: Prefilter
    jobs: int | None = None  # worker processes for `scan` (None: one per core)
    use_projection: bool = True  # False: decode every record (no msgspec fast path)
    _gates: dict[tuple[str, str], tuple[_Gate, Prefilter]] = field(default_factory=dict, repr=False)
    _projection: Any = field(default=None, repr=False)
    _silent: frozenset[int] | None = field(default=None, repr=False)
    _rule_index: dict[int, int] = field(default_factory=dict, repr=False)
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
            referenced = {r.id for c in self.ruleset.correlations for r in c.rules}
            self._silent = frozenset(
                k
                for k, cr in enumerate(self.ref.rules)
                if cr.rule.context and cr.rule.id not in referenced and not cr.filters
            )
        return self._silent

    def is_silent(self, m: Match) -> bool:
        if m.suppressed:
            return False
        silent = self.silent
        if not silent:
            return False
        if not self._rule_index:
            self._index()
        ri = self._rule_index
        return all(ri[id(r)] in silent for r in m.rules)

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
        gate, pf = self.gate(event.logsource)
        if not gate:
            return None
        if candidates is None:
            candidates = pf.candidates(event.raw)
            if not candidates:
                return None
        every = candidates is ALL
        return match_event(event, (cr for k, cr in gate if every or k in candidates))

    # -- matches across process boundaries ------------------------------------------------------

    def _index(self) -> None:
        self._rule_index.update({id(cr.rule): k for k, cr in enumerate(self.ref.rules)})
        self._filter_index.update({id(f): j for j, f in enumerate(self.ruleset.filters)})

    def to_wire(self, m: Match, seg: bytes | None = None, value: Any = None) -> WireMatch:
        """A Match as indices (and, when the event's raw record is `orjson.loads(seg)` itself,
        as those bytes plus the event's other fields: cheaper to send than the dict)."""
        if not self._rule_index:
            self._index()
        ri, fi = self._rule_index, self._filter_index
        rules = tuple(ri[id(r)] for r in m.rules)
        supp = tuple((ri[id(r)], fi[id(f)]) for r, f in m.suppressed)
        e = m.event
        if seg is not None and e.raw is value and type(e.meta) is dict and not e.meta:
            return ("s", seg, scalars_of(e), location_tuple(e.location), rules, supp)
        return ("e", e, rules, supp)

    def from_wire(self, w: WireMatch) -> Match:
        rules, filters = self.rules, self.ruleset.filters
        if w[0] == "s":  # the record's own bytes, decoded here (spill.pack_event's layout)
            _, seg, scalars, where, matched, suppressed = w
            event = unpack_event((scalars, seg, where, {}))
        else:
            _, event, matched, suppressed = w
        return Match(event, [rules[k] for k in matched], [(rules[k], filters[j]) for k, j in suppressed])


class FastEngine:
    NAME = "fast"

    def __init__(self, jobs: int | None = None, use_projection: bool = True) -> None:
        self.jobs = jobs
        self.use_projection = use_projection

    def compile(self, ruleset: RuleSet) -> FastPlan:
        ref = ReferenceEngine().compile(ruleset)  # same refusals, same predicates
        return FastPlan(
            ruleset, ref, Prefilter(ruleset.rules), self.jobs, self.use_projection
        )

    def run(self, plan: FastPlan, events: Iterable[Event]) -> Iterator[Match]:
        for event in events:
            m = plan.evaluate(event)
            if m is not None:
                yield m

    def scan(
        self,
        plan: FastPlan,
        specs: Sequence[Any],
        stats: Any,
        profile: Any,
        *,
        stdin: Any = None,
        on_file: Callable[[Any], None] | None = None,
        limits: Any = None,
    ) -> Iterator[Match]:
        """Read `specs` (sources.InputSpec) and yield the Matches, updating `stats` (a
        scan.ScanStats) exactly as pipeline.py's reader loop does. See fast_scan.py."""
        from trailhound.engine.fast_scan import scan_specs

        return scan_specs(plan, specs, stats, profile, stdin=stdin, on_file=on_file, limits=limits)


class ParallelEngine(FastEngine):
    """The fast engine without its S3 shortcut: files read in worker processes, every record
    decoded and normalized by the readers and normalizers pipeline.py uses, each record checked
    only against the rules its anchors allow. Same findings and the same input issues as the
    reference engine (wrong-typed fields of records no rule can match included), about 5x
    faster on 2 cores; the CLI's default. `fast` skips decoding the records no rule can match."""

    NAME = "parallel"

    def __init__(self, jobs: int | None = None) -> None:
        super().__init__(jobs, use_projection=False)
