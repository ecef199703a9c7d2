"""The local engines' tuning gate on the match stream (pipeline.py): the time window, then what the
filters suppressed (matches per filter) and what each allowlist entry removed (findings). Spark
does the same over its match rows in spark/api.py and spark/tuning.py.

The window sits on the Match stream, before scoring and correlation, so an event outside it is
neither a finding nor part of a correlation. `ScanStats.window` counts, by reason, the FLAGGED
events left out (a counted detection rule matched and no filter removed it: what could have been
a finding; a first-seen rule only when its value was new: `outside`); events only context rules
matched are not counted, as the fast engines never even produce their matches.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from typing import Any

from trailhound.engine.base import Match
from trailhound.rules.model import Filter
from trailhound.scoring import RowMatches, collapse_key, row_time
from trailhound.tuning.allowlist import is_allowlist_filter
from trailhound.tuning.removed import detects, removed_by
from trailhound.tuning.window import TimeWindow

__all__ = ["tuning_gate"]


def tuning_gate(
    matches: Iterable[Match],
    stats: Any,
    *,
    filters: Sequence[Filter],
    window: TimeWindow | None,
    min_score: float | None,
    dedupe: bool,
    outside: Callable[[Match], Match | None] | None = None,
) -> Iterator[Match]:
    """`matches` less those outside `window` (counted in `stats.window`), counting in
    `stats.suppressed` the matches each filter removed and in `stats.removed` the findings each
    allowlist entry removed (tuning/removed.py; with `dedupe` the copies of one operation count
    once, as they make one finding). Closing it closes `matches` (which stops an engine's
    worker processes at once rather than whenever the garbage collector gets to it).
    `outside` sees each match left out by the window, in input order, and returns what of it
    the scan would report (the first-seen gate: a rule whose value is not new is no finding, in
    or out of the window); a match it returns None for is not counted."""
    allow = [f for f in filters if is_allowlist_filter(f)]
    for f in allow:
        stats.removed[f.title] += 0  # listed even when it removed nothing (a stale entry)
    seen: dict[str, set[Hashable]] = {f.title: set() for f in allow}

    def left_out(m: Match, why: str) -> None:
        left = outside(m) if outside is not None else m
        if left is not None and any(detects(r) for r in left.rules):
            stats.window[why] += 1

    try:
        for order, m in enumerate(matches):
            if m.__class__ is RowMatches:  # (nothing a filter suppressed: only the window)
                if window is not None:
                    inside = _inside(m, window, left_out)
                    if inside is not None:
                        yield inside
                else:
                    yield m
                continue
            if window is not None:
                why = window.reject(m.event.time_ns)
                if why is not None:
                    left_out(m, why)
                    continue
            for _rule, flt in m.suppressed:
                stats.suppressed[flt.title] += 1
            if allow and m.suppressed:
                for f in removed_by(m.rules, m.suppressed, min_score):
                    if f.title in seen:
                        key = (collapse_key(m.event) if dedupe else None) or ("#", order)
                        if key not in seen[f.title]:
                            seen[f.title].add(key)
                            stats.removed[f.title] += 1
            yield m
    finally:
        close = getattr(matches, "close", None)
        if close is not None:
            close()


def _inside(rows: RowMatches, window: TimeWindow, left_out: Callable[[Match, str], None]
            ) -> RowMatches | None:
    """The rows of `rows` inside `window` (None: none); each left out goes to `left_out` as a
    Match, as any match the window leaves out."""
    inside = []
    for w in rows.wires:
        why = window.reject(row_time(w[1]))
        if why is None:
            inside.append(w)
        else:
            left_out(rows.match(w), why)
    if len(inside) == len(rows.wires):
        return rows
    return RowMatches(inside, rows.match) if inside else None
