"""ATT&CK Navigator layers (layer format 4.5, enterprise-attack) of the rules' technique tags.

Two layers: the techniques that fired in a scan (`findings_layer`, from the finding rows of any
engine: each technique scored with the highest finding score among the findings whose rules
name it, the rules and finding counts in its comment and metadata; context rules, which only
adjust scores, do not count), and the techniques the rule packs cover (`coverage_layer`, from a RuleSet: each scored with the number of rules naming it).

A sub-technique also brings its parent in, unscored, with `showSubtechniques` set, so Navigator
opens the parent on the sub-technique that carries the score. No technique gets a `tactic`:
Sigma tags do not say which tactic a technique served, so each shows under all of its tactics.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from trailhound import __version__
from trailhound.attack.tags import ATTACK_VERSION, parent, techniques
from trailhound.rules.model import Correlation, Rule, RuleSet

LAYER_VERSION = "4.5"
NAVIGATOR_VERSION = "5.1.0"
DOMAIN = "enterprise-attack"
# light to dark red: higher is worse (or more). Two colours and a span of at least 1: readers
# that precompute one colour step per score unit (mitreattack-python) need a step of >= 1.
GRADIENT = ["#fff5f0", "#cb181d"]
SORT_BY_SCORE_DESC = 3

Layer = dict[str, Any]


@dataclass
class _Technique:
    score: float = 0
    findings: int = 0
    total: float = 0  # summed finding scores (metadata: volume, beside the worst one)
    rules: Counter[str] = field(default_factory=Counter)  # rule title -> findings or 1


def _entries(tally: Mapping[str, _Technique], counted: bool) -> list[dict[str, Any]]:
    """Navigator technique objects, sub-techniques' parents added (unscored, opened);
    `counted`: each rule's title followed by its number of findings."""
    out: dict[str, dict[str, Any]] = {}
    for tid in sorted(tally):
        t = tally[tid]
        rules = sorted(t.rules.items(), key=lambda kv: (-kv[1], kv[0]))
        comment = "; ".join(
            f"{title} ({n} finding{'' if n == 1 else 's'})" if counted else title
            for title, n in rules
        )
        metadata = [{"name": "rule", "value": title} for title, _ in rules]
        if t.findings:
            metadata[:0] = [{"name": "findings", "value": str(t.findings)},
                            {"name": "summed score", "value": str(t.total)}]
        out[tid] = {"techniqueID": tid, "score": t.score, "comment": comment,
                    "enabled": True, "metadata": metadata}
    for tid in sorted(tally):
        top = parent(tid)
        if top != tid:
            out.setdefault(top, {"techniqueID": top, "enabled": True})["showSubtechniques"] = True
    return [out[k] for k in sorted(out)]


def _layer(name: str, description: str, tally: Mapping[str, _Technique], counted: bool,
           metadata: Iterable[tuple[str, str]]) -> Layer:
    top = max((t.score for t in tally.values()), default=0)
    return {
        "name": name,
        "versions": {"layer": LAYER_VERSION, "navigator": NAVIGATOR_VERSION,
                     "attack": ATTACK_VERSION},
        "domain": DOMAIN,
        "description": description,
        "sorting": SORT_BY_SCORE_DESC,
        "layout": {"layout": "side", "showID": True, "showName": True},
        "hideDisabled": False,
        "techniques": _entries(tally, counted),
        # maxValue must exceed minValue (by 1, above): a layer of nothing or of 0.5s still loads
        "gradient": {"colors": GRADIENT, "minValue": 0, "maxValue": max(top, 1)},
        "metadata": [{"name": k, "value": v} for k, v in
                     (("generated_by", f"trailhound {__version__}"), *metadata)],
    }


def findings_layer(rows: Iterable[Mapping[str, Any]], name: str = "trailhound findings",
                   sources: str = "") -> Layer:
    """The techniques of the finding rows (report/columns.row): score = the highest finding
    score, comment = each rule naming it and how many findings it counted in."""
    tally: dict[str, _Technique] = {}
    count = 0
    for r in rows:
        count += 1
        score = r["suspicion_score"]
        seen: set[str] = set()
        for s in r["signals"]:
            if s["context"]:  # it only adjusts the score of what other rules detected
                continue
            for tid in techniques(s["tags"]):
                t = tally.setdefault(tid, _Technique())
                t.rules[s["title"]] += 1
                if tid not in seen:  # a finding counts once per technique, whatever its rules
                    seen.add(tid)
                    t.findings += 1
                    t.score = max(t.score, score) if t.findings > 1 else score
                    t.total += score
    description = (f"Techniques of {count} findings"
                   f"{' in ' + sources if sources else ''}: score = the highest finding score.")
    return _layer(name, description, tally, True, [("findings", str(count))])


def coverage_layer(ruleset: RuleSet, name: str = "trailhound coverage",
                   pack: str = "") -> Layer:
    """The techniques the rule set's detections name: score = how many do. Detections are
    the rules that raise findings and the correlations; context rules (they only adjust
    scores) and the base rules of a correlation that do not raise findings alone are left out."""
    tally: dict[str, _Technique] = {}
    detecting = [r for r in ruleset.rules if r.generate and not r.context]
    signals: list[Rule | Correlation] = [*detecting, *ruleset.correlations]
    for rule in signals:
        for tid in techniques(rule.tags):
            t = tally.setdefault(tid, _Technique())
            t.rules[rule.title] += 1
            t.score += 1
    description = (f"Techniques named by the {len(signals)} detection rules"
                   f"{' of ' + pack if pack else ''}: score = how many rules name each.")
    return _layer(name, description, tally, False, [("rules", str(len(signals)))])
