"""Findings rows -> JSON lines, CSV or a terminal table. Rows come from columns.row()."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable
from typing import Any, TextIO

import orjson
from rich.console import Console
from rich.table import Table
from rich.text import Text

from trailhound.registry import Registry
from trailhound.report.columns import COLUMNS, SEED_COLUMNS
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


def write_table(rows: Iterable[Row], out: TextIO) -> None:
    """Human table. Every cell is a rich Text built from escaped strings: no markup is parsed
    and no control character from the logs reaches the terminal."""
    # A pipe or file gets a wide, colourless table; a terminal gets its own width and colour.
    width = None if out.isatty() else 220
    console = Console(file=out, highlight=False, soft_wrap=False, width=width)
    table = Table(show_lines=False, header_style="bold", expand=False)
    for name in ("score", "time", "provider"):
        table.add_column(name, no_wrap=True)
    for name in ("operation", "principal", "source IP", "region", "error", "signals"):
        table.add_column(name, overflow="fold")
    n = 0
    for r in rows:
        n += 1
        op = r["eventName"] or r["operationName"]
        err = r["errorCode"] or ""
        sig = ", ".join(
            f"{s['signal'] or ('failed' if s['context'] else s['title'])} {'+' if s['weight'] >= 0 else ''}{s['weight']}"
            for s in r["signals"]
        )
        cells = [str(r["suspicion_score"]), r["time"], r["provider"], op, r["userArn"], r["sourceIP"], r["awsRegion"], err, sig]
        texts = [Text(for_terminal(c if c is not None else "")) for c in cells]
        texts[0].stylize(_score_style(r["suspicion_score"]))
        table.add_row(*texts)
    if n:
        console.print(table)
    else:
        console.print(Text("no findings"))


WRITERS: Registry[Writer] = Registry("output format")
WRITERS.register("table", write_table)
WRITERS.register("jsonl", write_jsonl)
WRITERS.register("csv", write_csv)

__all__ = ["COLUMNS", "SEED_COLUMNS", "WRITERS", "write_csv", "write_jsonl", "write_table"]
