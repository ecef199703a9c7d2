"""The fast engine's reading: files -> Matches, in worker processes, in input order.

One file at a time per worker (forked processes under supervision: workers.py), results merged
in input order, so the Match stream is the one the reference engine yields on the same inputs,
in the same order. A file whose worker dies or gets stuck is an input error.

Per file (`file_parts`, in batches; `spec_parts` / `bytes_parts` are the Spark executors' entry
points, `scan_bytes` / `scan_loaded` the whole-file forms):

1. Load (sources.inputs.load: ISA-L for one small member, else streamed zlib under the caps of
   sources.limits). An input larger than Limits.stream_threshold is streamed through the
   readers (sources.stream) in bounded memory.
2. Unless the plan is strict, a whole plain CloudTrail S3 document may take the S3 shortcut
   (fast_scan.py: decodes only the records some rule may match). Anything else - gzip
   problems, a BOM, UTF-16, invalid UTF-8, other shapes - goes through the readers
   (sources.reader.read_loaded) exactly as the reference engine reads it.
3. Every record read goes through the one reader loop (engine/loop.py) and is evaluated by the
   reference predicates of the rules its anchors allow (FastPlan.evaluate).

What a file contributed is a `FileResult`: its counts (a ScanStats of its own, merged into the
scan's by ScanStats.merge) and its matches as wire tuples (FastPlan.to_wire; decoded by
FastPlan.from_wire). The matches are handed on in batches of PART while the file is read
(`file_parts`; a worker sends each batch as a partial reply, workers.Part), so memory does
not grow with the matches of one input: a worker holds one small file, or one record of a
large one, plus one batch.
"""

from __future__ import annotations

import functools
import gc
import io
import multiprocessing
import os
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, BinaryIO

from trailhound.digits import is_digits
from trailhound.engine.base import Match
from trailhound.engine.fast import WireMatch
from trailhound.engine.fast_normalize import normalize_fast
from trailhound.engine.loop import events
from trailhound.engine.workers import Failure, Part, supervised
from trailhound.model import Issue, Location
from trailhound.pipeline import ScanStats
from trailhound.profiles import Profile
from trailhound.report.columns import pre_row
from trailhound.scoring import RowMatches
from trailhound.sources import InputSpec
from trailhound.sources.envelopes import Item
from trailhound.sources.files import STDIN, display_name
from trailhound.sources.gzipio import is_gzip
from trailhound.sources.inputs import Streamed, Whole, load, open_input
from trailhound.sources.limits import Limits
from trailhound.sources.reader import read_loaded

__all__ = [
    "At", "FileResult", "Parts", "bytes_parts", "file_parts", "scan_bytes", "scan_loaded", "scan_specs",
    "spec_parts", "whole",
]

PART = 256  # matches per batch handed on: a few hundred KB (a wire match is about 1-2 KB)


@dataclass
class FileResult:
    """What one input contributed: its counts and its matches (FastPlan wire tuples)."""

    stats: ScanStats = field(default_factory=lambda: ScanStats(files=1))
    matches: list[WireMatch] = field(default_factory=list)
    mode: str = "reader"  # "s3" (the S3 shortcut), "reader", or "stream" (a large input)
    decoded: int = 0  # records decoded in full (S3 shortcut)

    @property
    def records(self) -> int:
        return self.stats.records

    @property
    def events(self) -> int:
        return self.stats.events

    @property
    def not_admitted(self) -> int:
        return self.stats.not_admitted


# One input's reading: batches of its matches, then (returned) its FileResult (see file_parts).
Parts = Generator[list[WireMatch], None, FileResult]

class At:
    """What `evaluate_items` needs to know of the record its items came from, set by the
    producer of the items before it yields each (the S3 path: one producer for a whole file, so
    the reader loop is entered once per file, not once per record). `candidates`: the rules to
    evaluate (None: ask the prefilter); `seg`: the raw bytes `value` was decoded from (None:
    none); `shallow`: the record is known to nest within jsonutil.MAX_NESTING. Events are
    pulled one at a time, so each is evaluated before the producer moves on."""

    __slots__ = ("candidates", "seg", "shallow", "value")

    def __init__(self) -> None:
        self.candidates: Any = None
        self.seg: bytes | None = None
        self.value: Any = None
        self.shallow = False  # known to nest no deeper than jsonutil.MAX_NESTING (loop.events)


def evaluate_items(plan: Any, profile: Profile, items: Iterable[Item], stats: ScanStats,
                   at: At | None = None) -> Iterator[WireMatch]:
    """The reader loop over `items` (counted into `stats`), each event evaluated and its Match
    yielded as a wire tuple (`at`: the candidates and bytes of the record each item came from,
    see At; events whose raw record `at.value` is travel as those bytes, with their finding's
    row built here: report/columns.pre_row)."""
    row = functools.partial(pre_row, profile=profile)
    at = at or At()
    evaluate, to_wire = plan.evaluate, plan.to_wire  # (bound once: called for every event)
    for event in events(items, stats, profile, normalize_fast, lambda: at.shallow):
        m = evaluate(event, at.candidates)
        if m is not None:
            w = to_wire(m, at.seg, at.value, row)
            if w is not None:
                yield w


def file_parts(plan: Any, profile: Any, got: Whole | Streamed, name: str, explicit: bool,
               limits: Limits) -> Parts:
    """One loaded input's matches in batches of at most PART, as they are found, then (the
    generator's return value) its FileResult holding its counts and no matches: a file where
    every record matches is handed on a batch at a time, never held whole (#9). A large
    (streamed) input, a cut or corrupt gzip stream, or gzip inside gzip goes through the
    readers; a whole plain document may take the S3 path."""
    found: tuple[FileResult, Iterator[WireMatch]] | None = None
    if (plan.use_projection and isinstance(got, Whole) and got.problem is None
            and not (got.gzip and is_gzip(got.data))):
        from trailhound.engine.fast_scan import s3_file  # (the fragile part: only when used)

        found = s3_file(plan, profile, got.data, name)
    if found is None:
        res = FileResult(mode="reader" if isinstance(got, Whole) else "stream")
        found = res, evaluate_items(plan, profile, read_loaded(got, name, explicit, limits),
                                    res.stats)
    res, wires = found
    while batch := list(islice(wires, PART)):
        plan.flush_rows()  # (the rows a batch's wires name are written before it leaves)
        yield batch
    return res


def whole(parts: Parts) -> FileResult:
    """A file's FileResult with all its matches (the Spark executors and tests, which send or
    check one file's result at once)."""
    matches: list[WireMatch] = []
    while True:
        try:
            matches.extend(next(parts))
        except StopIteration as stop:
            res: FileResult = stop.value
            res.matches = matches
            return res


def bytes_parts(plan: Any, profile: Any, raw: bytes, name: str, explicit: bool,
                limits: Limits) -> Parts:
    """`file_parts` of one input's bytes (a Spark URI's or DataFrame row's content)."""
    return (yield from file_parts(plan, profile, load(io.BytesIO(raw), limits, len(raw)), name,
                                  explicit, limits))


def scan_bytes(plan: Any, profile: Any, raw: bytes, name: str, explicit: bool,
               limits: Limits | None = None) -> FileResult:
    """Everything one input's bytes contribute (see the module docstring), whole."""
    limits = limits or Limits()
    return whole(bytes_parts(plan, profile, raw, name, explicit, limits))


def scan_loaded(plan: Any, profile: Any, got: Whole | Streamed, name: str, explicit: bool,
                limits: Limits) -> FileResult:
    """`file_parts` of a loaded input, whole."""
    return whole(file_parts(plan, profile, got, name, explicit, limits))


# ---------------------------------------------------------------------------------------------
# Many files


def _unreadable(name: str, exc: OSError) -> FileResult:
    res = FileResult()
    reason = exc.strerror or type(exc).__name__
    res.stats.add_issue(Issue(Location(name), "unreadable", f"cannot read: {reason}", "error"))
    return res


def spec_parts(plan: Any, profile: Any, spec: InputSpec, stdin: BinaryIO | None,
                limits: Limits) -> Parts:
    """`file_parts` of one input, read as a stream (`stdin`: the stream "-" names; None:
    sys.stdin). A read error ends it as `unreadable` (the batches before it stand)."""
    name = display_name(spec)
    try:
        with open_input(spec, stdin) as fh:
            got = load(fh, limits, spec.size)
            return (yield from file_parts(plan, profile, got, name, spec.explicit, limits))
    except OSError as exc:
        return _unreadable(name, exc)


_STATE: tuple[Any, Any, Limits] | None = None  # (plan, profile, limits), inherited by forked workers


def _start_worker() -> None:
    # Per-file objects (decoded records, events) form no reference cycles: collect rarely.
    gc.set_threshold(100_000, 50, 1000)
    gc.enable()  # (the parent pauses its own collector while it merges)


def _work(spec: InputSpec) -> Parts:
    assert _STATE is not None
    plan, profile, limits = _STATE
    return spec_parts(plan, profile, spec, None, limits)


def _failed(spec: InputSpec, why: Failure) -> FileResult:
    """A file whose worker died or was stopped (workers.py): an input error, counted."""
    res = FileResult()
    res.stats.add_issue(Issue(Location(display_name(spec)), why.kind, why.message, "error"))
    return res


def default_jobs() -> int:
    env = os.environ.get("TRAILHOUND_JOBS")
    if env and is_digits(env) and int(env) > 0:
        return int(env)
    return os.cpu_count() or 1


def _matches(wires: Iterable[WireMatch], from_wire: Callable[[WireMatch], Match]) -> Iterator[Match]:
    """The Matches of `wires`, in order; each run of rows-only wires (a rows-only scan's findings
    final in the worker) as one scoring.RowMatches, its wires as they came."""
    rows: list[Any] = []
    for w in wires:
        if w[0] == "r":
            rows.append(w)
            continue
        if rows:
            yield RowMatches(rows, from_wire)
            rows = []
        yield from_wire(w)
    if rows:
        yield RowMatches(rows, from_wire)


# What scan_specs' reading hands on, in input order: each input's batches of matches, then its
# FileResult (its counts; the matches of a file whose worker failed: none).
Piece = list[WireMatch] | FileResult


def scan_specs(
    plan: Any,
    specs: Sequence[InputSpec],
    stats: ScanStats,
    profile: Profile,
    *,
    stdin: BinaryIO | None = None,
    on_file: Callable[[InputSpec], None] | None = None,
    jobs: int | None = None,
    limits: Limits | None = None,
) -> Iterator[Match]:
    """Matches of every input, in input order, the counts merged into `stats` (each input's
    when it ends). Files are read by worker processes, which hand their matches on in batches
    (workers.Part) while they read; stdin ("-") by this process, as a stream, when its turn
    comes (a pipe cannot be handed to a worker, and reading it whole first would hold all of it
    in memory)."""
    jobs = jobs or plan.jobs or default_jobs()
    limits = limits or Limits()
    if plan.use_projection:
        from trailhound.engine.fast_scan import projection

        projection(plan)  # build the msgspec types once, before forking
    files = [s for s in specs if s.path != STDIN]

    def here(spec: InputSpec) -> Generator[Piece, None, None]:
        yield (yield from spec_parts(plan, profile, spec, stdin, limits))

    def pieces() -> Generator[Piece, None, None]:
        global _STATE
        if jobs <= 1 or len(files) <= 1 or "fork" not in multiprocessing.get_all_start_methods():
            for spec in specs:
                yield from here(spec)
            return
        _STATE = (plan, profile, limits)
        # Objects that exist now (modules, rules, the plan) are never garbage: keep the workers'
        # collector off them (it would walk them again and again, and copy their pages).
        gc.freeze()
        runs = supervised(
            files, _work, _failed, jobs=jobs, init=_start_worker,
            sizes=[spec.size for spec in files], names=display_name,
        )
        try:
            for spec in specs:
                if spec.path == STDIN:
                    yield from here(spec)
                    continue
                for got in runs:
                    if isinstance(got, Part):
                        yield got.value
                    else:
                        yield got
                        break
        finally:
            runs.close()  # stops the workers now (also on an error or an abandoned scan)
            gc.unfreeze()
            _STATE = None

    # The main process keeps every match it yields (scoring holds the findings until the end):
    # hundreds of thousands of dicts the cyclic collector would walk again and again, although
    # decoded JSON and the events built on it form no cycles. Paused while scanning (as the
    # readers pause it to decode a big document), restored after.
    paused = gc.isenabled()
    gc.disable()
    runs = pieces()
    ended = iter(specs)
    try:
        for piece in runs:
            if isinstance(piece, FileResult):
                stats.merge(piece.stats)
                wires = piece.matches
            else:
                wires = piece
            yield from _matches(wires, plan.from_wire)
            if isinstance(piece, FileResult) and on_file is not None:
                on_file(next(ended))
    finally:
        runs.close()  # stops the pool (see pieces())
        if paused:
            gc.enable()
