"""CloudTrail normalizer on real records (invictus, stratus, permiso, plaso, OTRF) and synthetic
edge cases. Expected values are copied by hand from the sample files."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from trailhound.model import Location, RawRecord
from trailhound.normalize import normalize

INVICTUS = "invictus-ir-aws_dataset/CloudTrail/218007301253_CloudTrail_us-east-1_"


def rec(data: dict[str, Any], where: str = "t.json") -> RawRecord:
    return RawRecord(
        data=data, location=Location(where), source="cloudtrail", envelope="s3_records"
    )


def invictus(external: Path, name: str, index: int) -> dict[str, Any]:
    doc = json.loads((external / f"{INVICTUS}{name}.json").read_text())
    return doc["Records"][index]


def stratus(external: Path, technique: str, index: int) -> dict[str, Any]:
    return json.loads(
        (external / f"stratus-red-team/detonation-logs/{technique}.json").read_text()
    )[index]


def fields(ev: Any) -> dict[str, Any]:
    keys = [
        "provider",
        "time",
        "time_ns",
        "operation",
        "service",
        "principal",
        "principal_type",
        "src_ip",
        "region",
        "account",
        "status",
        "error_code",
        "error_message",
        "user_agent",
        "event_id",
    ]
    return {k: getattr(ev, k) for k in keys}


def test_invictus_iam_user_error(external: Path) -> None:
    data = invictus(external, "20230710T1145Z_7xgocspSowgK0Gto", 4)
    ev, issues = normalize(rec(data))
    assert issues == []
    assert fields(ev) == {
        "provider": "aws",
        "time": "2023-07-10T11:42:44Z",
        "time_ns": 1688989364 * 10**9,
        "operation": "GetBucketPublicAccessBlock",
        "service": "s3.amazonaws.com",
        "principal": "arn:aws:iam::123837392027:user/benjamin",
        "principal_type": "IAMUser",
        "src_ip": "10.248.16.43",
        "region": "us-east-1",
        "account": "123837392027",
        "status": "failure",
        "error_code": "NoSuchPublicAccessBlockConfiguration",
        "error_message": "The public access block configuration was not found",
        "user_agent": "[S3Console/0.4, aws-internal/3 aws-sdk-java/1.12.488 "
        "Linux/5.4.247-169.350.amzn2int.x86_64 OpenJDK_64-Bit_Server_VM/25.372-b08 java/1.8.0_372 "
        "vendor/Oracle_Corporation cfg/retry-mode/standard]",
        "event_id": "8ca35bec-bc01-4a58-beca-6f8a16907e98",
    }
    assert ev.raw is data and ev.source == "cloudtrail"


def test_invictus_aws_service_identity(external: Path) -> None:
    data = invictus(external, "20230710T1200Z_iLj9fb7yyUG9X4Bf", 64)
    ev, issues = normalize(rec(data))
    assert issues == []
    assert ev.operation == "AssumeRole"
    assert ev.service == "sts.amazonaws.com"
    assert ev.principal == "inspector2.amazonaws.com"  # only invokedBy is present
    assert ev.principal_type == "AWSService"
    assert ev.src_ip == "inspector2.amazonaws.com"  # a DNS name, kept as logged
    assert ev.account == "123837392027"  # recipientAccountId
    assert ev.status == "success"
    assert ev.event_id == "a4a7b25e-c2d5-436f-8a7e-ea89f50541ab"
    assert ev.time == "2023-07-10T11:55:24Z"


def test_invictus_identity_without_type(external: Path) -> None:
    data = invictus(external, "20230710T1200Z_iLj9fb7yyUG9X4Bf", 71)
    ev, issues = normalize(rec(data))
    assert issues == []
    assert ev.operation == "SharedSnapshotVolumeCreated"
    assert ev.principal == "123837392027"  # accountId comes before invokedBy
    assert ev.principal_type is None
    assert ev.event_id == "895dc875-cb08-45a5-b8c2-9158838741c0"


def test_invictus_console_login_success(external: Path) -> None:
    data = invictus(external, "20230710T1225Z_4iD2boYSOwmb6sWd", 10)
    ev, issues = normalize(rec(data))
    assert issues == []
    assert ev.operation == "ConsoleLogin"
    assert ev.service == "signin.amazonaws.com"
    assert ev.status == "success"
    assert ev.error_code is None
    assert ev.principal == "arn:aws:iam::123837392027:user/stratus-red-team-nmfalu-gfjyeaypjt"
    assert ev.event_id == "70e5932e-9022-4b38-837e-ca10dad94eb7"


def test_stratus_assumed_role_failure(external: Path) -> None:
    data = stratus(external, "aws.credential-access.ec2-get-password-data", 0)
    ev, issues = normalize(rec(data))
    assert issues == []
    assert ev.principal == (
        "arn:aws:sts::457448411975:assumed-role/stratus-red-team-ec2-get-password-data-role/"
        "aws-go-sdk-1722375070115152000"
    )
    assert ev.principal_type == "AssumedRole"
    assert ev.region == "apiso-northsouth-3r"  # anonymised fake region, kept
    assert ev.account == "457448411975"
    assert ev.src_ip == "200.249.253.51"
    assert ev.status == "failure"
    assert ev.error_code == "Client.UnauthorizedOperation"
    assert ev.error_message is not None
    assert ev.error_message.startswith("You are not authorized to perform this operation.")
    assert ev.time == "2024-07-30T21:31:21Z"
    assert ev.event_id == "450230d4-b39e-4a18-a6a0-d07a6e2105cb"
    assert ev.user_agent == "stratus-red-team_5c59eb79-6dac-405c-a4c4-e19aec03c666"


def test_stratus_iam_user_success(external: Path) -> None:
    data = stratus(external, "aws.credential-access.ec2-get-password-data", 30)
    ev, issues = normalize(rec(data))
    assert issues == []
    assert ev.operation == "AssumeRole"
    assert ev.principal == "arn:aws:iam::457448411975:user/christophe"
    assert ev.principal_type == "IAMUser"
    assert ev.status == "success" and ev.error_code is None
    assert ev.event_id == "d769ddfd-2cda-4cfa-b33f-05d3b886921d"


def test_stratus_federated_user(external: Path) -> None:
    data = stratus(external, "aws.persistence.sts-federation-token", 1)
    ev, issues = normalize(rec(data))
    assert issues == []
    assert ev.operation == "GetCallerIdentity"
    assert ev.principal == "arn:aws:sts::742491224508:federated-user/stratus_red_team"
    assert ev.principal_type == "FederatedUser"
    assert ev.src_ip == "255.090.254.5"  # invalid IP from the anonymiser, kept as logged
    assert ev.region == "ap-isob-east-1r"
    assert ev.time == "2024-11-30T08:43:18Z"


def test_permiso_trimmed_record(external: Path) -> None:
    path = (
        external
        / "permiso-cloudconsolecartographer/Tests/Sessions"
        / "8bf8ccf47400001eacc3a094065581499f90ef967a086ce9dcd698fc34d264a3/InputEvents.json"
    )
    data = json.loads(path.read_text())[0]
    ev, issues = normalize(rec(data))
    assert issues == []  # missing userIdentity / sourceIPAddress is not an error
    assert fields(ev) == {
        "provider": "aws",
        "time": "2023-04-26T14:53:28Z",
        "time_ns": 1682520808 * 10**9,
        "operation": "ConsoleLogin",
        "service": "signin.amazonaws.com",
        "principal": None,
        "principal_type": None,
        "src_ip": None,
        "region": "us-east-1",
        "account": None,
        "status": "success",
        "error_code": None,  # logged as null
        "error_message": None,
        "user_agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/16.4 Safari/605.1.15",
        "event_id": "033172d6-8317-4968-9719-1895bab4b207",
    }


def test_plaso_lookup_events_inner_record(external: Path) -> None:
    line = (external / "plaso/jsonl/aws_cloudtrail.jsonl").read_text().splitlines()[0]
    inner = json.loads(json.loads(line)["CloudTrailEvent"])
    ev, issues = normalize(rec(inner))
    assert issues == []
    assert ev.time == "2022-02-07T22:23:37Z"
    assert ev.operation == "DescribeInstances"
    assert ev.service == "ec2.amazonaws.com"
    assert ev.principal == "arn:aws:iam::012345678901:user/fakeusername"
    assert ev.principal_type == "IAMUser"
    assert ev.region == "ap-southeast-2"
    assert ev.account == "012345678901"
    assert ev.src_ip == "1.2.3.4"
    assert ev.user_agent == "console.ec2.amazonaws.com"
    assert ev.event_id == "0828c0d2-3589-4390-b954-c78b4a7df44b"


def test_otrf_logstash_timestamp(external: Path) -> None:
    path = (
        external
        / "otrf-security-datasets/atomic/aws/collection"
        / "ec2_proxy_s3_exfiltration_2020-09-14011940.json"
    )
    data = json.loads(path.read_text().splitlines()[0])
    ev, issues = normalize(rec(data))
    assert issues == []
    assert ev.time == "2020-09-14T00:44:23Z"  # from @timestamp "2020-09-14T00:44:23.000Z"
    assert ev.operation == "DescribeInstanceTypes"
    assert ev.principal == "arn:aws:iam::123456789123:user/pedro"


def test_failed_console_login_without_error_code() -> None:
    data = {
        "eventVersion": "1.08",
        "userIdentity": {"type": "IAMUser", "userName": "alice", "accountId": "111122223333"},
        "eventTime": "2024-01-02T03:04:05Z",
        "eventSource": "signin.amazonaws.com",
        "eventName": "ConsoleLogin",
        "awsRegion": "us-east-1",
        "sourceIPAddress": "203.0.113.9",
        "responseElements": {"ConsoleLogin": "Failure"},
        "errorMessage": "Failed authentication",
        "eventID": "e1",
    }
    ev, issues = normalize(rec(data))
    assert issues == []
    assert ev.status == "failure"
    assert ev.error_code == "Failure"
    assert ev.error_message == "Failed authentication"
    assert ev.principal == "alice"  # no arn/principalId: userName before accountId
    assert ev.account == "111122223333"  # userIdentity.accountId without recipientAccountId


def test_failed_console_login_athena_json_text() -> None:
    data = {
        "eventName": "ConsoleLogin",
        "eventTime": "2024-01-02T03:04:05Z",
        "responseElements": '{"ConsoleLogin":"Failure"}',
    }
    ev, issues = normalize(rec(data))
    assert ev.status == "failure" and ev.error_code == "Failure"
    assert issues == []


def test_error_code_wins_and_empty_error_code_is_success() -> None:
    ev, _ = normalize(rec({"eventName": "X", "errorCode": "AccessDenied", "errorMessage": "no"}))
    assert (ev.status, ev.error_code, ev.error_message) == ("failure", "AccessDenied", "no")
    ev, _ = normalize(rec({"eventName": "X", "errorCode": ""}))
    assert (ev.status, ev.error_code) == ("success", None)


def test_aws_internal_and_numeric_account() -> None:
    data = {
        "eventName": "GetBucketAcl",
        "eventTime": "2024-01-02T03:04:05Z",
        "sourceIPAddress": "AWS Internal",
        "recipientAccountId": 123456789012,
        "userIdentity": {"type": "Root", "principalId": "123456789012"},
    }
    ev, issues = normalize(rec(data))
    assert issues == []
    assert ev.src_ip == "AWS Internal"
    assert ev.account == "123456789012"  # number converted with str(), no issue
    assert ev.principal == "123456789012"


def test_lower_case_athena_keys_found() -> None:
    data = {
        "eventname": "StopLogging",
        "eventsource": "cloudtrail.amazonaws.com",
        "eventtime": "2024-11-25 22:00:58.000000000",
    }
    ev, issues = normalize(rec(data))
    assert issues == []
    assert (ev.operation, ev.service, ev.time) == (
        "StopLogging",
        "cloudtrail.amazonaws.com",
        "2024-11-25T22:00:58Z",
    )


def test_exact_key_wins_over_other_case() -> None:
    ev, _ = normalize(rec({"EventName": "Wrong", "eventName": "Right"}))
    assert ev.operation == "Right"


@pytest.mark.parametrize(
    ("patch", "path", "found", "expected", "field"),
    [
        ({"eventTime": 1690000000}, "eventTime", "number", "string", "time"),
        (
            {"userIdentity": "arn:aws:iam::1:user/x"},
            "userIdentity",
            "string",
            "object",
            "principal",
        ),
        ({"eventName": ["a", "b"]}, "eventName", "array", "string", "operation"),
        ({"eventSource": {"x": 1}}, "eventSource", "object", "string", "service"),
        (
            {"userIdentity": {"arn": ["x"], "type": "IAMUser"}},
            "userIdentity.arn",
            "array",
            "string",
            "principal",
        ),
        ({"userIdentity": ["IAMUser"]}, "userIdentity", "array", "object", "principal_type"),
        ({"errorCode": {"code": 1}}, "errorCode", "object", "string", "error_code"),
    ],
)
def test_wrong_types_reported(
    patch: dict, path: str, found: str, expected: str, field: str
) -> None:
    base = {
        "eventTime": "2024-01-02T03:04:05Z",
        "eventName": "GetCallerIdentity",
        "eventSource": "sts.amazonaws.com",
        "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::1:user/a"},
    }
    data = {**base, **patch}
    snapshot = copy.deepcopy(data)
    location = Location("x.json", line=7)
    ev, issues = normalize(RawRecord(data, location, "cloudtrail", "jsonl", meta={"k": 1}))
    wrong = [i for i in issues if i.kind == "wrong_type"]
    assert len(wrong) == 1, issues
    issue = wrong[0]
    assert issue.severity == "error" and issue.location is location
    assert f"'{path}'" in issue.message
    assert f"found {found}" in issue.message and f"expected {expected}" in issue.message
    assert getattr(ev, field) is None
    assert ev.raw is data and data == snapshot  # never modified
    assert ev.meta == {"k": 1} and ev.location is location
