"""Acceptance on the third-party data: `corrected` finds the Azure role-assignment writes and the
Lambda version-suffixed calls present in ../shared/data/external; `seed` finds none of them.
Expected events are enumerated here with plain json, independently of trailhound's readers."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.test_seed_oracle import cloudtrail_files, oracle_records
from trailhound.pipeline import scan
from trailhound.profiles import get_profile
from trailhound.report.columns import row

LAMBDA = {"CreateFunction20150331", "UpdateFunctionCode20150331v2"}
ROLE_ASSIGNMENT = "microsoft.authorization/roleassignments/write"


def panther_logs(ext: Path) -> list[dict[str, Any]]:
    path = ext / "panther-analysis" / "rule_test_cases.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def azure_operation(log: dict[str, Any]) -> str | None:
    op = log.get("operationName")
    if isinstance(op, dict):
        op = op.get("value")
    return op.lower() if isinstance(op, str) else None


@pytest.fixture(scope="module")
def results(external: Path) -> dict[str, list[dict[str, Any]]]:
    out = {}
    for name in ("seed", "corrected"):
        p = get_profile(name)
        res = scan([str(external)], p)
        out[name] = [row(f, p) for f in res.findings]
    return out


def test_corrected_finds_every_lambda_version_suffixed_call(external: Path, results: dict[str, list[dict[str, Any]]]) -> None:
    # One operation = one eventID in one account, with the same name, identity, source IP and
    # time (a second delivery repeats the record); Panther's test cases repeat some records
    # verbatim and reuse one eventID for calls by different identities.
    copies: Counter[tuple[Any, ...]] = Counter()

    def add(r: dict[str, Any]) -> None:
        who = json.dumps(r.get("userIdentity"), sort_keys=True)
        copies[(r["eventName"], r["eventID"], r.get("recipientAccountId"), who, r.get("sourceIPAddress"), r.get("eventTime"))] += 1

    for f in cloudtrail_files(external):
        for r in oracle_records(f):
            if r.get("eventName") in LAMBDA:
                add(r)
    for t in panther_logs(external):
        if t["provider"] == "aws" and t["log"].get("eventName") in LAMBDA:
            add(t["log"])
    expected: dict[tuple[str, str], list[int]] = {}
    for key, n in copies.items():
        expected.setdefault(key[:2], []).append(n)
    assert {name for name, _ in expected} == LAMBDA  # both kinds are in the data
    assert any(len(v) > 1 for v in expected.values())  # one eventID, several identities
    # corrected reports one finding per operation and counts the copies: every record is
    # accounted for.
    got: dict[tuple[str, str], list[int]] = {}
    for r in results["corrected"]:
        if r["eventName"] in LAMBDA:
            got.setdefault((r["eventName"], r["eventID"]), []).append(r["records"])
    assert {k: sorted(v) for k, v in got.items()} == {k: sorted(v) for k, v in expected.items()}
    assert all(r["compute_create"] == 1 for r in results["corrected"] if r["eventName"] in LAMBDA)
    assert not [r for r in results["seed"] if r["eventName"] in LAMBDA]


def test_corrected_finds_every_azure_role_assignment_write(external: Path, results: dict[str, list[dict[str, Any]]]) -> None:
    expected = sum(
        1 for t in panther_logs(external) if t["provider"] == "azure" and azure_operation(t["log"]) == ROLE_ASSIGNMENT
    )
    assert expected > 0
    got = [r for r in results["corrected"] if (r["operationName"] or "").lower() == ROLE_ASSIGNMENT]
    assert sum(r["records"] for r in got) == expected
    assert all(r["provider"] == "azure" and r["priv_esc"] == 1 for r in got)
    assert not [r for r in results["seed"] if r["provider"] != "aws" or r["operationName"]]
