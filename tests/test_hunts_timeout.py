"""`hunt --timeout`: a runaway query is interrupted (DuckDB's interrupt) with one line and exit
1, whether it runs away in the check before the logs are read or over the loaded events; the
`time` column holds the one output time format."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.hostile_inputs import control_file, stop_logging

# Billions of rows: minutes without a bound, whatever the machine.
RANGE_ONLY = "SELECT count(*) AS n FROM range(200000) a, range(200000) b WHERE hash(a.range + b.range) % 7 = 3\n"
OVER_EVENTS = ("SELECT count(*) AS n FROM events e, range(3000000000) b "
               "WHERE hash(b.range, e.event_id) % 7 = 3\n")


def th(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "trailhound", *args], capture_output=True,
                          text=True, timeout=300, check=False)


@pytest.mark.parametrize("sql", [RANGE_ONLY, OVER_EVENTS], ids=["before-loading", "over-events"])
def test_runaway_query_is_stopped_with_one_line(tmp_path: Path, sql: str) -> None:
    q = tmp_path / "slow.sql"
    q.write_text(sql)
    p = th("hunt", "--hunt-sql", str(q), "--timeout", "1", str(control_file(tmp_path / "c.json")))
    assert p.returncode == 1, p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "stopped after 1 s (--timeout)" in lines[0], p.stderr
    assert "Traceback" not in p.stderr


def test_a_query_within_its_timeout_gives_every_row(tmp_path: Path) -> None:
    q = tmp_path / "ok.sql"
    q.write_text("SELECT event_id, time FROM events ORDER BY event_id\n")
    p = th("hunt", "--hunt-sql", str(q), "--timeout", "120", "--format", "jsonl", "-q",
           str(control_file(tmp_path / "c.json")))
    assert p.returncode == 0, p.stderr
    rows = [json.loads(line) for line in p.stdout.splitlines()]
    raw = json.loads((tmp_path / "c.json").read_text())["Records"]
    assert [r["event_id"] for r in rows] == sorted(r["eventID"] for r in raw)


def test_timeout_must_be_positive(tmp_path: Path) -> None:
    q = tmp_path / "ok.sql"
    q.write_text("SELECT 1 AS one\n")
    p = th("hunt", "--hunt-sql", str(q), "--timeout", "0", str(control_file(tmp_path / "c.json")))
    assert p.returncode == 2 and "--timeout" in p.stderr


def test_time_column_is_the_output_format(tmp_path: Path) -> None:
    """Times as logged in three shapes; `time` holds each as RFC 3339 UTC with exactly three
    fraction digits, truncated (the expected texts are written out by hand)."""
    recs = []
    for n, when in enumerate(["2026-05-04T09:00:00Z", "2026-05-04T09:00:01.2737429Z",
                              "2026-05-04T11:00:02.999+02:00"]):
        r = stop_logging(n)
        r["eventTime"] = when
        recs.append(r)
    f = tmp_path / "t.json"
    f.write_text(json.dumps({"Records": recs}))
    q = tmp_path / "t.sql"
    q.write_text("SELECT event_id, time FROM events ORDER BY ts\n")
    p = th("hunt", "--hunt-sql", str(q), "--format", "jsonl", "-q", str(f))
    assert p.returncode == 0, p.stderr
    got = [json.loads(line)["time"] for line in p.stdout.splitlines()]
    assert got == ["2026-05-04T09:00:00.000Z", "2026-05-04T09:00:01.273Z", "2026-05-04T09:00:02.999Z"]
