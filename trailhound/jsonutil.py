"""Small helpers over decoded JSON values, shared by sources, normalize and the reader loop."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

import orjson


def json_type(value: Any) -> str:
    """The JSON name of a decoded value's type (object, array, string, number, boolean, null),
    for messages about wrong-typed input."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, (list, tuple)):
        return "array"
    return f"non-JSON {type(value).__name__}"


# How deep a record may nest (objects and arrays, the record itself being level 1) once read.
# Why a bound at all: orjson reads up to 1,024 levels but writes at most 254 (it raises
# TypeError "Recursion limit reached"), and pickle and the json module stop near Python's
# recursion limit; a record of 300 levels read as it is crashed every sink that writes or
# sends it (`--format ocsf`, `report`, the seed profile's literal columns, the workers' pipes).
# The reader loop (engine/loop.py) cuts a deeper record at this level and reports it, so
# everything after it can write what it holds. No audit log nests past ~20 levels; 128 leaves
# room for the levels a sink wraps around a record (OCSF's evidence, the spill's tuples).
MAX_NESTING = 128


def _nested(levels: int) -> tuple[list[Any], list[Any]]:
    """`levels` lists, each the only element of the one before: (outermost, innermost)."""
    inner: list[Any] = [None]
    outer = inner
    for _ in range(levels - 1):
        outer = [outer]
    return outer, inner


def _deepest(fits: Callable[[int], bool]) -> int:
    """The largest n (below 8,192) with fits(n), for fits true up to some n and false past it:
    how deep orjson writes or reads, found by trying it (a binary search of ~13 tries)."""
    lo, hi = 1, 1 << 13
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if fits(mid):
            lo = mid
        else:
            hi = mid - 1
    return lo


def _writes(levels: int) -> bool:
    try:
        orjson.dumps(_nested(levels)[0])
    except TypeError:
        return False
    return True


def _reads(levels: int) -> bool:
    try:
        orjson.loads(b"[" * levels + b"]" * levels)
    except orjson.JSONDecodeError:
        return False
    return True


# (254 and 1,024 in orjson 3)
_PAD = _deepest(_writes) - MAX_NESTING  # lists around a value: orjson then writes it iff it fits
_READ_LEVELS = _deepest(_reads)


def loads_within(data: bytes, levels: int) -> Any:
    """orjson.loads(data), and a certificate that it nests at most `levels` deep: raises
    orjson.JSONDecodeError when it is not JSON or nests deeper (decode it plainly to tell
    which). Why: orjson refuses text past its own depth, so `data` inside enough brackets to
    leave it `levels` is read only if it fits - about 0.3 us a CloudTrail record for the copy,
    against ~1-2 for `too_deep` on each record afterwards."""
    pad = _READ_LEVELS - levels
    if pad < 1:  # pragma: no cover - an orjson that reads less than `levels`
        raise orjson.JSONDecodeError("cannot certify", "", 0)
    value = orjson.loads(b"[" * pad + data + b"]" * pad)
    for _ in range(pad):
        value = value[0]
    return value


_pads = threading.local()  # (each thread its own: the value is put inside for one call)


def too_deep(value: Any) -> bool:
    """Whether `value` nests more than MAX_NESTING levels. Why through orjson: one C call of
    about a microsecond for a 1.5 KB record, where a Python walk of its containers costs ~7."""
    if _PAD < 1:  # pragma: no cover - an orjson that writes less than MAX_NESTING levels
        return depth(value) > MAX_NESTING
    pad = getattr(_pads, "pad", None)
    if pad is None:
        pad = _pads.pad = _nested(_PAD)
    outer, inner = pad
    inner[0] = value
    try:
        orjson.dumps(outer)
    except TypeError:  # too deep - or something else orjson refuses: measure it exactly
        return depth(value) > MAX_NESTING
    finally:
        inner[0] = None
    return False


def depth(value: Any) -> int:
    """Levels of objects and arrays in `value` (a scalar: 0). Iterative: a value may nest
    deeper than Python's recursion limit."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        v, level = stack.pop()
        if isinstance(v, dict):
            children: Iterable[Any] = v.values()
        elif isinstance(v, (list, tuple)):
            children = v
        else:
            continue
        deepest = max(deepest, level)
        stack.extend((c, level + 1) for c in children if isinstance(c, (dict, list, tuple)))
    return deepest


def cut_deep(value: Any, limit: int = MAX_NESTING) -> Any:
    """A copy of `value` with every object or array below `limit` levels replaced by None (keys
    and order kept). Iterative, like `depth`."""
    top: list[Any] = [None]
    stack: list[tuple[Any, Any, Any, int]] = [(value, top, 0, 1)]
    while stack:
        v, into, key, level = stack.pop()
        if isinstance(v, dict):
            if level > limit:
                into[key] = None
                continue
            new: Any = dict.fromkeys(v)
            into[key] = new
            stack.extend((c, new, k, level + 1) for k, c in v.items())
        elif isinstance(v, (list, tuple)):
            if level > limit:
                into[key] = None
                continue
            new = [None] * len(v)
            into[key] = new
            stack.extend((c, new, i, level + 1) for i, c in enumerate(v))
        else:
            into[key] = v
    return top[0]
