"""A --state file is input: it may be copied, edited, or written by someone else. A value in it
that trailhound did not write is refused with the file, the table and the next step (exit 2),
never a traceback; and loading it never runs code (the carried matches are pickled: a pickle
that names a function is refused before anything is called)."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.hostile_inputs import run
from tests.watch_fixtures import Planted, drop_batch
from trailhound.model import SCALAR_FIELDS


class _Planted:
    """What a hostile state would hold: unpickled, it calls os.system."""

    def __init__(self, mark: Path) -> None:
        self.mark = mark

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, (f"touch {self.mark}",))


@pytest.fixture(scope="module")
def state(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A state after one cycle over batch 0 (carried matches, folders, alerts), batch 1 left to
    read: the next cycle reads the carried matches and every table."""
    root = tmp_path_factory.mktemp("state")
    logs, db = root / "logs", root / "base.db"
    planted = Planted()
    drop_batch(logs, 0, planted)
    p = run("watch", "--state", db, "--output", root / "out.jsonl", "--cycles", "1",
            "--engine", "reference", "-q", logs)
    assert p.returncode == 0, p.stderr
    drop_batch(logs, 1, planted)
    return logs, db


def _tampered(tmp_path: Path, base: Path, sql: str, *args: object) -> Path:
    db = tmp_path / "s.db"
    shutil.copy(base, db)
    with sqlite3.connect(db) as c:
        assert c.execute(sql, args).rowcount > 0
    return db


def test_a_pickle_that_calls_a_function_is_refused_and_runs_nothing(
    tmp_path: Path, state: tuple[Path, Path]
) -> None:
    logs, base = state
    mark = tmp_path / "ran"
    db = _tampered(tmp_path, base, "UPDATE carried SET match = ?", pickle.dumps(_Planted(mark)))
    p = run("detect", "--state", db, "--engine", "reference", logs)
    assert not mark.exists(), "loading the state ran code"
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert str(db) in p.stderr and "carried match" in p.stderr and "--state" in p.stderr


@pytest.mark.parametrize(("sql", "table"), [
    ("UPDATE folders SET subdirs = 'not json'", "folders"),
    ("UPDATE folders SET hot = '[1, 2]'", "folders"),
    ("UPDATE alerts SET body = 'x', delivered = 0", "alerts"),
    ("UPDATE meta SET value = 'x' WHERE key LIKE 'cursor:%'", "meta"),
    ("INSERT OR REPLACE INTO meta (key, value) VALUES ('newest_day', '2026-13-45')", "meta"),
])
def test_a_value_trailhound_did_not_write_is_refused_by_name(
    tmp_path: Path, state: tuple[Path, Path], sql: str, table: str
) -> None:
    logs, base = state
    db = _tampered(tmp_path, base, sql)
    p = run("watch", "--state", db, "--output", tmp_path / "out.jsonl", "--cycles", "1",
            "--engine", "reference", "-q", logs)
    assert p.returncode == 2, p.stderr
    assert "Traceback" not in p.stderr
    assert f"{db}: the {table} table holds a value this trailhound did not write" in p.stderr
    assert "give a new file to --state" in p.stderr


@pytest.mark.parametrize("body", [
    b"{}",  # was written as `{"seq":1,}`: not JSON
    b' {"a": 1}',  # was written as `{"seq":1,{"a": 1}`
])
def test_an_alert_body_that_would_make_a_broken_line_is_refused(
    tmp_path: Path, state: tuple[Path, Path], body: bytes
) -> None:
    logs, base = state
    db = _tampered(tmp_path, base, "UPDATE alerts SET body = ?, delivered = 0", body)
    out = tmp_path / "out.jsonl"
    p = run("watch", "--state", db, "--output", out, "--cycles", "1", "--engine", "reference",
            "-q", logs)
    assert p.returncode == 2 and "Traceback" not in p.stderr, p.stderr
    assert f"{db}: the alerts table holds a value this trailhound did not write" in p.stderr
    for line in out.read_text(encoding="utf-8").splitlines():
        json.loads(line)  # whatever was written is JSON


def test_log_text_in_a_stored_alert_is_written_escaped(
    tmp_path: Path, state: tuple[Path, Path]
) -> None:
    """The output file takes the alert bodies as stored: an edited body's terminal controls
    (a bidi override that reorders what a `cat` shows) are escaped as every sink escapes them."""
    logs, base = state
    body = '{"alert_id": "x", "userArn": "evil\u202etxt.exe"}'.encode()
    db = _tampered(tmp_path, base, "UPDATE alerts SET body = ?", body)
    out = tmp_path / "out.jsonl"
    p = run("watch", "--state", db, "--output", out, "--cycles", "1", "--engine", "reference",
            "-q", logs)
    assert p.returncode == 0, p.stderr
    text = out.read_text(encoding="utf-8")
    assert "\u202e" not in text and "\\u202e" in text
    assert {json.loads(x).get("userArn") for x in text.splitlines()} >= {"evil\u202etxt.exe"}


def _carried_with(base: Path, tmp_path: Path, change: Any) -> Path:
    """The state with its first carried match's (packed event, rule ids) changed by `change`,
    pickled as plain data, as a hand-edited or hostile file could hold it."""
    with sqlite3.connect(base) as c:
        rowid, blob = c.execute("SELECT rowid, match FROM carried LIMIT 1").fetchone()
    packed, ids = pickle.loads(blob)
    return _tampered(tmp_path, base, "UPDATE carried SET match = ? WHERE rowid = ?",
                     pickle.dumps((change(list(packed)), ids)), rowid)


def _scalar(name: str, value: object) -> Any:
    def change(p: list[Any]) -> tuple[Any, ...]:
        scalars = list(p[0])
        scalars[SCALAR_FIELDS.index(name)] = value
        return (tuple(scalars), *p[1:])
    return change


def _record(raw: object) -> Any:
    return lambda p: (p[0], raw, *p[2:])


def _shared() -> dict[str, Any]:
    node: list[Any] = ["x"]
    for _ in range(40):
        node = [node, node]  # 1 KB pickled; 2**40 leaves walked as the tree JSON is
    return {"eventVersion": "1.08", "requestParameters": node}


@pytest.mark.parametrize(("change", "why"), [
    (_scalar("time_ns", "2026-03-14"), "time_ns"),  # was: TypeError in the correlator's sort
    (_scalar("time_ns", 10**30), "time_ns"),  # was: OverflowError writing it back to SQLite
    (_scalar("operation", 5), "operation"),
    (_record(b"{not json"), "JSONDecodeError"),  # was: a traceback when a rule read it
    (_record(b"[1, 2]"), "not a JSON object"),
    (_record(_shared()), "shares a container"),  # was: a scan that never ends
    (lambda p: (p[0], p[1], p[2], [1], *p[4:]), "meta"),
])
def test_a_carried_event_of_the_wrong_shape_is_refused_by_name(
    tmp_path: Path, state: tuple[Path, Path], change: Any, why: str
) -> None:
    logs, base = state
    db = _carried_with(base, tmp_path, change)
    try:
        p = subprocess.run(
            [sys.executable, "-m", "trailhound", "detect", "--state", str(db), "--engine",
             "reference", "--format", "jsonl", str(logs)],
            capture_output=True, text=True, timeout=120, check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("the carried match made the scan run for minutes")
    assert p.returncode == 2 and "Traceback" not in p.stderr, p.stderr
    assert f"{db}: carried match" in p.stderr and why in p.stderr, p.stderr
    assert "give a new file to --state" in p.stderr
