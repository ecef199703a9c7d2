"""A --state file is input: it may be copied, edited, or written by someone else. A value in it
that trailhound did not write is refused with the file, the table and the next step (exit 2),
never a traceback; and loading it never runs code (the carried matches are pickled: a pickle
that names a function is refused before anything is called)."""

from __future__ import annotations

import os
import pickle
import shutil
import sqlite3
from pathlib import Path

import pytest

from tests.hostile_inputs import run
from tests.watch_fixtures import Planted, drop_batch


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
