"""Sigma `|re` values on RE2: linear-time matching with Python `re`'s meaning.

Why. Python `re` backtracks: `(a+)+$` against 40 `a` and a `!` runs for days, and a rule passed
with `--rules` is attacker-reachable through any logged text (a user agent). RE2 (google-re2)
matches in time linear in the text whatever the pattern. But RE2's syntax and semantics are not
Python's, and fields.py promises Python `re` semantics (pySigma validates `|re` with `re`), so a
pattern is not handed to RE2 as written. It is parsed by Python's own parser (`re._parser`, the
one pySigma's validation used, so every construct is read exactly as `re` reads it) and the tree
is written out again in RE2 syntax, every construct with Python's meaning made explicit:

* one-character tests (literals, `[...]`, `\\d \\w \\s` and their negations, `.`) become explicit
  RE2 classes of code-point ranges computed from Python's own definitions: `\\d` is
  `str.isdecimal`, `\\w` `str.isalnum` or `_`, `\\s` `str.isspace` (what sre tests; RE2's are
  ASCII-only), ASCII ones under `(?a)`. Case-insensitive ones (`|i`, `(?i)`) take Python's
  case rule (simple lower-casing plus sre's extra equivalences, e.g. `İ` matches `i`, which
  Unicode case folding - RE2's `(?i)` - does not): the set is computed by running Python `re`
  itself on every cased character (a few thousand), so it is Python's by construction.
* `\\Z` (Python: end of text) is RE2's `\\z`; `\\A` is `\\A`; `^` is `\\A`, or `(?m:^)` under `|m`.
* `$` without `|m` means, in Python, "at the end or before a final line break". RE2 has no
  lookahead to say that; where nothing follows the `$` in the pattern (the usual `...$`), a
  search succeeds exactly when `\\n?\\z` matches there, so that is what is written. A `$` with
  more pattern after it is refused (use `\\Z`, or `|m`). Under `|m`, `$` is RE2's `(?m:$)`.
* `\\b` / `\\B` are RE2's, which are ASCII word boundaries: the same as Python's on ASCII text;
  next to a letter or digit outside ASCII they differ (Python counts it as a word character).
  RE2 cannot express a Unicode boundary, so this is reported as a note (`rules check`), not
  hidden. Python 3.11's `\\B` never matches an empty text; RE2's does: handled.
* Refused, with the reason and what to write instead: lookahead / lookbehind, backreferences,
  conditional groups, atomic groups and possessive quantifiers (no linear-time engine can run
  them), repetition counts beyond RE2's 1000, and patterns too large for RE2's memory budget.

The translation is checked against Python `re` by tests/test_hostile_regex.py (hypothesis:
random Sigma-style patterns and texts, both engines, same answer).
"""

from __future__ import annotations

import _sre  # sre's case tables (re._compiler uses the same two functions)
import array
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache

# Python's own regex parser: private, but it is the reader pySigma's validation (and `re`)
# used, so the tree is exactly what `re` would run. Present under these names since 3.11.
from re import _constants as K
from re import _parser as P
from typing import Any

import re2
from sigma.types import SigmaRegularExpression, SigmaRegularExpressionFlag

__all__ = [
    "RegexRefused",
    "Translation",
    "compile_search",
    "regex_problem",
    "sigma_flags",
    "translate",
]

MAX_CP = 0x10FFFF
_RE2_REPEAT_MAX = 1000  # RE2's limit on a counted repetition
_SURROGATES = ((0xD800, 0xDFFF),)  # not representable in UTF-8: never in a text RE2 sees

Ranges = tuple[tuple[int, int], ...]


class RegexRefused(Exception):
    """A pattern trailhound will not run; the message says why and what to write instead."""


@dataclass(frozen=True)
class Translation:
    source: str  # RE2 syntax
    notes: tuple[str, ...]  # semantic differences left (documented, reported by rules check)
    empty_source: str | None = None  # for the empty text, when it differs (Python's `\B`)


# ---------------------------------------------------------------------------------------------
# Sigma flags


_SIGMA_FLAGS = {
    SigmaRegularExpressionFlag.IGNORECASE: re.IGNORECASE,
    SigmaRegularExpressionFlag.MULTILINE: re.MULTILINE,
    SigmaRegularExpressionFlag.DOTALL: re.DOTALL,
}


def sigma_flags(value: SigmaRegularExpression) -> int:
    """The `re` flags of a Sigma `|re|i|m|s` value."""
    flags = 0
    for flag in value.flags:
        if flag not in _SIGMA_FLAGS:
            raise RegexRefused(f"unsupported regular expression flag {flag.name}")
        flags |= _SIGMA_FLAGS[flag]
    return flags


# ---------------------------------------------------------------------------------------------
# Code-point sets (sorted, merged, inclusive ranges)


def _norm(rs: Iterable[tuple[int, int]]) -> Ranges:
    out: list[list[int]] = []
    for lo, hi in sorted(rs):
        if out and lo <= out[-1][1] + 1:
            out[-1][1] = max(out[-1][1], hi)
        else:
            out.append([lo, hi])
    return tuple((lo, hi) for lo, hi in out)


def _complement(rs: Ranges) -> Ranges:
    out, nxt = [], 0
    for lo, hi in rs:
        if lo > nxt:
            out.append((nxt, lo - 1))
        nxt = hi + 1
    if nxt <= MAX_CP:
        out.append((nxt, MAX_CP))
    return tuple(out)


def _union(*sets: Ranges) -> Ranges:
    return _norm(r for s in sets for r in s)


def _minus(a: Ranges, b: Ranges) -> Ranges:
    return _complement(_union(_complement(a), b))


def _runs(points: Iterable[int]) -> Ranges:
    return _norm((p, p) for p in points)


@cache
def _every_char() -> str:
    """All code points in order (surrogates included: a Python str may hold them), so the
    position of a character is its code point."""
    codec = "utf-32-le" if sys.byteorder == "little" else "utf-32-be"
    return array.array("I", range(MAX_CP + 1)).tobytes().decode(codec, "surrogatepass")


def _matched_by(rx: re.Pattern[str], text: str) -> Ranges:
    """The characters of `text` that `rx` (a one-character test plus `+`) matches."""
    return _norm((ord(text[m.start()]), ord(text[m.end() - 1])) for m in rx.finditer(text))


@cache
def _category(name: str, ascii_only: bool) -> Ranges:
    """CATEGORY_DIGIT, CATEGORY_NOT_WORD, ... as code points: asked of Python's `re` itself
    (one pass over every character, once per process), so they are its definitions exactly."""
    rx = re.compile(_PY_CATEGORY[name] + "+", re.ASCII if ascii_only else 0)
    return _matched_by(rx, _every_char())


@cache
def _cased() -> tuple[Ranges, str]:
    """Every character case-insensitive matching can treat as other than itself (superset):
    sre's own "cased" test (`_sre.unicode_iscased`, what re._compiler asks) and the case forms
    of those. Outside this set Python's case-insensitive test of a character is the
    case-sensitive one."""
    points: set[int] = set()
    for c in filter(_sre.unicode_iscased, range(MAX_CP + 1)):
        ch = chr(c)
        points.add(c)
        points.add(_sre.unicode_tolower(c))
        points.update(map(ord, ch.lower() + ch.upper()))
    return _runs(points), "".join(map(chr, sorted(points)))


# ---------------------------------------------------------------------------------------------
# One-character tests


_ALL: Ranges = ((0, MAX_CP),)
_NEWLINE: Ranges = ((10, 10),)


def _py_char(c: int) -> str:
    return f"\\U{c:08x}"


def _py_class(op: Any, av: Any) -> str:
    """The node back in Python syntax, as one class (to run it with `re` on cased chars)."""
    if op is K.LITERAL:
        return f"[{_py_char(av)}]"
    if op is K.NOT_LITERAL:
        return f"[^{_py_char(av)}]"
    items = []
    for iop, iav in av:
        if iop is K.NEGATE:
            items.append("^")
        elif iop is K.LITERAL:
            items.append(_py_char(iav))
        elif iop is K.RANGE:
            items.append(f"{_py_char(iav[0])}-{_py_char(iav[1])}")
        elif iop is K.CATEGORY:
            items.append(_PY_CATEGORY[str(iav)])
        else:  # pragma: no cover - the parser puts nothing else in a class
            raise RegexRefused(f"unsupported class item {iop}")
    return "[" + "".join(items) + "]"


_PY_CATEGORY = {
    "CATEGORY_DIGIT": r"\d",
    "CATEGORY_NOT_DIGIT": r"\D",
    "CATEGORY_SPACE": r"\s",
    "CATEGORY_NOT_SPACE": r"\S",
    "CATEGORY_WORD": r"\w",
    "CATEGORY_NOT_WORD": r"\W",
}


def _case_sensitive_set(op: Any, av: Any, flags: int) -> Ranges:
    ascii_only = bool(flags & re.ASCII)
    if op is K.LITERAL:
        return ((av, av),)
    if op is K.NOT_LITERAL:
        return _complement(((av, av),))
    if op is K.ANY:
        return _ALL if flags & re.DOTALL else _complement(_NEWLINE)
    negate = False
    parts: list[Ranges] = []
    for iop, iav in av:
        if iop is K.NEGATE:
            negate = True
        elif iop is K.LITERAL:
            parts.append(((iav, iav),))
        elif iop is K.RANGE:
            parts.append((tuple(iav),))
        elif iop is K.CATEGORY:
            if str(iav) not in _PY_CATEGORY:
                raise RegexRefused(f"unsupported character category {iav}")
            parts.append(_category(str(iav), ascii_only))
        else:  # pragma: no cover - the parser puts nothing else in a class
            raise RegexRefused(f"unsupported class item {iop}")
    got = _union(*parts)
    return _complement(got) if negate else got


def _char_set(op: Any, av: Any, flags: int) -> Ranges:
    base = _case_sensitive_set(op, av, flags)
    if op is K.ANY or not flags & re.IGNORECASE:
        return base
    # Python's case-insensitive rule, asked of Python itself on every cased character.
    cased, cased_text = _cased()
    rx = re.compile(_py_class(op, av), flags & (re.IGNORECASE | re.ASCII))
    hits = _runs(ord(m.group()) for m in rx.finditer(cased_text))
    return _union(_minus(base, cased), hits)


def _re2_char(c: int) -> str:
    ch = chr(c)
    return ch if ch.isascii() and ch.isalnum() else f"\\x{{{c:x}}}"


def _re2_class(rs: Ranges) -> str:
    rs = _minus(rs, _SURROGATES)
    if not rs:
        return r"[^\x00-\x{10ffff}]"  # matches nothing
    if len(rs) == 1 and rs[0][0] == rs[0][1]:
        return _re2_char(rs[0][0])
    body = "".join(
        _re2_char(lo) if lo == hi else f"{_re2_char(lo)}-{_re2_char(hi)}" for lo, hi in rs
    )
    return f"[{body}]"


# ---------------------------------------------------------------------------------------------
# The tree, written out in RE2 syntax

_FIX_LOOKAROUND = "express that condition as its own Sigma selection (`and not` another |re)"
_UNSUPPORTED = {
    "GROUPREF": ("a backreference (\\1, (?P=name))", "spell the repeated text out"),
    "GROUPREF_EXISTS": ("a conditional group (?(1)...|...)", "use two alternatives with |"),
    "ATOMIC_GROUP": ("an atomic group (?>...)", "use a plain group (?:...)"),
    "POSSESSIVE_REPEAT": ("a possessive quantifier (*+, ++, ?+)", "drop the extra +"),
}


def _cannot(what: str, fix: str) -> RegexRefused:
    return RegexRefused(
        f"it uses {what}, which RE2 cannot run (trailhound matches regular expressions in "
        f"linear time so that no pattern can stall a scan); {fix}"
    )


_BOUNDARY_NOTE = (
    "\\b and \\B are ASCII word boundaries (RE2): a letter or digit outside ASCII next to one "
    "counts as a non-word character, where Python's re counts it as a word character"
)
# Python 3.11's `\B` never matches an empty text (changed in 3.14); follow the running Python.
_NONBOUNDARY_ON_EMPTY = re.search(r"\B", "") is not None


class _Writer:
    def __init__(self) -> None:
        self.notes: list[str] = []
        self.nonboundary = False

    def seq(self, items: Sequence[tuple[Any, Any]], flags: int, tail: bool) -> str:
        last = len(items) - 1
        return "".join(
            self.node(op, av, flags, tail and i == last) for i, (op, av) in enumerate(items)
        )

    def node(self, op: Any, av: Any, flags: int, tail: bool) -> str:
        if op in (K.LITERAL, K.NOT_LITERAL, K.IN, K.ANY):
            return _re2_class(_char_set(op, av, flags))
        if op is K.BRANCH:
            return "(?:" + "|".join(self.seq(b, flags, tail) for b in av[1]) + ")"
        if op is K.SUBPATTERN:
            _group, add, drop, sub = av
            return "(?:" + self.seq(sub, (flags | add) & ~drop, tail) + ")"
        if op in (K.MAX_REPEAT, K.MIN_REPEAT):
            lo, hi, sub = av
            return self.repeat(lo, hi, self.seq(sub, flags, tail and hi <= 1), op is K.MIN_REPEAT)
        if op is K.AT:
            return self.at(str(av), flags, tail)
        if op is K.ASSERT or op is K.ASSERT_NOT:
            kind = "a lookahead (?=...) (?!...)" if av[0] >= 0 else "a lookbehind (?<=...) (?<!...)"
            raise _cannot(kind, _FIX_LOOKAROUND)
        what, fix = _UNSUPPORTED.get(str(op), (str(op), "rewrite the pattern without it"))
        raise _cannot(what, fix)

    def repeat(self, lo: int, hi: int, inner: str, lazy: bool) -> str:
        unbounded = hi is K.MAXREPEAT or hi == K.MAXREPEAT
        if lo > _RE2_REPEAT_MAX or (not unbounded and hi > _RE2_REPEAT_MAX):
            bound = f"{{{lo},}}" if unbounded else f"{{{lo},{hi}}}"
            raise RegexRefused(
                f"the repetition {bound} is beyond RE2's limit of {_RE2_REPEAT_MAX}; "
                "use a smaller count"
            )
        if unbounded:
            q = "*" if lo == 0 else "+" if lo == 1 else f"{{{lo},}}"
        elif (lo, hi) == (0, 1):
            q = "?"
        else:
            q = f"{{{lo}}}" if lo == hi else f"{{{lo},{hi}}}"
        return f"(?:{inner}){q}{'?' if lazy else ''}"

    def at(self, code: str, flags: int, tail: bool) -> str:
        multiline = bool(flags & re.MULTILINE)
        if code == "AT_BEGINNING":
            return "(?m:^)" if multiline else r"\A"
        if code == "AT_BEGINNING_STRING":
            return r"\A"
        if code == "AT_END_STRING":
            return r"\z"
        if code == "AT_END":
            if multiline:
                return "(?m:$)"
            if tail:
                return r"(?:\n?\z)"
            raise RegexRefused(
                "it has a `$` with more pattern after it: Python's `$` also matches before a "
                "final line break, which RE2 cannot express there; use \\Z (end of the text) "
                "or the |m modifier"
            )
        if code in ("AT_BOUNDARY", "AT_NON_BOUNDARY"):
            if not flags & re.ASCII and _BOUNDARY_NOTE not in self.notes:
                self.notes.append(_BOUNDARY_NOTE)
            if code == "AT_BOUNDARY":
                return r"\b"
            self.nonboundary = True
            return r"\B"
        raise _cannot(f"the anchor {code}", "rewrite the pattern without it")  # pragma: no cover


_NEVER = r"[^\x00-\x{10ffff}]"


@lru_cache(maxsize=2048)
def translate(pattern: str, flags: int = 0) -> Translation:
    """`pattern` (Python `re` syntax, `re` flags I/M/S) in RE2 syntax with Python's meaning.
    Raises RegexRefused with the reason for what RE2 cannot run."""
    try:
        tree = P.parse(pattern, flags)
    except re.error as e:
        raise RegexRefused(f"invalid regular expression: {e}") from None
    w = _Writer()
    source = w.seq(list(tree), tree.state.flags, True)
    empty = None
    if w.nonboundary and not _NONBOUNDARY_ON_EMPTY:
        empty = source.replace(r"\B", _NEVER)  # classes never spell \B: see _re2_char
    return Translation(source, tuple(w.notes), empty)


def _options() -> re2.Options:
    o = re2.Options()
    o.never_capture = True  # only "is there a match" is asked
    o.log_errors = False  # errors are reported by us, not on stderr by the library
    return o


@lru_cache(maxsize=2048)
def _program(source: str) -> Any:
    # The binding's own RE2 object: the `re2` module's search() wraps each call in Python
    # match-object and offset bookkeeping that costs 7x the match itself; a bool is all we need.
    prog = re2._re2.RE2(source.encode("utf-8"), _options())
    if not prog.ok():
        why = prog.error()
        why = why.decode("utf-8", "replace") if isinstance(why, bytes) else str(why)
        if "too large" in why or "repetition" in why:
            raise RegexRefused(
                f"RE2 cannot compile it ({why}): the repetitions multiply beyond its limits; "
                "use smaller counts"
            )
        raise RegexRefused(f"RE2 cannot compile it: {why}")
    return prog


def compile_search(pattern: str, flags: int = 0) -> Callable[[str], bool]:
    """A linear-time `re.search(pattern, text, flags) is not None` (see the module docstring).
    Raises RegexRefused."""
    t = translate(pattern, flags)
    match = _program(t.source).Match
    unanchored = re2._re2.RE2.Anchor.UNANCHORED
    empty = _program(t.empty_source) if t.empty_source is not None else None

    def search(text: str) -> bool:
        if empty is not None and not text:
            return empty.Match(unanchored, b"", 0, 0)[0][0] >= 0
        # surrogatepass: readers never produce lone surrogates (orjson rejects them), but a
        # str that has one must not crash a scan; it simply matches no character class.
        data = text.encode("utf-8", "surrogatepass")
        return match(unanchored, data, 0, len(data))[0][0] >= 0

    return search


def regex_problem(value: SigmaRegularExpression) -> tuple[str | None, tuple[str, ...]]:
    """(refusal reason or None, notes) for a Sigma `|re` value, without running anything."""
    try:
        flags = sigma_flags(value)
        t = translate(str(value.regexp), flags)
        _program(t.source)
    except RegexRefused as e:
        return str(e), ()
    return None, t.notes
