"""A small, independent Sigma evaluator: the test oracle for trailhound's engines.

Written from the Sigma specification (SigmaHQ/sigma-specification), NOT from trailhound's
engine code, so that a differential test can catch engine bugs:

- [RS] "Sigma Rules Specification" v2.0.0 (specification/sigma-rules-specification.md),
  sections cited below as [RS §Name] (Detection: General, String Wildcard, Escaping, Lists,
  Maps, Special Field Values, Field Existence, Value Modifiers, Placeholders, Keywords search;
  Condition; LogSource).
- [MOD] "Sigma Modifiers" appendix v2.1.0 (specification/sigma-appendix-modifiers.md),
  sections cited as [MOD §Name] (Generic, String/Regular Expression, Numeric, IP, Specific).

It parses the rule YAML itself (`yaml.safe_load`, never pySigma) and evaluates it over one raw
JSON record (a dict). Where the spec leaves a choice open, the choice is written next to the
code as "CHOICE:" so the differential test can name it when it explains a difference.

Field mapping: for log sources whose rules name fields differently from the raw export, the
caller may pass `field_map`: {sigma field: [raw path, ...]} or a function from a sigma field
name to its raw paths. The differential test takes it from trailhound's mapping *tables*
(trailhound/rules/pipelines.py: FIELD_TABLES, data that says which raw paths a rule's field
name stands for); this module imports no trailhound code. A mapped field is looked up under
every alternative path: its values are the union of the values found there, so a value test is
an OR over the alternatives, and `null` / `exists` ask whether ANY alternative holds the field
(a record has one export shape; the other paths are simply absent).

Public API:
    rule = compile_yaml(text_or_dict, field_map=None)   # -> OracleRule, or raises Unsupported
    rule.matches(record) -> bool
    rule.applies_to(product, service) -> bool
"""

from __future__ import annotations

import fnmatch
import ipaddress
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

Pred = Callable[[dict], bool]
_MISSING = object()


class Unsupported(Exception):
    """The rule uses something this oracle does not evaluate (or that the spec says a tool must
    reject, e.g. unexpanded placeholders [RS §Placeholders])."""


# --------------------------------------------------------------------------- field lookup


def lookup(record: Any, path: str) -> list[Any]:
    """Every value found at `path` in the record; [] when the field does not exist.

    CHOICE (the spec only says to use field names "as they appear in the log source",
    [RS §Field Usage]): a dotted name walks nested objects; at each level a key that itself
    contains dots is tried too (longest key first), and a list met on the way is walked
    element by element (any element may hold the field). Field names are case-sensitive.
    """
    return list(_walk(record, path.split(".")))


def _walk(obj: Any, parts: list[str]) -> Iterator[Any]:
    if not parts:
        yield obj
        return
    if isinstance(obj, dict):
        for i in range(len(parts), 0, -1):
            key = ".".join(parts[:i])
            if key in obj:
                yield from _walk(obj[key], parts[i:])
    elif isinstance(obj, list):
        for el in obj:
            yield from _walk(el, parts)


def _leaves(values: Sequence[Any]) -> Iterator[Any]:
    """CHOICE: a field whose value is a JSON array matches when any element matches."""
    for v in values:
        if isinstance(v, list):
            yield from _leaves(v)
        else:
            yield v


def as_text(v: Any) -> str | None:
    """[RS §General] "All values are treated as case-insensitive strings": numbers and booleans
    compare through their JSON spelling (5, true, false). Objects and null are not strings."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return json.dumps(v)
    if isinstance(v, str):
        return v
    return None


def _rule_text(v: Any) -> str:
    if isinstance(v, (bool, int, float)):
        return as_text(v)  # type: ignore[return-value]
    return str(v)  # strings; YAML dates come back as date objects


# --------------------------------------------------------------------------- value patterns


def wildcard_regex(value: str, *, prefix: str = "", suffix: str = "") -> str:
    """[RS §String Wildcard] `*` = any run of characters, `?` = exactly one character.
    [RS §Escaping] `\\*` and `\\?` are literal wildcards, `\\\\` is one backslash, and a backslash
    not followed by a wildcard or a backslash is a plain backslash."""
    out = [prefix]
    i = 0
    while i < len(value):
        c = value[i]
        nxt = value[i + 1] if i + 1 < len(value) else ""
        if c == "\\" and nxt in ("*", "?", "\\"):
            out.append(re.escape(nxt))
            i += 2
            continue
        out.append(".*" if c == "*" else "." if c == "?" else re.escape(c))
        i += 1
    out.append(suffix)
    return "".join(out)


def _string_pred(value: str, mods: set[str]) -> Callable[[str], bool]:
    # [MOD §Generic] contains/startswith/endswith put `*` around the value (its own wildcards
    # stay wildcards); matching is case-insensitive unless `cased`.
    prefix = ".*" if mods & {"contains", "endswith"} else ""
    suffix = ".*" if mods & {"contains", "startswith"} else ""
    flags = re.DOTALL | (0 if "cased" in mods else re.IGNORECASE)
    rx = re.compile(wildcard_regex(value, prefix=prefix, suffix=suffix), flags)
    return lambda s: rx.fullmatch(s) is not None


def _regex_pred(value: str, mods: set[str]) -> Callable[[str], bool]:
    # [MOD §Regular Expression] case-sensitive by default; sub-modifiers i, m, s.
    # CHOICE: the expression is searched anywhere in the value (unanchored, as PCRE matching
    # does); a rule anchors it with ^...$ when it means the whole value.
    flags = 0
    flags |= re.IGNORECASE if "i" in mods else 0
    flags |= re.MULTILINE if "m" in mods else 0
    flags |= re.DOTALL if "s" in mods else 0
    rx = re.compile(value, flags)
    return lambda s: rx.search(s) is not None


def _number(v: Any) -> float | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, str):
        try:
            return float(v)
        except ValueError:
            return None
    return None


_NUMERIC = {
    "gt": lambda a, b: a > b,
    "gte": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "lte": lambda a, b: a <= b,
}
_KNOWN = {"contains", "startswith", "endswith", "all", "re", "i", "m", "s", "cased", "exists",
          "fieldref", "cidr", "neq", *_NUMERIC}


def _scalar_pred(value: Any, mods: set[str]) -> Callable[[Any], bool]:
    """A test on one scalar value of the event (never called for a missing field)."""
    if "cidr" in mods:  # [MOD §IP]: IPv4 and IPv6 networks
        net = ipaddress.ip_network(str(value), strict=False)

        def in_net(v: Any) -> bool:
            try:
                return isinstance(v, str) and ipaddress.ip_address(v.strip()) in net
            except ValueError:
                return False

        return in_net
    num_ops = mods & set(_NUMERIC)
    if num_ops:  # [MOD §Numeric]
        op, ref = _NUMERIC[num_ops.pop()], float(value)
        return lambda v: (n := _number(v)) is not None and op(n, ref)
    if "re" in mods:
        rx = _regex_pred(str(value), mods)
    else:
        rx = _string_pred(_rule_text(value), mods)
    return lambda v: (t := as_text(v)) is not None and rx(t)


# --------------------------------------------------------------------------- detection items


FieldMap = Mapping[str, Sequence[str]] | Callable[[str], Sequence[str] | None]


@dataclass
class _Ctx:
    field_map: FieldMap

    def paths(self, name: str) -> Sequence[str]:
        if callable(self.field_map):
            got = self.field_map(name)
        else:
            got = self.field_map.get(name)
        return [name] if got is None else got

    def values(self, record: dict, name: str) -> tuple[bool, list[Any]]:
        """(field exists, values found) over every raw path the field maps to."""
        found, vals = False, []
        for path in self.paths(name):
            got = lookup(record, path)
            found = found or bool(got)
            vals.extend(got)
        return found, vals


def _field_item(ctx: _Ctx, name: str, mods: list[str], raw_values: Any) -> Pred:
    """One `field|mod|mod: value(s)` entry of a map [RS §Maps, §Value Modifiers]."""
    bad = [m for m in mods if m not in _KNOWN]
    if bad:
        # `expand` [RS §Placeholders]: "If the tool isn't able to handle placeholders, it must
        # reject the rule." base64/windash/utf16... are not used by cloud rules: refused too.
        raise Unsupported(f"modifier(s) {bad} on field {name!r}")
    ms = set(mods)
    values = raw_values if isinstance(raw_values, list) else [raw_values]

    if "exists" in ms:  # [RS §Field Existence]: presence only, whatever the value (even null)
        want = values[0]
        if not isinstance(want, bool) or len(values) != 1:
            raise Unsupported("exists takes one boolean")
        return lambda r: ctx.values(r, name)[0] is want

    if "fieldref" in ms:  # [MOD §Specific]: compare with another field of the same event
        if ms - {"fieldref", "cased", "all"}:
            raise Unsupported(f"fieldref with {sorted(ms)}")
        flags = 0 if "cased" in ms else re.IGNORECASE

        def ref_eq(r: dict, other: str) -> bool:
            mine = [t for v in _leaves(ctx.values(r, name)[1]) if (t := as_text(v)) is not None]
            theirs = [t for v in _leaves(ctx.values(r, other)[1]) if (t := as_text(v)) is not None]
            # CHOICE: equal as strings (case-insensitive unless cased); a missing field on
            # either side is never equal (SQL-like: nothing equals a missing value).
            return any(re.fullmatch(re.escape(b), a, flags) for a in mine for b in theirs)

        return _combine([lambda r, o=str(v): ref_eq(r, o) for v in values], "all" in ms)

    preds: list[Pred] = []
    for v in values:
        if v is None:
            # [RS §Special Field Values] `null`. CHOICE: the field is absent, or holds null.
            def is_null(r: dict) -> bool:
                return all(x is None for x in ctx.values(r, name)[1])

            preds.append(is_null)
            continue
        test = _scalar_pred(v, ms)
        negate = "neq" in ms  # [MOD §Generic] neq: the field exists and differs from the value

        def one(r: dict, test: Callable[[Any], bool] = test, negate: bool = negate) -> bool:
            found, vals = ctx.values(r, name)
            leaves = list(_leaves(vals))
            if negate:
                return found and not any(test(x) for x in leaves)
            return any(test(x) for x in leaves)

        preds.append(one)
    # [RS §Lists] values of one field are OR-ed; [MOD §Generic] `all` makes them AND-ed.
    return _combine(preds, "all" in ms)


def _keyword_item(mods: list[str], raw_values: Any) -> Pred:
    """[RS §Keywords search] strings searched across the whole event, OR-ed (AND with `|all`).

    CHOICE: "the full log message" of a JSON record is its scalar values (not its keys); a
    keyword matches when it occurs anywhere inside one of them (full-text search semantics),
    case-insensitively, with its wildcards active.
    """
    ms = set(mods)
    if ms - {"all", "cased"}:
        raise Unsupported(f"keyword modifiers {sorted(ms)}")
    values = raw_values if isinstance(raw_values, list) else [raw_values]
    tests = [_string_pred(_rule_text(v), ms | {"contains"}) for v in values]

    def scalars(o: Any) -> Iterator[str]:
        if isinstance(o, dict):
            for x in o.values():
                yield from scalars(x)
        elif isinstance(o, list):
            for x in o:
                yield from scalars(x)
        elif (t := as_text(o)) is not None:
            yield t

    def kw(r: dict, t: Callable[[str], bool]) -> bool:
        return any(t(s) for s in scalars(r))

    return _combine([lambda r, t=t: kw(r, t) for t in tests], "all" in ms)


def _combine(preds: list[Pred], all_: bool) -> Pred:
    if not preds:
        raise Unsupported("empty value list")
    if all_:
        return lambda r: all(p(r) for p in preds)
    return lambda r: any(p(r) for p in preds)


def _map(ctx: _Ctx, m: dict) -> Pred:
    """[RS §Maps] all entries AND-ed. A key starting with `|` is a keyword list with modifiers
    (the `'|all':` form of [RS §Keywords search])."""
    preds = []
    for key, val in m.items():
        name, *mods = str(key).split("|")
        preds.append(_keyword_item(mods, val) if name == "" else _field_item(ctx, name, mods, val))
    return lambda r: all(p(r) for p in preds)


def _search(ctx: _Ctx, body: Any) -> Pred:
    """A search identifier: a map, or a list [RS §Lists] (of maps and/or keyword strings), OR-ed."""
    if isinstance(body, dict):
        return _map(ctx, body)
    items = body if isinstance(body, list) else [body]
    preds = [_map(ctx, x) if isinstance(x, dict) else _keyword_item([], x) for x in items]
    return _combine(preds, False)


# --------------------------------------------------------------------------- condition


_TOKEN = re.compile(r"\s*(\(|\)|[^\s()]+)")


def _tokens(cond: str) -> list[str]:
    if "|" in cond:
        # Old aggregation syntax (`| count() by x > 5`, `| near`): replaced by correlation
        # rules in Sigma 2 [RS §Rule Correlation]; a single-event evaluator cannot decide it.
        raise Unsupported(f"aggregation in condition: {cond!r}")
    return _TOKEN.findall(cond)


class _Parser:
    """[RS §Condition] precedence, least to most binding: or, and, not, `x of`, ( )."""

    def __init__(self, cond: str, searches: dict[str, Pred]):
        self.toks, self.i, self.searches = _tokens(cond), 0, searches

    def parse(self) -> Pred:
        p = self._or()
        if self.i != len(self.toks):
            raise Unsupported(f"unexpected {self.toks[self.i]!r} in condition")
        return p

    def _peek(self) -> str | None:
        return self.toks[self.i].lower() if self.i < len(self.toks) else None

    def _next(self) -> str:
        if self.i >= len(self.toks):
            raise Unsupported("condition ends too early")
        self.i += 1
        return self.toks[self.i - 1]

    def _or(self) -> Pred:
        parts = [self._and()]
        while self._peek() == "or":
            self._next()
            parts.append(self._and())
        return parts[0] if len(parts) == 1 else (lambda r: any(p(r) for p in parts))

    def _and(self) -> Pred:
        parts = [self._not()]
        while self._peek() == "and":
            self._next()
            parts.append(self._not())
        return parts[0] if len(parts) == 1 else (lambda r: all(p(r) for p in parts))

    def _not(self) -> Pred:
        if self._peek() == "not":
            self._next()
            inner = self._not()
            return lambda r: not inner(r)
        return self._atom()

    def _atom(self) -> Pred:
        tok = self._next()
        if tok == "(":
            p = self._or()
            if self._next() != ")":
                raise Unsupported("unbalanced parentheses")
            return p
        if self._peek() == "of":  # `1 of x`, `all of x` (`any of` read as `1 of`)
            self._next()
            return self._of(tok.lower(), self._next())
        if tok not in self.searches:
            raise Unsupported(f"condition names undefined search identifier {tok!r}")
        return self.searches[tok]

    def _of(self, quant: str, target: str) -> Pred:
        if target == "them":  # all identifiers not starting with `_`
            names = [n for n in self.searches if not n.startswith("_")]
        else:  # pattern with `*` wildcards at arbitrary positions
            names = [n for n in self.searches if fnmatch.fnmatchcase(n, target)]
        if not names:
            raise Unsupported(f"{target!r} matches no search identifier")
        preds = [self.searches[n] for n in names]
        if quant == "all":
            return lambda r: all(p(r) for p in preds)
        if quant in ("1", "any"):
            return lambda r: any(p(r) for p in preds)
        if quant.isdigit():
            k = int(quant)
            return lambda r: sum(1 for p in preds if p(r)) >= k
        raise Unsupported(f"quantifier {quant!r}")


# --------------------------------------------------------------------------- rules


@dataclass
class OracleRule:
    id: str | None
    title: str
    product: str | None
    service: str | None
    category: str | None
    matches: Pred = field(repr=False)
    doc: dict = field(repr=False, default_factory=dict)

    def applies_to(self, product: str, service: str) -> bool:
        """[RS §LogSource]: every log source attribute the rule sets must be the event's (values
        are lower case). A rule with a `category` targets another kind of log: never applies."""
        if self.category is not None:
            return False
        if self.product is not None and self.product.lower() != product.lower():
            return False
        return self.service is None or self.service.lower() == service.lower()


def compile_yaml(rule: str | dict, field_map: FieldMap | None = None) -> OracleRule:
    """Compile one Sigma detection rule (YAML text or an already-loaded mapping).

    `field_map`: {sigma field: [raw paths]}, or a function sigma field -> raw paths (None: the
    name stays as written). A field with several paths has the union of their values."""
    doc = yaml.safe_load(rule) if isinstance(rule, str) else rule
    if not isinstance(doc, dict) or not isinstance(doc.get("detection"), dict):
        raise Unsupported("not a detection rule")
    det = dict(doc["detection"])
    cond = det.pop("condition", None)
    if cond is None:
        raise Unsupported("no condition")
    ctx = _Ctx(field_map or {})
    searches = {str(k): _search(ctx, v) for k, v in det.items() if k != "timeframe"}
    conds = cond if isinstance(cond, list) else [cond]
    preds = [_Parser(str(c), searches).parse() for c in conds]  # [RS §Condition] list = OR
    ls = doc.get("logsource") or {}
    return OracleRule(
        id=str(doc["id"]) if doc.get("id") is not None else None,
        title=str(doc.get("title", "")),
        product=ls.get("product"),
        service=ls.get("service"),
        category=ls.get("category"),
        matches=preds[0] if len(preds) == 1 else (lambda r: any(p(r) for p in preds)),
        doc=doc,
    )
