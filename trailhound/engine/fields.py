"""Field lookup and value semantics: the contract every engine must reproduce exactly.

The reference engine (reference.py) is the test oracle for the fast engines; this module is the
written-down meaning of "a Sigma field matches a value" that they copy. Everything below is
decided here once; where the Sigma specification leaves a choice, the choice and the reason are
given. Spec citations are to SigmaHQ/sigma-specification: "rules spec" is
specification/sigma-rules-specification.md (v2.0.0), "modifiers appendix" is
specification/sigma-appendix-modifiers.md (v2.1.0, and the v2.2.0 `re` wording, PR #193).

1. Field lookup
---------------
A Sigma field name (after the pipeline's field mapping) is a dotted path into `Event.raw`.

* Split the name on every ".". At each dict level, take the LONGEST run of the remaining parts
  that, joined back with ".", is a key of that dict, and continue with the rest. So
  `claims.http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn` finds the key
  `http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn` inside `claims`. The choice is
  final: there is no backtracking to a shorter key if the longer one leads nowhere.
* Keys are matched case-sensitively (JSON keys are; spelling variants are the mapping
  pipeline's job).
* A list met before the path ends is crossed: every element is followed (nested lists too);
  elements that are not objects are dropped.
* The result is the list of values found at the end of the path, one per branch ("hits").
  The field is MISSING when there is no hit (absent key, a path through a scalar, an empty list
  on the way). A hit whose value is a list is flattened (recursively) into its elements, which
  gives the field's LEAVES. `{"a": []}` has one hit for `a` (so `a` exists) and no leaves.

2. Matching a field against a value
-----------------------------------
A field matches a value when ANY leaf matches it (lists are "any element"); a missing field or
a field with no leaves matches no value, except `null` and `exists: false` below. `not` is plain
boolean negation, so `not` of a condition over a missing field is true.

Leaf text. A string value (plain Sigma string, wildcards, `|re`, `|fieldref`, keywords) is
compared with the leaf's TEXT: a JSON string is itself; a JSON boolean is `true` / `false`; a
JSON integer is its decimal digits (`5`); a JSON float is Python's `repr` (`5.0`, `1e+16`), the
same as `json.dumps`. JSON null and objects have no text and never match a string value
(objects do satisfy `exists`).

* Strings (SigmaString): `*` matches any run of characters (including none and including line
  breaks), `?` exactly one character; `\\*`, `\\?`, `\\\\` are pySigma-parsed escapes for the plain
  characters. The pattern must match the WHOLE text ("field matches are always full matches",
  thomaspatzke in sigma-specification#41). Matching is case-INSENSITIVE ("All values are treated
  as case-insensitive strings", rules spec, Detection > General; "Default Sigma behavior is
  case-insensitive matching", modifiers appendix, `cased`). Case-insensitive means Python `re`
  with `re.IGNORECASE` (simple per-character case folding; for all-ASCII text that is exactly
  `str.lower()` equality, which is the fast path). `contains` / `startswith` / `endswith` are
  wildcards added by pySigma and follow the same rule. The empty string `''` matches only an
  empty string. `*` alone matches any leaf that has text (not null, not an object).
* `|cased` (SigmaCasedString): the same, case-sensitive.
* `|re` (SigmaRegularExpression): Python `re.search` - the expression may match ANYWHERE in the
  text unless it is anchored with `^` / `$`. Spec v2.2.0 (sigma-specification PR #193, resolving
  issue #41): "Regexes are matched case-sensitive and match a substring (matches as
  'contains'). Use `^regex$` to match the full string". The v2.1.0 appendix already lists `^`
  and `$` as supported anchors, which only mean something under substring search. pySigma's
  `re|contains` adds `.*` on both sides, which changes nothing under search. Case-sensitive
  unless `|i`; `|m` is re.MULTILINE, `|s` re.DOTALL (modifiers appendix, `re` sub-modifiers).
  Python `re` syntax and meaning are used (pySigma already validated the pattern with it), but
  matching runs on RE2, in time linear in the text (sigma_regex.py translates the pattern with
  Python's meaning made explicit). Two exceptions, reported by `rules check`: what RE2 cannot
  run (lookaround, backreferences, atomic groups, possessive quantifiers, a `$` followed by
  more pattern without `|m`) refuses the rule; `\\b` / `\\B` are ASCII word boundaries (a
  non-ASCII letter next to one counts as a non-word character).
* Numbers (SigmaNumber, e.g. `eventVersion: 1.08` unquoted): numeric equality with a JSON
  number (not a boolean) or with a NUMERIC STRING: optional sign, ASCII digits with an
  optional fraction, optional exponent, nothing else (no spaces, no `0x`, no `nan`). Integers
  compare exactly; `5` equals `5.0` and `"5"`.
* Booleans (SigmaBool, unquoted `true`/`false`): equal to a JSON boolean of the same value, or
  to the string `true`/`false` in any case (values are case-insensitive strings). Not to 1/0.
* `|gt` `|gte` `|lt` `|lte` (SigmaCompareExpression, and `neq` if a pipeline produces that
  operator): the leaf must be a number or a numeric string as above; anything else (including
  a missing field) is false. The `|neq` MODIFIER is different: pySigma turns it into `not (field
  equals value)` (so a missing field satisfies `field|neq: x`); engines evaluate that NOT.
* `null` (SigmaNull): true when the field is MISSING or when any leaf is JSON null. It does NOT
  match an empty string (rules spec, Special Field Values, keeps `''` and `null` apart, and
  SigmaHQ rules write `DeviceDetail.trusttype: ''` and `...: null` as two alternatives) nor an
  empty list (a present field with no leaves). CloudTrail relies on it: `errorCode: null` is
  "the call did not fail", where errorCode is absent.
* `|exists` (SigmaExists): `exists: true` iff the field has at least one hit, whatever its value
  ("this check only verifies the presence of a field, not its value, be it empty or null",
  modifiers appendix); `exists: false` is exactly its negation.
* `|cidr` (SigmaCIDRExpression, IPv4 and IPv6): the leaf must be a JSON string that Python's
  `ipaddress.ip_address` accepts exactly (no spaces, no port, no prefix) and that lies in the
  network. A v4 address never matches a v6 network or the reverse (no IPv4-mapped folding).
  Anything else - `AWS Internal`, a DNS name, a number - never matches.
* `|fieldref` (SigmaFieldReference): true when some leaf text of the field equals some leaf
  text of the referenced field (resolved by the same lookup rules), case-INSENSITIVELY (the
  default for values; the spec says nothing specific for fieldref). With pySigma's
  `|fieldref|startswith` / `endswith` / `contains` the field's text must start with / end with
  / contain the other's. Either field missing, or a null / object leaf: no match.
* Expansions (SigmaExpansion from `|windash`, `|base64offset`): OR of the expanded values,
  whatever the linking (`all`) around them. `|base64`, `|wide`/`|utf16le`, `|utf16be`, `|utf16`
  produce plain strings and match as strings.
* Timestamp parts (`|minute` `|hour` `|day` `|week` `|month` `|year`, pySigma
  SigmaTimestampPart, also under `|gt` etc.): only on the fields in TIMESTAMP_FIELDS (the event
  time fields of the supported sources, which are ISO-8601); engines must refuse the rule for
  any other field. The leaf must be a string `YYYY-MM-DD(T| )HH:MM[:SS[.fraction]][Z|+HH[:MM]]`
  (TIMESTAMP_RE) naming a real date; the parts are taken as written, without time-zone
  conversion ("It is not designed to handle timezone or format conversions", modifiers
  appendix). `week` is the ISO-8601 week number (1..53). Other leaves never match.

3. Keywords (field-less values)
-------------------------------
"Contrary to the Field Usage, It's a matter of searching for keywords across an entire event"
(rules spec, Keywords search); list values are "applied to the full log message" (rules spec,
Lists). A keyword therefore matches when it is CONTAINED in (full-text search, not equal to)
at least one STRING leaf of the whole raw record: every JSON string reached through objects and
lists, keys excluded, numbers/booleans/null excluded. A string keyword is a case-insensitive
wildcard pattern with `*` added at both ends; `|cased` makes it case-sensitive; `|re` is
searched in each string leaf; a numeric keyword (`- 4624`) is searched as its decimal text.

4. Normalized fields
--------------------
A name `trailhound.<attr>` (EVENT_FIELD_PREFIX) reads the normalized Event attribute `<attr>`
(one of EVENT_FIELDS: `trailhound.principal`, `trailhound.src_ip`, ...) instead of the raw
record: one hit, the attribute's string, or missing when it is None. Allowlists (tuning/) are
Sigma filters over these names, because a principal or an account is read from a different
place in every source and export shape, and the normalizer already decided where (CloudTrail's
principal falls back from `userIdentity.arn` to `principalId`, ...). A raw key spelled
`trailhound.principal` is never read under that name, so a record cannot pose as an
allowlisted principal by carrying one. The fast engine's prefilter never anchors a rule on
these names (its projections read raw records); correlation group-by fields read the raw record.
"""

from __future__ import annotations

import _sre  # sre's own lower-casing (re._compiler uses it for IGNORECASE)
import ipaddress
import re
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from functools import lru_cache
from re._casefix import _EXTRA_CASES  # type: ignore[import-not-found]  # private, like re._parser
from typing import Any

from sigma.types import SpecialChars

from trailhound.engine.sigma_regex import compile_search

__all__ = [
    "EVENT_FIELDS",
    "EVENT_FIELD_PREFIX",
    "TIMESTAMP_FIELDS",
    "TIMESTAMP_RE",
    "FieldPath",
    "compile_path",
    "compile_wildcard",
    "contains_pattern",
    "event_attr",
    "event_hits",
    "ip_of",
    "leaves",
    "lookup",
    "normalize_parts",
    "number_of",
    "resolve",
    "string_leaves",
    "text_compare",
    "text_of",
    "timestamp_parts",
]

# For each start index i of the split name: (joined key, index after it), longest first.
FieldPath = tuple[tuple[tuple[str, int], ...], ...]


# ---------------------------------------------------------------------------------------------
# 1. Field lookup (and 4. normalized fields)

EVENT_FIELD_PREFIX = "trailhound."
# The string attributes of model.Event that rules and filters can read (section 4).
EVENT_FIELDS = frozenset({
    "source", "provider", "time", "operation", "service", "principal", "principal_type",
    "src_ip", "region", "account", "status", "error_code", "error_message", "user_agent",
    "event_id", "correlation_id",
})


def event_attr(field: str) -> str | None:
    """The Event attribute a field name reads (`trailhound.principal` -> `principal`), else None."""
    if not field.startswith(EVENT_FIELD_PREFIX):
        return None
    attr = field[len(EVENT_FIELD_PREFIX):]
    return attr if attr in EVENT_FIELDS else None


def event_hits(event: Any, attr: str) -> list[Any]:
    """The hits of a normalized field: [value], or [] (missing) when the event has none."""
    value = getattr(event, attr, None) if event is not None else None
    return [] if value is None else [value]



@lru_cache(maxsize=4096)
def compile_path(field: str) -> FieldPath:
    """Pre-compute the candidate keys of `field` (see the module docstring, section 1)."""
    parts = field.split(".")
    n = len(parts)
    return tuple(
        tuple((".".join(parts[i:j]), j) for j in range(n, i, -1)) for i in range(n)
    )


def resolve(raw: Any, path: FieldPath) -> list[Any]:
    """The hits of `path` in `raw`: values at the end of each branch. [] means missing."""
    # A loop down through plain dicts first, the recursive walk only from the first node that
    # is not one (a list to cross, a dict subclass, a scalar): the same choices as _walk, but
    # the common record (objects all the way) costs no call per level. Why: field lookup is
    # most of the rules' cost on a record that matches.
    node, i, n = raw, 0, len(path)
    while node.__class__ is dict:
        for key, j in path[i]:
            if key in node:
                node = node[key]
                break
        else:
            return []
        if j == n:
            return [node]
        i = j
    out: list[Any] = []
    _walk(node, path, i, out)
    return out


def _walk(node: Any, path: FieldPath, i: int, out: list[Any]) -> None:
    if isinstance(node, dict):
        for key, j in path[i]:
            if key in node:
                value = node[key]
                if j == len(path):
                    out.append(value)
                else:
                    _walk(value, path, j, out)
                return
    elif isinstance(node, list):
        for element in node:
            _walk(element, path, i, out)


def leaves(hits: Iterable[Any]) -> list[Any]:
    """Flatten list-valued hits (recursively) into the field's leaves."""
    if isinstance(hits, list) and len(hits) == 1 and not isinstance(hits[0], list):
        return [hits[0]]  # (the common field: one scalar hit)
    out: list[Any] = []
    for v in hits:
        if isinstance(v, list):
            out.extend(leaves(v))
        else:
            out.append(v)
    return out


def lookup(raw: Any, field: str) -> tuple[bool, list[Any]]:
    """(present, leaves) of a Sigma field name in a raw record."""
    hits = resolve(raw, compile_path(field))
    return bool(hits), leaves(hits)


def string_leaves(raw: Any) -> list[str]:
    """Every JSON string value in the record (keys excluded), for keyword search."""
    out: list[str] = []
    stack = [raw]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            out.append(node)
        elif isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return out


# ---------------------------------------------------------------------------------------------
# 2. Leaf conversions


def text_of(leaf: Any) -> str | None:
    """The leaf's text for string comparisons, or None (null, object) when it has none."""
    if isinstance(leaf, str):
        return leaf
    if leaf is True:
        return "true"
    if leaf is False:
        return "false"
    if isinstance(leaf, int):
        return str(leaf)
    if isinstance(leaf, float):
        return repr(leaf)
    return None


_NUMERIC = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_INTEGER = re.compile(r"[+-]?[0-9]+")


def number_of(leaf: Any) -> int | float | None:
    """The leaf as a number: a JSON number (not a boolean) or a numeric string; else None."""
    if isinstance(leaf, bool):
        return None
    if isinstance(leaf, (int, float)):
        return leaf
    if isinstance(leaf, str) and _NUMERIC.fullmatch(leaf):
        if _INTEGER.fullmatch(leaf):
            try:
                return int(leaf)
            except ValueError:  # past Python's 4,300 digits for int(): a double, as orjson reads it
                return float(leaf)
        return float(leaf)
    return None


@lru_cache(maxsize=8192)
def ip_of(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


# ---------------------------------------------------------------------------------------------
# Strings: wildcard patterns and case-insensitive comparison

_MULTI = SpecialChars.WILDCARD_MULTI
_SINGLE = SpecialChars.WILDCARD_SINGLE


def normalize_parts(parts: Sequence[str | SpecialChars]) -> list[str | SpecialChars]:
    """The canonical form of a Sigma string's parts: adjacent plain parts merged, runs of `*`
    collapsed, empty plain parts dropped (what ir.Text keeps)."""
    out: list[str | SpecialChars] = []
    for p in parts:
        if isinstance(p, str):
            if not p:
                continue
            if out and isinstance(out[-1], str):
                out[-1] = out[-1] + p
                continue
        elif p is _MULTI and out and out[-1] is _MULTI:
            continue
        out.append(p)
    return out


# The old private name, still read by trailhound/spark/compile.py (which is being retired).
_normalize = normalize_parts


def _regex_source(parts: Sequence[str | SpecialChars]) -> str:
    pieces = []
    for p in parts:
        if isinstance(p, str):
            pieces.append(re.escape(p))
        elif p is _MULTI:
            pieces.append(".*")
        elif p is _SINGLE:
            pieces.append(".")
        else:  # pragma: no cover - callers refuse placeholders before
            raise TypeError(f"unexpected string part {p!r}")
    return "".join(pieces)


def compile_wildcard(parts: Sequence[str | SpecialChars], cased: bool) -> Callable[[str], bool]:
    """A full-match test for a Sigma string (pySigma `SigmaString.s` parts): re.fullmatch of
    the parts (`*` as `.*`, `?` as `.`, the rest literal) with DOTALL, and IGNORECASE unless
    `cased`, in linear time.

    Only `str` and SpecialChars parts are allowed (placeholders are refused by the caller).
    """
    norm = normalize_parts(parts)
    flags = re.DOTALL | (0 if cased else re.IGNORECASE)
    # re.fullmatch's meaning, run by RE2 in time linear in the text. Why not `re` itself: it
    # backtracks, and `*a*a*b` (a rule's value) against 4,000 `a` (a logged value anyone can
    # choose) took 58 s, `*a*a*a*b` against 1,000 took 214 s, one record stalling a scan.
    # sigma_regex writes the pattern out with Python's case rule and `.` made explicit.
    # Raises RegexRefused (too large for RE2); the rule compiler refuses such a rule.
    by_regex = compile_search(r"\A(?:" + _regex_source(norm) + r")\Z", flags)

    if norm == [_MULTI]:
        return lambda t: True
    # Shapes with a fast path: X, *X, X*, *X*  (X plain text)
    plain_idx = [i for i, p in enumerate(norm) if isinstance(p, str)]
    specials = [p for p in norm if not isinstance(p, str)]
    if len(plain_idx) > 1 or _SINGLE in specials or (not plain_idx and norm):
        return by_regex
    if not norm:  # the empty string
        return lambda t: t == ""
    needle = norm[plain_idx[0]]
    assert isinstance(needle, str)
    lead = norm[0] is _MULTI
    trail = norm[-1] is _MULTI
    if cased:
        if lead and trail:
            return lambda t: needle in t
        if lead:
            return lambda t: t.endswith(needle)
        if trail:
            return lambda t: t.startswith(needle)
        return lambda t: t == needle
    if not needle.isascii():
        return by_regex
    low = needle.lower()
    if lead and trail:
        return lambda t: (low in t.lower()) if t.isascii() else by_regex(t)
    if lead:
        return lambda t: t.lower().endswith(low) if t.isascii() else by_regex(t)
    if trail:
        return lambda t: t.lower().startswith(low) if t.isascii() else by_regex(t)
    return lambda t: (t.lower() == low) if t.isascii() else by_regex(t)


def contains_pattern(parts: Sequence[str | SpecialChars]) -> list[str | SpecialChars]:
    """`*` + parts + `*` (without doubling existing ones): the keyword / `contains` shape."""
    out = list(parts)
    if not out or out[0] is not _MULTI:
        out.insert(0, _MULTI)
    if out[-1] is not _MULTI:
        out.append(_MULTI)
    return out


def text_compare(text: str, other: str, *, starts: bool, ends: bool) -> bool:
    """Case-insensitive `text` vs `other` (the value of a referenced field).

    starts and ends: contains; starts: text starts with other; ends: text ends with other;
    neither: equal. Same case rule as strings (ASCII lower(), else re.IGNORECASE).
    """
    if text.isascii() and other.isascii():
        t, o = text.lower(), other.lower()
        if starts and ends:
            return o in t
        if starts:
            return t.startswith(o)
        if ends:
            return t.endswith(o)
        return t == o
    # re.IGNORECASE's meaning, without `re`: `.*X.*` over two logged values backtracked in time
    # len(text) x len(other) (8,000 non-ASCII characters: 0.09 s; a megabyte each: hours). Its
    # rule for one character is an equivalence - equal once lower-cased, or in one of sre's
    # extra classes (re._casefix: i and dotless i, s and long s...) - so each character is
    # replaced by its class's smallest member and the texts compared as plain strings.
    t, o = text.translate(_CASE_CLASS), other.translate(_CASE_CLASS)
    if starts and ends:
        return o in t
    if starts:
        return t.startswith(o)
    if ends:
        return t.endswith(o)
    return t == o


class _CaseClasses(dict[int, int]):
    """Code point -> the smallest code point re.IGNORECASE takes as equal to it (for
    str.translate: a C loop, this method only for a character not met before; bounded)."""

    def __missing__(self, c: int) -> int:
        low: int = _sre.unicode_tolower(c)
        got: int = min((low, *_EXTRA_CASES.get(low, ())))
        if len(self) < 1 << 16:
            self[c] = got
        return got


_CASE_CLASS = _CaseClasses()


# ---------------------------------------------------------------------------------------------
# Timestamps

# Event time fields of the supported sources (mapped names), all ISO-8601 / RFC 3339 strings.
TIMESTAMP_FIELDS: frozenset[str] = frozenset(
    {
        # AWS CloudTrail
        "eventTime",
        "userIdentity.sessionContext.attributes.creationDate",
        # Azure Activity (diagnostic settings and Activity Log REST shapes)
        "time",
        "eventTimestamp",
        "submissionTimestamp",
        "properties.eventTimestamp",
        # Entra ID audit / sign-in
        "activityDateTime",
        "createdDateTime",
        "properties.activityDateTime",
        "properties.createdDateTime",
        # GCP Cloud Audit Logs
        "timestamp",
        "receiveTimestamp",
        "protoPayload.requestMetadata.requestAttributes.time",
    }
)

TIMESTAMP_RE = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[T ]([0-9]{2}):([0-9]{2})"
    r"(?::[0-9]{2}(?:\.[0-9]+)?)?(?:Z|[+-][0-9]{2}(?::?[0-9]{2})?)?"
)

TIMESTAMP_PARTS = ("minute", "hour", "day", "week", "month", "year")


@lru_cache(maxsize=8192)
def _timestamp_parts(text: str) -> dict[str, int] | None:
    m = TIMESTAMP_RE.fullmatch(text)
    if m is None:
        return None
    year, month, day, hour, minute = (int(g) for g in m.groups())
    if hour > 23 or minute > 59:
        return None
    try:
        d = date(year, month, day)
    except ValueError:
        return None
    return {
        "minute": minute,
        "hour": hour,
        "day": day,
        "week": d.isocalendar().week,
        "month": month,
        "year": year,
    }


def timestamp_parts(leaf: Any) -> dict[str, int] | None:
    """{"minute", "hour", "day", "week", "month", "year"} of a timestamp leaf, else None."""
    if not isinstance(leaf, str):
        return None
    return _timestamp_parts(leaf)
