"""What the demo generator and the bench generator share: reproducible gzip, compact JSON, and
CloudTrail's S3 key layout (log files and digests)."""

from __future__ import annotations

import json
import struct
import zlib
from datetime import datetime
from typing import Any

Json = dict[str, Any]


def gzip_bytes(data: bytes, level: int = 9) -> bytes:
    """gzip with a fixed header (mtime 0, no file name, OS 255): the bytes depend only on the input
    and on zlib's deflate, never on the clock or the platform."""
    co = zlib.compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS, 8, zlib.Z_DEFAULT_STRATEGY)
    body = co.compress(data) + co.flush()
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    return header + body + struct.pack("<II", zlib.crc32(data), len(data) & 0xFFFFFFFF)


def dumps_min(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def json_lines(records: list[Json], compact: bool = True) -> bytes:
    dump = dumps_min if compact else (lambda r: json.dumps(r, ensure_ascii=False))
    return "".join(dump(r) + "\n" for r in records).encode()


def _prefix(account: str, org_id: str | None) -> str:
    # an organisation trail writes under AWSLogs/<org id>/<account>/, an account trail without it
    return f"AWSLogs/{org_id}/{account}" if org_id else f"AWSLogs/{account}"


def trail_key(account: str, region: str, delivered: datetime, rand: str, org_id: str | None = None) -> str:
    """S3 key of a CloudTrail log file delivered at `delivered` (`rand`: its 16 random chars)."""
    return (
        f"{_prefix(account, org_id)}/CloudTrail/{region}/{delivered:%Y/%m/%d}/{account}_CloudTrail_"
        f"{region}_{delivered:%Y%m%dT%H%MZ}_{rand}.json.gz"
    )


def digest_key(account: str, region: str, trail: str, end: datetime, org_id: str | None = None) -> str:
    """S3 key of the hourly CloudTrail-Digest file that closes at `end`."""
    name = f"{account}_CloudTrail-Digest_{region}_{trail}_{region}_{end:%Y%m%dT%H%M%SZ}.json.gz"
    return f"{_prefix(account, org_id)}/CloudTrail-Digest/{region}/{end:%Y/%m/%d}/{name}"
