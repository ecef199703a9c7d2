"""One input -> its decompressed text: whole when small, as a chunk stream when large.

`load` reads at most `Limits.stream_threshold` decompressed bytes before deciding: an input that
ends by then is `Whole` (the fast whole-buffer readers), a longer one is `Streamed` (sources.
stream), its first chunks included. A gzip input is inflated by `GzipStream` under the caps of
`Limits`, so a decompression bomb stops early whichever path it takes.
"""

from __future__ import annotations

import contextlib
import io
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from trailhound.sources.files import STDIN, InputSpec
from trailhound.sources.gzipio import GZIP_MAGIC, GzipProblem, GzipStream, whole_member
from trailhound.sources.limits import Limits

CHUNK = 1 << 20  # bytes read from a plain input at once


@dataclass(frozen=True, slots=True)
class Whole:
    data: bytes  # the decompressed text
    gzip: bool
    problem: GzipProblem | None = None  # why a gzip stream stopped early


@dataclass(slots=True)
class Streamed:
    chunks: Iterator[bytes]  # the decompressed text, a chunk at a time
    gzip: GzipStream | None  # its `problem` is known once `chunks` is exhausted

    @property
    def problem(self) -> GzipProblem | None:
        return self.gzip.problem if self.gzip is not None else None


def open_input(spec: InputSpec, stdin: BinaryIO | None = None) -> contextlib.AbstractContextManager[BinaryIO]:
    """The input's byte stream (stdin is not closed). Raises OSError."""
    if spec.path.startswith("s3://"):  # issue 15: an S3 object, streamed (sources/s3.py)
        from trailhound.sources.s3 import open_object

        return open_object(spec.path)
    if spec.path != STDIN:
        return open(spec.path, "rb")
    stream = stdin if stdin is not None else sys.stdin.buffer
    if isinstance(stream, io.TextIOBase):  # a text stream was passed in
        return contextlib.nullcontext(
            io.BytesIO(stream.read().encode("utf-8", "surrogateescape"))
        )
    return contextlib.nullcontext(stream)


def load(fh: BinaryIO, limits: Limits, size: int | None = None) -> Whole | Streamed:
    """Read `fh` far enough to know whether it is small (see the module docstring).
    Raises OSError when reading fails."""
    threshold = limits.stream_threshold
    head = _read_upto(fh, max(threshold + 1, 2))
    if head[:2] != GZIP_MAGIC:
        if len(head) <= threshold:
            return Whole(head, False)
        return Streamed(_chain([head], fh), None)
    if len(head) <= threshold:  # the whole compressed file is in `head`
        out = whole_member(head, threshold)
        if out is not None:
            return Whole(out, True)
        size = len(head)
    gz = GzipStream(_reader(head, fh), limits, size)
    it = iter(gz)
    kept: list[bytes] = []
    total = 0
    for piece in it:
        kept.append(piece)
        total += len(piece)
        if total > threshold:
            return Streamed(_chain(kept, None, it), gz)
    return Whole(b"".join(kept), True, gz.problem)


def _read_upto(fh: BinaryIO, n: int) -> bytes:
    """Up to n bytes (pipes and sockets return short reads)."""
    parts: list[bytes] = []
    while n > 0:
        got = fh.read(min(n, CHUNK))
        if not got:
            break
        parts.append(got)
        n -= len(got)
    return b"".join(parts)


def _reader(head: bytes, fh: BinaryIO):  # type: ignore[no-untyped-def]
    """read(n) over `head`, then `fh`."""
    mv = memoryview(head)
    pos = 0

    def read(n: int) -> bytes:
        nonlocal pos
        if pos < len(head):
            out = bytes(mv[pos : pos + n])
            pos += len(out)
            return out
        return fh.read(n)

    return read


def _chain(first: list[bytes], fh: BinaryIO | None, rest: Iterator[bytes] | None = None) -> Iterator[bytes]:
    while first:
        yield first.pop(0)  # dropped as they go: the head is not kept for the whole input
    if rest is not None:
        yield from rest
    if fh is not None:
        while chunk := fh.read(CHUNK):
            yield chunk
