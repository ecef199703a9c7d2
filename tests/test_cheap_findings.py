"""Cheap findings (issue #10): bench/gen_cloudtrail.py's assumed-role mix, and a rule that fires on
most records giving exactly the findings plain Python over the raw records gives, in the one sort
order, whether scoring keeps them in memory or spills them.

The oracle reads the generated files with gzip + json and applies SigmaHQ's "AWS STS AssumeRole
Misuse" condition (userIdentity.type AssumedRole, sessionContext.sessionIssuer.type Role) itself.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from tests.test_engine_fast import gen_module
from trailhound.pipeline import scan
from trailhound.profiles import get_profile
from trailhound.rules.loader import load_paths
from trailhound.rules.model import RuleSet

RECORDS = 2500
ASSUME_ROLE_MISUSE = Path("sigmahq-sigma/rules/cloud/aws/cloudtrail/aws_sts_assumerole_misuse.yml")


def generated(folder: Path, assumed_roles: float | None) -> list[dict[str, Any]]:
    gen_module().generate(folder, RECORDS, seed=3, jobs=1, assumed_roles=assumed_roles)
    out: list[dict[str, Any]] = []
    for path in sorted(folder.rglob("*.json.gz")):
        if "CloudTrail-Digest" in path.parts:
            continue
        out.extend(json.loads(gzip.decompress(path.read_bytes()))["Records"])
    return out


@pytest.fixture(scope="module")
def assumed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    folder = tmp_path_factory.mktemp("ar")
    return folder, generated(folder, 0.8)


def _is_misuse(rec: dict[str, Any]) -> bool:
    ui = rec.get("userIdentity") or {}
    issuer = (ui.get("sessionContext") or {}).get("sessionIssuer") or {}
    return ui.get("type") == "AssumedRole" and issuer.get("type") == "Role"


def test_assumed_roles_make_the_asked_fraction_of_calls(assumed: tuple[Path, list[dict[str, Any]]]) -> None:
    _, recs = assumed
    assert len(recs) == RECORDS
    roles = [r for r in recs if r["userIdentity"].get("type") == "AssumedRole"]
    assert 0.76 <= len(roles) / len(recs) <= 0.84
    for r in roles:  # the shape of a role session (log-formats.md, userIdentity types)
        ui = r["userIdentity"]
        assert ui["arn"].startswith(f"arn:aws:sts::{ui['accountId']}:assumed-role/")
        assert ui["accessKeyId"].startswith("ASIA")
        assert ui["sessionContext"]["sessionIssuer"]["type"] == "Role"
        assert ui["principalId"].startswith(ui["sessionContext"]["sessionIssuer"]["principalId"] + ":")


def test_the_default_mix_keeps_few_assumed_roles(tmp_path: Path) -> None:
    recs = generated(tmp_path, None)
    share = sum(r["userIdentity"].get("type") == "AssumedRole" for r in recs) / len(recs)
    assert share < 0.06


@pytest.mark.parametrize("engine", ["fast", "reference"])
@pytest.mark.parametrize("spill_after", ["7", "1000000"])
def test_a_rule_firing_on_most_records_gives_plain_pythons_findings_in_order(
    assumed: tuple[Path, list[dict[str, Any]]], external: Path, engine: str, spill_after: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder, recs = assumed
    monkeypatch.setenv("TRAILHOUND_SPILL_AFTER", spill_after)
    rs, problems = load_paths([external / ASSUME_ROLE_MISUSE])
    assert not problems and len(rs.rules) == 1
    result = scan([str(folder)], get_profile("corrected"), ruleset=RuleSet(rs.rules), engine=engine)
    # every finding scores the rule's weight, so the order is event time, then event id
    want = sorted((r["eventTime"], r["eventID"]) for r in recs if _is_misuse(r))
    assert len(want) > 0.7 * RECORDS
    got = [(f.event.raw["eventTime"], f.event.event_id) for f in result.findings]
    assert got == want
    assert {f.score for f in result.findings} == {rs.rules[0].weight}
    assert all(f.copies == 1 and [r.id for r in f.rules] == [rs.rules[0].id] for f in result.findings)
