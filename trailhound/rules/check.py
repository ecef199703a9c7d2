"""Which rules under some paths trailhound can run, and why not the others.

`check_paths` loads every rule file with the loader (collect-errors: a broken rule never stops
the others), then compiles each loaded rule and filter ALONE with the rule compiler
(engine/compiler.py, which every engine compiles from), so that what it refuses (unfilled
`|expand` placeholders, the old `| count()` aggregation syntax, unsupported modifiers...) is
reported per rule instead of failing a whole scan. The result keeps one `FileCheck` per rule
file (what `trailhound rules check` prints) and the `RuleSet` of everything that loaded and
compiled (what `detect --rules` adds to the pack).

Refusal reasons start with a category word:
  placeholder  an `|expand` placeholder has no value (give it one with --placeholders FILE);
  aggregation  the pre-Sigma-2 `condition: sel | count() > N` / `| near` syntax (rewrite it as
               a correlation rule);
  regex        a `|re` pattern RE2 cannot run in linear time (lookaround, backreference...;
               engine/sigma_regex.py says what and why);
  engine       another construct the rule compiler refuses;
  load         the loader's own reason (not YAML, pySigma rejects the rule, duplicate id,
               unresolvable correlation...), as the loader words it.
Notes on rules that did load: a rule for a log source trailhound reads no records of never
applies; a rule field that pipelines.NOT_MAPPED lists never matches (the reason is given); a
`|re` pattern whose RE2 meaning differs from Python's somewhere (`\b` next to non-ASCII letters).
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from sigma.types import SigmaRegularExpression

from trailhound.engine.compiler import Refused, detection_items, filter_tree, rule_tree
from trailhound.engine.sigma_regex import regex_problem
from trailhound.errors import UsageError
from trailhound.model import LOGSOURCES
from trailhound.rules.loader import RuleProblem, iter_rule_files, load_paths
from trailhound.rules.model import Filter, Rule, RuleSet
from trailhound.rules.pipelines import FIELD_TABLES, NOT_MAPPED, map_filter, placeholder_values
from trailhound.wording import count
from trailhound.yamldepth import check_depth

__all__ = [
    "CheckResult",
    "FileCheck",
    "Refusal",
    "check_paths",
    "merge_rulesets",
    "read_placeholders",
]

Kind = Literal["placeholder", "aggregation", "regex", "engine", "load"]


@dataclass(frozen=True)
class Refusal:
    kind: Kind
    reason: str  # one line, without the file path

    def __str__(self) -> str:
        return self.reason if self.kind == "load" else f"{self.kind}: {self.reason}"


@dataclass(frozen=True)
class FileCheck:
    """One rule file: how many of its rules (filters, correlations) loaded, what was refused."""

    path: str
    loaded: int = 0
    refused: tuple[Refusal, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.refused

    def line(self) -> str:
        """`PATH: loaded[; note...]` or `PATH: refused: REASON[ (+N more; M of K loaded)]`."""
        if self.ok:
            text = "loaded" if self.loaded else "loaded (no rules in this file)"
            return "; ".join([f"{self.path}: {text}", *self.notes])
        more = []
        if len(self.refused) > 1:
            more.append(f"+{len(self.refused) - 1} more")
        if self.loaded:
            more.append(f"{self.loaded} of {self.loaded + len(self.refused)} loaded")
        tail = f" ({'; '.join(more)})" if more else ""
        return f"{self.path}: refused: {self.refused[0]}{tail}"


@dataclass(frozen=True)
class CheckResult:
    files: tuple[FileCheck, ...]
    ruleset: RuleSet  # what loaded AND compiled
    problems: tuple[RuleProblem, ...]  # every refusal, path + one-line reason

    @property
    def ok(self) -> bool:
        return all(f.ok for f in self.files)

    def summary(self) -> str:
        refused = [f for f in self.files if not f.ok]
        kinds = Counter(f.refused[0].kind for f in refused)
        noted = sum(1 for f in self.files if f.ok and f.notes)
        parts = [f"{count(len(self.files), 'file')}: {len(self.files) - len(refused)} loaded"]
        if noted:
            parts[0] += f" ({noted} with notes)"
        if refused:
            detail = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
            parts.append(f"{len(refused)} refused ({detail})")
        else:
            parts.append("0 refused")
        return ", ".join(parts)


# ---------------------------------------------------------------------------------------------


def read_placeholders(path: str | Path) -> dict[str, list[str]]:
    """A YAML or JSON map: placeholder name -> list of values (a single value is a list of one).

    Values are strings or numbers (pySigma's ValueListPlaceholderTransformation takes nothing
    else); anything else is a UsageError naming the entry.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise UsageError(f"{p}: cannot read the placeholder file: {e.strerror or e}") from None
    except UnicodeDecodeError as e:
        raise UsageError(
            f"{p}: not a placeholder file: not UTF-8 text (byte {e.start}: {e.reason}); a "
            "placeholder file is a YAML or JSON map of name -> list of values"
        ) from None
    try:
        if p.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            check_depth(text)
            data = yaml.safe_load(text)
    except (yaml.YAMLError, json.JSONDecodeError) as e:
        raise UsageError(f"{p}: not YAML/JSON: {' '.join(str(e).split())}") from None
    except RecursionError:  # json's decoder recurses once per level
        raise UsageError(
            f"{p}: not a placeholder file: JSON nested too deep to read; a placeholder file is "
            "a map of name -> list of values"
        ) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UsageError(f"{p}: must be a map of placeholder name -> list of values")
    out: dict[str, list[str]] = {}
    for name, values in data.items():
        items = values if isinstance(values, list) else [values]
        if not isinstance(name, str) or not items:
            raise UsageError(f"{p}: {name!r}: give a placeholder name and at least one value")
        for v in items:
            if isinstance(v, bool) or not isinstance(v, (str, int, float)):
                raise UsageError(f"{p}: {name}: values must be strings or numbers, got {v!r}")
        out[name] = [str(v) for v in items]
    return out


def check_paths(
    paths: Iterable[str | Path], placeholders: Mapping[str, Sequence[Any]] | None = None
) -> CheckResult:
    """Load and compile every rule under `paths` (files or folders). Raises UsageError for a
    path that does not exist; every other problem is reported per file."""
    roots = [Path(p) for p in paths]
    files = [str(f) for f in iter_rule_files(roots)]
    with placeholder_values(placeholders):
        ruleset, problems = load_paths(roots)
        filters = tuple(_mapped(f) for f in ruleset.filters)
    refused: dict[str, list[Refusal]] = {}
    for problem in problems:
        refused.setdefault(problem.path, []).append(Refusal("load", problem.reason))
    loaded: Counter[str] = Counter()
    notes: dict[str, list[str]] = {}

    rules: list[Rule] = []
    bad_ids: set[str] = set()
    for r in ruleset.rules:
        why = _refusal(r)
        if why is not None:
            refused.setdefault(r.path or "?", []).append(why)
            bad_ids.add(r.id)
            continue
        rules.append(r)
        loaded[r.path or "?"] += 1
        for n in [*_notes(r), *_regex_notes(r)]:
            if n not in notes.setdefault(r.path or "?", []):
                notes[r.path or "?"].append(n)
    kept_filters = []
    for flt in filters:
        why = _refusal(flt)
        if why is not None:
            refused.setdefault(flt.path or "?", []).append(why)
            continue
        kept_filters.append(flt)
        loaded[flt.path or "?"] += 1
    extra = {}
    for f in dataclasses.fields(RuleSet):
        if f.name in ("rules", "filters"):
            continue
        kept = []
        for item in getattr(ruleset, f.name):
            # a correlation over a refused rule cannot run either
            ids = {getattr(r, "id", None) for r in getattr(item, "rules", ())}
            if ids & bad_ids:
                listed = ", ".join(sorted(str(i) for i in ids & bad_ids))
                refused.setdefault(getattr(item, "path", None) or "?", []).append(
                    Refusal("load", f"refers to a refused rule ({listed})")
                )
                continue
            kept.append(item)
            loaded[getattr(item, "path", None) or "?"] += 1
        extra[f.name] = tuple(kept)

    for p in list(refused) + list(loaded):
        if p not in files:
            files.append(p)
    checks = tuple(
        FileCheck(
            path=p,
            loaded=loaded[p],
            refused=tuple(refused.get(p, ())),
            notes=tuple(notes.get(p, ())) if not refused.get(p) else (),
        )
        for p in files
    )
    all_problems = tuple(RuleProblem(p, str(r)) for p in files for r in refused.get(p, ()))
    result_set = RuleSet(tuple(rules), tuple(kept_filters), **extra)
    return CheckResult(checks, result_set, all_problems)


def merge_rulesets(base: RuleSet, extra: RuleSet) -> tuple[RuleSet, list[RuleProblem]]:
    """`base` plus `extra` (every RuleSet field concatenated). A rule of `extra` whose id is
    already in `base` is dropped and reported: ids name rules in filters and findings."""
    ids = {r.id for r in base.rules} | {c.id for c in getattr(base, "correlations", ())}
    problems: list[RuleProblem] = []
    fields: dict[str, tuple[Any, ...]] = {}
    for f in dataclasses.fields(RuleSet):
        mine = getattr(base, f.name)
        theirs = []
        for item in getattr(extra, f.name):
            iid = getattr(item, "id", None)
            if f.name != "filters" and iid in ids:
                problems.append(
                    RuleProblem(
                        getattr(item, "path", None) or "?",
                        f"duplicate rule id {iid} (the profile's pack has it)",
                    )
                )
                continue
            theirs.append(item)
        fields[f.name] = tuple(mine) + tuple(theirs)
    return RuleSet(**fields), problems


# ---------------------------------------------------------------------------------------------


def _mapped(flt: Filter) -> Filter:
    """Give a loaded filter the pipeline's field mapping (map_filter is a no-op if the loader
    already did it); refresh the log source it was read with, which Workspace filters change."""
    sf = map_filter(flt.sigma)
    product, service = sf.logsource.product, sf.logsource.service
    if (product, service) != (flt.product, flt.service):
        return dataclasses.replace(flt, product=product, service=service)
    return flt


def _refusal(subject: Rule | Filter) -> Refusal | None:
    """What the rule compiler refuses in a rule or filter (engine/compiler.py: the one place
    that decides), as this module's Refusal."""
    try:
        if isinstance(subject, Rule):
            rule_tree(subject)
        else:
            filter_tree(subject)
    except Refused as e:
        return Refusal(e.kind, " ".join(e.reason.split()))
    return None


def _regexes(rule: Rule) -> Iterable[SigmaRegularExpression]:
    for det in rule.sigma.detection.detections.values():
        for item in detection_items(det):
            yield from (v for v in item.value if isinstance(v, SigmaRegularExpression))


def _regex_notes(rule: Rule) -> list[str]:
    out = []
    for value in _regexes(rule):
        for note in regex_problem(value)[1]:
            line = f"regex `{value.regexp}`: {note}"
            if line not in out:
                out.append(line)
    return out


def _notes(rule: Rule) -> list[str]:
    if not any(rule.applies_to(ls) for ls in LOGSOURCES.values()):
        where = "/".join(x for x in (rule.product, rule.service, rule.category) if x) or "?"
        return [f"never applies: trailhound reads no {where} records"]
    out = []
    ls = ((rule.product or "").lower(), (rule.service or "").lower())
    # Workspace rules were re-homed to gcp/gcp.audit: their table's entries count there too.
    sources = [ls, *((t.product, t.service) for t in FIELD_TABLES if t.logsource == ls)]
    unmapped = {
        k.casefold(): (k, why) for src in sources for k, why in NOT_MAPPED.get(src, {}).items()
    }
    if unmapped:
        seen: set[str] = set()
        for det in rule.sigma.detection.detections.values():
            for item in detection_items(det):
                hit = unmapped.get((item.field or "").casefold())
                if hit and hit[0] not in seen:
                    seen.add(hit[0])
                    out.append(f"field {hit[0]!r}: {hit[1]}")
    return out
