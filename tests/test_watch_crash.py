"""Exactly once under SIGKILL (issue 15's acceptance).

A generator drops CloudTrail batches into a folder while `trailhound watch` runs; the watcher is
killed with SIGKILL at 20 seeded random points (a third of them inside the commit's transaction,
through the state's test hook) and restarted each time. At the end the alerts in the output
file must be, as a multiset, the (event, rule) pairs of `detect` run once over all the files (no
loss, no duplicate), and must hold what the generator planted: each recon call's correlation
alert, although its StopLogging came in a later batch, read by a later process.

The watcher runs in a forked child (a real process, killed by a real SIGKILL) of this test
process, which has imported trailhound once: 20 restarts then cost no interpreter start-up.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.watch_fixtures import CORRELATION, SECURITY_DISABLE, Planted, drop_batch
from trailhound.pipeline import scan
from trailhound.profiles import get_profile
from trailhound.watch.cycle import IDLE_PAUSE_ENV
from trailhound.watch.state import COMMIT_DELAY_ENV, COMMIT_MARK_ENV

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="fork and SIGKILL")

ROUNDS = 20
ENGINE = "reference"  # one process: SIGKILL leaves no worker behind (the engine is upstream)


def _spawn(argv: list[str], env: dict[str, str], log: Path) -> int:
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:  # the child: never returns into pytest
        # cycles back to back, idle or not: a kill may land in a cycle as well as in a pause
        os.environ.update({IDLE_PAUSE_ENV: "0s", **env})
        fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        from trailhound.cli.app import main

        main(argv)
        code = 0
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 1
    finally:
        os._exit(code)


def _wait_until(cond: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)


def _recorded(db: Path, n_files: int) -> bool:
    """The state holds at least `n_files` files (read-only look from outside)."""
    if not db.exists():
        return False
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as c:
            return int(c.execute("SELECT count(*) FROM files").fetchone()[0]) >= n_files
    except sqlite3.OperationalError:  # not created yet
        return False


def _kill(pid: int) -> None:
    os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL


def test_exactly_once_under_sigkill(tmp_path: Path) -> None:
    logs, db, out = tmp_path / "logs", tmp_path / "state.db", tmp_path / "alerts.jsonl"
    logs.mkdir()
    mark, log = tmp_path / "in-commit", tmp_path / "watch.log"
    argv = [
        "watch", "--state", str(db), "--output", str(out), "--interval", "0s",
        "--engine", ENGINE, "-q", str(logs),
    ]
    rng = random.Random(15)
    in_commit = set(rng.sample(range(ROUNDS), 7))
    planted = Planted()
    files = 0
    for i in range(ROUNDS):
        drop_batch(logs, i, planted)
        files += 2
        if i in in_commit:
            mark.unlink(missing_ok=True)
            pid = _spawn(argv, {COMMIT_DELAY_ENV: "30", COMMIT_MARK_ENV: str(mark)}, log)
            _wait_until(mark.exists, f"round {i}: the commit")
            _kill(pid)  # inside the transaction: nothing of this cycle may survive
            assert not _recorded(db, files), "a killed transaction left its files recorded"
        else:
            pid = _spawn(argv, {}, log)
            # this batch committed (so the next batch's correlation half is read by another
            # process), then a random point: writing the output, idle, or in the next cycle
            _wait_until(lambda n=files: _recorded(db, n), f"round {i}: batch committed")
            time.sleep(rng.uniform(0, 0.4))
            _kill(pid)
    drop_batch(logs, ROUNDS, planted)  # one more, read by the run that is not killed
    pid = _spawn([*argv, "--cycles", "1"], {}, log)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, log.read_text()

    lines = out.read_bytes().split(b"\n")
    assert lines[-1] == b"", "the output ends with a whole line"
    alerts = [json.loads(x) for x in lines[:-1]]
    seqs = [a["seq"] for a in alerts]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    got = Counter((a["eventID"], a["rule_id"]) for a in alerts)

    # the oracle: detect once over everything, each finding's counted rules
    result = scan([str(logs)], get_profile("corrected"), engine=ENGINE)
    want = Counter((f.event.event_id, r.id) for f in result.findings for r in f.rules)
    assert got == want
    assert max(got.values()) == 1

    # what the generator planted, in plain Python: every recon call followed (next batch) by
    # its principal's StopLogging has the correlation's alert, and every StopLogging has both
    for i in range(ROUNDS):
        assert got[(planted.recon[i], CORRELATION)] == 1, f"batch {i}: recon not correlated"
    for tamper in planted.tamper.values():
        assert got[(tamper, CORRELATION)] == 1 and got[(tamper, SECURITY_DISABLE)] == 1
    assert got[(planted.recon[ROUNDS], CORRELATION)] == 0  # its StopLogging never came
