"""One input's bytes -> RawRecord | Issue: gzip, text clean-up, framing, envelopes, in order."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import BinaryIO

from trailhound.model import Issue, Location, RawRecord
from trailhound.sources._util import snippet
from trailhound.sources.charset import UTF8_BOM, repair_utf8, trim_incomplete_utf8, utf16_to_utf8
from trailhound.sources.envelopes import Ctx, Item, unwrap
from trailhound.sources.files import InputSpec, display_name, read_raw
from trailhound.sources.framing import DOCUMENT, FrameError, frames
from trailhound.sources.gzipio import gunzip, is_gzip

_WS_MATCH = re.compile(rb"[ \t\r\n]*").match

# Other containers we do not open; named in the not-JSON message so the fix is obvious.
_MAGIC = (
    (b"PK\x03\x04", "a zip archive"),
    (b"BZh", "bzip2-compressed data"),
    (b"\xfd7zXZ\x00", "xz-compressed data"),
    (b"\x28\xb5\x2f\xfd", "zstd-compressed data"),
    (b"PAR1", "a Parquet file"),
)


def read_input(spec: InputSpec, stdin: BinaryIO | None = None) -> Iterator[Item]:
    """Records and issues of one input, in file order. Never raises on bad input."""
    name = display_name(spec)
    try:
        raw = read_raw(spec, stdin)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        yield Issue(Location(name), "unreadable", f"cannot read: {reason}", "error")
        return
    yield from read_bytes(raw, name, spec.explicit)


def read_bytes(raw: bytes, path: str, explicit: bool = True) -> Iterator[Item]:
    """Records and issues in the bytes of one file (`path` only labels locations)."""
    if not is_gzip(raw):
        yield from _read_text(raw, path, explicit, truncated=False)
        return
    data, problem = gunzip(raw)
    if problem is None:
        yield from _read_text(data, path, explicit, truncated=False)
        return
    kept = 0
    for item in _read_text(data, path, explicit, truncated=True):
        if isinstance(item, RawRecord):
            kept += 1
        yield item
    yield Issue(
        Location(path, offset=problem.offset, compressed=True),
        "truncated_gzip",
        problem.message(kept),
        "error",
    )


def _read_text(data: bytes, path: str, explicit: bool, truncated: bool) -> Iterator[Item]:
    start = 0
    if data.startswith(UTF8_BOM):
        start = len(UTF8_BOM)
    else:
        transcoded = utf16_to_utf8(data)
        if transcoded is not None:
            data = transcoded
    first = _WS_MATCH(data, start).end()  # type: ignore[union-attr]  # always matches
    if first >= len(data):
        if not truncated:  # a cut stream explains itself; no second issue
            what = "empty file" if len(data) == start else "file holds only whitespace"
            yield Issue(Location(path), "empty", f"{what}; nothing to read", "skip")
        return
    if data[first] not in b"{[":
        yield _not_json(data, first, path, explicit)
        return
    if truncated:
        data = trim_incomplete_utf8(data)
    data, bad = repair_utf8(data, start)
    if bad is not None:
        yield Issue(Location(path, line=bad.line, offset=bad.offset), "non_utf8", bad.message())
    for frame in frames(data, start, truncated):
        if isinstance(frame, FrameError):
            loc = Location(path, frame.line, frame.offset, frame.index, frame.pointer)
            yield Issue(loc, "bad_json", frame.message, "error")
            continue
        envelope = "single" if frame.shape == DOCUMENT else "jsonl"
        ctx = Ctx(path, line=frame.line, offset=frame.offset, envelope=envelope)
        yield from unwrap(frame.value, ctx)


def _not_json(data: bytes, first: int, path: str, explicit: bool) -> Issue:
    what = next((name for magic, name in _MAGIC if data.startswith(magic, first)), None)
    if what is None:
        head = data[first : first + 40].decode("utf-8", "replace")
        what = f"not JSON (starts with {snippet(head, 50)})"
    else:
        what = f"{what}, not JSON; unpack it first"
    if explicit:
        return Issue(Location(path), "not_json", f"{what}; cannot read this file", "error")
    return Issue(Location(path), "not_json", f"{what}; skipped", "skip")
