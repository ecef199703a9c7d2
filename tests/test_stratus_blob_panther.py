"""The related pack's two Azure blob ransomware rules against an independent oracle: Panther's
own rules for the same techniques and their test logs (../shared/data/external/panther-analysis/
rule_test_cases.jsonl, `expected_result`), Azure Storage resource logs (StorageBlobLogs).

Same premise, same verdict: Panther's Azure.MonitorActivity.Storage.Blob.BulkDeletion and
...CPKEncryptionDetected decide on one record (a successful DeleteBlob; a read refused with
BlobUsesCustomerSpecifiedEncryption), as the correlations' base rules do. Where the premises
differ, the tests pin the difference down:
- Panther alerts on each deletion (its threshold is in its own alert settings, not in the test
  logs); the correlation counts 30 by one caller on one account. Panther's trimmed test logs name
  no caller (no `identity`): they take no part until a caller is there.
- Panther's CPK correlation (upload then refusal of one blob path) fires on one blob; the rule here
  needs 5 distinct refused blobs, since one portal click on a CPK blob gives one refusal.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import trailhound
from trailhound.emulate.check import labels
from trailhound.engine.reference import ReferenceEngine
from trailhound.model import Location, RawRecord
from trailhound.normalize import normalize
from trailhound.rules.loader import load_pack
from trailhound.rules.model import RuleSet
from trailhound.rules.related_ids import related_id
from trailhound.sources.classify import classify

# Panther rule id -> the base rule with the same premise
SAME_PREMISE = {
    "Azure.MonitorActivity.Storage.Blob.BulkDeletion": "azure_storage_blob_deleted",
    "Azure.MonitorActivity.Storage.Blob.CPKEncryptionDetected": "azure_storage_blob_cpk_read_denied",
}


def _cases(external: Path, rule_id: str) -> list[dict[str, Any]]:
    path = external / "panther-analysis" / "rule_test_cases.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    return [r for r in rows if r["rule_id"] == rule_id]


def _base_matches(name: str, log: dict[str, Any]) -> bool:
    rule = next(r for r in load_pack("related").rules if r.id == related_id(name))
    engine = ReferenceEngine()
    verdict = classify(log)
    assert verdict.source == "azure_activity", verdict.message  # the readers take it as such
    ev = normalize(RawRecord(log, Location("panther.jsonl", index=0), "azure_activity", "jsonl"))[0]
    return any(r.id == rule.id for m in engine.run(engine.compile(RuleSet((rule,))), [ev])
               for r in m.rules)


@pytest.mark.parametrize("panther_rule", sorted(SAME_PREMISE))
def test_base_rules_agree_with_panthers_expected_results(external: Path, panther_rule: str) -> None:
    cases = _cases(external, panther_rule)
    assert {c["expected_result"] for c in cases} == {True, False}  # both kinds to agree on
    got = {c["test_name"]: _base_matches(SAME_PREMISE[panther_rule], c["log"]) for c in cases}
    assert got == {c["test_name"]: c["expected_result"] for c in cases}


def _series(log: dict[str, Any], n: int, step: float) -> list[dict[str, Any]]:
    """n copies of one Panther log, each a request of its own on its own blob, `step` seconds
    apart."""
    t0 = datetime.fromisoformat(log["time"])
    out = []
    for k in range(n):
        props = {**log["properties"], "objectKey": f"{log['properties']['objectKey']}.{k}"}
        when = (t0 + timedelta(seconds=k * step)).isoformat().replace("+00:00", "Z")
        rec = {**log, "time": when, "properties": props}
        if "correlationId" in log:  # one per request in real logs; one id is one operation
            rec["correlationId"] = f"{log['correlationId'][:-4]}{k:04d}"
        out.append(rec)
    return out


def _fired(tmp_path: Path, records: list[dict[str, Any]]) -> set[str]:
    path = tmp_path / "storage.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    result = trailhound.scan([str(path)])
    assert result.summary.error_count == 0
    return set().union(*(labels(f) for f in result.findings))


def test_bulk_deletion_counts_per_caller_where_panther_counts_per_record(
    external: Path, tmp_path: Path
) -> None:
    log = next(c["log"] for c in _cases(external, "Azure.MonitorActivity.Storage.Blob.BulkDeletion")
               if c["test_name"] == "Successful Blob Deletion")
    anonymous = _series(log, 40, 1.0)
    assert "azure_storage_blobs_bulk_deleted" not in _fired(tmp_path, anonymous)  # no caller
    key = {"type": "AccountKey", "tokenHash": "key1(4C81DD1772CEA6215A976B5B9C0764F5)"}
    keyed = [{**r, "identity": key} for r in anonymous]
    assert "azure_storage_blobs_bulk_deleted" in _fired(tmp_path, keyed)
    assert "azure_storage_blobs_bulk_deleted" not in _fired(tmp_path, keyed[:29])  # threshold 30
    slow = [{**r, "identity": key} for r in _series(log, 40, 20.0)]  # 15 in any 5 minutes
    assert "azure_storage_blobs_bulk_deleted" not in _fired(tmp_path, slow)


def test_cpk_needs_five_refused_blobs_where_panther_needs_one(
    external: Path, tmp_path: Path
) -> None:
    cases = _cases(external, "Azure.MonitorActivity.Storage.Blob.CPKEncryptionDetected")
    refused = [c["log"] for c in cases if c["expected_result"]]
    assert "azure_storage_blobs_cpk_locked" not in _fired(tmp_path, refused)  # 2 distinct blobs
    assert "azure_storage_blobs_cpk_locked" not in _fired(tmp_path, _series(refused[0], 4, 30.0))
    assert "azure_storage_blobs_cpk_locked" in _fired(tmp_path, _series(refused[0], 5, 30.0))
