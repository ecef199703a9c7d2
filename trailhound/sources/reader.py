"""One input -> RawRecord | Issue: gzip, text clean-up, framing, envelopes, in order.

Small inputs (sources.inputs.load: up to Limits.stream_threshold decompressed bytes) are read
whole here; larger ones are streamed by sources.stream in bounded memory.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from typing import BinaryIO

from trailhound.model import Issue, Location, RawRecord
from trailhound.sources._util import snippet
from trailhound.sources.charset import UTF8_BOM, repair_utf8, trim_incomplete_utf8, utf16_to_utf8
from trailhound.sources.envelopes import Item
from trailhound.sources.files import InputSpec, display_name
from trailhound.sources.framing import frames, lines, recovered_lines
from trailhound.sources.inputs import Streamed, Whole, load, open_input
from trailhound.sources.limits import Limits
from trailhound.sources.stream import frame_items, stream_items

_WS_MATCH = re.compile(rb"[ \t\r\n]*").match

# Other containers we do not open; named in the not-JSON message so the fix is obvious.
_MAGIC = (
    (b"PK\x03\x04", "a zip archive"),
    (b"BZh", "bzip2-compressed data"),
    (b"\xfd7zXZ\x00", "xz-compressed data"),
    (b"\x28\xb5\x2f\xfd", "zstd-compressed data"),
    (b"PAR1", "a Parquet file"),
)


def read_input(
    spec: InputSpec, stdin: BinaryIO | None = None, limits: Limits | None = None
) -> Iterator[Item]:
    """Records and issues of one input, in file order. Never raises on bad input."""
    name = display_name(spec)
    limits = limits or Limits()
    try:
        with open_input(spec, stdin) as fh:
            yield from read_loaded(load(fh, limits, spec.size), name, spec.explicit, limits)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        yield Issue(Location(name), "unreadable", f"cannot read: {reason}", "error")


def read_bytes(
    raw: bytes, path: str, explicit: bool = True, limits: Limits | None = None
) -> Iterator[Item]:
    """Records and issues in the bytes of one file (`path` only labels locations)."""
    limits = limits or Limits()
    yield from read_loaded(load(io.BytesIO(raw), limits, len(raw)), path, explicit, limits)


def read_loaded(got: Whole | Streamed, path: str, explicit: bool, limits: Limits | None = None
                ) -> Iterator[Item]:
    """Records and issues of a loaded input (sources.inputs.load)."""
    if isinstance(got, Whole):
        items = _read_text(got.data, path, explicit, truncated=got.problem is not None)
    else:
        items = stream_items(
            got.chunks, path, limits or Limits(), lambda: got.problem is not None,
            lambda head, first: _not_json(head, first, path, explicit),
        )
    kept = 0
    for item in items:
        if isinstance(item, RawRecord):
            kept += 1
        yield item
    problem = got.problem  # a stream's problem is known once it has been read
    if problem is None:
        return
    yield Issue(
        Location(path, offset=problem.offset, compressed=True),
        problem.kind,
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
    if data[first] not in b"{[" and _magic(data, first) is not None:
        yield _not_json(data, first, path, explicit)
        return
    if truncated:
        data = trim_incomplete_utf8(data)
    data, bad = repair_utf8(data, start)
    if bad is not None:
        yield Issue(Location(path, line=bad.line, offset=bad.offset), "non_utf8", bad.message())
    if data[first] in b"{[":
        for frame in frames(data, start, truncated):
            yield from frame_items(frame, path)
        return
    # Text that does not start like JSON: JSON lines with a bad first line, or not JSON at all.
    for item in recovered_lines(lines(data, start)):
        if item is None:
            yield _not_json(data, first, path, explicit)
        else:
            yield from frame_items(item, path)


def _magic(data: bytes, first: int) -> str | None:
    return next((name for magic, name in _MAGIC if data.startswith(magic, first)), None)


# Exports users feed us as CSV, by their header's columns (lower-cased): what the file is and how
# to get the JSON records out of it. A CSV's header is its first line.
_M365_CSV = (
    "a CSV export of the Microsoft 365 audit log (its AuditData column holds each record as "
    "JSON); trailhound reads the JSON records: take that column out as JSON lines, e.g. "
    "PowerShell `Import-Csv FILE | ForEach-Object AuditData | Set-Content -Encoding utf8 "
    "audit.jsonl`"
)
_CLOUDTRAIL_CSV = (
    "a CSV of CloudTrail records (CloudTrail Lake or Athena query results); trailhound reads "
    "CloudTrail as JSON: scan the trail's S3 files, or query with the JSON output"
)
_CSV_EXPORTS = (("auditdata", _M365_CSV), ("eventsource", _CLOUDTRAIL_CSV))


def _csv_export(data: bytes, first: int) -> str | None:
    """What a CSV export is and what to do, when its header line names a column we know."""
    end = data.find(b"\n", first, first + 4096)
    header = data[first : end if end >= 0 else first + 4096].decode("utf-8", "replace")
    if "," not in header:
        return None
    columns = {c.strip().strip('"').lower() for c in header.split(",")}
    return next((what for column, what in _CSV_EXPORTS if column in columns), None)


def _not_json(data: bytes, first: int, path: str, explicit: bool) -> Issue:
    what = _magic(data, first)
    if what is None:
        what = _csv_export(data, first)
    if what is None:
        head = data[first : first + 40].decode("utf-8", "replace")
        what = f"not JSON (starts with {snippet(head, 50)})"
    elif not what.startswith("a CSV"):
        what = f"{what}, not JSON; unpack it first"
    if explicit:
        return Issue(Location(path), "not_json", f"{what}; cannot read this file", "error")
    return Issue(Location(path), "not_json", f"{what}; skipped", "skip")
