"""write_jsonl: the same lines whatever stream it is given (a text stream's own bytes, when it
has them, or its text)."""

from __future__ import annotations

import io
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
