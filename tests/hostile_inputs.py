"""Hostile inputs built on the fly, any size, and a CLI run whose peak memory is measured.

Shared by tests/test_hostile_input.py (CI-sized, caps lowered) and bench/hostile.py (full size,
default caps). Every builder writes in bounded memory, whatever the size asked for.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.test_profiles_defects import ct

_BLOCK = 1 << 20


def run(
    *args: str | Path, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """trailhound as a user runs it, on a wide terminal (COLUMNS 400: no table cell cut), text
    decoded strictly (a lone surrogate or undecodable byte in the output fails the test)."""
    return subprocess.run(
        [sys.executable, "-m", "trailhound", *map(str, args)], capture_output=True, text=True,
        timeout=300, check=False, cwd=cwd, errors="strict",
        env={**os.environ, "COLUMNS": "400", **(env or {})},
    )


def stop_logging(n: int = 1) -> dict[str, Any]:
    """The control record: the seed and corrected profiles flag it."""
    return ct("StopLogging", "cloudtrail.amazonaws.com", n)


def control_file(path: Path) -> Path:
    """A small clean CloudTrail S3 file whose one finding must survive the scan."""
    path.write_text(json.dumps({"Records": [stop_logging(7), ct("ListUsers", n=8)]}))
    return path


def _write(path: Path, parts: Iterator[bytes], gz: bool = False) -> Path:
    comp = zlib.compressobj(9, zlib.DEFLATED, 31) if gz else None
    with open(path, "wb") as fh:
        fh.writelines(comp.compress(part) if comp else part for part in parts)
        if comp:
            fh.write(comp.flush())
    return path


def _repeat(unit: bytes, size: int) -> Iterator[bytes]:
    """`unit` repeated to about `size` bytes, a block at a time."""
    block = unit * max(1, _BLOCK // len(unit))
    done = 0
    while done < size:
        part = block[: size - done]
        yield part
        done += len(part)


def gzip_bomb(path: Path, inflated: int) -> Path:
    """gzip of `inflated` zero bytes (about 1000:1)."""
    return _write(path, _repeat(b"\0" * 4096, inflated), gz=True)


def open_records_then_spaces(path: Path, spaces: int) -> Path:
    """`{"Records":[` and then only spaces: the document never ends."""
    return _write(path, iter([b'{"Records":[', *_repeat(b" " * 4096, spaces)]))


def noise_line(i: int) -> bytes:
    return json.dumps(ct("ListUsers", n=i % 60)).encode() + b"\n"


def big_jsonl(path: Path, size: int, gz: bool = False) -> Path:
    """About `size` bytes of CloudTrail JSON lines (noise), one StopLogging in the middle."""

    def parts() -> Iterator[bytes]:
        block = b"".join(noise_line(i) for i in range(1000))
        done = 0
        middle = False
        while done < size:
            yield block
            done += len(block)
            if not middle and done >= size // 2:
                yield json.dumps(stop_logging(41)).encode() + b"\n"
                middle = True

    return _write(path, parts(), gz)


def matching_line(i: int) -> bytes:
    """A StopLogging record (a seed finding) of its own eventID and second: line i of
    `matching_jsonl`."""
    rec = stop_logging(0)
    rec["eventID"] = f"00000000-0000-4000-9000-{i:012d}"
    rec["eventTime"] = f"2026-03-{14 + i // 86400 % 14:02d}T{i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d}Z"
    return json.dumps(rec).encode() + b"\n"


def matching_jsonl(path: Path, n: int, start: int = 0) -> Path:
    """JSON lines of n records that all match (lines start..start+n-1 of `matching_line`)."""

    def parts() -> Iterator[bytes]:
        for first in range(start, start + n, 1000):
            yield b"".join(matching_line(i) for i in range(first, min(first + 1000, start + n)))

    return _write(path, parts())


def tiny_records(path: Path, n: int) -> Path:
    """`{"Records":[...]}` holding n tiny CloudTrail records, the last one a StopLogging."""
    tiny = b'{"eventSource":"s3.amazonaws.com","eventName":"GetObject"},'
    last = json.dumps(stop_logging(5)).encode()

    def parts() -> Iterator[bytes]:
        yield b'{"Records":['
        for start in range(0, n - 1, 10000):
            yield tiny * min(10000, n - 1 - start)
        yield last + b"]}"

    return _write(path, parts())


def empty_records(path: Path, n: int) -> Path:
    """`{"Records":[{},{},...]}`: n records that are each an `unknown_envelope` error."""

    def parts() -> Iterator[bytes]:
        yield b'{"Records":['
        for start in range(0, n, 100000):
            k = min(100000, n - start)
            yield b"{}," * (k - 1) + (b"{}" if start + k >= n else b"{},")
        yield b"]}"

    return _write(path, parts())


def junk_then_record(path: Path, junk: int) -> Path:
    """JSON lines whose first line is `junk` bytes of non-JSON; line 2 is a StopLogging."""
    parts = iter([*_repeat(b"x" * 4096, junk), b"\n", json.dumps(stop_logging(2)).encode(), b"\n"])
    return _write(path, parts)


@dataclass(frozen=True)
class Run:
    returncode: int
    stdout: str
    stderr: str
    peak_rss: int  # bytes: the largest sum of RSS over the process and all its children
    seconds: float
    peak_root_rss: int = 0  # bytes: the process alone (a Spark driver, without its JVM)


def run_measured(args: list[str], env: dict[str, str] | None = None, timeout: float = 600,
                 stdin: Path | None = None, module: str = "trailhound") -> Run:
    """`python -m MODULE ARGS`, sampling the RSS of its process tree every 20 ms; `stdin`:
    a file given as the process's standard input."""
    import psutil  # the `test` extra; callers skip without it

    full_env = {**os.environ, **(env or {})}
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, (
        open(stdin, "rb") if stdin is not None else open(os.devnull, "rb")
    ) as given:
        start = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, "-m", module, *args], stdin=given, stdout=out, stderr=err,
            env=full_env,
        )
        peak = root_peak = 0
        try:
            root = psutil.Process(proc.pid)
            while proc.poll() is None:
                if time.monotonic() - start > timeout:
                    for p in [*root.children(recursive=True), root]:  # workers too
                        p.kill()
                    raise TimeoutError(f"trailhound {' '.join(args)} ran past {timeout} s")
                total = 0
                try:
                    root_peak = max(root_peak, root.memory_info().rss)
                    for p in [root, *root.children(recursive=True)]:
                        try:
                            total += p.memory_info().rss
                        except psutil.NoSuchProcess:
                            pass
                except psutil.NoSuchProcess:
                    pass
                peak = max(peak, total)
                time.sleep(0.02)
        finally:
            proc.wait()
        seconds = time.monotonic() - start
        out.seek(0)
        err.seek(0)
        return Run(proc.returncode, out.read().decode(), err.read().decode(), peak, seconds,
                   root_peak)
