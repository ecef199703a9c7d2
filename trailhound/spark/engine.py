"""The Spark engine: Spark executors run the local engines' per-file scan.

    SparkEngine(master="local[*]", conf={...})      # registered as "spark" (engine/__init__.py)

`compile` is the fast engine's plan (FastEngine().compile: the reference predicates, the
prefilter's anchors). The RuleSet is broadcast and each executor's Python worker compiles the
same plan once (the compiled predicates hold RE2 objects, which cannot be pickled; compiling
the shipped packs takes ~0.25 s). `scan` distributes the files: each executor calls
`engine.file_scan.scan_bytes` (or, for a local path, the same function's file twin) on one file
at a time, exactly as a local worker process does, and only the file's matches (wire tuples)
and counters (engine/file_scan.FileResult) cross back. The driver merges them in input order
with the local engines' own merge, so Matches and ScanStats are what `fast` gives, and
scoring, correlation, tuning and rows are pipeline.py's, run once on the driver.

Why a per-file scan rather than Spark SQL: the local engines already scan a file at ~500k
records/s per core, skipping the records no rule can match before decoding them; shipping
decoded events into the JVM to evaluate rules there costs more than the whole local scan, and
needed a third rule compiler, a second correlation and a second scoring (issue #10).

Inputs: local paths (listed on the driver by sources.discover, read by the executors from the
shared file system: local mode, or a mount every executor sees), stdin (read by the driver,
shipped as bytes), URIs (listed by Hadoop, read by Spark's `binaryFile` source), or a
DataFrame of `content` (binary) / `value` (string) rows, one input each (api.py).

Memory on the driver: the files' results arrive in waves of partitions (the next wave runs
while the current one is merged), so a local scan holds a few partitions' matches at a time.
URI inputs are read in one Spark job and held until merged in order.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, ClassVar

from trailhound.model import Issue, Location
from trailhound.rules.model import RuleSet
from trailhound.sources.files import STDIN, InputSpec, display_name, read_raw
from trailhound.sources.limits import Limits

if TYPE_CHECKING:  # (engine/__init__.py imports this module to register it)
    from trailhound.engine.base import Match
    from trailhound.engine.fast import FastPlan

__all__ = ["SparkEngine"]

PARTITIONS_PER_CORE = 8  # small partitions: balanced cores, small waves of results
MIN_PARTITION = 16 << 20  # bytes (as stored) a partition holds at least, past one per core
WAVE_PER_CORE = 2  # partitions per Spark job, per core (the next wave is submitted early)

# A task: (input number, display name, explicit, local path or None, bytes or None, size)
Task = tuple[int, str, bool, str | None, bytes | None, int]


class SparkEngine:
    """The engine contract (engine/base.py) on Apache Spark. `session`: an existing
    SparkSession (default: `session.build_session(master, conf)` when first needed);
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

    def session(self) -> Any:
        if self._session is None:
            from trailhound.spark.session import build_session

            self._session = build_session(self.master, self.conf)
        from trailhound.spark.session import ship_code

        ship_code(self._session)
        return self._session

    def compile(self, ruleset: RuleSet) -> FastPlan:
        from trailhound.engine.fast import FastEngine

        return FastEngine(strict=self.strict).compile(ruleset)

    def discover(self, paths: Sequence[str]) -> tuple[list[InputSpec], list[Issue]]:
        """sources.discover, with URIs listed by Hadoop (listing.py)."""
        from trailhound.spark.listing import discover

        return discover(self.session, paths)

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
        return self.session().sparkContext.broadcast(shipped)

    def _results(
        self, plan: FastPlan, specs: Sequence[InputSpec], profile: Any, stdin: Any,
        limits: Limits,
    ) -> Iterator[Any]:
        from trailhound.engine.file_scan import FileResult
        from trailhound.spark.listing import is_uri

        spark = self.session()
        sc = spark.sparkContext
        blob = self._blob(plan, profile, limits)
        local: list[Task] = []
        remote: dict[str, tuple[int, bool]] = {}
        got: dict[int, FileResult] = {}  # results known before the scan, by input number
        for i, spec in enumerate(specs):
            name = display_name(spec)
            if spec.path == STDIN:
                try:
                    data = read_raw(spec, stdin)
                except OSError as exc:
                    got[i] = _unreadable(name, exc.strerror or type(exc).__name__)
                    continue
                local.append((i, name, True, None, data, len(data)))
            elif is_uri(spec.path):
                remote[spec.path] = (i, spec.explicit)
            else:
                local.append((i, name, spec.explicit, spec.path, None, spec.size or 0))
        if remote:
            got.update(_read_remote(spark, blob, remote))
            for uri, (i, _) in remote.items():
                if i not in got:  # listed, but Spark could not read it
                    got[i] = _unreadable(uri, "Spark could not read this file")
        waves = _waves(sc, _local_rdd(sc, blob, local), sc.defaultParallelism * WAVE_PER_CORE)
        try:
            for i in range(len(specs)):
                if i in got:
                    yield got.pop(i)
                    continue
                j, res = next(waves)
                assert j == i, (j, i)  # the partitions hold the local inputs in order
                yield res
        finally:
            waves.close()
            blob.unpersist()

    def _frame_results(self, plan: FastPlan, profile: Any, limits: Limits) -> Iterator[Any]:
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
        sc = self.session().sparkContext
        blob = self._blob(plan, profile, limits)
        rdd = picked.rdd.mapPartitions(lambda rows: _scan_rows(blob, rows))
        waves = _waves(sc, rdd, sc.defaultParallelism * WAVE_PER_CORE)
        try:
            yield from waves
        finally:
            waves.close()
            blob.unpersist()


def _merge(plan: FastPlan, specs: Sequence[InputSpec] | None, stats: Any,
           results: Iterator[Any], on_file: Callable[[Any], None] | None) -> Iterator[Match]:
    """The FileResults, in input order, into `stats` (ScanStats.merge, as the local engines
    merge theirs) and Matches; `specs` None: a DataFrame's rows (no InputSpec, no progress)."""
    try:
        for k, res in enumerate(results):
            stats.merge(res.stats)
            for w in res.matches:
                yield plan.from_wire(w)
            if on_file is not None and specs is not None:
                on_file(specs[k])
    finally:
        close = getattr(results, "close", None)
        if close is not None:  # cancels the running Spark job (see _waves)
            close()


def _unreadable(name: str, reason: str) -> Any:
    return _failed(name, "unreadable", f"cannot read: {reason}")


def _local_rdd(sc: Any, blob: Any, tasks: list[Task]) -> Any:
    """The tasks in contiguous slices of about equal bytes, in input order (so the results of
    the partitions, in partition order, are in input order)."""
    if not tasks:
        return sc.emptyRDD()
    cores = sc.defaultParallelism
    total = sum(max(t[5], 1) for t in tasks)
    # at least one partition per core, more (up to PARTITIONS_PER_CORE) when there is enough
    # to read that a Spark task costs little beside it
    n = max(1, min(len(tasks), max(cores, min(cores * PARTITIONS_PER_CORE, total // MIN_PARTITION))))
    slices: list[list[Task]] = [[] for _ in range(n)]
    done = 0
    for t in tasks:
        k = min(n - 1, done * n // total)
        slices[k].append(t)
        done += max(t[5], 1)
    slices = [s for s in slices if s]
    return sc.parallelize(slices, len(slices)).mapPartitions(
        lambda parts: _scan_tasks(blob, parts)
    )


def _read_remote(
    spark: Any, blob: Any, index: dict[str, tuple[int, bool]]
) -> list[tuple[int, Any]]:
    """(input number, FileResult) of every URI file Spark could read (one job)."""
    df = (
        spark.read.format("binaryFile")
        .option("ignoreCorruptFiles", "true")
        .option("ignoreMissingFiles", "true")
        .load(sorted(index))
        .select("path", "content")
    )
    wanted = dict(index)
    return list(df.rdd.mapPartitions(lambda rows: _scan_uris(blob, wanted, rows)).collect())


def _waves(sc: Any, rdd: Any, per_wave: int) -> Generator[Any, None, None]:
    """The elements of `rdd`, partition by partition, in order, computed `per_wave` partitions
    per Spark job with the next job already running while a wave is consumed. Closing the
    iterator cancels the running job (hence Generator: callers close it)."""
    n = rdd.getNumPartitions()
    batches = [list(range(i, min(i + per_wave, n))) for i in range(0, n, max(per_wave, 1))]
    group = f"trailhound-{uuid.uuid4().hex}"

    def run(parts: list[int]) -> list[Any]:
        sc.setJobGroup(group, "trailhound scan", interruptOnCancel=True)
        return list(sc.runJob(rdd, _identity, parts))

    pool = ThreadPoolExecutor(max_workers=1)
    try:
        pending = pool.submit(run, batches[0]) if batches else None
        for k in range(len(batches)):
            assert pending is not None
            got = pending.result()
            pending = pool.submit(run, batches[k + 1]) if k + 1 < len(batches) else None
            yield from got
    finally:
        if pending is not None and not pending.done():
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


def _guarded(name: str, scan: Callable[..., Any], *args: Any) -> Any:
    """One file's result; an unexpected error in the scan becomes that file's issue (as a
    local worker's death does), so the other files' findings are kept."""
    try:
        return scan(*args)
    except MemoryError:
        from trailhound.engine.workers import OOM_FAILURE

        return _failed(name, OOM_FAILURE.kind, OOM_FAILURE.message)
    except Exception as exc:  # noqa: BLE001 - reported per file, see the docstring
        return _failed(
            name, "worker_died",
            f"the Spark task reading this file failed ({type(exc).__name__}: {exc}); its "
            "findings are missing. Run it with --engine fast --debug to see why",
        )


def _failed(name: str, kind: str, message: str) -> Any:
    from trailhound.engine.file_scan import FileResult

    res = FileResult()
    res.stats.add_issue(Issue(Location(name), kind, message, "error"))
    return res


def _scan_tasks(blob: Any, parts: Iterable[list[Task]]) -> Iterator[tuple[int, Any]]:
    from trailhound.engine.file_scan import _scan_spec, scan_bytes

    plan, profile, limits = _state(blob)
    for part in parts:
        for i, name, explicit, path, data, size in part:
            if path is not None:
                spec = InputSpec(path, size, explicit)
                yield i, _guarded(name, _scan_spec, plan, profile, spec, None, limits)
            else:  # stdin, read by the driver
                yield i, _guarded(
                    name, scan_bytes, plan, profile, data or b"", name, explicit, limits
                )


def _scan_uris(
    blob: Any, index: dict[str, tuple[int, bool]], rows: Iterable[Any]
) -> Iterator[tuple[int, Any]]:
    from trailhound.engine.file_scan import scan_bytes

    plan, profile, limits = _state(blob)
    for path, content in rows:
        if path in index:
            i, explicit = index[path]
            raw = bytes(content)
            yield i, _guarded(path, scan_bytes, plan, profile, raw, path, explicit, limits)


def _scan_rows(blob: Any, rows: Iterable[Any]) -> Iterator[Any]:
    from trailhound.engine.file_scan import scan_bytes

    plan, profile, limits = _state(blob)
    for name, content in rows:
        raw = b"" if content is None else bytes(content)
        yield _guarded(name, scan_bytes, plan, profile, raw, name, True, limits)
