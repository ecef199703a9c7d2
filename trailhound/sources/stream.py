"""Streamed framing: a large input's decompressed chunks -> RawRecord | Issue, in bounded memory.

Used for inputs past `Limits.stream_threshold` (reader.py reads smaller ones whole). At most one
record-sized unit (a line, an array element, an object member; `Limits.max_record`) plus one
chunk is held at once, whatever the file holds.

Shapes, as framing.py decides them for a whole buffer:
- JSON lines, when the first line is an object or array on its own, or when the text does not
  start with '{' or '[' (a bad first line or a giant junk line is one error; the lines after it
  are read). Lines are framed a block at a time by framing.lines, the whole-buffer framer.
- Otherwise top-level values one after another (one document, or concatenated JSON). An object
  is read member by member: the element array of a container envelope (`Records`, `records`,
  `value`, `Events`: whichever `envelopes.unwrap` would pick given the members before it) is
  read element by element; other members are decoded whole. A top-level array is read element
  by element. A value that is not JSON is one error; reading resumes at the next line that
  starts with '{' or '['.

Element boundaries. msgspec's validating skip (`decode` into `msgspec.Raw`) finds where the
value at a position ends: on `{...},{...}` it stops with "trailing characters (byte N)", N one
past the delimiter. That is C speed (about 3 us per CloudTrail record, against 100 us for a
recursive regex or a Python tokenizer, measured); the value itself is then decoded by orjson,
the readers' parser, so values equal the whole-buffer path's. An element larger than
`max_record` is skipped by a small string-aware bracket counter (`_skip_value`) that keeps
nothing, and reading goes on after it.

Differences from the whole-buffer path, all about positions: the first top-level value of a
streamed input is a document (no line/offset on its records) even when more values follow it;
the `non_utf8` issue comes after the records (its count is known only at the end).
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from typing import Any

import msgspec
import orjson

from trailhound.model import Issue, Location
from trailhound.sources._util import join_pointer, read_before, snippet
from trailhound.sources.charset import BadUtf8, repair_utf8, trim_incomplete_utf8
from trailhound.sources.envelopes import ENVELOPES, Ctx, Envelope, Item, element_items, unwrap
from trailhound.sources.framing import DOCUMENT, Frame, FrameError, lines, recovered_lines
from trailhound.sources.limits import Limits, too_large
from trailhound.sources.salvage import CONTAINER_KEYS, DECODER, LENIENT, decode_error_reason

_WS = re.compile(rb"[ \t\r\n]*").match
_RAW = msgspec.json.Decoder(msgspec.Raw)
_TRAILING = re.compile(r"trailing characters \(byte (\d+)\)")
_BYTE = re.compile(r"\s*\(byte (\d+)\)")
_TRUNCATED = "Input data was truncated"
_STRUCT = re.compile(rb'["{}\[\]]')
_IN_STRING = re.compile(rb'["\\]')
_SCALAR_END = re.compile(rb"[,\]}\s]")
_OPEN = b"{["
_NEXT_VALUE = re.compile(rb"\n[{\[]")
BATCH = 1 << 20  # bytes of array elements decoded at once (see _Reader._batch)


def frame_items(item: Frame | FrameError, path: str) -> Iterator[Item]:
    """Records and issues of one framed value (both paths)."""
    if isinstance(item, FrameError):
        loc = Location(path, item.line, item.offset, item.index, item.pointer)
        yield Issue(loc, item.kind, item.message, "error")
        return
    envelope = "single" if item.shape == DOCUMENT else "jsonl"
    yield from unwrap(item.value, Ctx(path, line=item.line, offset=item.offset, envelope=envelope))


class _Utf8:
    """Invalid UTF-8 met block by block: where the first sequence was, how many in all."""

    def __init__(self) -> None:
        self.first: BadUtf8 | None = None
        self.count = 0

    def repair(self, block: bytes, base: int, line: int) -> bytes:
        fixed, bad = repair_utf8(block, 0)
        if bad is not None:
            self.count += bad.count
            if self.first is None:
                self.first = BadUtf8(base + bad.offset, line + bad.line - 1, 0)
        return fixed

    def issue(self, path: str) -> Issue | None:
        if self.first is None:
            return None
        bad = BadUtf8(self.first.offset, self.first.line, self.count)
        return Issue(Location(path, line=bad.line, offset=bad.offset), "non_utf8", bad.message())


class _Buffer:
    """A window on a chunk stream: buf[pos:] is unread; buf[0] is byte `base` of the text and
    sits on line `line`. Consumed bytes are dropped when the next chunk comes in."""

    __slots__ = ("_chunks", "_seen", "base", "buf", "eof", "line", "pos")

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self.buf = b""
        self.pos = 0
        self.base = 0
        self.line = 1
        self.eof = False
        self._seen: tuple[bytes, int, int] = (b"", 0, 1)  # (buf, index, its line) last asked

    def more(self) -> bool:
        """Append the next non-empty chunk (dropping consumed bytes); False at the end."""
        for chunk in self._chunks:
            if chunk:
                if self.pos:
                    self.line += self.buf.count(b"\n", 0, self.pos)
                    self.base += self.pos
                    self.buf = self.buf[self.pos :] + chunk
                    self.pos = 0
                else:
                    self.buf += chunk
                return True
        self.eof = True
        return False

    def fill(self, n: int) -> bool:
        """At least n unread bytes (or the end); True if there are n."""
        while len(self.buf) - self.pos < n:
            if not self.more():
                return False
        return True

    def skip_ws(self) -> bool:
        """Skip whitespace, across chunks; True when a non-blank byte is next."""
        while True:
            self.pos = _WS(self.buf, self.pos).end()  # type: ignore[union-attr]
            if self.pos < len(self.buf):
                return True
            if not self.more():
                return False

    def peek(self) -> int:
        return self.buf[self.pos]

    def where(self, i: int | None = None) -> tuple[int, int]:
        """(line, byte offset) of buf[i] (default: the next unread byte). Lines are counted
        from the last position asked for, so asking in order costs O(n) in all."""
        i = self.pos if i is None else i
        if self._seen[0] is not self.buf or self._seen[1] > i:
            self._seen = (self.buf, 0, self.line)
        _, at, line = self._seen
        line += self.buf.count(b"\n", at, i)
        self._seen = (self.buf, i, line)
        return line, self.base + i


@dataclass(frozen=True, slots=True)
class _Bad:
    at: int  # index in the buffer
    reason: str


_CUT = "cut"  # the input ends inside the value
_BIG = "big"  # the value is longer than the record limit


def _span(b: _Buffer, limit: int) -> tuple[int, int] | _Bad | str:
    """Where the value at b.pos ends (exclusive, trailing blanks possibly included), reading
    more as needed; _Bad, _CUT or _BIG when it cannot be had."""
    want = 0
    while True:
        start = b.pos
        view = memoryview(b.buf)[start:]
        try:
            _RAW.decode(view)
        except msgspec.DecodeError as exc:
            msg = str(exc)
            m = _TRAILING.search(msg)
            if m is not None:
                end = start + int(m.group(1)) - 1
                return (start, end) if end - start <= limit else _BIG
            if msg != _TRUNCATED:
                m = _BYTE.search(msg)
                at = start + int(m.group(1)) if m else start
                return _Bad(at, _BYTE.sub("", msg).removeprefix("JSON is malformed: "))
        except RecursionError:
            return _Bad(start, "nesting too deep")
        else:  # the buffer ends with this value: the end of the input, or of a chunk
            if b.eof or not b.more():
                return (start, len(b.buf)) if len(b.buf) - start <= limit else _BIG
            continue
        finally:
            view.release()
        have = len(b.buf) - start
        if have > limit:
            return _BIG
        if b.eof:
            return _CUT
        want = max(want * 2, have + 1, 1 << 16)  # doubling: each retry rescans, O(n) overall
        b.fill(min(want, limit + 1))


def _decode(raw: bytes, utf8: _Utf8, where: Callable[[], tuple[int, int]]) -> Any:
    """orjson, as the whole-buffer path; the stdlib decoder for what orjson refuses but JSON
    allows (lone surrogate escapes, integers past 64 bits). Raises ValueError."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        pass
    if not raw.isascii():
        line, base = where()
        raw = utf8.repair(raw, base, line)
    try:
        return DECODER.decode(raw.decode("utf-8"))
    except RecursionError:
        raise ValueError("nesting too deep") from None
    except ValueError as exc:
        raise ValueError(decode_error_reason(exc)) from None


def _lenient_end(buf: bytes | bytearray, start: int, limit: int) -> int | None:
    """Where the value at buf[start] ends when Python's json reads it (NaN and Infinity
    allowed) and it lies whole in `buf` within `limit` bytes; else None. Read in growing
    windows, so a short bad element costs a few hundred bytes, not the rest of the buffer (one
    bad element per record must not make reading quadratic)."""
    window = 1 << 8
    while True:
        chunk = bytes(buf[start : start + min(window, limit)])
        text = chunk.decode("utf-8", "surrogateescape")
        try:
            _, end = LENIENT.raw_decode(text)
        except (ValueError, RecursionError):
            if window >= limit or start + window >= len(buf):
                return None
            window *= 16
            continue
        return start + len(text[:end].encode("utf-8", "surrogateescape"))


def _skip_value(b: _Buffer) -> bool:
    """Move past the value at b.pos keeping nothing (a value over the record limit); False
    when the input ends first."""
    if b.peek() not in b'{["':
        while True:
            m = _SCALAR_END.search(b.buf, b.pos)
            if m is not None:
                b.pos = m.start()
                return True
            b.pos = len(b.buf)
            if not b.more():
                return False
    depth = 0
    in_string = False
    escaped = False  # a backslash was the last byte of the previous chunk
    while True:
        i = b.pos + (1 if escaped else 0)
        escaped = False
        buf = b.buf
        n = len(buf)
        while i < n:
            if in_string:
                m = _IN_STRING.search(buf, i)
                if m is None:
                    i = n
                    break
                j = m.start()
                if buf[j] == 0x5C:  # backslash: the next byte is escaped
                    if j + 1 >= n:
                        escaped = True
                        i = n
                        break
                    i = j + 2
                    continue
                in_string = False
                i = j + 1
                if depth == 0:
                    b.pos = i
                    return True
                continue
            m = _STRUCT.search(buf, i)
            if m is None:
                i = n
                break
            j = m.start()
            c = buf[j]
            i = j + 1
            if c == 0x22:
                in_string = True
            elif c in _OPEN:
                depth += 1
            else:
                depth -= 1
                if depth <= 0:
                    b.pos = i
                    return True
        b.pos = min(i, n)
        if not b.more():
            return False


class _Reader:
    """One streamed input: the shape decision and the readers of each shape."""

    def __init__(
        self, chunks: Iterator[bytes], path: str, limits: Limits, cut: Callable[[], bool]
    ) -> None:
        self.b = _Buffer(chunks)
        self.path = path
        self.limit = limits.max_record
        self.cut = cut  # True once the input has ended because its gzip stream was cut
        self.utf8 = _Utf8()
        self.only: Ctx | None = None  # the document context while reading the first value
        self._careful_until = 0  # text offset before which `_batch` is not tried again

    def error(self, message: str, at: int | None = None, kind: str = "bad_json",
              pointer: str | None = None, index: int | None = None) -> Issue:
        line, offset = self.b.where(at)
        return Issue(Location(self.path, line, offset, index, pointer or None), kind, message)

    # -- JSON lines ---------------------------------------------------------------------------

    def lines(self, lineno: int) -> Iterator[Frame | FrameError]:
        """JSON lines from b.pos (line `lineno`), a block of whole lines at a time."""
        b = self.b
        while True:
            nl = b.buf.rfind(b"\n", b.pos)
            if nl < 0:
                if len(b.buf) - b.pos > self.limit:  # a giant line: skip it, keeping nothing
                    line, offset = b.where()
                    yield FrameError(too_large("line", self.limit), line, offset, kind="too_large")
                    while (nl := b.buf.find(b"\n", b.pos)) < 0:
                        b.pos = len(b.buf)
                        if not b.more():
                            return
                    b.pos = nl + 1
                    lineno = line + 1
                    continue
                if b.more():
                    continue
                last = b.buf[b.pos :]
                if not last.strip():
                    return
                if self.cut():  # the cut record: the gzip issue explains it
                    last = trim_incomplete_utf8(last)
                    tail = list(self._block(last, lineno))
                    while tail and isinstance(tail[-1], FrameError):
                        tail.pop()
                    yield from tail
                else:
                    yield from self._block(last, lineno)
                b.pos = len(b.buf)
                return
            block = b.buf[b.pos : nl + 1]
            yield from self._block(block, lineno)
            lineno += block.count(b"\n")
            b.pos = nl + 1

    def _block(self, block: bytes, lineno: int) -> Iterator[Frame | FrameError]:
        base = self.b.base + self.b.pos
        block = self.utf8.repair(block, base, lineno)
        for item in lines(block, 0, lineno, self.limit):
            if isinstance(item, Frame):
                yield Frame(item.value, item.shape, item.line, base + (item.offset or 0))
            else:
                yield FrameError(
                    item.message, item.line, base + (item.offset or 0), item.pointer,
                    item.index, item.kind,
                )

    def first_line_is_value(self) -> bool:
        """JSON lines when the first line (within the record limit) is an object or array."""
        b = self.b
        while (nl := b.buf.find(b"\n", b.pos)) < 0:
            if len(b.buf) - b.pos > self.limit or not b.more():
                return False
        try:
            if not isinstance(orjson.loads(b.buf[b.pos : nl]), (dict, list)):
                return False
        except orjson.JSONDecodeError:
            return False
        rel = nl - b.pos
        while True:  # one line and only blanks after it: a document, as framing.frames says
            if _WS(b.buf, b.pos + rel).end() < len(b.buf):  # type: ignore[union-attr]
                return True
            if len(b.buf) - b.pos > self.limit or not b.more():
                return len(b.buf) - b.pos > self.limit

    # -- values one after another ---------------------------------------------------------------

    def values(self) -> Iterator[Item]:
        b = self.b
        first = True
        while b.skip_ws():
            line, offset = b.where()
            ctx = Ctx(self.path, line, offset, envelope="jsonl")
            # The first value is the document when nothing follows it; a streamed container
            # is read before that is known, so its records get the document's context.
            self.only = Ctx(self.path) if first else None
            first = False
            c = b.peek()
            if c == 0x7B:  # {
                ok = yield from self._object(ctx)
            elif c == 0x5B:  # [
                ok = yield from self._array(ctx, "", self._top_element(self.only or ctx))
            else:
                ok = yield from self._whole(ctx)
            if not ok and not self._resync():
                return

    def _resync(self) -> bool:
        """To the next line that starts with '{' or '[' (a likely new value)."""
        b = self.b
        while True:
            m = _NEXT_VALUE.search(b.buf, b.pos)
            if m is not None:
                b.pos = m.start() + 1
                return True
            b.pos = max(b.pos, len(b.buf) - 1)
            if not b.more():
                return False

    def _value(self, pointer: str, index: int | None = None, what: str = "value",
               done: str = "; this value was skipped", alone: str | None = None,
               ) -> tuple[Any, Issue | None]:
        """(the value at b.pos, or _SKIPPED or _FAILED; its issue, `done` ending the message).
        Leaves b.pos after it, unless _FAILED. `alone`: a value whose bounds are whole but
        whose content is not JSON (a NaN, a bad escape) is skipped alone, its issue ending so,
        and reading goes on after it (an array element: the next elements are records too)."""
        b = self.b
        got = _span(b, self.limit)
        bound: int | None = None  # where Python's json ends the value (NaN allowed), if it does
        if type(got) is not tuple and got != _BIG and not (got == _CUT and self.cut()):
            # Why bounded: the stdlib decoder below then reads the value, not the rest of the
            # buffer (up to the record limit) for every bad element of an array - each is
            # skipped alone, so a million NaNs made a million such reads (hours)
            bound = _lenient_end(b.buf, b.pos, self.limit)
            got = self._stdlib_span(bound) or got
        if type(got) is tuple:
            start, end = got
            try:
                value = _decode(b.buf[start:end], self.utf8, lambda: b.where(start))
            except ValueError as exc:
                if alone is not None:
                    b.pos = end
                    return _SKIPPED, self.error(f"bad JSON: {exc}{alone}", start,
                                                pointer=pointer, index=index)
                return _FAILED, self.error(f"bad JSON: {exc}{done}", start, pointer=pointer,
                                           index=index)
            b.pos = end
            return value, None
        if got == _BIG:
            issue = self.error(too_large(what, self.limit), kind="too_large", pointer=pointer,
                               index=index)
            return (_SKIPPED if _skip_value(b) else _FAILED), issue
        if got == _CUT:
            if self.cut():
                return _FAILED, None
            got = _Bad(len(b.buf), f"the input ends inside this {what}")
        assert isinstance(got, _Bad)
        at, reason = self._explain(got, bound)
        known = bound if alone is not None else None
        if known is not None:  # (a NaN: the value's end is known, the rest is read)
            b.pos = known
            return _SKIPPED, self.error(f"bad JSON: {reason}{self._near(at)}{alone}", at,
                                        pointer=pointer, index=index)
        return _FAILED, self.error(f"bad JSON: {reason}{self._near(at)}{done}", at,
                                   pointer=pointer, index=index)

    def _element(self, pointer: str, i: int) -> tuple[Any, Issue | None]:
        """`_value` of element i of the array at `pointer`; the common case inlined (hot)."""
        b = self.b
        got = _span(b, self.limit)
        if type(got) is tuple:
            try:
                value = orjson.loads(b.buf[got[0] : got[1]])
            except orjson.JSONDecodeError:
                pass
            else:
                b.pos = got[1]
                return value, None
        done = f"; {read_before(i)}, the rest of this value was skipped"
        return self._value(join_pointer(pointer, i), i, "array element", done,
                           "; this element was skipped, the elements after it are read")

    def _batch(self) -> list[Any] | None:
        """The array elements from b.pos up to the last `},` of the next BATCH bytes, decoded by
        one orjson call, b.pos left after them; None when that cannot be done (then `_element`
        reads one element the careful way).

        Why: one msgspec + one orjson call per element costs more than the records' own
        decoding for tiny records (1.7x the whole-buffer path on 1M of them). The cut is safe
        without tokenizing: `[` + text + `]` decodes only when the parser stands between two
        elements of this array at the cut, i.e. the text is exactly whole elements; a `},`
        inside a string or a nested value leaves the wrapped text unclosed, so it fails and
        the careful path takes over up to that cut (a failure costs one parse, once)."""
        b = self.b
        size = min(BATCH, self.limit)  # every element of a batch is within the record limit
        if b.base + b.pos < self._careful_until:
            return None
        if len(b.buf) - b.pos < size and not b.eof:
            b.more()
        pos = b.pos
        cut = b.buf.rfind(b"},", pos, pos + size)
        if cut < 0:
            # no object ends in this window: the careful path reads up to its end. (Searched
            # again for every element, the window cost O(BATCH) per element: an array of a
            # million scalars, or of NaNs - each now skipped alone - took hours.)
            self._careful_until = b.base + min(len(b.buf), pos + size)
            return None
        try:
            values = orjson.loads(b"[" + b.buf[pos : cut + 1] + b"]")
        except orjson.JSONDecodeError:
            # Invalid UTF-8, big integers, lone surrogates, a bad element, or a cut that is not
            # between elements: `_element` reads these (and reports what is wrong) as before.
            self._careful_until = b.base + cut + 1
            return None
        b.pos = cut + 1
        return values  # type: ignore[no-any-return]

    def _stdlib_span(self, bound: int | None) -> tuple[int, int] | None:
        """Where the value at b.pos ends when the stdlib decoder (the whole-buffer path's
        fallback) reads it although msgspec does not: lone surrogate escapes such as
        "\\ud800", which msgspec calls malformed (or truncated at the end of the input).
        `bound`: where the lenient stdlib decoder ends it (_lenient_end); None: it does not,
        nor then does this stricter one."""
        if bound is None:
            return None
        b = self.b
        raw = b.buf[b.pos : bound]
        text = raw.decode("utf-8", "replace")
        try:
            _, end = DECODER.raw_decode(text)
        except (ValueError, RecursionError):
            return None
        size = len(text[:end].encode("utf-8"))
        if raw[:size].decode("utf-8", "replace") != text[:end] or size > self.limit:
            return None  # invalid UTF-8 before the end: the careful error path reports it
        return b.pos, b.pos + size

    def _explain(self, bad: _Bad, bound: int | None) -> tuple[int, str]:
        """Where and why the value at b.pos is bad, in the stdlib decoder's words (those of the
        whole-buffer path's salvage), else msgspec's; `bound`: the value's end, when known
        (the error lies before it), else the record limit."""
        b = self.b
        end = b.pos + self.limit + 1 if bound is None else bound
        text = b.buf[b.pos : end].decode("utf-8", "replace")
        try:
            DECODER.raw_decode(text)
        except RecursionError:
            return bad.at, "nesting too deep"
        except ValueError as exc:
            pos = getattr(exc, "pos", None)
            at = bad.at if pos is None else b.pos + len(text[:pos].encode("utf-8"))
            return at, decode_error_reason(exc)
        return bad.at, bad.reason

    def _near(self, at: int) -> str:
        near = self.b.buf[at : at + 24].decode("utf-8", "replace")
        return f" near {snippet(near, 40)}" if near.strip() else " at the end of the data"

    def _whole(self, ctx: Ctx) -> Generator[Item, None, bool]:
        """A top-level value read whole (a scalar: its issue comes from unwrap)."""
        value, issue = self._value("", what="value")
        if issue is not None:
            yield issue
        if value is _FAILED:
            return False
        if value is not _SKIPPED:
            yield from unwrap(value, self._settled(ctx))
        return True

    def _top_element(self, ctx: Ctx) -> Callable[[Any, int], Iterator[Item]]:
        envelope = "json_array" if ctx.envelope in ("single", "jsonl") else ctx.envelope

        def emit(value: Any, i: int) -> Iterator[Item]:
            return unwrap(value, ctx.at(i, index=i, envelope=envelope))

        return emit

    def _array(self, ctx: Ctx, pointer: str,
               emit: Callable[[Any, int], Iterator[Item]]) -> Generator[Item, None, bool]:
        """An array at b.pos, element by element; returns False when it could not be finished."""
        b = self.b
        b.pos += 1
        i = 0
        while True:
            if not b.skip_ws():
                return (yield from self._ended(pointer, i))
            if i == 0 and b.peek() == 0x5D:  # ]
                b.pos += 1
                return True
            batch = self._batch()
            if batch is not None:
                for value in batch:
                    yield from emit(value, i)
                    i += 1
            else:
                value, issue = self._element(pointer, i)
                if issue is not None:
                    yield issue
                if value is _FAILED:
                    return False
                if value is not _SKIPPED:
                    yield from emit(value, i)
                i += 1
            if not b.skip_ws():
                return (yield from self._ended(pointer, i))
            c = b.peek()
            b.pos += 1
            if c == 0x2C:  # ,
                continue
            if c == 0x5D:
                return True
            b.pos -= 1
            yield self.error(
                f"bad JSON: Expecting ',' delimiter{self._near(b.pos)}; {read_before(i)}, the "
                "rest of this value was skipped",
                pointer=join_pointer(pointer, i), index=i,
            )
            return False

    def _ended(self, pointer: str, i: int) -> Generator[Item, None, bool]:
        if not self.cut():
            yield self.error(
                f"bad JSON: the input ends inside the array at {pointer or '/'}; "
                f"{read_before(i)}",
                pointer=join_pointer(pointer, i), index=i,
            )
        return False

    def _object(self, ctx: Ctx) -> Generator[Item, None, bool]:
        """A top-level object member by member; a container envelope's array streamed."""
        b = self.b
        b.pos += 1
        head: dict[str, Any] = {}
        size = 0
        streamed = False
        while True:
            if not b.skip_ws():
                return (yield from self._ended_object())
            c = b.peek()
            if c == 0x7D:  # }
                b.pos += 1
                break
            if c != 0x22:
                yield self.error("bad JSON: Expecting property name enclosed in double quotes"
                                 f"{self._near(b.pos)}; the rest of this value was skipped")
                return False
            key, issue = self._value("", what="member name")
            if issue is not None:
                yield issue
            if not isinstance(key, str):
                return False
            if not b.skip_ws():
                return (yield from self._ended_object())
            if b.peek() != 0x3A:  # :
                yield self.error(f"bad JSON: Expecting ':' delimiter{self._near(b.pos)}; the "
                                 "rest of this value was skipped", pointer=join_pointer("", key))
                return False
            b.pos += 1
            if not b.skip_ws():
                return (yield from self._ended_object())
            env = None
            if not streamed and key in CONTAINER_KEYS and b.peek() == 0x5B:
                env = _claims(head, key, ctx)
            if env is not None and env.container is not None:
                streamed = True
                _, envelope, what = env.container
                base = join_pointer(ctx.pointer, key)

                outer = self.only or ctx

                def emit(value: Any, i: int, base: str = base, envelope: str = envelope,
                         what: str = what, outer: Ctx = outer) -> Iterator[Item]:
                    return element_items(value, i, outer, base, envelope, what)

                ok = yield from self._array(ctx, base, emit)
                if not ok:
                    return False
            else:
                start = b.base + b.pos
                value, issue = self._value(join_pointer("", key), what="member")
                if issue is not None:
                    yield issue
                if value is _FAILED:
                    return False
                size += b.base + b.pos - start
                if value is not _SKIPPED and size <= self.limit:
                    head[key] = value
            if not b.skip_ws():
                return (yield from self._ended_object())
            c = b.peek()
            b.pos += 1
            if c == 0x2C:
                continue
            if c == 0x7D:
                break
            b.pos -= 1
            yield self.error(f"bad JSON: Expecting ',' delimiter{self._near(b.pos)}; the rest "
                             "of this value was skipped")
            return False
        if streamed:
            return True
        if size > self.limit:
            yield self.error(too_large("object", self.limit), kind="too_large")
            return True
        yield from unwrap(head, self._settled(ctx))
        return True

    def _settled(self, ctx: Ctx) -> Ctx:
        """`ctx`, or the document's context when this first value is the only one."""
        if self.only is not None and not self.b.skip_ws():
            return self.only
        return ctx

    def _ended_object(self) -> Generator[Item, None, bool]:
        if not self.cut():
            yield self.error("bad JSON: the input ends inside the object; the rest of this value "
                             "was skipped")
        return False


_SKIPPED = object()  # a value skipped, alone (its issue already yielded)
_FAILED = object()  # no value could be read: the enclosing value is abandoned


def _claims(head: dict[str, Any], key: str, ctx: Ctx) -> Envelope | None:
    """The envelope `unwrap` would pick for an object with the members in `head` and the array
    member `key` (members after it cannot be seen yet: the array is read first)."""
    probe = {**head, key: []}
    for env in ENVELOPES.ordered():
        for trigger in env.triggers:
            if trigger in probe:
                out = env.handler(probe, ctx)
                if out is not None:
                    close = getattr(out, "close", None)
                    if close is not None:
                        close()
                    container = env.container
                    return env if container is not None and container[0] == key else None
                break
    return None


def _utf16(chunks: Iterator[bytes]) -> Iterator[bytes]:
    decoder = codecs.getincrementaldecoder("utf-16")("replace")
    for chunk in chunks:
        out = decoder.decode(chunk)
        if out:
            yield out.encode("utf-8")
    tail = decoder.decode(b"", final=True)
    if tail:
        yield tail.encode("utf-8")


def stream_items(
    chunks: Iterator[bytes],
    path: str,
    limits: Limits,
    cut: Callable[[], bool],
    not_json: Callable[[bytes, int], Issue],
) -> Iterator[Item]:
    """Records and issues of a streamed input's decompressed `chunks`. `cut()` says whether the
    stream ended because its gzip data was cut (then the cut record is not an error);
    `not_json(head, first)` is the issue of text that holds no JSON."""
    r = _Reader(chunks, path, limits, cut)
    b = r.b
    b.fill(4)
    if b.buf[:2] in (b"\xff\xfe", b"\xfe\xff"):  # UTF-16 (PowerShell): transcoded, as reader.py
        r = _Reader(_utf16(_rest(b, chunks)), path, limits, cut)
        b = r.b
    elif b.buf.startswith(b"\xef\xbb\xbf"):
        b.pos = 3
    if not b.skip_ws():
        if not cut():
            yield Issue(Location(path), "empty", "file holds only whitespace; nothing to read",
                        "skip")
        return
    first = b.pos
    if b.peek() in _OPEN and not r.first_line_is_value():
        yield from r.values()
    else:
        b.fill(4096)  # a CSV header names the export (reader._csv_export)
        head = b.buf[: first + 4096]
        line = b.line + b.buf.count(b"\n", 0, b.pos)
        framed = r.lines(line)
        if b.peek() not in _OPEN:
            framed = recovered_lines(framed)  # type: ignore[assignment]
        for item in framed:
            if item is None:
                yield not_json(head, first)
            else:
                yield from frame_items(item, path)
    issue = r.utf8.issue(path)
    if issue is not None:
        yield issue


def _rest(b: _Buffer, chunks: Iterator[bytes]) -> Iterator[bytes]:
    yield b.buf[b.pos :]
    yield from chunks
