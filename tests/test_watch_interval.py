"""`watch --interval 0s`: cycles that read something follow each other at once, a cycle that
read nothing new is followed by the idle pause (no busy loop while nothing arrives). The pauses
are the ones `watch` asks time.sleep for (no clock is read)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from tests.watch_fixtures import Planted, drop_batch
from trailhound.cli.app import main
from trailhound.watch.cycle import IDLE_PAUSE_ENV, IDLE_PAUSE_NS


def _pauses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, interval: str, cycles: int,
            after: dict[int, int] | None = None) -> list[float]:
    """The sleeps of `watch --cycles N`; `after`: before sleep k, drop batch after[k]."""
    logs = tmp_path / "logs"
    drop_batch(logs, 0, Planted())
    slept: list[float] = []
    real_sleep = time.sleep

    def sleep(seconds: float) -> None:
        # the patch replaces time.sleep for the whole process: other threads (py4j's, left by
        # an earlier Spark test in the same run) keep their real sleep and are not recorded
        if threading.current_thread() is not threading.main_thread():
            real_sleep(seconds)
            return
        if after and len(slept) in after:
            drop_batch(logs, after[len(slept)], Planted())
        slept.append(seconds)

    monkeypatch.setattr("trailhound.cli.watch_cmd.time.sleep", sleep)
    with pytest.raises(SystemExit) as e:
        main(["watch", "--state", str(tmp_path / "s.db"), "--output", str(tmp_path / "a.jsonl"),
              "--cycles", str(cycles), "--interval", interval, "--engine", "reference", "-q",
              str(logs)])
    assert e.value.code == 0
    return slept


def test_zero_interval_pauses_only_after_an_empty_cycle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(IDLE_PAUSE_ENV, raising=False)
    idle = IDLE_PAUSE_NS / 1e9
    assert idle >= 1
    # cycle 1 reads batch 0; cycle 2 nothing; a batch arrives; cycle 3 reads it; cycle 4 nothing
    slept = _pauses(tmp_path, monkeypatch, "0s", 5, after={1: 1})
    assert slept == [0, idle, 0, idle]


def test_a_long_interval_is_kept_whatever_the_cycle_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(IDLE_PAUSE_ENV, raising=False)
    assert _pauses(tmp_path, monkeypatch, "5m", 3) == [300, 300]


def test_the_idle_pause_can_be_set_for_tests(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(IDLE_PAUSE_ENV, "0s")  # what the SIGKILL test uses: cycles back to back
    assert _pauses(tmp_path, monkeypatch, "0s", 3) == [0, 0]
    monkeypatch.setenv(IDLE_PAUSE_ENV, "soon")  # not a duration: the built-in pause
    assert _pauses(tmp_path / "b", monkeypatch, "0s", 3) == [0, IDLE_PAUSE_NS / 1e9]
