"""The exception tree. Imports nothing of ours except the Location value.

Messages follow one shape: what went wrong, where (file and position), why, and what to do next.
Input problems inside a scan are *not* raised: sources and normalizers yield `Issue` values
(see model.py) so one bad record never stops a file and one bad file never stops a run.
Exceptions are for problems that stop a whole command (bad flags, an unreadable rule pack).
"""

from __future__ import annotations


class TrailhoundError(Exception):
    """Root of every error trailhound raises on purpose. The CLI prints it as one line."""

    exit_code = 1


class UsageError(TrailhoundError):
    """Bad command-line flags or configuration."""

    exit_code = 2


class InputError(TrailhoundError):
    """A log input cannot be opened at all (missing path, permission denied)."""

    exit_code = 3


class RuleError(TrailhoundError):
    """A rule or rule pack cannot be loaded or compiled."""

    exit_code = 1


class EngineError(TrailhoundError):
    """An engine cannot evaluate the rules it was given."""

    exit_code = 1


class SpillError(TrailhoundError):
    """Findings past the memory budget, or rows a rows-only scan's workers write
    (spill.RowStore), cannot be written to the temporary folder."""

    exit_code = 1

    def __init__(self, folder: str, exc: OSError) -> None:
        reason = exc.strerror or type(exc).__name__
        super().__init__(
            f"cannot keep findings in the temporary folder {folder!r}: {reason}. Free space "
            f"there or point TMPDIR at a larger disk (it holds the findings past "
            f"TRAILHOUND_SPILL_AFTER, default 5000, and the rows of JSON lines output)."
        )


class AllowlistError(UsageError):
    """An allowlist file (`--allow FILE`) that cannot be used: names the file, the line and the
    field, says why and what to write instead."""

    def __init__(self, path: str, line: int | None, field: str | None, reason: str) -> None:
        self.path, self.line, self.field, self.reason = path, line, field, reason
        where = path if line is None else f"{path}:{line}"
        what = f"field {field!r}: " if field else ""
        super().__init__(f"{where}: {what}{reason}")
