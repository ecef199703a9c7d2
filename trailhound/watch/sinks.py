"""Where alerts go, each fed from the state's outbox (state.alerts) AFTER the cycle's commit.

* AlertFile (`--output FILE.jsonl`): exactly once. One JSON line per alert, `{"seq": N, ...}`,
  in seq order. The file itself is the cursor: on start, a torn last line (killed mid-write) and
  any line past the database's last seq are cut, and the rest of the outbox is appended; so a
  kill anywhere (before, inside or after the commit, mid-write) neither loses nor repeats one.
* AlertStream (`--output -`, `detect --state`): at least once. The cursor is in the database,
  advanced after the write: a kill between the two repeats that cycle's alerts on the next run
  (each carries its `alert_id` to drop repeats by); nothing is lost.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable, Iterable, Iterator
from typing import Any, BinaryIO, TextIO

import orjson

from trailhound.errors import UsageError
from trailhound.watch.state import State

_SEQ = re.compile(rb'\{"seq":([0-9]+),')
_BLOCK = 1 << 16


def line(seq: int, body: bytes) -> bytes:
    """The alert's output line: its body with `seq` first."""
    return b'{"seq":%d,%s\n' % (seq, body[1:])


class AlertFile:
    def __init__(self, path: str, state: State) -> None:
        self.path = path
        self.state = state
        self.last = _recover(path, state.last_seq())
        state.set_meta(f"cursor:file:{os.path.abspath(path)}", str(self.last))
    def flush(self) -> int:
        """Append every committed alert not in the file yet; how many."""
        n = 0
        with open(self.path, "ab") as out:
            for seq, body in self.state.alerts_after(self.last):
                out.write(line(seq, body))
                self.last = seq
                n += 1
            out.flush()
            os.fsync(out.fileno())
        # what this file holds, for retention (state.expire): nothing it lacks is deleted
        self.state.set_meta(f"cursor:file:{os.path.abspath(self.path)}", str(self.last))
        return n


def _recover(path: str, committed: int) -> int:
    """Cut `path` after its last whole line whose seq is at most `committed`; that seq (0: an
    empty or new file)."""
    if not os.path.exists(path):
        open(path, "ab").close()
        return 0
    if not stat.S_ISREG(os.stat(path).st_mode):  # a FIFO, a device, a folder: no cut, no seek
        raise UsageError(
            f"--output {path}: not a regular file; watch cuts its file back to the state after "
            "a crash (each alert exactly once), so give a file path, or - for stdout"
        )
    with open(path, "r+b") as f:
        for start, text in _lines_backwards(f):
            m = _SEQ.match(text)
            if m is not None and int(m.group(1)) <= committed:
                f.truncate(start + len(text))
                return int(m.group(1))
        f.truncate(0)
        return 0


def _lines_backwards(f: BinaryIO) -> Iterator[tuple[int, bytes]]:
    """(offset, line with its newline) of every whole line, last first; a torn last line (no
    newline) is not one. Reads a block at a time from the end: the start of a long file is
    read only when it has to be."""
    pos = f.seek(0, os.SEEK_END)
    carry = b""  # the bytes from `pos` not yet yielded; once `whole`, they end with a newline
    whole = False
    while True:
        if not whole:
            e = carry.rfind(b"\n")
            if e >= 0:
                carry, whole = carry[: e + 1], True
        if whole and carry:
            s = carry.rfind(b"\n", 0, len(carry) - 1) + 1
            if s > 0 or pos == 0:
                yield pos + s, carry[s:]
                carry = carry[:s]
                continue
        if pos == 0:
            return
        step = min(_BLOCK, pos)
        pos -= step
        f.seek(pos)
        carry = f.read(step) + carry


class AlertStream:
    """Alerts as rows (decoded bodies) to a writer on a text stream (report/writers.WRITERS)."""

    def __init__(
        self, out: TextIO, writer: Callable[[Iterable[dict[str, Any]], TextIO], None],
        state: State, name: str = "stdout",
    ) -> None:
        self.out, self.writer, self.state = out, writer, state
        self.key = f"cursor:{name}"

    def flush(self) -> int:
        last = self.state.meta_int(self.key)
        rows = []
        for seq, body in self.state.alerts_after(last):
            rows.append({"seq": seq, **orjson.loads(body)})
            last = seq
        if rows:
            self.writer(rows, self.out)
            self.out.flush()
            self.state.set_meta(self.key, str(last))
        return len(rows)
