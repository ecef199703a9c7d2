"""normalize: RawRecord -> Event (OCSF API Activity field names), one normalizer per source.

    normalize(rec) -> (Event, [Issue])

Never raises on any record content: a wrong-typed field leaves its Event field empty and adds a
``wrong_type`` Issue, an unreadable time adds a ``bad_time`` Issue, a missing time or event name
a ``missing_field`` Issue, a US-style time (read) a ``nonstandard_time`` Issue; the Event is always
returned with ``raw`` = the record's own dict (never modified). The only exception is an
unknown ``rec.source`` name (a programming error upstream): ``UsageError`` with a did-you-mean.
"""

from __future__ import annotations

from collections.abc import Callable

from trailhound.model import Event, Issue, RawRecord
from trailhound.normalize._fields import new_event
from trailhound.registry import Registry

Normalizer = Callable[[RawRecord], tuple[Event, list[Issue]]]

# Derived from the Source registry (trailhound/logsources.py), which fills it on import.
NORMALIZERS: Registry[Normalizer] = Registry("log source")

__all__ = ["NORMALIZERS", "Normalizer", "normalize"]


def normalize(rec: RawRecord) -> tuple[Event, list[Issue]]:
    """Normalize one record with the normalizer registered for ``rec.source``."""
    normalizer = NORMALIZERS.get(rec.source)
    try:
        return normalizer(rec)
    except Exception as exc:  # noqa: BLE001 - last-resort guard: one record never stops a scan
        issue = Issue(
            location=rec.location,
            kind="normalize_failed",
            message=(
                f"could not normalize this {rec.source} record ({type(exc).__name__}: {exc}); "
                f"it is kept with empty fields. This is a trailhound bug: please report it."
            ),
        )
        return new_event(rec), [issue]


from trailhound import logsources as _logsources  # noqa: F401 - fills NORMALIZERS
