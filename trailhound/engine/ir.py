"""The intermediate form of a rule's detection: the one tree every consumer reads.

compiler.py builds it once from pySigma's parsed rule (condition tree, detection items, field
mappings and modifiers already applied); the reference matcher (reference.py) turns it into
Python predicates, the prefilter (fast_prefilter.py) derives its anchors from it, and an export
to a SIEM language (issue #14) would translate it. Nothing here knows pySigma: the tree says
WHAT to test, fields.py says what each test MEANS (it is the contract, sections cited below).

The tree
--------
A condition is a `Node`:

* `And(args)`, `Or(args)`, `Not(arg)`: boolean logic. A rule's condition list (OR-linked in
  Sigma) is one `Or`; pySigma's `1 of` / `all of` selectors, `|all` lists and expansions
  (`|windash`, `|base64offset`) are already `Or` / `And` of their items.
* `FieldTest(field, matcher)`: the mapped field name (a dotted path into the raw record,
  fields.py section 1, or a normalized `trailhound.<attr>` name, section 4) tested against one
  value. `path` is the compiled lookup path, `attr` the normalized attribute (or None).
* `Keyword(matcher)`: a field-less value, searched in every string leaf of the record
  (fields.py section 3). Its matcher is a `Text` (with `*` at both ends) or a `Regex`.

Matchers (fields.py section 2 gives each one's meaning on a leaf):

* `Text(parts, cased)`: a Sigma string, `*` / `?` wildcards kept as pySigma's SpecialChars in
  `parts` (normalized: adjacent text merged, `*` runs collapsed), a full match,
  case-insensitive unless `cased`. `kind` names its shape: `exact`, `startswith`,
  `endswith`, `contains` (one literal, `literal`), `any` (`*` alone) or `wildcard` (anything
  else).
* `Regex(pattern, flags)`: `|re`, Python `re` meaning, searched; run on RE2 (sigma_regex.py),
  so a Regex in the tree is one RE2 can run (`search`).
* `Number(value)`, `Bool(value)`, `Compare(op, value)` (`lt` `lte` `gt` `gte` `neq`),
  `TimePart(part, op, value)` (`|hour` etc., `op` is `eq` or a comparison), `Cidr(network)`,
  `Exists(want)`, `Null()`, `FieldRef(field, starts, ends)` (`|fieldref`, with
  `|startswith` / `|endswith` / `|contains`).

Every node is a frozen dataclass: equal trees compare equal, and `describe(node)` prints one
in a Sigma-like notation (`eventName = "ConsoleLogin" and not errorCode is null`).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from sigma.types import SpecialChars

from trailhound.engine import fields as F

__all__ = [
    "And",
    "Bool",
    "Cidr",
    "Compare",
    "Exists",
    "FieldRef",
    "FieldTest",
    "Keyword",
    "Matcher",
    "Node",
    "Not",
    "Null",
    "Number",
    "Or",
    "Regex",
    "Text",
    "TimePart",
    "describe",
]

_MULTI = SpecialChars.WILDCARD_MULTI
_SINGLE = SpecialChars.WILDCARD_SINGLE

COMPARE_OPS = ("lt", "lte", "gt", "gte", "neq")
_OP_SIGN = {"eq": "=", "lt": "<", "lte": "<=", "gt": ">", "gte": ">=", "neq": "!="}


# ---------------------------------------------------------------------------------------------
# Matchers


@dataclass(frozen=True)
class Text:
    parts: tuple[str | SpecialChars, ...]  # normalized (fields.normalize_parts)
    cased: bool = False

    @property
    def kind(self) -> str:
        """exact / startswith / endswith / contains (one literal), any (`*`), or wildcard."""
        p = self.parts
        if not p:
            return "exact"
        texts = [x for x in p if isinstance(x, str)]
        if len(texts) > 1 or _SINGLE in p:
            return "wildcard"
        if not texts:
            return "any" if p == (_MULTI,) else "wildcard"
        lead, trail = p[0] is _MULTI, p[-1] is _MULTI
        if len(p) != 1 + lead + trail:
            return "wildcard"
        return "contains" if lead and trail else "endswith" if lead else "startswith" if trail else "exact"

    @property
    def literal(self) -> str:
        """The one literal of the exact / startswith / endswith / contains shapes ("" else)."""
        texts = [x for x in self.parts if isinstance(x, str)]
        return texts[0] if len(texts) == 1 else ""

    def __str__(self) -> str:
        out = []
        for x in self.parts:
            if x is _MULTI:
                out.append("*")
            elif x is _SINGLE:
                out.append("?")
            else:
                out.append(str(x).replace("\\", "\\\\").replace("*", "\\*").replace("?", "\\?"))
        return ('cased "' if self.cased else '"') + "".join(out).replace('"', '\\"') + '"'


@dataclass(frozen=True)
class Regex:
    pattern: str  # Python `re` syntax, as the rule wrote it
    flags: int  # re.IGNORECASE / MULTILINE / DOTALL from `|i` `|m` `|s`
    search: Callable[[str], bool] = field(compare=False, repr=False)  # on RE2

    def __str__(self) -> str:
        return f"/{self.pattern}/{_flag_letters(self.flags)}"


@dataclass(frozen=True)
class Number:
    value: int | float

    def __str__(self) -> str:
        return str(self.value)


@dataclass(frozen=True)
class Bool:
    value: bool

    def __str__(self) -> str:
        return "true" if self.value else "false"


@dataclass(frozen=True)
class Compare:
    op: str  # one of COMPARE_OPS
    value: int | float

    def __str__(self) -> str:
        return f"{_OP_SIGN[self.op]} {self.value}"


@dataclass(frozen=True)
class TimePart:
    part: str  # one of fields.TIMESTAMP_PARTS
    op: str  # "eq" or one of COMPARE_OPS
    value: int | float  # pySigma types it so; the parts are ints

    def __str__(self) -> str:
        return f"|{self.part} {_OP_SIGN[self.op]} {self.value}"


@dataclass(frozen=True)
class Cidr:
    network: ipaddress.IPv4Network | ipaddress.IPv6Network

    def __str__(self) -> str:
        return f"in {self.network}"


@dataclass(frozen=True)
class Exists:
    want: bool

    def __str__(self) -> str:
        return "exists" if self.want else "missing"


@dataclass(frozen=True)
class Null:
    def __str__(self) -> str:
        return "is null"


@dataclass(frozen=True)
class FieldRef:
    field: str
    starts: bool = False
    ends: bool = False

    @property
    def path(self) -> F.FieldPath:
        return F.compile_path(self.field)

    def __str__(self) -> str:
        how = {(False, False): "=", (True, False): "startswith", (False, True): "endswith"}
        return f"{how.get((self.starts, self.ends), 'contains')} field {self.field}"


Matcher = Text | Regex | Number | Bool | Compare | TimePart | Cidr | Exists | Null | FieldRef


# ---------------------------------------------------------------------------------------------
# Conditions


@dataclass(frozen=True)
class FieldTest:
    field: str  # mapped Sigma field name
    matcher: Matcher

    @property
    def path(self) -> F.FieldPath:
        return F.compile_path(self.field)

    @property
    def attr(self) -> str | None:
        """The normalized Event attribute this field reads (fields.py section 4), else None."""
        return F.event_attr(self.field)


@dataclass(frozen=True)
class Keyword:
    matcher: Text | Regex


@dataclass(frozen=True)
class And:
    args: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    args: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    arg: Node


Node = And | Or | Not | FieldTest | Keyword


# ---------------------------------------------------------------------------------------------
# describe


def _flag_letters(flags: int) -> str:
    return "".join(c for c, f in (("i", re.IGNORECASE), ("m", re.MULTILINE), ("s", re.DOTALL)) if flags & f)


def describe(node: Node) -> str:
    """The tree in a readable Sigma-like notation, one line (for `rules` output and debugging).

    The values are the rule's own text: a caller printing it escapes it for its sink (terminal,
    CSV, HTML) like any other rule text."""
    return _describe(node, top=True)


def _describe(node: Node, top: bool = False) -> str:
    if isinstance(node, (And, Or)):
        word = " and " if isinstance(node, And) else " or "
        text = word.join(_describe(a) for a in node.args)
        return text if top or len(node.args) < 2 else f"({text})"
    if isinstance(node, Not):
        return f"not {_describe(node.arg)}"
    if isinstance(node, Keyword):
        return f"keyword {node.matcher}"
    m = node.matcher
    if isinstance(m, Text) and m.kind != "exact":
        return f"{node.field} like {m}"
    if isinstance(m, (Text, Regex, Number, Bool)):
        op = "~" if isinstance(m, Regex) else "="
        return f"{node.field} {op} {m}"
    if isinstance(m, TimePart):
        return f"{node.field}{m}"
    return f"{node.field} {m}"
