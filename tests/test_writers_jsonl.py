"""write_jsonl: the same lines whatever stream it is given (a text stream's own bytes, when it
has them, or its text)."""

from __future__ import annotations

import fcntl
import io
import os
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

from trailhound.report.writers import write_jsonl

REPO = Path(__file__).resolve().parent.parent

ROWS: list[Any] = [
    {"a": 1, "t": "caf\u00e9 \u202e"},  # a bidi control: escaped (escape.for_json)
    orjson.dumps({"b": "\u0085x"}),  # a row as its JSON already
    *[{"n": i} for i in range(1100)],  # more than two chunks
]
WANT = b"".join(orjson.dumps(r) + b"\n" if not isinstance(r, bytes) else r + b"\n" for r in ROWS)
WANT = WANT.replace("\u202e".encode(), b"\\u202e").replace("\u0085".encode(), b"\\u0085")


@pytest.mark.parametrize("line_buffering", [False, True])
def test_jsonl_on_a_utf8_stream_after_its_own_text(line_buffering: bool) -> None:
    raw = io.BytesIO()
    out = io.TextIOWrapper(raw, encoding="utf-8", line_buffering=line_buffering)
    out.write("before\n")  # held in the text layer: must come first
    write_jsonl(iter(ROWS), out)
    out.write("after\n")
    out.flush()
    assert raw.getvalue() == b"before\n" + WANT + b"after\n"


@pytest.mark.parametrize("encoding", ["latin-1", "utf-16"])
def test_jsonl_on_another_encoding_is_that_encoding(encoding: str) -> None:
    raw = io.BytesIO()
    out = io.TextIOWrapper(raw, encoding=encoding, errors="backslashreplace")
    write_jsonl(iter(ROWS), out)
    out.flush()
    assert raw.getvalue() == WANT.decode().encode(encoding, "backslashreplace")


def test_jsonl_on_a_text_only_stream() -> None:
    out = io.StringIO()
    write_jsonl(iter(ROWS), out)
    assert out.getvalue() == WANT.decode()


class _Fails(io.RawIOBase):
    """A binary stream whose writes fail after the first (a reader that left, a full disk)."""

    def __init__(self) -> None:
        self.got = b""
        self.writes = 0

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        self.writes += 1
        if self.writes > 1:
            raise BrokenPipeError(32, "Broken pipe")
        self.got += bytes(b)
        return len(b)


def test_a_failed_write_is_raised_to_the_caller() -> None:
    """Past the first chunk the writes are made by a thread of their own (writers._WriteBehind):
    its failure is the caller's exception, and nothing after it is written."""
    raw = _Fails()
    out = io.TextIOWrapper(io.BufferedWriter(raw, buffer_size=16), encoding="utf-8")
    with pytest.raises(BrokenPipeError):
        write_jsonl(iter(ROWS * 3), out)
    assert raw.got == b"".join(WANT.splitlines(keepends=True)[:512])  # the first chunk alone
    assert not [t for t in threading.enumerate() if t.name == "trailhound-write"]


def test_what_came_before_a_failing_row_is_written() -> None:
    """An exception while the rows are made (the scan failed) is the caller's, after every row
    made before it is written, as without the thread."""
    def rows() -> Any:
        yield from ROWS
        raise KeyError("the scan failed")

    raw = io.BytesIO()
    out = io.TextIOWrapper(raw, encoding="utf-8")
    with pytest.raises(KeyError, match="the scan failed"):
        write_jsonl(rows(), out)
    out.flush()
    # the whole chunks made before the failure (512 rows each), in order
    assert raw.getvalue() == b"".join(WANT.splitlines(keepends=True)[:1024])
    assert not [t for t in threading.enumerate() if t.name == "trailhound-write"]



_PAGER_SCRIPT = """
import io, sys
from trailhound.report.writers import write_jsonl
out = io.TextIOWrapper(open(int(sys.argv[1]), "wb"), encoding="utf-8")
def rows():
    for i in range(10**7):
        if i == 2000:  # (about 440 KB made: the pipe, the thread and its queue fill soon after)
            print("writing", file=sys.stderr, flush=True)
        yield {"n": i, "pad": "x" * 200}
try:
    write_jsonl(rows(), out)
except KeyboardInterrupt:
    print("interrupted", file=sys.stderr, flush=True)
    sys.exit(130)
"""


def test_ctrl_c_does_not_wait_for_a_reader_that_does_not_read() -> None:
    """A pager that stopped reading (`detect ... | less`): a Ctrl-C ends the writing at once,
    not when the reader takes what is queued (it may never), and the process ends (the thread's
    writes go straight to the descriptor, writers._fd_writer: it holds no lock of Python's that
    the interpreter's last flush would wait for)."""
    r, w = os.pipe()
    # (room for the first chunk, which the main thread writes itself, before the thread starts)
    fcntl.fcntl(w, getattr(fcntl, "F_SETPIPE_SZ", 1031), 1 << 20)
    p = subprocess.Popen([sys.executable, "-c", _PAGER_SCRIPT, str(w)], pass_fds=(w,),
                         stderr=subprocess.PIPE, text=True, cwd=REPO,
                         env={**os.environ, "PYTHONPATH": str(REPO)})
    os.close(w)
    try:
        assert p.stderr is not None and select.select([p.stderr], [], [], 60)[0], "no rows made"
        assert p.stderr.readline() == "writing\n"
        time.sleep(1)  # (blocked by then in the queue's put: the reader reads nothing)
        p.send_signal(signal.SIGINT)
        try:
            _, err = p.communicate(timeout=60)  # (a liveness bound: blocked for good without the fix)
        except subprocess.TimeoutExpired:
            pytest.fail("write_jsonl waited for a reader that never reads")
        assert p.returncode == 130 and "interrupted" in err, (p.returncode, err)
        assert "Fatal Python error" not in err and "Traceback" not in err, err
    finally:
        os.close(r)
        p.kill()
        p.wait()
