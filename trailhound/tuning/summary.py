"""The tuning lines of the scan summary (cli/summary.summary_lines: stderr and the HTML report)."""

from __future__ import annotations

from typing import Any

from trailhound.report.escape import for_terminal
from trailhound.tuning.window import OUTSIDE, UNTIMED
from trailhound.wording import count

__all__ = ["tuning_lines"]


def tuning_lines(stats: Any) -> list[str]:
    """`allowlist FILE:LINE (reason): N findings removed` per entry, in file order, then what
    the time window left out."""
    out = [
        f"  {for_terminal(label)}: {count(n, 'finding')} removed" for label, n in stats.removed.items()
    ]
    if stats.window:
        parts = []
        if stats.window[OUTSIDE]:
            parts.append(f"{count(stats.window[OUTSIDE], 'matched event')} outside it")
        if stats.window[UNTIMED]:
            parts.append(f"{count(stats.window[UNTIMED], 'matched event')} without a time")
        out.append(f"  time window (--since/--until): left out {', '.join(parts)}")
    return out
