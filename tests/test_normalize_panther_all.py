"""Every AWS / Azure / Entra / GCP record of panther-analysis/rule_test_cases.jsonl goes through
normalize without an exception. These are well-formed records, so the only issues allowed are
the ones caused by Panther's own placeholders (the literal strings "..." and "redacted" written
where an object or a time belongs); each of those is checked to name the placeholder."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from trailhound.model import Location, RawRecord
from trailhound.normalize import normalize

PLACEHOLDERS = ('"..."', '"redacted"')


def source_of(row: dict[str, Any]) -> str | None:
    provider = row["provider"]
    if provider == "aws":
        return "cloudtrail"
    if provider == "azure":
        return "azure_activity"
    if provider == "gcp":
        return "gcp_audit"
    if provider == "entra_id":
        category = row["log"].get("category") or ""
        return "entra_signin" if "signin" in category.lower() else "entra_audit"
    return None  # m365: covered by tests/test_m365_audit.py


def test_all_panther_records(external: Path) -> None:
    lines = (external / "panther-analysis/rule_test_cases.jsonl").read_text().splitlines()
    per_source: Counter[str] = Counter()
    placeholder_issues = 0
    for number, line in enumerate(lines, 1):
        row = json.loads(line)
        source = source_of(row)
        if source is None:
            continue
        data = row["log"]
        before = json.dumps(data, sort_keys=True)
        location = Location("rule_test_cases.jsonl", line=number)
        ev, issues = normalize(RawRecord(data, location, source, "panther_test"))
        per_source[source] += 1
        assert ev.raw is data and json.dumps(data, sort_keys=True) == before
        assert ev.source == source and ev.location is location
        for issue in issues:
            if issue.kind == "missing_field":  # test cases trimmed to what a rule reads
                assert "is missing, null or empty" in issue.message, (number, issue)
                continue
            assert issue.kind in ("wrong_type", "bad_time"), (number, issue)
            assert any(p in issue.message for p in PLACEHOLDERS), (
                number,
                row["rule_id"],
                issue.message,
            )
            placeholder_issues += 1
        # a time string that is not a placeholder is always read
        for key in ("eventTime", "time", "timestamp"):
            value = data.get(key)
            read = [i for i in issues if i.kind != "missing_field"]
            if isinstance(value, str) and value not in ("...", "redacted") and not read:
                assert ev.time is not None, (number, value)
        assert (ev.time is None) == (ev.time_ns is None)
    # the counts of the manifest: 475 AWS, 249 Azure, 48 Entra, 206 GCP
    assert per_source["cloudtrail"] == 475
    assert per_source["azure_activity"] == 249
    assert per_source["entra_audit"] + per_source["entra_signin"] == 48
    assert per_source["gcp_audit"] == 206
    assert placeholder_issues == expected_placeholders(lines) == 15


def expected_placeholders(lines: list[str]) -> int:
    """Placeholders where a time string or an object is read, counted straight from the file.

    Fields are read lazily: a placeholder in a fallback that is never needed is not reported.
    """
    count = 0
    for line in lines:
        row = json.loads(line)
        log = row["log"]
        if row["provider"] == "aws" and log.get("eventTime") in ("...", "redacted"):
            count += 1
        if row["provider"] == "gcp":
            pp = log.get("protoPayload")
            resource = log.get("resource")
            labels = resource.get("labels", {}) if isinstance(resource, dict) else {}
            has_label_region = any(labels.get(k) for k in ("location", "zone", "region"))
            if isinstance(pp, dict):
                count += pp.get("requestMetadata") == "..."
                # resourceLocation is read only when resource.labels gives no region
                count += pp.get("resourceLocation") == "..." and not has_label_region
            count += resource == "..."
    return count


def test_panther_azure_operations_always_found(external: Path) -> None:
    lines = (external / "panther-analysis/rule_test_cases.jsonl").read_text().splitlines()
    for line in lines:
        row = json.loads(line)
        if row["provider"] != "azure":
            continue
        ev, _ = normalize(RawRecord(row["log"], Location("p"), "azure_activity", "panther_test"))
        logged = row["log"]["operationName"]
        expected = logged["value"] if isinstance(logged, dict) else logged
        assert ev.operation == expected
