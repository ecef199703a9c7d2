"""One scan: an engine (engine/base.Engine: it reads, normalizes and gates the inputs through
the one reader loop, engine/loop.py, and matches) -> the tuning gate -> scoring. The CLI and
the library (api.py) call `scan_stream` / `scan`; nothing here prints. The default engine is
the CLI's (engine.DEFAULT_ENGINE)."""

from __future__ import annotations

import functools
import inspect
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, ParamSpec

from trailhound.engine import DEFAULT_ENGINE, make_engine
from trailhound.engine.base import Match
from trailhound.engine.correlate import CorrelationStats
from trailhound.engine.fast import FastPlan
from trailhound.engine.loop import spec_events
from trailhound.model import Event, Issue
from trailhound.profiles import Profile
from trailhound.rules.first_seen import FirstSeenGate
from trailhound.rules.loader import load_pack
from trailhound.rules.model import RuleSet
from trailhound.scoring import Finding, iter_findings
from trailhound.sources import InputSpec, discover
from trailhound.sources.limits import Limits
from trailhound.spill import RowStore
from trailhound.tuning.stream import tuning_gate
from trailhound.tuning.window import TimeWindow

P = ParamSpec("P")

SAMPLE_LIMIT = 20  # issues shown in full; the rest are counted ("... and N more")
SKIP_NAMES = 3  # files named per kind of skip (one more is kept, to know that "..." follows)


@dataclass
class ScanStats:
    files: int = 0
    records: int = 0
    events: int = 0
    not_admitted: int = 0  # events the profile's source-category test dropped
    findings: int = 0
    errors: Counter[str] = field(default_factory=Counter)  # issue kind -> count
    skipped: Counter[str] = field(default_factory=Counter)
    suppressed: Counter[str] = field(default_factory=Counter)  # filter title -> matches removed
    removed: Counter[str] = field(default_factory=Counter)  # allowlist entry -> findings removed
    window: Counter[str] = field(default_factory=Counter)  # why matched events were left out
    samples: list[Issue] = field(default_factory=list)
    skipped_paths: dict[str, list[str]] = field(default_factory=dict)  # kind -> first files
    rules_refused: int = 0  # --rules rules reported on stderr and skipped (exit code 3)
    # correlation id -> hits, and events that matched a referenced rule but could not take part
    # (no event time / a group-by value missing); see engine/correlate.py
    correlation: CorrelationStats = field(default_factory=CorrelationStats)

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def add_issue(self, issue: Issue) -> None:
        if issue.severity == "error":
            self.errors[issue.kind] += 1
            if len(self.samples) < SAMPLE_LIMIT:
                self.samples.append(issue)
        else:
            self.skipped[issue.kind] += 1
            self.name_skipped(issue.kind, issue.location.path)

    def name_skipped(self, kind: str, path: str) -> None:
        """Remember `path` among the first files skipped as `kind` (the summary names them)."""
        names = self.skipped_paths.setdefault(kind, [])
        if len(names) <= SKIP_NAMES and path not in names:
            names.append(path)

    def merge(self, part: ScanStats) -> None:
        """Add the counts of `part` (one file's, read in a worker process: engine/loop.py) as if
        its issues had been added here one by one: samples and skipped files keep the first
        ones in input order, so merging file by file gives what one tally would."""
        self.files += part.files
        self.records += part.records
        self.events += part.events
        self.not_admitted += part.not_admitted
        self.errors.update(part.errors)
        self.skipped.update(part.skipped)
        self.samples.extend(part.samples[: max(0, SAMPLE_LIMIT - len(self.samples))])
        for kind, paths in part.skipped_paths.items():
            for path in paths:
                self.name_skipped(kind, path)


@dataclass
class ScanResult:
    findings: list[Finding]
    stats: ScanStats


@dataclass
class ScanStream:
    """scan_stream's result: the findings, in order, produced as they are read. The scan runs
    when the first one is asked for (every input must be read before the highest score is
    known); `stats` is complete, `stats.findings` included, once the iterator is exhausted."""

    findings: Iterator[Finding]
    stats: ScanStats


Progress = Callable[[InputSpec], None]


def read_events(
    paths: Sequence[str], profile: Profile, stats: ScanStats, stdin: BinaryIO | None = None
) -> Iterator[Event]:
    """The reader loop alone, no rules: every event under `paths` the profile admits, in input
    order; input issues are counted in `stats` (triage/timeline.py shows them all)."""
    specs, issues = discover(paths)
    for issue in issues:
        stats.add_issue(issue)
    yield from spec_events(specs, stats, profile, stdin=stdin)


def scan_stream(
    paths: Sequence[str],
    profile: Profile,
    *,
    ruleset: RuleSet | None = None,
    engine: str = DEFAULT_ENGINE,
    strict: bool = False,
    engine_options: Mapping[str, Any] | None = None,
    min_score: float | None = None,
    stdin: BinaryIO | None = None,
    on_start: Callable[[Sequence[InputSpec]], None] | None = None,
    on_file: Progress | None = None,
    window: TimeWindow | None = None,
    limits: Limits | None = None,
    select: Callable[[list[InputSpec]], list[InputSpec]] | None = None,
    carry: Callable[[Iterator[Match]], Iterator[Match]] | None = None,
    first_seen: dict[str, Any] | None = None,
    baseline: Path | None = None,
    rows_only: bool = False,
) -> ScanStream:
    """`scan`, with the findings as an iterator: past a budget they are sorted on disk
    (scoring.iter_findings), so memory does not grow with their number. Incremental runs
    (watch/cycle.py): `select` keeps the inputs not read before, `carry` wraps the gated
    matches (to keep those correlations need and feed the kept ones of earlier runs),
    `first_seen` the first-seen rules' history (watch/history.py). `baseline`: `detect
    --baseline`'s file, known pairs for every first-seen rule (rules/first_seen.py).
    `rows_only`: the consumer writes only each finding's row (report/columns.row_json, as
    `detect --format jsonl` does), never reads its event: a finding that nothing after the
    engine can change then comes as a scoring.RowFinding (its row as the worker built it, no
    event), which costs the main process a fraction of a Finding (engines that read in worker
    processes: fast)."""
    stats = ScanStats()
    rs = ruleset if ruleset is not None else load_pack(profile.pack)
    eng = make_engine(engine, strict=strict, **(engine_options or {}))
    plan = eng.compile(rs)
    # (`carry` keeps Matches across watch cycles: it reads every one, so no rows-only batches)
    rows = None
    if rows_only and carry is None and isinstance(plan, FastPlan):
        rows = RowStore.make()  # the rows are written where they are built (spill.RowStore)
        plan.for_rows(rows)
    specs, issues = eng.discover(paths)
    for issue in issues:
        stats.add_issue(issue)
    if select is not None:
        specs = select(specs)
    if on_start is not None:
        on_start(specs)
    matches = eng.scan(plan, specs, stats, profile, stdin=stdin, on_file=on_file, limits=limits)
    # rules/first_seen.py: new-value rules, after filters; `first_seen`: the history carried
    # across watch cycles
    novel = FirstSeenGate(rs, histories=first_seen, baseline=baseline)
    matches = tuning_gate(
        matches, stats, filters=rs.filters, window=window, min_score=min_score,
        dedupe=profile.dedupe, outside=novel.keep,  # events outside the window are history
    )
    matches = novel(matches)
    if carry is not None:
        matches = carry(matches)
    findings = iter_findings(
        matches,
        min_score,
        dedupe=profile.dedupe,
        correlations=rs.correlations,
        correlation_stats=stats.correlation,
        max_correlation=limits.max_correlation if limits is not None else None,
        rows=rows,
    )
    return ScanStream(_counted(findings, stats), stats)


def _collected(stream: Callable[P, ScanStream]) -> Callable[P, ScanResult]:
    """`stream`, with its findings collected into a list (one signature: scan_stream's)."""

    @functools.wraps(stream)
    def collected(*args: P.args, **kwargs: P.kwargs) -> ScanResult:
        s = stream(*args, **kwargs)
        return ScanResult(list(s.findings), s.stats)

    sig = inspect.signature(stream).replace(return_annotation=ScanResult.__name__)
    collected.__signature__ = sig  # type: ignore[attr-defined]  # (help() shows the truth)
    return collected


scan = _collected(scan_stream)
scan.__name__ = scan.__qualname__ = "scan"
scan.__doc__ = """Run the profile's rules (or `ruleset`) over every record under `paths` ("-" =
stdin) and return the findings in a list (ScanResult), with scan_stream's parameters: `window`,
only events inside it can be findings (tuning/window.py); `limits`, the per-input caps
(sources/limits.py; default: TRAILHOUND_* or built-in); `engine`, a name in engine.ENGINES,
built with `strict` and `engine_options` (engine/__init__.py)."""


def _counted(findings: Iterator[Finding], stats: ScanStats) -> Iterator[Finding]:
    for f in findings:
        stats.findings += 1
        yield f
    for issue in stats.correlation.issues:  # a correlation past its cap: results incomplete
        stats.add_issue(issue)
