"""Issue 16, share-then-copy: the real Stratus Red Team detonation of
aws.exfiltration.ec2-share-ebs-snapshot / ec2-share-ami, followed by the receiving account's copy
of the very snapshot / image (its id read here from the detonation's own Modify*Attribute
record, in plain Python), raises the related pack's share-then-copy correlation; the detonation
alone, or followed by a copy of something else, does not."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import trailhound

LOGS = "stratus-red-team/detonation-logs"
CASES = {
    # technique: (share event, field of the shared id, copy event, field naming it, correlation)
    "aws.exfiltration.ec2-share-ebs-snapshot": (
        "ModifySnapshotAttribute", "snapshotId", "CopySnapshot", "sourceSnapshotId",
        "aws_ec2_snapshot_shared_then_copied"),
    "aws.exfiltration.ec2-share-ami": (
        "ModifyImageAttribute", "imageId", "CopyImage", "sourceImageId",
        "aws_ec2_ami_shared_then_copied"),
}


def _records(path: Path) -> list[dict[str, Any]]:
    doc = json.loads(path.read_text())
    return doc if isinstance(doc, list) else doc["Records"]


def _copy(share: dict[str, Any], event: str, field: str, resource: str) -> dict[str, Any]:
    """The receiving account's copy, an hour after the share, naming `resource`."""
    params = share["requestParameters"]
    permission = next(v for k, v in params.items() if k.endswith("Permission"))
    receiver = permission["add"]["items"][0]["userId"]
    when = (datetime.fromisoformat(share["eventTime"])
            + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "eventVersion": "1.08", "eventTime": when, "eventID": "copy-1",
        "eventSource": "ec2.amazonaws.com", "eventName": event, "awsRegion": share["awsRegion"],
        "sourceIPAddress": "198.51.100.200", "recipientAccountId": receiver,
        "userIdentity": {"type": "IAMUser", "accountId": receiver,
                         "arn": f"arn:aws:iam::{receiver}:user/exfil"},
        "requestParameters": {field: resource, "sourceRegion": share["awsRegion"]},
    }


def _correlations(paths: list[Path]) -> set[str]:
    result = trailhound.scan([str(p) for p in paths])
    return {getattr(r, "name", None) or r.id for f in result.findings for r in f.rules}


@pytest.mark.parametrize("technique", sorted(CASES))
def test_share_then_copy(external: Path, tmp_path: Path, technique: str) -> None:
    share_event, share_field, copy_event, copy_field, correlation = CASES[technique]
    log = external / LOGS / f"{technique}.json"
    share = next(r for r in _records(log) if r["eventName"] == share_event)
    resource = share["requestParameters"][share_field]

    alone = _correlations([log])
    assert correlation not in alone

    copied = tmp_path / "receiver.json"
    copied.write_text(json.dumps({"Records": [_copy(share, copy_event, copy_field, resource)]}))
    assert correlation in _correlations([log, copied])

    other = tmp_path / "other.json"
    other.write_text(json.dumps({"Records": [
        _copy(share, copy_event, copy_field, resource[:-3] + "fff")]}))
    assert correlation not in _correlations([log, other])
