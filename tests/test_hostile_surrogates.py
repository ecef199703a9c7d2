"""Lone surrogates: JSON text may escape one (\\ud800), a file name may hold bytes that are not
UTF-8 (Python hands them over as lone surrogates, PEP 383). Neither is valid Unicode, and every
UTF-8 sink (orjson, SQLite, DuckDB) refuses it.

Before: one `\\ud800` in a user agent (attacker-controlled) made detect --format jsonl/ocsf,
principals, timeline, report, hunt and watch die with "str is not valid UTF-8: surrogates not
allowed"; one file named `evil\\xff.json` in the scanned folder did the same for every format,
and watch died on it in every cycle (the state's SQLite key). Now a lone surrogate in a record
reads as U+FFFD (as invalid UTF-8 bytes do), a file name shows its bytes as \\xNN, and watch
keeps the exact name in its state (read once, not again).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests import hostile_inputs as H
from tests.hostile_inputs import run

SEED = ["--profile", "seed"]
COMMANDS: dict[str, list[str]] = {
    "jsonl": ["detect", "--format", "jsonl", *SEED],
    "jsonl-reference": ["detect", "--engine", "reference", "--format", "jsonl", *SEED],
    "ocsf": ["detect", "--format", "ocsf", *SEED],
    "csv": ["detect", "--format", "csv", *SEED],
    "principals": ["principals", "--format", "jsonl", *SEED],
    "timeline": ["timeline", "--format", "jsonl", "--principal", "user/mallory", *SEED],
    "hunt": ["hunt", "recon_then_tampering", "--format", "jsonl"],  # DuckDB over the events
}



@pytest.fixture()
def escaped(tmp_path: Path) -> Path:
    """Two StopLogging records, a lone surrogate escaped in a value and in a key."""
    body = json.dumps({"Records": [H.stop_logging(1), H.stop_logging(2)]})
    body = body.replace('"aws-cli/2.15.0"', '"aws-cli\\ud800x"', 1)
    body = body.replace('"readOnly"', '"read\\udfffOnly"', 1)
    path = tmp_path / "escaped.json"
    path.write_text(body)
    return path


@pytest.fixture()
def badly_named(tmp_path: Path) -> Path:
    folder = tmp_path / "logs"
    folder.mkdir()
    name = os.fsdecode(b"evil\xff.json")  # the name as Python lists it: 'evil\udcff.json'
    H.control_file(folder / name)
    return folder


@pytest.mark.parametrize("command", list(COMMANDS))
def test_lone_surrogate_escape_in_a_record(escaped: Path, command: str) -> None:
    p = run(*COMMANDS[command], escaped)
    assert "Traceback" not in p.stderr and p.returncode == 0, p.stderr
    if command.startswith("jsonl"):
        agents = sorted(json.loads(line)["userAgent"] for line in p.stdout.splitlines())
        assert agents == ["aws-cli/2.15.0", "aws-cli\ufffdx"]  # U+FFFD, as for bad UTF-8


@pytest.mark.parametrize("command", list(COMMANDS))
def test_file_name_that_is_not_utf8(badly_named: Path, command: str) -> None:
    p = run(*COMMANDS[command], badly_named)
    assert "Traceback" not in p.stderr and p.returncode == 0, p.stderr
    if command.startswith("jsonl"):
        [row] = [json.loads(line) for line in p.stdout.splitlines()]
        assert row["origin"] == f"{badly_named}/evil\\xff.json at /Records/0"


@pytest.mark.parametrize("fixture", ["escaped", "badly_named"])
def test_report_writes_the_page(fixture: str, request: pytest.FixtureRequest,
                                tmp_path: Path) -> None:
    p = run("report", "-o", tmp_path / "r.html", "--profile", "seed",
            request.getfixturevalue(fixture))
    assert "Traceback" not in p.stderr and p.returncode == 0, p.stderr
    assert "StopLogging" in (tmp_path / "r.html").read_text()


def test_watch_reads_a_badly_named_file_once(badly_named: Path, tmp_path: Path) -> None:
    out, state = tmp_path / "alerts.jsonl", tmp_path / "state.db"

    def cycle() -> list[str]:
        p = run("watch", "--state", state, "--cycles", "1", "--output", out, "--profile",
                "seed", badly_named)
        assert "Traceback" not in p.stderr and p.returncode == 0, p.stderr
        return [json.loads(line)["eventID"] for line in out.read_text().splitlines()]

    assert cycle() == [H.stop_logging(7)["eventID"]]
    assert len(cycle()) == 1  # the state knows the file by its exact name: not read again
    (badly_named / os.fsdecode(b"more\xfe.json")).write_text(
        json.dumps({"Records": [H.stop_logging(9)]}))
    assert cycle() == [H.stop_logging(7)["eventID"], H.stop_logging(9)["eventID"]]
