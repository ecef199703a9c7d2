"""ATT&CK coverage of a rule set, and what proves it (`trailhound rules coverage`).

A technique is covered when a rule that can raise a finding (a detection rule with `generate`,
or a correlation; not a context rule, not a correlation's silent base rule) carries its tag
`attack.tNNNN[.NNN]`. What proves it, each checked here, not taken on trust:

* stratus log: run only with `stratus_dir` (the Stratus Red Team detonation logs). The log of a
  Stratus technique whose ATT&CK ids (rules/stratus.py) include the tag, scanned with the rule
  set, raises a finding from that rule. tests/test_stratus_related.py holds the default profile
  to it and checks that each claim goes away when its rules are removed.
* emulated: a `trailhound emulate` attack scenario that lists the technique, written and scanned
  here, raises a finding from the rule (tests/test_emulate.py checks the scenarios' expected
  signals).
* rule test: the rule's own positive `tests:` case passes (rules/cases.py, run here).

Stratus's Azure and GCP techniques (rules/stratus.py STRATUS_EMULATED) are listed as "emulated"
when their `trailhound emulate` scenario raises a finding with their ATT&CK tag, else as not
covered. The AWS ones with no detonation log at hand are listed as "rule test only" when rules
written for them are in the set (their positive cases pass), else as not covered, like the
techniques whose log raises nothing.
"""

from __future__ import annotations

import tempfile
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from trailhound.emulate.registry import SCENARIOS
from trailhound.pipeline import scan_stream
from trailhound.profiles import Profile
from trailhound.rules.cases import _label as label
from trailhound.rules.cases import run_tests
from trailhound.rules.model import Correlation, Rule, RuleSet
from trailhound.rules.stratus import (
    STRATUS_ATTACK,
    STRATUS_EMULATED,
    STRATUS_NOT_OBSERVABLE,
    STRATUS_WITHOUT_LOGS,
    tag_matches,
    technique_of,
)

Item = Rule | Correlation


@dataclass
class Technique:
    """One ATT&CK technique (`t1537`) and the rules and proofs behind it."""

    technique: str
    rules: set[str] = field(default_factory=set)
    stratus: dict[str, set[str]] = field(default_factory=dict)  # Stratus id -> rules that fired
    emulated: dict[str, set[str]] = field(default_factory=dict)  # scenario -> rules
    rule_tests: dict[str, str] = field(default_factory=dict)  # rule -> a passing positive case

    @property
    def proven(self) -> bool:
        return bool(self.stratus or self.emulated or self.rule_tests)


@dataclass
class Coverage:
    techniques: dict[str, Technique]
    not_covered: dict[str, str]  # Stratus technique -> why
    stratus_run: bool
    # Stratus techniques without a detonation log -> the rules written for them, proven only by
    # their own positive test case
    rule_test_only: dict[str, list[str]] = field(default_factory=dict)
    # Stratus Azure / GCP techniques -> (their emulated scenario, the rules it proves)
    emulated: dict[str, tuple[str, list[str]]] = field(default_factory=dict)


def raising(ruleset: RuleSet) -> list[Item]:
    """The rules and correlations that raise findings of their own."""
    rules: list[Item] = [r for r in ruleset.rules if r.generate and not r.context]
    return rules + list(ruleset.correlations)


def coverage(
    ruleset: RuleSet, profile: Profile, pack_dirs: list[Path], stratus_dir: Path | None = None
) -> Coverage:
    items = raising(ruleset)
    techs: dict[str, Technique] = {}
    for item in items:
        for tag in item.tags:
            tech = technique_of(tag)
            if tech is not None:
                techs.setdefault(tech, Technique(tech)).rules.add(label(item))
    _rule_tests(techs, items, pack_dirs)
    _emulated(techs, ruleset, profile)
    proven_stratus: set[str] = set()
    if stratus_dir is not None:
        for stratus_id, by_tech in stratus_hits(ruleset, profile, stratus_dir).items():
            for tech, rules in by_tech.items():
                techs[tech].stratus[stratus_id] = rules
                proven_stratus.add(stratus_id)
    not_covered: dict[str, str] = {}
    for stratus_id, expected in STRATUS_ATTACK.items():
        if stratus_dir is None:
            if not any(tag_matches(f"attack.{t}", expected) for t in techs):
                not_covered[stratus_id] = "no rule carries its ATT&CK technique"
        elif stratus_id not in proven_stratus:
            not_covered[stratus_id] = "its detonation log raises no finding with its ATT&CK tag"
    tested = {label(i): i.id for i in items}
    proven_ids = {tested[r] for t in techs.values() for r in t.rule_tests}
    rule_test_only: dict[str, list[str]] = {}
    for stratus_id, rule_ids in STRATUS_WITHOUT_LOGS.items():
        by = [lbl for lbl, rid in tested.items() if rid in rule_ids and rid in proven_ids]
        if by:
            rule_test_only[stratus_id] = sorted(by)
        else:
            not_covered[stratus_id] = (
                "no detonation log to prove a rule on, and no rule written for it"
                if not rule_ids else "its rules are not in this profile"
            )
    emulated = _stratus_emulated(techs, not_covered)
    not_covered |= STRATUS_NOT_OBSERVABLE
    return Coverage(
        dict(sorted(techs.items())), not_covered, stratus_dir is not None, rule_test_only,
        emulated,
    )


def _stratus_emulated(
    techs: dict[str, Technique], not_covered: dict[str, str]
) -> dict[str, tuple[str, list[str]]]:
    """Each emulated Stratus technique -> its scenario and the rules whose findings there carry
    one of its ATT&CK tags (from `_emulated`); the others go to `not_covered`."""
    from trailhound.emulate.stratus import scenario_name

    out: dict[str, tuple[str, list[str]]] = {}
    for stratus_id in STRATUS_EMULATED:
        name = scenario_name(stratus_id)
        rules = sorted({r for t in techs.values() for r in t.emulated.get(name, ())})
        if rules:
            out[stratus_id] = (name, rules)
        else:
            not_covered[stratus_id] = "its emulated scenario raises no finding with its ATT&CK tag"
    return out


def _rule_tests(techs: dict[str, Technique], items: list[Item], pack_dirs: list[Path]) -> None:
    by_label = {label(i): i for i in items}
    for result in run_tests(pack_dirs).results:
        item = by_label.get(result.rule)
        if item is None or not result.passed or not result.expected:
            continue
        for tag in item.tags:
            tech = technique_of(tag)
            if tech is not None:
                techs[tech].rule_tests.setdefault(result.rule, result.case)


def _emulated(techs: dict[str, Technique], ruleset: RuleSet, profile: Profile) -> None:
    """Write each attack scenario of `trailhound emulate` and scan it: a rule proves a technique
    the scenario lists when it raises a finding there and carries the technique's tag."""
    from trailhound.emulate.run import emulate

    with tempfile.TemporaryDirectory(prefix="trailhound-coverage-") as work:
        for name in SCENARIOS:
            scenario = SCENARIOS.get(name)
            if scenario.benign or not scenario.expects:
                continue
            wanted = {t.lower() for t in scenario.techniques}
            out = Path(work) / name
            files, _ = emulate(scenario, out)
            for tech, rules in _tagged_rules(files, ruleset, profile, wanted, exact=True).items():
                if tech in techs:
                    techs[tech].emulated[name] = rules


def _tagged_rules(
    files: Iterable[Path], ruleset: RuleSet, profile: Profile, wanted: frozenset[str] | set[str],
    *, exact: bool = False,
) -> dict[str, set[str]]:
    """ATT&CK technique -> the rules raising findings on `files` with a tag for one of
    `wanted` (with `exact`, the technique itself; else also its parent, as tag_matches)."""
    by_tech: dict[str, set[str]] = defaultdict(set)
    for finding in scan_stream([str(f) for f in files], profile, ruleset=ruleset).findings:
        for item in finding.rules:
            if item.context:
                continue
            for tag in item.tags:
                tech = technique_of(tag)
                if tech is None:
                    continue
                if (tech in wanted) if exact else tag_matches(tag, wanted):
                    by_tech[tech].add(label(item))
    return dict(by_tech)


def stratus_hits(
    ruleset: RuleSet, profile: Profile, stratus_dir: Path, only: Iterable[str] | None = None
) -> dict[str, dict[str, set[str]]]:
    """Stratus id -> ATT&CK technique -> the rules whose findings on its detonation log carry
    a tag matching the technique's ATT&CK ids (rules/stratus.py). `only`: these Stratus ids."""
    out: dict[str, dict[str, set[str]]] = {}
    wanted = set(only) if only is not None else None
    for stratus_id, expected in STRATUS_ATTACK.items():
        if wanted is not None and stratus_id not in wanted:
            continue
        log = stratus_dir / f"{stratus_id}.json"
        if not log.is_file():
            continue
        by_tech = _tagged_rules([log], ruleset, profile, expected)
        if by_tech:
            out[stratus_id] = by_tech
    return out


COLUMNS = ("technique", "status", "rules", "stratus_log", "emulated", "rule_test")


def rows(cov: Coverage) -> list[dict[str, str]]:
    """One row per technique (covered first), then one per Stratus technique not covered."""
    out = []
    for t in cov.techniques.values():
        status = "proven" if t.proven else "unproven"
        stratus = ", ".join(sorted(t.stratus)) or ("-" if cov.stratus_run else "(not run)")
        out.append(dict(zip(COLUMNS, (
            t.technique.upper(), status, ", ".join(sorted(t.rules)), stratus,
            ", ".join(sorted(t.emulated)) or "-",
            "; ".join(f"{r}: {c}" for r, c in sorted(t.rule_tests.items())) or "-",
        ), strict=True)))
    for stratus_id, rules in cov.rule_test_only.items():
        out.append(dict(zip(COLUMNS, (
            "-", "rule test only", ", ".join(rules), stratus_id, "-",
            "no detonation log: only the rules' own positive test cases prove it",
        ), strict=True)))
    for stratus_id, (scenario, rules) in cov.emulated.items():
        out.append(dict(zip(COLUMNS, (
            "-", "emulated", ", ".join(rules), stratus_id, scenario,
            "no detonation log: its `trailhound emulate` scenario proves it",
        ), strict=True)))
    for stratus_id, why in cov.not_covered.items():
        out.append(dict(zip(COLUMNS, ("-", "not covered", "-", stratus_id, "-", why), strict=True)))
    return out
