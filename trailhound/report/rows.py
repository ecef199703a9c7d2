"""Rows of any shape (hunt results, the triage views) -> the output formats, escaped for each
sink exactly as findings are (writers.py): the cells are log text, attacker-controlled."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TextIO

import orjson

from trailhound.report.escape import for_terminal
from trailhound.report.layout import auto_layout, write_table
from trailhound.report.writers import WRITERS, write_csv

Row = dict[str, Any]
RowWriter = Callable[[Iterable[Row], TextIO], None]


def _text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, list):
        return ", ".join(_text(x) for x in v)
    if isinstance(v, dict):
        return orjson.dumps(v).decode()
    return str(v)


def write_rows_table(columns: Sequence[str], rows: Iterable[Row], out: TextIO) -> None:
    """Every row, each cell made terminal-safe (for_terminal), in columns sized to the first
    rows and wrapped to the output's width (layout.auto_layout); cut cells end with "…"."""
    keys = [for_terminal(c) for c in columns]  # a user's SQL names the columns
    records = (
        ({k: for_terminal(_text(r[c])) for k, c in zip(keys, columns)}, None) for r in rows
    )
    write_table(records, functools.partial(auto_layout, keys), out, "no rows")


def view_writer(fmt: str, columns: Sequence[str], table: RowWriter) -> RowWriter:
    """The writer of one view (principals, a timeline, a hunt's rows) for `--format`: the view
    draws its own `table` and names its CSV `columns`; any other registered format (jsonl, a
    plugin's) writes the rows as they are."""
    if fmt == "table":
        return table
    if fmt == "csv":
        return functools.partial(write_csv, columns=columns)
    return WRITERS.get(fmt)


def write_rows(fmt: str, columns: Sequence[str], rows: Iterable[Row], out: TextIO) -> None:
    view_writer(fmt, columns, functools.partial(write_rows_table, columns))(rows, out)
