"""The principals' events for their plots: one more pass of the reader loop
(pipeline.read_events, as `trailhound timeline` reads them), keeping only each wanted
principal's event times. Matched as triage/timeline.is_principal matches: the whole value,
case ignored."""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Sequence

from trailhound.pipeline import ScanStats, read_events
from trailhound.profiles import Profile
from trailhound.tuning.window import TimeWindow


def event_times(
    paths: Sequence[str], profile: Profile, principals: Iterable[str],
    within: TimeWindow | None = None,
) -> dict[str, array[int]]:
    """Casefolded principal -> the times (epoch ns) of its timed events under `paths` inside
    `within`. 8 bytes per event of a wanted principal; nothing else is kept."""
    wanted: dict[str, array[int]] = {p.casefold(): array("q") for p in principals}
    for e in read_events(paths, profile, ScanStats()):
        if e.principal is None or e.time_ns is None:
            continue
        times = wanted.get(e.principal.casefold())
        if times is None:
            continue
        if within is not None and within.reject(e.time_ns) is not None:
            continue
        times.append(e.time_ns)
    return wanted
