"""The Spark engine: Spark executors run the local engines' per-file scan.

    SparkEngine(master="local[*]", conf={...})      # registered as "spark" (engine/__init__.py)

`compile` is the fast engine's plan (FastEngine().compile: the reference predicates, the
prefilter's anchors). The RuleSet is broadcast and each executor's Python worker compiles the
same plan once (the compiled predicates hold RE2 objects, which cannot be pickled; compiling
the shipped packs takes ~0.05-0.09 s). `scan` distributes the files: each executor reads one
file at a time with the local engines' per-file scan (`engine.file_scan.file_parts`, through the same
loading as a local worker), and only the file's matches (wire tuples) and counters
(engine/file_scan.FileResult) cross back: the matches in batches of file_scan.PART while the
file is read, then the counters, exactly the pieces a local worker hands on, so an executor's
memory does not grow with one file's matches. The driver merges them in input order, so
Matches and ScanStats are what `fast` gives, and scoring, correlation, tuning and rows are
pipeline.py's, run once on the driver.

Why a per-file scan rather than Spark SQL: the local engines already scan a file at ~500k
records/s per core, skipping the records no rule can match before decoding them; shipping
decoded events into the JVM to evaluate rules there costs more than the whole local scan, and
needed a third rule compiler, a second correlation and a second scoring (issue #10).

Inputs: local paths (listed on the driver by sources.discover, read by the executors from the
shared file system: local mode, or a mount every executor sees), stdin (spooled by the driver
to a file in TMPDIR a chunk at a time, read by an executor: spool.py), URIs (listed by Hadoop,
read by Spark's `binaryFile` source, a few files per job), or a DataFrame of `content` (binary) /
`value` (string) rows, one input each (api.py).

Scheduling (issue #10): the inputs are cut into contiguous slices of about equal bytes, several
per core (a short tail: the last slices end close together), and run as a pipeline of Spark
jobs, one slice per core each, JOBS_IN_FLIGHT of them submitted at once: when a job is down to
its last task, the next job's tasks already run on the other cores (with one job at a time, a
core idled at every job's end). Spark's FIFO scheduler runs the earlier job's tasks first.

Memory on the driver is bounded by the pipeline, not by the inputs: the results of at most
JOBS_IN_FLIGHT jobs (their matches, compact wire tuples, of at most MAX_PARTITION stored bytes
and MAX_FILES inputs per core each) wait to be merged in input order; no input's bytes pass through the
driver (stdin goes through a file).
"""

from __future__ import annotations

import itertools
import os
import uuid
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

from trailhound.model import Issue, Location
from trailhound.rules.model import RuleSet
from trailhound.sources.files import STDIN, InputSpec, display_name
from trailhound.sources.inputs import open_input
from trailhound.sources.limits import Limits
from trailhound.spark import spool

if TYPE_CHECKING:  # (imported lazily on executors, where pyspark loads this module)
    from trailhound.engine.base import Match
    from trailhound.engine.fast import FastPlan
    from trailhound.engine.file_scan import FileResult, Parts, Piece

__all__ = ["SparkEngine"]

PARTITIONS_PER_CORE = 16  # slices per core at most: a short tail (see the module docstring)
MIN_PARTITION = 8 << 20  # bytes (as stored) a slice holds at least, past one per core
MAX_PARTITION = 32 << 20  # bytes (as stored) a slice holds at most (driver memory: see above)
MAX_FILES = 64  # inputs a slice holds at most (gzip can hide any size: bytes alone bound little)
JOBS_IN_FLIGHT = 3  # Spark jobs submitted at once (each one slice per core)


class Task(NamedTuple):
    """One input for an executor. `where`: "file" (a path every executor sees), "spool"
    (`path` is a spool.Shipped: stdin) or "uri" (read by Spark's binaryFile source)."""

    i: int  # input number
    name: str  # display name
    explicit: bool
    where: str
    path: Any  # str, or spool.Shipped
    size: int


Job = Callable[[], list[Any]]  # runs one Spark job, returns its elements in order


class SparkEngine:
    """The engine contract (engine/base.py) on Apache Spark. `session`: an existing
    SparkSession (default: a SparkContext from `session.build_context(master, conf)` when first
    needed, and a SparkSession on it only for URIs);
    `frame`: a DataFrame of inputs to scan instead of paths (see api.detect_dataframe)."""

    NAME = "spark"
    OPTIONS: ClassVar[dict[str, str]] = {"spark_master": "master", "spark_conf": "conf"}  # CLI options (engine/options.py)

    def __init__(
        self,
        master: str = "local[*]",
        conf: Any = None,
        *,
        session: Any = None,
        frame: Any = None,
        strict: bool = False,
    ) -> None:
        """`strict`: as the fast engine's (decode and normalize every record, so every input
        issue the reference reports is reported; else the S3 shortcut)."""
        self.master = master
        self.conf = conf
        self._session = session
        self.frame = frame
        self.strict = strict

    def context(self) -> Any:
        """The SparkContext, with this trailhound shipped to its executors: the given
        session's, else one started without a SparkSession (session.build_context: a scan of
        files needs none)."""
        from trailhound.spark.session import build_context, ship_code

        if self._session is not None:
            sc = self._session.sparkContext
        else:
            sc = build_context(self.master, self.conf)
        ship_code(sc)
        return sc

    def session(self) -> Any:
        """A SparkSession (URIs, DataFrames): the given one, else one on `context()`."""
        if self._session is None:
            self.context()
            from pyspark.sql import SparkSession

            self._session = SparkSession.builder.getOrCreate()  # on the active context
        return self._session

    def compile(self, ruleset: RuleSet) -> FastPlan:
        from trailhound.engine.fast import FastEngine

        return FastEngine(strict=self.strict).compile(ruleset)

    def discover(self, paths: Sequence[str]) -> tuple[list[InputSpec], list[Issue]]:
        """sources.discover, with URIs listed by Hadoop (listing.py)."""
        from trailhound.spark.listing import discover

        return discover(self.context, paths)

    def scan(
        self,
        plan: FastPlan,
        specs: Sequence[InputSpec],
        stats: Any,
        profile: Any,
        *,
        stdin: Any = None,
        on_file: Callable[[Any], None] | None = None,
        limits: Limits | None = None,
    ) -> Iterator[Match]:
        """The Matches of every input, in input order; `stats` (pipeline.ScanStats) filled
        exactly as the local engines fill it."""
        limits = limits or Limits()
        if self.frame is not None:
            return _merge(plan, None, stats, self._frame_results(plan, profile, limits), on_file)
        if not specs:
            return iter(())
        results = self._results(plan, specs, profile, stdin, limits)
        return _merge(plan, specs, stats, results, on_file)

    # -- the driver side ----------------------------------------------------------------------

    def _blob(self, plan: FastPlan, profile: Any, limits: Limits) -> Any:
        """What every executor needs, broadcast once: the RuleSet (each Python worker compiles
        it once, as the driver did: compiled predicates hold RE2 objects, which cannot be
        pickled), the profile and the limits."""
        shipped = (plan.ruleset, self.strict, profile, limits)
        return self.context().broadcast(shipped)

    def _results(
        self, plan: FastPlan, specs: Sequence[InputSpec], profile: Any, stdin: Any,
        limits: Limits,
    ) -> Generator[Piece, None, None]:
        """Each input's pieces (file_scan.Piece: batches of matches, then its FileResult), in
        input order."""
        from trailhound.spark.listing import is_uri

        sc = self.context()
        blob = self._blob(plan, profile, limits)
        tasks: list[Task] = []
        got: dict[int, Any] = {}  # results known before the scan, by input number
        spooled: list[str] = []
        try:
            for i, spec in enumerate(specs):
                name = display_name(spec)
                if spec.path == STDIN:
                    try:
                        with open_input(spec, stdin) as fh:
                            spooled.append(spool.spool_stream(fh))
                    except OSError as exc:
                        got[i] = _unreadable(name, exc.strerror or type(exc).__name__)
                        continue
                    ref = spool.ship(sc, spooled[-1])
                    tasks.append(Task(i, name, True, "spool", ref, os.path.getsize(spooled[-1])))
                elif is_uri(spec.path):
                    tasks.append(Task(i, name, spec.explicit, "uri", spec.path, spec.size or 0))
                else:
                    tasks.append(Task(i, name, spec.explicit, "file", spec.path, spec.size or 0))
            runs = _pipelined(sc, _jobs(sc, self.session, blob, tasks))
            try:
                for i in range(len(specs)):
                    if i in got:
                        yield got.pop(i)
                        continue
                    for j, piece in runs:  # input i's batches, then its FileResult
                        assert j == i, (j, i)  # the jobs hold the inputs in order
                        yield piece
                        if not isinstance(piece, list):
                            break
            finally:
                runs.close()
        finally:
            blob.unpersist()
            for path in spooled:
                spool.remove(path)

    def _frame_results(self, plan: FastPlan, profile: Any, limits: Limits) -> Iterator[Piece]:
        from pyspark.sql import functions as S

        from trailhound.errors import UsageError

        df = self.frame
        cols = set(df.columns)
        if "content" in cols:
            content = S.col("content").cast("binary")
        elif "value" in cols:
            content = S.encode(S.col("value"), "UTF-8")
        else:
            raise UsageError(
                "a DataFrame input needs a binary `content` column (one row per file, as "
                "spark.read.format('binaryFile') gives) or a string `value` column (one JSON "
                "text per row, as spark.read.text gives)"
            )
        display = S.col("path").cast("string") if "path" in cols else S.lit(None).cast("string")
        picked = df.select(
            S.coalesce(display, S.lit("<dataframe>")).alias("display"), content.alias("content")
        )
        sc = self.context()
        blob = self._blob(plan, profile, limits)
        rdd = picked.rdd.mapPartitions(lambda rows: _scan_rows(blob, rows))
        runs = _pipelined(sc, _partition_jobs(sc, rdd))
        try:
            yield from runs
        finally:
            runs.close()
            blob.unpersist()


def _merge(plan: FastPlan, specs: Sequence[InputSpec] | None, stats: Any,
           results: Iterator[Piece], on_file: Callable[[Any], None] | None) -> Iterator[Match]:
    """The pieces of every input, in input order (batches of wire matches, then the input's
    FileResult), into Matches and `stats` (ScanStats.merge, as the local engines merge theirs);
    `specs` None: a DataFrame's rows (no InputSpec, no progress)."""
    ended = iter(specs or ())
    try:
        for piece in results:
            if isinstance(piece, list):
                for w in piece:
                    yield plan.from_wire(w)
                continue
            stats.merge(piece.stats)
            for w in piece.matches:  # (none: an executor sends them in batches)
                yield plan.from_wire(w)
            if on_file is not None and specs is not None:
                on_file(next(ended))
    finally:
        close = getattr(results, "close", None)
        if close is not None:  # cancels the running Spark jobs (see _pipelined)
            close()


def _unreadable(name: str, reason: str) -> FileResult:
    return _failed(name, "unreadable", f"cannot read: {reason}")


def _jobs(sc: Any, session: Callable[[], Any], blob: Any, tasks: list[Task]) -> Iterator[Job]:
    """The Spark jobs that scan `tasks`, in input order, each giving (input number,
    FileResult) in input order: runs of files and stdin as slices of one RDD, one slice per
    core per job; runs of URIs through binaryFile (`session()`: a SparkSession), about as
    many bytes per job."""
    cores = max(1, sc.defaultParallelism)
    for remote, group in itertools.groupby(tasks, key=lambda t: t.where == "uri"):
        run = list(group)
        n = _slice_count(run, cores)
        if remote:
            for chunk in _cut(run, -(-n // cores), MAX_FILES * cores):
                yield partial(_uri_job, session(), blob, chunk)
        else:
            slices = _cut(run, n)
            rdd = sc.parallelize(slices, len(slices)).mapPartitions(
                lambda parts: _scan_tasks(blob, parts)
            )
            yield from _partition_jobs(sc, rdd)


def _partition_jobs(sc: Any, rdd: Any) -> Iterator[Job]:
    """One job per `cores` partitions of `rdd`, in partition order."""
    n = rdd.getNumPartitions()
    per_job = max(1, sc.defaultParallelism)
    for start in range(0, n, per_job):
        parts = list(range(start, min(start + per_job, n)))
        yield partial(_run_partitions, sc, rdd, parts)


def _run_partitions(sc: Any, rdd: Any, parts: list[int]) -> list[Any]:
    return list(sc.runJob(rdd, _identity, parts))


def _slice_count(tasks: list[Task], cores: int) -> int:
    """How many slices to cut `tasks` into: at least one per core, more (up to
    PARTITIONS_PER_CORE per core) when there is enough to read that a Spark task costs little
    beside it, and enough that none holds more than MAX_PARTITION bytes or MAX_FILES inputs
    (the driver holds a few slices' matches at a time)."""
    total = sum(max(t.size, 1) for t in tasks)
    n = max(cores, min(cores * PARTITIONS_PER_CORE, total // MIN_PARTITION),
            -(-total // MAX_PARTITION), -(-len(tasks) // MAX_FILES))
    return max(1, min(len(tasks), n))


def _cut(tasks: list[Task], n: int, max_files: int = MAX_FILES) -> list[list[Task]]:
    """`tasks` in n contiguous slices of about equal bytes (a task goes to the slice its first
    byte falls in), in input order; a slice of more than `max_files` inputs is cut again."""
    total = sum(max(t.size, 1) for t in tasks)
    out: list[list[Task]] = [[] for _ in range(n)]
    done = 0
    for t in tasks:
        out[min(n - 1, done * n // total)].append(t)
        done += max(t.size, 1)
    return [s[k : k + max_files] for s in out for k in range(0, len(s), max_files)]


def _uri_job(spark: Any, blob: Any, chunk: list[Task]) -> list[tuple[int, Piece]]:
    """(input number, piece) of the URI files of `chunk`, in input order (one job; each
    file's batches, then its FileResult)."""
    df = (
        spark.read.format("binaryFile")
        .option("ignoreCorruptFiles", "true")
        .option("ignoreMissingFiles", "true")
        .load([t.path for t in chunk])
        .select("path", "content")
    )
    index = {t.path: (t.i, t.explicit) for t in chunk}
    got: dict[int, list[Piece]] = {}  # (binaryFile's rows are in no particular order)
    for i, piece in df.rdd.mapPartitions(lambda rows: _scan_uris(blob, index, rows)).collect():
        got.setdefault(i, []).append(piece)
    return [
        (t.i, piece) for t in chunk
        for piece in got.get(t.i) or [_unreadable(t.name, "Spark could not read this file")]
    ]


def _pipelined(sc: Any, jobs: Iterator[Job], depth: int = JOBS_IN_FLIGHT) -> Generator[Any, None, None]:
    """The elements of `jobs`' results, job by job, in order, with up to `depth` jobs submitted
    to Spark at once (see the module docstring). Closing the iterator cancels the jobs still
    running (hence Generator: callers close it)."""
    group = f"trailhound-{uuid.uuid4().hex}"

    def run(job: Job) -> list[Any]:
        sc.setJobGroup(group, "trailhound scan", interruptOnCancel=True)
        return job()

    pool = ThreadPoolExecutor(max_workers=depth)
    pending: deque[Future[list[Any]]] = deque()
    try:
        for job in itertools.islice(jobs, depth):
            pending.append(pool.submit(run, job))
        while pending:
            got = pending.popleft().result()
            for job in itertools.islice(jobs, 1):
                pending.append(pool.submit(run, job))
            yield from got
    finally:
        if any(not f.done() for f in pending):
            sc.cancelJobGroup(group)
        pool.shutdown(wait=True, cancel_futures=True)


def _identity(it: Iterable[Any]) -> Iterable[Any]:
    return it


# -- the executor side ------------------------------------------------------------------------

def _state(blob: Any) -> tuple[Any, Any, Limits]:
    """(plan, profile, limits) on an executor: the plan compiled once per Python worker.
    PySpark keeps one Broadcast object per id in a worker (reused across tasks), so the plan
    is kept on it."""
    got = getattr(blob, "_trailhound_state", None)
    if got is None:
        from trailhound.engine.fast import FastEngine

        ruleset, strict, profile, limits = blob.value
        plan = FastEngine(strict=strict).compile(ruleset)
        got = blob._trailhound_state = (plan, profile, limits)
    return got


def _guarded(name: str, parts: Parts) -> Iterator[Piece]:
    """One file's pieces: its batches of matches as they are found, then its FileResult. An
    unexpected error in the scan ends the file as an issue (as a local worker's death does: the
    batches before it stand), so the other files' findings are kept."""
    try:
        res = yield from parts
    except MemoryError:
        from trailhound.engine.workers import OOM_FAILURE

        res = _failed(name, OOM_FAILURE.kind, OOM_FAILURE.message)
    except Exception as exc:  # noqa: BLE001 - reported per file, see the docstring
        res = _failed(
            name, "worker_died",
            f"the Spark task reading this file failed ({type(exc).__name__}: {exc}); its "
            "findings may be incomplete. Run it with --engine fast --debug to see why",
        )
    yield res


def _failed(name: str, kind: str, message: str) -> FileResult:
    from trailhound.engine.file_scan import FileResult

    res = FileResult()
    res.stats.add_issue(Issue(Location(name), kind, message, "error"))
    return res


def _spooled_parts(plan: Any, profile: Any, t: Task, limits: Limits) -> Parts:
    """stdin, from the driver's spool file, read as the local engines read stdin."""
    from trailhound.engine.file_scan import spec_parts

    try:
        fh = open(spool.local_path(t.path), "rb")  # noqa: SIM115 - closed below
    except OSError as exc:
        return _unreadable(t.name, f"the driver's copy of stdin: {exc.strerror or exc}")
    with fh:
        return (yield from spec_parts(plan, profile, InputSpec(STDIN, t.size, True), fh, limits))


def _scan_tasks(blob: Any, parts: Iterable[list[Task]]) -> Iterator[tuple[int, Piece]]:
    from trailhound.engine.file_scan import spec_parts

    plan, profile, limits = _state(blob)
    for part in parts:
        for t in part:
            if t.where == "spool":
                pieces = _guarded(t.name, _spooled_parts(plan, profile, t, limits))
            else:
                spec = InputSpec(t.path, t.size, t.explicit)
                pieces = _guarded(t.name, spec_parts(plan, profile, spec, None, limits))
            for piece in pieces:
                yield t.i, piece


def _scan_uris(
    blob: Any, index: dict[str, tuple[int, bool]], rows: Iterable[Any]
) -> Iterator[tuple[int, Piece]]:
    from trailhound.engine.file_scan import bytes_parts

    plan, profile, limits = _state(blob)
    for path, content in rows:
        if path in index:
            i, explicit = index[path]
            parts = bytes_parts(plan, profile, bytes(content), path, explicit, limits)
            for piece in _guarded(path, parts):
                yield i, piece


def _scan_rows(blob: Any, rows: Iterable[Any]) -> Iterator[Piece]:
    from trailhound.engine.file_scan import bytes_parts

    plan, profile, limits = _state(blob)
    for name, content in rows:
        raw = b"" if content is None else bytes(content)
        yield from _guarded(name, bytes_parts(plan, profile, raw, name, True, limits))
