"""`watch --engine spark` (spark/stream.py): a Structured Streaming query over the folder,
each micro-batch detected on the state, exactly once across crashes and restarts.

One JVM (the Spark tests' shared session). The generator drops CloudTrail batches between runs;
each run (`--cycles 1`: trigger availableNow) reads what is there in micro-batches of 3 files;
two runs crash inside a micro-batch through the stream's fault hook: one after the state's
commit and before Spark's commit log (the replay must emit nothing twice), one before the state's
commit (the replay must emit it all). Oracle: `detect` run once over all the files (the
reference engine), as a multiset of (event, rule) pairs, and what the generator planted: every
recon call correlated with its principal's StopLogging dropped in the next batch, although they
were read by different micro-batches and different runs.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.watch_fixtures import CORRELATION, SECURITY_DISABLE, Planted, drop_batch
from trailhound.cli.app import main
from trailhound.pipeline import scan
from trailhound.profiles import get_profile
from trailhound.spark import stream  # imports nothing of Spark
from trailhound.spark.engine import SparkEngine
from trailhound.spark.testing import make_session, require_spark

require_spark()


@pytest.fixture(scope="module")
def spark() -> object:
    return make_session()  # shared by every Spark test module (getOrCreate), stopped at exit


class Crash(Exception):
    pass


def test_stream_emits_each_alert_once_across_crashes(
    spark: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    logs, db, out = tmp_path / "logs", tmp_path / "state.db", tmp_path / "alerts.jsonl"
    logs.mkdir()
    argv = [
        "watch", "--engine", "spark", "--spark-master", "local[2]", "--state", str(db),
        "--checkpoint", str(tmp_path / "ckpt"), "--output", str(out), "--cycles", "1",
        "--interval", "0s", "-q", str(logs),
    ]
    monkeypatch.setattr(stream, "MAX_FILES_PER_TRIGGER", 3)
    scans: list[int] = []
    real = SparkEngine.scan

    def counted(self: SparkEngine, *args: Any, **kwargs: Any) -> Any:
        scans.append(1)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(SparkEngine, "scan", counted)  # the micro-batches run on Spark
    planted = Planted()
    seen: list[tuple[int, str]] = []

    def crash_at(batch: int, point: str) -> None:
        def hook(batch_id: int, where: str) -> None:
            seen.append((batch_id, where))
            if (batch_id, where) == (batch, point):
                raise Crash(f"crash {where} the commit of batch {batch_id}")

        monkeypatch.setattr(stream, "fault", hook)

    def run(crash: str | None = None) -> None:
        with pytest.raises(SystemExit) as e:
            main(argv)
        assert e.value.code == (1 if crash else 0)
        if crash:  # the user is told what happened and what to do, without a traceback
            err = capsys.readouterr().err
            assert crash in err and "run watch again" in err and "Traceback" not in err

    for i in range(3):  # 6 files: micro-batches 0, 1
        drop_batch(logs, i, planted, rewrite=False)
    crash_at(-1, "")
    run()
    for i in range(3, 6):  # 6 more: micro-batches 2, 3; crash after the state commit of 2
        drop_batch(logs, i, planted, rewrite=False)
    crash_at(2, "after")
    run("crash after the commit of batch 2")
    crash_at(-1, "")
    seen.clear()
    run()  # the restart replays batch 2 (skipped: committed), then 3
    assert (2, "before") not in seen and (3, "before") in seen
    for i in range(6, 9):  # micro-batches 4, 5; crash before the state commit of 5
        drop_batch(logs, i, planted, rewrite=False)
    crash_at(5, "before")
    run("crash before the commit of batch 5")
    crash_at(-1, "")
    drop_batch(logs, 9, planted, rewrite=False)
    seen.clear()
    run()  # replays 5 (read: it never committed), then 6
    assert (5, "after") in seen

    assert len(scans) >= 7  # one scan per micro-batch detected (0-6; replayed 2 skipped)
    lines = out.read_bytes().split(b"\n")
    assert lines[-1] == b""
    alerts = [json.loads(x) for x in lines[:-1]]
    got = Counter((a["eventID"], a["rule_id"]) for a in alerts)
    result = scan([str(logs)], get_profile("corrected"), engine="reference")
    want = Counter((f.event.event_id, r.id) for f in result.findings for r in f.rules)
    assert got == want
    assert max(got.values()) == 1
    for i in range(9):  # each recon's StopLogging came in the next batch (another micro-batch)
        assert got[(planted.recon[i], CORRELATION)] == 1, f"batch {i}: recon not correlated"
    for tamper in planted.tamper.values():
        assert got[(tamper, CORRELATION)] == 1 and got[(tamper, SECURITY_DISABLE)] == 1


def test_local_path_of_file_uris() -> None:
    assert stream.local_path("file:/tmp/a b/x.json") == "/tmp/a b/x.json"
    assert stream.local_path("file:///tmp/x.json") == "/tmp/x.json"
    assert stream.local_path("s3a://bucket/k.json") == "s3a://bucket/k.json"
