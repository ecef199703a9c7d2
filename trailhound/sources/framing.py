"""Container framing: decompressed bytes -> top-level JSON values with their positions.

Shapes, tried in this order:
1. one JSON document (object or array, pretty-printed or minified): `orjson.loads` of it all;
2. JSON lines (one value per line, blank lines ignored), chosen when the first line parses on
   its own; a bad line is one error and the next line is read as usual; a line that
   holds several values with no separator (Firehose) is split;
3. otherwise a sequence of values decoded one after another (concatenated JSON, pretty-printed
   or not, or a broken single document).
A value that does not decode is salvaged (see salvage.py): the complete elements before the
break come out, then one FrameError. After a broken value in a sequence, reading resumes at the
next line that starts with '{' or '[' (unless the broken value was a salvaged container: the
rest is its remainder). In `truncated` mode (the stream was cut short and the caller
reports that once) errors that no good value follows are dropped: they are the cut record.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from trailhound.sources._util import describe, gc_paused, read_before, snippet
from trailhound.sources.limits import too_large
from trailhound.sources.salvage import DECODER, Break, salvage, skip_ws

DOCUMENT = "document"  # the whole file is this one value
LINES = "lines"  # one of several values, found by line (JSON lines)
CONCAT = "concat"  # one of several values, found by decoding one after another

_WS_BYTES_MATCH = re.compile(rb"[ \t\r\n]*").match


@dataclass(frozen=True, slots=True)
class Frame:
    value: Any
    shape: str  # DOCUMENT | LINES | CONCAT
    line: int | None  # 1-based line where the value starts (None for a whole document)
    offset: int | None  # byte offset where the value starts


@dataclass(frozen=True, slots=True)
class FrameError:
    message: str
    line: int | None
    offset: int | None
    pointer: str | None = None
    index: int | None = None
    kind: str = "bad_json"  # the Issue kind ("too_large": past a cap of sources.limits)


class _Text:
    """Decoded text of data[start:end] with index -> (line, byte offset) conversion."""

    __slots__ = ("_ascii", "_base", "_byte", "_i", "_line", "_line0", "text")

    def __init__(self, data: bytes, start: int, end: int, line0: int) -> None:
        raw = data[start:end]
        self.text = raw.decode("utf-8", "replace")
        self._ascii = raw.isascii()
        self._base = start
        self._line0 = line0
        self._i = 0
        self._line = line0
        self._byte = start

    def locate(self, i: int) -> tuple[int, int]:
        """(1-based line, byte offset in the file) of text index i; cheap when i only grows."""
        if i < self._i:
            self._i, self._line, self._byte = 0, self._line0, self._base
        t = self.text
        self._line += t.count("\n", self._i, i)
        self._byte += (i - self._i) if self._ascii else len(t[self._i : i].encode("utf-8"))
        self._i = i
        return self._line, self._byte


def frames(data: bytes, start: int = 0, truncated: bool = False) -> Iterator[Frame | FrameError]:
    """Top-level JSON values of `data` (valid UTF-8, BOM at data[:start] skipped)."""
    try:
        with gc_paused():
            value = orjson.loads(data[start:] if start else data)  # bytes: faster than a view
    except orjson.JSONDecodeError:
        pass
    else:
        yield Frame(value, DOCUMENT, None, None)
        return
    if _looks_like_lines(data, start):
        items = _lines(data, start)
    else:
        items = _sequence(_Text(data, start, len(data), 1), resync=True, shape=CONCAT)
    pending: list[FrameError] = []
    for item in items:
        if isinstance(item, FrameError):
            pending.append(item)
            continue
        yield from pending
        pending.clear()
        yield item
    if not truncated:
        yield from pending


def _looks_like_lines(data: bytes, start: int) -> bool:
    """JSON lines when the first non-blank line is a whole object or array on its own.

    Only the first line is asked: in a pretty-printed or cut document a later line can parse
    alone (an element printed on one line) although the file is one value.
    """
    n = len(data)
    pos = _WS_BYTES_MATCH(data, start).end()  # type: ignore[union-attr]  # '*' always matches
    nl = data.find(b"\n", pos)
    end = n if nl < 0 else nl
    try:
        value = orjson.loads(data[pos:end])
    except orjson.JSONDecodeError:
        return False
    return isinstance(value, (dict, list))


def _lines(
    data: bytes, start: int, lineno: int = 1, limit: int = 0
) -> Iterator[Frame | FrameError]:
    """JSON lines of data[start:], the first being line `lineno`; lines longer than `limit`
    (0: no limit) are one `too_large` error each."""
    mv = memoryview(data)
    pos, n = start, len(data)
    loads = orjson.loads
    while pos < n:
        nl = data.find(b"\n", pos)
        end = n if nl < 0 else nl
        if limit and end - pos > limit:
            yield FrameError(too_large("line", limit), lineno, pos, kind="too_large")
        elif end > pos:
            try:
                value = loads(mv[pos:end])
            except orjson.JSONDecodeError:
                if data[pos:end].strip():
                    # Concatenated values on one line, a big int, or a bad line.
                    yield from _sequence(_Text(data, pos, end, lineno), resync=False, shape=LINES)
            else:
                yield Frame(value, LINES, lineno, pos)
        pos = end + 1
        lineno += 1


lines = _lines  # the JSON-lines framer, also for streamed input (sources.stream)


def recovered_lines(
    items: Iterator[Frame | FrameError],
) -> Iterator[Frame | FrameError | None]:
    """JSON lines that do not start with a JSON line: what comes before the first object or
    array is one error (a bad first line, or a giant junk line, does not hide the records after
    it); None at the end when no object or array was found at all (the input is not JSON)."""
    found = False
    first: FrameError | None = None
    more = 0
    last: int | None = None
    for item in items:
        if found:
            yield item
            continue
        if isinstance(item, Frame) and isinstance(item.value, (dict, list)):
            found = True
            if first is not None:
                yield _junk_error(first, more, last)
            yield item
            continue
        if first is None:
            first = item if isinstance(item, FrameError) else FrameError(
                f"expected a JSON object, found {describe(item.value)}; skipped",
                item.line, item.offset,
            )
        else:
            more += 1
            last = item.line
    if not found:
        yield None


def _junk_error(first: FrameError, more: int, last: int | None) -> FrameError:
    if not more:
        return first
    upto = f" up to line {last}" if last is not None else ""
    return FrameError(
        f"{first.message} (and {more} more line{'s' if more != 1 else ''}{upto} that hold no "
        "JSON object either; the records after them were read)",
        first.line, first.offset, first.pointer, first.index, first.kind,
    )


def _sequence(txt: _Text, resync: bool, shape: str) -> Iterator[Frame | FrameError]:
    s = txt.text
    n = len(s)
    pos = skip_ws(s, 0)
    first = pos
    while pos < n:
        try:
            value, end = DECODER.raw_decode(s, pos)
        except (ValueError, RecursionError):
            with gc_paused():
                partial, usable, end, brk = salvage(s, pos)
            line, offset = txt.locate(pos)
            if usable:
                whole_doc = shape == CONCAT and pos == first
                yield Frame(partial, DOCUMENT if whole_doc else shape, line, offset)
            if brk is None:  # read to its end: only array elements that are not JSON (a NaN)
                # broke raw_decode, each kept as a salvage.BadElement (unwrap reports it)
                pos = skip_ws(s, end)
                continue
            yield _frame_error(txt, s, pos, brk, whole=usable)
            if not resync or usable:
                # The rest belongs to the broken container: resyncing inside it would read its
                # remaining elements as if they were top-level values.
                return
            nxt = _resync(s, pos, brk.pos)
            if nxt < 0:
                return
            pos = nxt
            continue
        after = skip_ws(s, end)
        line, offset = txt.locate(pos)
        if shape == CONCAT and pos == first and after >= n:
            yield Frame(value, DOCUMENT, None, None)
        else:
            yield Frame(value, shape, line, offset)
        pos = after


def _resync(s: str, pos: int, broke_at: int) -> int:
    """Start of the next line after `pos` that begins with '{' or '[' (a likely new value)."""
    nl = s.rfind("\n", pos, max(pos, broke_at))
    i = nl if nl >= 0 else pos + 1
    n = len(s)
    while True:
        nl = s.find("\n", i)
        if nl < 0:
            return -1
        j = nl + 1
        if j < n and s[j] in "{[":
            return j
        i = j


def _frame_error(txt: _Text, s: str, pos: int, brk: Break, whole: bool) -> FrameError:
    line, offset = txt.locate(max(brk.pos, pos))
    near = s[brk.pos : brk.pos + 24] if brk.pos < len(s) else ""
    near_txt = f" near {snippet(near, 40)}" if near.strip() else " at the end of the data"
    if whole and brk.kept is not None:
        done = f"; {read_before(brk.kept)}, the rest of this value was skipped"
    else:
        done = "; this value was skipped"
    return FrameError(
        message=f"bad JSON: {brk.reason}{near_txt}{done}",
        line=line,
        offset=offset,
        pointer=brk.pointer or None,
        index=brk.kept,
    )
