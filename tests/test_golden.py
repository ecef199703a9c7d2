"""Golden files: for each registered log source, tests/data/<source>/ holds hand-written inputs
in the shapes of log-formats.md, and next to each one `<input>.expected.jsonl`: what reading and
normalizing it gives (one line per record or input issue). A change in any reader or normalizer
shows up as a diff of these files.

    pytest tests/test_golden.py --regen-golden   # rewrite the expected files, then review:
    git diff tests/data/

The expected files are themselves checked: HAND_CHECKED below holds values read off the inputs
by a person (time converted to UTC by hand, principal, action, outcome), so a regenerated file
that gets them wrong fails even though it agrees with the code that wrote it.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import IN_CI
from trailhound.logsources import SOURCES
from trailhound.model import Event, Issue, RawRecord
from trailhound.normalize import normalize
from trailhound.sources import read_paths

DATA = Path(__file__).resolve().parent / "data"
SUFFIX = ".expected.jsonl"
_SKIP = {"raw", "location", "meta"}  # raw is the input itself; location is shown as text


def _inputs() -> list[Path]:
    # only the folders named after a log source: tests/data holds other suites' data too (export/)
    return sorted(
        p for p in DATA.glob("*/*")
        if p.is_file() and not p.name.endswith(SUFFIX) and p.parent.name in SOURCES.names()
    )


def _event_json(rec: RawRecord, event: Event, issues: list[Issue]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "at": str(rec.location).replace(str(DATA) + "/", ""),
        "envelope": rec.envelope,
    }
    for f in dataclasses.fields(Event):
        if f.name not in _SKIP:
            out[f.name] = getattr(event, f.name)
    if event.meta:
        out["meta"] = dict(event.meta)
    out["issues"] = [i.kind for i in issues]
    return out


def _golden_lines(path: Path) -> list[str]:
    lines = []
    for item in read_paths([str(path)]):
        if isinstance(item, Issue):
            row: dict[str, Any] = {
                "at": str(item.location).replace(str(DATA) + "/", ""),
                "issue": item.kind,
                "severity": item.severity,
            }
        else:
            event, issues = normalize(item)
            row = _event_json(item, event, issues)
        lines.append(json.dumps(row, ensure_ascii=False))
    return lines


def _expected_path(path: Path) -> Path:
    return path.with_name(path.name + SUFFIX)


@pytest.mark.parametrize("path", _inputs(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_golden(path: Path, regen_golden: bool) -> None:
    got = _golden_lines(path)
    expected = _expected_path(path)
    if regen_golden:
        expected.write_text("\n".join(got) + "\n", encoding="utf-8")
        if IN_CI:
            pytest.fail("--regen-golden rewrites files: not in CI")
        pytest.skip(f"rewrote {expected.relative_to(DATA.parent)}: review it with git diff")
    assert expected.is_file(), f"{expected} is missing: run pytest {__file__} --regen-golden"
    want = expected.read_text(encoding="utf-8").splitlines()
    assert got == want, f"{path.name}: output differs from {expected.name} (see the diff above)"


def test_every_registered_source_has_golden_files() -> None:
    for source in SOURCES.values():
        files = [p for p in _inputs() if p.parent.name == source.name]
        assert files, f"no golden inputs under tests/data/{source.name}/"
        for p in files:
            assert _expected_path(p).is_file(), f"{p}: expected file missing"


# Values read off the inputs by hand: (file, record index) -> Event fields.
HAND_CHECKED: dict[tuple[str, int], dict[str, Any]] = {
    ("cloudtrail/s3_delivery.json", 0): {
        "time": "2026-01-12T09:15:31Z",
        "principal": "arn:aws:sts::314159265358:assumed-role/deploy-pipeline/ci-runner-4412",
        "operation": "AttachRolePolicy",
        "status": "success",
        "account": "314159265358",
    },
    ("cloudtrail/s3_delivery.json", 1): {
        "operation": "RunInstances",
        "status": "failure",
        "error_code": "Client.UnauthorizedOperation",
        "region": "eu-central-1",
        "src_ip": "203.0.113.19",
    },
    ("cloudtrail/firehose.jsonl", 0): {
        "time": "2026-01-12T22:41:09Z",
        "principal": "arn:aws:iam::314159265358:root",
        "operation": "ConsoleLogin",
        "status": "failure",
    },
    ("azure_activity/diagnostic_export.json", 0): {
        "time": "2026-01-13T14:02:11.4467132Z",
        "principal": "rui.santos@northwind.example",
        "operation": "MICROSOFT.STORAGE/STORAGEACCOUNTS/LISTKEYS/ACTION",
        "status": "success",
    },
    ("azure_activity/az_cli_list.json", 0): {
        "time": "2026-01-13T14:09:55.2197014Z",
        "principal": "rui.santos@northwind.example",
        "operation": "microsoft.insights/diagnosticSettings/delete",
        "src_ip": "198.51.100.72",
        "status": "success",
    },
    ("entra_audit/graph_directory_audits.json", 0): {
        "time": "2026-01-14T08:30:12.5531278Z",
        "principal": "li.wei@woodgrove.example",
        "operation": "Add service principal credentials",
        "status": "success",
    },
    ("entra_audit/graph_directory_audits.json", 1): {
        "operation": "Add member to role",
        "status": "failure",
    },
    ("entra_audit/diagnostic.jsonl", 0): {
        "time": "2026-01-14T09:02:44.187Z",
        "principal": "li.wei@woodgrove.example",
        "operation": "Consent to application",
    },
    ("entra_audit/sentinel_auditlogs.jsonl", 0): {
        "time": "2026-01-14T10:12:38.9Z",  # ActivityDateTime, not TimeGenerated (ingestion)
        "principal": "li.wei@woodgrove.example",
        "operation": "Delete conditional access policy",
        "service": "Conditional Access",
    },
    ("entra_signin/graph_signins.json", 0): {
        "time": "2026-01-14T06:40:17Z",
        "principal": "li.wei@woodgrove.example",
        "status": "success",
        "service": "Office 365 Exchange Online",
    },
    ("cloudtrail/eventbridge.json", 0): {
        "time": "2026-01-12T11:30:04Z",  # the record's eventTime, not the envelope's time
        "operation": "CreateLoginProfile",
        "principal": "arn:aws:iam::314159265358:user/j.moreau",
    },
    ("cloudtrail/damaged.jsonl", 1): {
        "operation": "DisableKey",
        "principal": None,  # userIdentity is a string: reported wrong_type, left empty
        "issues": ["wrong_type"],
    },
    ("cloudtrail/damaged.jsonl", 2): {
        "time": None,
        "operation": "ListKeys",
        "issues": ["bad_time"],
    },
    ("azure_activity/sentinel_azureactivity.jsonl", 0): {
        "time": "2026-01-13T15:19:02.551Z",
        "principal": "rui.santos@northwind.example",
        "operation": "MICROSOFT.COMPUTE/VIRTUALMACHINES/RUNCOMMAND/ACTION",
    },
    ("m365_audit/sentinel_officeactivity.jsonl", 0): {
        "time": "2026-01-16T11:02:31Z",
        "principal": "finance@tailspin.example",
        "operation": "New-InboxRule",
        "service": "Exchange",
    },
    ("cloudtrail/athena_export.jsonl", 0): {  # Athena lower-cases every key
        "time": "2026-01-12T13:14:15Z",
        "principal": "arn:aws:sts::314159265358:assumed-role/deploy-pipeline/ci-runner-4412",
        "operation": "GetSecretValue",
        "region": "eu-west-1",
    },
    ("gcp_audit/pubsub_push.json", 0): {  # the LogEntry is base64 inside message.data
        "time": "2026-01-15T17:02:45.338Z",
        "principal": "svc-sync@lab-analytics-5523.iam.gserviceaccount.com",
        "operation": "v1.compute.instances.setMetadata",
        "region": "europe-west4-a",
    },
    ("entra_signin/diagnostic.jsonl", 0): {
        "time": "2026-01-14T07:55:03.3395071Z",
        "principal": "li.wei@woodgrove.example",
        "status": "failure",
        "error_code": "50126",
        "src_ip": "203.0.113.150",
    },
    ("entra_signin/diagnostic.jsonl", 1): {
        "status": "success",
        "principal_type": "ServicePrincipal",
    },
    ("gcp_audit/storage_sink.jsonl", 0): {
        "time": "2026-01-15T16:20:31.740112Z",
        "principal": "ana.costa@contoso-lab.example",
        "operation": "SetIamPolicy",
        "status": "success",
        "account": "lab-analytics-5523",
    },
    ("gcp_audit/storage_sink.jsonl", 1): {
        "time": "2026-01-15T16:24:02Z",
        "principal": "svc-sync@lab-analytics-5523.iam.gserviceaccount.com",
        "principal_type": "ServiceAccount",
        "operation": "google.logging.v2.ConfigServiceV2.DeleteSink",
        "status": "failure",
        "error_code": "PERMISSION_DENIED",
    },
    ("m365_audit/management_api.json", 0): {
        "time": "2026-01-16T10:45:13Z",  # CreationTime carries no zone: UTC
        "principal": "it.admin@tailspin.example",
        "operation": "Set-Mailbox",
        "service": "Exchange",
        "status": "success",
    },
    ("m365_audit/management_api.json", 1): {
        "operation": "UserLoginFailed",
        "status": "failure",  # whatever ResultStatus says: the logon failed
    },
}


@pytest.mark.parametrize("key", sorted(HAND_CHECKED), ids=lambda k: f"{k[0]}#{k[1]}")
def test_golden_values_checked_by_hand(key: tuple[str, int]) -> None:
    rel, index = key
    expected = _expected_path(DATA / rel)
    assert expected.is_file(), f"{expected} is missing: run pytest --regen-golden"
    rows = [json.loads(line) for line in expected.read_text(encoding="utf-8").splitlines()]
    events = [r for r in rows if "issue" not in r]
    row = events[index]
    for name, value in HAND_CHECKED[key].items():
        assert row[name] == value, f"{rel} record {index}: {name}"


def test_golden_times_agree_with_their_epoch_nanoseconds() -> None:
    """`time` and `time_ns` of every golden event name the same instant (datetime as oracle)."""
    seen = 0
    for p in _inputs():
        for line in _expected_path(p).read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            if "issue" in row or row["time"] is None:
                continue
            whole, _, frac = row["time"].removesuffix("Z").partition(".")
            seconds = datetime.strptime(whole, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
            assert row["time_ns"] == int(seconds.timestamp()) * 10**9 + int(frac.ljust(9, "0")), row
            seen += 1
    assert seen >= 15
