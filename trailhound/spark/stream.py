"""`trailhound watch --engine spark`: continuous detection as a Spark Structured Streaming job.

    trailhound watch --engine spark --state th.db --checkpoint ckpt/ --output alerts.jsonl DIR|URI

Spark's file source (`readStream`, format `binaryFile`, only the path, length and modification
time selected: the bytes are not read there) lists the watched folder on every trigger and
records in its checkpoint which files each micro-batch holds (the offset log, written before the
batch runs) and which batches finished (the commit log, written after). `foreachBatch` hands each
micro-batch's files to the detection the local watch uses (watch/cycle.Detector: the same state,
carried correlation matches, alert identity, sinks), scanned by the engine asked for (with
`--engine spark`, on the executors).

Exactly once, the idempotent-sink pattern: the micro-batch's alerts, the files it read and its
batch id are committed in ONE state transaction. A process killed after that commit but before
Spark's commit log replays the batch (same id, same files) on restart: the state says the batch
is done, so it is skipped (and its alerts were recorded once; the sinks resend from their
cursors, as watch/sinks.py describes). Killed before the commit: nothing of the batch is in the
state; the replay reads it. The batch id is keyed by the query's id (kept in the checkpoint): a
new checkpoint starts its ids at 0 again without being mistaken for batches done.

Correlation windows across micro-batches: carried by the state (cycle.py), not by Spark's
stateful operators, so a window opened in one micro-batch and closed in a later one (or after a
restart) is seen whole, as in the local watch.

Limits (Spark's file source): a path is read once: a file rewritten in place (same name, new
content) is not read again (CloudTrail, Azure and GCP exports write new objects, never rewrite;
the local watch reads a changed file again). Files older than `maxFileAge` (Spark's default:
7 days before the newest file seen) are ignored after the first batch. The source lists the whole
folder on every trigger (its cost grows with the folder; its option `cleanSource` archives or
deletes what was read). `s3://` is the local engines' scheme: give Spark `s3a://`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import closing
from typing import Any

from trailhound.errors import EngineError, TrailhoundError, UsageError
from trailhound.watch.cycle import CycleResult, Detector, idle_pause_ns
from trailhound.watch.state import FileId, State

# the binaryFile source's fixed schema (a streaming source must be given one)
SCHEMA = "path STRING, modificationTime TIMESTAMP, length LONG, content BINARY"
MAX_FILES_PER_TRIGGER = 1000  # one micro-batch's files: bounds a backlog's first batch
BATCH_KEY = "spark_batch:"  # state meta: the last micro-batch committed, per query id

# Test hook (tests/test_spark_stream.py): called with (batch_id, "before" | "after") around a
# micro-batch's state commit; raising there stands for a crash at that point.
fault: Callable[[int, str], None] | None = None

# What a batch hands back: the state still open (the sinks flush from it) and the cycle's
# result (None: a replayed batch, already committed, skipped).
AfterBatch = Callable[[State, CycleResult | None], None]


def local_path(uri: str) -> str:
    """A `file:` URI as Spark lists it (Hadoop's Path: not percent-encoded) -> the local path,
    so that the state and the alerts name files as the local watch does; other URIs as they
    are (the Spark engine reads them)."""
    if uri.startswith("file://"):
        return uri[len("file://") :]
    if uri.startswith("file:"):
        return uri[len("file:") :]
    return uri


class Stream:
    """One streaming query: the watched paths -> micro-batches -> Detector.run on the state."""

    def __init__(
        self, detector: Detector, state_path: str, checkpoint: str, after: AfterBatch,
        max_files: int | None = None,
    ) -> None:
        self.detector = detector
        self.state_path = state_path
        self.checkpoint = checkpoint
        self.after = after
        self.max_files = max_files or MAX_FILES_PER_TRIGGER
        self._query_id: str | None = None
        self._started = threading.Event()
        self.error: BaseException | None = None  # what made a micro-batch fail

    def frame(self, spark: Any, paths: Sequence[str]) -> Any:
        """The streaming DataFrame of new files (path, length, mtime in microseconds)."""
        from pyspark.sql import functions as F

        frames = []
        for path in paths:
            if path.startswith("s3://"):
                raise UsageError(
                    f"{path}: --engine spark streams through Hadoop: write s3a://, not s3://"
                )
            reader = (
                spark.readStream.format("binaryFile").schema(SCHEMA)
                .option("recursiveFileLookup", "true")
                .option("maxFilesPerTrigger", self.max_files)
            )
            frames.append(
                reader.load(path).select(
                    "path", "length", F.unix_micros("modificationTime").alias("mtime_us")
                )
            )
        df = frames[0]
        for other in frames[1:]:
            df = df.unionByName(other)
        return df

    def start(self, spark: Any, paths: Sequence[str], trigger: Mapping[str, Any]) -> Any:
        """Start the query (`trigger`: DataStreamWriter.trigger's keyword, e.g.
        {"availableNow": True} or {"processingTime": "60 seconds"}); returns it."""
        if not paths:
            raise UsageError("give at least one folder or URI to watch")
        self._started.clear()
        self.error = None
        query = (
            self.frame(spark, paths).writeStream.foreachBatch(self._batch)
            .option("checkpointLocation", self.checkpoint)
            .trigger(**trigger)
            .start()
        )
        self._query_id = str(query.id)  # the same id on every restart from this checkpoint
        self._started.set()
        return query

    def _batch(self, df: Any, batch_id: int) -> None:
        try:
            self._detect(df, batch_id)
        except BaseException as exc:
            self.error = exc  # Spark's exception carries only its text: keep ours to re-raise
            raise

    def _detect(self, df: Any, batch_id: int) -> None:
        self._started.wait()  # the query id is known once start() returned
        rows = df.collect()  # metadata only: a path, a length and a time per file
        key = f"{BATCH_KEY}{self._query_id}"
        with closing(State(self.state_path)) as state:
            done = state.get_meta(key)
            if done is not None and int(done) >= batch_id:
                self.after(state, None)  # a replay of a committed batch: nothing to detect
                return
            inputs = {}  # in path order, as a folder is read (first-seen history's order)
            for r in sorted(rows, key=lambda r: str(r["path"]).split("/")):
                path = local_path(str(r["path"]))
                inputs[path] = FileId(path, int(r["length"]), int(r["mtime_us"]) * 1000)
            if fault is not None:
                fault(batch_id, "before")
            result = self.detector.run(state, inputs=inputs, meta={key: str(batch_id)})
            if fault is not None:
                fault(batch_id, "after")
            self.after(state, result)


def run(
    stream: Stream, spark: Any, paths: Sequence[str], interval_s: float, cycles: int,
) -> None:
    """`watch`'s loop on Spark: with `cycles` N > 0, N runs that each read what is there and
    stop (trigger availableNow), `interval_s` apart (the scheduled-batch form, as a cron job
    would run it); with 0, one query triggered every `interval_s` until interrupted."""
    if cycles == 0:
        # (Spark lists the folders at every trigger, new files or not: never back to back)
        poll = max(interval_s, idle_pause_ns() / 1e9, 0.001)
        trigger: dict[str, Any] = {"processingTime": f"{poll:.3f} seconds"}
        query = stream.start(spark, paths, trigger)
        try:
            _await(stream, query)
        finally:
            query.stop()
        return
    for n in range(cycles):
        if n:
            time.sleep(interval_s)
        _await(stream, stream.start(spark, paths, {"availableNow": True}))


def _await(stream: Stream, query: Any) -> None:
    """Wait for the query to end. A micro-batch that raised a TrailhoundError (a bad state
    file...) raises it again here; any other failure (another exception in a batch, Spark could
    not list or read) is an EngineError saying what the state holds."""
    from pyspark.errors import StreamingQueryException

    try:
        query.awaitTermination()
    except StreamingQueryException as exc:
        err = stream.error
        if isinstance(err, TrailhoundError):
            raise err from None
        if err is not None:
            why = f"{type(err).__name__}: {err}"
        else:
            why = next((ln.strip() for ln in str(exc).splitlines() if ln.strip()), "")
        raise EngineError(
            f"the streaming query stopped ({why}); every micro-batch committed before is in "
            "the state: run watch again to resume from the checkpoint"
        ) from None
