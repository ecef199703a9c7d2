"""Byte-level clean-up before JSON parsing: BOMs, UTF-16 exports, invalid UTF-8."""

from __future__ import annotations

from dataclasses import dataclass

UTF8_BOM = b"\xef\xbb\xbf"
_REPLACEMENT_UTF8 = "\ufffd".encode()


@dataclass(frozen=True, slots=True)
class BadUtf8:
    """Where the first invalid UTF-8 byte sits (decompressed text) and how many bad sequences."""

    offset: int
    line: int
    count: int

    def message(self) -> str:
        seq = "sequence" if self.count == 1 else "sequences"
        return (
            f"text is not valid UTF-8: {self.count} bad byte {seq} (the first one is here); "
            "they were replaced with U+FFFD and the records were still read"
        )


def utf16_to_utf8(data: bytes) -> bytes | None:
    """Transcode a UTF-16 file with a BOM (PowerShell `>` redirection writes these) to UTF-8."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return data.decode("utf-16", "replace").encode("utf-8")
    return None


def trim_incomplete_utf8(data: bytes) -> bytes:
    """Drop a multi-byte UTF-8 sequence cut in half at the very end of `data` (a cut stream)."""
    n = len(data)
    for back in range(1, min(4, n) + 1):
        b = data[n - back]
        if b < 0x80:
            return data
        if b >= 0xC0:  # lead byte: how long should its sequence be?
            need = 2 if b < 0xE0 else 3 if b < 0xF0 else 4
            return data[: n - back] if need > back else data
    return data


def repair_utf8(data: bytes, start: int) -> tuple[bytes, BadUtf8 | None]:
    """Return `data` unchanged when it is valid UTF-8, else a copy with U+FFFD for bad bytes.

    `start` skips a BOM; offsets in the report count from the start of `data`.
    """
    if data.isascii():
        return data, None
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        first = exc.start
    else:
        return data, None
    text = data.decode("utf-8", "replace")
    count = text.count("\ufffd") - data.count(_REPLACEMENT_UTF8)
    line = data.count(b"\n", start, first) + 1
    return text.encode("utf-8"), BadUtf8(first, line, max(count, 1))
