"""Response playbooks and investigation guides: a markdown file beside each rule file
(`<rule file stem>.md`), read by `trailhound explain` and named in every finding's signals.

A guide has the REQUIRED sections (level-2 headings); tests/test_guides.py holds every shipped
rule to it, and checks that the hunts a guide names exist.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from trailhound.errors import UsageError
from trailhound.rules.model import Correlation, Filter, Rule, RuleSet

REQUIRED = ("What it means", "What to check", "Hunts to run", "Containment", "False positives")

Explained = Rule | Correlation | Filter

_HEADING = re.compile(r"^## +(.+?)\s*$", re.MULTILINE)
_HUNT = re.compile(r"trailhound hunt ([a-z][a-z0-9_]*)")


@cache
def _guide_file(rule_path: str) -> Path | None:
    # cached: a finding's signals ask for every rule of every finding
    p = Path(rule_path).with_suffix(".md")
    return p if p.is_file() else None


def guide_path(rule: Explained) -> Path | None:
    return _guide_file(rule.path) if rule.path else None


def guide_ref(rule: Explained) -> str | None:
    """What a finding's signal says to run for the rule's guide; None without a guide."""
    return f"trailhound explain {rule.id}" if guide_path(rule) is not None else None


def guide_text(rule: Explained) -> str:
    """The rule's guide (markdown); without one, what the rule still says about itself:
    description, false positives (`trailhound explain` and the HTML report show it)."""
    path = guide_path(rule)
    if path is not None:
        return path.read_text(encoding="utf-8")
    desc = rule.sigma.description or "(no description)"
    fps = rule.sigma.falsepositives or []
    text = f"## What it means\n\n{' '.join(str(desc).split())}\n"
    if fps:
        text += "\n## False positives\n\n" + "".join(f"- {fp}\n" for fp in fps)
    return text + "\n(No guide: write one as a .md file beside the rule file.)\n"


def sections(text: str) -> dict[str, str]:
    """Level-2 heading -> the text under it (up to the next level-2 heading)."""
    marks = list(_HEADING.finditer(text))
    return {
        m.group(1): text[m.end(): marks[i + 1].start() if i + 1 < len(marks) else len(text)].strip()
        for i, m in enumerate(marks)
    }


def hunts_named(text: str) -> list[str]:
    return _HUNT.findall(text)


def find(query: str, rulesets: list[RuleSet]) -> Explained:
    """The rule, correlation or filter whose id, name or title is `query` (case-insensitive);
    else the only one whose title contains it."""
    everything: list[Explained] = []
    for rs in rulesets:
        everything += [*rs.rules, *rs.correlations, *rs.filters]
    q = query.strip().casefold()
    exact = [
        r for r in everything
        if q in {r.id.casefold(), r.title.casefold(), str(getattr(r, "name", "") or "").casefold()}
    ]
    if not exact:
        exact = [r for r in everything if q and q in r.title.casefold()]
    unique = list({r.id: r for r in exact}.values())  # a rule in two packs is one rule
    if len(unique) == 1:
        return unique[0]
    if not unique:
        raise UsageError(
            f"no rule has the id, name or title {query!r}; `trailhound rules list` shows them "
            f"(--profile seed for the seed pack)"
        )
    names = "; ".join(f"{r.id} ({r.title})" for r in unique[:6])
    raise UsageError(f"{query!r} matches {len(unique)} rules: {names}. Give the id.")
