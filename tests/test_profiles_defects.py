"""One test per defect listed in docs/seed-detection.md: the `seed` and `corrected` profiles
differ exactly there. Records are hand-written in the real export shapes."""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from trailhound.pipeline import ScanResult, scan
from trailhound.profiles import get_profile
from trailhound.report.columns import COLUMNS, SEED_COLUMNS, row

T0 = "2026-03-14T10:00:00Z"


def ct(event_name: str, source: str = "iam.amazonaws.com", n: int = 0, **extra: Any) -> dict[str, Any]:
    rec = {
        "eventVersion": "1.08",
        "userIdentity": {
            "type": "IAMUser",
            "principalId": "AIDAEXAMPLE",
            "arn": "arn:aws:iam::111122223333:user/mallory",
            "accountId": "111122223333",
            "accessKeyId": "AKIAEXAMPLE",
            "userName": "mallory",
        },
        "eventTime": f"2026-03-14T10:00:{n:02d}Z",
        "eventSource": source,
        "eventName": event_name,
        "awsRegion": "us-east-1",
        "sourceIPAddress": "203.0.113.7",
        "userAgent": "aws-cli/2.15.0",
        "requestParameters": None,
        "responseElements": None,
        "eventID": f"00000000-0000-4000-8000-{n:012d}",
        "readOnly": False,
        "eventType": "AwsApiCall",
        "recipientAccountId": "111122223333",
    }
    rec.update(extra)
    return rec


def azure_diag(op: str, n: int = 0, result: str = "Success") -> dict[str, Any]:
    return {
        "time": f"2026-03-14T11:00:{n:02d}.1234567Z",
        "resourceId": "/SUBSCRIPTIONS/0F1E2D3C-0000-4000-8000-000000000001/RESOURCEGROUPS/PROD/PROVIDERS/MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/ABC",
        "operationName": op,
        "category": "Administrative",
        "resultType": result,
        "resultSignature": "Succeeded.Created",
        "callerIpAddress": "198.51.100.9",
        "correlationId": f"c0ffee00-0000-4000-8000-{n:012d}",
        "identity": {"claims": {"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn": "eve@example.com"}},
        "level": "Information",
        "properties": {"statusCode": "Created"},
    }


def run(tmp_path: Path, records: list[dict[str, Any]], profile: str, name: str = "in.jsonl") -> tuple[list[dict[str, Any]], ScanResult]:
    f = tmp_path / name
    f.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    p = get_profile(profile)
    res = scan([str(f)], p)
    return [row(x, p) for x in res.findings], res


def names(rows: list[dict[str, Any]]) -> list[str]:
    return [r["eventName"] or r["operationName"] for r in rows]


def both(tmp_path: Path, records: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    seed, res_s = run(tmp_path, records, "seed")
    corr, res_c = run(tmp_path, records, "corrected")
    assert res_s.stats.error_count == 0 and res_c.stats.error_count == 0
    return seed, corr


# -- defect 1 and 12: the runnable query text --------------------------------------------------

def seed_query() -> str:
    return (resources.files("trailhound.rules") / "packs" / "seed" / "seed_query.sumo").read_text()


def test_defect_01_runnable_query_uses_sumo_operators_not_spl() -> None:
    ops = [re.match(r"\s*(\w+)", p).group(1) for p in seed_query().split("\n|")[1:]]  # type: ignore[union-attr]
    assert "eval" not in ops and "table" not in ops  # the page's SPL words
    assert set(ops) <= {"json", "where", "if", "iam_change", "sort", "fields"}
    assert sum(1 for p in seed_query().split("\n|") if re.match(r"\s*if\(.*\), 1, 0\) as \w+$", p.strip())) == 4


def test_defect_01_seed_pack_is_the_query_transcribed() -> None:
    """The four seed rules carry exactly the query's name lists and weights."""
    text = seed_query()
    lists = {
        flag: re.findall(r'"(\w+)"', body)
        for body, flag in re.findall(r"if\(eventName in \(([^)]*)\), 1, 0\) as (\w+)", text)
    }
    weights = {f: int(w) for f, w in re.findall(r"(\w+) \* (\d)", text)}
    weights["compute_create"] = 1
    pack = resources.files("trailhound.rules") / "packs" / "seed"
    got = {}
    for f in pack.iterdir():
        if f.name.endswith(".yml"):
            d = yaml.safe_load(f.read_text())
            got[d["signal"]] = (d["detection"]["selection"]["eventName|cased"], d["weight"])
    assert got == {flag: (lists[flag], weights[flag]) for flag in lists}


def test_defect_12_column_order_fixed_in_both_profiles(tmp_path: Path) -> None:
    fields_line = seed_query().strip().splitlines()[-1]
    assert fields_line.startswith("| fields ")  # Sumo's `fields` comes last
    cols = [c.strip() for c in fields_line[len("| fields "):].split(",")]
    assert ["time" if c == "_messageTime" else c for c in cols] == list(SEED_COLUMNS)
    seed, corr = both(tmp_path, [ct("CreateUser")])
    assert list(seed[0]) == list(corr[0]) == list(COLUMNS)


# -- defects 2, 3: Azure rows ------------------------------------------------------------------

def test_defect_02_azure_rows_never_scored_by_seed(tmp_path: Path) -> None:
    seed, corr = both(tmp_path, [azure_diag("Microsoft.Authorization/roleAssignments/write")])
    assert seed == []
    assert [(r["provider"], r["priv_esc"], r["suspicion_score"]) for r in corr] == [("azure", 1, 2)]


def test_defect_03_operation_case_and_object_shape(tmp_path: Path) -> None:
    rest = {
        "eventTimestamp": "2026-03-14T11:05:00.5Z",
        "operationName": {"value": "Microsoft.Authorization/roleDefinitions/write", "localizedValue": "Create role definition"},
        "status": {"value": "Succeeded"},
        "caller": "eve@example.com",
        "eventDataId": "e0000000-0000-4000-8000-000000000001",
        "subscriptionId": "0f1e2d3c-0000-4000-8000-000000000001",
        "resourceId": "/subscriptions/0f1e2d3c-0000-4000-8000-000000000001/providers/Microsoft.Authorization/roleDefinitions/x",
        "category": {"value": "Administrative"},
    }
    records = [azure_diag("MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/WRITE"), azure_diag("microsoft.compute/virtualmachines/write", 1), rest]
    seed, corr = both(tmp_path, records)
    assert seed == []
    assert sorted((r["operationName"], r["suspicion_score"]) for r in corr) == [
        ("MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/WRITE", 2),
        ("Microsoft.Authorization/roleDefinitions/write", 2),
        ("microsoft.compute/virtualmachines/write", 1),
    ]


# -- defect 4: Entra phrases -------------------------------------------------------------------

def test_defect_04_entra_audit_phrases(tmp_path: Path) -> None:
    entra = {
        "time": "2026-03-14T12:00:00.0000000Z",
        "resourceId": "/tenants/aaaaaaaa-0000-4000-8000-000000000001/providers/Microsoft.aadiam",
        "operationName": "Add member to group",
        "operationVersion": "1.0",
        "category": "AuditLogs",
        "tenantId": "aaaaaaaa-0000-4000-8000-000000000001",
        "resultSignature": "None",
        "durationMs": 0,
        "correlationId": "c0000000-0000-4000-8000-000000000004",
        "identity": "Managed Service Identity",
        "Level": 4,
        "properties": {
            "id": "Directory_c0000000_1",
            "category": "GroupManagement",
            "correlationId": "c0000000-0000-4000-8000-000000000004",
            "result": "success",
            "resultReason": "",
            "activityDisplayName": "Add member to group",
            "activityDateTime": "2026-03-14T12:00:00.1234567+00:00",
            "loggedByService": "Core Directory",
            "operationType": "Assign",
            "initiatedBy": {"user": {"id": "u1", "userPrincipalName": "eve@example.com", "ipAddress": "198.51.100.9"}},
            "targetResources": [{"id": "g1", "displayName": "Domain Admins", "type": "Group"}],
            "additionalDetails": [],
        },
    }
    seed, corr = both(tmp_path, [entra])
    assert seed == []
    assert [(r["provider"], r["operationName"], r["iam_change"]) for r in corr] == [("azure", "Add member to group", 1)]


# -- defects 5-11: AWS names -------------------------------------------------------------------

def test_defect_05_six_filtered_names_never_shown_by_seed(tmp_path: Path) -> None:
    records = [
        ct("GetSessionToken", "sts.amazonaws.com", 1),
        ct("PutBucketPolicy", "s3.amazonaws.com", 2),
        ct("DeleteBucketPolicy", "s3.amazonaws.com", 3),
        ct("CreateKeyPair", "ec2.amazonaws.com", 4),
        ct("CreateGroup", "iam.amazonaws.com", 5),
        ct("AddMemberToGroup", "iam.amazonaws.com", 6),
    ]
    seed, corr = both(tmp_path, records)
    assert seed == []
    # AddMemberToGroup stays unscored on purpose: it is not an AWS API (defect 7).
    assert sorted(names(corr)) == ["CreateGroup", "CreateKeyPair", "DeleteBucketPolicy", "GetSessionToken", "PutBucketPolicy"]


def test_defect_06_attach_user_policy_counted_once(tmp_path: Path) -> None:
    seed, corr = both(tmp_path, [ct("AttachUserPolicy")])
    assert [(r["iam_change"], r["priv_esc"], r["suspicion_score"]) for r in seed] == [(1, 1, 4)]
    assert [(r["iam_change"], r["priv_esc"], r["suspicion_score"]) for r in corr] == [(0, 1, 2)]


def test_defect_07_real_api_names(tmp_path: Path) -> None:
    records = [
        ct("AddUserToGroup", "iam.amazonaws.com", 1),
        ct("DisableGuardDuty", "guardduty.amazonaws.com", 2),
        ct("UpdateDetector", "guardduty.amazonaws.com", 3, requestParameters={"detectorId": "d1", "enable": False}),
        ct("UpdateDetector", "guardduty.amazonaws.com", 4, requestParameters={"detectorId": "d1", "findingPublishingFrequency": "SIX_HOURS"}),
    ]
    seed, corr = both(tmp_path, records)
    assert [(r["eventName"], r["suspicion_score"]) for r in seed] == [("DisableGuardDuty", 3)]
    assert [(r["eventName"], r["eventID"][-1], r["suspicion_score"]) for r in corr] == [
        ("UpdateDetector", "3", 3),
        ("AddUserToGroup", "1", 2),
    ]


def test_defect_08_lambda_version_suffixes(tmp_path: Path) -> None:
    records = [
        ct("CreateFunction20150331", "lambda.amazonaws.com", 1),
        ct("UpdateFunctionCode20150331v2", "lambda.amazonaws.com", 2),
        ct("CreateFunctionUrlConfig20211031", "lambda.amazonaws.com", 3),
    ]
    seed, corr = both(tmp_path, records)
    assert seed == []
    assert names(corr) == ["CreateFunction20150331", "UpdateFunctionCode20150331v2"]


def test_defect_09_failed_calls_weighted_lower_and_shown_with_outcome(tmp_path: Path) -> None:
    records = [
        ct("StopLogging", "cloudtrail.amazonaws.com", 1, errorCode="AccessDenied", errorMessage="User: x is not authorized"),
        ct("StopLogging", "cloudtrail.amazonaws.com", 2),
        ct("RunInstances", "ec2.amazonaws.com", 3, errorCode="Client.UnauthorizedOperation"),
    ]
    seed, corr = both(tmp_path, records)
    assert [(r["eventID"][-1], r["suspicion_score"]) for r in seed] == [("1", 3), ("2", 3), ("3", 1)]
    assert [(r["eventID"][-1], r["suspicion_score"], r["outcome"]) for r in corr] == [
        ("2", 3, "success"),
        ("1", 2.5, "failure"),
        ("3", 0.5, "failure"),
    ]
    failed = corr[1]["signals"]
    assert [s["context"] for s in failed] == [True, False] or [s["context"] for s in failed] == [False, True]


def test_defect_10_aws_service_principals_allowlisted_visibly(tmp_path: Path) -> None:
    svc = ct("AssumeRole", "sts.amazonaws.com", 1, userIdentity={"type": "AWSService", "invokedBy": "lambda.amazonaws.com"}, sourceIPAddress="lambda.amazonaws.com")
    human = ct("AssumeRole", "sts.amazonaws.com", 2)
    seed, res_s = run(tmp_path, [svc, human], "seed")
    corr, res_c = run(tmp_path, [svc, human], "corrected")
    assert [r["eventID"][-1] for r in seed] == ["1", "2"]
    assert [r["eventID"][-1] for r in corr] == ["2"]
    # The removal is reported, by the filter's title, not hidden.
    assert dict(res_c.stats.suppressed) == {"Allowlist: AWS services acting for themselves": 1}
    assert not res_s.stats.suppressed


def test_defect_11_close_relatives(tmp_path: Path) -> None:
    records = [
        ct("UpdateTrail", "cloudtrail.amazonaws.com", 1),
        ct("AttachRolePolicy", "iam.amazonaws.com", 2),
        ct("PutUserPolicy", "iam.amazonaws.com", 3),
        ct("PutRolePolicy", "iam.amazonaws.com", 4),
        ct("UpdateDetector", "guardduty.amazonaws.com", 5, requestParameters={"detectorId": "d", "enable": False}),
    ]
    seed, corr = both(tmp_path, records)
    assert seed == []
    assert [(r["eventName"], r["suspicion_score"]) for r in corr] == [
        ("UpdateTrail", 3),
        ("UpdateDetector", 3),
        ("AttachRolePolicy", 2),
        ("PutUserPolicy", 2),
        ("PutRolePolicy", 2),
    ]


# -- defect 13: source category ----------------------------------------------------------------

def test_defect_13_source_category_is_exact_in_seed_only(tmp_path: Path) -> None:
    rec = ct("StopLogging", "cloudtrail.amazonaws.com", 1)
    rows = [
        {"_messageTime": 1773482401000, "_sourceCategory": "prod/aws/cloudtrail", "_raw": json.dumps(rec)},
        {"_messageTime": 1773482401000, "_sourceCategory": "aws/cloudtrail", "_raw": json.dumps(ct("DeleteTrail", "cloudtrail.amazonaws.com", 2))},
    ]
    seed, res = run(tmp_path, rows, "seed", "sumo_export.json")
    corr, _ = run(tmp_path, rows, "corrected", "sumo_export.json")
    assert names(seed) == ["DeleteTrail"] and res.stats.not_admitted == 1
    assert names(corr) == ["StopLogging", "DeleteTrail"]
