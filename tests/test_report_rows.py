"""The one table writer for rows of any columns (hunts): every row drawn, every line within the
output's width, every cell escaped, values whole when they fit (report/rows.py, layout.py)."""

from __future__ import annotations

import io
import string

import pytest
from rich.cells import cell_len

from trailhound.report.layout import MAX_AUTO
from trailhound.report.rows import write_rows, write_rows_table


def _table(columns: list[str], rows: list[dict[str, object]], width: int, mp: pytest.MonkeyPatch) -> list[str]:
    mp.setenv("COLUMNS", str(width))
    out = io.StringIO()
    write_rows_table(columns, rows, out)
    return out.getvalue().splitlines()


def test_fits_on_one_line_when_it_can(monkeypatch: pytest.MonkeyPatch) -> None:
    rows = [{"principal": f"user/u{i}", "calls": i * 7} for i in range(5)]
    lines = _table(["principal", "calls"], rows, 80, monkeypatch)
    assert lines[0].split() == ["principal", "calls"]
    assert [ln.split() for ln in lines[2:]] == [[r["principal"], str(r["calls"])] for r in rows]


@pytest.mark.parametrize("width", [40, 80, 120])
def test_wide_rows_wrap_within_the_width(monkeypatch: pytest.MonkeyPatch, width: int) -> None:
    columns = [f"col_{c}" for c in "abcdef"]
    # 30-character values: six of them never fit 120 columns on one line
    rows = [{c: f"{c}:{string.ascii_lowercase[i]}" * 3 + "x" * (30 - 3 * (len(c) + 2)) for c in columns}
            for i in range(4)]
    lines = _table(columns, rows, width, monkeypatch)
    assert all(cell_len(ln) <= width for ln in lines)
    text = "\n".join(lines)
    for c in columns:
        assert c in text
    for r in rows:  # 30 <= MAX_AUTO: every value whole wherever the width leaves room for it
        for v in r.values():
            assert v in text or width < len(v) + 4
    assert 30 <= MAX_AUTO


def test_long_cells_are_cut_not_folded(monkeypatch: pytest.MonkeyPatch) -> None:
    rows = [{"a": "x" * 300, "b": "y" * 300}]
    lines = _table(["a", "b"], rows, 80, monkeypatch)
    # capped at MAX_AUTO, a and b no longer fit one line: 2 header lines, the rule, 2 lines
    assert len(lines) == 5
    assert all(cell_len(ln) <= 80 for ln in lines)
    assert lines[3].startswith("xxx") and lines[3].endswith("…")
    assert lines[4].lstrip().startswith("yyy") and lines[4].endswith("…")


def test_cells_and_column_names_are_escaped(monkeypatch: pytest.MonkeyPatch) -> None:
    evil = "\x1b[2J\u202eevil\x9b31m"
    lines = _table([f"n{evil}"], [{f"n{evil}": evil}], 120, monkeypatch)
    text = "\n".join(lines)
    assert "\x1b" not in text and "\u202e" not in text and "\x9b" not in text
    assert "\\x1b[2J" in text


def test_empty_and_other_formats(monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.StringIO()
    write_rows_table(["a"], [], out)
    assert out.getvalue() == "no rows\n"
    out = io.StringIO()
    write_rows("jsonl", ["a"], [{"a": [1, "=x"]}], out)
    assert out.getvalue() == '{"a":[1,"=x"]}\n'
    out = io.StringIO()
    write_rows("csv", ["a"], [{"a": "=x"}], out)
    assert out.getvalue() == "a\n'=x\n"
