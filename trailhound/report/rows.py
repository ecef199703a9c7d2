"""Rows of any shape (hunt results) -> JSON lines, CSV or a terminal table, escaped for each sink
exactly as findings are (writers.py): the cells are log text, attacker-controlled."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, TextIO

import orjson
from rich.console import Console
from rich.table import Table
from rich.text import Text

from trailhound.report.escape import for_terminal
from trailhound.report.writers import write_csv, write_jsonl

Row = dict[str, Any]
# rows drawn in a table; rich takes ~0.5 ms a row, and a longer table is read with jq or a
# spreadsheet anyway (--format jsonl / csv)
RICH_MAX_ROWS = 1000


def _text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, list):
        return ", ".join(_text(x) for x in v)
    if isinstance(v, dict):
        return orjson.dumps(v).decode()
    return str(v)


def write_rows_table(columns: Sequence[str], rows: Iterable[Row], out: TextIO) -> None:
    """Every cell made terminal-safe (for_terminal) and given to rich as plain Text: no markup
    parsed, no control character printed. Past RICH_MAX_ROWS the rest is counted, not drawn."""
    tty = out.isatty()
    table = Table(header_style="bold", expand=False)
    for c in columns:
        table.add_column(for_terminal(c), overflow="fold")
    n = 0
    for r in rows:
        n += 1
        if n <= RICH_MAX_ROWS:
            table.add_row(*(Text(for_terminal(_text(r[c]))) for c in columns))
    if n == 0:
        out.write("no rows\n")
        return
    Console(file=out, highlight=False, soft_wrap=False, width=None if tty else 220).print(table)
    if n > RICH_MAX_ROWS:
        out.write(f"... and {n - RICH_MAX_ROWS} more rows: --format jsonl or csv lists them all\n")


def write_rows(fmt: str, columns: Sequence[str], rows: Iterable[Row], out: TextIO) -> None:
    if fmt == "jsonl":
        write_jsonl(rows, out)
    elif fmt == "csv":
        write_csv(rows, out, columns)
    else:
        write_rows_table(columns, rows, out)
