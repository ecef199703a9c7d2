"""Load Sigma YAML (shipped packs or user paths) into a RuleSet, with pySigma doing the parsing.

Nothing is lost: a rule that fails to load becomes a `RuleProblem` (path + one-line reason) and
the others still load (pySigma's collect-errors mode).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Iterable

import yaml
from sigma.exceptions import SigmaError, SigmaRuleLocation
from sigma.filters import SigmaFilter
from sigma.rule import SigmaRule

from trailhound.errors import RuleError, UsageError
from trailhound.rules.model import DEFAULT_WEIGHT, LEVEL_WEIGHTS, Filter, Rule, RuleSet
from trailhound.rules.pipelines import default_pipeline

PACKS = ("seed", "corrected")


@dataclass(frozen=True)
class RuleProblem:
    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


def pack_dir(name: str) -> Path:
    if name not in PACKS:
        raise UsageError(f"Unknown rule pack {name!r}. Available: {', '.join(PACKS)}")
    return Path(str(resources.files("trailhound.rules") / "packs" / name))


def load_pack(name: str, *, filters: bool = True) -> RuleSet:
    """Load a shipped pack. Shipped packs must load cleanly: a problem is a bug, so it raises."""
    ruleset, problems = load_paths([pack_dir(name)], filters=filters)
    if problems:
        raise RuleError(f"shipped pack {name!r} is broken: {problems[0]}")
    return ruleset


def iter_rule_files(paths: Iterable[Path]) -> list[Path]:
    files: list[Path] = []
    for p in paths:
        if p.is_dir():
            files.extend(sorted(q for q in p.rglob("*") if q.suffix in (".yml", ".yaml")))
        elif p.exists():
            files.append(p)
        else:
            raise UsageError(f"{p}: no such rule file or folder; check the --rules path")
    return files


def load_paths(paths: Iterable[Path], *, filters: bool = True) -> tuple[RuleSet, list[RuleProblem]]:
    rules: list[Rule] = []
    flts: list[Filter] = []
    problems: list[RuleProblem] = []
    pipeline = default_pipeline()
    for f in iter_rule_files(paths):
        try:
            docs = [d for d in yaml.safe_load_all(f.read_text(encoding="utf-8")) if d is not None]
        except (yaml.YAMLError, UnicodeDecodeError, OSError) as e:
            problems.append(RuleProblem(str(f), f"not readable YAML: {_one_line(e)}"))
            continue
        for doc in docs:
            try:
                if not isinstance(doc, dict):
                    raise RuleError("a rule must be a YAML mapping")
                if "filter" in doc:
                    if filters:
                        flts.append(_to_filter(doc, f))
                elif "correlation" in doc:
                    raise RuleError("correlation rules are not supported yet")
                else:
                    rules.append(_to_rule(doc, f, pipeline))
            except (SigmaError, RuleError) as e:
                problems.append(RuleProblem(str(f), _one_line(e)))
    _check_unique(rules, problems)
    return RuleSet(tuple(rules), tuple(flts)), problems


def _to_rule(doc: dict[str, Any], path: Path, pipeline: Any) -> Rule:
    sr = SigmaRule.from_dict(doc, collect_errors=True, source=SigmaRuleLocation(path))
    if sr.errors:
        raise sr.errors[0]
    pipeline.apply(sr)
    attrs = dict(sr.custom_attributes)
    level = sr.level.name.lower() if sr.level is not None else None
    weight = attrs.pop("weight", None)
    if weight is None:
        weight = LEVEL_WEIGHTS.get(level or "", DEFAULT_WEIGHT)
    if isinstance(weight, bool) or not isinstance(weight, (int, float)):
        raise RuleError(f"weight must be a number, got {weight!r}")
    signal = attrs.pop("signal", None)
    context = attrs.pop("context", False)
    if not isinstance(context, bool):
        raise RuleError(f"context must be true or false, got {context!r}")
    if sr.id is None:
        raise RuleError("rule has no id (findings and filters refer to rules by id)")
    return Rule(
        id=str(sr.id),
        title=sr.title,
        level=level,
        author=sr.author,
        tags=tuple(f"{t.namespace}.{t.name}" for t in sr.tags),
        weight=weight,
        signal=str(signal) if signal is not None else None,
        context=context,
        product=sr.logsource.product,
        service=sr.logsource.service,
        category=sr.logsource.category,
        sigma=sr,
        path=str(path),
        extra=attrs,
    )


def _to_filter(doc: dict[str, Any], path: Path) -> Filter:
    sf = SigmaFilter.from_dict(doc, collect_errors=True, source=SigmaRuleLocation(path))
    if sf.errors:
        raise sf.errors[0]
    refs = sf.filter.rules
    rule_ids = None if isinstance(refs, str) else frozenset(str(r.reference) for r in refs)
    return Filter(
        id=str(sf.id),
        title=sf.title,
        rule_ids=rule_ids,
        product=sf.logsource.product,
        service=sf.logsource.service,
        sigma=sf,
        path=str(path),
    )


def _check_unique(rules: list[Rule], problems: list[RuleProblem]) -> None:
    seen: dict[str, str] = {}
    keep: list[Rule] = []
    for r in rules:
        if r.id in seen:
            problems.append(RuleProblem(r.path or "?", f"duplicate rule id {r.id} (first in {seen[r.id]})"))
        else:
            seen[r.id] = r.path or "?"
            keep.append(r)
    rules[:] = keep


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split())
