"""What a Spark executor sends back for one file (issue #10): the local engines' pieces, its
matches in batches of at most file_scan.PART while the file is read, then its counters, so an
executor's memory does not grow with one file's matches. The executor functions are plain
Python: called here without a JVM, on a stand-in for the broadcast variable."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tests import hostile_inputs as H
from trailhound.engine.fast import FastEngine
from trailhound.engine.file_scan import PART, FileResult
from trailhound.model import Event, Location
from trailhound.pipeline import ScanStats
from trailhound.profiles import get_profile
from trailhound.rules.loader import load_pack
from trailhound.sources.limits import Limits
from trailhound.spark import engine as E

N = 2 * PART + 37  # three batches: two full, one short


def _blob() -> Any:
    """What `SparkEngine._blob` broadcasts, as an executor reads it (`.value`)."""
    profile = get_profile("seed")
    return SimpleNamespace(value=(load_pack(profile.pack), False, profile, Limits()))


def _records() -> list[dict[str, Any]]:
    """N StopLogging records (each a seed finding) between ListUsers noise."""
    out = []
    for i in range(N):
        rec = H.stop_logging(i % 60)
        rec["eventID"] = f"00000000-0000-4000-8000-{i:012d}"
        out += [rec, {**rec, "eventName": "ListUsers", "eventID": f"noise-{i}"}]
    return out


def _ids(blob: Any, wires: list[Any]) -> list[str]:
    plan = blob._trailhound_state[0]
    return [str(plan.from_wire(w).event.raw["eventID"]) for w in wires]


def _check(blob: Any, pieces: list[Any], want: list[str]) -> FileResult:
    """`pieces` are batches of at most PART matches, then one FileResult without matches, and
    the batches hold exactly the `want` eventIDs, in order."""
    *batches, last = pieces
    assert all(isinstance(b, list) for b in batches)
    assert len(batches) == -(-len(want) // PART)
    assert all(0 < len(b) <= PART for b in batches)
    assert isinstance(last, FileResult) and last.matches == []
    assert _ids(blob, [w for b in batches for w in b]) == want
    return last


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
def test_a_file_leaves_the_executor_in_batches(tmp_path: Path, gz: bool) -> None:
    recs = _records()
    body = json.dumps({"Records": recs}).encode()
    path = tmp_path / ("many.json.gz" if gz else "many.json")
    path.write_bytes(gzip.compress(body) if gz else body)
    want = [r["eventID"] for r in recs if r["eventName"] == "StopLogging"]
    assert len(want) == N
    blob = _blob()
    task = E.Task(7, str(path), True, "file", str(path), path.stat().st_size)
    got = list(E._scan_tasks(blob, [[task]]))
    assert {i for i, _ in got} == {7}
    res = _check(blob, [p for _, p in got], want)
    assert (res.stats.records, res.stats.files) == (2 * N, 1)


def test_dataframe_rows_leave_the_executor_in_batches() -> None:
    recs = _records()
    want = [r["eventID"] for r in recs if r["eventName"] == "StopLogging"]
    lines = b"".join(json.dumps(r).encode() + b"\n" for r in recs)
    blob = _blob()
    got = list(E._scan_rows(blob, [("a.jsonl", lines), ("empty", None)]))
    cut = next(k for k, p in enumerate(got) if isinstance(p, FileResult)) + 1
    res = _check(blob, got[:cut], want)
    assert res.stats.records == 2 * N
    assert len(got[cut:]) == 1 and isinstance(got[-1], FileResult)  # the empty row


def test_a_failing_scan_keeps_its_batches_and_becomes_an_issue() -> None:
    """As a local worker's death: the batches sent before the error stand, the file ends with
    a worker_died issue, the next file is read."""

    def parts() -> Any:
        yield ["a", "b"]
        raise RuntimeError("boom")

    got = list(E._guarded("f.json", parts()))
    assert got[0] == ["a", "b"]
    assert isinstance(got[1], FileResult) and len(got) == 2
    assert got[1].stats.errors == {"worker_died": 1}
    issue = got[1].stats.samples[0]
    assert issue.location.path == "f.json" and "RuntimeError: boom" in issue.message


def test_the_driver_merges_pieces_in_order() -> None:
    """_merge turns each input's pieces into Matches and counts, in input order, as
    file_scan.scan_specs merges a local worker's."""
    plan = FastEngine().compile(load_pack(get_profile("seed").pack))

    def wire(k: int) -> Any:
        return ("e", Event("cloudtrail", "aws", {"k": k}, Location("f")), (), ())

    first, second = FileResult(), FileResult()
    first.stats.records, second.stats.records = 3, 4
    pieces = [[wire(0), wire(1)], [wire(2)], first, second, [wire(3)], FileResult()]
    stats = ScanStats()
    ended: list[str] = []
    specs: Any = ["a", "b", "c"]
    got = [m.event.raw["k"] for m in E._merge(plan, specs, stats, iter(pieces), ended.append)]
    assert got == [0, 1, 2, 3]
    assert ended == ["a", "b", "c"] and stats.records == 7 and stats.files == 3
