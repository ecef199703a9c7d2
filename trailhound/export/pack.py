"""What every export target translates: a rule set as conditions over raw fields, per log source,
with the score model (weights, signals, context rules, the score filter and the sort).

Built once from the ONE rule compiler's intermediate form (engine/compiler.py -> engine/ir.py):
each counted rule's tree, AND-ed with the trees of the filters that apply to it (the shipped
filters and `--allow` entries, which are Sigma filters too), for every log source the rule's
`logsource` selects, with normalized `trailhound.*` fields spelled out over raw fields
(normalized.py). A target module only turns these trees and this score model into its language.

What no target exports is recorded in `notes` (correlation rules; the `corrected` profile's one
finding per operation) and what one rule cannot be exported as is a `Skipped` entry, so the CLI
reports both and exports the rest.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field

from trailhound.engine import compiler, ir
from trailhound.export.normalized import FALSE, TRUE, NotExportable, expand, simplify
from trailhound.model import LOGSOURCES
from trailhound.rules.model import Filter, Rule, RuleSet
from trailhound.scoring import SIGNALS

__all__ = ["ExportPack", "ExportRule", "Skipped", "build"]


@dataclass(frozen=True)
class ExportRule:
    rule: Rule
    column: str  # the rule's flag column in row-oriented targets: r1, r2, ... in RuleSet order
    trees: dict[str, ir.Node]  # log source name -> condition over raw fields (filters included)
    filters: tuple[Filter, ...]  # the filters folded into `trees` (for comments and Sigma)
    # log source -> (the rule's own condition, (filter id, the filter's condition) ...): `trees`
    # before the filters were AND-ed in, for targets that evaluate each filter once per record
    parts: dict[str, tuple[ir.Node, tuple[tuple[str, ir.Node], ...]]] = field(default_factory=dict)

    @property
    def weight(self) -> float:
        return self.rule.weight


@dataclass(frozen=True)
class Skipped:
    subject: str  # `rule <id> (<path>)`
    reason: str


@dataclass(frozen=True)
class ExportPack:
    name: str  # the profile name, or "rules" for --rules alone
    rules: tuple[ExportRule, ...]
    ruleset: RuleSet  # what the pack was built from (the sigma target writes its rules back out)
    skipped: tuple[Skipped, ...] = ()
    notes: tuple[str, ...] = ()
    min_score: float | None = None  # scoring.keep_score: None is the seed's `score > 0`
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def sources(self) -> list[str]:
        """The log sources some rule reads, in trailhound's source order."""
        used = {s for r in self.rules for s in r.trees}
        return [s for s in LOGSOURCES if s in used]

    @property
    def signals(self) -> list[str]:
        """The signal columns: the seed's four first (in its order), then any other, by first use."""
        named = [r.rule.signal for r in self.rules if r.rule.signal and not r.rule.context]
        return [s for s in SIGNALS if s in named] + list(dict.fromkeys(s for s in named if s not in SIGNALS))

    def detections(self) -> list[ExportRule]:
        return [r for r in self.rules if not r.rule.context]

    def contexts(self) -> list[ExportRule]:
        return [r for r in self.rules if r.rule.context]


def build(ruleset: RuleSet, name: str, rule_id: str | None = None) -> ExportPack:
    """The export form of `ruleset` (every counted rule, or only `rule_id`: an id or a title)."""
    rules = [r for r in ruleset.rules if r.generate]
    notes = []
    uncounted = [r for r in ruleset.rules if not r.generate]
    if rule_id is not None:
        rules = [_pick(rules, rule_id)]
    elif uncounted:
        notes.append(
            f"{len(uncounted)} base rule(s) of correlations not exported: they only feed a "
            "correlation and never count on their own"
        )
    if ruleset.correlations and rule_id is None:
        titles = ", ".join(c.title for c in ruleset.correlations)
        notes.append(
            f"correlation rules not exported (their events lack the correlation's weight): {titles}"
        )
    out: list[ExportRule] = []
    skipped: list[Skipped] = []
    for rule in rules:
        subject = f"rule {rule.id} ({rule.path})"
        try:
            out.append(_export_rule(rule, ruleset.filters, f"r{len(out) + 1}"))
        except compiler.Refused as e:
            skipped.append(Skipped(subject, f"{e.kind}: {e.reason}"))
        except NotExportable as e:
            skipped.append(Skipped(subject, str(e)))
    return ExportPack(name, tuple(out), ruleset, tuple(skipped), tuple(notes), extra={"rule_id": rule_id})


def _export_rule(rule: Rule, filters: Sequence[Filter], column: str) -> ExportRule:
    tree = compiler.rule_tree(rule)
    mine = tuple(f for f in filters if f.applies_to(rule))
    filter_trees = [(f.id, compiler.filter_tree(f)) for f in mine]
    trees: dict[str, ir.Node] = {}
    parts: dict[str, tuple[ir.Node, tuple[tuple[str, ir.Node], ...]]] = {}
    for source, logsource in LOGSOURCES.items():
        if not rule.applies_to(logsource):
            continue
        base = expand(tree, source)
        kept = tuple((fid, node) for fid, ft in filter_trees if (node := expand(ft, source)) != TRUE)
        node = simplify(ir.And((base, *(n for _, n in kept)))) if kept else base
        if node != FALSE:
            trees[source] = node
            parts[source] = (base, kept)
    if not trees:
        raise NotExportable(
            f"its log source ({rule.product}/{rule.service}/{rule.category}) is none trailhound reads"
        )
    return ExportRule(rule, column, trees, mine, parts)


def _pick(rules: Sequence[Rule], wanted: str) -> Rule:
    from trailhound.errors import UsageError

    for r in rules:
        if wanted in (r.id, r.title):
            return r
    names = [r.id for r in rules] + [r.title for r in rules]
    close = difflib.get_close_matches(wanted, names, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise UsageError(
        f"--rule {wanted!r}: no such rule in the pack.{hint} `trailhound rules list` lists them."
    )
