"""Run scenarios through the detection and hold it to what each scenario expects: its signals
fire (the scenario's data, written from the page), its files read without one input issue, and
every benign look-alike's principal ranks under every attack chain's principal
(triage/principals.py ranking) when they are scanned together. `trailhound validate` and the
tests use this; nothing here prints."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from trailhound.emulate.output import FORMATS
from trailhound.emulate.run import DEFAULT_SEED, emulate
from trailhound.emulate.scenario import Scenario
from trailhound.pipeline import scan
from trailhound.profiles import Profile
from trailhound.report.columns import row
from trailhound.rules.model import RuleSet
from trailhound.scoring import SIGNALS, Finding
from trailhound.triage.principals import rank_principals

RANKED_FAMILIES = ("chain", "benign")  # whose principals are ranked against each other


def labels(f: Finding) -> set[str]:
    """What a finding raised: the signal of each detection rule (context rules only adjust),
    and each correlation by name (its id when it has none)."""
    out: set[str] = set()
    for r in f.rules:
        if r.context:
            continue
        out.add(r.signal or getattr(r, "name", None) or r.id)
    return out


@dataclass
class Outcome:
    scenario: Scenario
    records: int = 0
    issues: int = 0  # input problems while reading the scenario's files (must be 0)
    findings: int = 0
    fired: dict[str, float] = field(default_factory=dict)  # label -> best score raising it
    principals: set[str | None] = field(default_factory=set)
    rank: int | None = None  # best principal rank in the combined chain + benign scan
    score: float | None = None  # best finding score
    # expected labels naming a rule (by id) that the validated rule set does not hold: a pack
    # without the rule cannot be held to it (the stratus family expects related-pack rules,
    # and `--profile corrected` has none of them)
    absent: tuple[str, ...] = ()

    @property
    def missing(self) -> list[str]:
        return [s for s in self.scenario.expects if s not in self.fired and s not in self.absent]

    @property
    def unexpected(self) -> list[str]:
        return sorted(set(self.fired) - set(self.scenario.expects))


@dataclass
class Report:
    outcomes: list[Outcome]

    def failures(self) -> list[str]:
        """One line per broken promise: a missing signal, an input issue, a benign look-alike
        ranked above an attack. Unexpected signals are shown, not failed: a user's pack may
        raise more than the page asks."""
        out = []
        for o in self.outcomes:
            name = o.scenario.name
            for s in o.missing:
                out.append(f"{name}: expected signal {s} did not fire")
            if o.issues:
                out.append(f"{name}: {o.issues} input issue(s) reading its files")
        attacks = [o for o in self.outcomes if o.scenario.family == "chain"]
        for b in (o for o in self.outcomes if o.scenario.family == "benign"):
            for a in attacks:
                if b.rank is not None and (a.rank is None or b.rank < a.rank):
                    attack_rank = "no finding" if a.rank is None else f"rank {a.rank}"
                    out.append(
                        f"{b.scenario.name}: benign look-alike ranks {b.rank}, above the attack "
                        f"{a.scenario.name} ({attack_rank})"
                    )
        return out


def run_all(
    scenarios: Sequence[Scenario],
    work: Path,
    profile: Profile,
    ruleset: RuleSet,
    *,
    seed: int = DEFAULT_SEED,
    engine: str = "reference",
) -> Report:
    """Write each scenario (every format) under `work/<name>/`, scan it alone, then scan the
    chains and look-alikes together and rank their principals."""
    outcomes = []
    held = ({r.id for r in ruleset.rules} | {c.id for c in ruleset.correlations}
            | {c.name for c in ruleset.correlations if c.name})
    for s in scenarios:
        o = Outcome(s, absent=tuple(x for x in s.expects if _names_rule(x) and x not in held))
        _, o.records = emulate(s, work / s.name, formats=FORMATS, seed=seed)
        native, jsonl = _paths(work / s.name)
        if not native:  # background-only scenario without --noise: nothing to read
            outcomes.append(o)
            continue
        o.issues = _issues(jsonl, profile, ruleset, engine)
        result = scan(native, profile, ruleset=ruleset, engine=engine)
        o.issues += result.stats.error_count + sum(result.stats.skipped.values())
        o.findings = len(result.findings)
        for f in result.findings:
            o.principals.add(f.event.principal)
            o.score = f.score if o.score is None else max(o.score, f.score)
            for label in labels(f):
                o.fired[label] = max(o.fired.get(label, f.score), f.score)
        outcomes.append(o)
    _rank([o for o in outcomes if o.scenario.family in RANKED_FAMILIES], work, profile, ruleset,
          engine)
    return Report(outcomes)


def _names_rule(label: str) -> bool:
    """A label that names a rule (its id) or a correlation (its name), not a seed signal."""
    return label not in SIGNALS


def _paths(folder: Path) -> tuple[list[str], list[str]]:
    """(native-format folders, the jsonl folder) of a written scenario: scanned separately, as
    jsonl/ holds the same records again."""
    if not folder.is_dir():
        return [], []
    subs = sorted(folder.iterdir())
    return [str(p) for p in subs if p.name != "jsonl"], [str(p) for p in subs if p.name == "jsonl"]


def _issues(paths: list[str], profile: Profile, ruleset: RuleSet, engine: str) -> int:
    if not paths:
        return 0
    stats = scan(paths, profile, ruleset=ruleset, engine=engine).stats
    return stats.error_count + sum(stats.skipped.values())


def _rank(outcomes: list[Outcome], work: Path, profile: Profile, ruleset: RuleSet,
          engine: str) -> None:
    if not outcomes:
        return
    paths = [p for o in outcomes for p in _paths(work / o.scenario.name)[0]]
    result = scan(paths, profile, ruleset=ruleset, engine=engine)
    ranks = {r["principal"]: r["rank"] for r in rank_principals(row(f, profile)
                                                               for f in result.findings)}
    for o in outcomes:
        mine = [ranks[p] for p in o.principals if p in ranks]
        o.rank = min(mine) if mine else None
