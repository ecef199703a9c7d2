"""Conditions over a target's own field names: for exports to SIEMs whose tables or indices hold
parsed fields (Sentinel's AWSCloudTrail columns, Elastic's ECS fields) rather than the raw JSON.

`bind(node, resolve)` rewrites every raw path of the intermediate form with `resolve(path)`: the
target's expression for that field, or None when the target's schema has no such field. A field
the schema lacks is a MISSING field (engine/fields.py section 2): a test on it is false, except
`null` and `exists: false`, which are true. The tree is then simplified, so a rule whose every
branch reads absent fields becomes FALSE and is reported as not exportable.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from trailhound.engine import ir
from trailhound.export.normalized import FALSE, TRUE, simplify
from trailhound.export.pack import ExportPack
from trailhound.export.text import one_line

__all__ = ["bind", "unapplied_filters"]

Resolve = Callable[[str], "str | None"]


def bind(node: ir.Node, resolve: Resolve) -> ir.Node:
    return _absorb(simplify(_bind(node, resolve)))


def _absorb(node: ir.Node) -> ir.Node:
    """Drop what two raw paths bound to one column repeat. A normalized field read from the
    first present of `a, b` (export/normalized.expand: `A or (isnull(a) and B)`) becomes, when
    the target spells both `c`, `A(c) or (isnull(c) and B(c))`: the second branch implies the
    first (absorption: x or (x and y) = x), and a conjunct said twice is said once."""
    if isinstance(node, ir.Not):
        return ir.Not(_absorb(node.arg))
    if not isinstance(node, (ir.And, ir.Or)):
        return node
    args = list(dict.fromkeys(_absorb(a) for a in node.args))
    if isinstance(node, ir.Or):
        sets = [_conjuncts(a) for a in args]
        args = [
            a for i, a in enumerate(args)
            if not any(j != i and (b < sets[i] or (b == sets[i] and j < i)) for j, b in enumerate(sets))
        ]
    return args[0] if len(args) == 1 else type(node)(tuple(args))


def _conjuncts(node: ir.Node) -> frozenset[ir.Node]:
    return frozenset(node.args) if isinstance(node, ir.And) else frozenset((node,))


def _bind(node: ir.Node, resolve: Resolve) -> ir.Node:
    if isinstance(node, (ir.And, ir.Or)):
        return type(node)(tuple(_bind(a, resolve) for a in node.args))
    if isinstance(node, ir.Not):
        return ir.Not(_bind(node.arg, resolve))
    if isinstance(node, ir.Keyword):
        return node
    target = resolve(node.field)
    m = node.matcher
    if isinstance(m, ir.FieldRef):
        other = resolve(m.field)
        if other is None:
            return FALSE
        m = ir.FieldRef(other, m.starts, m.ends)
    if target is None:
        missing_matches = isinstance(m, ir.Null) or (isinstance(m, ir.Exists) and not m.want)
        return TRUE if missing_matches else FALSE
    return ir.FieldTest(target, m)


def unapplied_filters(
    pack: ExportPack, resolve: Callable[[str, str], str | None], target: str,
    place: Callable[[str], str],
) -> list[str]:
    """The filters (allowlist entries, shipped filters) that would silently not apply to a log
    source's table or index: what they test is missing from the target's schema there, so their
    condition binds to always-true and the findings they remove would stay. One line each, for
    the target's `left_out` (stderr, exit 3); `place(source)` names the table or index."""
    lines: dict[str, None] = {}
    for r in pack.rules:
        titles = {f.id: f.title for f in r.filters}
        for source, (_, kept) in r.parts.items():
            for fid, node in kept:
                if node != TRUE and bind(node, functools.partial(resolve, source)) == TRUE:
                    lines[
                        f"filter {one_line(titles.get(fid, fid))}: not exported to {target} for "
                        f"{place(source)}: it reads no field {target} has there (the findings it "
                        "removes would stay)"
                    ] = None
    return list(lines)
