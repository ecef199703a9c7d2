"""gzip decompression that keeps everything readable before a cut or a corrupt byte.

Fast path: ISA-L (`isal.igzip`, about 2-3x faster than zlib) or the stdlib, all members at once.
Any failure sends the file through the careful path: stdlib zlib, member by member, 64 KiB at a
time; on a corrupt chunk the chunk is replayed byte by byte from a saved decompressor state so
the output up to the bad byte is kept and its compressed offset is known exactly. The careful
path uses zlib on purpose: for a stream cut short ISA-L holds back the last byte or two that zlib
already returns, and "everything before the cut" means all of it.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Callable
from dataclasses import dataclass

_fast_decompress: Callable[[bytes], bytes]
try:  # ISA-L is optional: same results, 2-3x faster.
    from isal import igzip

    _fast_decompress = igzip.decompress
except ImportError:  # pragma: no cover - depends on the environment
    _fast_decompress = gzip.decompress

GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 16


@dataclass(frozen=True, slots=True)
class GzipProblem:
    """Why the gzip stream stopped being readable, and where (compressed byte offset)."""

    offset: int  # 0-based offset in the compressed file of the first unusable byte
    total: int  # size of the compressed file
    truncated: bool  # True: input ended inside a member; False: corrupt data or junk after a member
    reason: str

    def message(self, kept: int) -> str:
        tail = f"kept {kept} record{'s' if kept != 1 else ''}, skipped the rest of this file"
        if self.truncated:
            return (
                f"gzip stream ends early at byte {self.offset} of {self.total} "
                f"(the file was cut short or is still being written); {tail}"
            )
        return f"gzip data unreadable at byte {self.offset} of {self.total} ({self.reason}); {tail}"


def is_gzip(raw: bytes) -> bool:
    return raw[:2] == GZIP_MAGIC


def gunzip(raw: bytes) -> tuple[bytes, GzipProblem | None]:
    """Decompress every member of `raw`; on trouble return what was readable plus the problem."""
    try:
        return _fast_decompress(raw), None
    except Exception:  # noqa: BLE001 - any failure of the fast path is handled by the careful one
        return _careful(raw)


def _careful(raw: bytes) -> tuple[bytes, GzipProblem | None]:
    out: list[bytes] = []
    total = len(raw)
    start = 0
    while True:
        end, problem = _member(raw, start, out)
        if problem is not None:
            return b"".join(out), problem
        assert end is not None
        rest = raw[end:]
        if not rest or not rest.strip(b"\x00"):  # end of file, or NUL padding (gzip ignores it)
            return b"".join(out), None
        if rest[:2] == GZIP_MAGIC or rest == GZIP_MAGIC[:1]:
            start = end
            continue
        return b"".join(out), GzipProblem(
            end, total, False, f"{len(rest)} unexpected bytes after the end of a gzip member"
        )


def _member(raw: bytes, start: int, out: list[bytes]) -> tuple[int | None, GzipProblem | None]:
    """Decompress one member starting at `start` into `out`; return (end offset, problem)."""
    d = zlib.decompressobj(31)
    pos = start
    total = len(raw)
    while pos < total:
        chunk = raw[pos : pos + _CHUNK]
        saved = d.copy()
        try:
            out.append(d.decompress(chunk))
        except zlib.error:
            d = saved
            for i in range(len(chunk)):
                try:
                    out.append(d.decompress(chunk[i : i + 1]))
                except zlib.error as exc:
                    return None, GzipProblem(pos + i, total, False, _zlib_reason(exc))
                if d.eof:  # pragma: no cover - the error came from this chunk, so no eof first
                    break
            return None, GzipProblem(pos + len(chunk), total, False, "corrupt gzip data")
        if d.eof:
            return pos + len(chunk) - len(d.unused_data), None
        pos += len(chunk)
    return None, GzipProblem(total, total, True, "end of file inside a gzip member")


def _zlib_reason(exc: zlib.error) -> str:
    text = str(exc)
    marker = "while decompressing data: "
    if marker in text:
        text = text.split(marker, 1)[1]
    return text or "corrupt gzip data"


def decompress_payload(data: bytes) -> bytes:
    """Strictly decompress a small embedded gzip or zlib payload (CloudWatch Logs `data`).

    Raises ValueError when it is not complete, valid gzip/zlib data.
    """
    d = zlib.decompressobj(47)  # 32 + 15: auto-detect gzip or zlib header
    try:
        out = d.decompress(data)
    except zlib.error as exc:
        raise ValueError(_zlib_reason(exc)) from None
    if not d.eof:
        raise ValueError("compressed data ends early")
    return out
