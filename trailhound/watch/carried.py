"""A carried match's event as a --state file gives it back: checked to be what trailhound writes
(watch/state.py), since the file is input. Unpickled as plain data it runs no code, but plain
data can still be of the wrong type (a text time: a traceback in the correlator's sort; a time
past 64 bits: one in SQLite) or a graph that shares its containers (a 1 KB row whose record,
walked as the tree JSON is, has 2**40 leaves: the scan never ends). Records decoded from JSON
never share a container, so a shared one is refused, as is anything JSON cannot hold.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from trailhound.model import SCALAR_FIELDS, Event

__all__ = ["checked_event"]

# As deep as orjson reads (its limit): deeper is no record trailhound decoded
MAX_DEPTH = 1024
_INT64 = (-(1 << 63), (1 << 63) - 1)  # event times are 64-bit downstream (SQLite, orjson)
_TEXT = tuple(n for n in SCALAR_FIELDS if n != "time_ns")
_SCALARS = (str, int, float, bool, type(None))


def checked_event(e: Event) -> Event:
    """`e` when every field has the type trailhound writes; else ValueError / TypeError saying
    which field."""
    for name in _TEXT:
        v = getattr(e, name)
        if v is not None and v.__class__ is not str:
            raise TypeError(f"{name} is {type(v).__name__}, not text")
    if e.source is None or e.provider is None:
        raise TypeError("source and provider must be text")
    t = e.time_ns
    if t is not None and (t.__class__ is not int or not _INT64[0] <= t <= _INT64[1]):
        raise ValueError(f"time_ns {t!r} is not a 64-bit integer")
    loc = e.location
    if loc.path.__class__ is not str or loc.pointer.__class__ not in (str, type(None)):
        raise TypeError("the location's path and pointer must be text")
    for n in (loc.line, loc.offset, loc.index):
        if n is not None and n.__class__ is not int:
            raise TypeError("the location's line, offset and index must be integers")
    if loc.compressed.__class__ is not bool:
        raise TypeError("the location's `compressed` must be a boolean")
    if e.meta.__class__ is not dict:
        raise TypeError("meta is not an object")
    json_tree(e.meta, "meta")
    raw = e.raw  # (JSON bytes: decoded here, so a record that is not JSON is refused now)
    if raw.__class__ is not dict:
        raise TypeError("the record is not a JSON object")
    json_tree(raw, "the record")
    return e


def json_tree(value: Any, what: str) -> None:
    """Raise ValueError unless `value` is what decoding JSON gives: dicts with text keys, lists
    and scalars, no container reached twice (a tree), at most MAX_DEPTH deep. Iterative, and
    each container is visited once: the cost is the size of the data as stored."""
    seen: set[int] = set()
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        children: Iterable[Any]
        if isinstance(node, dict):
            children = node.values()
            if not all(k.__class__ is str for k in node):
                raise ValueError(f"{what} has a key that is not text")
        elif isinstance(node, list):
            children = node
        elif node.__class__ in _SCALARS:
            continue
        else:
            raise ValueError(f"{what} holds a {type(node).__name__}, which JSON cannot")
        if id(node) in seen:
            raise ValueError(f"{what} shares a container between two places (no JSON does)")
        seen.add(id(node))
        if depth >= MAX_DEPTH:
            raise ValueError(f"{what} is nested more than {MAX_DEPTH} levels deep")
        stack.extend((c, depth + 1) for c in children)
