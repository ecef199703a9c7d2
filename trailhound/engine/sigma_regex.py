"""Sigma `|re` values on RE2: linear-time matching with Python `re`'s meaning.

Why. Python `re` backtracks: `(a+)+$` against 40 `a` and a `!` runs for days, and a rule passed
with `--rules` is attacker-reachable through any logged text (a user agent). RE2 (google-re2)
matches in time linear in the text whatever the pattern. But RE2's syntax and semantics are not
Python's, and fields.py promises Python `re` semantics (pySigma validates `|re` with `re`), so a
pattern is not handed to RE2 as written. It is parsed by Python's own parser (`re._parser`, the
one pySigma's validation used, so every construct is read exactly as `re` reads it) and the tree
is written out again in RE2 syntax, every construct with Python's meaning made explicit:

* one-character tests (literals, `[...]`, `\\d \\w \\s` and their negations, `.`) become explicit
  RE2 classes of code points with Python's meaning (regex_charsets.py): Unicode `\\d \\w \\s`
  (RE2's are ASCII-only; ASCII ones under `(?a)`), and under `|i` / `(?i)` Python's case rule
  (simple lower-casing plus sre's extra pairs: `İ` matches `i`, which RE2's Unicode case
  folding does not).
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

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

# Python's own regex parser: private, but it is the reader pySigma's validation (and `re`)
# used, so the tree is exactly what `re` would run. Present under these names since 3.11.
# (typeshed has no stubs for these private modules, hence the ignores)
from re import _constants as K  # type: ignore[attr-defined]
from re import _parser as P  # type: ignore[attr-defined]
from typing import Any

import re2
from sigma.types import SigmaRegularExpression, SigmaRegularExpressionFlag

from trailhound.engine.regex_charsets import NOTHING, char_set, re2_class

__all__ = [
    "RegexRefused",
    "Translation",
    "compile_search",
    "regex_problem",
    "sigma_flags",
    "translate",
]

_RE2_REPEAT_MAX = 1000  # RE2's limit on a counted repetition


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
            return re2_class(char_set(op, av, flags))
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
        empty = source.replace(r"\B", NOTHING)  # classes never spell \B: see _re2_char
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
        if "too large" in why:
            raise RegexRefused(
                f"it is too large for RE2's memory budget ({why}): a counted repetition of a "
                "large class (\\w{500}, [^x]{300}...) is compiled out in full; use a smaller "
                "count, or `+`"
            )
        if "repetition" in why:
            raise RegexRefused(
                f"RE2 cannot compile it ({why}): nested counted repetitions multiply beyond "
                f"RE2's limit of {_RE2_REPEAT_MAX}; use smaller counts"
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
            # re2 is untyped (see pyproject), so its result is Any; no bool() in this hot path
            return empty.Match(unanchored, b"", 0, 0)[0][0] >= 0  # type: ignore[no-any-return]
        # surrogatepass: readers never produce lone surrogates (orjson rejects them), but a
        # str that has one must not crash a scan; it simply matches no character class.
        data = text.encode("utf-8", "surrogatepass")
        return match(unanchored, data, 0, len(data))[0][0] >= 0  # type: ignore[no-any-return]

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
