"""The terminal table (report/layout.py through writers.write_table): fixed slots, every cell
escaped, never more lines per finding than the layout has, never wider than the width asked,
and a cut cell is a prefix of the escaped value followed by "…"."""

from __future__ import annotations

import io
import random
from typing import Any

import pytest
from rich.cells import cell_len

from trailhound.report.escape import for_terminal
from trailhound.report.layout import ELLIPSIS, Layout, Slot, fit, render
from trailhound.report.writers import FINDING_LAYOUTS, finding_cells, write_table

HOSTILE = "arn:aws:iam::1:user/\x1b]8;;http://evil\x07click\x1b]8;;\x07\u202eexe.txt\x9b31m"


def a_row(i: int, rng: random.Random) -> dict[str, Any]:
    long = "x" * rng.randint(0, 150)
    return {
        "suspicion_score": rng.choice([1, 2, 3.5, 7]),
        "time": f"2026-03-01T00:00:{i % 60:02d}.123Z",
        "provider": "aws",
        "account": rng.choice(["1", "111122223333", None]),
        "eventName": rng.choice(["AssumeRole", None]),
        "operationName": "Microsoft.Authorization/roleAssignments/write",
        "userArn": rng.choice([HOSTILE, f"arn:aws:iam::1:user/{long}", None, "東京" * 30]),
        "sourceIP": "203.0.113.7",
        "awsRegion": "us-east-1",
        "errorCode": rng.choice([None, "AccessDenied" + long]),
        "signals": [{"signal": "priv_esc", "context": False, "title": "t", "weight": 2},
                    {"signal": None, "context": True, "title": "t", "weight": -0.5}],
    }


class Pipe(io.StringIO):
    def isatty(self) -> bool:
        return False


@pytest.mark.parametrize("width", [60, 80, 99, 100, 120, 219, 220, 260])
@pytest.mark.parametrize("seed", range(3))
def test_table_fits_the_width_and_escapes(
    seed: int, width: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", str(width))
    rng = random.Random(seed)
    rows = [a_row(i, rng) for i in range(40)]
    out = Pipe()
    write_table(rows, out)
    lines = out.getvalue().splitlines()
    for bad in ("\x1b", "\x07", "\u202e", "\x9b"):
        assert bad not in out.getvalue()
    if width >= 80:  # narrower terminals get the 80-column layout, wider than they are
        assert all(cell_len(line) <= width for line in lines)
    layout = max((lay for lay in FINDING_LAYOUTS if lay.min_width <= width), key=lambda x: x.min_width)
    header = len(layout.lines) + 1
    # every finding starts with its score in the first slot; it takes at most len(lines) lines
    starts = [i for i, line in enumerate(lines) if i >= header and line[:1] != " "]
    assert len(starts) == len(rows)
    ends = [*starts[1:], len(lines)]
    assert all(1 <= b - a <= len(layout.lines) for a, b in zip(starts, ends))


def test_hostile_principal_is_shown_escaped() -> None:
    row = a_row(0, random.Random(1)) | {"userArn": HOSTILE, "account": None}
    cells = finding_cells(row)
    # no event account: the ARN keeps its own account in front
    assert cells["principal"] == for_terminal(HOSTILE.removeprefix("arn:aws:iam::"))


@pytest.mark.parametrize("text", ["", "abc", "x" * 50, "東京" * 20, "a\\x1bb" * 9])
@pytest.mark.parametrize("width", [1, 5, 12, 40])
def test_fit_pads_or_cuts_to_exactly_the_width(text: str, width: int) -> None:
    got = fit(text, width)
    assert cell_len(got) == width
    if cell_len(text) <= width:
        assert got.rstrip() == text.rstrip()
    else:
        assert got.endswith(ELLIPSIS)
        assert text.startswith(got[:-1].rstrip())


def test_blank_continuation_lines_are_left_out() -> None:
    layout = Layout(0, ((Slot("a", "A", 3), Slot("b", "B")), (Slot("", "", 3), Slot("c", "C"))))
    lines = list(render([({"a": "1", "b": "x"}, None), ({"a": "2", "c": "y"}, None)], layout, 20, False))
    assert lines[3:] == ["1    x", "2", "     y"]
