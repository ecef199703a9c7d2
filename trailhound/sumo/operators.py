"""The operators as stream stages: rows in, rows out. Every stage but `sort` and `count` holds
one row at a time. `sort` holds its rows, sorted on disk past the spill budget (spill.Runs,
TRAILHOUND_SPILL_AFTER rows in memory); `count` holds one row per group, so its memory grows
with the number of distinct groups, not of messages."""

from __future__ import annotations

import itertools
import tempfile
from collections.abc import Callable, Collection, Iterator, Sequence
from typing import Any

import orjson

from trailhound.spill import Runs, spill_budget
from trailhound.sumo.expressions import Fn
from trailhound.sumo.values import Value, number, text, truth

Row = dict[str, Any]
Stage = Callable[[Iterator[Row]], Iterator[Row]]
# Set on a row by a `json ... nodrop` that found a key: a later `json` without nodrop then keeps
# the row even where its own keys are missing (Sumo: "nodrop acts as an OR condition").
MATCHED = "\x00matched"
_MISSING = object()

__all__ = ["MATCHED", "Stage", "assign", "count", "fields", "json", "limit", "sort", "timeslice",
           "where"]


def _walk(doc: Any, path: Sequence[str | int]) -> Any:
    cur = doc
    for step in path:
        if isinstance(step, int):
            if not isinstance(cur, list) or step >= len(cur):
                return _MISSING
            cur = cur[step]
        elif isinstance(cur, dict) and step in cur:
            cur = cur[step]
        else:
            return _MISSING
    return cur


def _document(v: Value) -> Any:
    """The JSON a `json field=...` parses: our records are decoded already; a text field is
    parsed (invalid JSON: nothing is found)."""
    if isinstance(v, (dict, list)):
        return v
    if isinstance(v, str):
        try:
            return orjson.loads(v)
        except orjson.JSONDecodeError:
            return None
    return None


def json(source: str, paths: Sequence[Sequence[str | int]], keys: Sequence[str], nodrop: bool) -> Stage:
    """Each path's value as text (strings as they are, other values as their JSON text; a JSON
    null is null). A message where no path is found is dropped, unless `nodrop` or an earlier
    `json ... nodrop` found one; the paths not found are null."""
    pairs = list(zip(paths, keys))

    def stage(rows: Iterator[Row]) -> Iterator[Row]:
        for row in rows:
            doc = _document(row.get(source))
            found = False
            for path, key in pairs:
                v = _walk(doc, path)
                if v is _MISSING:
                    row[key] = None
                else:
                    found = True
                    row[key] = text(v)
            if not found and not nodrop and not row.get(MATCHED):
                continue
            if found and nodrop:
                row[MATCHED] = True
            yield row

    return stage


def where(cond: Fn) -> Stage:
    return lambda rows: (r for r in rows if truth(cond(r)))


def assign(fn: Fn, key: str) -> Stage:
    def stage(rows: Iterator[Row]) -> Iterator[Row]:
        for row in rows:
            row[key] = fn(row)
            yield row

    return stage


def fields(keep: Collection[str], exclude: bool) -> Stage:
    """Allowlist: only `keep` (the plan adds the internal fields later operators read);
    denylist (`fields - a`): all but `keep`."""

    def stage(rows: Iterator[Row]) -> Iterator[Row]:
        for row in rows:
            if exclude:
                yield {k: v for k, v in row.items() if k not in keep}
            else:
                yield {k: row.get(k) for k in keep}

    return stage


def limit(n: int) -> Stage:
    return lambda rows: itertools.islice(rows, n)


def timeslice(span_ms: int, key: str, time_key: str) -> Stage:
    def stage(rows: Iterator[Row]) -> Iterator[Row]:
        for row in rows:
            t = number(row.get(time_key))
            row[key] = None if t is None else int(t // span_ms * span_ms)
            yield row

    return stage


def count(key: str, by: Sequence[str]) -> Stage:
    """One row per distinct `by` values (null is a value of its own), in order of first
    appearance, with the number of messages as `key`."""

    def stage(rows: Iterator[Row]) -> Iterator[Row]:
        groups: dict[tuple[Any, ...], list[Any]] = {}
        for row in rows:
            values = tuple(text(row.get(b)) if isinstance(row.get(b), (dict, list)) else row.get(b)
                           for b in by)
            g = groups.get(values)
            if g is None:
                groups[values] = [values, 1]
            else:
                g[1] += 1
        for values, n in groups.values():
            yield {**dict(zip(by, values)), key: n}

    return stage


class _Desc:
    """A sort key in reverse order (texts cannot be negated)."""

    __slots__ = ("k",)

    def __init__(self, k: Any) -> None:
        self.k = k

    def __lt__(self, other: _Desc) -> bool:
        return bool(other.k < self.k)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Desc) and bool(self.k == other.k)

    __hash__ = None  # type: ignore[assignment]


def _sort_value(v: Value) -> tuple[int, Any]:
    # numbers (literals, arithmetic, num(), counts) in numeric order, before text; a field Sumo
    # extracted is text and sorts as text, as Sumo documents ("cast to a number first")
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return (0, v)
    return (1, text(v))


def sort(keys: Sequence[tuple[str, bool]]) -> Stage:
    """Stable sort by `keys` ((field, descending)); nulls last in either direction."""

    def key(row: Row) -> tuple[Any, ...]:
        out: list[Any] = []
        for k, desc in keys:
            v = row.get(k)
            if v is None:
                out.append((1, None))
            else:
                sv = _sort_value(v)
                out.append((0, _Desc(sv) if desc else sv))
        return tuple(out)

    def stage(rows: Iterator[Row]) -> Iterator[Row]:
        with tempfile.TemporaryDirectory(prefix="trailhound-sumo-") as folder:
            runs = Runs(key, spill_budget(), folder)
            for row in rows:
                runs.add(row)
            yield from runs

    return stage
