"""corrected reports one finding per operation; seed keeps every record (the query does)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.test_profiles_defects import azure_diag, ct, run


def test_duplicate_delivery_is_one_finding_in_corrected(tmp_path: Path) -> None:
    rec = ct("StopLogging", "cloudtrail.amazonaws.com", 1)
    bridge = {"version": "0", "id": "e1", "detail-type": "AWS API Call via CloudTrail", "source": "aws.cloudtrail",
              "account": "111122223333", "time": rec["eventTime"], "region": "us-east-1", "resources": [], "detail": rec}
    (tmp_path / "bridge").mkdir()
    (tmp_path / "bridge" / "e.json").write_text(json.dumps(bridge))
    seed, _ = run(tmp_path, [rec], "seed")
    corr, _ = run(tmp_path, [rec], "corrected")
    assert len(seed) == len(corr) == 1  # one file: nothing to collapse yet
    from trailhound.pipeline import scan
    from trailhound.profiles import get_profile
    from trailhound.report.columns import row

    for name, n in (("seed", 2), ("corrected", 1)):
        p = get_profile(name)
        rows = [row(f, p) for f in scan([str(tmp_path)], p).findings]
        assert len(rows) == n
        assert sum(r["records"] for r in rows) == 2


def test_same_event_id_other_operation_is_not_a_duplicate(tmp_path: Path) -> None:
    a = ct("CreateUser", n=1)
    b = ct("CreateAccessKey", n=1)  # same eventID (template data does this), other operation
    corr, _ = run(tmp_path, [a, b], "corrected")
    assert sorted(r["eventName"] for r in corr) == ["CreateAccessKey", "CreateUser"]


def test_azure_started_and_succeeded_collapse_to_the_final_record(tmp_path: Path) -> None:
    started = azure_diag("Microsoft.Authorization/roleAssignments/write", 1, result="Start")
    done = azure_diag("Microsoft.Authorization/roleAssignments/write", 2, result="Success")
    done["correlationId"] = started["correlationId"]
    other = azure_diag("Microsoft.Authorization/roleAssignments/write", 3, result="Success")  # another operation
    corr, _ = run(tmp_path, [started, done, other], "corrected")
    # times in the one output format: milliseconds, truncated (normalize/times.output_time)
    assert [(r["outcome"], r["records"], r["time"]) for r in corr] == [
        ("success", 2, "2026-03-14T11:00:02.123Z"),
        ("success", 1, "2026-03-14T11:00:03.123Z"),
    ]
