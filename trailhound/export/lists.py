"""Exact names OR-ed on one field, gathered into one list test (`IN (...)`, `in (...)`, `in~`):
the same truth value as the OR, in the form a reader of the export expects (the seed query
writes `eventName in ("CreateUser", ...)`). Every target with a list operator uses this."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from trailhound.engine import ir

__all__ = ["ExactList", "gather"]


@dataclass(frozen=True)
class ExactList:
    field: str
    cased: bool
    values: tuple[str, ...]  # at least two, distinct, in the rule's order


def gather(args: Sequence[ir.Node]) -> list[ir.Node | ExactList]:
    """`args` of an Or, the exact equally-cased text tests of each field merged (at the place of
    the first), other terms as they are."""
    groups: dict[tuple[str, bool], list[str]] = {}
    order: list[tuple[str, bool] | ir.Node] = []
    for a in args:
        if isinstance(a, ir.FieldTest) and isinstance(a.matcher, ir.Text) and a.matcher.kind == "exact":
            key = (a.field, a.matcher.cased)
            if key not in groups:
                groups[key] = []
                order.append(key)
            groups[key].append(a.matcher.literal)
        else:
            order.append(a)
    out: list[ir.Node | ExactList] = []
    for item in order:
        if not isinstance(item, tuple):
            out.append(item)
            continue
        values = tuple(dict.fromkeys(groups[item]))
        if len(values) == 1:
            out.append(ir.FieldTest(item[0], ir.Text((values[0],) if values[0] else (), item[1])))
        else:
            out.append(ExactList(item[0], item[1], values))
    return out
