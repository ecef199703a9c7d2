"""Findings rows -> JSON lines, CSV or a terminal table. Rows come from columns.row()."""

from __future__ import annotations

import codecs
import csv
import os
import queue
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TextIO, cast

import orjson

from trailhound.registry import Registry
from trailhound.report.columns import COLUMNS, SEED_COLUMNS
from trailhound.report.escape import for_csv, for_json, for_json_bytes, for_terminal
from trailhound.report.layout import Layout, Slot
from trailhound.report.layout import write_table as write_records
from trailhound.report.names import short_principal, short_time
from trailhound.report.ocsf import write_ocsf

Row = dict[str, Any]
Writer = Callable[[Iterable[Row], TextIO], None]


def wants_raw(writer: Writer) -> bool:
    """A writer that keeps each finding's original record (OCSF's evidence) says so with a
    `wants_raw = True` attribute; the rows of the others do not carry the record."""
    return bool(getattr(writer, "wants_raw", False))


def write_jsonl(rows: Iterable[Row | bytes], out: TextIO) -> None:
    """One JSON object per line; a row may come as its JSON already (columns.row_json). Log text
    that a terminal would obey (C1, bidi controls...) is written escaped (escape.for_json)."""
    # a write per 512 rows: a text stream's write costs more than the row's JSON; the rows are
    # joined as bytes, and written as such to a UTF-8 text stream's own bytes (decoded to text
    # only to be encoded again was 2/5 of the time a 1 GB output took to write)
    dumps = orjson.dumps
    chunk: list[bytes] = []
    write = _bytes_writer(out)
    behind: _WriteBehind | None = None

    def flush() -> None:
        nonlocal behind
        chunk.append(b"")  # (the last row's newline)
        if write is None:
            out.write(for_json(b"\n".join(chunk).decode()))
        elif behind is not None:
            behind.put(for_json_bytes(b"\n".join(chunk)))
        else:
            write(for_json_bytes(b"\n".join(chunk)))
            if not getattr(out, "line_buffering", False):  # (a terminal's: see _WriteBehind)
                behind = _WriteBehind(_fd_writer(out) or write)
        chunk.clear()

    try:
        for r in rows:
            chunk.append(r if r.__class__ is bytes else dumps(r))
            if len(chunk) == 512:
                flush()
        if chunk:
            flush()
    except KeyboardInterrupt:  # Ctrl-C: stop now, not once a reader that may never read has
        if behind is not None:  # (a pager) taken what is queued
            behind.abandon()
            behind = None
        raise
    finally:
        if behind is not None:
            behind.close()


def _fd_writer(out: TextIO) -> Callable[[bytes], object] | None:
    """A write of all its bytes straight to the file descriptor under `out` (its buffers
    flushed first), or None if it has none. Why not the buffer's write: a thread inside a
    BufferedWriter holds its lock, and a process that ends meanwhile (a second Ctrl-C) would
    abort in the interpreter's last flush of stdout; os.write holds no lock of Python's."""
    try:
        fd = out.buffer.fileno()
        out.buffer.flush()
    except (AttributeError, OSError, ValueError):  # (io.UnsupportedOperation is an OSError)
        return None

    def write_all(data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]

    return write_all


class _WriteBehind:
    """Bytes written in order by a thread of its own, while the caller makes the next ones.
    Why: a large output's write system calls (1 GB of rows into a file: ~0.5 s in the kernel)
    then run beside the main thread's Python (a write releases the GIL) - after a scan, on a
    core the workers left idle. Only past the first chunk (a small output starts no thread), and
    not for a terminal (each chunk shows when written). A failed write (a closed pipe, a full
    disk) is raised to the caller at its next `put`, or at `close`, which waits for the rest."""

    def __init__(self, write: Callable[[bytes], object]) -> None:
        self._write = write
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=4)  # (~650 KB a chunk)
        self._error: BaseException | None = None
        self._abandoned = False
        self._thread = threading.Thread(target=self._run, name="trailhound-write", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (data := self._queue.get()) is not None and not self._abandoned:
            if self._error is None:  # (after a failure, what is queued is dropped)
                try:
                    self._write(data)
                except BaseException as exc:  # noqa: BLE001  # (raised in the caller's thread)
                    self._error = exc

    def put(self, data: bytes) -> None:
        self._raise()
        self._queue.put(data)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()
        self._raise()

    def abandon(self) -> None:
        """Stop without waiting: what is queued is dropped, the write under way ends with the
        thread (a daemon) or the process."""
        self._abandoned = True
        try:
            self._queue.put_nowait(None)
        except queue.Full:
            pass

    def _raise(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error


def _bytes_writer(out: TextIO) -> Callable[[bytes], object] | None:
    """The write of the binary stream under `out` when what goes there is what `out` would
    write of the same text (UTF-8: the text is JSON an encoder wrote, so nothing to replace),
    with `out`'s own buffer flushed first so that what it holds comes before; else None."""
    buffer = getattr(out, "buffer", None)
    encoding = getattr(out, "encoding", None)
    if buffer is None or encoding is None or codecs.lookup(encoding).name != "utf-8":
        return None
    out.flush()
    if getattr(out, "line_buffering", False):  # a terminal: each chunk shows when written
        def write_through(data: bytes) -> None:
            buffer.write(data)
            buffer.flush()

        return write_through
    return cast(Callable[[bytes], object], buffer.write)


def _csv_cell(v: Any) -> str:
    if isinstance(v, (list, dict)):
        return for_csv(orjson.dumps(v).decode())
    return for_csv(v)


def write_csv(rows: Iterable[Row], out: TextIO, columns: Sequence[str] = COLUMNS) -> None:
    w = csv.writer(out, lineterminator="\n")
    w.writerow(columns)
    for r in rows:
        w.writerow([_csv_cell(r[c]) for c in columns])


def score_style(score: float) -> str:
    return "bold red" if score >= 3 else "yellow" if score >= 2 else "cyan"


def signals_text(signals: Iterable[Row]) -> str:
    """`security_disable +3, failed -0.5`: each counted rule by its seed signal, else its title."""
    return ", ".join(
        f"{s['signal'] or ('failed' if s['context'] else s['title'])} "
        f"{'+' if s['weight'] >= 0 else ''}{s['weight']}"
        for s in signals
    )


def finding_cells(r: Row) -> dict[str, str]:
    """A finding row's table cells, every one escaped for the terminal (no control character
    left). ARNs are shortened next to the account; times are cut to the second."""
    cells = {
        "score": str(r["suspicion_score"]),
        "time": short_time(r["time"]),
        "provider": r["provider"],
        "account": r["account"],
        "operation": r["eventName"] or r["operationName"],
        "principal": short_principal(r["userArn"], r["account"]),
        "sourceIP": r["sourceIP"],
        "region": r["awsRegion"],
        "error": r["errorCode"],
        "signals": signals_text(r["signals"]),
    }
    return {k: for_terminal(v if v is not None else "") for k, v in cells.items()}


_S = Slot
# One line from 220 columns, two from 100, three below: a finding never takes more.
FINDING_LAYOUTS = (
    Layout(0, (
        (_S("score", "score", 5), _S("time", "time (UTC)", 19), _S("provider", "cloud", 5),
         _S("operation", "operation")),
        (_S("", "", 5), _S("principal", "principal", 40), _S("sourceIP", "source IP", 15),
         _S("region", "region")),
        (_S("", "", 5), _S("account", "account", 14), _S("error", "error", 14),
         _S("signals", "signals")),
    )),
    Layout(100, (
        (_S("score", "score", 5), _S("time", "time (UTC)", 19), _S("provider", "cloud", 5),
         _S("operation", "operation", 36), _S("principal", "principal")),
        (_S("", "", 5), _S("sourceIP", "source IP", 15), _S("account", "account", 14),
         _S("region", "region", 12), _S("error", "error", 16), _S("signals", "signals")),
    )),
    Layout(220, (
        (_S("score", "score", 5), _S("time", "time (UTC)", 19), _S("provider", "cloud", 5),
         _S("account", "account", 14), _S("operation", "operation", 36),
         _S("principal", "principal", 50), _S("sourceIP", "source IP", 15),
         _S("region", "region", 12), _S("error", "error", 16), _S("signals", "signals")),
    )),
)


def write_table(rows: Iterable[Row], out: TextIO) -> None:
    """Human table, laid out for the output's width (report/layout.py): a terminal's own, a
    pipe's `COLUMNS`. Every cell is escaped text (report/escape.py)."""
    records = ((finding_cells(r), score_style(r["suspicion_score"])) for r in rows)
    write_records(records, FINDING_LAYOUTS, out, "no findings")


WRITERS: Registry[Writer] = Registry("output format")
WRITERS.register("table", write_table)
write_jsonl.takes_json = True  # type: ignore[attr-defined]  # (cli/app.py: rows as JSON bytes)
WRITERS.register("jsonl", write_jsonl)
WRITERS.register("csv", write_csv)
WRITERS.register("ocsf", write_ocsf)

__all__ = ["COLUMNS", "SEED_COLUMNS", "WRITERS", "write_csv", "write_jsonl", "write_table"]
