"""Caps that keep memory bounded whatever one input holds, and how to override them.

    Limits()                      # the defaults below, or TRAILHOUND_* environment variables
    Limits(max_record=64 << 20)   # Python API: scan(..., limits=...)
    trailhound detect --max-record-size 64M --max-inflate-ratio 500 logs/

An input whose decompressed text is at most `stream_threshold` bytes is read whole (fast: one
orjson/msgspec call). A larger one is streamed: decompressed and framed a chunk at a time, one
record (a line, an array element, a top-level member) in memory at once. Every breach of a cap
is an Issue naming the file, the position, the limit and how to raise it; the rest of the file
(where it can be found) and of the scan go on.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from trailhound.digits import is_digits
from trailhound.errors import UsageError

MiB = 1 << 20

# Defaults, also in README "## Limits".
STREAM_THRESHOLD = 8 * MiB  # decompressed bytes: above this an input is streamed
MAX_RECORD = 8 * MiB  # one line / array element / top-level member of a streamed input
MAX_INFLATE_RATIO = 200  # decompressed : compressed bytes of one gzip file (checked past the threshold)
MAX_INFLATED = 0  # decompressed bytes of one gzip file; 0 = no cap (the ratio still applies)
# (event, referenced rule, group) entries all correlation rules hold at once until the scan ends
# (engine/correlate.py): ~0.2 KB each, ~0.5 KB when every event is its own group (tracemalloc),
# so the default keeps them under ~150 MB whatever the input
MAX_CORRELATION = 300_000

# Environment variable, CLI option, and what each one sets (the messages name both).
ENV = {
    "max_record": "TRAILHOUND_MAX_RECORD",
    "max_ratio": "TRAILHOUND_MAX_INFLATE_RATIO",
    "max_inflated": "TRAILHOUND_MAX_INFLATED",
    "stream_threshold": "TRAILHOUND_STREAM_THRESHOLD",
    "max_correlation": "TRAILHOUND_MAX_CORRELATION_EVENTS",
}
OPTION = {
    "max_record": "--max-record-size",
    "max_ratio": "--max-inflate-ratio",
    "max_inflated": "--max-inflated-size",
    "stream_threshold": "TRAILHOUND_STREAM_THRESHOLD",
    "max_correlation": "--max-correlation-events",
}
COUNTS = ("max_ratio", "max_correlation")  # whole numbers, not sizes

_SIZE = re.compile(r"^\s*([0-9]+)\s*([kmgt]?)(?:i?b)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def parse_size(text: str, what: str = "") -> int:
    """'8M', '512k', '2GiB', '1000' -> bytes (binary units). Raises UsageError."""
    m = _SIZE.match(text)
    if m is None:
        raise UsageError(
            f"{what + ': ' if what else ''}cannot read {text!r} as a size; write a number of "
            "bytes, optionally with a unit K, M, G or T (binary), e.g. 64M"
        )
    return int(m.group(1)) * _UNITS[m.group(2).lower()]


def human(n: int) -> str:
    """Bytes as a short binary-unit size: 8 MiB, 1.5 GiB, 700 B."""
    for unit, size in (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            value = n / size
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{n} B"


def _env_int(name: str, default: int, ratio: bool = False) -> int:
    text = os.environ.get(name)
    if text is None or not text.strip():
        return default
    if ratio:
        if not is_digits(text.strip()):
            raise UsageError(f"{name}={text!r}: expected a whole number, e.g. 500")
        return int(text)
    return parse_size(text, name)


def _from_env(key: str, default: int) -> int:
    return _env_int(ENV[key], default, ratio=key in COUNTS)


@dataclass(frozen=True, slots=True)
class Limits:
    """Per-input caps. Unset fields take the TRAILHOUND_* environment variable, else the default.

    max_record: bytes of one record-sized unit of a streamed input (a line, an array element,
        a top-level member); larger ones are skipped with a `too_large` issue.
    max_ratio: decompressed bytes over compressed bytes read so far, checked once a gzip file
        has inflated past `stream_threshold`; a breach stops that file (`inflate_limit`).
    max_inflated: decompressed bytes of one gzip file (0: no cap); a breach stops that file.
    stream_threshold: inputs whose decompressed text is larger are streamed.
    max_correlation: events (one per referenced rule and group they fall in) all correlation
        rules hold at once; the events past it take no part, counted per correlation and
        reported as a `correlation_limit` issue (engine/correlate.py).
    """

    max_record: int = field(default_factory=lambda: _from_env("max_record", MAX_RECORD))
    max_ratio: int = field(default_factory=lambda: _from_env("max_ratio", MAX_INFLATE_RATIO))
    max_inflated: int = field(default_factory=lambda: _from_env("max_inflated", MAX_INFLATED))
    stream_threshold: int = field(
        default_factory=lambda: _from_env("stream_threshold", STREAM_THRESHOLD)
    )
    max_correlation: int = field(
        default_factory=lambda: _from_env("max_correlation", MAX_CORRELATION)
    )

    def __post_init__(self) -> None:
        for key in ("max_record", "max_ratio", "stream_threshold", "max_correlation"):
            if getattr(self, key) < 1:
                raise UsageError(f"{OPTION[key]} must be at least 1, not {getattr(self, key)}")
        if self.max_inflated < 0:
            raise UsageError(f"{OPTION['max_inflated']} must be 0 (no cap) or more")


def how_to_raise(key: str) -> str:
    """The sentence every limit message ends with."""
    return f"if the input is genuine, raise the limit with {OPTION[key]} or {ENV[key]}"


def too_large(what: str, limit: int) -> str:
    """Message of a `too_large` issue: a record-sized unit over `max_record`."""
    return (
        f"{what} is larger than the record limit ({human(limit)}); skipped; "
        f"{how_to_raise('max_record')}"
    )
