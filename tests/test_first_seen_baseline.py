"""`trailhound baseline build` and `detect --baseline` (issue 16): the baseline a user keeps.

Oracles: the pairs a baseline must hold are computed here in plain Python over the raw records
(successful console logins -> (identity ARN, source IP)); which logins are "new" comes from
tests/test_first_seen.py's oracle (history = the baseline plus earlier records of the scan)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.test_first_seen import A, B, login, oracle
from trailhound.cli.app import main
from trailhound.rules.related_ids import related_id

RULE = related_id("aws_console_login_new_source")
C = "arn:aws:iam::111122223333:user/carol"

OLD = [login(0, A, "198.51.100.1"), login(1, A, "198.51.100.1"), login(2, B, "192.0.2.5"),
       login(3, A, "203.0.113.9", ok=False), login(4, A, "203.0.113.20")]
# this month: alice from a new address first, then from one she used last month; carol is new
NEW = [login(10, A, "203.0.113.99"), login(11, A, "198.51.100.1"), login(12, C, "192.0.2.77"),
       login(13, B, "192.0.2.5")]


def _trail(path: Path, records: list[dict[str, Any]]) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "trail.json").write_text(json.dumps({"Records": records}))
    return path


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as ex:
        main(list(args))
    out, err = capsys.readouterr()
    return int(ex.value.code or 0), out, err


def _pairs(records: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(r["userIdentity"]["arn"], r["sourceIPAddress"]) for r in records
            if r["responseElements"]["ConsoleLogin"] == "Success"}


def _flagged(out: str) -> set[str]:
    rows = [json.loads(line) for line in out.splitlines()]
    return {r["eventID"] for r in rows if any(s["rule_id"] == RULE for s in r["signals"])}


def test_build_writes_every_distinct_pair_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = tmp_path / "baseline.jsonl"
    code, _, err = _run(capsys, "baseline", "build", str(_trail(tmp_path / "old", OLD)),
                        "-o", str(base))
    assert code == 0, err
    lines = [json.loads(x) for x in base.read_text().splitlines()]
    assert {(x["group"][0], x["value"][0]) for x in lines} == _pairs(OLD)
    assert len(lines) == len(_pairs(OLD)) == 3  # the repeat and the failed login are not pairs
    assert {x["rule"] for x in lines} == {RULE}
    assert "3 pairs written" in err


def test_detect_with_the_baseline(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """In the baseline: not new. Outside it, for a group the baseline knows: new."""
    base = tmp_path / "baseline.jsonl"
    _run(capsys, "baseline", "build", str(_trail(tmp_path / "old", OLD)), "-o", str(base))
    new = str(_trail(tmp_path / "new", NEW))
    code, out, err = _run(capsys, "detect", "--format", "jsonl", "-q", "--baseline", str(base), new)
    assert code == 0, err
    expected = oracle(NEW, _pairs(OLD))
    assert expected == {"ev-10"}  # the oracle itself: alice's new address, nothing else
    assert _flagged(out) == expected
    # without it, alice's first login of the scan is her history and last month's address is new
    code, out, _ = _run(capsys, "detect", "--format", "jsonl", "-q", new)
    assert _flagged(out) == oracle(NEW, set()) == {"ev-11"}


def test_the_cap_bounds_the_file_and_is_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = tmp_path / "baseline.jsonl"
    code, _, err = _run(capsys, "baseline", "build", str(_trail(tmp_path / "old", OLD)),
                        "-o", str(base), "--max-pairs", "2")
    assert code == 0
    lines = [json.loads(x) for x in base.read_text().splitlines()]
    assert [(x["group"][0], x["value"][0]) for x in lines] == [(A, "198.51.100.1"),
                                                               (B, "192.0.2.5")]
    assert "1 past --max-pairs 2, not written" in err


def test_a_bad_baseline_is_a_usage_error_naming_the_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = tmp_path / "baseline.jsonl"
    base.write_text(json.dumps({"group": [A], "value": ["1.2.3.4"]}) + "\n{oops\n")
    code, out, err = _run(capsys, "detect", "--baseline", str(base), str(_trail(tmp_path, NEW)))
    assert code == 2 and out == ""
    assert f"{base}:2: not a baseline line" in err and "Traceback" not in err


def test_a_profile_without_first_seen_rules_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = tmp_path / "baseline.jsonl"
    code, _, err = _run(capsys, "baseline", "build", "--profile", "corrected",
                        str(_trail(tmp_path / "old", OLD)), "-o", str(base))
    assert code == 2 and "no first-seen rule" in err and not base.exists()


def test_a_giant_line_is_refused_without_being_read_whole(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A wrong file given as a baseline (one 64 MB line) is refused at its first line, naming it,
    and the memory it took stays far below the line's size."""
    import resource

    base = tmp_path / "baseline.jsonl"
    with base.open("wb") as fh:
        fh.write(json.dumps({"group": [A], "value": ["1.2.3.4"]}).encode() + b"\n")
        for _ in range(64):
            fh.write(b"x" * (1 << 20))
        fh.write(b"\n")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB, the process's peak
    code, out, err = _run(capsys, "detect", "--baseline", str(base), str(_trail(tmp_path, NEW)))
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert code == 2 and out == ""
    assert f"{base}:2: a line longer than" in err and "Traceback" not in err
    assert grown < 32 * 1024, f"peak grew by {grown} KiB reading a 64 MiB line"


@pytest.mark.parametrize("command", ["timeline", "report"])
def test_every_scanning_command_takes_the_baseline(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    """--baseline reaches the gate from each command that scans (ScanOptions.baseline), not
    only detect: the events `timeline` marks, and the findings the HTML report holds, are the
    oracle's with the baseline and without it."""
    base = tmp_path / "baseline.jsonl"
    _run(capsys, "baseline", "build", str(_trail(tmp_path / "old", OLD)), "-o", str(base))
    new = str(_trail(tmp_path / "new", NEW))
    for extra, known in (["--baseline", str(base)], _pairs(OLD)), ([], set()):
        if command == "timeline":
            code, out, err = _run(capsys, "timeline", "--principal", A, "--format", "jsonl", "-q",
                                  *extra, new)
            got = {r["eventID"] for r in map(json.loads, out.splitlines())
                   if any(s["rule_id"] == RULE for s in r["signals"])}
        else:
            page = tmp_path / "report.html"
            code, out, err = _run(capsys, "report", "-q", "-o", str(page), *extra, new)
            from tests.report_html_support import Page

            data = Page(page.read_text(encoding="utf-8")).json_block("data")
            fields = data["meta"]["fields"]
            got = {dict(zip(fields, f, strict=True))["eventID"] for f in data["findings"]}
        assert code == 0, err
        assert got == oracle(NEW, known)
