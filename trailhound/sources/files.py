"""Input discovery and raw reading: paths -> InputSpec, InputSpec -> bytes."""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import BinaryIO

from trailhound.model import Issue, Location
from trailhound.sources import datepath

STDIN = "-"
STDIN_NAME = "<stdin>"


@dataclass(frozen=True)
class InputSpec:
    path: str  # as given by the user (or found under a folder they gave); "-" is stdin
    size: int | None  # bytes, when known
    explicit: bool  # named by the user, as opposed to found while walking a folder


def display_name(spec: InputSpec) -> str:
    """The input's name in locations, rows and state: `shown_path` of its path."""
    return STDIN_NAME if spec.path == STDIN else shown_path(spec.path)


def shown_path(path: str) -> str:
    """`path` as valid Unicode. A file name whose bytes are not UTF-8 reaches Python with lone
    surrogates standing for them (PEP 383), which no UTF-8 sink (orjson, SQLite, DuckDB) takes:
    one such file in a scanned folder crashed every command. Its bytes show as \\xNN here; the
    file is still opened by its real path."""
    if path.isascii():
        return path
    try:
        raw = path.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a surrogate that does not stand for a byte
        raw = path.encode("utf-8", "backslashreplace")
    return raw.decode("utf-8", "backslashreplace")


def discover(paths: Sequence[str]) -> tuple[list[InputSpec], list[Issue]]:
    """Expand paths into inputs, in order: files as given, folders walked recursively and sorted.

    Hidden files and folders (name starting with '.') are skipped inside folders; a file reached
    twice (named twice, or named and inside a named folder) is read once.
    """
    specs: list[InputSpec] = []
    issues: list[Issue] = []
    seen: set[object] = set()
    for path in paths:
        found, problems = discover_one(path, seen)
        specs.extend(found)
        issues.extend(problems)
    return specs, issues


def discover_one(path: str, seen: set[object]) -> tuple[list[InputSpec], list[Issue]]:
    if path.startswith("s3://"):  # issue 15: the S3 lister (boto3, imported on use)
        from trailhound.sources import s3

        return s3.discover(path)
    if path == STDIN:
        if STDIN in seen:
            return [], []
        seen.add(STDIN)
        return [InputSpec(STDIN, None, True)], []
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        if os.path.islink(path):
            return [], [_dangling(path)]
        return [], [
            Issue(Location(path), "not_found", "no such file or folder; check the path", "error")
        ]
    except OSError as exc:
        return [], [Issue(Location(path), "unreadable", f"cannot open: {_reason(exc)}", "error")]
    if stat.S_ISDIR(st.st_mode):
        return _walk(path, seen)
    key = (st.st_dev, st.st_ino)
    if key in seen:
        return [], []
    seen.add(key)
    size = st.st_size if stat.S_ISREG(st.st_mode) else None
    return [InputSpec(path, size, True)], []


def _walk(root: str, seen: set[object]) -> tuple[list[InputSpec], list[Issue]]:
    found: list[tuple[tuple[str, ...], str, int]] = []
    issues: list[Issue] = []
    stack: list[tuple[str, tuple[str, ...]]] = [(root, ())]
    while stack:
        folder, parts = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = list(it)
        except OSError as exc:
            issues.append(
                Issue(
                    Location(folder), "unreadable", f"cannot list folder: {_reason(exc)}", "error"
                )
            )
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue
            try:
                if entry.is_dir(follow_symlinks=False):
                    if datepath.WALK_BEFORE is None or not datepath.before(
                        entry.path, datepath.WALK_BEFORE
                    ):  # watch --lookback: old CloudTrail date folders are not walked
                        stack.append((entry.path, parts + (entry.name,)))
                    continue
                if not entry.is_file():  # follows links: a dangling link, a linked folder...
                    issues.append(_not_read(entry))
                    continue
                st = entry.stat()
            except OSError as exc:
                issues.append(
                    Issue(
                        Location(entry.path), "unreadable", f"cannot open: {_reason(exc)}", "error"
                    )
                )
                continue
            key = (st.st_dev, st.st_ino)
            if key in seen:
                continue
            seen.add(key)
            found.append((parts + (entry.name,), entry.path, st.st_size))
    found.sort()
    return [InputSpec(path, size, False) for _, path, size in found], issues


def missing_paths(paths: Sequence[str]) -> list[str]:
    """The local paths among `paths` that do not exist at all (a dangling symlink exists: it is
    reported by `discover`). URIs (`s3a://...`) and stdin are not checked here."""
    return [p for p in paths if p != STDIN and "://" not in p and not os.path.lexists(p)]


def _not_read(entry: os.DirEntry[str]) -> Issue:
    """Why a folder entry that is neither a folder nor a file is not read; reported, never
    silent. A dangling link is a log that is missing (an error); a linked folder is not followed
    (links can loop) but can be named itself; sockets, FIFOs and devices hold no logs."""
    if entry.is_symlink():
        if not os.path.exists(entry.path):
            return _dangling(entry.path)
        if entry.is_dir():
            return Issue(
                Location(entry.path),
                "symlinked_folder",
                "symbolic link to a folder, not followed (links can loop); name the folder "
                "itself to scan it",
                "skip",
            )
    return Issue(Location(entry.path), "not_a_file", "not a regular file or folder; skipped", "skip")


def _dangling(path: str) -> Issue:
    try:
        target = repr(os.readlink(path))
    except OSError:
        target = "a path"
    return Issue(
        Location(path),
        "dangling_symlink",
        f"symbolic link to {target}, which does not exist; fix or remove the link",
        "error",
    )


def read_raw(spec: InputSpec, stdin: BinaryIO | None = None) -> bytes:
    """All bytes of one input. Raises OSError (the caller turns it into an Issue)."""
    if spec.path == STDIN:
        stream = stdin if stdin is not None else sys.stdin.buffer
        raw = stream.read()
        if isinstance(raw, str):  # a text stream was passed in
            raw = raw.encode("utf-8", "surrogateescape")
        return bytes(raw)
    with open(spec.path, "rb") as fh:
        return fh.read()


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__
