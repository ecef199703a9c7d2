"""Load Sigma YAML (shipped packs or user paths) into a RuleSet, with pySigma doing the parsing.

Nothing is lost: a rule that fails to load becomes a `RuleProblem` (path + one-line reason) and
the others still load (pySigma's collect-errors mode).

Correlation rules (Sigma correlation spec v2.0.2, SigmaHQ/sigma-specification
specification/sigma-correlation-rules-specification.md) are parsed by pySigma's
`SigmaCorrelationRule` once every file is read, so a correlation may reference rules of the same
multi-document file or of any other loaded file or pack, by `id` or `name` (pySigma's
`SigmaCollection` lookup: UUID first, then name). What becomes a RuleProblem instead of a
Correlation: a reference to a rule that is not loaded (or whose name is ambiguous), a reference to
another correlation (chaining is not supported yet), an alias naming a rule the correlation does
not reference, types other than event_count / value_count / value_sum / value_avg / temporal /
temporal_ordered, string ("extended") conditions, temporal conditions other than gt / gte, and
anything pySigma itself rejects. A correlation that fails to load silences nothing.

`generate` (corr spec, Generate: the referenced rules are not "converted as stand-alone rules"
unless `generate: true`): a rule that at least one loaded `generate: false` correlation (the
default) references gets `Rule.generate = False`, as pySigma's `disable_output()` does in
`SigmaCorrelationRule.resolve_rule_references`. It stays in `RuleSet.rules` so every engine still
evaluates it; scoring does not count it. Group-by, alias and condition fields are resolved per
referenced rule through the same log-source pipeline as the rules' own fields (`_raw_paths`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from sigma.collection import SigmaCollection
from sigma.correlations import SigmaCorrelationCondition, SigmaCorrelationRule
from sigma.exceptions import SigmaError, SigmaRuleLocation, SigmaRuleNotFoundError
from sigma.filters import SigmaFilter
from sigma.rule import SigmaDetection, SigmaDetectionItem, SigmaRule

from trailhound.errors import RuleError, UsageError
from trailhound.rules import first_seen
from trailhound.rules.model import (
    CORRELATION_TYPES,
    DEFAULT_WEIGHT,
    LEVEL_WEIGHTS,
    Correlation,
    Filter,
    Rule,
    RuleSet,
)
from trailhound.rules.pipelines import default_pipeline, map_filter
from trailhound.yamldepth import check_depth

PACKS = ("seed", "corrected", "related")


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


def pack_dirs(name: str) -> list[Path]:
    """The folders of `name`: one pack, or several joined by `+` ("corrected+related"), loaded
    together so a correlation may reference a rule of another pack of the combination."""
    return [pack_dir(part) for part in name.split("+")]


def load_pack(name: str, *, filters: bool = True) -> RuleSet:
    """Load a shipped pack (or a `+` combination of packs). Shipped packs must load cleanly: a
    problem is a bug, so it raises."""
    ruleset, problems = load_paths(pack_dirs(name), filters=filters)
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
            raise UsageError(
                f"{p}: no such rule file or folder; check the path (a .yml file or a folder of them)"
            )
    return files


# libyaml's loader (shipped in PyYAML's wheels) reads the same documents as the pure-Python
# SafeLoader about 7x faster: the shipped packs' rule tests made parsing ~1.7 s of every scan's
# start-up with the latter. The pure-Python one stays the fallback where libyaml is absent.
_SAFE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def yaml_documents(text: str) -> list[Any]:
    """The YAML documents of a rule file (empty documents left out); yaml.YAMLError if bad
    (also when nested too deep for the loader: yamldepth.py)."""
    check_depth(text)
    return [d for d in yaml.load_all(text, Loader=_SAFE_LOADER) if d is not None]


def load_paths(paths: Iterable[Path], *, filters: bool = True) -> tuple[RuleSet, list[RuleProblem]]:
    rules: list[Rule] = []
    flts: list[Filter] = []
    corr_docs: list[tuple[dict[str, Any], Path]] = []
    problems: list[RuleProblem] = []
    pipeline = default_pipeline()
    for f in iter_rule_files(paths):
        try:
            docs = yaml_documents(f.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError, OSError) as e:
            problems.append(RuleProblem(str(f), f"not readable YAML: {_one_line(e)}"))
            continue
        for doc in docs:
            try:
                if not isinstance(doc, dict):
                    raise RuleError("a rule must be a YAML mapping")
                if "id" in doc and not isinstance(doc["id"], str):
                    # pySigma 1.x calls str methods on it and raises AttributeError, not a
                    # SigmaError, for `id: 1` or a list
                    raise RuleError(f"id must be a UUID written as a string, got {doc['id']!r}")
                if "filter" in doc:
                    if filters:
                        flts.append(_to_filter(doc, f))
                elif "correlation" in doc:
                    corr_docs.append((doc, f))  # resolved once every rule is loaded
                else:
                    rules.append(_to_rule(doc, f, pipeline))
            except (SigmaError, RuleError) as e:
                problems.append(RuleProblem(str(f), _one_line(e)))
    _check_unique(rules, problems)
    correlations: list[Correlation] = []
    if corr_docs:
        rules, correlations = _load_correlations(corr_docs, rules, problems)
    return RuleSet(tuple(rules), tuple(flts), tuple(correlations)), problems


def _to_rule(doc: dict[str, Any], path: Path, pipeline: Any) -> Rule:
    sr = SigmaRule.from_dict(doc, collect_errors=True, source=SigmaRuleLocation(path))
    if sr.errors:
        raise sr.errors[0]
    pipeline.apply(sr)
    attrs = dict(sr.custom_attributes)
    level = sr.level.name.lower() if sr.level is not None else None
    weight, signal = _scoring_attrs(attrs, level)
    context = attrs.pop("context", False)
    if not isinstance(context, bool):
        raise RuleError(f"context must be true or false, got {context!r}")
    if sr.id is None:
        raise RuleError("rule has no id (findings and filters refer to rules by id)")
    rule = Rule(
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
    first_seen.spec_of(rule)  # a malformed first_seen attribute refuses the rule at load time
    return rule


def _scoring_attrs(attrs: dict[str, Any], level: str | None) -> tuple[float, Any]:
    """Pop the custom `weight` (default: by level) and `signal` attributes."""
    weight = attrs.pop("weight", None)
    if weight is None:
        weight = LEVEL_WEIGHTS.get(level or "", DEFAULT_WEIGHT)
    if isinstance(weight, bool) or not isinstance(weight, (int, float)):
        raise RuleError(f"weight must be a number, got {weight!r}")
    return weight, attrs.pop("signal", None)


def _to_filter(doc: dict[str, Any], path: Path) -> Filter:
    sf = SigmaFilter.from_dict(doc, collect_errors=True, source=SigmaRuleLocation(path))
    if sf.errors:
        raise sf.errors[0]
    map_filter(sf)  # the log-source field mapping rules get, so filters match the same shapes
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


# ---------------------------------------------------------------------------------------------
# Correlation rules


@dataclass
class _Parsed:
    sc: SigmaCorrelationRule
    path: Path
    weight: float
    signal: Any
    extra: dict[str, Any]


def _load_correlations(
    docs: list[tuple[dict[str, Any], Path]], rules: list[Rule], problems: list[RuleProblem]
) -> tuple[list[Rule], list[Correlation]]:
    """Parse, resolve and check the correlation documents. Returns the rules (the base rules of
    `generate: false` correlations replaced by copies with `generate=False`) and the
    correlations that loaded; everything else becomes a RuleProblem."""
    parsed: list[_Parsed] = []
    ids = {r.id: r.path or "?" for r in rules}
    for doc, path in docs:
        try:
            p = _parse_correlation(doc, path)
        except (SigmaError, RuleError) as e:
            problems.append(RuleProblem(str(path), _one_line(e)))
            continue
        cid = str(p.sc.id)
        if cid in ids:
            problems.append(RuleProblem(str(path), f"duplicate rule id {cid} (first in {ids[cid]})"))
            continue
        ids[cid] = str(path)
        parsed.append(p)

    by_sigma = {id(r.sigma): r for r in rules}
    names: dict[str, int] = {}
    for obj in [r.sigma for r in rules] + [p.sc for p in parsed]:
        if obj.name is not None:
            names[obj.name] = names.get(obj.name, 0) + 1
    known: list[SigmaRule | SigmaCorrelationRule | SigmaFilter] = [r.sigma for r in rules]
    known += [p.sc for p in parsed]
    collection = SigmaCollection(known, resolve_references=False)

    def resolve(ref: str) -> Rule:
        if names.get(ref, 0) > 1:
            raise RuleError(f"rule name {ref!r} is defined by {names[ref]} rules: refer to it by id")
        try:
            target = collection[ref]
        except SigmaRuleNotFoundError:
            raise RuleError(
                f"references rule {ref!r}, which is not loaded (refer to a rule by its id or "
                "name, and load the file that defines it)"
            ) from None
        if isinstance(target, SigmaCorrelationRule):
            raise RuleError(
                f"references correlation rule {ref!r}: chained correlations are not supported"
            )
        rule = by_sigma.get(id(target))
        if rule is None:  # pragma: no cover - every SigmaRule in the collection is a loaded Rule
            raise RuleError(f"references rule {ref!r}, which did not load")
        return rule

    resolved: list[tuple[_Parsed, tuple[Rule, ...]]] = []
    for p in parsed:
        try:
            refs = tuple(resolve(str(ref.reference)) for ref in p.sc.rules or ())
            if len({r.id for r in refs}) != len(refs):
                raise RuleError("lists the same rule twice")
            _check_aliases(p.sc, refs, resolve)
        except RuleError as e:
            problems.append(RuleProblem(str(p.path), f"correlation {p.sc.id}: {_one_line(e)}"))
            continue
        resolved.append((p, refs))

    silenced = {r.id for p, refs in resolved if not p.sc.generate for r in refs}
    new_rules = [replace(r, generate=False) if r.id in silenced else r for r in rules]
    swap = {r.id: r for r in new_rules}
    correlations: list[Correlation] = []
    for p, refs in resolved:
        try:
            correlations.append(_to_correlation(p, tuple(swap[r.id] for r in refs), resolve))
        except (SigmaError, RuleError) as e:
            problems.append(RuleProblem(str(p.path), f"correlation {p.sc.id}: {_one_line(e)}"))
    return new_rules, correlations


def _parse_correlation(doc: dict[str, Any], path: Path) -> _Parsed:
    sc = SigmaCorrelationRule.from_dict(doc, collect_errors=True, source=SigmaRuleLocation(path))
    if sc.errors:
        raise sc.errors[0]
    if sc.id is None:
        raise RuleError("correlation rule has no id (findings refer to rules by id)")
    kind = sc.type.name.lower()
    if kind not in CORRELATION_TYPES:
        raise RuleError(
            f"correlation {sc.id}: type {kind} is not supported "
            f"(supported: {', '.join(CORRELATION_TYPES)})"
        )
    if not isinstance(sc.condition, SigmaCorrelationCondition) or sc.rules is None:
        raise RuleError(
            f"correlation {sc.id}: string (extended) conditions are not supported; "
            "list the rules under `rules` and give a condition such as `gte: 2`"
        )
    if not sc.rules:
        raise RuleError(f"correlation {sc.id}: `rules` is empty")
    op = sc.condition.op.name.lower()
    if kind.startswith("temporal") and op not in ("gt", "gte"):
        raise RuleError(
            f"correlation {sc.id}: a {kind} condition counts the referenced rules that matched "
            f"in the window and must be gt or gte, not {op}"
        )
    if isinstance(sc.condition.fieldref, list) and len(sc.condition.fieldref) != 1:
        raise RuleError(f"correlation {sc.id}: condition `field` must name one field")
    attrs = dict(sc.custom_attributes)
    attrs.pop("correlation", None)
    level = sc.level.name.lower() if sc.level is not None else None
    weight, signal = _scoring_attrs(attrs, level)
    if attrs.pop("context", False) is not False:
        raise RuleError(f"correlation {sc.id}: a correlation cannot be a context rule")
    return _Parsed(sc, path, weight, signal, attrs)


def _check_aliases(sc: SigmaCorrelationRule, refs: tuple[Rule, ...], resolve: Any) -> None:
    ref_ids = {r.id for r in refs}
    for alias in sc.aliases:
        for ref in alias.mapping:
            if resolve(str(ref.reference)).id not in ref_ids:
                raise RuleError(
                    f"alias {alias.alias!r} maps rule {ref.reference!r}, which the correlation "
                    "does not list under `rules`"
                )


def _to_correlation(p: _Parsed, refs: tuple[Rule, ...], resolve: Any) -> Correlation:
    sc = p.sc
    cond = sc.condition
    assert isinstance(cond, SigmaCorrelationCondition)  # _parse_correlation refused the others
    aliases: dict[str, dict[str, str]] = {}  # alias -> rule id -> field
    for alias in sc.aliases:
        aliases[alias.alias] = {resolve(str(ref.reference)).id: f for ref, f in alias.mapping.items()}

    def field_for(name: str, rule: Rule) -> str:
        # A rule the alias does not map reads the alias name itself as a field.
        return aliases.get(name, {}).get(rule.id, name)

    group_by = tuple(sc.group_by or ())
    group_paths = tuple(
        tuple(_raw_paths(field_for(g, r), r) for g in group_by) for r in refs
    )
    fieldref = cond.fieldref
    if isinstance(fieldref, list):
        fieldref = fieldref[0]
    kind = sc.type.name.lower()
    value_paths = None
    if kind.startswith("value_"):
        assert fieldref is not None  # pySigma requires it for value_* types
        value_paths = tuple(_raw_paths(field_for(fieldref, r), r) for r in refs)
    else:
        fieldref = None
    return Correlation(
        id=str(sc.id),
        title=sc.title,
        type=kind,
        rules=refs,
        group_by=group_by,
        group_paths=group_paths,
        timespan=sc.timespan.spec,
        timespan_ns=sc.timespan.seconds * 1_000_000_000,
        op=cond.op.name.lower(),
        count=cond.count,
        value_field=fieldref,
        value_paths=value_paths,
        generate=sc.generate,
        level=sc.level.name.lower() if sc.level is not None else None,
        author=sc.author,
        tags=tuple(f"{t.namespace}.{t.name}" for t in sc.tags),
        weight=p.weight,
        signal=str(p.signal) if p.signal is not None else None,
        sigma=sc,
        path=str(p.path),
        name=sc.name,
        extra=p.extra,
    )


def _raw_paths(field: str, rule: Rule) -> tuple[str, ...]:
    """Where `field` sits in the raw records `rule` matches: the log-source pipeline's field
    mapping applied to a probe rule with the same log source (so the mapping stays defined in
    one place, rules/pipelines.py). The field itself when the pipeline leaves it alone."""
    logsource = {
        k: v
        for k, v in (("product", rule.product), ("service", rule.service), ("category", rule.category))
        if v is not None
    }
    probe = SigmaRule.from_dict(
        {
            "title": "trailhound correlation field probe",
            "logsource": logsource,
            "detection": {"probe": {f"{field}|exists": True}, "condition": "probe"},
        }
    )
    default_pipeline().apply(probe)
    out: list[str] = []

    def walk(d: SigmaDetection | SigmaDetectionItem) -> None:
        if isinstance(d, SigmaDetectionItem):
            if d.field is not None and d.field not in out:
                out.append(d.field)
        else:
            for item in d.detection_items:
                walk(item)

    walk(probe.detection.detections["probe"])
    return tuple(out) or (field,)


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split())
