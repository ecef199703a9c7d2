"""`trailhound baseline build`: the first-seen baseline a user keeps between scans.

Reads logs (last month's, say), runs the profile's first-seen rules (rules/first_seen.py) over
them and writes every distinct (group, value) pair each rule saw, one JSON object a line:

    {"rule": "<rule id>", "group": ["arn:aws:iam::1111:user/alice"], "value": ["203.0.113.7"]}

`detect --baseline FILE` (cli/baseline_cmd.py) then treats those pairs as already seen: a value
in the baseline is not "new" for its group, and a group in it has history, so its first value in
the scan can be new. The texts are the records' own, as first_seen reads them; a group of an
Azure, Entra or Microsoft 365 record is written case-folded, as it compares (identity.py).

Bounded: at most `max_pairs` lines (DEFAULT_MAX_PAIRS, 200,000: about 30 MB for AWS ARNs and
addresses). Past the cap the pairs seen first are kept and the rest counted in
`BaselineStats.dropped`, so the file's size is known and the loss is reported, not hidden.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import orjson

from trailhound.atomic import replaced
from trailhound.engine import make_engine
from trailhound.engine.base import Match
from trailhound.pipeline import ScanStats
from trailhound.profiles import Profile
from trailhound.rules.first_seen import FirstSeenSpec, group_of, spec_of, values_of
from trailhound.rules.model import RuleSet

DEFAULT_MAX_PAIRS = 200_000


@dataclass
class BaselineStats:
    scan: ScanStats = field(default_factory=ScanStats)
    rules: int = 0  # first-seen rules in the set
    pairs: int = 0  # lines written
    dropped: int = 0  # distinct pairs past the cap, not written


def first_seen_rules(ruleset: RuleSet) -> RuleSet:
    """The rule set reduced to its first-seen rules (nothing else needs to run)."""
    return RuleSet(tuple(r for r in ruleset.rules if spec_of(r) is not None), (), ())


def pairs(matches: Iterable[Match], specs: dict[str, FirstSeenSpec]) -> Iterable[bytes]:
    """One JSON line per (rule, group, value) match, in input order, repeats included."""
    for m in matches:
        for r in m.rules:
            spec = specs.get(r.id)
            if spec is None:
                continue
            group = group_of(m.event.raw, spec, m.event.provider)
            value = values_of(m.event.raw, spec.fields)
            if group is not None and value is not None:
                yield orjson.dumps({"rule": r.id, "group": group, "value": value})


def build(
    paths: Sequence[str], ruleset: RuleSet, profile: Profile, out: BinaryIO, *,
    max_pairs: int = DEFAULT_MAX_PAIRS, engine: str = "reference",
    stdin: BinaryIO | None = None,
) -> BaselineStats:
    """Scan `paths` with the first-seen rules of `ruleset` and write the distinct pairs to `out`.
    The filters of the set are not applied: a baseline records what happened, allowlisted or
    not."""
    stats = BaselineStats()
    rs = first_seen_rules(ruleset)
    specs = {r.id: s for r in rs.rules if (s := spec_of(r)) is not None}
    stats.rules = len(specs)
    if not specs:
        return stats
    eng = make_engine(engine)
    found, issues = eng.discover(paths)
    for issue in issues:
        stats.scan.add_issue(issue)
    matches = eng.scan(eng.compile(rs), found, stats.scan, profile, stdin=stdin)
    seen: set[bytes] = set()
    for line in pairs(matches, specs):
        if line in seen:
            continue
        if len(seen) >= max_pairs:
            # the set stops growing at the cap; a repeat of a dropped pair is counted again,
            # so `dropped` is an upper bound of the distinct pairs left out
            stats.dropped += 1
            continue
        seen.add(line)
        out.write(line + b"\n")
    stats.pairs = len(seen)
    return stats


def write_file(path: Path, write: Callable[[BinaryIO], BaselineStats]) -> BaselineStats:
    """Write through a temporary file renamed into place (atomic.replaced): an interrupted
    build leaves the old baseline whole."""
    with replaced(path) as out:
        stats = write(out)
    return stats

