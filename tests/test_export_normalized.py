"""export/normalized.py restates where each normalizer reads a principal, an account, an IP...
(the exports can only read raw fields). This keeps the two in step: over every record of the demo
dataset (all six sources), the first present raw path of PATHS gives the normalizer's value,
except where docs/export.md and normalized.py say the normalizer uses logic no raw path can
(Azure principals from claims, the subscription inside a resource id, synthetic Azure event ids,
M365's user agent inside ExtendedProperties)."""

from __future__ import annotations

from pathlib import Path

from trailhound.demo import dataset_path
from trailhound.engine import fields as F
from trailhound.export.normalized import PATHS
from trailhound.model import RawRecord
from trailhound.normalize import normalize
from trailhound.sources.reader import read_bytes

DOCUMENTED = {
    ("azure_activity", "principal"), ("azure_activity", "account"), ("azure_activity", "event_id"),
    ("m365_audit", "user_agent"),
    # the raw address keeps the client's port (`1.2.3.4:5678`); the normalizer cuts it off
    ("m365_audit", "src_ip"), ("azure_activity", "src_ip"),
}


def first(raw: object, paths: tuple[str, ...]) -> str | None:
    for p in paths:
        for hit in F.resolve(raw, F.compile_path(p)):
            if isinstance(hit, str) and hit:
                return hit
    return None


def test_paths_give_the_normalizers_values() -> None:
    checked, differ = 0, {}
    sources = set()
    for f in sorted(p for p in Path(dataset_path()).rglob("*") if p.is_file()):
        for item in read_bytes(f.read_bytes(), str(f)):
            if not isinstance(item, RawRecord):
                continue
            event, _ = normalize(item)
            sources.add(event.source)
            for attr, paths in PATHS[event.source].items():
                if attr == "time":  # normalized to a timestamp: compared by the tests that run exports
                    continue
                checked += 1
                if getattr(event, attr) != first(item.data, paths) and (event.source, attr) not in DOCUMENTED:
                    differ[(event.source, attr)] = (getattr(event, attr), first(item.data, paths))
    assert differ == {}
    assert len(sources) == 6 and checked > 4000
