"""`principals` lists a principal's accounts once each as the platform compares them: an Azure
subscription id is a GUID that Azure Resource Manager compares without case, and the Activity
Log spells one subscription both ways (`/SUBSCRIPTIONS/A3F6...` in resource ids, lower case in
others). Oracle: the distinct subscription ids of the raw records, casefolded."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from trailhound.cli.app import cli

SUB = "A3F6C2D1-7B4E-4C9A-9E21-5D8F0B6C4E17"
OTHER = "5c1e8a92-3d47-4f0b-b6a1-2e9d7c4f8a30"
CALLER = "marcus.okafor@acme.example"


def _grant(n: int, sub: str) -> dict[str, Any]:
    return {"time": f"2026-03-14T10:{n:02d}:00Z", "eventDataId": f"ev-{n}", "correlationId": f"op-{n}",
            "operationName": "Microsoft.Authorization/roleAssignments/write",
            "category": "Administrative", "resultType": "Success", "callerIpAddress": "198.51.100.23",
            "caller": CALLER, "subscriptionId": sub,
            "resourceId": f"/subscriptions/{sub}/providers/Microsoft.Authorization/roleAssignments/r{n}"}


def test_one_subscription_however_cased(tmp_path: Path) -> None:
    records = [_grant(0, SUB), _grant(1, SUB.lower()), _grant(2, OTHER), _grant(3, SUB)]
    logs = tmp_path / "activity.jsonl"
    logs.write_text("".join(json.dumps(r) + "\n" for r in records))
    res = CliRunner().invoke(cli, ["principals", "--format", "jsonl", "-q", str(logs)])
    assert res.exit_code == 0, res.output
    (row,) = [json.loads(x) for x in res.stdout.splitlines()]
    assert row["principal"] == CALLER and row["findings"] == len(records)
    want = {r["subscriptionId"].casefold() for r in records}
    assert len(want) == 2  # the oracle itself
    assert sorted(a.casefold() for a in row["accounts"]) == sorted(want)  # each once
    assert set(row["accounts"]) <= {r["subscriptionId"] for r in records}  # as a record spells it
    assert row["accounts"][0].casefold() == SUB.casefold()  # the most frequent: 3 of 4

