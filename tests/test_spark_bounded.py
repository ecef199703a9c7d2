"""The Spark driver's memory does not grow with the input (issue #9), and the scan's scheduling
(issue #10: slices, a pipeline of jobs) keeps the findings and their order.

* stdin: the driver once read all of it into memory and pickled it into the task (twice its
  size on the driver); now it is spooled to a file a chunk at a time (spark/spool.py).
* detect_dataframe: the driver once held every finding's row and raw record in a list and
  pickled it into `createDataFrame`; now the rows go to spool files the executors read back.
* URIs: once read in one job, every result held until merged; now a few files per job.

Memory is the peak RSS of the driver's Python process (sampled every 20 ms, without the JVM,
whose heap Spark sizes itself) against the same command on a small input; the big inputs are
built so that holding them (once) would go over the margin.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests import hostile_inputs as H
from tests.test_profiles_defects import ct
from trailhound.spark import engine as E
from trailhound.spark.testing import make_session, reference, require_spark

MiB = 1 << 20
MARGIN = 64 * MiB  # over the small-input baseline; each big input below is 96+ MiB


# ---------------------------------------------------------------------------------------------
# Slicing (no Spark needed)


def _tasks(sizes: list[int]) -> list[E.Task]:
    return [E.Task(i, f"f{i}", False, "file", f"/x/f{i}", s) for i, s in enumerate(sizes)]


@pytest.mark.parametrize("cores", [1, 2, 8])
@pytest.mark.parametrize(
    "sizes",
    [
        [200 << 10] * 989,  # the bench set: ~1,000 CloudTrail files of ~190 KB
        [1] * 5,  # fewer files than slices would be
        [0, 0, 3 << 30, 0, 5, 64 << 20] + [1 << 20] * 300,  # one huge file among small ones
        list(range(0, 40 << 20, 1 << 18)),  # growing sizes
        [10 << 30] + [1] * 10_000,  # one very large file, then many empty ones
    ],
    ids=["bench", "tiny", "huge-one", "growing", "huge-then-many"],
)
def test_slices_keep_input_order_and_bound_the_bytes(sizes: list[int], cores: int) -> None:
    tasks = _tasks(sizes)
    n = E._slice_count(tasks, cores)
    slices = E._cut(tasks, n)
    assert [t for s in slices for t in s] == tasks  # contiguous, in input order, all of them
    assert n >= min(len(tasks), cores)  # every core has a slice when there are enough files
    assert len(slices) <= n + len(tasks) // E.MAX_FILES
    total = sum(max(s, 1) for s in sizes)
    biggest = max(max(sizes), 1)
    for s in slices:  # what one task's matches can come from, so what the driver holds
        assert len(s) <= E.MAX_FILES
        assert sum(max(t.size, 1) for t in s) < total / n + biggest
        assert sum(t.size for t in s) <= E.MAX_PARTITION + biggest
    if len(set(sizes)) == 1:  # equal files: as many slices as asked for
        assert len(slices) == n


# ---------------------------------------------------------------------------------------------
# With Spark


def _psutil() -> None:
    try:
        import psutil  # noqa: F401
    except ImportError:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip("psutil is not installed (pip install -e '.[test]')")


@pytest.fixture(scope="module")
def can_spark() -> None:
    """PySpark and Java are here (else skip, or fail under CI); the test starts its own JVM."""
    require_spark()


@pytest.fixture(scope="module")
def spark(can_spark: None) -> Any:
    return make_session()


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("spark-bounded")
    H.control_file(d / "control.json")
    return d


def _detect(*args: str, stdin: Path | None = None) -> H.Run:
    _psutil()
    return H.run_measured(
        ["detect", "--engine", "spark", "--spark-master", "local[1]", "--format", "jsonl",
         "--profile", "seed", *args],
        timeout=900, stdin=stdin,
    )


def _event_ids(run: H.Run) -> list[tuple[str, str]]:
    return sorted((r["eventName"], r["eventID"]) for r in map(json.loads, run.stdout.splitlines()))


def test_large_stdin_is_spooled_not_held_by_the_driver(files: Path, can_spark: None) -> None:
    """96 MiB of JSON lines on stdin between two files: the driver's Python stays within the
    margin of the same command with a small stdin, and stdin's records are all read."""
    small = _detect(str(files / "control.json"), "-", stdin=files / "control.json")
    assert small.returncode == 0, small.stderr
    big = files / "big-stdin.jsonl"
    H.big_jsonl(big, 96 * MiB)
    run = _detect(str(files / "control.json"), "-", stdin=big)
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    assert _event_ids(run) == sorted([
        ("StopLogging", H.stop_logging(7)["eventID"]), ("StopLogging", H.stop_logging(41)["eventID"])
    ])
    lines = sum(1 for _ in big.open("rb"))
    assert f"2 files, {lines + 2} records" in run.stderr, run.stderr
    limit = small.peak_root_rss + MARGIN
    assert run.peak_root_rss < limit, (
        f"driver peak RSS {run.peak_root_rss / MiB:.0f} MiB, over {limit / MiB:.0f} MiB "
        f"(small stdin: {small.peak_root_rss / MiB:.0f} MiB)"
    )


def _fat_stop_logging(i: int) -> dict[str, Any]:
    """A StopLogging (a seed finding) carrying 96 KB in requestParameters."""
    return ct(
        "StopLogging", "cloudtrail.amazonaws.com", 0,
        eventTime=f"2026-03-14T{i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d}Z",
        eventID=f"00000000-0000-4000-8000-{i:012d}",
        requestParameters={"name": f"trail-{i}", "pad": f"{i:08d}" * 12_000},
    )


def _fat_files(folder: Path, n_files: int, per_file: int) -> dict[str, bytes]:
    """n_files S3-style files of `per_file` fat findings each; eventID -> the record's JSON."""
    folder.mkdir()
    want: dict[str, bytes] = {}
    for f in range(n_files):
        recs = [_fat_stop_logging(f * per_file + k) for k in range(per_file)]
        (folder / f"{f:03d}.json.gz").write_bytes(gzip.compress(json.dumps({"Records": recs}).encode()))
        want.update((r["eventID"], json.dumps(r).encode()) for r in recs)
    return want


def test_detect_dataframe_does_not_hold_the_findings(files: Path, can_spark: None) -> None:
    """1,200 findings of ~100 KB (115 MB of raw records) reach the DataFrame, in order and
    whole, with the driver's Python within the margin of a scan with 3 such findings."""
    _psutil()
    few = _fat_files(files / "few", 3, 1)
    many = _fat_files(files / "many", 1200, 1)
    env = {"TRAILHOUND_SPILL_AFTER": "50"}  # scoring keeps at most this many in memory
    runs = {}
    for name, want in (("few", few), ("many", many)):
        run = H.run_measured([str(files / name)], env=env, timeout=900,
                             module="tests.spark_bounded_child")
        assert run.returncode == 0, run.stderr
        got = json.loads(run.stdout.strip().splitlines()[-1])
        assert got["records"] == len(want)
        # findings sort by score then time: these tie on score, so the order is by eventTime,
        # which follows the eventIDs
        assert [r[0] for r in got["rows"]] == sorted(want)
        for event_id, size, digest in got["rows"]:
            raw = json.dumps(json.loads(want[event_id]), separators=(",", ":")).encode()
            assert (size, digest) == (len(raw.decode()), hashlib.sha256(raw).hexdigest())
        runs[name] = run
    limit = runs["few"].peak_root_rss + MARGIN
    assert runs["many"].peak_root_rss < limit, (
        f"driver peak RSS {runs['many'].peak_root_rss / MiB:.0f} MiB, over {limit / MiB:.0f} MiB "
        f"(3 findings: {runs['few'].peak_root_rss / MiB:.0f} MiB)"
    )


# ---------------------------------------------------------------------------------------------
# Scheduling: many slices and jobs, URIs a few per job, mixed with local paths


def _small_files(folder: Path, n: int) -> list[str]:
    folder.mkdir(exist_ok=True)
    out = []
    for f in range(n):
        recs = [ct("ListUsers", n=k % 60) for k in range(20)] + [H.stop_logging(f % 60)]
        recs[-1]["eventID"] = f"00000000-0000-4000-8000-{f:012d}"
        path = folder / f"{f:03d}.json"
        path.write_text(json.dumps({"Records": recs}))
        out.append(str(path))
    return out


def _rows(spark: Any, inputs: list[str]) -> tuple[list[dict[str, Any]], Any]:
    from trailhound.spark.api import detect_dataframe

    res = detect_dataframe(spark, inputs, None, "seed", keep_raw=False)
    try:
        return [{k: v for k, v in r.items() if k != "origin"} for r in res.rows()], res.summary
    finally:
        res.unpersist()


def test_many_jobs_keep_the_reference_order(files: Path, spark: Any,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Every file its own slice (MAX_PARTITION of 1 byte): many jobs in flight at once, local
    paths and file: URIs interleaved; the rows are the reference engine's, in its order."""
    paths = _small_files(files / "small", 13)
    monkeypatch.setattr(E, "MAX_PARTITION", 1)
    want, want_stats = reference(paths, "seed")
    assert len(want) == 13
    mixed = [("file://" + p) if k % 3 == 1 else p for k, p in enumerate(paths)]
    got, got_stats = _rows(spark, mixed)
    assert got == [{k: v for k, v in r.items() if k != "origin"} for r in want]
    assert got_stats == want_stats
    slices = E._cut(_tasks([1] * 13), E._slice_count(_tasks([1] * 13), 2))
    assert len(slices) == 13  # (the premise: one file per slice)
