"""Rule anchors: which records can a rule possibly match, decided without evaluating it.

For every rule, `rule_anchor` derives from its intermediate form (ir.py, the tree compiler.py
builds and the reference engine evaluates) a NECESSARY condition: a set of atoms, one of which
holds on every record the rule matches. An atom tests one mapped field path:

* eq / prefix / suffix / contains: some leaf text (fields.text_of) equals / starts with / ends
  with / contains a literal (an ir.Text of kind exact / startswith / endswith / contains),
  case-insensitively unless `cased` (ASCII literals only; the case rule is the reference's:
  ASCII lower() when the text is ASCII, otherwise the atom is taken as true, which is
  conservative);
* test: some leaf passes the reference engine's own leaf test (reference.leaf_test: regex,
  number, bool, cidr, other wildcards...);
* exists: the field has at least one hit.

Derivation (polarity-aware, i.e. on the negation normal form of the condition):
`A and B` needs the best of anchor(A), anchor(B) (either is necessary); `A or B` needs
anchor(A) | anchor(B) (None, "always", if either is None); `not` flips the polarity; a positive
field test gives its atom; `not field: null` and `not field|exists: false` give `exists`;
everything else (keywords, `null`, other negated tests, normalized `trailhound.*` fields) gives
None. A rule whose anchor is None ("unanchored") is evaluated on every record of its log source.

`Prefilter` indexes the atoms of all rules by path, so the cost per record depends on the
number of distinct anchor paths, not on the number of rules: `candidates(raw)` returns the
indices of the rules that may match a decoded record (plus the unanchored ones), and the
projection part (`Projection`) does the same on a msgspec projection of the record that holds
only the anchor paths (see fast_scan.py). Candidates are then evaluated by the reference
engine's compiled predicates, so results are identical by construction as long as the anchors
are conservative - which tests/test_engine_fast*.py check rule by rule.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from trailhound.engine import fields as F
from trailhound.engine import ir
from trailhound.engine.compiler import rule_tree
from trailhound.engine.reference import leaf_test
from trailhound.errors import EngineError
from trailhound.rules.model import Rule

__all__ = ["ALL", "Atom", "Prefilter", "anchor_of", "rule_anchor"]

# Atom kinds, cheapest (most selective) first.
EQ, PREFIX, SUFFIX, CONTAINS, TEST, EXISTS = "eq", "prefix", "suffix", "contains", "test", "exists"
_KIND_COST = {EQ: 1, PREFIX: 2, SUFFIX: 2, CONTAINS: 3, TEST: 4, EXISTS: 6}
# eventName / operationName literals pick out few records; eventSource ones many.
_PATH_FACTOR = {"eventName": 1.0, "eventSource": 3.0}
# ir.Text shapes an atom can look up without running the wildcard
_TEXT_KIND = {"exact": EQ, "startswith": PREFIX, "endswith": SUFFIX, "contains": CONTAINS}


@dataclass(frozen=True, eq=False)
class Atom:
    path: str  # mapped field name, as the reference engine resolves it
    kind: str
    text: str | None = None  # literal: as written when cased, else lower-cased
    cased: bool = False
    test: Callable[[Any], bool] | None = None  # TEST: the reference leaf test

    @property
    def cost(self) -> float:
        return _KIND_COST[self.kind] * _PATH_FACTOR.get(self.path, 1.5)

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        how = "" if self.kind in (TEST, EXISTS) else f" {self.text!r}{' cased' if self.cased else ''}"
        return f"<{self.kind} {self.path}{how}>"


Anchor = tuple[Atom, ...]


# ---------------------------------------------------------------------------------------------
# Anchors


def rule_anchor(rule: Rule) -> Anchor | None:
    """A necessary condition for `rule` to match a record, or None (no cheap one exists)."""
    try:
        tree = rule_tree(rule)
    except EngineError:  # refused: the engine's compile reports it
        return None
    return anchor_of(tree)


def anchor_of(tree: ir.Node) -> Anchor | None:
    """A necessary condition for an intermediate-form tree to hold on a record, or None."""
    return _anchor(tree, True)


def _cost(anchor: Anchor) -> tuple[float, int]:
    return (max(a.cost for a in anchor), len(anchor))


def _best(options: Iterable[Anchor | None]) -> Anchor | None:
    usable = [a for a in options if a]
    return min(usable, key=_cost) if usable else None


def _union(options: Iterable[Anchor | None]) -> Anchor | None:
    out: list[Atom] = []
    for a in options:
        if not a:
            return None
        out.extend(a)
    return tuple(out) or None


def _anchor(node: ir.Node, positive: bool) -> Anchor | None:
    if isinstance(node, ir.And):
        parts = [_anchor(a, positive) for a in node.args]
        return _best(parts) if positive else _union(parts)
    if isinstance(node, ir.Or):
        parts = [_anchor(a, positive) for a in node.args]
        return _union(parts) if positive else _best(parts)
    if isinstance(node, ir.Not):
        return _anchor(node.arg, not positive)
    if isinstance(node, ir.FieldTest):
        if node.attr is not None:
            return None  # a normalized field: not in the raw record the anchors read
        return _field_atoms(node) if positive else _negated_field_atoms(node)
    return None  # keywords


def _negated_field_atoms(node: ir.FieldTest) -> Anchor | None:
    """Atoms necessary for `not (field == value)`."""
    m = node.matcher
    if isinstance(m, ir.Null) or (isinstance(m, ir.Exists) and not m.want):
        return (Atom(node.field, EXISTS),)  # the field is present
    return None


def _field_atoms(node: ir.FieldTest) -> Anchor | None:
    m = node.matcher
    if isinstance(m, ir.Exists):
        return (Atom(node.field, EXISTS),) if m.want else None
    if isinstance(m, ir.Null):
        return None  # true when the field is missing
    if isinstance(m, ir.FieldRef):
        return (Atom(node.field, EXISTS),)  # needs a text leaf in the field
    if isinstance(m, ir.Text):
        atom = _text_atom(node.field, m)
        if atom is not None:
            return (atom,)
    test = leaf_test(m)
    return None if test is None else (Atom(node.field, TEST, test=test),)


def _text_atom(field_name: str, m: ir.Text) -> Atom | None:
    """eq / prefix / suffix / contains for the shapes X, X*, *X, *X* (X plain text)."""
    kind = _TEXT_KIND.get(m.kind)
    if kind is None:
        return None
    text = m.literal
    if not m.cased:
        if not text.isascii():
            return None  # case folding beyond ASCII: leave it to the reference leaf test
        text = text.lower()
    return Atom(field_name, kind, text, m.cased)


# ---------------------------------------------------------------------------------------------
# The index


class _All:
    """Sentinel candidate set: every rule (the record could not be pre-filtered)."""

    def __repr__(self) -> str:  # pragma: no cover
        return "ALL"


ALL: Any = _All()


def _big_int(v: Any) -> bool:
    return v.__class__ is int and not (-(1 << 63) <= v < (1 << 64))


@dataclass(eq=False)
class PathIndex:
    """Every atom on one field path, grouped so a leaf is tested with a few C calls."""

    path: str
    fpath: F.FieldPath
    eq_cased: dict[str, set[int]] = field(default_factory=dict)
    eq_ci: dict[str, set[int]] = field(default_factory=dict)
    affix_cased: list[tuple[str, str, int]] = field(default_factory=list)  # (kind, text, rule)
    affix_ci: list[tuple[str, str, int]] = field(default_factory=list)
    ci_rules: set[int] = field(default_factory=set)  # candidates when a text is not ASCII
    tests: list[tuple[Callable[[Any], bool], int]] = field(default_factory=list)
    exists: set[int] = field(default_factory=set)

    def add(self, atom: Atom, rule: int) -> None:
        if atom.kind == EXISTS:
            self.exists.add(rule)
        elif atom.kind == TEST:
            assert atom.test is not None
            self.tests.append((atom.test, rule))
        elif atom.kind == EQ:
            assert atom.text is not None
            target = self.eq_cased if atom.cased else self.eq_ci
            target.setdefault(atom.text, set()).add(rule)
            if not atom.cased:
                self.ci_rules.add(rule)
        else:
            assert atom.text is not None
            (self.affix_cased if atom.cased else self.affix_ci).append((atom.kind, atom.text, rule))
            if not atom.cased:
                self.ci_rules.add(rule)

    def finish(self) -> None:
        self.has_ci = bool(self.eq_ci or self.affix_ci)
        self.has_cased = bool(self.eq_cased or self.affix_cased)

    def match(self, hits: list[Any], out: set[int], strict_ints: bool) -> bool:
        """Add the rules whose atom on this path holds for these hits to `out`.

        Returns False when a leaf is an integer that orjson would have read differently
        (`strict_ints`: the hits come from msgspec, which keeps big integers exact)."""
        if not hits:
            return True
        out |= self.exists
        for leaf in F.leaves(hits):
            t: str | None
            if leaf.__class__ is str:
                t = leaf
            else:
                if strict_ints and _big_int(leaf):
                    return False
                t = F.text_of(leaf)
            if t is not None:
                if self.has_cased:
                    got = self.eq_cased.get(t)
                    if got:
                        out |= got
                    for kind, text, rule in self.affix_cased:
                        if _affix(kind, t, text):
                            out.add(rule)
                if self.has_ci:
                    if t.isascii():
                        low = t.lower()
                        got = self.eq_ci.get(low)
                        if got:
                            out |= got
                        for kind, text, rule in self.affix_ci:
                            if _affix(kind, low, text):
                                out.add(rule)
                    else:
                        out |= self.ci_rules
            for test, rule in self.tests:
                if rule not in out and test(leaf):
                    out.add(rule)
        return True


def _affix(kind: str, t: str, text: str) -> bool:
    if kind == PREFIX:
        return t.startswith(text)
    if kind == SUFFIX:
        return t.endswith(text)
    return text in t


class Prefilter:
    """The anchors of a list of rules, indexed by field path.

    `anchored[k]` is rule k's anchor (None: unanchored). `always` are the unanchored rules.
    """

    def __init__(
        self,
        rules: Sequence[Rule],
        include: Iterable[int] | None = None,
        anchors: Sequence[Anchor | None] | None = None,
    ) -> None:
        """Index the rules whose indices are in `include` (all by default); candidate sets hold
        indices into `rules`. `anchors` reuses anchors already derived for `rules`."""
        self.rules = tuple(rules)
        self.anchors: list[Anchor | None] = (
            list(anchors) if anchors is not None else [rule_anchor(r) for r in self.rules]
        )
        self.include = tuple(range(len(self.rules)) if include is None else sorted(set(include)))
        self.always = frozenset(k for k in self.include if self.anchors[k] is None)
        by_path: dict[str, PathIndex] = {}
        for k in self.include:
            anchor = self.anchors[k]
            for atom in anchor or ():
                idx = by_path.get(atom.path)
                if idx is None:
                    idx = by_path[atom.path] = PathIndex(atom.path, F.compile_path(atom.path))
                idx.add(atom, k)
        for idx in by_path.values():
            idx.finish()
        # eventName first: its lookups settle most records
        self.paths: tuple[PathIndex, ...] = tuple(
            sorted(by_path.values(), key=lambda p: (p.path != "eventName", p.path))
        )

    def candidates(self, raw: Any) -> set[int]:
        """Rules that may match this decoded record (the unanchored ones included)."""
        out: set[int] = set(self.always)
        for idx in self.paths:
            idx.match(F.resolve(raw, idx.fpath), out, False)
        return out

    def describe(self) -> list[str]:
        """One line per rule: its anchor (for `bench` and debugging)."""
        lines = []
        for k in self.include:
            rule, anchor = self.rules[k], self.anchors[k]
            what = "ALWAYS (no anchor)" if anchor is None else " | ".join(map(repr, anchor))
            lines.append(f"{rule.id} {rule.title}: {what}")
        return lines
