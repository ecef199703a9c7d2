"""The command line as a user runs it: a real subprocess, exit code and output checked."""

from __future__ import annotations

import csv
import gzip
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.test_profiles_defects import ct

ESC_ATTACK = "\x1b[2J\x1b]0;pwned\x07\u202eevil\x9b31m"


def th(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "trailhound", *args],
        input=stdin.decode() if stdin is not None else None,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,  # the exit code is part of what the tests check
    )


def jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def test_help_documents_exit_codes() -> None:
    p = th("detect", "--help")
    assert p.returncode == 0
    for code in ("0 ", "1 ", "2 ", "3 "):
        assert f"  {code}" in p.stdout
    assert "--profile" in p.stdout and "--min-score" in p.stdout


def test_clean_input_exit_0_and_jsonl(tmp_path: Path) -> None:
    f = jsonl(tmp_path / "a.jsonl", [ct("StopLogging", "cloudtrail.amazonaws.com", 1), ct("ListUsers", n=2)])
    p = th("detect", "--format", "jsonl", str(f))
    assert p.returncode == 0, p.stderr
    rows = [json.loads(x) for x in p.stdout.splitlines()]
    assert [r["eventName"] for r in rows] == ["StopLogging"]
    assert "1 file, 2 records, 2 events, 1 finding" in p.stderr


def test_bad_line_reported_with_position_others_processed(tmp_path: Path) -> None:
    good = json.dumps(ct("CreateUser", n=1))
    f = tmp_path / "b.jsonl"
    f.write_text(good + "\n{not json\n" + json.dumps(ct("DeleteTrail", "cloudtrail.amazonaws.com", 3)) + "\n")
    p = th("detect", "--format", "jsonl", str(f))
    assert p.returncode == 3
    assert [json.loads(x)["eventName"] for x in p.stdout.splitlines()] == ["DeleteTrail", "CreateUser"]
    assert f"{f}:2" in p.stderr
    assert "1 input error (bad_json 1)" in p.stderr
    assert "Traceback" not in p.stderr


def test_truncated_gzip_keeps_records_before_the_cut(tmp_path: Path) -> None:
    recs = [ct("CreateUser", n=i) for i in range(40)]
    blob = gzip.compress(json.dumps({"Records": recs}).encode(), mtime=0)
    f = tmp_path / "cut.json.gz"
    f.write_bytes(blob[: len(blob) * 2 // 3])
    p = th("detect", "--format", "jsonl", "--min-score", "0", str(f))
    assert p.returncode == 3
    rows = [json.loads(x) for x in p.stdout.splitlines()]
    assert 0 < len(rows) < 40
    assert "truncated_gzip 1" in p.stderr and "Traceback" not in p.stderr


def test_stdin_dash(tmp_path: Path) -> None:
    data = json.dumps({"Records": [ct("CreateAccessKey", n=5)]}).encode()
    p = th("detect", "--format", "jsonl", "-", stdin=data)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["eventName"] == "CreateAccessKey"


def test_missing_path_and_usage_errors(tmp_path: Path) -> None:
    p = th("detect", str(tmp_path / "nope.json"))
    assert p.returncode == 2 and "nope.json" in p.stderr and "Traceback" not in p.stderr
    assert p.stdout == ""
    p = th("detect", "--format", "xml", str(tmp_path))
    assert p.returncode == 2 and "Traceback" not in p.stderr
    p = th("detect", "--profile", "seeed", str(tmp_path))
    assert p.returncode == 2 and "seed" in p.stderr


def hostile_record() -> dict[str, Any]:
    return ct(
        "StopLogging",
        "cloudtrail.amazonaws.com",
        7,
        errorCode="=HYPERLINK(\"http://x\")" + ESC_ATTACK,
        errorMessage="+cmd|' /C calc'!A0",
        userAgent=ESC_ATTACK,
        userIdentity={"type": "IAMUser", "arn": "arn:aws:iam::1:user/" + ESC_ATTACK},
    )


def test_table_output_escapes_terminal_sequences(tmp_path: Path) -> None:
    f = jsonl(tmp_path / "h.jsonl", [hostile_record()])
    p = th("detect", "--format", "table", str(f))
    assert p.returncode == 0, p.stderr
    for bad in ("\x1b", "\x07", "\u202e", "\x9b"):
        assert bad not in p.stdout and bad not in p.stderr
    assert "\\x1b" in p.stdout  # shown, visibly


def test_csv_neutralises_formulas_and_keeps_columns(tmp_path: Path) -> None:
    f = jsonl(tmp_path / "h.jsonl", [hostile_record()])
    p = th("detect", "--format", "csv", str(f))
    assert p.returncode == 0, p.stderr
    rows = list(csv.DictReader(io.StringIO(p.stdout)))
    assert len(rows) == 1
    assert rows[0]["errorCode"].startswith("'=")
    assert rows[0]["errorMessage"].startswith("'+")
    assert list(rows[0])[:3] == ["time", "eventName", "operationName"]


def test_jsonl_keeps_attacker_text_as_data(tmp_path: Path) -> None:
    f = jsonl(tmp_path / "h.jsonl", [hostile_record()])
    p = th("detect", "--format", "jsonl", str(f))
    assert "\x1b" not in p.stdout  # JSON escapes control characters
    assert json.loads(p.stdout)["errorMessage"] == "+cmd|' /C calc'!A0"


def test_console_entry_point_in_process(tmp_path: Path, capsys: Any) -> None:
    """`trailhound` (the console script) calls cli.app.main: same exit code contract in-process."""
    import pytest

    from trailhound.cli.app import main

    f = jsonl(tmp_path / "a.jsonl", [ct("CreateRole", n=1)])
    with pytest.raises(SystemExit) as ex:
        main(["detect", "--format", "jsonl", "-q", str(f)])
    assert ex.value.code == 0
    assert json.loads(capsys.readouterr().out)["eventName"] == "CreateRole"


def test_engine_fast_gives_the_reference_output(external: Path) -> None:
    """`--engine fast` through the CLI: byte-identical JSONL to the reference engine."""
    data = external / "invictus-ir-aws_dataset" / "CloudTrail"
    ref = th("detect", "--format", "jsonl", "-q", "--engine", "reference", str(data))
    fast = th("detect", "--format", "jsonl", "-q", "--engine", "fast", str(data))
    assert ref.returncode == fast.returncode == 0, ref.stderr + fast.stderr
    assert len(ref.stdout.splitlines()) > 50
    assert fast.stdout == ref.stdout


def test_unknown_envelopes_name_the_understood_shapes_once(tmp_path: Path) -> None:
    f = jsonl(tmp_path / "labels.jsonl", [{"label": i, "note": "not a log"} for i in range(3)])
    p = th("detect", "--format", "jsonl", str(f))
    assert p.returncode == 3
    lines = p.stderr.splitlines()
    issues = [ln for ln in lines if "unrecognised record" in ln]
    assert len(issues) == 3
    assert all(ln.rstrip().endswith("'label', 'note'") for ln in issues)
    assert sum("trailhound understands" in ln for ln in lines) == 1
    assert lines[-1].startswith("  trailhound understands CloudTrail records")
