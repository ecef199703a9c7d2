"""The one reader loop: records (with their positions) -> events -> admitted -> counted.

Every local engine reads through `events`: the reference engine in-process (`InProcess.scan`),
the fast engine's workers (fast_scan.py: on the records the S3 path decodes and on every file
the readers read), `pipeline.read_events` (timeline, hunts: events without rules), and the
Spark executors through `fast_scan.scan_bytes`. Counts go into a `Tally`: the scan's own
`pipeline.ScanStats` in-process, or one ScanStats per file in a worker, merged into the scan's
by `ScanStats.merge` (the one way per-file counts join a scan).

Nothing here holds more than one record: a huge streamed file stays in bounded memory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, BinaryIO, Protocol

from trailhound.engine.base import Engine, Match
from trailhound.jsonutil import MAX_NESTING, cut_deep, too_deep
from trailhound.model import Event, Issue, RawRecord
from trailhound.normalize import normalize
from trailhound.profiles import Profile
from trailhound.sources import InputSpec, read_input
from trailhound.sources.envelopes import Item
from trailhound.sources.limits import Limits

Normalizer = Callable[[RawRecord], tuple[Event, list[Issue]]]

TOO_DEEP = (
    f"the record nests objects and arrays more than {MAX_NESTING} levels deep: what lies below "
    f"level {MAX_NESTING} was read as null, the rest of the record was read and evaluated. No "
    "cloud audit log nests like this: look at what wrote this record"
)


class Tally(Protocol):
    """What the loop counts into (pipeline.ScanStats has this shape)."""

    files: int
    records: int
    events: int
    not_admitted: int

    def add_issue(self, issue: Issue) -> None: ...


def events(
    items: Iterable[Item], tally: Tally, profile: Profile, normalizer: Normalizer = normalize,
    shallow: Callable[[], bool] | None = None,
) -> Iterator[Event]:
    """The events of `items` (one input's RawRecord | Issue, in file order) that `profile`
    admits, counting records, events, issues and events not admitted into `tally`. A record
    nested deeper than jsonutil.MAX_NESTING is cut there (`too_deep`) before anything reads it.
    `normalizer`: normalize.normalize, or one that returns exactly what it returns (the fast
    engine's, engine/fast_normalize.py). `shallow()` True: the producer of the items knows the
    one it just yielded nests no deeper than that (no check needed: fast_scan.py)."""
    for item in items:
        if isinstance(item, Issue):
            tally.add_issue(item)
            continue
        assert isinstance(item, RawRecord)
        tally.records += 1
        # (cut here, once: every sink after this can write the record)
        if (shallow is None or not shallow()) and too_deep(item.data):
            tally.add_issue(Issue(item.location, "too_deep", TOO_DEEP))
            item = RawRecord(cut_deep(item.data), item.location, item.source, item.envelope, item.meta)
        event, issues = normalizer(item)
        for issue in issues:
            tally.add_issue(issue)
        if not profile.admits(event):
            tally.not_admitted += 1
            continue
        tally.events += 1
        yield event


def spec_events(
    specs: Sequence[InputSpec],
    tally: Tally,
    profile: Profile,
    *,
    stdin: BinaryIO | None = None,
    on_file: Callable[[InputSpec], None] | None = None,
    limits: Limits | None = None,
) -> Iterator[Event]:
    """`events` of every input in order, read in this process by sources.read_input."""
    for spec in specs:
        tally.files += 1
        yield from events(read_input(spec, stdin=stdin, limits=limits), tally, profile)
        if on_file is not None:
            on_file(spec)


class InProcess(Engine):
    """`scan` for an engine that evaluates events in this process with `run(plan, events)`
    (the reference engine): the one reader loop feeding `run`."""

    def run(self, plan: Any, events: Iterable[Event]) -> Iterator[Match]:
        raise NotImplementedError

    def scan(
        self,
        plan: Any,
        specs: Sequence[InputSpec],
        stats: Tally,
        profile: Profile,
        *,
        stdin: BinaryIO | None = None,
        on_file: Callable[[InputSpec], None] | None = None,
        limits: Limits | None = None,
    ) -> Iterator[Match]:
        return self.run(
            plan, spec_events(specs, stats, profile, stdin=stdin, on_file=on_file, limits=limits)
        )
