"""The rule compiler: pySigma's parsed rule -> the intermediate form (ir.py), refusals included.

This is the ONE place that reads pySigma's condition tree (`SigmaCondition.parsed`: identifiers,
`1 of` / `all of` and modifiers already resolved by pySigma, field names already mapped by the
log-source pipeline). The reference matcher, the prefilter's anchors and `rules check` all start
from what it returns, so they cannot disagree on what a rule says.

* `rule_tree(rule)`: the rule's detection as one Node. Its condition list is OR-linked (rules
  spec, Condition), so several conditions give an `Or`.
* `filter_tree(f)`: a Filter's condition over the filter's OWN detections, one SigmaCondition
  per condition string, as pySigma's `SigmaFilter.apply_on_rule` does (it rewrites a rule
  condition `C` into `(C) and (F)`, so `F` says what must hold for a match to survive).

What trailhound cannot run is refused here, once, with `Refused` (an EngineError):
`rule <id> (<path>): cannot evaluate: <kind>: <reason>`, and `kind` says which sort it is (the
categories `trailhound rules check` prints):

  placeholder  an `|expand` placeholder nothing filled in (every name in the rule is listed);
  aggregation  the pre-Sigma-2 `sel | count() > N` / `| near` condition syntax;
  regex        a `|re` pattern RE2 cannot run in linear time (sigma_regex.py says why);
  engine       anything else: SigmaQueryExpression, timestamp-part modifiers on a field outside
               fields.TIMESTAMP_FIELDS, keyword values other than strings / regexes / numbers,
               an unknown SigmaType or condition node, a condition pySigma cannot parse, a
               condition that reduces to nothing (every detection item dropped by a pipeline).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, Literal

from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionNOT,
    ConditionOR,
    ConditionValueExpression,
    SigmaCondition,
)
from sigma.exceptions import SigmaError
from sigma.rule import SigmaDetection, SigmaDetectionItem
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
from trailhound.engine import ir
from trailhound.engine.sigma_regex import RegexRefused, compile_search, regex_problem, sigma_flags
from trailhound.errors import EngineError
from trailhound.rules.model import Filter, Rule

__all__ = [
    "Kind",
    "Refused",
    "detection_items",
    "field_node", "filter_tree", "keyword_node", "matcher", "rule_tree"]

Kind = Literal["placeholder", "aggregation", "regex", "engine"]


class Refused(EngineError):
    """A rule or filter trailhound cannot run: `kind` (see the module docstring), `reason` (one
    line, without the rule's name)."""

    def __init__(self, subject: str, kind: Kind, reason: str) -> None:
        self.subject, self.kind, self.reason = subject, kind, reason
        # the same `kind: reason` words `trailhound rules check` prints for it
        super().__init__(f"{subject}: cannot evaluate: {kind}: {reason}")


class _Refuse(Exception):
    """Raised while walking; becomes a Refused naming the rule."""

    def __init__(self, reason: str, kind: Kind = "engine") -> None:
        super().__init__(reason)
        self.kind: Kind = kind


# ---------------------------------------------------------------------------------------------
# Entry points


def rule_tree(rule: Rule) -> ir.Node:
    """The rule's detection as one Node (no log-source gating, no filters). Raises Refused."""
    try:
        detection = rule.sigma.detection
        _prescan(detection.detections.values(), detection.condition)
        conditions = getattr(detection, "parsed_condition", None)
        if not conditions:
            raise _Refuse("the rule has no detection condition")
        return _conditions(conditions)
    except _Refuse as e:
        raise Refused(f"rule {rule.id} ({rule.path})", e.kind, str(e)) from None


def filter_tree(f: Filter) -> ir.Node:
    """The filter's condition (true: the match survives) as one Node. Raises Refused."""
    glob = f.sigma.filter
    try:
        _prescan(glob.detections.values(), glob.condition)
        return _conditions(SigmaCondition(c, glob, glob.source) for c in glob.condition)
    except _Refuse as e:
        raise Refused(f"filter {f.id} ({f.path})", e.kind, str(e)) from None


# ---------------------------------------------------------------------------------------------
# Refusals that concern the whole rule, found before the tree is walked


def _prescan(detections: Iterable[SigmaDetection], conditions: Iterable[str]) -> None:
    items = [i for d in detections for i in detection_items(d)]
    names = sorted({p.name for i in items for v in i.value for p in _placeholders(v)})
    if names:
        listed = ", ".join(f"%{n}%" for n in names)
        raise _Refuse(
            f"{listed} {'has' if len(names) == 1 else 'have'} no value (|expand); "
            "give values with --placeholders FILE",
            "placeholder",
        )
    piped = [c for c in conditions if "|" in c]
    if piped:
        raise _Refuse(
            f"condition {piped[0]!r} uses the pipe syntax Sigma 2 replaced with correlation "
            "rules; rewrite it as a correlation",
            "aggregation",
        )
    for i in items:
        for v in i.value:
            if isinstance(v, SigmaRegularExpression):
                why, _ = regex_problem(v)
                if why is not None:
                    raise _Refuse(f"`{v.regexp}`: {why}", "regex")


def detection_items(d: SigmaDetection | SigmaDetectionItem) -> Iterator[SigmaDetectionItem]:
    """Every detection item under a detection (nested lists of maps included)."""
    if isinstance(d, SigmaDetectionItem):
        yield d
    else:
        for x in d.detection_items:
            yield from detection_items(x)


def _placeholders(v: SigmaType) -> list[Placeholder]:
    s = v.regexp if isinstance(v, SigmaRegularExpression) else v
    if isinstance(s, SigmaString):
        return [p for p in s.s if isinstance(p, Placeholder)]
    if isinstance(v, SigmaExpansion):
        return [p for x in v.values for p in _placeholders(x)]
    return []


# ---------------------------------------------------------------------------------------------
# Conditions


def _conditions(conditions: Iterable[SigmaCondition]) -> ir.Node:
    trees = []
    for cond in conditions:
        where = f"condition {cond.condition!r}"
        try:
            parsed = cond.parsed
        except SigmaError as e:
            raise _Refuse(f"{where}: {e}") from None
        trees.append(_tree(parsed, where))
    if not trees:
        raise _Refuse("no condition")
    return _or(trees)


def _or(nodes: list[ir.Node]) -> ir.Node:
    return nodes[0] if len(nodes) == 1 else ir.Or(tuple(nodes))


def _tree(node: Any, where: str) -> ir.Node:
    if isinstance(node, ConditionAND):
        args = [_tree(a, where) for a in node.args]
        return args[0] if len(args) == 1 else ir.And(tuple(args))
    if isinstance(node, ConditionOR):
        return _or([_tree(a, where) for a in node.args])
    if isinstance(node, ConditionNOT):
        if len(node.args) != 1:
            raise _Refuse(f"{where}: 'not' with {len(node.args)} operands")
        return ir.Not(_tree(node.args[0], where))
    if isinstance(node, ConditionFieldEqualsValueExpression):
        return field_node(node.field, node.value, where)
    if isinstance(node, ConditionValueExpression):
        return keyword_node(node.value, where)
    if node is None:
        raise _Refuse(f"{where}: the condition is empty (every detection item was dropped)")
    raise _Refuse(f"{where}: unsupported condition element {type(node).__name__}")


def field_node(field_name: str, value: SigmaType, where: str) -> ir.Node:
    """`field_name` (mapped) tested against one pySigma value; expansions give an Or."""
    where = f"{where}, field {field_name!r}"
    if isinstance(value, SigmaExpansion):
        return _or([field_node(field_name, v, where) for v in value.values])
    return ir.FieldTest(field_name, matcher(value, field_name, where))


def keyword_node(value: SigmaType, where: str) -> ir.Node:
    """A field-less value: a Text with `*` at both ends, a Regex, or a number's text."""
    where = f"{where}, keyword"
    if isinstance(value, SigmaExpansion):
        return _or([keyword_node(v, where) for v in value.values])
    m: ir.Text | ir.Regex
    if isinstance(value, SigmaString):
        m = _text(F.contains_pattern(_string_parts(value, where)), isinstance(value, SigmaCasedString), where)
    elif isinstance(value, SigmaRegularExpression):
        m = _regex(value, where)
    elif isinstance(value, SigmaNumber) and not isinstance(value, SigmaTimestampPart):
        m = _text(F.contains_pattern([str(value.number)]), True, where)
    else:
        raise _Refuse(f"{where}: {type(value).__name__} cannot be a keyword (field-less) value")
    return ir.Keyword(m)


# ---------------------------------------------------------------------------------------------
# Values

_COMPARE = {
    CompareOperators.LT: "lt",
    CompareOperators.LTE: "lte",
    CompareOperators.GT: "gt",
    CompareOperators.GTE: "gte",
    CompareOperators.NEQ: "neq",
}

_TS_PART = {
    TimestampPart.MINUTE: "minute",
    TimestampPart.HOUR: "hour",
    TimestampPart.DAY: "day",
    TimestampPart.WEEK: "week",
    TimestampPart.MONTH: "month",
    TimestampPart.YEAR: "year",
}


def _text(parts: list[Any], cased: bool, where: str) -> ir.Text:
    text = ir.Text(tuple(F.normalize_parts(parts)), cased)
    try:  # (the matcher is built again where it runs; its RE2 program is cached)
        F.compile_wildcard(text.parts, cased)
    except RegexRefused as e:
        shown = "".join(p if isinstance(p, str) else "*" if p is F._MULTI else "?" for p in text.parts)
        shown = shown if len(shown) <= 80 else f"{shown[:80]}... ({len(shown)} characters)"
        why = str(e)
        if "too large" in why:  # (RE2's own message speaks of regex repetitions)
            why = ("it is too large for RE2's memory budget (trailhound matches strings in linear "
                   "time so that no value can stall a scan); split it into shorter values")
        raise _Refuse(f"{where}: value `{shown}`: {why}", "regex") from None
    return text


def _string_parts(s: SigmaString, where: str) -> list[Any]:
    for p in s.s:
        if isinstance(p, Placeholder):
            raise _Refuse(
                f"{where}: placeholder %{p.name}% was not expanded "
                "(|expand needs a processing pipeline that fills it in)",
                "placeholder",
            )
    return list(s.s)


def _regex(value: SigmaRegularExpression, where: str) -> ir.Regex:
    if value.regexp.contains_placeholder():
        names = [p.name for p in value.regexp.s if isinstance(p, Placeholder)]
        raise _Refuse(
            f"{where}: placeholder %{names[0]}% in regular expression was not expanded",
            "placeholder",
        )
    pattern = str(value.regexp)
    try:
        flags = sigma_flags(value)
        return ir.Regex(pattern, flags, compile_search(pattern, flags))
    except RegexRefused as e:
        raise _Refuse(f"{where}: regular expression `{pattern}`: {e}", "regex") from None


def _time_part(tp: SigmaTimestampPart, field_name: str, op: str, where: str) -> ir.TimePart:
    part = _TS_PART.get(tp.timestamp_part)
    if part is None:
        raise _Refuse(f"{where}: unsupported timestamp part {tp.timestamp_part}")
    if field_name not in F.TIMESTAMP_FIELDS:
        raise _Refuse(
            f"{where}: |{part} needs a timestamp field; {field_name!r} is not one of "
            f"{', '.join(sorted(F.TIMESTAMP_FIELDS))}"
        )
    return ir.TimePart(part, op, tp.number)


def matcher(value: SigmaType, field_name: str, where: str) -> ir.Matcher:
    """The matcher of one (non-expansion) pySigma value on `field_name`."""
    # Order matters: SigmaCasedString < SigmaString, SigmaTimestampPart < SigmaNumber.
    if isinstance(value, SigmaString):
        return _text(_string_parts(value, where), isinstance(value, SigmaCasedString), where)
    if isinstance(value, SigmaRegularExpression):
        return _regex(value, where)
    if isinstance(value, SigmaTimestampPart):
        return _time_part(value, field_name, "eq", where)
    if isinstance(value, SigmaNumber):
        return ir.Number(value.number)
    if isinstance(value, SigmaBool):
        return ir.Bool(value.boolean)
    if isinstance(value, SigmaCompareExpression):
        op = _COMPARE.get(value.op)
        if op is None:
            raise _Refuse(f"{where}: unsupported comparison {value.op}")
        target = value.number
        if isinstance(target, SigmaTimestampPart):
            return _time_part(target, field_name, op, where)
        return ir.Compare(op, target.number)
    if isinstance(value, SigmaCIDRExpression):
        return ir.Cidr(value.network)
    if isinstance(value, SigmaExists):
        return ir.Exists(bool(value.exists))
    if isinstance(value, SigmaNull):
        return ir.Null()
    if isinstance(value, SigmaFieldReference):
        return ir.FieldRef(value.field, value.starts_with, value.ends_with)
    if isinstance(value, SigmaQueryExpression):
        raise _Refuse(f"{where}: query expressions ({value.expr!r}) are backend-specific")
    raise _Refuse(f"{where}: unsupported value type {type(value).__name__}")
