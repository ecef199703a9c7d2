"""One incremental run ("cycle"): the inputs not read before -> the one scan corridor
(pipeline.scan_stream) -> the alerts not emitted before -> one commit (state.commit_cycle).

Correlation across cycles (the design chosen, the simplest that is exact): every match a
correlation rule consumes (one of its referenced rules matched) is kept in the state while it is
younger than the longest correlation window plus LATENESS, counted back from the newest such
event seen; the next cycle feeds those matches to scoring and correlation ahead of the new ones.
A window that opens in one cycle and closes in the next is then seen whole, and its hit raises
the correlation's alert on every event of it (the earlier ones included: identity.py). What it
cannot do: correlate with an event that arrives more than LATENESS after newer ones have pushed
its window out (CloudTrail delivers within about 15 minutes), and `lt` / `lte` conditions ("fewer
than N in the window") are judged on what has arrived so far.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import orjson

from trailhound.engine.base import Match
from trailhound.pipeline import ScanStats, scan_stream
from trailhound.report.columns import row
from trailhound.report.escape import for_json_bytes
from trailhound.rules.loader import load_pack
from trailhound.rules.model import RuleSet
from trailhound.scoring import Finding
from trailhound.sources import InputSpec, datepath, s3
from trailhound.sources.datepath import Day, date_of, day_of
from trailhound.sources.s3 import is_s3
from trailhound.tuning.window import parse_duration
from trailhound.watch.history import Histories
from trailhound.watch.identity import alert_id, event_hash
from trailhound.watch.listing import Listing, list_inputs
from trailhound.watch.state import DEFAULT_KEEP, Alert, FileId, State

if TYPE_CHECKING:  # the CLI's one scan request (names only: no import of the CLI at run time)
    from trailhound.cli.scan_options import ScanOptions

# How late (behind the newest correlation event seen) an event may arrive and still join a
# window of events from earlier cycles.
LATENESS_NS = 3600 * 1_000_000_000
NEWEST_DAY = "newest_day"  # state meta: the newest CloudTrail date folder read (--lookback)
# A cycle that read nothing new is followed by at least this pause, whatever --interval says:
# at `--interval 0s` the cycles would otherwise list every watched folder back to back while
# nothing arrives (a busy loop); a cycle that did read something is followed by the interval
# itself, so 0s still means "read as fast as files come". IDLE_PAUSE_ENV (a duration, 0s
# allowed) replaces it: the crash test kills a watcher at random points, cycles included.
IDLE_PAUSE_NS = 1_000_000_000
IDLE_PAUSE_ENV = "TRAILHOUND_WATCH_IDLE_PAUSE"


@dataclass
class CycleResult:
    stats: ScanStats
    files: int  # inputs read this cycle (new or changed)
    new_alerts: int
    folders_listed: int = 0  # folders whose entries were read (listing.py)


def pause_after(result: CycleResult, interval_ns: int) -> int:
    """Nanoseconds to wait before the next cycle: the interval, and after a cycle that read
    nothing new, at least the idle pause (IDLE_PAUSE_NS, or IDLE_PAUSE_ENV when it is a
    duration)."""
    return interval_ns if result.files else max(interval_ns, idle_pause_ns())


def idle_pause_ns() -> int:
    """IDLE_PAUSE_NS, or IDLE_PAUSE_ENV when it is a duration."""
    idle = parse_duration(os.environ.get(IDLE_PAUSE_ENV, ""))
    return IDLE_PAUSE_NS if idle is None else idle


class Detector:
    """The rule set and scan settings of a watch/detect --state run, ready to run cycles."""

    def __init__(
        self, opts: ScanOptions, ruleset: RuleSet | None, own_files: Sequence[str] = (),
        lookback_ns: int | None = None, keep_ns: int | None = None,
    ) -> None:
        """`keep_ns`: retention (state.expire) after each cycle; default DEFAULT_KEEP."""
        self.opts = opts
        self.lookback_ns = lookback_ns
        self.retain_ns = parse_duration(DEFAULT_KEEP) if keep_ns is None else keep_ns
        # the state database and output file, if they sit under a watched folder: never inputs
        self.own = {os.path.abspath(p) for p in own_files}
        self.own |= {p + suffix for p in self.own for suffix in ("-wal", "-shm", "-journal")}
        self.ruleset = ruleset if ruleset is not None else load_pack(opts.profile.pack)
        self.rules = {r.id: r for r in self.ruleset.rules}
        self.referenced = {r.id for c in self.ruleset.correlations for r in c.rules}
        self.keep_ns = max((c.timespan_ns for c in self.ruleset.correlations), default=0)
        self.keep_ns += LATENESS_NS
        self.histories = Histories(self.ruleset, opts.baseline)

    def run(
        self, state: State, inputs: Mapping[str, FileId] | None = None,
        meta: Mapping[str, str] | None = None,
    ) -> CycleResult:
        """One cycle over the new or changed files under the watched paths; or, with `inputs`,
        over those files only, with the identities given (a listing made elsewhere: Spark's
        file source, spark/stream.py). `meta` is committed with the cycle."""
        # the listing's pruning is process-wide (sources/datepath.py, s3.py): set for this cycle
        # only, so that a library caller's next scan walks everything again
        saved = datepath.WALK_BEFORE, s3.SINCE_NS
        try:
            return self._run(state, inputs, meta or {})
        finally:
            datepath.WALK_BEFORE, s3.SINCE_NS = saved

    def _run(
        self, state: State, inputs: Mapping[str, FileId] | None, extra: Mapping[str, str]
    ) -> CycleResult:
        opts = self.opts
        done: list[FileId] = []
        # kept matches of earlier cycles (bounded by the window), then this cycle's
        previous = list(state.carried(self.rules)) if self.referenced else []
        consumed: list[Match] = []
        newest = self._prune(state)
        s3.LISTED.clear()  # this cycle's listing only: memory does not grow with the history

        if inputs is None:
            listing = list_inputs(opts.paths, state)
        else:  # in the order given
            listing = Listing([(InputSpec(p, f.size, False), f) for p, f in inputs.items()])

        def select(_: list[InputSpec]) -> list[InputSpec]:
            new = []
            for spec, known in listing.specs:
                if os.path.abspath(spec.path) in self.own:
                    continue
                fid = known or _file_id(spec)
                if state.is_new(fid):
                    new.append(spec)
                    done.append(fid)
                    day = date_of(spec.path)
                    if day is not None and (newest[0] is None or day > newest[0]):
                        newest[0] = day
            return new

        def carry(matches: Iterator[Match]) -> Iterator[Match]:
            try:
                yield from previous  # consumed again: see the module's doc
                for m in matches:
                    if self._consumed(m):
                        consumed.append(m)
                    yield m
            finally:
                close = getattr(matches, "close", None)
                if close is not None:  # stops an engine's worker processes early
                    close()

        s = scan_stream(
            (), opts.profile, ruleset=self.ruleset, engine=opts.engine,  # inputs: select's
            strict=opts.strict, engine_options=opts.engine_options, min_score=opts.min_score,
            window=opts.window, limits=opts.limits, select=select,
            carry=carry if self.referenced else None,
            first_seen=self.histories.for_cycle(state),
        )
        try:  # the gate learns while the findings are read: a failure drops what it learned
            alerts, rows = self._alerts(s.findings)
            meta = {NEWEST_DAY: "-".join(map(str, newest[0]))} if newest[0] else {}
            meta.update(extra)
            new = state.commit_cycle(
                done, alerts, self._young([*previous, *consumed]), meta, rows,
                self.histories.learned(), listing.folders,
            )
        except BaseException:
            self.histories.forget()
            raise
        self.histories.committed()
        state.expire(self.retain_ns or 0)
        for issue in listing.issues:
            s.stats.add_issue(issue)
        return CycleResult(s.stats, len(done), new, listing.listed)

    def _alerts(
        self, findings: Iterable[Finding]
    ) -> tuple[list[Alert], dict[str, tuple[int | None, bytes]]]:
        """One alert per counted signal of each finding; each finding's row by its event."""
        alerts: list[Alert] = []
        rows: dict[str, tuple[int | None, bytes]] = {}
        profile = self.opts.profile
        for f in findings:
            r = row(f, profile)
            event = event_hash(f.event, profile.dedupe)
            t = f.event.time_ns
            rows[event] = (t, orjson.dumps(r))
            for signal in f.rules:
                aid = alert_id(f.event, signal.id, profile.dedupe)
                # written as it is to the file, stdout and the webhook: escaped once, here
                body = for_json_bytes(orjson.dumps({"alert_id": aid, "rule_id": signal.id, **r}))
                alerts.append(Alert(aid, body, event, t))
        return alerts, rows

    def _prune(self, state: State) -> list[Day | None]:
        """With a lookback: skip the CloudTrail date folders older than it, counted back from
        the newest date folder read so far (not from the clock: replayed old logs work too);
        both the folder walk and the S3 listing. Returns that newest day, to be updated."""
        day = state.meta_day(NEWEST_DAY)
        if day is None:
            return [None]
        y, m, d = day
        if self.lookback_ns is not None:
            start = int(datetime(y, m, d, tzinfo=UTC).timestamp()) * 1_000_000_000
            start -= self.lookback_ns
            datepath.WALK_BEFORE = day_of(start)
            since = self.opts.window.since_ns if self.opts.window else None
            s3.SINCE_NS = start if since is None else max(start, since)
        return [(y, m, d)]

    def _consumed(self, m: Match) -> bool:
        return m.event.time_ns is not None and any(r.id in self.referenced for r in m.rules)

    def _young(self, matches: list[Match]) -> list[Match]:
        """The matches a later cycle's correlation may still need."""
        if not matches:
            return []
        newest = max(m.event.time_ns or 0 for m in matches)
        return [m for m in matches if (m.event.time_ns or 0) >= newest - self.keep_ns]


def _file_id(spec: InputSpec) -> FileId:
    if is_s3(spec.path):  # key + size + ETag (and last-modified), as listed
        size, mtime_ns, etag = s3.LISTED.get(spec.path, (None, None, None))
        return FileId(spec.path, size, mtime_ns, etag)
    try:
        st = os.stat(spec.path)
    except OSError:  # gone or unreadable: the scan reports it; a later file there is new
        return FileId(spec.path, None, None)
    return FileId(spec.path, st.st_size, st.st_mtime_ns)
