"""`--since` / `--until`: since inclusive, until exclusive, events without a time left out and
counted, events outside take no part in correlations. Expected rows come from plain Python over
an unfiltered run's rows or over the records the test writes."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.test_allowlist import DEMO, ENGINES, key, run
from tests.test_profiles_defects import ct
from trailhound.errors import UsageError
from trailhound.profiles import DEFAULT_PROFILE, get_profile
from trailhound.rules.loader import load_pack
from trailhound.tuning.window import TimeWindow, parse_bound

NOW = 1_773_482_400_000_000_000  # 2026-03-14T10:00:00Z
CORRELATION = "95e44c45-15b5-4202-aaaa-b1bbcb2e41b8"  # recon then tamper


def test_bounds_iso_and_durations() -> None:
    s = 1_000_000_000
    assert parse_bound("24h", "--since", NOW) == NOW - 24 * 3600 * s
    assert parse_bound("7d", "--since", NOW) == NOW - 7 * 86400 * s
    assert parse_bound("90m", "--since", NOW) == NOW - 90 * 60 * s
    assert parse_bound("2026-03-14T10:00:00Z", "--since") == NOW
    assert parse_bound("2026-03-14 12:00:00+02:00", "--since") == NOW  # offsets to UTC
    assert parse_bound("2026-03-14T10:00", "--since") == NOW  # no zone: UTC
    assert parse_bound("2026-03-14", "--since") == NOW - 10 * 3600 * s  # a date: midnight
    with pytest.raises(UsageError, match="--until 'soon'"):
        parse_bound("soon", "--until")
    with pytest.raises(UsageError, match="window is empty"):
        TimeWindow.parse("2026-03-14", "2026-03-14")
    w = TimeWindow(NOW, NOW + s)
    assert w.reject(NOW) is None and w.reject(NOW + s) == "outside" and w.reject(None) == "no time"
    assert TimeWindow.parse(None, None) is None


def _in(t: str | None, since: str, until: str) -> bool:
    # row times are canonical UTC (YYYY-MM-DDTHH:MM:SS[.f]Z); the bounds are whole seconds
    return t is not None and since <= t[:19] < until


@pytest.fixture(scope="module")
def demo_rows() -> list[dict[str, Any]]:
    from tests.test_allowlist import th

    p = th("detect", "--format", "jsonl", "-q", "--engine", "reference", DEMO)  # default profile
    return [json.loads(x) for x in p.stdout.splitlines()]


@pytest.mark.parametrize("engine", ENGINES)
def test_demo_window_keeps_exactly_the_events_inside(
    capsys: Any, demo_rows: list[dict[str, Any]], engine: str
) -> None:
    since, until = "2026-03-14T10:40:00", "2026-03-14T11:05:00"
    correlations = {c.id for c in load_pack(get_profile(DEFAULT_PROFILE).pack).correlations}
    inside = [r for r in demo_rows if _in(r["time"], since, until)]
    want = {key(r) for r in inside}
    # A row a detection rule raised stays; a row only a correlation raised may go, when the
    # correlation's other events fall outside the window (they are not read: the demo's role
    # reads at 11:02 correlate with a grant at 11:05:20)
    sure = {
        key(r) for r in inside
        if any(not s["context"] and s["rule_id"] not in correlations for s in r["signals"])
    }
    assert 0 < len(sure) < len(want) < len(demo_rows)
    code, rows, err = run(capsys, "--engine", engine, "--since", since, "--until", until, DEMO)
    assert code == 0
    assert sure <= {key(r) for r in rows} <= want
    # left out: every flagged record outside (a detection rule, not a correlation, matched it;
    # a `--min-score 0` row stands for `records` such records)
    _, every, _ = run(capsys, "-q", "--engine", "reference", "--min-score", "0", DEMO)
    outside = sum(
        r["records"]
        for r in every
        if not _in(r["time"], since, until)
        and any(not s["context"] and s["rule_id"] not in correlations for s in r["signals"])
    )
    m = re.search(r"time window \(--since/--until\): left out (\d+) matched events? outside it", err)
    assert m and int(m.group(1)) == outside


@pytest.mark.parametrize("engine", ENGINES)
def test_edges_untimed_and_correlation(tmp_path: Path, capsys: Any, engine: str) -> None:
    untimed = ct("CreateUser", n=30)
    del untimed["eventTime"]
    recs = [
        ct("GetTrailStatus", "cloudtrail.amazonaws.com", n=1),  # recon at 10:00:01
        ct("StopLogging", "cloudtrail.amazonaws.com", n=10),  # tamper at 10:00:10
        ct("CreateUser", n=5),  # exactly on the --since bound: inside
        ct("CreateAccessKey", n=20),  # exactly on the --until bound: outside
        untimed,
    ]
    logs = tmp_path / "ct.jsonl"
    logs.write_text("".join(json.dumps(r) + "\n" for r in recs), encoding="utf-8")
    _, full, _ = run(capsys, "-q", "--engine", engine, str(logs))
    by_id = {r["eventID"]: r for r in full}
    stop = by_id[recs[1]["eventID"]]
    assert [c["rule_id"] for c in stop["correlations"]] == [CORRELATION]
    assert recs[0]["eventID"] in by_id and untimed["eventID"] in by_id

    code, rows, err = run(
        capsys, "--engine", engine, "--since", "2026-03-14T10:00:05Z",
        "--until", "2026-03-14T10:00:20Z", str(logs),
    )
    assert code == 3  # the record without eventTime is also reported as bad input
    got = {r["eventID"]: r for r in rows}
    assert set(got) == {recs[1]["eventID"], recs[2]["eventID"]}
    # the recon call is outside: no correlation, and its weight leaves the tamper call's score
    assert got[recs[1]["eventID"]]["correlations"] == []
    weight = next(s["weight"] for s in stop["signals"] if s["rule_id"] == CORRELATION)
    assert got[recs[1]["eventID"]]["suspicion_score"] == stop["suspicion_score"] - weight
    assert "left out 1 matched event outside it, 1 matched event without a time" in err


@pytest.mark.parametrize("engine", ENGINES)
def test_first_seen_outside_the_window_is_history_and_not_counted(
    tmp_path: Path, capsys: Any, engine: str
) -> None:
    """A first-seen login rule (default profile): the identity's first login, before the window,
    is its history (no finding, not counted as left out); a login from a new IP inside the
    window raises; a login from that same new IP after the window is not new (not counted)."""
    def login(n: int, ip: str) -> dict[str, Any]:
        return ct("ConsoleLogin", "signin.amazonaws.com", n=n, sourceIPAddress=ip,
                  responseElements={"ConsoleLogin": "Success"})

    recs = [login(1, "198.51.100.1"), login(10, "203.0.113.9"), login(30, "203.0.113.9"),
            login(40, "192.0.2.44")]
    logs = tmp_path / "logins.jsonl"
    logs.write_text("".join(json.dumps(r) + "\n" for r in recs), encoding="utf-8")
    code, rows, err = run(capsys, "--engine", engine, "--since", "2026-03-14T10:00:05Z",
                          "--until", "2026-03-14T10:00:20Z", str(logs))
    assert code == 0
    assert [r["eventID"] for r in rows] == [recs[1]["eventID"]]
    # left out: only the login at :40 (a third IP: new); :01 is the first, :30 is not new
    assert "left out 1 matched event outside it" in err


def test_triage_views_take_the_window(demo_rows: list[dict[str, Any]]) -> None:
    """principals ranks only the principals of findings inside the window; timeline shows only
    that principal's events inside it (oracle: the unfiltered rows and the unwindowed timeline)."""
    from tests.test_allowlist import th

    since, until = "2026-03-14T11:00:00", "2026-03-14T11:10:00"
    p = th("principals", "-q", "--format", "jsonl", "--engine", "reference",
           "--since", since, "--until", until, DEMO)
    assert p.returncode == 0, p.stderr
    got = {json.loads(x)["principal"] for x in p.stdout.splitlines()}
    assert got == {r["userArn"] for r in demo_rows if _in(r["time"], since, until)} != set()
    who = "marcus.okafor@acme.example"
    full = th("timeline", "-q", "--format", "jsonl", "--principal", who, DEMO)
    cut = th("timeline", "-q", "--format", "jsonl", "--principal", who,
             "--since", since, "--until", until, DEMO)
    assert full.returncode == cut.returncode == 0, cut.stderr
    every = [json.loads(x) for x in full.stdout.splitlines()]
    inside = [json.loads(x) for x in cut.stdout.splitlines()]
    assert [r["time"] for r in inside] == [r["time"] for r in every if _in(r["time"], since, until)]
    assert 0 < len(inside) < len(every)


def test_hunt_reads_only_the_events_inside(tmp_path: Path) -> None:
    from tests.test_allowlist import th

    sql = tmp_path / "times.sql"
    sql.write_text("SELECT time FROM events WHERE time IS NOT NULL ORDER BY time\n", encoding="utf-8")
    since, until = "2026-03-14T10:00:00", "2026-03-14T10:30:00"
    full = th("hunt", "--hunt-sql", str(sql), "--format", "jsonl", "-q", DEMO)
    cut = th("hunt", "--hunt-sql", str(sql), "--format", "jsonl", "-q",
             "--since", since, "--until", until, DEMO)
    assert full.returncode == cut.returncode == 0, cut.stderr
    every = [json.loads(x)["time"] for x in full.stdout.splitlines()]
    inside = [json.loads(x)["time"] for x in cut.stdout.splitlines()]
    assert inside == [t for t in every if _in(t, since, until)]
    assert 0 < len(inside) < len(every)
