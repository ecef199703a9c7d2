"""Times a parser accepts but 64 bits do not hold: every command, not only detect.

Event times are epoch nanoseconds, and downstream they live in 64 bits (orjson, array('q'),
DuckDB, the spill files). A record dated 9999-12-31 was read as a time, then `watch` died with
"TypeError: Integer exceeds 64-bit range" and `report` with "OverflowError: int too big to
convert", tracebacks and nothing emitted. Now such a time is a bad_time issue naming the file,
the record and the field (the event kept without a time, as for year 0), and every command
finishes with exit 3 and the other findings.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests import hostile_inputs as H
from tests.hostile_inputs import run

FAR = ["9999-12-31T23:59:59Z", "2262-04-12T00:00:00Z", "1677-09-21T00:00:00Z",
       "0001-01-01T00:00:00Z"]



@pytest.fixture()
def far_times(tmp_path: Path) -> Path:
    records = []
    for i, when in enumerate(FAR):
        rec = H.stop_logging(i)
        rec["eventTime"] = when
        records.append(rec)
    records.append(H.stop_logging(30))  # an ordinary time
    path = tmp_path / "far.json"
    path.write_text(json.dumps({"Records": records}))
    return path


def assert_reported(p: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in p.stderr, p.stderr
    assert p.returncode == 3, p.stderr
    for i in range(len(FAR)):
        assert f"far.json at /Records/{i}: field 'eventTime' is not a time" in p.stderr
    assert "far.json at /Records/4" not in p.stderr


def test_watch_emits_every_alert(tmp_path: Path, far_times: Path) -> None:
    out = tmp_path / "alerts.jsonl"
    p = run("watch", "--state", tmp_path / "state.db", "--cycles", "1", "--output", out,
            "--profile", "seed", far_times)
    assert_reported(p)
    alerts = [json.loads(line) for line in out.read_text().splitlines()]
    # every StopLogging record is an alert, timed or not (plain count of the file's records)
    assert sorted(a["eventID"] for a in alerts) == sorted(
        r["eventID"] for r in json.loads(far_times.read_text())["Records"])


@pytest.mark.parametrize("command", ["report", "detect", "principals", "timeline", "hunt"])
def test_other_commands_finish(tmp_path: Path, far_times: Path, command: str) -> None:
    extra: list[str | Path] = {
        "report": ["-o", tmp_path / "r.html"],
        "timeline": ["--principal", "user/mallory"],
        "hunt": ["recon_then_tampering"],
    }.get(command, [])
    p = run(command, *extra, far_times)
    assert_reported(p)


def test_since_past_the_orderable_years_says_why() -> None:
    from trailhound.errors import UsageError
    from trailhound.tuning.window import parse_bound

    with pytest.raises(UsageError, match="--since '2999-01-01': the time falls outside years 1678-2261"):
        parse_bound("2999-01-01", "--since")
    with pytest.raises(UsageError, match="'soon': not a time or a duration"):
        parse_bound("soon", "--since")
