"""The reference engine: plain Python, obviously correct, the oracle for the fast engines.

What it does, precisely (value and field semantics are in fields.py, which is the contract):

* `compile(ruleset)` turns every rule's `sigma.detection.parsed_condition[i].parsed` tree (the
  tree pySigma builds after field mapping: identifiers, `1 of` / `all of` selectors and
  modifiers already resolved into ConditionAND / ConditionOR / ConditionNOT,
  ConditionFieldEqualsValueExpression and ConditionValueExpression) into nested Python
  closures, compiling every string pattern once. A rule matches when ANY of its conditions is
  true (a condition list is OR-linked, rules spec, Condition).
* Each Filter is compiled once from its SigmaGlobalFilter: one `SigmaCondition` per condition
  string over the filter's OWN detections, as pySigma's `SigmaFilter.apply_on_rule` does (it
  rewrites a rule condition `C` into `(C) and (F)` with the filter's identifiers renamed, so
  the filter condition `F` says what must hold for a match to survive).
* `run(plan, events)`: for each event, only rules with `rule.applies_to(event.logsource)` are
  evaluated (memoised per log source). For each matching rule, every Filter with
  `f.applies_to(rule)` (RuleSet order) is evaluated on the same event; each filter whose
  condition is FALSE adds `(rule, filter)` to `Match.suppressed` (so one rule can be
  suppressed by several filters, one pair each); if none is false the rule goes to
  `Match.rules`. A Match is yielded only for events with at least one matched or suppressed
  rule, in input order, rules in RuleSet order.
* Refused at compile time with `EngineError("rule <id> (<path>): cannot evaluate: <reason>")`
  (or `filter <id> ...`): unexpanded placeholders (`|expand` with nothing filled in),
  SigmaQueryExpression, timestamp-part modifiers on a field outside fields.TIMESTAMP_FIELDS,
  `|re` patterns RE2 cannot run in linear time (sigma_regex.py: lookaround, backreferences...),
  keyword (field-less) values other than strings / regexes / numbers, any SigmaType or
  condition node this module does not know, conditions pySigma cannot parse, and conditions
  that reduce to nothing (every detection item dropped by a pipeline).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionNOT,
    ConditionOR,
    ConditionValueExpression,
    SigmaCondition,
)
from sigma.exceptions import SigmaError
from sigma.types import (
    CompareOperators,
    Placeholder,
    SigmaBool,
    SigmaCasedString,
    SigmaCIDRExpression,
    SigmaCompareExpression,
    SigmaExists,
    SigmaExpansion,
    SigmaFieldReference,
    SigmaNull,
    SigmaNumber,
    SigmaQueryExpression,
    SigmaRegularExpression,
    SigmaString,
    SigmaTimestampPart,
    SigmaType,
    TimestampPart,
)

from trailhound.engine import fields as F
from trailhound.engine.base import Match
from trailhound.engine.loop import InProcess
from trailhound.engine.sigma_regex import RegexRefused, compile_search, sigma_flags
from trailhound.errors import EngineError
from trailhound.model import Event
from trailhound.rules.model import Filter, Rule, RuleSet

__all__ = ["Plan", "ReferenceEngine", "compile_rule"]


class _Ctx:
    """One event being evaluated: the raw record plus per-event memos shared by all rules."""

    __slots__ = ("_fields", "_texts", "event", "raw")

    def __init__(self, raw: dict[str, Any], event: Event | None = None) -> None:
        self.raw = raw
        self.event = event  # for the normalized `trailhound.*` fields (fields.py section 4)
        self._fields: dict[str, tuple[bool, list[Any]]] = {}
        self._texts: list[str] | None = None

    def field(self, name: str, path: F.FieldPath) -> tuple[bool, list[Any]]:
        """(present, leaves) of a field (fields.py sections 1 and 4)."""
        try:
            return self._fields[name]
        except KeyError:
            attr = F.event_attr(name)
            hits = F.resolve(self.raw, path) if attr is None else F.event_hits(self.event, attr)
            got = self._fields[name] = (bool(hits), F.leaves(hits))
            return got

    def texts(self) -> list[str]:
        if self._texts is None:
            self._texts = F.string_leaves(self.raw)
        return self._texts


Pred = Callable[[_Ctx], bool]
LeafTest = Callable[[Any], bool]


class _Refuse(Exception):
    """A construct this engine does not evaluate; becomes an EngineError naming the rule."""


# ---------------------------------------------------------------------------------------------
# Values


def _string_parts(s: SigmaString, where: str) -> list[Any]:
    for p in s.s:
        if isinstance(p, Placeholder):
            raise _Refuse(
                f"{where}: placeholder %{p.name}% was not expanded "
                "(|expand needs a processing pipeline that fills it in)"
            )
    return list(s.s)


def _regex(value: SigmaRegularExpression, where: str) -> Callable[[str], bool]:
    """`re.search(...) is not None` for the value, run on RE2 in linear time (sigma_regex.py:
    a rule regex must not stall a scan on hostile text)."""
    if value.regexp.contains_placeholder():
        names = [p.name for p in value.regexp.s if isinstance(p, Placeholder)]
        raise _Refuse(f"{where}: placeholder %{names[0]}% in regular expression was not expanded")
    pattern = str(value.regexp)
    try:
        return compile_search(pattern, sigma_flags(value))
    except RegexRefused as e:
        raise _Refuse(f"{where}: regular expression `{pattern}`: {e}") from None


_COMPARE: dict[CompareOperators, Callable[[Any, Any], bool]] = {
    CompareOperators.LT: operator.lt,
    CompareOperators.LTE: operator.le,
    CompareOperators.GT: operator.gt,
    CompareOperators.GTE: operator.ge,
    CompareOperators.NEQ: operator.ne,
}

_TS_PART = {
    TimestampPart.MINUTE: "minute",
    TimestampPart.HOUR: "hour",
    TimestampPart.DAY: "day",
    TimestampPart.WEEK: "week",
    TimestampPart.MONTH: "month",
    TimestampPart.YEAR: "year",
}


def _timestamp_leaf(
    tp: SigmaTimestampPart, field_name: str, test: Callable[[int], bool], where: str
) -> LeafTest:
    part = _TS_PART.get(tp.timestamp_part)
    if part is None:
        raise _Refuse(f"{where}: unsupported timestamp part {tp.timestamp_part}")
    if field_name not in F.TIMESTAMP_FIELDS:
        raise _Refuse(
            f"{where}: |{part} needs a timestamp field; {field_name!r} is not one of "
            f"{', '.join(sorted(F.TIMESTAMP_FIELDS))}"
        )

    def leaf(v: Any) -> bool:
        parts = F.timestamp_parts(v)
        return parts is not None and test(parts[part])

    return leaf


def _leaf_test(value: SigmaType, field_name: str, where: str) -> LeafTest:
    """A test of ONE leaf against a value (types whose meaning depends on the leaf only)."""
    # Order matters: SigmaCasedString < SigmaString, SigmaTimestampPart < SigmaNumber.
    if isinstance(value, SigmaString):
        match = F.compile_wildcard(
            _string_parts(value, where), cased=isinstance(value, SigmaCasedString)
        )

        def string_leaf(v: Any) -> bool:
            t = F.text_of(v)
            return t is not None and match(t)

        return string_leaf
    if isinstance(value, SigmaRegularExpression):
        search = _regex(value, where)

        def regex_leaf(v: Any) -> bool:
            t = F.text_of(v)
            return t is not None and search(t)

        return regex_leaf
    if isinstance(value, SigmaTimestampPart):
        n = value.number
        return _timestamp_leaf(value, field_name, lambda p: p == n, where)
    if isinstance(value, SigmaNumber):
        n = value.number

        def number_leaf(v: Any) -> bool:
            x = F.number_of(v)
            return x is not None and x == n

        return number_leaf
    if isinstance(value, SigmaBool):
        b = value.boolean
        word = "true" if b else "false"

        def bool_leaf(v: Any) -> bool:
            if isinstance(v, bool):
                return v is b
            return isinstance(v, str) and v.lower() == word

        return bool_leaf
    if isinstance(value, SigmaCompareExpression):
        op = _COMPARE.get(value.op)
        if op is None:
            raise _Refuse(f"{where}: unsupported comparison {value.op}")
        target = value.number
        if isinstance(target, SigmaTimestampPart):
            t = target.number
            return _timestamp_leaf(target, field_name, lambda p: op(p, t), where)
        n = target.number

        def compare_leaf(v: Any) -> bool:
            x = F.number_of(v)
            return x is not None and op(x, n)

        return compare_leaf
    if isinstance(value, SigmaCIDRExpression):
        net = value.network

        def cidr_leaf(v: Any) -> bool:
            if not isinstance(v, str):
                return False
            ip = F.ip_of(v)
            return ip is not None and ip.version == net.version and ip in net

        return cidr_leaf
    raise _Refuse(f"{where}: unsupported value type {type(value).__name__}")


def _field_pred(field_name: str, value: SigmaType, where: str) -> Pred:
    where = f"{where}, field {field_name!r}"
    path = F.compile_path(field_name)
    if isinstance(value, SigmaQueryExpression):
        raise _Refuse(f"{where}: query expressions ({value.expr!r}) are backend-specific")
    if isinstance(value, SigmaExpansion):
        return _any([_field_pred(field_name, v, where) for v in value.values])
    if isinstance(value, SigmaExists):
        want = bool(value.exists)
        return lambda c: c.field(field_name, path)[0] is want
    if isinstance(value, SigmaNull):

        def null_pred(c: _Ctx) -> bool:
            present, ls = c.field(field_name, path)
            return not present or any(v is None for v in ls)

        return null_pred
    if isinstance(value, SigmaFieldReference):
        other, other_path = value.field, F.compile_path(value.field)
        starts, ends = value.starts_with, value.ends_with

        def fieldref_pred(c: _Ctx) -> bool:
            mine = [t for t in map(F.text_of, c.field(field_name, path)[1]) if t is not None]
            if not mine:
                return False
            theirs = [t for t in map(F.text_of, c.field(other, other_path)[1]) if t is not None]
            return any(
                F.text_compare(a, b, starts=starts, ends=ends) for a in mine for b in theirs
            )

        return fieldref_pred
    test = _leaf_test(value, field_name, where)

    def leaf_pred(c: _Ctx) -> bool:
        for v in c.field(field_name, path)[1]:
            if test(v):
                return True
        return False

    return leaf_pred


def _keyword_pred(value: SigmaType, where: str) -> Pred:
    where = f"{where}, keyword"
    if isinstance(value, SigmaExpansion):
        return _any([_keyword_pred(v, where) for v in value.values])
    if isinstance(value, SigmaString):
        parts = F.contains_pattern(_string_parts(value, where))
        match = F.compile_wildcard(parts, cased=isinstance(value, SigmaCasedString))
    elif isinstance(value, SigmaRegularExpression):
        match = _regex(value, where)
    elif isinstance(value, SigmaNumber) and not isinstance(value, SigmaTimestampPart):
        match = F.compile_wildcard(F.contains_pattern([str(value.number)]), cased=True)
    else:
        raise _Refuse(f"{where}: {type(value).__name__} cannot be a keyword (field-less) value")

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


def _tree(node: Any, where: str) -> Pred:
    if isinstance(node, ConditionAND):
        return _all([_tree(a, where) for a in node.args])
    if isinstance(node, ConditionOR):
        return _any([_tree(a, where) for a in node.args])
    if isinstance(node, ConditionNOT):
        if len(node.args) != 1:
            raise _Refuse(f"{where}: 'not' with {len(node.args)} operands")
        inner = _tree(node.args[0], where)
        return lambda c: not inner(c)
    if isinstance(node, ConditionFieldEqualsValueExpression):
        return _field_pred(node.field, node.value, where)
    if isinstance(node, ConditionValueExpression):
        return _keyword_pred(node.value, where)
    if node is None:
        raise _Refuse(f"{where}: the condition is empty (every detection item was dropped)")
    raise _Refuse(f"{where}: unsupported condition element {type(node).__name__}")


def _conditions(conditions: Iterable[SigmaCondition]) -> Pred:
    preds = []
    for cond in conditions:
        where = f"condition {cond.condition!r}"
        try:
            tree = cond.parsed
        except SigmaError as e:
            raise _Refuse(f"{where}: {e}") from None
        preds.append(_tree(tree, where))
    if not preds:
        raise _Refuse("no condition")
    return _any(preds)


def _rule_pred(rule: Rule) -> Pred:
    try:
        conditions = getattr(rule.sigma.detection, "parsed_condition", None)
        if not conditions:
            raise _Refuse("the rule has no detection condition")
        return _conditions(conditions)
    except _Refuse as e:
        raise EngineError(f"rule {rule.id} ({rule.path}): cannot evaluate: {e}") from None


def _filter_pred(f: Filter) -> Pred:
    glob = f.sigma.filter
    try:
        return _conditions(SigmaCondition(c, glob, glob.source) for c in glob.condition)
    except _Refuse as e:
        raise EngineError(f"filter {f.id} ({f.path}): cannot evaluate: {e}") from None


def compile_rule(rule: Rule) -> Callable[[dict[str, Any]], bool]:
    """The rule's detection as a predicate over `Event.raw` (no log-source gating, no filters).

    Raises EngineError, like `ReferenceEngine.compile`, for what it cannot evaluate.
    """
    pred = _rule_pred(rule)
    return lambda raw: pred(_Ctx(raw))


def compile_filter(f: Filter) -> Callable[[Event], bool]:
    """The filter's condition as a predicate over an event: False when the filter removes it
    (for what has no rules to filter, e.g. hunts applying allowlists to events)."""
    pred = _filter_pred(f)
    return lambda event: pred(_Ctx(event.raw, event))


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
        filter_preds = [(f, _filter_pred(f)) for f in ruleset.filters]
        compiled = []
        for rule in ruleset.rules:
            pred = _rule_pred(rule)
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
