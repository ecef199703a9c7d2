"""Event.provider is the Sigma product of the event's log source, for every source: the value the
README, the hunt table's docs and `--allow`'s `provider` field (which accepts exactly the
products) promise. M365 records used to say `azure`, so `provider: m365` was accepted and
matched nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import trailhound
from trailhound.logsources import SOURCES
from trailhound.model import Location, RawRecord
from trailhound.normalize import normalize
from trailhound.sources.builtin import M365_AUDIT


@pytest.mark.parametrize("name", SOURCES.names())
def test_provider_is_the_sigma_product(name: str) -> None:
    source = SOURCES.get(name)
    data = json.loads(json.dumps(source.sample))
    ev, _ = normalize(RawRecord(data, Location("s.json", line=1), name, "jsonl"))
    assert ev.provider == source.logsource[0]


@pytest.mark.parametrize(("provider", "kept"), [("m365", 0), ("M365", 0), ("azure", 1)])
def test_allow_provider_m365_removes_m365_findings(
    tmp_path: Path, provider: str, kept: int
) -> None:
    logs = tmp_path / "ual.json"
    logs.write_text(json.dumps(M365_AUDIT.sample) + "\n")
    allow = tmp_path / "allow.yml"
    allow.write_text(f"- provider: {provider}\n  reason: mail admins\n")
    bare = trailhound.scan([str(logs)], profile="corrected", since="2020-01-01")
    assert [r["operationName"] for r in bare.rows()] == ["Add-MailboxPermission"]
    allowed = trailhound.scan([str(logs)], "corrected", since="2020-01-01", allow=[str(allow)])
    assert len(allowed.rows()) == kept
