"""Findings rows -> JSON lines, CSV or a terminal table. Rows come from columns.row()."""

from __future__ import annotations

import csv
import shutil
from collections.abc import Callable, Iterable
from typing import Any, TextIO

import orjson
from rich.cells import cell_len, chop_cells, set_cell_size
from rich.table import Table
from rich.text import Text

from trailhound.registry import Registry
from trailhound.report.columns import COLUMNS, SEED_COLUMNS
from trailhound.report.console import PipeConsole
from trailhound.report.escape import for_csv, for_terminal

Row = dict[str, Any]
Writer = Callable[[Iterable[Row], TextIO], None]


def write_jsonl(rows: Iterable[Row], out: TextIO) -> None:
    # a write per 512 rows: a text stream's write costs more than the row's JSON
    dumps, nl = orjson.dumps, orjson.OPT_APPEND_NEWLINE
    chunk: list[str] = []
    for r in rows:
        chunk.append(dumps(r, option=nl).decode())
        if len(chunk) == 512:
            out.write("".join(chunk))
            chunk.clear()
    out.write("".join(chunk))


def _csv_cell(v: Any) -> str:
    if isinstance(v, (list, dict)):
        return for_csv(orjson.dumps(v).decode())
    return for_csv(v)


def write_csv(rows: Iterable[Row], out: TextIO) -> None:
    w = csv.writer(out, lineterminator="\n")
    w.writerow(COLUMNS)
    for r in rows:
        w.writerow([_csv_cell(r[c]) for c in COLUMNS])


def _score_style(score: float) -> str:
    return "bold red" if score >= 3 else "yellow" if score >= 2 else "cyan"


_HEADERS = ("score", "time", "provider", "operation", "principal", "source IP", "region", "error", "signals")
# Above this many rows the table is drawn by `_plain_table`: rich takes ~0.5 ms a row (10 s for
# 17,000 findings), the plain renderer ~10 us, for the same columns and the same escaping.
RICH_MAX_ROWS = 1000


def _cells(r: Row) -> list[str]:
    """A row's table cells, every one escaped for the terminal (no control character left)."""
    op = r["eventName"] or r["operationName"]
    sig = ", ".join(
        f"{s['signal'] or ('failed' if s['context'] else s['title'])} {'+' if s['weight'] >= 0 else ''}{s['weight']}"
        for s in r["signals"]
    )
    cells = [str(r["suspicion_score"]), r["time"], r["provider"], op, r["userArn"], r["sourceIP"], r["awsRegion"], r["errorCode"] or "", sig]
    return [for_terminal(c if c is not None else "") for c in cells]


def write_table(rows: Iterable[Row], out: TextIO) -> None:
    """Human table. Every cell is escaped text (report/escape.py): no markup is parsed and no
    control character from the logs reaches the terminal."""
    tty = out.isatty()
    scores: list[float] = []
    cells: list[list[str]] = []
    for r in rows:
        scores.append(r["suspicion_score"])
        cells.append(_cells(r))
    if not cells:
        out.write("no findings\n")
        return
    if len(cells) > RICH_MAX_ROWS:
        _plain_table(cells, scores, out, tty)
        return
    # A pipe or file gets a wide, colourless table; a terminal gets its own width and colour.
    console = PipeConsole(file=out, highlight=False, soft_wrap=False, width=None if tty else 220)
    table = Table(show_lines=False, header_style="bold", expand=False)
    for name in _HEADERS[:3]:
        table.add_column(name, no_wrap=True)
    for name in _HEADERS[3:]:
        table.add_column(name, overflow="fold")
    for score, row in zip(scores, cells):
        texts = [Text(c) for c in row]
        texts[0].stylize(_score_style(score))
        table.add_row(*texts)
    console.print(table)


# widest a column gets in the plain table; longer cells fold onto more lines (nothing is cut)
_PLAIN_MAX = (5, 32, 8, 40, 64, 39, 16, 32, 64)
_ANSI = {"bold red": "\x1b[1;31m", "yellow": "\x1b[33m", "cyan": "\x1b[36m"}


def _plain_table(cells: list[list[str]], scores: list[float], out: TextIO, colour: bool) -> None:
    """The table as aligned text: a header, a rule, one line per row (more when a cell folds).
    Widths are terminal cells (wide characters count two), as rich measures them."""
    widths = [cell_len(h) for h in _HEADERS]
    for row in cells:
        for i, c in enumerate(row):
            n = cell_len(c)
            if n > widths[i]:
                widths[i] = min(n, max(_PLAIN_MAX[i], cell_len(_HEADERS[i])))
    sep = "  "
    if colour:  # a terminal: fold the widest columns until a line fits its width
        room = shutil.get_terminal_size().columns - len(sep) * (len(widths) - 1)
        while sum(widths) > room:
            i = max(range(3, len(widths)), key=lambda k: widths[k])
            if widths[i] <= 12:
                break
            widths[i] -= 1
    lines = [sep.join(set_cell_size(h, w) for h, w in zip(_HEADERS, widths)).rstrip()]
    lines.append(sep.join("─" * w for w in widths))
    for score, row in zip(scores, cells):
        parts = [chop_cells(c, w) or [""] for c, w in zip(row, widths)]
        height = max(len(p) for p in parts)
        for k in range(height):
            texts = [set_cell_size(p[k] if k < len(p) else "", w) for p, w in zip(parts, widths)]
            if colour and k == 0:
                texts[0] = _ANSI[_score_style(score)] + texts[0] + "\x1b[0m"
            lines.append(sep.join(texts).rstrip())
        if len(lines) >= 512:
            out.write("\n".join(lines) + "\n")
            lines.clear()
    if lines:
        out.write("\n".join(lines) + "\n")


WRITERS: Registry[Writer] = Registry("output format")
WRITERS.register("table", write_table)
WRITERS.register("jsonl", write_jsonl)
WRITERS.register("csv", write_csv)

__all__ = ["COLUMNS", "SEED_COLUMNS", "WRITERS", "write_csv", "write_jsonl", "write_table"]
