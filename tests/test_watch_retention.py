"""Retention (`watch --keep`, state.expire): the alerts table stops growing, without losing an
alert a sink has not taken and without repeating an alert a still-open correlation window finds
again. Oracle: `detect` once over all the files (the reference engine), as a multiset."""

from __future__ import annotations

import json
import socket
import sqlite3
from collections import Counter
from pathlib import Path

import pytest

from tests.watch_fixtures import CORRELATION, Planted, drop_batch
from trailhound.cli.app import main
from trailhound.normalize.times import parse_time
from trailhound.pipeline import scan
from trailhound.profiles import get_profile
from trailhound.watch import webhook
from trailhound.watch.cycle import LATENESS_NS


def _watch(logs: Path, db: Path, out: Path, *extra: str) -> None:
    with pytest.raises(SystemExit) as e:
        # the oracle's profile: its longest correlation window (1 h) sets the carried span the
        # first test checks (the default profile's related pack has 24 h share-then-copy ones)
        main(["watch", "--state", str(db), "--output", str(out), "--cycles", "1",
              "--engine", "reference", "--profile", "corrected", "-q", *extra, str(logs)])
    assert e.value.code == 0


def _rows(db: Path) -> int:
    with sqlite3.connect(db) as c:
        return int(c.execute("SELECT count(*) FROM alerts").fetchone()[0])


def test_keep_zero_expires_delivered_alerts_and_repeats_none(tmp_path: Path) -> None:
    logs, db, out = tmp_path / "logs", tmp_path / "s.db", tmp_path / "alerts.jsonl"
    planted = Planted()
    for i in range(30):  # 5 minutes apart: 2.5 h, past the carried window (30 min + 1 h)
        drop_batch(logs, i, planted, rewrite=False)
        _watch(logs, db, out, "--keep", "0s")
    alerts = [json.loads(x) for x in out.read_text().splitlines()]
    got = Counter((a["eventID"], a["rule_id"]) for a in alerts)
    result = scan([str(logs)], get_profile("corrected"), engine="reference")
    want = Counter((f.event.event_id, r.id) for f in result.findings for r in f.rules)
    assert got == want and max(got.values()) == 1  # nothing lost, nothing raised twice
    assert all(got[(planted.recon[i], CORRELATION)] == 1 for i in range(29))
    seqs = [a["seq"] for a in alerts]
    assert seqs == sorted(set(seqs))  # in order, each once: the file was never cut back
    # the table keeps only the alerts of events an open window may find again: those within
    # the carried span (longest correlation window 1 h + LATENESS 1 h) of the newest event,
    # down to the oldest carried match (the first batch inside that span: 5-minute steps)
    span = 3600 * 10**9 + LATENESS_NS
    newest = max(parse_time(a["time"])[1] for a in alerts)
    with sqlite3.connect(db) as c:
        kept = {str(r[0]) for r in c.execute("SELECT id FROM alerts")}
    for a in alerts:
        t = parse_time(a["time"])[1]
        if t < newest - span:
            assert a["alert_id"] not in kept, a["eventID"]
        elif t >= newest - span + 300 * 10**9:
            assert a["alert_id"] in kept, a["eventID"]
    assert 0 < len(kept) < len(alerts)


def test_pending_webhook_alerts_are_never_expired(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(webhook, "BACKOFF_S", 0.0)
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    logs, db, out = tmp_path / "logs", tmp_path / "s.db", tmp_path / "alerts.jsonl"
    planted = Planted()
    for i in range(4):
        drop_batch(logs, i, planted, rewrite=False)
        _watch(logs, db, out, "--keep", "0s", "--webhook", f"http://127.0.0.1:{port}/hook")
    emitted = len(out.read_text().splitlines())
    assert emitted > 0 and _rows(db) == emitted  # the file has them; the webhook does not
    for i in range(4, 6):  # without --webhook now: still pending for it, still kept
        drop_batch(logs, i, planted, rewrite=False)
        _watch(logs, db, out, "--keep", "0s")
    assert _rows(db) == len(out.read_text().splitlines())


def test_default_keep_expires_nothing_recent(tmp_path: Path) -> None:
    logs, db, out = tmp_path / "logs", tmp_path / "s.db", tmp_path / "alerts.jsonl"
    planted = Planted()
    for i in range(3):
        drop_batch(logs, i, planted, rewrite=False)
        _watch(logs, db, out)
    assert _rows(db) == len(out.read_text().splitlines()) > 0
