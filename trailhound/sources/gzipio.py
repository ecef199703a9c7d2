"""gzip decompression, streamed and capped, that keeps everything readable before a cut.

`GzipStream` inflates any input a chunk at a time (at most 1 MiB of output per step, so a bomb
never sits in memory), member after member, with stdlib zlib: for a stream cut short ISA-L holds
back the last byte or two that zlib already returns, and "everything before the cut" means all
of it. Each compressed chunk is fed from a saved decompressor state; on a corrupt chunk the
chunk is replayed byte by byte from that state, so the output up to the bad byte is kept and its
compressed offset is known exactly. The caps of `Limits` (decompressed size, and decompressed
over compressed bytes once past the streaming threshold) stop a decompression bomb early: the
stream ends there with a `GzipProblem` of kind `inflate_limit`.

`whole_member` is the fast path for the common small file: one complete member, inflated by
ISA-L (2-3x faster than zlib) with its output capped.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from trailhound.sources.limits import Limits, how_to_raise, human

_isal_zlib: Any
try:  # ISA-L is optional: same results, 2-3x faster.
    from isal import isal_zlib as _isal_zlib
except ImportError:  # pragma: no cover - depends on the environment
    _isal_zlib = None

GZIP_MAGIC = b"\x1f\x8b"
_IN_CHUNK = 1 << 18  # compressed bytes fed at once
_OUT_MAX = 1 << 20  # decompressed bytes produced per step: a bomb stays a chunk at a time

PAYLOAD_MAX = 64 << 20  # decompressed bytes of a payload embedded in a record (CloudWatch Logs)

TRUNCATED = "truncated_gzip"
INFLATE_LIMIT = "inflate_limit"


@dataclass(frozen=True, slots=True)
class GzipProblem:
    """Why the gzip stream stopped being readable, and where (compressed byte offset)."""

    offset: int  # 0-based offset in the compressed file of the first unusable byte
    total: int | None  # size of the compressed file, when known
    truncated: bool  # True: input ended inside a member; False: corrupt data, junk, or a cap
    reason: str
    kind: str = TRUNCATED  # the Issue kind: TRUNCATED or INFLATE_LIMIT
    limit: str = ""  # the Limits field that stopped it (INFLATE_LIMIT)

    def message(self, kept: int) -> str:
        tail = f"kept {kept} record{'s' if kept != 1 else ''}, skipped the rest of this file"
        of = f" of {self.total}" if self.total is not None else ""
        if self.kind == INFLATE_LIMIT:
            return (
                f"gzip data {self.reason} by compressed byte {self.offset}{of} (likely a "
                f"decompression bomb); {tail}; {how_to_raise(self.limit)}"
            )
        if self.truncated:
            return (
                f"gzip stream ends early at byte {self.offset}{of} "
                f"(the file was cut short or is still being written); {tail}"
            )
        return f"gzip data unreadable at byte {self.offset}{of} ({self.reason}); {tail}"


def is_gzip(raw: bytes) -> bool:
    return raw[:2] == GZIP_MAGIC


def whole_member(raw: bytes, limit: int) -> bytes | None:
    """`raw` inflated when it is one complete gzip member of at most `limit` bytes, else None
    (then `GzipStream` reads it: several members, a cut or corrupt stream, or a large one)."""
    if _isal_zlib is None:  # pragma: no cover - depends on the environment
        return None
    d = _isal_zlib.decompressobj(31)
    try:
        out: bytes = d.decompress(raw, limit + 1)
    except Exception:  # noqa: BLE001 - GzipStream explains it
        return None
    if not d.eof or d.unused_data or len(out) > limit:
        return None
    return out


class GzipStream:
    """Decompressed chunks of the gzip data `read(n)` returns; `problem` is set when it stops
    early (a cut, corrupt data, junk after a member, or a cap of `limits`)."""

    def __init__(
        self, read: Callable[[int], bytes], limits: Limits, total: int | None = None
    ) -> None:
        self._read = read
        self._limits = limits
        self.total = total
        self.problem: GzipProblem | None = None
        self.inflated = 0  # decompressed bytes produced so far

    def __iter__(self) -> Iterator[bytes]:
        pending = b""
        pos = 0  # compressed offset of pending[0]
        while True:  # one member per turn
            d = zlib.decompressobj(31)
            while not d.eof:
                chunk = pending or self._read(_IN_CHUNK)
                pending = b""
                if not chunk:
                    self.problem = GzipProblem(pos, pos, True, "end of file inside a gzip member")
                    return
                saved = d.copy()
                emitted = 0
                try:
                    data = chunk
                    while True:
                        out = d.decompress(data, _OUT_MAX)
                        data = d.unconsumed_tail
                        if out:
                            emitted += len(out)
                            out = self._capped(out, pos + len(chunk) - len(data))
                            if out:
                                yield out
                            if self.problem is not None:
                                return
                        if not data or d.eof:
                            break
                except zlib.error:
                    yield from self._replay(saved, chunk, pos, emitted)
                    return
                if d.eof:
                    pending = d.unused_data
                    pos += len(chunk) - len(pending)
                else:
                    pos += len(chunk)
            after = self._after_member(pending, pos)
            if after is None:
                return
            pending = after

    def _after_member(self, pending: bytes, pos: int) -> bytes | None:
        """What follows a member: another member (its bytes), or the end (None)."""
        while len(pending) < 2:
            more = self._read(_IN_CHUNK)
            if not more:
                break
            pending += more
        if not pending:
            return None
        if pending[:2] == GZIP_MAGIC or pending == GZIP_MAGIC[:1]:
            return pending
        size, nul = len(pending), not pending.strip(b"\x00")
        while more := self._read(_IN_CHUNK):
            size += len(more)
            nul = nul and not more.strip(b"\x00")
        if not nul:  # NUL padding after the last member is allowed (gzip ignores it)
            self.problem = GzipProblem(
                pos, self.total, False, f"{size} unexpected bytes after the end of a gzip member"
            )
        return None

    def _replay(self, d: Any, chunk: bytes, pos: int, skip: int) -> Iterator[bytes]:
        """Feed `chunk` byte by byte from state `d` (taken before the chunk) to find the bad
        byte; output already yielded from this chunk (`skip` bytes) is not yielded again."""
        for i in range(len(chunk)):
            try:
                out = d.decompress(chunk[i : i + 1])
            except zlib.error as exc:
                self.problem = GzipProblem(pos + i, self.total, False, _zlib_reason(exc))
                return
            if skip:
                cut = min(skip, len(out))
                out, skip = out[cut:], skip - cut
            if out:
                out = self._capped(out, pos + i + 1)
                if out:
                    yield out
                if self.problem is not None:
                    return
            if d.eof:  # pragma: no cover - the error came from this chunk, so no eof first
                break
        self.problem = GzipProblem(pos + len(chunk), self.total, False, "corrupt gzip data")

    def _capped(self, out: bytes, fed: int) -> bytes:
        """`out`, counted against the caps; on a breach, the part within them (problem set)."""
        lim = self._limits
        before = self.inflated
        self.inflated += len(out)
        if lim.max_inflated and self.inflated > lim.max_inflated:
            self.problem = GzipProblem(
                fed, self.total, False,
                f"inflates past {human(lim.max_inflated)}, the size cap,",
                INFLATE_LIMIT, "max_inflated",
            )
            return out[: max(0, lim.max_inflated - before)]
        if self.inflated > lim.stream_threshold and self.inflated > lim.max_ratio * fed:
            self.problem = GzipProblem(
                fed, self.total, False,
                f"inflates more than {lim.max_ratio} times its size ({human(self.inflated)} "
                f"from {human(fed)})",
                INFLATE_LIMIT, "max_ratio",
            )
            return b""
        return out


def _zlib_reason(exc: zlib.error) -> str:
    text = str(exc)
    marker = "while decompressing data: "
    if marker in text:
        text = text.split(marker, 1)[1]
    return text or "corrupt gzip data"


def decompress_payload(data: bytes) -> bytes:
    """Strictly decompress a small embedded gzip or zlib payload (CloudWatch Logs `data`).

    Raises ValueError when it is not complete, valid gzip/zlib data, or inflates past
    PAYLOAD_MAX (a bomb inside a record).
    """
    d = zlib.decompressobj(47)  # 32 + 15: auto-detect gzip or zlib header
    try:
        out = d.decompress(data, PAYLOAD_MAX + 1)
    except zlib.error as exc:
        raise ValueError(_zlib_reason(exc)) from None
    if len(out) > PAYLOAD_MAX:
        raise ValueError(f"it inflates past {human(PAYLOAD_MAX)}, likely a decompression bomb")
    if not d.eof:
        raise ValueError("compressed data ends early")
    return out
