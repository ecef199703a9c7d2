"""watch's durations past any sensible one: `--interval`, `--lookback` and `--keep` fed
time.sleep, the lookback's start date and SQLite's 64-bit integers after the first cycle, so a
huge one was a traceback (OverflowError, a year out of range) or, for --keep, an error blaming
the state file. Each is refused before anything is read, naming the option."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.hostile_inputs import run
from tests.watch_fixtures import Planted, drop_batch

HUGE = "99999999999999w"  # ~2e12 years


@pytest.mark.parametrize("option", ["--interval", "--lookback", "--keep"])
@pytest.mark.parametrize("value", [HUGE, "999999w"])  # 999999w: ~19,000 years
def test_a_duration_past_100_years_is_refused_by_name(
    tmp_path: Path, option: str, value: str
) -> None:
    logs = tmp_path / "logs"
    drop_batch(logs, 0, Planted())
    drop_batch(logs, 1, Planted())
    out = tmp_path / "o.jsonl"
    args = {"--interval": "0s", option: value}  # (two cycles back to back but for `option`)
    p = run("watch", "--state", tmp_path / "s.db", "--output", out, "--cycles", "2",
            "--engine", "reference", "-q", *(x for kv in args.items() for x in kv), logs,
            env={"TRAILHOUND_WATCH_IDLE_PAUSE": "0s"})
    assert p.returncode == 2 and "Traceback" not in p.stderr, p.stderr
    assert f"{option} {value!r}: at most 36500d" in p.stderr, p.stderr
    assert not out.exists()  # refused before anything was read


def test_100_years_is_taken(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    drop_batch(logs, 0, Planted())
    p = run("watch", "--state", tmp_path / "s.db", "--output", tmp_path / "o.jsonl",
            "--cycles", "1", "--engine", "reference", "-q", "--lookback", "36500d",
            "--keep", "36500d", "--interval", "36500d", logs)
    assert p.returncode == 0, p.stderr
    assert (tmp_path / "o.jsonl").read_text(encoding="utf-8").count("\n") > 0
