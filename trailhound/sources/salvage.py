"""Keep the readable part of a broken JSON document.

`{"Records":[...]}` cut short, or with one broken element: the elements before the break are
returned as a partial document, plus where and why it broke. Only the document's top level and
the element arrays of known envelopes (`Records`, `records`, `value`, `Events`, `logEvents`, or
a top-level array) are scanned member by member; everything else (each record, and any other
member) is decoded whole by the stdlib's C scanner, so this stays fast on large files.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from trailhound.sources._util import join_pointer

# Arrays whose elements are records (or record envelopes) and are salvaged one by one.
CONTAINER_KEYS = frozenset({"Records", "records", "value", "Events", "logEvents"})

_WS_MATCH = re.compile(r"[ \t\n\r]*").match

# The stdlib's C string scanner (not in the typing stubs): (text, index after '"') -> (str, end).
_scanstring: Callable[[str, int], tuple[str, int]] = json.decoder.scanstring  # type: ignore[attr-defined]


def skip_ws(text: str, i: int) -> int:
    """Index of the first non-whitespace character at or after i."""
    return _WS_MATCH(text, i).end()  # type: ignore[union-attr]  # '*' always matches


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


_I64_MIN, _U64_MAX = -(2**63), 2**64 - 1


def _parse_int(text: str) -> int | float:
    """An integer as orjson reads it: exact within 64 bits (signed or unsigned), else a double.
    The stdlib's own int() kept 2**70 exact, which no orjson.dumps downstream can write: one
    such value in a record that orjson had refused for another reason (a lone surrogate, 1e400)
    crashed `--format ocsf` and `report`; 4,301 digits or more it refused outright."""
    if len(text) < 19:  # 18 digits always fit: the common case, no range check
        return int(text)
    if len(text) <= 21:  # '-' and 20 digits at most inside 64 bits
        n = int(text)
        if _I64_MIN <= n <= _U64_MAX:
            return n
    return float(text)  # inf past a double's range; orjson writes that as null


# A \uD800-\uDFFF escape: JSON allows a lone one, Unicode does not. orjson refuses it (so the
# record comes here) and so does every orjson.dumps after: one lone surrogate in a user agent
# crashed jsonl, ocsf, report, hunt and every watch cycle (the same file again each cycle).
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def sound_text(text: str) -> str:
    """`text` with each lone surrogate replaced by U+FFFD, as invalid UTF-8 bytes are."""
    return _LONE_SURROGATE.sub("\ufffd", text)


def _sound(value: Any) -> Any:
    """`value` with sound_text applied to every string and key, in place; iterative: a value
    as deep as the decoder allows must not overflow the stack here."""
    if isinstance(value, str):
        return sound_text(value)
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if any(_LONE_SURROGATE.search(k) for k in node):
                items = [(sound_text(k), v) for k, v in node.items()]
                node.clear()
                node.update(items)
            pairs: Any = node.items()
        elif isinstance(node, list):
            pairs = enumerate(node)
        else:
            continue
        for k, v in list(pairs):
            if isinstance(v, str):
                node[k] = sound_text(v)
            elif isinstance(v, (dict, list)):
                stack.append(v)
    return value


class _Decoder(json.JSONDecoder):
    """The stdlib decoder, giving what orjson would: NaN/Infinity refused (not JSON), integers
    as orjson reads them (_parse_int), no lone surrogate in any string."""

    def __init__(self) -> None:
        super().__init__(parse_constant=_reject_constant, parse_int=_parse_int)

    def raw_decode(self, s: str, idx: int = 0) -> tuple[Any, int]:
        value, end = super().raw_decode(s, idx)
        if _SURROGATE_ESCAPE.search(s, idx, end):
            value = _sound(value)
        return value, end


DECODER = _Decoder()
# The stdlib's own decoder, which reads NaN and Infinity: where one stands in an array element,
# the element's end is known, so only that element is lost (the elements after it are read)
LENIENT = json.JSONDecoder()


@dataclass(frozen=True, slots=True)
class BadElement:
    """An array element that is not JSON but whose end is known (a NaN, as Python's json.dumps
    writes a float NaN), kept in its place: envelopes.unwrap reports it as one bad_json issue
    at its index, and the elements after it keep theirs."""

    reason: str

    @property
    def message(self) -> str:
        return f"bad JSON: {self.reason}; this element was skipped, the elements after it are read"


@dataclass(frozen=True, slots=True)
class Break:
    """Where a JSON value stopped being readable."""

    pos: int  # index in the text where decoding failed
    pointer: str  # JSON pointer of the broken member or element ("" = the value itself)
    reason: str  # the parser's reason
    kept: int | None = None  # complete elements read from the broken array, if in one


def decode_error_reason(exc: BaseException) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return exc.msg.removesuffix(" at").removesuffix(" starting")
    if isinstance(exc, RecursionError):
        return "nesting too deep"
    return str(exc) or type(exc).__name__


def _error_pos(exc: BaseException, default: int) -> int:
    return exc.pos if isinstance(exc, json.JSONDecodeError) else default


def salvage(text: str, pos: int) -> tuple[Any | None, bool, int, Break | None]:
    """Decode the value at `text[pos]` as far as it goes.

    Returns (partial value, usable, end, break). `usable` is True when the partial value holds
    an envelope array worth unwrapping (a top-level array, or an object with a CONTAINER_KEYS
    array); a half-read bare record is never usable. `end` is where decoding stopped.
    """
    try:
        if text.startswith("[", pos):
            items, end, brk = _array(text, pos, "")
            return items, True, end, brk
        if text.startswith("{", pos):
            return _object(text, pos)
        value, end = DECODER.raw_decode(text, pos)
        return value, False, end, None
    except (ValueError, RecursionError) as exc:  # a scalar, or garbage
        return None, False, pos, Break(_error_pos(exc, pos), "", decode_error_reason(exc))


def _array(text: str, pos: int, pointer: str) -> tuple[list[Any], int, Break | None]:
    items: list[Any] = []
    n = len(text)
    i = skip_ws(text, pos + 1)
    if i < n and text[i] == "]":
        return items, i + 1, None
    while True:
        at = join_pointer(pointer, len(items))
        try:
            value, i = DECODER.raw_decode(text, i)
        except (ValueError, RecursionError) as exc:
            try:
                _, end = LENIENT.raw_decode(text, i)
            except (ValueError, RecursionError):
                return items, i, Break(_error_pos(exc, i), at, decode_error_reason(exc), len(items))
            value, i = BadElement(decode_error_reason(exc)), end
        items.append(value)
        i = skip_ws(text, i)
        if i < n and text[i] == ",":
            i = skip_ws(text, i + 1)
            continue
        if i < n and text[i] == "]":
            return items, i + 1, None
        reason = "document ends inside the array" if i >= n else "Expecting ',' delimiter"
        return items, i, Break(i, join_pointer(pointer, len(items)), reason, len(items))


def _object(text: str, pos: int) -> tuple[dict[str, Any], bool, int, Break | None]:
    obj: dict[str, Any] = {}
    usable = False
    n = len(text)
    i = skip_ws(text, pos + 1)
    if i < n and text[i] == "}":
        return obj, False, i + 1, None
    while True:
        if i >= n:
            return obj, usable, i, Break(i, "", "document ends inside the object")
        if text[i] != '"':
            return obj, usable, i, Break(i, "", "Expecting property name enclosed in double quotes")
        try:
            key, i = _scanstring(text, i + 1)
            key = sound_text(key)
        except ValueError as exc:
            return obj, usable, i, Break(_error_pos(exc, i), "", decode_error_reason(exc))
        i = skip_ws(text, i)
        if i >= n or text[i] != ":":
            return obj, usable, i, Break(i, join_pointer("", key), "Expecting ':' delimiter")
        i = skip_ws(text, i + 1)
        if key in CONTAINER_KEYS and text.startswith("[", i):
            items, i, brk = _array(text, i, join_pointer("", key))
            obj[key] = items
            usable = True
            if brk is not None:
                return obj, usable, i, brk
        else:
            try:
                obj[key], i = DECODER.raw_decode(text, i)
            except (ValueError, RecursionError) as exc:
                brk = Break(_error_pos(exc, i), join_pointer("", key), decode_error_reason(exc))
                return obj, usable, i, brk
        i = skip_ws(text, i)
        if i < n and text[i] == ",":
            i = skip_ws(text, i + 1)
            continue
        if i < n and text[i] == "}":
            return obj, usable, i + 1, None
        reason = "document ends inside the object" if i >= n else "Expecting ',' delimiter"
        return obj, usable, i, Break(i, "", reason)
