"""trailhound's events -> Sumo messages (the fields every query starts with).

A record read from a Sumo Logic export keeps the `_sourceCategory` and `_messageTime` it was
exported with. A record read from a raw file has neither: its category is the one Sumo's own
apps are set up with for that source (CATEGORIES, by trailhound's registered log source, which
the record's content decided), and its `_messageTime` is its event time in epoch milliseconds.
"""

from __future__ import annotations

from typing import Any

from trailhound.model import Event
from trailhound.sumo.values import number

# trailhound log source (trailhound/logsources.py) -> the _sourceCategory its records get.
# The first three are the seed page's "Required Tables"; the rest follow the same vendor/log
# naming. A source registered later (a plugin) gets "<provider>/<source name>".
CATEGORIES: dict[str, str] = {
    "cloudtrail": "aws/cloudtrail",
    "azure_activity": "azure/activity",
    "entra_audit": "azure/audit",
    "entra_signin": "azure/signin",
    "gcp_audit": "gcp/audit",
    "m365_audit": "o365/audit",
}

# The metadata fields every message has (Sumo's built-in metadata that trailhound can fill).
METADATA = ("_messageTime", "_sourceCategory", "_sourceName", "_raw")

__all__ = ["CATEGORIES", "METADATA", "category", "message"]


def category(e: Event) -> str:
    exported = e.meta.get("_sourceCategory")
    if isinstance(exported, str):
        return exported
    return CATEGORIES.get(e.source) or f"{e.provider}/{e.source}"


def _message_time(e: Event) -> int | None:
    exported = number(e.meta.get("_messageTime"))
    if exported is not None:
        return int(exported)
    return None if e.time_ns is None else e.time_ns // 1_000_000


def message(e: Event) -> dict[str, Any]:
    return {
        "_messageTime": _message_time(e),
        "_sourceCategory": category(e),
        "_sourceName": e.location.path,
        "_raw": e.raw,
    }
