"""The exit-code policy (README "Exit codes"), case by case, through the real CLI in a
subprocess: the code, what is (not) on stdout, and the line on stderr that explains it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_cli import jsonl
from tests.test_profiles_defects import ct

REPO = Path(__file__).resolve().parents[1]


def th(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "trailhound", *args],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def one_line(stderr: str) -> str:
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


def a_log(path: Path) -> Path:
    return jsonl(path, [ct("StopLogging", "cloudtrail.amazonaws.com", 1), ct("ListUsers", n=2)])


# --- nothing readable: 4, nothing on stdout, one line ---------------------------------------


@pytest.mark.parametrize("quiet", [False, True])
def test_empty_folder(tmp_path: Path, quiet: bool) -> None:
    (tmp_path / "logs").mkdir()
    p = th("detect", *(["-q"] if quiet else []), str(tmp_path / "logs"))
    assert p.returncode == 4
    assert p.stdout == ""
    line = one_line(p.stderr)
    assert line.startswith("trailhound: nothing readable") and "0 files" in line


@pytest.mark.parametrize("fmt", ["table", "csv", "jsonl"])
def test_folder_of_non_log_files(tmp_path: Path, fmt: str) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "readme.txt").write_text("hello\n")
    (logs / "notes.md").write_text("# notes\n")
    (logs / "empty.json").write_text("")
    p = th("detect", "--format", fmt, str(logs))
    assert p.returncode == 4
    assert p.stdout == ""  # not even a CSV header or "no findings"
    line = one_line(p.stderr)
    assert line.startswith("trailhound: nothing readable")
    assert f"2 not_json: {logs / 'notes.md'}, {logs / 'readme.txt'}" in line
    assert f"1 empty: {logs / 'empty.json'}" in line


def test_folder_holding_only_a_symlinked_folder(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    a_log(real / "a.jsonl")  # a real log behind the link: not followed, but said so
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "linked").symlink_to(real, target_is_directory=True)
    p = th("detect", str(logs))
    assert p.returncode == 4
    assert p.stdout == ""
    line = one_line(p.stderr)
    assert line.startswith("trailhound: nothing readable")
    assert f"1 symlinked_folder: {logs / 'linked'}" in line


def test_empty_stdin() -> None:
    p = subprocess.run(
        [sys.executable, "-m", "trailhound", "detect", "-"],
        input="", capture_output=True, text=True, timeout=180, check=False,
    )
    assert p.returncode == 4 and p.stdout == ""
    assert "1 empty: <stdin>" in one_line(p.stderr)


# --- usage errors: 2, nothing on stdout -----------------------------------------------------


def test_path_that_does_not_exist(tmp_path: Path) -> None:
    good = a_log(tmp_path / "a.jsonl")
    missing = tmp_path / "nope.json"
    p = th("detect", str(good), str(missing))  # one good path does not make the typo a scan
    assert p.returncode == 2
    assert p.stdout == ""
    line = one_line(p.stderr)
    assert str(missing) in line and "no such file or folder" in line


@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-inf", "infinity"])
def test_min_score_not_a_finite_number(tmp_path: Path, value: str) -> None:
    p = th("detect", "--min-score", value, str(a_log(tmp_path / "a.jsonl")))
    assert p.returncode == 2
    assert p.stdout == ""
    assert "--min-score" in p.stderr and "finite" in p.stderr and "Traceback" not in p.stderr


# --- input problems: 3, everything else processed -------------------------------------------


def test_broken_rules_file_is_not_a_clean_run(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "broken.yml").write_text("title: [unclosed\n")
    p = th("detect", "--format", "jsonl", "--rules", str(rules), str(a_log(tmp_path / "a.jsonl")))
    assert p.returncode == 3
    assert [json.loads(x)["eventName"] for x in p.stdout.splitlines()] == ["StopLogging"]  # ran
    refused = [ln for ln in p.stderr.splitlines() if "rule skipped" in ln]
    assert len(refused) == 1 and str(rules / "broken.yml") in refused[0]


def test_rules_path_that_does_not_exist(tmp_path: Path) -> None:
    p = th("detect", "--rules", str(tmp_path / "norules"), str(a_log(tmp_path / "a.jsonl")))
    assert p.returncode == 2 and p.stdout == ""


def test_dangling_symlink_in_a_folder_is_reported_and_counted(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    a_log(logs / "a.jsonl")
    (logs / "gone.json").symlink_to(tmp_path / "deleted.json")
    p = th("detect", "--format", "jsonl", str(logs))
    assert p.returncode == 3
    assert [json.loads(x)["eventName"] for x in p.stdout.splitlines()] == ["StopLogging"]
    assert "1 input error (dangling_symlink 1)" in p.stderr
    assert f"{logs / 'gone.json'}: symbolic link to {str(tmp_path / 'deleted.json')!r}" in p.stderr


def test_dangling_symlink_named_is_reported_not_a_usage_error(tmp_path: Path) -> None:
    link = tmp_path / "gone.json"
    link.symlink_to(tmp_path / "deleted.json")
    p = th("detect", "--format", "jsonl", str(link))
    assert p.returncode == 3
    assert p.stdout == ""
    assert "dangling_symlink 1" in p.stderr and f"{link}: symbolic link" in p.stderr


# --- success, and what it says about skips --------------------------------------------------


def test_skip_counts_name_the_files(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    a_log(logs / "a.jsonl")
    for i in range(5):
        (logs / f"readme{i}.txt").write_text("hello\n")
    p = th("detect", "--format", "jsonl", str(logs))
    assert p.returncode == 0, p.stderr
    [line] = [ln for ln in p.stderr.splitlines() if "not_json" in ln]
    names = ", ".join(str(logs / f"readme{i}.txt") for i in range(3))
    assert line.strip() == f"5 not_json: {names}, ..."


def test_clean_scan_without_findings_is_0(tmp_path: Path) -> None:
    p = th("detect", "--format", "jsonl", str(jsonl(tmp_path / "a.jsonl", [ct("ListUsers", n=2)])))
    assert p.returncode == 0 and p.stdout == "", p.stderr


# --- the reader leaves early: quiet ---------------------------------------------------------


@pytest.mark.parametrize("unbuffered", [False, True])
@pytest.mark.parametrize("fmt", ["jsonl", "csv", "table"])
def test_reader_closing_early_exits_quietly(tmp_path: Path, fmt: str, unbuffered: bool) -> None:
    """`trailhound detect ... | head -1` through a real pipe: the reader takes one line and
    closes; the output (far more than a pipe buffer) stops, stderr stays empty, code 141.
    Under PYTHONUNBUFFERED too, where Python's text layer drops a short write silently."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    if unbuffered:
        env["PYTHONUNBUFFERED"] = "1"
    n = 900  # table rows of ~200 bytes, JSON rows of ~1 KB: well past a 64 KB pipe buffer
    f = jsonl(tmp_path / "many.jsonl", [ct("CreateUser", n=i % 60, eventID=f"id-{i}") for i in range(n)])
    proc = subprocess.Popen(
        [sys.executable, "-m", "trailhound", "detect", "--format", fmt, str(f)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait(timeout=180) == 141
    assert first  # it did write
    assert err == b""


# --- the policy is written once ------------------------------------------------------------


def test_help_and_readme_state_the_same_policy() -> None:
    from trailhound.cli.exits import EXIT_CODES

    codes = [c for c, _ in EXIT_CODES]
    assert codes == sorted(set(codes))
    help_text = th("detect", "--help").stdout
    assert [int(m) for m in re.findall(r"^ +(\d+) {2,}\S", help_text, re.MULTILINE)] == codes
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `(\d+)` \| (.+?) \|$", section, re.MULTILINE)
    assert [int(c) for c, _ in rows] == codes
    for (_, meaning), (_, text) in zip(EXIT_CODES, rows):
        assert text == meaning


def test_in_process_entry_point_uses_the_same_codes(tmp_path: Path) -> None:
    from trailhound.cli.app import main

    (tmp_path / "logs").mkdir()
    with pytest.raises(SystemExit) as ex:
        main(["detect", "-q", str(tmp_path / "logs")])
    assert ex.value.code == 4


CORRECTED = REPO / "trailhound" / "rules" / "packs" / "corrected"


@pytest.mark.parametrize(
    "args",
    [
        ("--help",),
        ("detect", "--help"),
        ("rules", "list"),
        ("rules", "check", str(CORRECTED)),
        ("hunt", "list"),
        ("hunt", "show", "access_key_for_other_user"),
        ("explain", "c7f65315-b613-58c3-91fe-58f6bcb02b60"),
        ("tune", "-q", "TRAIL"),
        ("principals", "-q", "TRAIL"),
    ],
    ids=lambda a: " ".join(a[:2]),
)
def test_every_command_exits_141_when_its_reader_is_gone(tmp_path: Path, args: tuple[str, ...]) -> None:
    """Not only detect: any command whose reader closed before it wrote (`... | head` when head
    has already left) stops quietly with 141, not click's exit 1 for EPIPE."""
    trail = jsonl(tmp_path / "t.jsonl", [ct("CreateUser", n=i, eventID=f"id-{i}") for i in range(3)])
    argv = [str(trail) if a == "TRAIL" else a for a in args]
    proc = subprocess.Popen(
        [sys.executable, "-m", "trailhound", *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # before the interpreter has even started: its first write fails
    err = proc.stderr.read()
    assert proc.wait(timeout=180) == 141, err
    assert b"Traceback" not in err
