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
from trailhound.normalize import (
    azure_activity,
    cloudtrail,
    entra_audit,
    entra_signin,
    gcp_audit,
    m365_audit,
)
from trailhound.normalize._fields import new_event
from trailhound.registry import Registry

Normalizer = Callable[[RawRecord], tuple[Event, list[Issue]]]

NORMALIZERS: Registry[Normalizer] = Registry("log source")
NORMALIZERS.register("cloudtrail", cloudtrail.normalize)
NORMALIZERS.register("azure_activity", azure_activity.normalize)
NORMALIZERS.register("entra_audit", entra_audit.normalize)
NORMALIZERS.register("entra_signin", entra_signin.normalize)
NORMALIZERS.register("gcp_audit", gcp_audit.normalize)
NORMALIZERS.register("m365_audit", m365_audit.normalize)

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
