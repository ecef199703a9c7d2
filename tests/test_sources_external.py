"""Readers on the real third-party samples in ../shared/data/external (see its MANIFEST.md).

Expected counts come from MANIFEST.md or from an independent json.load of the same file.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from trailhound.model import Issue, RawRecord
from trailhound.sources import read_paths


def _split(items: list[RawRecord | Issue]) -> tuple[list[RawRecord], list[Issue]]:
    records = [i for i in items if isinstance(i, RawRecord)]
    issues = [i for i in items if isinstance(i, Issue)]
    assert len(records) + len(issues) == len(items)
    return records, issues


def _read(*paths: Path) -> tuple[list[RawRecord], list[Issue]]:
    return _split(list(read_paths([str(p) for p in paths])))


def test_invictus_s3_delivery_files(external: Path) -> None:
    files = sorted((external / "invictus-ir-aws_dataset" / "CloudTrail").glob("*.json"))
    assert len(files) == 55  # MANIFEST: 55 files
    records, issues = _read(*files)
    assert issues == []
    assert len(records) == 2900  # MANIFEST: 2,900 events
    assert {(r.source, r.envelope) for r in records} == {("cloudtrail", "s3_records")}
    # Per file: same records, same order, pointer and index of each.
    by_file: dict[str, list[RawRecord]] = {}
    for r in records:
        by_file.setdefault(r.location.path, []).append(r)
    assert list(by_file) == [str(f) for f in files]
    for f in files:
        expected = json.loads(f.read_text())["Records"]
        got = by_file[str(f)]
        assert [r.data for r in got] == expected
        assert [r.location.pointer for r in got] == [f"/Records/{i}" for i in range(len(expected))]
        assert [r.location.index for r in got] == list(range(len(expected)))


def test_stratus_arrays(external: Path) -> None:
    files = sorted((external / "stratus-red-team" / "detonation-logs").glob("*.json"))
    assert len(files) == 35
    records, issues = _read(*files)
    assert issues == []
    assert len(records) == 310  # MANIFEST
    assert {(r.source, r.envelope) for r in records} == {("cloudtrail", "json_array")}
    first = json.loads(files[0].read_text())
    assert [r.data for r in records[: len(first)]] == first


def test_permiso_trimmed_records_and_label_files(external: Path) -> None:
    root = external / "permiso-cloudconsolecartographer"
    inputs = sorted(root.rglob("InputEvents.json"))
    labels = sorted(root.rglob("ExpectedSignals.json"))
    records, issues = _read(*inputs)
    assert issues == []
    assert len(records) == 9226  # MANIFEST: 8,226 in 31 sessions + 1,000 demo
    assert {(r.source, r.envelope) for r in records} == {("cloudtrail", "json_array")}
    assert all("userIdentity" not in r.data for r in records)  # trimmed to 10 fields
    # The label files are JSON but not logs: one clear error each, naming their keys.
    records, issues = _read(*labels)
    assert records == []
    assert len(issues) == len(labels) == 31
    for issue, path in zip(issues, labels):
        assert (issue.kind, issue.severity) == ("unknown_envelope", "error")
        first_key = next(iter(json.loads(path.read_text())))
        assert repr(first_key) in issue.message


def test_otrf_jsonl_with_logstash_fields(external: Path) -> None:
    path = external / "otrf-security-datasets/atomic/aws/collection"
    path = path / "ec2_proxy_s3_exfiltration_2020-09-14011940.json"
    lines = path.read_text().splitlines()
    records, issues = _read(path)
    assert issues == []
    assert len(records) == 103  # MANIFEST
    assert {(r.source, r.envelope) for r in records} == {("cloudtrail", "jsonl")}
    for r in records:
        assert r.data == json.loads(lines[r.location.line - 1])
        assert "@timestamp" in r.data
    assert [r.location.line for r in records] == list(range(1, 104))


def test_plaso_lookup_events(external: Path) -> None:
    path = external / "plaso/jsonl/aws_cloudtrail.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    records, issues = _read(path)
    assert issues == []
    assert len(records) == len(rows) == 6
    for r, row in zip(records, rows):
        assert (r.source, r.envelope) == ("cloudtrail", "lookup_events")
        assert r.data == json.loads(row["CloudTrailEvent"])
        assert r.meta == {k: row[k] for k in ("EventId", "EventName", "Username") if k in row}
        assert r.meta["EventId"] == row["EventId"]
        assert r.location.pointer == "/CloudTrailEvent"


def test_plaso_azure_sdk_gcp_and_m365(external: Path) -> None:
    jsonl = external / "plaso/jsonl"
    records, issues = _read(jsonl / "azure_activity_log.jsonl")
    assert issues == [] and len(records) == 4
    assert {(r.source, r.envelope) for r in records} == {("azure_activity", "jsonl")}

    records, issues = _read(jsonl / "gcp_logging.jsonl")
    assert len(records) == 9 and {r.source for r in records} == {"gcp_audit"}  # MANIFEST
    assert [(i.kind, i.severity) for i in issues] == [("not_audit_log", "skip")] * 2
    lines = (jsonl / "gcp_logging.jsonl").read_text().splitlines()
    for issue in issues:
        assert "testlog" in json.loads(lines[issue.location.line - 1])["logName"]

    records, issues = _read(jsonl / "microsoft_audit_log.jsonl")
    assert issues == [] and len(records) == 4
    assert {(r.source, r.envelope) for r in records} == {("m365_audit", "jsonl")}


def test_google_cloudevents_pretty_printed(external: Path) -> None:
    files = sorted((external / "google-cloudevents/audit/v1").glob("*.json"))
    records, issues = _read(*files)
    assert issues == []
    assert len(records) == 3
    assert {(r.source, r.envelope) for r in records} == {("gcp_audit", "single")}
    assert [r.data for r in records] == [json.loads(f.read_text()) for f in files]


def test_otrf_sentinel_exports(external: Path) -> None:
    folder = external / "otrf-security-datasets/compound/GoldenSAMLADFSMailAccess"
    records, issues = _read(folder / "AADAuditEvents.json")
    assert issues == []
    assert len(records) == 4
    assert {(r.source, r.envelope) for r in records} == {("entra_audit", "jsonl")}
    assert all(isinstance(r.data["InitiatedBy"], str) for r in records)  # left as exported
    records, issues = _read(folder / "OfficeActivityEvents.json")
    assert issues == []
    assert [(r.source, r.envelope) for r in records] == [("m365_audit", "single")]


_EXPECTED_SOURCE = {
    "AWS.CloudTrail": {"cloudtrail"},
    "Azure.MonitorActivity": {"azure_activity"},
    "Azure.Audit": {"entra_audit", "entra_signin"},
    "GCP.AuditLog": {"gcp_audit"},
    "Microsoft365.Audit.AzureActiveDirectory": {"m365_audit"},
    "Microsoft365.Audit.Exchange": {"m365_audit"},
    "Microsoft365.Audit.SharePoint": {"m365_audit"},
}
_SIGNIN = {"signinlogs", "noninteractiveusersigninlogs", "serviceprincipalsigninlogs"}


def test_panther_rule_test_cases(external: Path) -> None:
    path = external / "panther-analysis/rule_test_cases.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert len(rows) == 997  # MANIFEST
    records, issues = _read(path)
    assert issues == []
    assert len(records) == 997  # one item per line
    by_line = {r.location.line: r for r in records}
    for line, r in by_line.items():
        row = rows[line - 1]
        assert r.envelope == "panther_test"
        assert r.data == row["log"]
        assert r.meta == {k: v for k, v in row.items() if k != "log"}
        assert r.source in _EXPECTED_SOURCE[row["log_type"]], (line, r.source)
        category = str(row["log"].get("category", "")).lower()
        if row["log_type"] == "Azure.Audit":
            want = "entra_signin" if category in _SIGNIN else "entra_audit"
            assert r.source == want, line
    counts = Counter(row["log_type"] for row in rows)
    assert sum(v for k, v in counts.items() if k.startswith("Microsoft365")) == 19  # MANIFEST
    kube = [r for r in records if str(r.data.get("category")) == "kube-audit"]
    assert len(kube) == 34 and {r.source for r in kube} == {"azure_activity"}  # MANIFEST


def test_walk_whole_external_folder(external: Path) -> None:
    """Folder walk: every non-JSON file is one skip; records match the per-source totals."""
    non_json = [
        p
        for p in external.rglob("*")
        if p.is_file() and p.suffix in {".yml", ".yaml", ".csv", ".md", ".txt"}
    ]
    records, issues = _read(external)
    kinds = Counter((i.kind, i.severity) for i in issues)
    assert kinds[("not_json", "skip")] == len(non_json)
    assert ("not_json", "error") not in kinds
    errors = [i for i in issues if i.severity == "error"]
    assert {i.kind for i in errors} == {"unknown_envelope"}  # the permiso label files only
    assert all(i.location.path.endswith("ExpectedSignals.json") for i in errors)
    per_source = Counter(r.source for r in records)
    assert per_source["cloudtrail"] == 2900 + 310 + 9226 + 103 + 6 + 475
    paths = [r.location.path for r in records]
    assert paths == sorted(paths, key=lambda p: Path(p).relative_to(external).parts)
