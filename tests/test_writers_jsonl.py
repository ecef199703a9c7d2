"""write_jsonl: the same lines whatever stream it is given (a text stream's own bytes, when it
has them, or its text)."""

from __future__ import annotations

import io
import threading
from typing import Any

import orjson
import pytest

from trailhound.report.writers import write_jsonl

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
