"""The terminal table: past RICH_MAX_ROWS rows it is drawn as plain aligned text. Both ways every
cell is escaped, and the plain one folds long cells without losing a character."""

from __future__ import annotations

import io
import random
from typing import Any

import pytest

from trailhound.report import writers
from trailhound.report.writers import _HEADERS, _cells, write_table

HOSTILE = "arn:aws:iam::1:user/\x1b]8;;http://evil\x07click\x1b]8;;\x07\u202eexe.txt\x9b31m"


def a_row(i: int, rng: random.Random) -> dict[str, Any]:
    long = "x" * rng.randint(0, 150)
    return {
        "suspicion_score": rng.choice([1, 2, 3.5, 7]),
        "time": f"2026-03-01T00:00:{i % 60:02d}Z",
        "provider": "aws",
        "eventName": rng.choice(["AssumeRole", None]),
        "operationName": "Microsoft.Authorization/roleAssignments/write",
        "userArn": rng.choice([HOSTILE, f"arn:aws:iam::1:user/{long}", None]),
        "sourceIP": "203.0.113.7",
        "awsRegion": "us-east-1",
        "errorCode": rng.choice([None, "AccessDenied" + long]),
        "signals": [{"signal": "priv_esc", "context": False, "title": "t", "weight": 2},
                    {"signal": None, "context": True, "title": "t", "weight": -0.5}],
    }


class Pipe(io.StringIO):
    def isatty(self) -> bool:
        return False


def rebuild(text: str) -> list[list[str]]:
    """Cells back from the plain table: column spans from the rule line, a row's continuation
    lines (blank score column) appended to its cells."""
    lines = text.splitlines()
    spans, col = [], 0
    for run in lines[1].split("  "):
        spans.append((col, col + len(run)))
        col += len(run) + 2
    rows: list[list[str]] = []
    for line in lines[2:]:
        parts = [line[a:b].rstrip() if k < len(spans) - 1 else line[a:].rstrip() for k, (a, b) in enumerate(spans)]
        if parts[0]:
            rows.append(parts)
        else:
            rows[-1] = [x + y for x, y in zip(rows[-1], parts)]
    return rows


@pytest.mark.parametrize("seed", range(5))
def test_plain_table_keeps_every_character_and_escapes(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(writers, "RICH_MAX_ROWS", 0)
    rng = random.Random(seed)
    rows = [a_row(i, rng) for i in range(60)]
    out = Pipe()
    write_table(rows, out)
    text = out.getvalue()
    for bad in ("\x1b", "\x07", "\u202e", "\x9b"):
        assert bad not in text
    assert text.splitlines()[0].split() == " ".join(_HEADERS).split()
    # cells never contain runs of two spaces here, so the column spans are unambiguous
    assert rebuild(text) == [[c.rstrip() for c in _cells(r)] for r in rows]


def test_rich_table_escapes_too() -> None:
    rows = [a_row(0, random.Random(1)) | {"userArn": HOSTILE}]
    out = Pipe()
    write_table(rows, out)
    text = out.getvalue()
    for bad in ("\x1b", "\x07", "\u202e", "\x9b"):
        assert bad not in text
    assert "\\x1b" in text.replace("\n", "").replace("│", "").replace(" ", "")


def test_no_findings() -> None:
    out = Pipe()
    write_table([], out)
    assert out.getvalue() == "no findings\n"
