"""GCP audit normalizer: google-cloudevents LogEntries, plaso gcp_logging lines, Panther records
and synthetic status variants. Expected values written by hand from the files."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from trailhound.model import Location, RawRecord
from trailhound.normalize import normalize


def rec(data: Any) -> RawRecord:
    return RawRecord(
        data=data, location=Location("g.json", index=2), source="gcp_audit", envelope="jsonl"
    )


def cloudevent(external: Path, name: str) -> dict[str, Any]:
    return json.loads(
        (external / f"google-cloudevents/audit/v1/LogEntryData-{name}.json").read_text()
    )


def plaso_lines(external: Path) -> list[dict[str, Any]]:
    return [
        json.loads(x) for x in (external / "plaso/jsonl/gcp_logging.jsonl").read_text().splitlines()
    ]


def panther(external: Path, rule_id: str, test_name: str) -> dict[str, Any]:
    with (external / "panther-analysis/rule_test_cases.jsonl").open() as fh:
        for line in fh:
            row = json.loads(line)
            if row["rule_id"] == rule_id and row["test_name"] == test_name:
                return row["log"]
    raise LookupError((rule_id, test_name))


def test_cloudevents_pubsub_create_topic(external: Path) -> None:
    data = cloudevent(external, "pubsubCreateTopic")
    ev, issues = normalize(rec(data))
    assert issues == []
    assert ev.provider == "gcp"
    assert ev.time == "2020-06-30T16:14:47.593398572Z"
    assert ev.time_ns == 1593533687 * 10**9 + 593_398_572
    assert ev.operation == "google.pubsub.v1.Publisher.CreateTopic"
    assert ev.service == "pubsub.googleapis.com"
    assert ev.principal == "robot@test-project.iam.gserviceaccount.com"
    assert ev.principal_type == "ServiceAccount"
    assert ev.src_ip == "192.168.0.1"
    assert ev.region == "asia-east1"  # resourceLocation.currentLocations[0]
    assert ev.account == "test-project"
    assert ev.status == "success"  # no status at all
    assert ev.user_agent == "google-cloud-sdk"
    assert ev.event_id == "9frck8cf9j"


def test_cloudevents_bigquery_data_access(external: Path) -> None:
    data = cloudevent(external, "bigqueryjobcompleted")
    ev, issues = normalize(rec(data))
    assert issues == []
    assert ev.operation == "jobservice.jobcompleted"
    assert ev.service == "bigquery.googleapis.com"
    assert ev.src_ip == "2620:15c:0:200:1a75:e914:115b:e970"
    assert ev.account == "test-project"
    assert ev.time == "2021-11-25T21:56:00.276607Z"
    assert ev.user_agent == "google-cloud-sdk357.0.0 (gzip),gzip(gfe)"
    assert ev.event_id == "jpllvgecd7bx"


def test_plaso_first_line(external: Path) -> None:
    data = plaso_lines(external)[0]
    ev, issues = normalize(rec(data))
    assert issues == []
    assert ev.time == "2021-10-19T02:57:47.339377Z"
    assert ev.operation == "beta.compute.networks.insert"
    assert ev.service == "compute.googleapis.com"
    assert ev.principal == "fakeemailxyz@gmail.com" and ev.principal_type == "User"
    assert ev.src_ip == "1.1.1.1"
    assert ev.user_agent == "UserAgent"
    assert ev.account == "fake-project"
    assert ev.region is None  # no location label, no resourceLocation on this entry
    assert ev.event_id == "iv9wx9d16l2"


def test_plaso_permission_denied(external: Path) -> None:
    data = next(d for d in plaso_lines(external) if d.get("insertId") == "1awjxggeaxqgz")
    ev, issues = normalize(rec(data))
    assert issues == []
    assert ev.status == "failure"
    assert ev.error_code == "PERMISSION_DENIED"
    assert (
        ev.error_message
        == 'Permission "iam.serviceAccounts.create" denied on resource (or it may not exist).'
    )
    assert ev.principal == "dvwa-service-account@ketchup.iam.gserviceaccount.com"
    assert ev.principal_type == "ServiceAccount"
    assert ev.account == "ketchup"
    assert ev.time == "2024-12-03T17:58:44.882119699Z"


def test_plaso_non_audit_entries(external: Path) -> None:
    entries = [d for d in plaso_lines(external) if "testlog" in d.get("logName", "")]
    assert len(entries) == 2
    for data in entries:
        ev, issues = normalize(rec(data))
        assert issues == []
        assert ev.operation is None and ev.principal is None
        assert ev.status is None  # no protoPayload: outcome unknown, not "success"
        assert ev.account == "fake-project"
        assert ev.time is not None


def test_panther_placeholder_strings_reported(external: Path) -> None:
    data = panther(external, "GCP.Cloud.Run.Service.Created", "GCP Run Service Not Created")
    ev, issues = normalize(rec(data))
    assert ev.status == "failure"
    assert ev.error_code == "ALREADY_EXISTS"
    assert ev.error_message == "Resource 'cloudrun-exfil' already exists."
    assert ev.operation == "google.cloud.run.v1.Services.CreateService"
    assert ev.time == "2024-02-02T09:36:21.212182Z"
    assert ev.account == "some-project"  # from logName, resource is "..."
    # Panther wrote "..." where objects belong: reported, nothing else lost
    paths = sorted(i.message.split("'")[1] for i in issues)
    assert paths == ["protoPayload.requestMetadata", "protoPayload.resourceLocation", "resource"]
    assert {i.kind for i in issues} == {"wrong_type"}


def test_panther_lower_case_keys(external: Path) -> None:
    data = panther(external, "GCP.Firewall.Rule.Created", "appengine.firewall.create-should-alert")
    ev, issues = normalize(rec(data))
    assert issues == []
    assert ev.operation == "google.appengine.v1.Firewall.CreateIngressRule"  # under "protopayload"
    assert ev.src_ip == "12.12.12.12"  # "callerIP"
    assert ev.account == "test-project-123456"
    assert ev.region is None  # zone label is ""
    assert ev.event_id == "-xxxxxxxxxxxx"  # "insertid"
    assert ev.time == "2023-05-23T19:28:35.049Z"
    assert ev.status == "success"


def test_panther_denied_without_project(external: Path) -> None:
    data = panther(external, "GCP.GCS.BulkDeletion", "GCS Object Deletion - Failed")
    ev, issues = normalize(rec(data))
    assert issues == []
    assert (ev.status, ev.error_code, ev.error_message) == (
        "failure",
        "PERMISSION_DENIED",
        "PERMISSION_DENIED",
    )
    assert ev.account is None and ev.event_id is None
    assert ev.time == "2025-12-15T15:40:29.53379492Z"


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("MISSING", ("success", None)),
        ({}, ("success", None)),
        ({"code": 0}, ("success", None)),
        ({"code": 0, "message": ""}, ("success", None)),
        ({"message": "no code means OK"}, ("success", None)),
        ({"code": 7, "message": "denied"}, ("failure", "PERMISSION_DENIED")),
        ({"code": 16}, ("failure", "UNAUTHENTICATED")),
        ({"code": 5}, ("failure", "NOT_FOUND")),
        ({"code": 1}, ("failure", "CANCELLED")),
        ({"code": "7"}, ("failure", "PERMISSION_DENIED")),
        ({"code": 7.0}, ("failure", "PERMISSION_DENIED")),
        ({"code": "PERMISSION_DENIED"}, ("failure", "PERMISSION_DENIED")),
        ({"code": 99}, ("failure", "99")),
        (None, ("success", None)),
    ],
)
def test_status_variants(status: Any, expected: tuple[str, str | None]) -> None:
    pp: dict[str, Any] = {
        "methodName": "SetIamPolicy",
        "serviceName": "cloudresourcemanager.googleapis.com",
    }
    if status != "MISSING":
        pp["status"] = status
    ev, issues = normalize(rec({"timestamp": "2024-01-02T03:04:05Z", "protoPayload": pp}))
    assert issues == []
    assert (ev.status, ev.error_code) == expected


@pytest.mark.parametrize(
    ("status", "path", "found"),
    [
        ("denied", "protoPayload.status", "string"),
        ([7], "protoPayload.status", "array"),
        ({"code": True}, "protoPayload.status.code", "boolean"),
        ({"code": "seven"}, "protoPayload.status.code", "string"),
        ({"code": {"n": 7}}, "protoPayload.status.code", "object"),
    ],
)
def test_status_wrong_types(status: Any, path: str, found: str) -> None:
    data = {"timestamp": "2024-01-02T03:04:05Z", "protoPayload": {"methodName": "m", "status": status}}
    snapshot = copy.deepcopy(data)
    ev, issues = normalize(rec(data))
    assert ev.status is None and ev.error_code is None
    assert ev.operation == "m"
    assert len(issues) == 1 and issues[0].kind == "wrong_type"
    assert f"'{path}'" in issues[0].message and f"found {found}" in issues[0].message
    assert data == snapshot


def test_principal_subject_region_and_log_name() -> None:
    data = {
        "logName": "projects/proj-9/logs/cloudaudit.googleapis.com%2Fdata_access",
        "resource": {"type": "gce_instance", "labels": {"zone": "europe-west1-b"}},
        "timestamp": "2024-01-02T03:04:05Z",
        "protoPayload": {
            "authenticationInfo": {
                "principalSubject": "serviceAccount:ci@proj-9.iam.gserviceaccount.com"
            },
            "requestMetadata": {"callerIp": "gce-internal-ip"},
            "methodName": "v1.compute.instances.get",
        },
    }
    ev, issues = normalize(rec(data))
    assert issues == []
    assert ev.principal == "serviceAccount:ci@proj-9.iam.gserviceaccount.com"
    assert ev.principal_type == "ServiceAccount"
    assert ev.region == "europe-west1-b"
    assert ev.account == "proj-9"
    assert ev.src_ip == "gce-internal-ip"  # kept as logged
    assert ev.time == "2024-01-02T03:04:05Z"


def test_gke_system_service_account() -> None:
    data = {
        "protoPayload": {
            "authenticationInfo": {"principalEmail": "system:serviceaccount:kube-system:x"}
        }
    }
    ev, _ = normalize(rec(data))
    assert ev.principal_type == "ServiceAccount"


def test_current_locations_wrong_type() -> None:
    data = {
        "timestamp": "2024-01-02T03:04:05Z",
        "protoPayload": {"methodName": "m", "resourceLocation": {"currentLocations": "us-central1"}},
    }
    ev, issues = normalize(rec(data))
    assert ev.region is None
    assert [i.kind for i in issues] == ["wrong_type"]
    assert "'protoPayload.resourceLocation.currentLocations'" in issues[0].message
