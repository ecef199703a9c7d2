"""A parsed query -> what runs: the scope test, the stages, the output columns.

One pass over the operators tracks which fields exist at each point, as Sumo does: a field
used before anything defines it is an error at its position ("field not found"). Field names
are case-insensitive; each is known by the spelling that defined it. The output columns are
those of Sumo's result table: a `fields` list (or `count`'s groups and count) in the query's
order; without either, `_messageTime`, the query's fields in alphabetical order (Sumo's
default), `_sourceCategory`, `_sourceName` and the message `_raw` as JSON text.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from trailhound.sumo import operators as ops
from trailhound.sumo.ast import (
    Assign,
    Count,
    Expr,
    Fields,
    Json,
    Limit,
    Query,
    Scope,
    ScopeTerm,
    Sort,
    Timeslice,
    Where,
)
from trailhound.sumo.errors import SumoQueryError
from trailhound.sumo.expressions import Fn, compile_expr
from trailhound.sumo.records import METADATA
from trailhound.sumo.values import compile_scope_wildcard

Row = dict[str, Any]

__all__ = ["Plan", "build"]


@dataclass
class Plan:
    query: Query
    scope: Callable[[str], bool]  # _sourceCategory -> in the scope line's selection
    stages: list[ops.Stage]
    columns: list[str]
    warnings: list[str] = field(default_factory=list)

    def rows(self, messages: Iterable[Row]) -> Iterator[Row]:
        """The result rows of `messages` (already in scope): the output columns only, values
        as JSON can carry them (the message itself as its JSON text)."""
        it: Iterator[Row] = iter(messages)
        for stage in self.stages:
            it = stage(it)
        cols = self.columns
        for row in it:
            yield {c: _out(row.get(c)) for c in cols}


def _out(v: Any) -> Any:
    if isinstance(v, (dict, list)):
        return orjson.dumps(v).decode()
    return v


def _scope(s: Scope) -> Callable[[str], bool]:
    if isinstance(s, ScopeTerm):
        if s.value is None:
            return lambda cat: True
        return compile_scope_wildcard(s.value)
    parts = [_scope(p) for p in s.parts]
    if s.op == "not":
        return lambda cat: not parts[0](cat)
    if s.op == "and":
        return lambda cat: all(p(cat) for p in parts)
    return lambda cat: any(p(cat) for p in parts)


class _Builder:
    def __init__(self, q: Query) -> None:
        self.q = q
        self.known: dict[str, str] = {m.lower(): m for m in METADATA}  # lower -> spelling
        self.created: list[str] = []  # the query's own fields, in order
        self.columns: list[str] | None = None  # fixed by `fields` / `count`
        self.op_name = "query"
        # per `fields` allowlist: the set to keep, completed with internal fields read later
        self.allowlists: list[tuple[int, set[str]]] = []
        self.reads: list[tuple[int, str]] = []  # (operator index, field) for every field read
        self.index = 0

    def error(self, pos: int, reason: str, operator: str | None = None) -> SumoQueryError:
        return SumoQueryError(self.q.text, self.q.name, pos, operator or self.op_name, reason)

    def resolve(self, name: str, pos: int) -> str:
        key = self.known.get(name.lower())
        if key is None:
            have = ", ".join(sorted(self.known.values(), key=str.lower))
            raise self.error(pos, f"field {name!r} is not defined at this point (defined: "
                             f"{have}); check the spelling, or extract it first with json")
        self.reads.append((self.index, key))
        return key

    def define(self, name: str) -> str:
        key = self.known.setdefault(name.lower(), name)
        if key not in self.created and not key.startswith("_"):
            self.created.append(key)
        if self.columns is not None and key not in self.columns:
            self.columns.append(key)
        return key

    def expr(self, e: Expr) -> Fn:
        return compile_expr(e, self.resolve, lambda pos, op, why: self.error(pos, why, op))

    def build(self) -> Plan:
        stages: list[ops.Stage] = []
        for index, op in enumerate(self.q.operators):
            self.index = index
            stages.append(self.stage(op))
        for i, keep in self.allowlists:
            keep.update(f for j, f in self.reads if j > i and f.startswith("_"))
        if self.columns is None:
            users = sorted(self.created, key=str.lower)
            default = ["_messageTime", *users, "_sourceCategory", "_sourceName", "_raw"]
            self.columns = [c for c in default if c.lower() in self.known]  # `fields - _raw`
        return Plan(self.q, _scope(self.q.scope), stages, self.columns, list(self.q.warnings))

    def stage(self, op: Any) -> ops.Stage:
        if isinstance(op, Json):
            self.op_name = "json"
            source = self.resolve(op.source, op.source_pos)
            keys = [self.define(n) for n in op.names]
            return ops.json(source, op.paths, keys, op.nodrop)
        if isinstance(op, Where):
            self.op_name = "where"
            return ops.where(self.expr(op.cond))
        if isinstance(op, Assign):
            self.op_name = "as"
            fn = self.expr(op.expr)
            return ops.assign(fn, self.define(op.name))
        if isinstance(op, Fields):
            return self.fields(op)
        if isinstance(op, Sort):
            self.op_name = "sort"
            order = [(self.resolve(k, at), desc) for (k, desc), at in zip(op.keys, op.at)]
            return ops.sort(order)
        if isinstance(op, Count):
            self.op_name = "count"
            by = [self.resolve(b, at) for b, at in zip(op.by, op.at)]
            self.known = {b.lower(): b for b in by}
            self.created = list(by)
            self.columns = list(by)
            key = self.define(op.name)
            return ops.count(key, by)
        if isinstance(op, Timeslice):
            self.op_name = "timeslice"
            time_key = self.resolve("_messageTime", op.pos)
            return ops.timeslice(op.span_ms, self.define(op.name), time_key)
        assert isinstance(op, Limit)
        return ops.limit(op.n)

    def fields(self, op: Fields) -> ops.Stage:
        self.op_name = "fields"
        names = [self.resolve(n, at) for n, at in zip(op.names, op.at)]
        if op.exclude:
            self.known = {k: v for k, v in self.known.items() if v not in names}
            self.created = [c for c in self.created if c not in names]
            if self.columns is not None:
                self.columns = [c for c in self.columns if c not in names]
            return ops.fields(set(names), exclude=True)
        # Sumo's allowlist lets the internal (`_`) fields through; only those read later are
        # kept, so a sort after `fields` does not hold every message's record
        internal = {k: v for k, v in self.known.items() if v.startswith("_")}
        self.known = {n.lower(): n for n in names} | internal
        self.created = [n for n in names if not n.startswith("_")]
        self.columns = list(names)
        keep = set(names)
        self.allowlists.append((self.index, keep))
        return ops.fields(keep, exclude=False)


def build(q: Query) -> Plan:
    """Raises SumoQueryError for a field used before it is defined or a regex RE2 refuses."""
    return _Builder(q).build()

