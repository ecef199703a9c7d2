"""What makes an alert the same alert in two runs.

An alert is one counted rule or correlation (a signal) on one event: the unit a SOC acks. A
finding whose event a later run adds a correlation hit to (its other event arrived later) raises
one new alert, for the correlation; its earlier alerts are not repeated.

The event's identity: with the profile's `dedupe`, the operation it reports
(scoring.collapse_key: CloudTrail eventID + account + operation + principal + IP + time, an
Azure operation...), so that a second delivery of a record in another file is the same event, as
`detect` collapses it; otherwise, or when the record has no such key, where it was read (file
and position in it: a file that grew is read again from its start, and its old records keep
their positions).
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

from trailhound.model import Event
from trailhound.scoring import collapse_key
from trailhound.spill import location_tuple


def event_key(e: Event, dedupe: bool) -> list[Any]:
    key = collapse_key(e) if dedupe else None
    if key is not None:
        return ["op", *key]
    return ["at", e.source, *location_tuple(e.location)]


def event_hash(e: Event, dedupe: bool) -> str:
    """A short stable hash of the event's identity: its finding row's key in the state."""
    return hashlib.blake2b(orjson.dumps(event_key(e, dedupe)), digest_size=16).hexdigest()


def alert_id(e: Event, signal_id: str, dedupe: bool) -> str:
    """A short stable hash of (event identity, signal id): the idempotency key sinks carry."""
    text = orjson.dumps([event_key(e, dedupe), signal_id])
    return hashlib.blake2b(text, digest_size=16).hexdigest()
