"""First-seen groups compare as identities do elsewhere (trailhound/identity.py): an Azure caller
spelled `Marcus.Okafor@ACME.example` in one record and `marcus.okafor@acme.example` in the next
is one principal's history; an AWS ARN compares exactly. The run's baseline reaches the gate as
a parameter (`trailhound.scan(..., baseline=)`), not through the environment.

Oracle: plain Python over the raw records (history = earlier records of the same group, groups
compared casefolded for Azure, exactly for AWS), not trailhound's output."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import trailhound
from tests.test_first_seen import A, flagged_by, login
from tests.test_first_seen import oracle as aws_oracle

RULE_ID = "6a0f3c52-8e1d-4b7a-9f25-0d4c1e2b3a41"
RULE = f"""\
title: Azure role assigned from an address new for the caller
id: {RULE_ID}
status: test
author: trailhound tests
level: medium
logsource: {{product: azure, service: activitylogs}}
detection:
  sel: {{operationName: Microsoft.Authorization/roleAssignments/write}}
  condition: sel
first_seen:
  field: callerIpAddress
  group-by: [caller]
"""
CALLS = [("Marcus.Okafor@ACME.example", "198.51.100.1"), ("marcus.okafor@acme.example", "198.51.100.1"),
         ("MARCUS.OKAFOR@acme.example", "203.0.113.9"), ("marcus.okafor@ACME.example", "203.0.113.9"),
         ("Other@acme.example", "192.0.2.1")]


def _grant(n: int, caller: str, ip: str) -> dict[str, Any]:
    return {"time": f"2026-03-14T10:{n:02d}:00Z", "eventDataId": f"ev-{n}",
            "operationName": "Microsoft.Authorization/roleAssignments/write",
            "category": "Administrative", "resultType": "Success", "callerIpAddress": ip,
            "caller": caller, "correlationId": f"op-{n}"}


RECORDS = [_grant(n, c, ip) for n, (c, ip) in enumerate(CALLS)]


def azure_oracle(records: list[dict[str, Any]], known: set[tuple[str, str]]) -> set[str]:
    """ids of grants whose address is new for a caller (any case) with earlier history."""
    pairs = {(g.casefold(), v) for g, v in known}
    groups = {g for g, _ in pairs}
    out = set()
    for r in records:
        pair = (r["caller"].casefold(), r["callerIpAddress"])
        if pair not in pairs and pair[0] in groups:
            out.add(r["eventDataId"])
        pairs.add(pair)
        groups.add(pair[0])
    return out


@pytest.fixture
def files(tmp_path: Path) -> tuple[str, str]:
    (tmp_path / "rule.yml").write_text(RULE)
    (tmp_path / "activity.jsonl").write_text("".join(json.dumps(r) + "\n" for r in RECORDS))
    return str(tmp_path / "rule.yml"), str(tmp_path / "activity.jsonl")


@pytest.mark.parametrize("engine", ["reference", "fast"])
def test_an_azure_caller_in_another_case_is_the_same_history(
    files: tuple[str, str], engine: str
) -> None:
    rule, logs = files
    result = trailhound.scan([logs], "corrected", rules=[rule], engine=engine)
    expected = azure_oracle(RECORDS, set())
    assert expected == {"ev-2"}  # the oracle itself: the second address, once, whatever the case
    assert flagged_by(result, RULE_ID) == expected


def test_a_baseline_group_in_another_case_is_known(files: tuple[str, str], tmp_path: Path) -> None:
    """The baseline names the caller as another record spelled it: its pair is not new, and the
    group has history, so the caller's next new address is."""
    rule, logs = files
    known = {("MARCUS.okafor@Acme.Example", "203.0.113.9")}
    base = tmp_path / "baseline.jsonl"
    base.write_text("".join(json.dumps({"group": [g], "value": [v]}) + "\n" for g, v in known))
    result = trailhound.scan([logs], "corrected", rules=[rule], baseline=str(base))
    expected = azure_oracle(RECORDS, known)
    assert expected == {"ev-0"}  # the oracle: the first grant's address is new for a known caller
    assert flagged_by(result, RULE_ID) == expected


def test_aws_arns_still_compare_exactly(tmp_path: Path) -> None:
    """An ARN in another case is another principal (IAM names are case-sensitive): its first
    login is its own history, not a new address of the first."""
    other = A.replace("alice", "Alice")
    records = [login(0, A, "198.51.100.1"), login(1, other, "203.0.113.9"), login(2, A, "203.0.113.9")]
    trail = tmp_path / "trail.json"
    trail.write_text(json.dumps({"Records": records}))
    from trailhound.rules.related_ids import related_id

    result = trailhound.scan([str(trail)])
    expected = aws_oracle(records, set())
    assert expected == {"ev-2"}
    assert flagged_by(result, related_id("aws_console_login_new_source")) == expected


def test_the_baseline_is_the_callers_not_the_environments(
    files: tuple[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A scan without `baseline=` uses none, whatever the environment holds (the variable the
    CLI once set for the process is not read)."""
    rule, logs = files
    base = tmp_path / "baseline.jsonl"
    base.write_text(json.dumps({"group": ["marcus.okafor@acme.example"], "value": ["203.0.113.9"]}))
    monkeypatch.setenv("TRAILHOUND_FIRST_SEEN_BASELINE", str(base))
    result = trailhound.scan([logs], "corrected", rules=[rule])
    assert flagged_by(result, RULE_ID) == azure_oracle(RECORDS, set()) == {"ev-2"}


def test_a_watch_cycle_takes_the_baseline_option(tmp_path: Path) -> None:
    """`detect --state --baseline` (watch/history.py loads the history): the baseline given on
    the command line reaches the gate, cycle after cycle."""
    from click.testing import CliRunner

    from trailhound.cli.app import cli

    logs, db = tmp_path / "logs", str(tmp_path / "s.db")
    logs.mkdir()
    rule = tmp_path / "rule.yml"
    rule.write_text(RULE)
    known = {("marcus.okafor@acme.example", "203.0.113.9")}
    base = tmp_path / "baseline.jsonl"
    base.write_text("".join(json.dumps({"group": [g], "value": [v]}) + "\n" for g, v in known))
    got: set[str] = set()
    for i in range(0, len(RECORDS), 2):  # two cycles of two grants, then one
        (logs / f"f{i}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in RECORDS[i:i + 2]))
        res = CliRunner().invoke(cli, [
            "detect", "--state", db, "--baseline", str(base), "--rules", str(rule),
            "--profile", "corrected", "--format", "jsonl", "-q", "--engine", "reference", str(logs)])
        assert res.exit_code == 0, res.output
        got |= {a["eventID"] for a in map(json.loads, res.stdout.splitlines())
                if a["rule_id"] == RULE_ID}
    assert got == azure_oracle(RECORDS, known) == {"ev-0"}
