"""Records the normalizer must question, operations that must not merge, sources that must not
stay silent (issue #9, points 9-11). Every case is built here, on the fly (from hand-written
records in the documented shapes or from real records of ../shared); the expectations come from
the formats' documentation, hand-written values or plain Python over the raw records, never
from trailhound's own output."""

from __future__ import annotations

import copy
import csv
import io
import json
import os
import re
import subprocess
import sys
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.test_m365_scan import ual as m365_ual
from tests.test_profiles_defects import azure_diag, ct
from trailhound.model import Location, RawRecord
from trailhound.normalize import normalize
from trailhound.pipeline import ScanResult, scan
from trailhound.profiles import get_profile
from trailhound.report.columns import row
from trailhound.rules.loader import load_pack, load_paths
from trailhound.rules.model import RuleSet
from trailhound.sources.reader import read_bytes

TENANT = "5b7e1f3a-0000-4000-8000-00000000a001"
# The one output format: RFC 3339 UTC, exactly three fraction digits (docs/profiles.md).
TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def detect(
    paths: list[Path], ruleset: RuleSet | None = None, profile: str = "corrected"
) -> tuple[list[dict[str, Any]], ScanResult]:
    p = get_profile(profile)
    res = scan([str(x) for x in paths], p, ruleset=ruleset)
    return [row(f, p) for f in res.findings], res


def with_pack(*rule_files: Path) -> RuleSet:
    """The corrected pack plus extra rules (what `--rules` gives)."""
    extra, problems = load_paths(list(rule_files))
    assert problems == []
    pack = load_pack("corrected")
    return RuleSet([*pack.rules, *extra.rules], pack.filters, pack.correlations)


# -- records in the documented shapes ---------------------------------------------------------


def entra_audit(op: str, when: str | None = "2026-03-14T11:04:51.2737420+00:00") -> dict[str, Any]:
    """Entra ID audit, diagnostic-settings shape (log-formats 3.3)."""
    props: dict[str, Any] = {
        "id": "Directory_0b3b5c2e-aaaa-4bbb-8ccc-000000000001",
        "category": "RoleManagement",
        "correlationId": "9f4c2b1a-0000-4000-8000-000000000001",
        "result": "success",
        "activityDisplayName": op,
        "loggedByService": "Core Directory",
        "operationType": "Assign",
        "initiatedBy": {"user": {"userPrincipalName": "eve@contoso.example", "ipAddress": "198.51.100.9"}},
        "targetResources": [{"id": "r1", "type": "Role", "displayName": "Global Administrator"}],
    }
    rec: dict[str, Any] = {
        "operationName": op,
        "category": "AuditLogs",
        "tenantId": TENANT,
        "resourceId": f"/tenants/{TENANT}/providers/Microsoft.aadiam",
        "properties": props,
    }
    if when is not None:
        rec["time"] = when
        props["activityDateTime"] = when
    return rec


def gcp_entry(method: str, when: str | None = "2024-12-03T17:58:44.882119699Z") -> dict[str, Any]:
    rec: dict[str, Any] = {
        "logName": "projects/p-1/logs/cloudaudit.googleapis.com%2Factivity",
        "insertId": "abc123",
        "resource": {"type": "project", "labels": {"project_id": "p-1"}},
        "protoPayload": {
            "@type": "type.googleapis.com/google.cloud.audit.AuditLog",
            "serviceName": "logging.googleapis.com",
            "methodName": method,
            "authenticationInfo": {"principalEmail": "eve@contoso.example"},
            "requestMetadata": {"callerIp": "192.0.2.45"},
        },
    }
    if when is not None:
        rec["timestamp"] = when
    return rec


def ual(op: str, params: list[tuple[str, str]] | None = None, **extra: Any) -> dict[str, Any]:
    """Microsoft 365 Unified Audit Log record, Management Activity API shape (Exchange admin)."""
    rec = m365_ual(1, op, **extra)  # CreationTime 2026-03-14T10:01:00
    if "Parameters" not in extra:
        rec["Parameters"] = [{"Name": k, "Value": v} for k, v in (params or [])]
    return rec


def aad(op: str, **extra: Any) -> dict[str, Any]:
    """A UAL record of the AzureActiveDirectory workload (RecordType 8)."""
    rec = ual(op, Workload="AzureActiveDirectory", RecordType=8, ResultStatus="Success", **extra)
    del rec["Parameters"]
    return rec


def signin(sid: str, category: str, upn: str, ip: str, when: str = "2026-03-14T09:00:00Z") -> dict[str, Any]:
    """Entra sign-in, diagnostic shape (the Graph signIn object under properties)."""
    return {
        "time": when,
        "category": category,
        "operationName": "Sign-in activity",
        "tenantId": TENANT,
        "resultType": "50126",
        "properties": {
            "id": sid,
            "createdDateTime": when,
            "userPrincipalName": upn,
            "ipAddress": ip,
            "appDisplayName": "Azure Portal",
            "status": {"errorCode": 50126, "failureReason": "Invalid username or password."},
        },
    }


# -- 1. required fields ------------------------------------------------------------------------

STOP = ct("StopLogging", "cloudtrail.amazonaws.com", 1)

MISSING_TIME = [
    ("cloudtrail", {k: v for k, v in STOP.items() if k != "eventTime"}, "eventTime", "StopLogging"),
    (
        "azure_activity",
        {k: v for k, v in azure_diag("Microsoft.Authorization/roleAssignments/write", 1).items() if k != "time"},
        "time",
        "Microsoft.Authorization/roleAssignments/write",
    ),
    ("entra_audit", entra_audit("Add member to role", when=None), "activityDateTime", "Add member to role"),
    ("gcp_audit", gcp_entry("google.logging.v2.ConfigServiceV2.DeleteSink", when=None), "timestamp",
     "google.logging.v2.ConfigServiceV2.DeleteSink"),
    ("m365_audit", {k: v for k, v in ual("Remove-ProtectionAlert").items() if k != "CreationTime"},
     "CreationTime", "Remove-ProtectionAlert"),
]


@pytest.mark.parametrize(("source", "bad", "field", "operation"), MISSING_TIME, ids=[c[0] for c in MISSING_TIME])
def test_missing_time_is_reported_and_the_finding_still_shown(
    tmp_path: Path, source: str, bad: dict[str, Any], field: str, operation: str
) -> None:
    quiet = ct("GetCallerIdentity", "sts.amazonaws.com", 9)  # line 1: complete, no rule matches
    f = jsonl(tmp_path / "in.jsonl", [quiet, bad])
    rows, res = detect([f])
    assert res.stats.records == 2
    issues = [i for i in res.stats.samples if i.kind == "missing_field"]
    assert len(issues) == 1 and res.stats.errors["missing_field"] == 1
    issue = issues[0]
    assert issue.location.path == str(f) and issue.location.line == 2
    assert field in issue.message
    assert "required time field" in issue.message and "check the exporter" in issue.message
    assert [(r["source"], r["eventName"] or r["operationName"], r["time"]) for r in rows] == [
        (source, operation, None)
    ]


def test_missing_event_name_is_reported_and_a_matching_rule_still_shows_it(tmp_path: Path) -> None:
    nameless = {k: v for k, v in ct("StopLogging", "cloudtrail.amazonaws.com", 2).items() if k != "eventName"}
    ok = ct("StopLogging", "cloudtrail.amazonaws.com", 3)
    trail = tmp_path / "111122223333_CloudTrail_us-east-1_20260314T1000Z_x.json"
    trail.write_text(json.dumps({"Records": [ok, nameless]}))
    rule = tmp_path / "from_attacker.yml"
    rule.write_text(
        "title: calls from the attacker address\nid: 5d0c1c9e-5a38-4b8e-9d55-3b0b9c8a7f10\n"
        "logsource: {product: aws, service: cloudtrail}\nlevel: high\n"
        "detection: {selection: {sourceIPAddress: 203.0.113.7}, condition: selection}\n"
    )
    rows, res = detect([trail], with_pack(rule))
    (issue,) = [i for i in res.stats.samples if i.kind == "missing_field"]
    assert issue.location.path == str(trail) and issue.location.pointer == "/Records/1"
    assert "'eventName'" in issue.message and "required event name field" in issue.message
    got = sorted((r["eventID"], r["eventName"]) for r in rows)
    assert got == sorted([(ok["eventID"], "StopLogging"), (nameless["eventID"], None)])


def test_cli_names_file_position_and_field_and_exits_3(tmp_path: Path) -> None:
    f = jsonl(tmp_path / "in.jsonl", [STOP, {k: v for k, v in STOP.items() if k != "eventTime"} | {"eventID": "e-2"}])
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.run(
        [sys.executable, "-m", "trailhound", "detect", "--engine", "reference", "--format", "jsonl", str(f)],
        capture_output=True, text=True, timeout=120, check=False, env=env,
    )
    assert proc.returncode == 3, proc.stderr
    assert f"{f}:2" in proc.stderr and "eventTime" in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stdout.splitlines()) == 2  # both StopLogging calls are findings


def test_us_style_entra_time_is_read_and_reported(tmp_path: Path) -> None:
    text = "11/14/2025 1:48:53 AM"
    rec = entra_audit("Add member to role", when=text)
    rows, res = detect([jsonl(tmp_path / "entra.jsonl", [rec])])
    (issue,) = res.stats.samples
    assert issue.kind == "nonstandard_time" and issue.location.path.endswith("entra.jsonl")
    assert "properties.activityDateTime" in issue.message
    assert "ISO-8601" in issue.message and text in issue.message
    # month first, as US exporters write it, and UTC like every Entra time
    want = datetime.strptime(text, "%m/%d/%Y %I:%M:%S %p").strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert [r["time"] for r in rows] == [want] == ["2025-11-14T01:48:53.000Z"]


def test_empty_string_time_is_unreadable_not_missing() -> None:
    data = STOP | {"eventTime": ""}
    _, issues = normalize(RawRecord(data, Location("t.json", line=1), "cloudtrail", "jsonl"))
    assert [i.kind for i in issues] == ["bad_time"]


# -- 2. one time format ------------------------------------------------------------------------

# (record, expected output time written by hand from the record's time text)
MIXED = [
    (ct("StopLogging", "cloudtrail.amazonaws.com", 1), "2026-03-14T10:00:01.000Z"),
    (azure_diag("Microsoft.Authorization/roleAssignments/write", 2), "2026-03-14T11:00:02.123Z"),
    (entra_audit("Add member to role"), "2026-03-14T11:04:51.273Z"),
    (entra_audit("Consent to application", when="2026-03-14T13:05:07.5+02:00"), "2026-03-14T11:05:07.500Z"),
    (gcp_entry("google.logging.v2.ConfigServiceV2.DeleteSink"), "2024-12-03T17:58:44.882Z"),
    (ual("Set-AdminAuditLogConfig", [("UnifiedAuditLogIngestionEnabled", "False")]), "2026-03-14T10:01:00.000Z"),
]


def mixed_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "mixed"
    folder.mkdir()
    for i, (rec, _) in enumerate(MIXED):
        jsonl(folder / f"{i}.jsonl", [rec])
    return folder


def cli_rows(folder: Path, engine: str, fmt: str) -> list[dict[str, Any]]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.run(
        [sys.executable, "-m", "trailhound", "detect", "--engine", engine, "--format", fmt, "--quiet", str(folder)],
        capture_output=True, text=True, timeout=600, check=False, env=env,
    )
    assert proc.returncode == 0, proc.stderr
    if fmt == "jsonl":
        return [json.loads(x) for x in proc.stdout.splitlines()]
    return list(csv.DictReader(io.StringIO(proc.stdout)))


def check_times(rows: list[dict[str, Any]]) -> None:
    assert all(TIME.fullmatch(r["time"]) for r in rows), [r["time"] for r in rows]
    assert sorted(r["time"] for r in rows) == sorted(t for _, t in MIXED)


@pytest.mark.parametrize("engine", ["reference", "parallel", "fast"])
@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_one_time_format_in_every_row(tmp_path: Path, engine: str, fmt: str) -> None:
    check_times(cli_rows(mixed_folder(tmp_path), engine, fmt))


def test_seed_profile_time_is_in_the_same_format(tmp_path: Path) -> None:
    rows, _ = detect([jsonl(tmp_path / "c.jsonl", [ct("StopLogging", "cloudtrail.amazonaws.com", 4)])], profile="seed")
    assert [r["time"] for r in rows] == ["2026-03-14T10:00:04.000Z"]
    assert rows[0]["eventName"] == "StopLogging"  # raw fields stay as the query extracts them


# -- 3. one finding per operation --------------------------------------------------------------


def plaso_azure(external: Path) -> list[dict[str, Any]]:
    text = (external / "plaso/jsonl/azure_activity_log.jsonl").read_text()
    return [json.loads(x) for x in text.splitlines()]


def vm_write(external: Path) -> dict[str, Any]:
    """The real Started record of a VM write from one ARM deployment (plaso's sample)."""
    (rec,) = [r for r in plaso_azure(external) if r["operation_name"]["value"] == "Microsoft.Compute/virtualMachines/write"]
    return rec


def sdk_copy(rec: dict[str, Any], n: int, **changes: Any) -> dict[str, Any]:
    out = copy.deepcopy(rec)
    out["event_data_id"] = f"{n:08d}-0000-4000-8000-000000000000"
    out.update(changes)
    return out


def status(word: str) -> dict[str, str]:
    return {"value": word, "localized_value": word}


def shifted(text: str, **delta: float) -> str:
    t = datetime.fromisoformat(text) + timedelta(**delta)
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def operations(records: list[dict[str, Any]]) -> Counter[tuple[str, str, str, str]]:
    """Independent expectation: one operation per (correlation, operation, resource, caller)
    within one UTC day, all compared case-insensitively as Azure says to."""
    return Counter(
        (r["correlation_id"], r["operation_name"]["value"].lower(), r["resource_id"].lower(), r["event_timestamp"][:10])
        for r in records
    )


def test_one_deployment_writing_several_resources_stays_several_findings(tmp_path: Path, external: Path) -> None:
    real = vm_write(external)
    base = real["resource_id"].rsplit("/", 1)[0]
    deployment = [
        sdk_copy(real, i, resource_id=f"{base}/{name}", status=status("Succeeded"))
        for i, name in enumerate(["test-vm", "web-vm-2", "web-vm-3"], 1)
    ]
    assert len({r["correlation_id"] for r in deployment}) == 1  # one deployment
    rows, res = detect([jsonl(tmp_path / "deploy.jsonl", deployment)])
    assert res.stats.error_count == 0
    expected = operations(deployment)
    assert len(rows) == len(expected) == 3
    assert sorted(r["records"] for r in rows) == sorted(expected.values())


def test_started_accepted_succeeded_of_one_write_collapse(tmp_path: Path, external: Path) -> None:
    started = vm_write(external)  # real, status Started
    t0 = started["event_timestamp"]
    accepted = sdk_copy(started, 2, status=status("Accepted"), event_timestamp=shifted(t0, seconds=2))
    done = sdk_copy(started, 3, status=status("Succeeded"), event_timestamp=shifted(t0, minutes=3))
    # Azure's casing drifts between the records of one operation (log-formats pitfall 3)
    done["resource_id"] = done["resource_id"].upper()
    records = [started, accepted, done]
    rows, _ = detect([jsonl(tmp_path / "op.jsonl", records)])
    assert len(operations(records)) == 1
    assert [(r["records"], r["outcome"]) for r in rows] == [(3, "success")]  # the final record wins


def test_one_correlation_id_years_apart_is_two_operations(tmp_path: Path, external: Path) -> None:
    first = sdk_copy(vm_write(external), 1, status=status("Succeeded"))
    later = sdk_copy(first, 2, event_timestamp=shifted(first["event_timestamp"], days=730))
    rows, _ = detect([jsonl(tmp_path / "years.jsonl", [first, later])])
    assert len(operations([first, later])) == 2
    assert sorted((r["time"][:4], r["records"]) for r in rows) == [("2022", 1), ("2024", 1)]


def test_cloudtrail_one_event_id_other_identity_is_not_a_copy(tmp_path: Path) -> None:
    mallory = ct("StopLogging", "cloudtrail.amazonaws.com", 5)
    again = copy.deepcopy(mallory)  # a second delivery: every field the same
    trudy = copy.deepcopy(mallory)
    trudy["userIdentity"] = mallory["userIdentity"] | {
        "arn": "arn:aws:iam::111122223333:user/trudy", "userName": "trudy", "principalId": "AIDATRUDY"}
    rows, _ = detect([jsonl(tmp_path / "ct.jsonl", [mallory, again, trudy])])
    assert len({r["eventID"] for r in rows}) == 1
    assert sorted((r["userArn"], r["records"]) for r in rows) == [
        ("arn:aws:iam::111122223333:user/mallory", 2),
        ("arn:aws:iam::111122223333:user/trudy", 1),
    ]


def test_sign_ins_sharing_an_id_across_categories_and_ips(tmp_path: Path) -> None:
    rule = tmp_path / "failed_signin.yml"
    rule.write_text(
        "title: failed password sign-in\nid: 0f3a8d7e-2b1c-4d5e-9f60-718293a4b5c6\n"
        "logsource: {product: azure, service: signinlogs}\nlevel: medium\n"
        "detection: {selection: {ResultType: 50126}, condition: selection}\n"
    )
    records = [
        signin("s-1", "SignInLogs", "ann@contoso.example", "198.51.100.1"),
        # the same sign-in filed under another category: one event
        signin("s-1", "NonInteractiveUserSignInLogs", "ann@contoso.example", "198.51.100.1"),
        signin("s-1", "NonInteractiveUserSignInLogs", "ann@contoso.example", "198.51.100.2"),  # other IP
        signin("s-1", "SignInLogs", "bob@contoso.example", "198.51.100.1"),  # other user
    ]
    rows, res = detect([jsonl(tmp_path / "signin.jsonl", records)], with_pack(rule))
    assert res.stats.error_count == 0
    expected = Counter((r["properties"]["id"], r["properties"]["userPrincipalName"], r["properties"]["ipAddress"]) for r in records)
    got = Counter({(r["eventID"], r["userArn"], r["sourceIP"]): r["records"] for r in rows})
    assert got == expected


# -- 4. Microsoft 365 and AD FS are not silent --------------------------------------------------

M365_CASES = [
    # (record, the signals the corrected pack must raise), written from the cmdlets' meaning
    (ual("Set-AdminAuditLogConfig", [("UnifiedAuditLogIngestionEnabled", "False")]), {"security_disable"}),
    (ual("Set-AdminAuditLogConfig", [("AdminAuditLogEnabled", "False")]), {"security_disable"}),
    (ual("Set-AdminAuditLogConfig", [("UnifiedAuditLogIngestionEnabled", "True")]), set()),
    (ual("Set-MailboxAuditBypassAssociation", [("Identity", "svc@contoso.example"), ("AuditBypassEnabled", "True")]),
     {"security_disable"}),
    (ual("Set-MailboxAuditBypassAssociation", [("Identity", "svc@contoso.example"), ("AuditBypassEnabled", "False")]),
     set()),
    (ual("Set-Mailbox", [("Identity", "cfo@contoso.example"), ("AuditEnabled", "False")]), {"security_disable"}),
    (ual("Set-Mailbox", [("Identity", "cfo@contoso.example"), ("ProhibitSendQuota", "49 GB")]), set()),
    (ual("Remove-DlpCompliancePolicy", [("Identity", "PCI")]), {"security_disable"}),
    (ual("Remove-ProtectionAlert", [("Identity", "Forwarding rule created")]), {"security_disable"}),
    (aad("Delete conditional access policy."), {"security_disable"}),
    (aad("Add user."), {"iam_change"}),
    (aad("Add service principal credentials."), {"iam_change"}),
    (aad("Update application \u2013 Certificates and secrets management "), {"iam_change"}),
    (aad("Update user."), set()),
    (aad("Add member to role."), {"priv_esc"}),
    (aad("Consent to application."), {"priv_esc"}),
    (ual("Add-MailboxPermission", [("Identity", "cfo@contoso.example"), ("User", "eve@contoso.example"),
                                   ("AccessRights", "FullAccess")]), {"priv_esc"}),
    (ual("Add-MailboxPermission", [("Identity", "cfo@contoso.example"), ("AccessRights", "ReadPermission")]), set()),
    (ual("Add-RecipientPermission", [("Identity", "cfo@contoso.example"), ("AccessRights", "SendAs")]), {"priv_esc"}),
    (ual("Add-RoleGroupMember", [("Identity", "Organization Management"), ("Member", "eve")]), {"priv_esc"}),
    (ual("MailItemsAccessed", RecordType=50, ResultStatus="Succeeded"), set()),
]


def test_m365_records_give_the_seed_signals(tmp_path: Path) -> None:
    records = [rec | {"Id": f"00000000-0000-4000-8000-{i:012d}"} for i, (rec, _) in enumerate(M365_CASES)]
    rows, res = detect([jsonl(tmp_path / "ual.jsonl", records)])
    assert res.stats.error_count == 0, [str(i) for i in res.stats.samples]
    got = {r["eventID"]: {s["signal"] for s in r["signals"] if not s["context"]} for r in rows}
    want = {records[i]["Id"]: sig for i, (_, sig) in enumerate(M365_CASES) if sig}
    assert got == want
    weights = {"security_disable": 3, "iam_change": 2, "priv_esc": 2}  # the flagship's weights
    for r in rows:
        assert r["suspicion_score"] == sum(weights[s] for s in got[r["eventID"]])
        assert all(any(t.startswith("attack.t") for t in s["tags"]) for s in r["signals"])
        assert {s["author"] for s in r["signals"]} == {"trailhound"}


def test_m365_failed_cmdlet_keeps_its_signal_at_a_lower_score(tmp_path: Path) -> None:
    rec = ual("Add-MailboxPermission", [("AccessRights", "FullAccess")], ResultStatus="False")
    (r,), _ = detect([jsonl(tmp_path / "f.jsonl", [rec])])
    assert (r["priv_esc"], r["suspicion_score"], r["outcome"]) == (1, 1.5, "failure")


def test_m365_sentinel_row_and_real_benign_record(tmp_path: Path, external: Path) -> None:
    # Sentinel OfficeActivity keeps Parameters as JSON text
    office = ual("Set-AdminAuditLogConfig", Parameters=json.dumps(
        [{"Name": "UnifiedAuditLogIngestionEnabled", "Value": "False"}]))
    office = {("OfficeWorkload" if k == "Workload" else k): v for k, v in office.items()} | {"Type": "OfficeActivity"}
    # plaso's real Set-AdminAuditLogConfig: a system process switching admin auditing ON
    (real,) = [json.loads(x) for x in (external / "plaso/jsonl/microsoft_audit_log.jsonl").read_text().splitlines()
               if json.loads(x)["Operation"] == "Set-AdminAuditLogConfig"]
    assert {"Name": "AdminAuditLogEnabled", "Value": "True"} in real["Parameters"]
    rows, res = detect([jsonl(tmp_path / "o.jsonl", [office, real])])
    assert res.stats.error_count == 0
    assert [(r["eventID"], r["security_disable"]) for r in rows] == [(office["Id"], 1)]


def adfs_records() -> list[dict[str, Any]]:
    diag = signin("adfs-1", "ADFSSignInLogs", "ann@contoso.example", "198.51.100.7")
    sentinel = {  # Log Analytics ADFSSignInLogs columns
        "Type": "ADFSSignInLogs", "TenantId": TENANT, "TimeGenerated": "2026-03-14T09:05:00Z",
        "CreatedDateTime": "2026-03-14T09:05:00Z", "Id": "adfs-2", "Category": "ADFSSignInLogs",
        "OperationName": "Sign-in activity", "UserPrincipalName": "bob@contoso.example",
        "IPAddress": "198.51.100.8", "ResultType": "0", "ResourceDisplayName": "Contoso Portal",
    }
    return [diag, sentinel]


def test_adfs_sign_ins_are_read_not_skipped(tmp_path: Path) -> None:
    recs = adfs_records()
    data = "".join(json.dumps(r) + "\n" for r in recs).encode()
    items = list(read_bytes(data, "adfs.jsonl", True))
    assert [getattr(i, "source", None) for i in items] == ["entra_signin", "entra_signin"]
    events = [normalize(i)[0] for i in items if isinstance(i, RawRecord)]
    assert [(e.principal, e.src_ip, e.event_id) for e in events] == [
        ("ann@contoso.example", "198.51.100.7", "adfs-1"),
        ("bob@contoso.example", "198.51.100.8", "adfs-2"),
    ]
    _, res = detect([jsonl(tmp_path / "adfs.jsonl", recs)])
    assert res.stats.events == 2 and not res.stats.skipped and res.stats.error_count == 0

