"""First-seen rules (the `new_terms` idea of Elastic, offline): a rule that raises only when the
value of a field is new for its group, e.g. a source IP never seen before for that principal.

    first_seen:
      field: sourceIPAddress            # the term: one raw field path, or a list of them
      group-by: [userIdentity.arn]      # whose history (raw field paths)
      baseline: known_sources.jsonl     # optional, relative to the rule file (see below)
      max-pairs: 1000000                # memory bound (default 1,000,000)

The rule's detection selects the events to consider; the post-engine gate (`FirstSeenGate`,
after filters) keeps the rule on a match only when
* the group already has history, in the baseline or earlier in this scan (a principal's very
  first value establishes its history: it is not "new", or every first call would raise), and
* the (group, value) pair was in neither.
Everything else of the match (other rules, correlations) is untouched.

"Earlier in this scan" is input order: CloudTrail's S3 layout (one folder per account, region and
day, files named by time) is read in path order, which is time order within an account and
region. A baseline is the user's memory across scans: JSON lines `{"group": [...], "value":
[...]}` (the texts as they appear in the records), optionally with `"rule": "<id>"` to apply to
that rule only. `trailhound baseline build PATHS -o FILE` writes one from past logs
(rules/baseline.py), and `detect --baseline FILE` gives it to every first-seen rule of the run
(on top of a rule's own `baseline:`): the scan passes it to the gate (`FirstSeenGate(...,
baseline=)`, `scan_stream(..., baseline=)`, `trailhound.scan(..., baseline=)`).

Groups compare as identities do elsewhere (trailhound/identity.py): for Azure, Entra and Microsoft
365 records without case (`User@Contoso.com` and `user@contoso.com` are one principal's history),
for AWS and GCP exactly; the value compares exactly. A baseline's groups fold with the rule's
product (`logsource.product`), which is the matched events' provider.

Memory: one 8-byte digest per distinct pair and per group, per rule (blake2b, collisions at 2^-32
for a billion pairs); past `max-pairs` the gate stops learning new pairs and counts them in
`FirstSeenStats.unlearned`, so memory stays bounded and the overflow is reported, not hidden.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import orjson

from trailhound.engine import fields as F
from trailhound.engine.base import Match
from trailhound.errors import RuleError
from trailhound.identity import fold
from trailhound.rules.model import Rule, RuleSet
from trailhound.scoring import RowMatches

DEFAULT_MAX_PAIRS = 1_000_000


@dataclass(frozen=True)
class FirstSeenSpec:
    fields: tuple[str, ...]
    group_by: tuple[str, ...]
    baseline: Path | None
    max_pairs: int
    product: str | None = None  # the rule's logsource product: how its baseline's groups fold


@dataclass
class FirstSeenStats:
    suppressed: int = 0  # matches whose value was not new (the rule removed from them)
    unlearned: int = 0  # pairs not remembered because max-pairs was reached


def spec_of(rule: Rule) -> FirstSeenSpec | None:
    """The rule's `first_seen` attribute, checked; None when it has none."""
    raw = rule.extra.get("first_seen")
    if raw is None:
        return None
    where = f"{rule.path or '?'}: rule {rule.id}: first_seen"
    if not isinstance(raw, dict):
        raise RuleError(f"{where} must be a mapping with field and group-by")
    unknown = set(raw) - {"field", "group-by", "baseline", "max-pairs"}
    if unknown:
        raise RuleError(f"{where}: unknown key(s) {', '.join(sorted(map(str, unknown)))}")
    fields_ = _names(raw.get("field"), f"{where}.field")
    group_by = _names(raw.get("group-by"), f"{where}.group-by")
    max_pairs = raw.get("max-pairs", DEFAULT_MAX_PAIRS)
    if isinstance(max_pairs, bool) or not isinstance(max_pairs, int) or max_pairs < 1:
        raise RuleError(f"{where}.max-pairs must be a positive whole number, got {max_pairs!r}")
    baseline = raw.get("baseline")
    if baseline is not None and not isinstance(baseline, str):
        raise RuleError(f"{where}.baseline must be a file path, got {baseline!r}")
    base_path = None
    if baseline is not None:
        base_path = Path(baseline).expanduser()
        if not base_path.is_absolute() and rule.path:
            base_path = Path(rule.path).parent / base_path
    product = rule.product.lower() if rule.product else None
    return FirstSeenSpec(fields_, group_by, base_path, max_pairs, product)


def _names(value: Any, where: str) -> tuple[str, ...]:
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not names or not all(isinstance(n, str) and n for n in names):
        raise RuleError(f"{where} must be a field path or a non-empty list of them")
    return tuple(names)


def _digest(*parts: tuple[str, ...]) -> bytes:
    return hashlib.blake2b(orjson.dumps(parts), digest_size=8).digest()


def values_of(raw: Any, paths: tuple[str, ...]) -> tuple[str, ...] | None:
    """The texts of each path's first leaf, one per path; None when any is missing."""
    out = []
    for p in paths:
        present, leaves = F.lookup(raw, p)
        texts = [t for t in map(F.text_of, leaves) if t is not None] if present else []
        if not texts:
            return None
        out.append(texts[0])
    return tuple(out)


def group_of(raw: Any, spec: FirstSeenSpec, provider: str | None) -> tuple[str, ...] | None:
    """The record's group texts as they compare (identity.fold for `provider`, the event's
    Sigma product); None when a group-by field is missing."""
    group = values_of(raw, spec.group_by)
    return None if group is None else tuple(fold(provider, t) for t in group)


@dataclass
class History:
    """What one first-seen rule has seen: digests of its established groups and of their pairs
    (carried across watch cycles by watch/history.py)."""

    spec: FirstSeenSpec
    groups: set[bytes] = field(default_factory=set)
    pairs: set[bytes] = field(default_factory=set)

    def remember(self, group: bytes, pair: bytes, stats: FirstSeenStats) -> None:
        if len(self.pairs) >= self.spec.max_pairs:
            stats.unlearned += 1
            return
        self.groups.add(group)
        self.pairs.add(pair)


# A baseline line is one (rule, group, value): a few hundred bytes. Longer lines are refused
# rather than read whole, so that a wrong file given as a baseline cannot take the memory.
MAX_BASELINE_LINE = 64 * 1024


def read_baseline(path: Path) -> Iterator[tuple[str | None, tuple[str, ...], tuple[str, ...]]]:
    """(rule id or None, group, value) of each line of a baseline file, read line by line (the
    file may be large: the rules' max-pairs bound what is kept); a RuleError names the file, the
    line and what to do."""
    try:
        fh = path.open("rb")
    except OSError as e:
        raise RuleError(f"{path}: first_seen baseline not readable ({e.strerror}); "
                        "fix the rule's baseline path or the --baseline option") from None
    with fh:
        for n, line in enumerate(iter(lambda: fh.readline(MAX_BASELINE_LINE + 1), b""), 1):
            if len(line) > MAX_BASELINE_LINE:
                raise RuleError(
                    f"{path}:{n}: a line longer than {MAX_BASELINE_LINE} bytes: not a baseline; "
                    "give the file `trailhound baseline build` wrote"
                )
            if not line.strip():
                continue
            try:
                doc = orjson.loads(line)
                group, value = tuple(map(str, doc["group"])), tuple(map(str, doc["value"]))
                rule = doc.get("rule")
            except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError):
                raise RuleError(
                    f"{path}:{n}: not a baseline line; write "
                    '{"group": [...], "value": [...]} (one JSON object a line), or rebuild it '
                    "with `trailhound baseline build`"
                ) from None
            yield (None if rule is None else str(rule)), group, value


def load_baseline(
    spec: FirstSeenSpec, history: History, rule_id: str = "", baseline: Path | None = None
) -> None:
    """Remember the pairs of the rule's own baseline and of the run's (`baseline`: `detect
    --baseline`), skipping lines meant for another rule."""
    stats = FirstSeenStats()
    for path in (spec.baseline, baseline):
        if path is None:
            continue
        for rule, texts, value in read_baseline(path):
            if rule is None or rule == rule_id:
                group = tuple(fold(spec.product, t) for t in texts)
                history.remember(_digest(group), _digest(group, value), stats)


class FirstSeenGate:
    """The first-seen rules' memory over one scan. `keep(m)` decides one match in input order
    (learning its pair); calling the gate on a stream decides each match of it. The tuning gate
    hands it the matches outside `--since/--until` too (tuning/stream.py): they are no findings,
    but they are history (a principal's earlier logins), and the summary's count of matched
    events left out by the window must count only what the scan without a window reports."""

    def __init__(
        self, ruleset: RuleSet, stats: FirstSeenStats | None = None,
        histories: dict[str, History] | None = None, baseline: Path | None = None,
    ) -> None:
        """`histories` (rule id -> history): taken from and left in it, so that a caller can
        carry the history from one scan to the next; a rule missing there starts from its
        baseline and the run's `baseline` file (`detect --baseline`)."""
        self.specs = {r.id: s for r in ruleset.rules if (s := spec_of(r)) is not None}
        self.stats = stats if stats is not None else FirstSeenStats()
        self.histories = {} if histories is None else histories
        for rid, spec in self.specs.items():
            if rid not in self.histories:
                self.histories[rid] = History(spec)
                load_baseline(spec, self.histories[rid], rid, baseline)

    def keep(self, m: Match) -> Match | None:
        """`m` less the first-seen rules whose value is not new; None when no rule is left."""
        if not self.specs:
            return m
        drop = [
            r for r in m.rules
            if r.id in self.specs and not _is_new(m, self.histories[r.id], self.stats)
        ]
        if not drop:
            return m
        self.stats.suppressed += len(drop)
        kept = [r for r in m.rules if r not in drop]
        return replace(m, rules=kept) if kept else None

    def __call__(self, matches: Iterable[Match]) -> Iterator[Match]:
        if not self.specs:
            yield from matches
            return
        for m in matches:
            if m.__class__ is RowMatches:  # no first-seen rule (engine/fast.py FastPlan.watched)
                yield m
                continue
            kept = self.keep(m)
            if kept is not None:
                yield kept


def _is_new(m: Match, history: History, stats: FirstSeenStats) -> bool:
    spec = history.spec
    raw = m.event.raw
    group = group_of(raw, spec, m.event.provider)
    value = values_of(raw, spec.fields)
    if group is None or value is None:
        return False  # nothing to compare: not evidence of anything new
    g, pair = _digest(group), _digest(group, value)
    if pair in history.pairs:
        return False
    established = g in history.groups
    history.remember(g, pair, stats)
    return established
