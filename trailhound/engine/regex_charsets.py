"""One-character regex tests (literals, classes, `.`, `\\d \\w \\s`) as code-point sets, with Python
`re`'s meaning, written as RE2 classes (for sigma_regex.py).

Why our own sets: RE2's `\\d \\w \\s` are ASCII-only and its `(?i)` is Unicode case folding,
where Python's `re` (what fields.py promises) has Unicode classes and its own case rule (simple
lower-casing plus extra pairs: `İ` matches `i`, which folding does not). No library converts
one into the other, so each test becomes an explicit set of code points, and every set that is
not a plain literal or range is asked of Python's `re` itself: the categories by one pass over
every character, case-insensitive tests by a pass over the few thousand cased characters.
The result is Python's meaning by construction, once per process.
"""

from __future__ import annotations

import _sre  # sre's case tables (re._compiler uses the same two functions)
import array
import re
import sys
from collections.abc import Iterable
from functools import cache

# Opcodes of Python's regex parser (see sigma_regex.py for why the private parser).
from re import _constants as K  # type: ignore[attr-defined]  # private: typeshed has no stub
from typing import Any

__all__ = ["MAX_CP", "NOTHING", "Ranges", "char_set", "re2_class"]

MAX_CP = 0x10FFFF
NOTHING = r"[^\x00-\x{10ffff}]"  # an RE2 class that matches no character
_SURROGATES = ((0xD800, 0xDFFF),)  # not representable in UTF-8: never in a text RE2 sees

Ranges = tuple[tuple[int, int], ...]


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
            raise ValueError(f"unexpected class item {iop}")
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
                raise ValueError(f"unexpected character category {iav}")
            parts.append(_category(str(iav), ascii_only))
        else:  # pragma: no cover - the parser puts nothing else in a class
            raise ValueError(f"unexpected class item {iop}")
    got = _union(*parts)
    return _complement(got) if negate else got


def char_set(op: Any, av: Any, flags: int) -> Ranges:
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


def re2_class(rs: Ranges) -> str:
    rs = _minus(rs, _SURROGATES)
    if not rs:
        return NOTHING
    if len(rs) == 1 and rs[0][0] == rs[0][1]:
        return _re2_char(rs[0][0])
    body = "".join(
        _re2_char(lo) if lo == hi else f"{_re2_char(lo)}-{_re2_char(hi)}" for lo, hi in rs
    )
    return f"[{body}]"
