"""The reference engine: plain Python, obviously correct, the oracle for the fast engines.

What it does, precisely (value and field semantics are in fields.py, which is the contract):

* `compile(ruleset)` takes every rule's and filter's intermediate form (ir.py, built by
  compiler.py from pySigma's parsed rule: the one place pySigma's condition tree is read) and
  turns it into nested Python closures, compiling every string pattern once. A rule matches
  when its tree is true (a condition list is one `Or`, rules spec, Condition).
* Each Filter's tree says what must hold for a match to survive (compiler.filter_tree).
* `run(plan, events)`: for each event, only rules with `rule.applies_to(event.logsource)` are
  evaluated (memoised per log source). For each matching rule, every Filter with
  `f.applies_to(rule)` (RuleSet order) is evaluated on the same event; each filter whose
  condition is FALSE adds `(rule, filter)` to `Match.suppressed` (so one rule can be
  suppressed by several filters, one pair each); if none is false the rule goes to
  `Match.rules`. A Match is yielded only for events with at least one matched or suppressed
  rule, in input order, rules in RuleSet order.
* Refused at compile time: whatever compiler.py refuses, as its `Refused` (an EngineError:
  `rule <id> (<path>): cannot evaluate: <kind>: <reason>`, or `filter <id> ...`).

`leaf_test(matcher)` is the one meaning of a leaf-level matcher in Python; the prefilter's
`test` atoms reuse it.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sigma.types import SigmaType

from trailhound.engine import compiler as C
from trailhound.engine import fields as F
from trailhound.engine import ir
from trailhound.engine.base import Match
from trailhound.engine.loop import InProcess
from trailhound.model import Event
from trailhound.rules.model import Filter, Rule, RuleSet

__all__ = ["Plan", "ReferenceEngine", "compile_rule", "leaf_test", "predicate"]


class _Ctx:
    """One event being evaluated: the raw record plus per-event memos shared by all rules."""

    __slots__ = ("_fields", "_texts", "event", "raw")

    def __init__(self, raw: dict[str, Any], event: Event | None = None) -> None:
        self.raw = raw
        self.event = event  # for the normalized `trailhound.*` fields (fields.py section 4)
        self._fields: dict[str, tuple[bool, list[Any]]] = {}
        self._texts: list[str] | None = None

    def field(self, name: str, path: F.FieldPath, attr: str | None) -> tuple[bool, list[Any]]:
        """(present, leaves) of a field (fields.py sections 1 and 4; `attr`: the normalized
        attribute it reads, F.event_attr(name), which the predicates compute once)."""
        got = self._fields.get(name)
        if got is None:  # (no try/except: most fields are read once per event, so a miss)
            hits = F.resolve(self.raw, path) if attr is None else F.event_hits(self.event, attr)
            got = self._fields[name] = (bool(hits), F.leaves(hits))
        return got

    def texts(self) -> list[str]:
        if self._texts is None:
            self._texts = F.string_leaves(self.raw)
        return self._texts


Pred = Callable[[_Ctx], bool]
LeafTest = Callable[[Any], bool]


# ---------------------------------------------------------------------------------------------
# Values

_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq,
    "lt": operator.lt,
    "lte": operator.le,
    "gt": operator.gt,
    "gte": operator.ge,
    "neq": operator.ne,
}


def leaf_test(m: ir.Matcher) -> LeafTest | None:
    """A test of ONE leaf against a matcher; None for the matchers that look at the whole field
    (Exists, Null, FieldRef)."""
    if isinstance(m, ir.Text):
        match = F.compile_wildcard(m.parts, cased=m.cased)

        def string_leaf(v: Any) -> bool:
            t = v if v.__class__ is str else F.text_of(v)  # (most leaves are strings)
            return t is not None and match(t)

        return string_leaf
    if isinstance(m, ir.Regex):
        search = m.search

        def regex_leaf(v: Any) -> bool:
            t = F.text_of(v)
            return t is not None and search(t)

        return regex_leaf
    if isinstance(m, ir.TimePart):
        part, op, at = m.part, _COMPARE[m.op], m.value

        def time_leaf(v: Any) -> bool:
            parts = F.timestamp_parts(v)
            return parts is not None and op(parts[part], at)

        return time_leaf
    if isinstance(m, ir.Number):
        n = m.value

        def number_leaf(v: Any) -> bool:
            x = F.number_of(v)
            return x is not None and x == n

        return number_leaf
    if isinstance(m, ir.Bool):
        b = m.value
        word = "true" if b else "false"

        def bool_leaf(v: Any) -> bool:
            if isinstance(v, bool):
                return v is b
            return isinstance(v, str) and v.lower() == word

        return bool_leaf
    if isinstance(m, ir.Compare):
        cmp, target = _COMPARE[m.op], m.value

        def compare_leaf(v: Any) -> bool:
            x = F.number_of(v)
            return x is not None and cmp(x, target)

        return compare_leaf
    if isinstance(m, ir.Cidr):
        net = m.network

        def cidr_leaf(v: Any) -> bool:
            if not isinstance(v, str):
                return False
            ip = F.ip_of(v)
            return ip is not None and ip.version == net.version and ip in net

        return cidr_leaf
    return None


def _field_test(node: ir.FieldTest) -> Pred:
    field_name, path, attr, m = node.field, node.path, node.attr, node.matcher
    if isinstance(m, ir.Exists):
        want = m.want
        return lambda c: c.field(field_name, path, attr)[0] is want
    if isinstance(m, ir.Null):

        def null_pred(c: _Ctx) -> bool:
            present, ls = c.field(field_name, path, attr)
            return not present or any(v is None for v in ls)

        return null_pred
    if isinstance(m, ir.FieldRef):
        other, other_path, other_attr = m.field, m.path, F.event_attr(m.field)
        starts, ends = m.starts, m.ends

        def fieldref_pred(c: _Ctx) -> bool:
            mine = [t for t in map(F.text_of, c.field(field_name, path, attr)[1]) if t is not None]
            if not mine:
                return False
            theirs = [t for t in map(F.text_of, c.field(other, other_path, other_attr)[1]) if t is not None]
            return any(
                F.text_compare(a, b, starts=starts, ends=ends) for a in mine for b in theirs
            )

        return fieldref_pred
    if isinstance(m, ir.Text):  # leaf_test's string_leaf, inlined: the commonest test by far
        match = F.compile_wildcard(m.parts, cased=m.cased)

        def text_pred(c: _Ctx) -> bool:
            for v in c.field(field_name, path, attr)[1]:
                t = v if v.__class__ is str else F.text_of(v)
                if t is not None and match(t):
                    return True
            return False

        return text_pred
    test = leaf_test(m)
    assert test is not None, m

    def leaf_pred(c: _Ctx) -> bool:
        for v in c.field(field_name, path, attr)[1]:
            if test(v):
                return True
        return False

    return leaf_pred


def _keyword(node: ir.Keyword) -> Pred:
    m = node.matcher
    match = m.search if isinstance(m, ir.Regex) else F.compile_wildcard(m.parts, cased=m.cased)

    def keyword_pred(c: _Ctx) -> bool:
        for t in c.texts():
            if match(t):
                return True
        return False

    return keyword_pred


# ---------------------------------------------------------------------------------------------
# Conditions


def _any(preds: list[Pred]) -> Pred:
    if len(preds) == 1:
        return preds[0]
    if len(preds) == 2:
        a, b = preds
        return lambda c: a(c) or b(c)

    def any_pred(c: _Ctx) -> bool:
        for p in preds:
            if p(c):
                return True
        return False

    return any_pred


def _all(preds: list[Pred]) -> Pred:
    if len(preds) == 1:
        return preds[0]
    if len(preds) == 2:
        a, b = preds
        return lambda c: a(c) and b(c)

    def all_pred(c: _Ctx) -> bool:
        for p in preds:
            if not p(c):
                return False
        return True

    return all_pred


def predicate(node: ir.Node) -> Pred:
    """The Python predicate of an intermediate-form tree."""
    if isinstance(node, ir.And):
        return _all([predicate(a) for a in node.args])
    if isinstance(node, ir.Or):
        return _any([predicate(a) for a in node.args])
    if isinstance(node, ir.Not):
        inner = predicate(node.arg)
        return lambda c: not inner(c)
    if isinstance(node, ir.FieldTest):
        return _field_test(node)
    return _keyword(node)


def compile_rule(rule: Rule) -> Callable[[dict[str, Any]], bool]:
    """The rule's detection as a predicate over `Event.raw` (no log-source gating, no filters).

    Raises EngineError (compiler.Refused), like `ReferenceEngine.compile`, for what it cannot
    evaluate.
    """
    pred = predicate(C.rule_tree(rule))
    return lambda raw: pred(_Ctx(raw))


def compile_filter(f: Filter) -> Callable[[Event], bool]:
    """The filter's condition as a predicate over an event: False when the filter removes it
    (for what has no rules to filter, e.g. hunts applying allowlists to events)."""
    pred = predicate(C.filter_tree(f))
    return lambda event: pred(_Ctx(event.raw, event))


# Predicates straight from one pySigma value: kept for trailhound/spark/read.py, which builds
# its executor-side tests this way until the Spark engine runs the local per-file scan.
_Refuse = C._Refuse


def _field_pred(field_name: str, value: SigmaType, where: str) -> Pred:
    return predicate(C.field_node(field_name, value, where))


def _keyword_pred(value: SigmaType, where: str) -> Pred:
    return predicate(C.keyword_node(value, where))


def _leaf_test(value: SigmaType, field_name: str, where: str) -> LeafTest:
    test = leaf_test(C.matcher(value, field_name, where))
    if test is None:
        raise _Refuse(f"{where}: {type(value).__name__} is not a leaf test")
    return test


# ---------------------------------------------------------------------------------------------
# Engine


@dataclass(frozen=True, eq=False)
class _CompiledRule:
    rule: Rule
    pred: Pred
    filters: tuple[tuple[Filter, Pred], ...]


@dataclass(eq=False)
class Plan:
    """Compiled rules in RuleSet order; `for_logsource` memoises log-source gating."""

    rules: tuple[_CompiledRule, ...]
    _by_logsource: dict[tuple[str, str], tuple[_CompiledRule, ...]] = field(
        default_factory=dict, repr=False
    )

    def for_logsource(self, logsource: tuple[str, str]) -> tuple[_CompiledRule, ...]:
        try:
            return self._by_logsource[logsource]
        except KeyError:
            got = tuple(cr for cr in self.rules if cr.rule.applies_to(logsource))
            self._by_logsource[logsource] = got
            return got


def match_event(event: Event, rules: Iterable[_CompiledRule]) -> Match | None:
    """Evaluate compiled rules (and their filters) on one event: the one loop every engine that
    reuses the reference predicates runs, so their Matches are identical by construction."""
    ctx = _Ctx(event.raw, event)
    matched: list[Rule] = []
    suppressed: list[tuple[Rule, Filter]] = []
    for cr in rules:
        if not cr.pred(ctx):
            continue
        kept = True
        for f, keep in cr.filters:
            if not keep(ctx):
                suppressed.append((cr.rule, f))
                kept = False
        if kept:
            matched.append(cr.rule)
    if matched or suppressed:
        return Match(event, matched, suppressed)
    return None


class ReferenceEngine(InProcess):  # scan: the one reader loop, in this process
    NAME = "reference"

    def compile(self, ruleset: RuleSet) -> Plan:
        filter_preds = [(f, predicate(C.filter_tree(f))) for f in ruleset.filters]
        compiled = []
        for rule in ruleset.rules:
            pred = predicate(C.rule_tree(rule))
            applicable = tuple((f, p) for f, p in filter_preds if f.applies_to(rule))
            compiled.append(_CompiledRule(rule, pred, applicable))
        return Plan(tuple(compiled))

    def run(self, plan: Plan, events: Iterable[Event]) -> Iterator[Match]:
        for event in events:
            candidates = plan.for_logsource(event.logsource)
            if not candidates:
                continue
            m = match_event(event, candidates)
            if m is not None:
                yield m
