"""What Sumo values are and how they compare, in one place.

Sumo fields are strings (a `json` extraction yields text; a number is its JSON text), numbers
appear from literals, arithmetic, `num()` and `count`, and a field no parse filled is null.
Documented semantics followed here (docs/sumo.md cites the pages):
- `=` and `in` compare strings exactly, case-sensitively; when one side is a number and the
  other reads as one, they compare as numbers (`where status_code >= 400`).
- `<` `>` `<=` `>=` compare as numbers when both sides read as numbers, as text when both are
  text; a number against text that is not one is false.
- any test on null is false (null never equals, matches, or is in anything); `!` negates that.
- arithmetic reads both sides as numbers; anything else (text, null) gives null.
- `matches "pat*tern"`: the whole value against a pattern whose only wildcard is `*`;
  `matches /re/`: RE2 (Sumo's own regex engine) against the whole value; both case-sensitive.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable
from typing import Any

import orjson

from trailhound.engine.sigma_regex import RegexRefused, _program

Value = Any  # str | int | float | bool | dict | list | None

__all__ = [
    "RegexRefused",
    "Value",
    "compile_regex",
    "compile_scope_wildcard",
    "compile_wildcard",
    "equals",
    "less",
    "normalized",
    "number",
    "text",
    "truth",
]


def number(v: Value) -> int | float | None:
    """`v` read as a number (ints stay ints), or None."""
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, (int, float)):
        return v
    if isinstance(v, str):
        s = v.strip()
        try:
            return int(s)
        except ValueError:
            pass
        try:
            f = float(s)
        except ValueError:
            return None
        return f if math.isfinite(f) else None
    return None


def normalized(x: float) -> float:
    """A whole float as an int (Sumo prints 4, not 4.0)."""
    if isinstance(x, float) and x.is_integer() and abs(x) < 2**53:
        return int(x)
    return x


def text(v: Value) -> str | None:
    """`v` as Sumo shows it: strings as they are, JSON text for objects and arrays."""
    if v is None or isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(normalized(v))
    return orjson.dumps(v).decode()


def _is_num(v: Value) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def equals(a: Value, b: Value) -> bool:
    if a is None or b is None:
        return False
    if _is_num(a) or _is_num(b):
        na, nb = number(a), number(b)
        if na is not None and nb is not None:
            return na == nb
    return text(a) == text(b)


def less(a: Value, b: Value) -> bool | None:
    """a < b (None when either is null)."""
    if a is None or b is None:
        return None
    na, nb = number(a), number(b)
    if na is not None and nb is not None:
        return na < nb
    if _is_num(a) or _is_num(b):  # a number against text that is none: no order
        return None
    ta, tb = text(a), text(b)
    assert ta is not None and tb is not None
    return ta < tb


def truth(v: Value) -> bool:
    """A value used as a condition: true, or the text "true" a field may hold."""
    return v is True or (isinstance(v, str) and v.lower() == "true")


Matcher = Callable[[str], bool]


def _anchored(source: str) -> Matcher:
    """`source` (RE2 syntax) matched against the whole text, in linear time. Compiled by the
    rules' own RE2 path (sigma_regex._program: its options, cache and refusal messages), so
    every regex trailhound runs is compiled one way."""
    prog = _program(source).Match
    both = _anchor_both()

    def match(s: str) -> bool:
        data = s.encode("utf-8", "surrogatepass")
        return prog(both, data, 0, len(data))[0][0] >= 0  # type: ignore[no-any-return]

    return match


@functools.lru_cache(maxsize=1)
def _anchor_both() -> Any:
    import re2

    return re2._re2.RE2.Anchor.ANCHOR_BOTH


def compile_regex(pattern: str) -> Matcher:
    """`matches /pattern/`. Sumo's regexes are RE2 already, so the text goes to RE2 as written
    (a catastrophic pattern cannot stall). Raises RegexRefused."""
    return _anchored(f"(?s:{pattern})")


@functools.lru_cache(maxsize=1024)
def compile_wildcard(pattern: str) -> Matcher:
    """`matches "a*b"`: `*` is any run of characters, everything else itself."""
    parts = (re.escape(p) for p in pattern.split("*"))
    return _anchored("(?s:" + ".*".join(parts) + ")")


def compile_scope_wildcard(pattern: str) -> Matcher:
    """A scope-line value: wildcards as `matches`, but case-insensitive (Sumo keyword and
    metadata search ignores case)."""
    parts = (re.escape(p) for p in pattern.split("*"))
    return _anchored("(?is:" + ".*".join(parts) + ")")

