"""From command-line choices to export text: the rule set (a profile's pack and/or --rules, the
allowlists), the export pack, the target's text, and the lines saying what was left out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from trailhound.export.base import Target
from trailhound.export.pack import build
from trailhound.rules.model import RuleSet

__all__ = ["Exported", "export_text", "ruleset_for"]


@dataclass(frozen=True)
class Exported:
    text: str
    messages: list[str]  # one line each, for stderr
    incomplete: bool  # a rule was not exported or did not load


def ruleset_for(
    profile: str | None, rule_paths: Sequence[str], allow: Sequence[str], placeholders: str | None,
) -> tuple[RuleSet, list[str]]:
    """The rule set to export and one line per rule that did not load."""
    from trailhound.api import tuned_ruleset, user_ruleset
    from trailhound.profiles import DEFAULT_PROFILE, get_profile
    from trailhound.rules.check import check_paths, read_placeholders
    from trailhound.rules.loader import load_pack
    from trailhound.tuning.allowlist import load_allowlists

    problems: list[str] = []
    if profile is not None:
        p = get_profile(profile)
        ruleset, found = user_ruleset(p, rule_paths, placeholders)
        problems += found
        ruleset = ruleset or load_pack(p.pack)
    else:
        values = read_placeholders(placeholders) if placeholders is not None else None
        checked = check_paths(rule_paths, values)
        problems += [str(x) for x in checked.problems]
        ruleset = checked.ruleset
    if not ruleset.rules:
        from trailhound.errors import UsageError

        raise UsageError(f"no rule to export in {', '.join(rule_paths)}: `trailhound rules check` says why")
    echo: list[str] = []
    # the rule set is given, so tuned_ruleset only adds the allowlist (and reports expired
    # entries); the profile it takes is read only when it has to load a pack itself
    tuned = tuned_ruleset(get_profile(profile or DEFAULT_PROFILE), ruleset, load_allowlists(allow), True, echo.append)
    ruleset = tuned or ruleset
    return ruleset, [f"rule not loaded: {p}" for p in problems] + [e.removeprefix("trailhound: ") for e in echo]


def export_text(
    profile: str | None, rule_paths: Sequence[str], target: Target, rule_id: str | None,
    allow: Sequence[str], placeholders: str | None,
) -> Exported:
    ruleset, messages = ruleset_for(profile, rule_paths, allow, placeholders)
    incomplete = any(m.startswith("rule not loaded") for m in messages)
    pack = build(ruleset, profile or "rules", rule_id)
    for s in pack.skipped:
        messages.append(f"{s.subject}: not exported to {target.name}: {s.reason}")
        incomplete = True
    if target.left_out is not None:
        extra = target.left_out(pack)
        messages += extra
        incomplete = incomplete or bool(extra)
    if not target.carries_correlations:
        messages += [f"note: {n}" for n in pack.notes]
    if not pack.rules:
        from trailhound.errors import UsageError

        raise UsageError(f"no rule could be exported to {target.name} (stderr says why for each)")
    return Exported(target.render(pack), messages, incomplete)
