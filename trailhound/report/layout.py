"""Fixed-width record layouts for the terminal: each record is one to three lines of slots, the
lines of a record and its header aligned slot by slot, the last slot of a line taking the room
that is left. A cell wider than its slot is cut with "…" (the full value is in JSONL/CSV), so a
record never takes more lines than its layout has: that is what keeps a table readable at 80
columns. A continuation line whose cells are all empty is left out.

`write_table` is the one table writer: findings (report/writers.py), principals and timelines
(report/triage.py) bring their hand-made layouts, rows of any columns (hunts, report/rows.py) a
layout fitted to their first rows by `auto_layout`.

Written here rather than with rich.Table: rich folds cells onto as many lines as they need (the
1,556-line demo table of issue #11) and takes about 0.5 ms a row; this takes ~10 us. Widths are
terminal cells (wide characters count two), measured with rich.cells as rich measures them.
"""

from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TextIO

from rich.cells import cell_len, set_cell_size

GAP = "  "
MIN_FLEX = 8  # the last slot of a line never gets less than this, even on a tiny terminal
ELLIPSIS = "…"
_ANSI = {"bold red": "\x1b[1;31m", "yellow": "\x1b[33m", "cyan": "\x1b[36m"}
_RESET = "\x1b[0m"


@dataclass(frozen=True, slots=True)
class Slot:
    key: str  # the cell's key in a record ("" for an empty slot that only indents)
    header: str
    width: int | None = None  # None: the rest of the line (only the last slot of a line)


Line = tuple[Slot, ...]
Record = tuple[Mapping[str, str], str | None]  # (escaped cells, style of the first slot)


@dataclass(frozen=True, slots=True)
class Layout:
    min_width: int  # the narrowest terminal this layout is chosen for
    lines: tuple[Line, ...]


def output_width(out: TextIO) -> int:
    """A terminal's own width; a pipe or a file follows `COLUMNS` (as `ls` and git do), else 120."""
    if out.isatty():
        return shutil.get_terminal_size().columns
    try:
        return max(int(os.environ.get("COLUMNS", "")), 1)
    except ValueError:
        return 120


def choose(layouts: Sequence[Layout], width: int) -> Layout:
    """The widest layout that fits `width` (the narrowest one when none does)."""
    fitting = [lay for lay in layouts if lay.min_width <= width]
    return max(fitting, key=lambda lay: lay.min_width) if fitting else min(layouts, key=lambda lay: lay.min_width)


def fit(text: str, width: int) -> str:
    """`text` padded or cut to exactly `width` cells; a cut ends with "…"."""
    if cell_len(text) <= width:
        return set_cell_size(text, width)
    return set_cell_size(text, max(width - 1, 0)) + ELLIPSIS


def _widths(line: Line, width: int) -> list[int]:
    fixed = sum(s.width or 0 for s in line) + len(GAP) * (len(line) - 1)
    return [s.width if s.width is not None else max(width - fixed, MIN_FLEX) for s in line]


def _render_line(line: Line, widths: Sequence[int], cells: Mapping[str, str]) -> str:
    return GAP.join(fit(cells.get(s.key, "") if s.key else "", w) for s, w in zip(line, widths)).rstrip()


def render(
    records: Iterable[Record],
    layout: Layout,
    width: int,
    colour: bool,
) -> Iterator[str]:
    """The header, a rule, then each record's lines. Records are (cells, style): every cell
    already escaped for the terminal; `style` colours the record's first slot when `colour`."""
    widths = [_widths(line, width) for line in layout.lines]
    for line, ws in zip(layout.lines, widths):
        yield _render_line(line, ws, {s.key: s.header for s in line if s.key})
    yield "─" * min(width, max(sum(ws) + len(GAP) * (len(ws) - 1) for ws in widths))
    for cells, style in records:
        for k, (line, ws) in enumerate(zip(layout.lines, widths)):
            if k and not any(cells.get(s.key) for s in line if s.key):
                continue
            text = _render_line(line, ws, cells)
            if colour and style and k == 0:
                head = fit(cells.get(line[0].key, ""), ws[0])
                text = _ANSI[style] + head + _RESET + text[len(head):]
            yield text


def write_lines(lines: Iterable[str], out: TextIO) -> None:
    """Write in chunks of 512 lines: a text stream's write costs more than a line."""
    chunk: list[str] = []
    for line in lines:
        chunk.append(line)
        if len(chunk) == 512:
            out.write("\n".join(chunk) + "\n")
            chunk.clear()
    if chunk:
        out.write("\n".join(chunk) + "\n")


def write_table(
    records: Iterable[Record],
    layouts: Sequence[Layout] | Callable[[Sequence[Record], int], Layout],
    out: TextIO,
    empty: str,
) -> None:
    """Records laid out for the output's width (a terminal's own, a pipe's `COLUMNS`), coloured
    on a terminal; `empty` (e.g. "no findings") when there is none. `layouts`: the layouts to
    choose from, or a function making one from the first SAMPLE records and the width."""
    it = iter(records)
    head = list(itertools.islice(it, SAMPLE))
    if not head:
        out.write(empty + "\n")
        return
    width = output_width(out)
    layout = layouts(head, width) if callable(layouts) else choose(layouts, width)
    write_lines(render(itertools.chain(head, it), layout, width, out.isatty()), out)


SAMPLE = 200  # records that size an auto_layout's columns (the rest are cut to fit, as ever)
MAX_AUTO = 40  # widest column of an auto_layout that does not fit on one line


def auto_layout(keys: Sequence[str], sample: Sequence[Record], width: int) -> Layout:
    """A layout for rows of any columns (`keys`, in order): each column as wide as its header
    and sampled cells need; all on one line when they fit `width`, else each at most MAX_AUTO
    wide and wrapped onto as many lines as it takes, continuation lines indented by INDENT.
    The last slot of each line takes the rest of the line."""
    need = {
        k: max([cell_len(k), *(cell_len(cells.get(k, "")) for cells, _ in sample)]) for k in keys
    }
    if sum(need.values()) + len(GAP) * (len(keys) - 1) > width:
        need = {k: min(n, MAX_AUTO) for k, n in need.items()}
    lines: list[list[Slot]] = [[]]
    used = -len(GAP)
    for k in keys:
        has_column = any(s.key for s in lines[-1])
        if has_column and used + len(GAP) + need[k] > width:
            lines.append([Slot("", "", INDENT)])
            used = INDENT
        lines[-1].append(Slot(k, k, need[k]))
        used += len(GAP) + need[k]
    return Layout(0, tuple((*line[:-1], Slot(line[-1].key, line[-1].header)) for line in lines))


INDENT = 2  # continuation lines of an auto_layout start after it (and a GAP)
