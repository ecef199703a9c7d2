"""The triage tables (report/triage.py): log text is escaped in every cell, lines fit the
width from 80 columns up, and CSV cells that a spreadsheet would evaluate are neutralised."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from rich.cells import cell_len

from trailhound.report.triage import principal_writer, timeline_writer
from trailhound.triage.principals import rank_principals

EVIL = "=cmd|' /C calc'!A0\x1b]0;pwned\x07\u202eevil\x9b31m"


class Pipe(io.StringIO):
    def isatty(self) -> bool:
        return False


def finding(principal: str, n: int) -> dict[str, Any]:
    return {
        "userArn": principal, "time": f"2026-03-14T10:00:{n:02d}Z", "suspicion_score": 3,
        "provider": "aws", "account": "111122223333", "identityType": "IAMUser",
        "sourceIP": "203.0.113.7", "userAgent": EVIL, "accessKey": "AKIA" + "X" * 16,
        "signals": [{"rule_id": "r1", "title": EVIL, "weight": 3, "signal": None, "context": False,
                     "tags": ["attack.defense-evasion"]}],
    }


def event(n: int) -> dict[str, Any]:
    return {
        "time": f"2026-03-14T10:00:{n:02d}Z", "provider": "aws", "account": "1", "service": EVIL,
        "operation": EVIL, "principal": EVIL, "identityType": "IAMUser", "sourceIP": EVIL,
        "userAgent": EVIL, "accessKey": None, "region": "us-east-1", "outcome": "failure",
        "errorCode": EVIL, "errorMessage": EVIL, "eventID": str(n),
        "suspicion_score": 3 if n % 2 else None, "signals": finding("p", n)["signals"] if n % 2 else [],
        "around": n == 3, "records": 1, "origin": "f.json:1",
    }


@pytest.mark.parametrize("width", [80, 120, 200])
def test_tables_escape_and_fit(width: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", str(width))
    principals = rank_principals([finding(EVIL, i) for i in range(3)] + [finding("arn:aws:iam::111122223333:user/a", 9)])
    for write, rows in ((principal_writer("table"), principals), (timeline_writer("table"), [event(i) for i in range(6)])):
        out = Pipe()
        write(rows, out)
        text = out.getvalue()
        for bad in ("\x1b", "\x07", "\u202e", "\x9b"):
            assert bad not in text
        assert all(cell_len(line) <= width for line in text.splitlines())


def test_csv_cells_are_neutralised() -> None:
    principals = rank_principals([finding(EVIL, 1)])
    out = io.StringIO()
    principal_writer("csv")(principals, out)
    (row,) = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert row["principal"].startswith("'=")
    out = io.StringIO()
    timeline_writer("csv")([event(1)], out)
    (row,) = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert row["operation"].startswith("'=") and row["userAgent"].startswith("'=")
