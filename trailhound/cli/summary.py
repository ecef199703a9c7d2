"""Texts of the stderr summary that name files: what was skipped, and why nothing was read.
Every file name and title is log-controlled text, escaped for the terminal here."""

from __future__ import annotations

from collections.abc import Sequence

from trailhound.pipeline import SKIP_NAMES, ScanStats
from trailhound.report.escape import for_terminal


def skipped_parts(stats: ScanStats) -> list[str]:
    """One text per kind of skip, naming its first files: `2 not_json: a.txt, b.md`."""
    parts = []
    for kind, n in sorted(stats.skipped.items()):
        names = stats.skipped_paths.get(kind, [])
        shown = ", ".join(for_terminal(p) for p in names[:SKIP_NAMES])
        more = ", ..." if len(names) > SKIP_NAMES else ""
        parts.append(f"{n} {kind}: {shown}{more}" if shown else f"{n} {kind}")
    return parts


def nothing_read_line(stats: ScanStats, paths: Sequence[str]) -> str:
    """The one line that explains exit code 4 (nothing readable)."""
    where = ", ".join(for_terminal(p) for p in paths)
    skipped = "; skipped: " + "; ".join(skipped_parts(stats)) if stats.skipped else ""
    files = f"{stats.files} file" + ("" if stats.files == 1 else "s")
    return f"trailhound: nothing readable: no audit record in {files} under {where}{skipped}"
