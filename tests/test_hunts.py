"""Each shipped hunt over a small fixture of positive and negative cases; expected rows come from
the plain-Python oracles of tests/hunt_fixtures.py over the raw records."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from tests.hunt_fixtures import (
    ACCT,
    OTHER,
    THIRD,
    Rec,
    at,
    ct,
    iso,
    oracle_access_key_for_other_user,
    oracle_assume_role_cross_account,
    oracle_enumeration_bursts,
    oracle_failed_then_succeeded,
    oracle_new_source,
    oracle_recon_then_tampering,
    oracle_recon_without_tampering,
    parse,
    role,
    root,
    shown,
    user,
    write_jsonl,
    write_trail,
)
from trailhound.hunts.registry import hunts
from trailhound.hunts.run import run_hunt
from trailhound.profiles import get_profile

CT, IAM, GD, STS = (
    "cloudtrail.amazonaws.com",
    "iam.amazonaws.com",
    "guardduty.amazonaws.com",
    "sts.amazonaws.com",
)


def hunt_rows(name: str, *paths: Path) -> list[dict[str, Any]]:
    with run_hunt(
        hunts().get(name), [str(p) for p in paths], get_profile("corrected"), shipped=True
    ) as run:
        rows = list(run.rows)
        assert run.stats.error_count == 0, run.stats.samples
    return rows


def test_recon_without_tampering(tmp_path: Path) -> None:
    alice, bob, carol, dave, erin, frank = (
        user(n) for n in ("alice", "bob", "carol", "dave", "erin", "frank")
    )
    recs = [
        # alice: 4 recon calls in 8 minutes, never tampers -> listed
        ct("GetTrailStatus", CT, at(0), alice),
        ct("DescribeTrails", CT, at(2), alice),
        ct("ListUsers", IAM, at(5), alice),
        ct("ListUsers", IAM, at(8), alice),
        ct("ListUsers", IAM, at(30), alice),  # outside the burst
        # bob: a burst, then StopLogging 20 minutes later -> not listed
        ct("GetTrailStatus", CT, at(0), bob),
        ct("DescribeTrails", CT, at(1), bob),
        ct("ListRoles", IAM, at(4), bob),
        ct("StopLogging", CT, at(24), bob),
        # carol: 3 calls, never 3 within 10 minutes -> not listed
        ct("GetTrailStatus", CT, at(0), carol),
        ct("DescribeTrails", CT, at(6), carol),
        ct("ListUsers", IAM, at(12), carol),
        # dave: ListUsers of Cognito is not IAM recon -> 2 calls only
        ct("GetTrailStatus", CT, at(0), dave),
        ct("DescribeTrails", CT, at(1), dave),
        ct("ListUsers", "cognito-idp.amazonaws.com", at(2), dave),
        # erin: tampered before her burst, not after -> listed
        ct("DeleteDetector", GD, at(-30), erin),
        ct("GetDetector", GD, at(0), erin, ip="198.51.100.7"),
        ct("GetAccountAuthorizationDetails", IAM, at(1), erin),
        ct("ListUsers", IAM, at(1.5), erin),
        # frank: ListBuckets is not in the recon list
        *(ct("ListBuckets", "s3.amazonaws.com", at(i), frank) for i in range(5)),
    ]
    rows = hunt_rows("recon_without_tampering", write_trail(tmp_path / "t.json", recs))
    got = {
        (r["principal"], r["burst_start"], r["burst_end"], r["calls"], tuple(r["operations"]))
        for r in rows
    }
    expected = oracle_recon_without_tampering(recs)
    assert got == expected
    assert {p.rsplit("/", 1)[1] for p, *_ in expected} == {"alice", "erin"}  # the fixture's intent
    erin_row = next(r for r in rows if r["principal"].endswith("/erin"))
    assert erin_row["source_ips"] == ["198.51.100.7", "203.0.113.10"]


def test_recon_then_tampering(tmp_path: Path) -> None:
    bob, gina, hank, ivan, alice = (user(n) for n in ("bob", "gina", "hank", "ivan", "alice"))
    recs = [
        ct("GetTrailStatus", CT, at(0), bob),
        ct("DescribeTrails", CT, at(1), bob),
        ct("StopLogging", CT, at(20), bob),  # -> listed, 2 recon calls
        ct("DescribeTrails", CT, at(0), gina),
        ct("DeleteTrail", CT, at(120), gina),  # recon 2 hours before: not listed
        ct("GetTrailStatus", CT, at(0), alice),
        ct("UpdateTrail", CT, at(5), hank),  # someone else's recon: not listed
        ct("GetDetector", GD, at(10), ivan),
        ct("DeleteDetector", GD, at(15), ivan, error="AccessDenied"),  # failed attempt: listed
        ct("ListBuckets", "s3.amazonaws.com", at(10), hank),
    ]
    rows = hunt_rows("recon_then_tampering", write_trail(tmp_path / "t.json", recs))
    got = {
        (r["principal"], r["tamper_time"], r["tamper_operation"], r["status"], r["recon_calls"],
         tuple(r["recon_operations"]))
        for r in rows
    }
    expected = oracle_recon_then_tampering(recs)
    assert got == expected
    assert len(expected) == 2
    assert next(r for r in rows if r["tamper_operation"] == "DeleteDetector")["error_code"] == "AccessDenied"


def test_new_source_for_principal(tmp_path: Path) -> None:
    jack, kate = user("jack"), user("kate")
    usual = "aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64"
    odd = "python-requests/2.31.0"
    recs = [
        ct("ListBuckets", "s3.amazonaws.com", at(0), jack, ip="198.51.100.1", ua=usual),
        ct("DescribeInstances", "ec2.amazonaws.com", at(30), jack, ip="198.51.100.2", ua=usual),
        ct("ListBuckets", "s3.amazonaws.com", at(180), jack, ip="203.0.113.66", ua=odd),
        ct("GetObject", "s3.amazonaws.com", at(200), jack, ip="203.0.113.66", ua=odd),
        ct("ListBuckets", "s3.amazonaws.com", at(240), jack, ip="198.51.100.1", ua=usual),
        ct("Decrypt", "kms.amazonaws.com", at(300), jack, ip="AWS Internal", ua="AWS Internal"),
        ct("Decrypt", "kms.amazonaws.com", at(310), jack, ip="lambda.amazonaws.com", ua="lambda.amazonaws.com"),
        ct("ListBuckets", "s3.amazonaws.com", at(400), kate, ip="192.0.2.9"),
    ]
    rows = hunt_rows("new_source_for_principal", write_trail(tmp_path / "t.json", recs))
    got = {
        (r["principal"], r["kind"], r["value"], r["first_seen"], r["last_seen"], r["events"])
        for r in rows
    }
    expected = oracle_new_source(recs)
    assert got == expected
    assert {(k, v) for _, k, v, *_ in expected} == {("source_ip", "203.0.113.66"), ("user_agent", odd)}


def test_access_key_for_other_user(tmp_path: Path) -> None:
    alice = user("alice")
    recs = [
        ct("CreateAccessKey", IAM, at(0), alice, request={"userName": "alice"},
           response={"accessKey": {"accessKeyId": "AKIAOWN00000000001", "userName": "alice"}}),
        ct("CreateAccessKey", IAM, at(1), alice, request=None,  # own key, no userName given
           response={"accessKey": {"accessKeyId": "AKIAOWN00000000002", "userName": "alice"}}),
        ct("CreateAccessKey", IAM, at(2), alice, request={"userName": "backup-svc"},
           response={"accessKey": {"accessKeyId": "AKIAOTHER000000003", "userName": "backup-svc"}}),
        ct("CreateAccessKey", IAM, at(3), role("deployer", "gh-actions"), request={"userName": "bob"},
           response={"accessKey": {"accessKeyId": "AKIAOTHER000000004", "userName": "bob"}}),
        ct("CreateAccessKey", IAM, at(4), alice, request={"userName": "admin"}, error="AccessDenied"),
        ct("CreateAccessKey", IAM, at(5), root(), request={"userName": "carol"},
           response={"accessKey": {"accessKeyId": "AKIAOTHER000000005", "userName": "carol"}}),
        ct("CreateUser", IAM, at(6), alice, request={"userName": "mallory"}),
    ]
    rows = hunt_rows("access_key_for_other_user", write_trail(tmp_path / "t.json", recs))
    got = {(r["time"], r["principal"], r["target_user"], r["access_key_id"], r["error_code"]) for r in rows}
    expected = oracle_access_key_for_other_user(recs)
    assert got == expected
    assert sorted(t for _, _, t, _, _ in expected) == ["admin", "backup-svc", "bob", "carol"]


def test_assume_role_cross_account(tmp_path: Path) -> None:
    alice = user("alice")
    hop1 = role("partner-admin", "alice", OTHER)
    recs = [
        ct("AssumeRole", STS, at(0), alice,
           request={"roleArn": f"arn:aws:iam::{OTHER}:role/partner-admin", "roleSessionName": "alice"},
           response={"assumedRoleUser": {"arn": hop1["arn"], "assumedRoleId": "AROAX:alice"}}),
        *(ct("ListBuckets", "s3.amazonaws.com", at(1 + i), hop1) for i in range(3)),
        # the session hops again, into a third account: a chain
        ct("AssumeRole", STS, at(5), hop1,
           request={"roleArn": f"arn:aws:iam::{THIRD}:role/prod-admin", "roleSessionName": "x"},
           response={"assumedRoleUser": {"arn": f"arn:aws:sts::{THIRD}:assumed-role/prod-admin/x"}}),
        # same-account AssumeRole: not listed
        ct("AssumeRole", STS, at(6), alice,
           request={"roleArn": f"arn:aws:iam::{ACCT}:role/readonly", "roleSessionName": "alice"},
           response={"assumedRoleUser": {"arn": f"arn:aws:sts::{ACCT}:assumed-role/readonly/alice"}}),
        # a denied cross-account attempt: listed, no session
        ct("AssumeRole", STS, at(7), alice, error="AccessDenied",
           request={"roleArn": f"arn:aws:iam::{THIRD}:role/prod-admin", "roleSessionName": "alice"}),
    ]
    service = ct("AssumeRole", STS, at(8), {"type": "AWSService", "invokedBy": "lambda.amazonaws.com"},
                 request={"roleArn": f"arn:aws:iam::{OTHER}:role/fn", "roleSessionName": "fn"},
                 response={"assumedRoleUser": {"arn": f"arn:aws:sts::{OTHER}:assumed-role/fn/fn"}})
    rows = hunt_rows("assume_role_cross_account", write_trail(tmp_path / "t.json", [*recs, service]))
    got = {
        (r["principal"], r["caller_account"], r["role_arn"], r["role_account"], r["chained"],
         r["session_arn"], r["calls_as_role"])
        for r in rows
    }
    expected = oracle_assume_role_cross_account(recs)  # the oracle needs an ARN: AWSService has none
    assert got == expected
    # the fixture's intent: the first hop's session made 3 calls and the next hop (4 events)
    assert sorted((e[4], e[6]) for e in expected) == [(False, 0), (False, 4), (True, 0)]


def _azure(op: str, when: dt.datetime, caller: str, result: str, resource: str, **extra: Any) -> Rec:
    """An Azure Activity record, diagnostic-settings shape (log-formats §2.1)."""
    rec: Rec = {
        "time": iso(when),
        "resourceId": resource,
        "operationName": op.upper(),
        "category": "Administrative",
        "resultType": result,
        "resultSignature": "Succeeded.Created" if result == "Success" else "Failed.Forbidden",
        "callerIpAddress": "198.51.100.23",
        "correlationId": f"c0ffee00-0000-4000-8000-{int(when.timestamp()):012d}",
        "identity": {
            "authorization": {"scope": resource, "action": op},
            "claims": {"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn": caller},
        },
        "level": "Information",
        "location": "global",
        "properties": {},
    }
    rec.update(extra)
    return rec


def test_failed_then_succeeded(tmp_path: Path) -> None:
    alice, bob, carol, dave = (user(n) for n in ("alice", "bob", "carol", "dave"))
    trail = [
        ct("AttachUserPolicy", IAM, at(0), alice, error="AccessDenied"),
        ct("AttachUserPolicy", IAM, at(1), alice, error="AccessDenied"),
        ct("AttachUserPolicy", IAM, at(5), alice),  # -> 2 failures then success
        ct("CreateUser", IAM, at(0), bob, error="AccessDenied"),
        ct("CreateUser", IAM, at(120), bob),  # 2 hours later: not listed
        ct("AssumeRole", STS, at(-1), carol, error="AccessDenied"),
        ct("AssumeRole", STS, at(0), carol),  # -> 1 failure
        ct("AssumeRole", STS, at(1), carol, error="AccessDenied"),
        ct("AssumeRole", STS, at(2), carol),  # -> 1 failure (the one before counts no more)
        ct("AssumeRole", STS, at(3), carol),  # no failure since the last success: not listed
        ct("ListUsers", IAM, at(0), dave, error="AccessDenied"),
        ct("ListUsers", IAM, at(1), dave),  # not privileged: not listed
        ct("CreateAccessKey", IAM, at(0), dave, error="LimitExceeded"),  # never succeeds
    ]
    sub = "/SUBSCRIPTIONS/A3F6C2D1-7B4E-4C9A-9E21-5D8F0B6C4E17"
    ra = f"{sub}/PROVIDERS/MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/1B2C"
    op = "Microsoft.Authorization/roleAssignments/write"
    azure = [
        _azure(op, at(10), "eve@acme.example", "Failure", ra),
        _azure(op, at(11), "eve@acme.example", "Start", ra),  # neither failure nor success
        _azure(op, at(12), "eve@acme.example", "Success", ra),
    ]
    rows = hunt_rows(
        "failed_then_succeeded",
        write_trail(tmp_path / "t.json", trail),
        write_jsonl(tmp_path / "azure.jsonl", azure),
    )
    got = {
        (r["principal"], r["operation"], r["failures"], r["first_failure"], r["succeeded_at"],
         tuple(r["error_codes"] or ()))
        for r in rows
    }
    calls = [
        (r["userIdentity"]["arn"], r["eventName"], parse(r["eventTime"]),
         "failure" if r.get("errorCode") else "success", r.get("errorCode"))
        for r in trail
        if r["eventName"] in {"AttachUserPolicy", "CreateUser", "AssumeRole", "CreateAccessKey"}
    ]
    azure_status = {"Failure": "failure", "Success": "success"}
    calls += [
        (r["identity"]["claims"]["http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn"],
         r["operationName"], parse(r["time"]), azure_status[r["resultType"]],
         r["resultSignature"] if r["resultType"] == "Failure" else None)
        for r in azure
        if r["resultType"] in azure_status
    ]
    expected = oracle_failed_then_succeeded(calls)
    assert got == expected
    assert len(expected) == 4


def test_enumeration_bursts(tmp_path: Path) -> None:
    scanner, busy, slow, data = (user(n) for n in ("scanner", "busy", "slow", "data"))
    ops = ["ListUsers", "ListRoles", "DescribeInstances", "GetBucketPolicy", "ListBuckets", "DescribeVpcs"]
    recs: list[Rec] = []
    for i in range(25):  # 25 calls over 6 operations in 5 minutes -> listed
        recs.append(ct(ops[i % 6], "ec2.amazonaws.com", at(i * 0.2), scanner))
    for i in range(30):  # 30 calls, 2 operations -> not listed
        recs.append(ct(ops[i % 2], IAM, at(i * 0.1), busy))
    for i in range(25):  # 25 calls over an hour -> never 20 in 10 minutes
        recs.append(ct(ops[i % 6], "ec2.amazonaws.com", at(i * 2.5), slow))
    for i in range(25):  # S3 data events are not enumeration
        recs.append(ct(["GetObject", "ListObjects", "GetObjectAcl", "GetObjectTagging", "ListParts",
                        "GetObjectAttributes"][i % 6], "s3.amazonaws.com", at(i * 0.1), data,
                       eventCategory="Data", managementEvent=False))
    recs.append(ct("RunInstances", "ec2.amazonaws.com", at(1), scanner))
    rows = hunt_rows("enumeration_bursts", write_trail(tmp_path / "t.json", recs))
    got = {(r["principal"], r["window_start"], r["calls"], r["operations"]) for r in rows}
    expected = oracle_enumeration_bursts(recs)
    assert got == expected
    assert [p.rsplit("/", 1)[1] for p, *_ in expected] == ["scanner"]


def test_azure_role_assignment_broad_scope(tmp_path: Path) -> None:
    sub = "/SUBSCRIPTIONS/A3F6C2D1-7B4E-4C9A-9E21-5D8F0B6C4E17"
    tail = "/PROVIDERS/MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/9F8E7D6C"
    op = "Microsoft.Authorization/roleAssignments/write"
    body = json.dumps({"Id": "9f8e", "Properties": {
        "PrincipalId": "5e6f0000-1111-2222-3333-444455556666",
        "RoleDefinitionId": "/subscriptions/a3f6/providers/Microsoft.Authorization/roleDefinitions/8e3af657",
        "Scope": sub.lower()}})
    mg = "/providers/Microsoft.Management/managementGroups/acme-root"
    recs = [
        _azure(op, at(0), "eve@acme.example", "Success", sub + tail,
               properties={"requestbody": body, "statusCode": "Created"}),
        _azure(op, at(0), "eve@acme.example", "Start", sub + tail),  # same operation, Started
        _azure(op, at(1), "ops@acme.example", "Success", f"{sub}/RESOURCEGROUPS/RG-WEB{tail}"),
        _azure(op, at(2), "eve@acme.example", "Failure",
               f"{mg}/providers/Microsoft.Authorization/roleAssignments/77aa"),
        _azure("Microsoft.Authorization/roleAssignments/delete", at(3), "eve@acme.example",
               "Success", sub + tail),
    ]
    rows = hunt_rows("azure_role_assignment_broad_scope", write_jsonl(tmp_path / "a.jsonl", recs))
    got = {(r["time"], r["principal"], r["scope_level"], r["scope"], r["status"]) for r in rows}

    def level(scope: str) -> str | None:
        parts = scope.strip("/").split("/")
        if len(parts) == 2 and parts[0] == "subscriptions":
            return "subscription"
        if len(parts) == 4 and parts[:3] == ["providers", "microsoft.management", "managementgroups"]:
            return "management_group"
        return None

    expected = set()
    for r in recs:
        if r["operationName"].lower() != op.lower() or r["resultType"] not in ("Success", "Failure"):
            continue
        rid = r["resourceId"].lower()
        scope = rid[: rid.index("/providers/microsoft.authorization/roleassignments/")]
        if level(scope):
            who = r["identity"]["claims"]["http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn"]
            expected.add((shown(parse(r["time"])), who, level(scope), scope,
                          "success" if r["resultType"] == "Success" else "failure"))
    assert got == expected
    assert {e[2] for e in expected} == {"subscription", "management_group"}
    sub_row = next(r for r in rows if r["scope_level"] == "subscription")
    assert sub_row["assignee"] == "5e6f0000-1111-2222-3333-444455556666"
    assert sub_row["role_definition"].endswith("/roleDefinitions/8e3af657")


def _gcp(method: str, when: dt.datetime, who: str, **payload: Any) -> Rec:
    return {
        "protoPayload": {
            "@type": "type.googleapis.com/google.cloud.audit.AuditLog",
            "status": {},
            "authenticationInfo": {"principalEmail": who},
            "requestMetadata": {"callerIp": "192.0.2.44", "callerSuppliedUserAgent": "gcloud/460.0"},
            "serviceName": "cloudresourcemanager.googleapis.com",
            "methodName": method,
            "resourceName": "projects/acme-prod",
            **payload,
        },
        "insertId": f"ins{int(when.timestamp())}{method[-3:]}",
        "resource": {"type": "project", "labels": {"project_id": "acme-prod"}},
        "timestamp": iso(when),
        "severity": "NOTICE",
        "logName": "projects/acme-prod/logs/cloudaudit.googleapis.com%2Factivity",
        "receiveTimestamp": iso(when),
    }


def _delta(*bds: tuple[str, str, str]) -> dict[str, Any]:
    return {"serviceData": {
        "@type": "type.googleapis.com/google.iam.v1.logging.AuditData",
        "policyDelta": {"bindingDeltas": [{"action": a, "role": r, "member": m} for a, r, m in bds]},
    }}


def test_gcp_owner_editor_granted(tmp_path: Path) -> None:
    policy = {"request": {"@type": "type.googleapis.com/google.iam.v1.SetIamPolicyRequest",
                          "resource": "acme-prod",
                          "policy": {"bindings": [
                              {"role": "roles/editor", "members": ["user:a@x.example", "user:b@x.example"]},
                              {"role": "roles/viewer", "members": ["user:c@x.example"]}]}}}
    recs = [
        _gcp("SetIamPolicy", at(0), "eve@x.example",
             **_delta(("ADD", "roles/owner", "user:evil@gmail.example"), ("ADD", "roles/viewer", "user:v@x.example"))),
        _gcp("SetIamPolicy", at(1), "ops@x.example", **_delta(("REMOVE", "roles/owner", "user:old@x.example"))),
        _gcp("SetIamPolicy", at(2), "ops@x.example", **policy),  # no delta: the request's policy
        _gcp("GetIamPolicy", at(3), "ops@x.example", **policy),
        _gcp("google.iam.admin.v1.SetIamPolicy", at(4), "eve@x.example",
             **_delta(("ADD", "roles/editor", "serviceAccount:sa@p.iam.gserviceaccount.com"))),
    ]
    rows = hunt_rows("gcp_owner_editor_granted", write_jsonl(tmp_path / "g.jsonl", recs))
    got = {(r["time"], r["principal"], r["role"], r["member"], r["evidence"]) for r in rows}
    expected = set()
    for r in recs:
        pp = r["protoPayload"]
        if not pp["methodName"].endswith("SetIamPolicy"):
            continue
        who = pp["authenticationInfo"]["principalEmail"]
        deltas = pp.get("serviceData", {}).get("policyDelta", {}).get("bindingDeltas", [])
        if deltas:
            for d in deltas:
                if d["action"] == "ADD" and d["role"] in ("roles/owner", "roles/editor"):
                    expected.add((shown(parse(r["timestamp"])), who, d["role"], d["member"], "delta"))
        else:
            for b in pp["request"]["policy"]["bindings"]:
                if b["role"] in ("roles/owner", "roles/editor"):
                    expected |= {(shown(parse(r["timestamp"])), who, b["role"], m, "request")
                                 for m in b["members"]}
    assert got == expected
    assert len(expected) == 4


def test_console_login_without_mfa(tmp_path: Path) -> None:
    def login(who: dict[str, Any], minute: float, mfa: str, result: str = "Success") -> Rec:
        return ct("ConsoleLogin", "signin.amazonaws.com", at(minute), who,
                  response={"ConsoleLogin": result},
                  additionalEventData={"LoginTo": "https://console.aws.amazon.com/",
                                       "MobileVersion": "No", "MFAUsed": mfa},
                  eventType="AwsConsoleSignIn", readOnly=False)

    recs = [
        login(user("alice"), 0, "No"),  # listed
        login(user("bob"), 1, "Yes"),
        login(root(), 2, "No"),  # listed
        login(role("AWSReservedSSO_Admin_0a1b", "carol@acme.example"), 3, "No"),  # federated
        login(user("dave"), 4, "No", "Failure"),  # listed, a failed attempt
    ]
    rows = hunt_rows("console_login_without_mfa", write_trail(tmp_path / "t.json", recs))
    got = {(r["time"], r["principal"], r["result"]) for r in rows}
    expected = {
        (shown(parse(r["eventTime"])), r["userIdentity"]["arn"], r["responseElements"]["ConsoleLogin"])
        for r in recs
        if r["userIdentity"]["type"] in ("IAMUser", "Root")
        and r["additionalEventData"]["MFAUsed"] == "No"
    }
    assert got == expected
    assert len(expected) == 3
