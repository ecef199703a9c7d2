"""Attacker-controlled log text through every writer of the real CLI: CSV, the table, the stderr
summary (escaped, row count intact, values recoverable) and JSONL (exact JSON, raw values back).

The oracle is the input built here: how many records should become findings, and which values
they carry. The escaping is undone by the test's own decoder (tests/test_report_escape.py)."""

from __future__ import annotations

import csv
import io
import json
import os
import pty
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.test_profiles_defects import ct
from tests.test_report_escape import decode_visible

PAYLOADS = [
    "\x1b[2J\x1b[31mred",  # ESC / CSI
    "\x1b]0;pwned\x07",  # OSC: rewrites the terminal's title
    "bell\x07",
    "nul\x00byte",
    "x\r=cmd|' /C calc'!A0",  # bare CR then a formula: a reader splitting here starts a row
    "line\n=cmd|' /C calc'!A0",
    "crlf\r\n@SUM(A1)",
    "\x9b31mC1 CSI",
    "\x85next line (C1 NEL)",
    "\u202eexe.txt",  # right-to-left override
    "ad\u200bmin",  # zero-width space
    "\u2066isolate\u2069 \u200e\u200f\u061c \u200c\u200d\u2060\ufeff",
    "=HYPERLINK(\"http://x\",\"y\")",
    "+1+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    "  =1+1",  # spreadsheets strip leading blanks
    "\u3000\uff1d1+1",  # ideographic space, full-width equals sign
    "'=already quoted",
    "C:\\x1b not an escape \\ backslash",
    "del\x7f",
]

# What must never appear raw in terminal-bound output (the brief's list, written independently).
RAW_FORBIDDEN = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f\x80-\x9f\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c"
    "\u200b-\u200d\u2060\ufeff]"
)
FORMULA = re.compile("^[ \u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]*[=+\\-@\uff1d\uff0b\uff0d\uff20\t\r\n]")
EVIL_SOURCE = "evil.example.com"
TITLE = "Evil \x1b]0;pwned\x07 rule \u202eelif\u200b"


def hostile_records() -> list[dict[str, Any]]:
    recs = []
    for i, p in enumerate(PAYLOADS):
        recs.append(
            ct(
                p,
                EVIL_SOURCE,
                i,
                eventID=f"{p}#{i}",
                errorCode=p,
                errorMessage=p,
                userAgent=p,
                sourceIPAddress=p,
                userIdentity={"type": p, "arn": p, "userName": p, "accountId": "111122223333"},
            )
        )
    return recs


def build(tmp: Path, copies: int = 1) -> tuple[Path, Path, list[dict[str, Any]]]:
    """A log folder (hostile file names, a bad line, a non-log file) and a rule folder (a rule
    and a filter with hostile titles, a broken rule file): every stderr sink gets hostile text."""
    logs = tmp / "logs"
    logs.mkdir()
    recs = hostile_records()
    recs = [{**r, "eventID": f"{r['eventID']}/{k}"} if k else r for k in range(copies) for r in recs]
    suppressed = ct("SuppressMe", EVIL_SOURCE, 59, eventID="suppressed")
    lines = [json.dumps(r) for r in [*recs, suppressed]]
    lines.insert(3, '{"bad json \x1b]0;pwned\x07 \u202e')  # a bad line quoting hostile text
    (logs / "trail \x1b]0;pwned\x07\u202e.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (logs / "readme \x1b[2J\u200b.txt").write_text("not a log\n", encoding="utf-8")
    rules = tmp / "rules"
    rules.mkdir()
    rule_id = "6f1c3c55-8d6e-4f64-9d0a-5b8f4a0c2f11"
    rule = {
        "title": TITLE,
        "id": rule_id,
        "status": "test",
        "logsource": {"product": "aws", "service": "cloudtrail"},
        "level": "high",
        "detection": {"sel": {"eventSource": EVIL_SOURCE}, "condition": "sel"},
    }
    flt = {
        "title": "Filter \x1b]0;pwned\x07 \u202etitle",
        "id": "0b7d3f0e-4a51-4a43-8a8e-9f3f0ad5d0c2",
        "logsource": {"product": "aws", "service": "cloudtrail"},
        "filter": {"rules": [rule_id], "me": {"eventName": "SuppressMe"}, "condition": "not me"},
    }
    (rules / "evil.yml").write_text(yaml.safe_dump(rule), encoding="utf-8")
    (rules / "filter.yml").write_text(yaml.safe_dump(flt), encoding="utf-8")
    (rules / "broken \x1b]0;pwned\x07.yml").write_text("title: [\x1b]0;pwned\n", encoding="utf-8")
    return logs, rules, recs


def th(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "trailhound", *args],
        capture_output=True,
        timeout=180,
        check=False,
        env={**os.environ, **(env or {})},
    )


def detect(
    tmp: Path, fmt: str, env: dict[str, str] | None = None, copies: int = 1
) -> tuple[subprocess.CompletedProcess[bytes], list[dict[str, Any]]]:
    logs, rules, recs = build(tmp, copies)
    p = th("detect", "--format", fmt, "--min-score", "0", "--rules", str(rules), str(logs), env=env)
    assert p.returncode == 3, p.stderr  # the bad line and the broken rule file
    assert b"Traceback" not in p.stderr
    return p, recs


def assert_no_raw_controls(data: bytes, allow_newline: bool = True) -> None:
    text = data.decode("utf-8")  # also proves no lone surrogate slipped through
    if not allow_newline:
        assert "\n" not in text
    bad = sorted({f"U+{ord(c):04X}" for c in RAW_FORBIDDEN.findall(text)})
    assert not bad, bad
    assert "\r" not in text  # our row separator is LF; a CR only ever comes from a log
    assert "\u2028" not in text and "\u2029" not in text


def test_csv_one_row_per_finding_nothing_raw_values_recoverable(tmp_path: Path) -> None:
    p, recs = detect(tmp_path, "csv")
    assert_no_raw_controls(p.stdout)
    rows = list(csv.reader(io.StringIO(p.stdout.decode("utf-8"), newline="")))
    header, body = rows[0], rows[1:]
    assert len(body) == len(recs)  # one row per hostile record; the filtered one is gone
    assert all(len(r) == len(header) for r in body)
    for r in body:
        for cell in r:
            assert not FORMULA.match(cell) or re.fullmatch(r"-?\d+(\.\d+)?", cell), cell
    got = [dict(zip(header, r)) for r in body]

    def value(cell: str) -> str:  # the README's decoding: one leading quote off, escapes undone
        return decode_visible(cell.removeprefix("'"))

    by_id = {value(g["eventID"]): g for g in got}
    assert set(by_id) == {r["eventID"] for r in recs}
    for r in recs:
        g = by_id[r["eventID"]]
        for col, raw in (
            ("eventName", r["eventName"]),
            ("userArn", r["userIdentity"]["arn"]),
            ("identityType", r["userIdentity"]["type"]),
            ("sourceIP", r["sourceIPAddress"]),
            ("errorCode", r["errorCode"]),
            ("errorMessage", r["errorMessage"]),
        ):
            assert value(g[col]) == raw, (col, g[col])
        titles = [s["title"] for s in json.loads(value(g["signals"]))]
        assert TITLE in titles


# 60 copies: a long table too (1,380 rows)
@pytest.mark.parametrize(("columns", "copies"), [("80", 1), ("200", 1), ("120", 60)])
def test_table_nothing_raw_one_row_per_finding(tmp_path: Path, columns: str, copies: int) -> None:
    p, recs = detect(tmp_path, "table", env={"COLUMNS": columns, "TERM": "xterm-256color"}, copies=copies)
    assert_no_raw_controls(p.stdout)
    text = p.stdout.decode("utf-8")
    assert "\\x1b]0;pwned\\x07" in text and "\\u202e" in text  # shown, visibly
    # every hostile record is a row, and a row's first line starts with its score (2.5: the
    # evil rule's high +3, failed -0.5): no cell broke a row or started a fake one
    assert len(re.findall(r"^2\.5 ", text, re.MULTILINE)) == len(recs)
    assert len(re.findall(r"^\S", text, re.MULTILINE)) == len(recs) + 2  # + header and rule


# rich's own colour: Select Graphic Rendition only (ESC [ digits ; m); nothing else may start
SGR = re.compile(rb"\x1b\[[0-9;]*m")


def test_table_on_a_terminal_emits_only_colour_sequences(tmp_path: Path) -> None:
    """On a real (pseudo-)terminal rich draws colour and measures the width: the only escape
    sequences that reach it are that colour."""
    logs, rules, _ = build(tmp_path)
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "trailhound", "detect", "--min-score", "0", "--rules", str(rules), str(logs)],
        stdout=follower,
        stderr=follower,
        env={**os.environ, "COLUMNS": "160", "LINES": "50", "TERM": "xterm-256color"},
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert proc.wait(timeout=180) == 3
    out = SGR.sub(b"", b"".join(chunks)).replace(b"\r\n", b"\n")  # the terminal's CRLF
    # the progress bar hides and shows the cursor and erases its line: CR ESC[2K, ESC[1A
    out = re.sub(rb"\x1b\[\?25[lh]|\r?(?:\x1b\[1A|\x1b\[2K)+", b"", out)
    assert_no_raw_controls(out)
    assert b"\\x1b]0;pwned\\x07" in out


def test_stderr_summary_escapes_file_names_issues_and_titles(tmp_path: Path) -> None:
    p, _ = detect(tmp_path, "jsonl")
    assert_no_raw_controls(p.stderr)
    err = p.stderr.decode("utf-8")
    assert "trail \\x1b]0;pwned\\x07\\u202e.jsonl:4" in err  # the bad line, file name escaped
    assert "readme \\x1b[2J\\u200b.txt" in err  # the skipped file, named
    assert "Filter \\x1b]0;pwned\\x07 \\u202etitle" in err  # the filter's title
    assert "broken \\x1b]0;pwned\\x07.yml" in err  # the refused rule file


def test_jsonl_round_trips_the_raw_values(tmp_path: Path) -> None:
    p, recs = detect(tmp_path, "jsonl")
    # nothing a terminal would obey, raw (`cat findings.jsonl`): JSON's \uNNNN escapes instead
    assert_no_raw_controls(p.stdout)
    # split on LF only, as JSON Lines says: str.splitlines() would also split inside a string
    # at U+0085 or U+2028, were they raw
    rows = [json.loads(line) for line in p.stdout.decode("utf-8").split("\n") if line]
    assert len(rows) == len(recs)
    by_id = {row["eventID"]: row for row in rows}
    for r in recs:
        row = by_id[r["eventID"]]
        assert row["eventName"] == r["eventName"]
        assert row["userArn"] == r["userIdentity"]["arn"]
        assert row["errorMessage"] == r["errorMessage"]
        assert row["sourceIP"] == r["sourceIPAddress"]
        assert [s["title"] for s in row["signals"]].count(TITLE) == 1


def test_watch_alert_lines_nothing_raw_values_recoverable(tmp_path: Path) -> None:
    """The watch writes each alert's stored body as it is (file, stdout, webhook): escaped once
    when built, it carries no raw C1 / bidi / zero-width character and still decodes to the
    log's values (oracle: the records written here)."""
    logs, rules, recs = build(tmp_path)
    out, db = tmp_path / "alerts.jsonl", tmp_path / "state.db"
    p = th("watch", "--state", str(db), "--output", str(out), "--cycles", "1", "--engine",
           "reference", "--min-score", "0", "--rules", str(rules), "-q", str(logs))
    assert b"Traceback" not in p.stderr
    data = out.read_bytes()
    assert_no_raw_controls(data)
    alerts = [json.loads(x) for x in data.decode("utf-8").split("\n") if x]
    by_id = {a["eventID"]: a for a in alerts}
    assert {r["eventID"] for r in recs} <= by_id.keys()
    for r in recs:
        assert by_id[r["eventID"]]["userAgent"] == r["userAgent"]
