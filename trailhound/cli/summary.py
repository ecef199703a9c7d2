"""Texts of the stderr summary that name files: what was skipped, and why nothing was read.
Every file name and title is log-controlled text, escaped for the terminal here."""

from __future__ import annotations

from collections.abc import Sequence

from trailhound.pipeline import SKIP_NAMES, ScanStats
from trailhound.report.escape import for_terminal
from trailhound.sources.classify import UNDERSTOOD
from trailhound.tuning.summary import tuning_lines
from trailhound.wording import count


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
    return (f"trailhound: nothing readable: no audit record in {count(stats.files, 'file')} "
            f"under {where}{skipped}")


def _read(stats: ScanStats) -> str:
    """`2 files, 10 records, 9 events`: what a scan read."""
    return (f"{count(stats.files, 'file')}, {count(stats.records, 'record')}, "
            f"{count(stats.events, 'event')}")


def query_summary_lines(query: str, stats: ScanStats) -> list[str]:
    """`summary_lines` for a query's run (`hunt`, `sumo`): rows, not findings, and no profile.
    `query` is the hunt's name or the query file (escaped here)."""
    first = f"trailhound: {for_terminal(query)}: {count(stats.findings, 'row')}; {_read(stats)}"
    return [first, *summary_lines(stats, "")[1:]]


def summary_lines(stats: ScanStats, profile: str) -> list[str]:
    """The scan summary `detect` prints on stderr, line by line (escaped for the terminal): what
    was read, skipped, filtered by which filter or allowlist entry, and the input issues. The
    HTML report shows the same lines."""
    out = [f"trailhound: {_read(stats)}, {count(stats.findings, 'finding')} (profile {profile})"]
    if stats.not_admitted:
        out.append(f"  not in the query's source categories: {count(stats.not_admitted, 'event')}")
    if stats.skipped:
        out.append("  skipped (not audit records):")
        out += [f"    {part}" for part in skipped_parts(stats)]
    for title, n in sorted(stats.suppressed.items()):
        if title not in stats.removed:  # allowlist entries: findings removed, just below
            out.append(f"  filtered: {count(n, 'match', 'matches')} removed by {for_terminal(title)!s}")
    out += tuning_lines(stats)
    if stats.errors:
        parts = ", ".join(f"{k} {n}" for k, n in sorted(stats.errors.items()))
        out.append(f"  {count(stats.error_count, 'input error')} ({parts}):")
        # the list of understood shapes closes every unknown_envelope message: say it once
        hint = f"; trailhound understands {UNDERSTOOD}"
        hinted = False
        for issue in stats.samples:
            text = str(issue)
            if text.endswith(hint):
                text, hinted = text[: -len(hint)], True
            out.append(f"    {for_terminal(text)}")
        rest = stats.error_count - len(stats.samples)
        if rest > 0:
            out.append(f"    ... and {rest} more like these")
        if hinted:
            out.append(f"  trailhound understands {UNDERSTOOD}")
    return out
