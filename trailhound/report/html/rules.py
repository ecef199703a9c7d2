"""Per rule that fired: what the finding's signal says about it, its guide (response playbook
and investigation guide: the markdown beside the rule file, as `trailhound explain` shows it)
and the hunts the guide names (trailhound/hunts), looked up as `explain` looks them up."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from trailhound.hunts.registry import hunts
from trailhound.profiles import Profile
from trailhound.rules.guides import Explained, guide_text, hunts_named

Row = dict[str, Any]


def _known_rules(profile: Profile, rule_paths: Sequence[str]) -> dict[str, Explained]:
    """Rule id -> rule, correlation or filter: the profile's pack and the --rules rules (the
    rules the scan may have run; the ones it refused are not found, and show no guide)."""
    from trailhound.rules.check import check_paths
    from trailhound.rules.loader import load_pack

    rulesets = [load_pack(profile.pack)]
    if rule_paths:
        rulesets.append(check_paths(rule_paths, None).ruleset)
    out: dict[str, Explained] = {}
    for rs in rulesets:
        everything: list[Explained] = [*rs.rules, *rs.correlations, *rs.filters]
        for r in everything:
            out.setdefault(r.id, r)
    return out


def _hunt(name: str) -> Row:
    if name not in hunts():  # a user's guide may name a hunt that is not shipped
        return {"name": name, "title": "", "description": "(not a shipped hunt)"}
    h = hunts().get(name)
    return {"name": h.name, "title": h.title, "description": h.description}


def rule_entries(signals: Mapping[str, Row], counts: Mapping[str, int], profile: Profile,
                 rule_paths: Sequence[str]) -> list[Row]:
    """One entry per rule in `signals` (rule id -> its signal object, report/columns), most
    findings first: the signal's fields, the guide's markdown and the hunts it names."""
    known = _known_rules(profile, rule_paths)
    out = []
    for rule_id, s in signals.items():
        rule = known.get(rule_id)
        guide = guide_text(rule) if rule is not None else None
        out.append({
            "id": rule_id,
            "title": s["title"],
            "level": s["level"],
            "weight": s["weight"],
            "signal": s["signal"],
            "context": s["context"],
            "tags": s["tags"],
            "findings": counts.get(rule_id, 0),
            "path": rule.path if rule is not None else None,
            "guide": guide,
            "hunts": [_hunt(n) for n in dict.fromkeys(hunts_named(guide or ""))],
        })
    out.sort(key=lambda r: (-r["findings"], r["title"]))
    return out
