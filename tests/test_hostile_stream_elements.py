"""Many bad elements in one streamed array: a NaN element is skipped alone now (the elements
after it are read), so the streamed reader meets one bad element after another. Each made it
search the next batch window for a `},` (sources/stream.py _Reader._batch) and decode the rest
of the buffer, up to the record limit, twice (_stdlib_span, _explain): work proportional to the
buffer per element, so a 4 MB file of a million NaNs read for hours; arrays of scalars paid
the window search too. The work per bad element must not grow with the input.

Oracles: the whole-buffer reader (framing.py + salvage.py, which share no framing code with
the streamed one) for what is read; for the work, the characters handed to the stdlib decoders
and the batch windows searched, counted here."""

from __future__ import annotations

from typing import Any

import pytest

from trailhound.model import Issue
from trailhound.sources import stream
from trailhound.sources.limits import Limits
from trailhound.sources.reader import read_bytes

N = 20_000  # bad elements: ~80 KB, so one buffer holds them all


class _Counted:
    """A decoder that counts the characters each raw_decode is given (and delegates)."""

    def __init__(self, decoder: Any) -> None:
        self.decoder, self.chars = decoder, 0

    def raw_decode(self, s: str, idx: int = 0) -> Any:
        self.chars += len(s) - idx
        return self.decoder.raw_decode(s, idx)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.decoder, name)


def _doc(element: bytes) -> bytes:
    return b'{"Records":[' + b",".join([element] * N) + b"]}"


@pytest.mark.parametrize("element", [b"NaN", b"-Infinity", b"7", b'"text"'])
def test_bad_elements_cost_the_same_each(monkeypatch: pytest.MonkeyPatch, element: bytes) -> None:
    raw = _doc(element)
    strict, lenient = _Counted(stream.DECODER), _Counted(stream.LENIENT)
    monkeypatch.setattr(stream, "DECODER", strict)
    monkeypatch.setattr(stream, "LENIENT", lenient)
    searched = 0
    batch = stream._Reader._batch

    def counted_batch(self: Any) -> Any:
        nonlocal searched
        if self.b.base + self.b.pos >= self._careful_until:  # (else it returns at once)
            searched += 1
        return batch(self)

    monkeypatch.setattr(stream._Reader, "_batch", counted_batch)
    items = list(read_bytes(raw, "f", True, Limits(stream_threshold=1)))
    assert len(items) == N  # an issue per element (each wrong_type or bad_json), all read
    # per element: a few hundred characters at most (the element and a window past it), never
    # the buffer (~80 KB here); and a batch window searched per window, not per element
    assert strict.chars + lenient.chars < 2048 * N, (strict.chars, lenient.chars)
    assert searched <= 2 + len(raw) // stream.BATCH, searched


def _what(item: Any) -> Any:
    """A record's data, or an issue's kind and place in the document (the two readers word a
    NaN's message and place its byte offset differently: noted in the review)."""
    if isinstance(item, Issue):
        return (item.kind, item.location.pointer, item.location.index)
    return item.data


@pytest.mark.parametrize("element", [b"NaN", b'{"eventName": Infinity}', b"7"])
def test_bad_elements_read_as_the_whole_buffer_reads_them(element: bytes) -> None:
    good = b'{"eventVersion":"1.08","eventName":"StopLogging","eventSource":"cloudtrail.amazonaws.com"}'
    raw = b'{"Records":[' + b",".join(element if i % 3 else good for i in range(300)) + b"]}"
    whole = list(read_bytes(raw, "f", True, Limits(stream_threshold=1 << 30)))
    streamed = list(read_bytes(raw, "f", True, Limits(stream_threshold=1)))
    assert [_what(x) for x in streamed] == [_what(x) for x in whole]
    assert sum(isinstance(x, Issue) for x in whole) == 200  # every bad element, and only those
