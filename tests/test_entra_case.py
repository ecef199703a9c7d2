"""Entra and Azure names compare without case (trailhound/identity.py): a user principal name
typed `Marcus.Okafor@ACME.example` at sign-in is the Activity Log's `marcus.okafor@acme.example`
(Entra matches UPNs case-insensitively). The correlation of a CLI sign-in with the role
enumeration and grant that follow must see one user; the output keeps each record's own text.
The events are the correlation rule's own test (the rule file), with the sign-in's UPN recased:
the expected correlation is the one that test expects."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.test_allowlist import run, th
from trailhound.rules import loader

CLI_CORRELATION = "5cc165ad-c3bb-4b92-a5e8-c102fa30d3f7"  # azure_cli_signin_recon_then_grant
RULE_FILE = Path(loader.__file__).parent / "packs" / "corrected" / "mr_azure_role_recon_then_grant.yml"


def _events(upn: str) -> list[dict[str, Any]]:
    doc = next(d for d in yaml.safe_load_all(RULE_FILE.read_text(encoding="utf-8"))
               if d["id"] == CLI_CORRELATION)
    events = next(t for t in doc["tests"] if t["match"] is True)["events"]
    events[0]["properties"]["userPrincipalName"] = upn
    return list(events)


def _write(tmp_path: Path, events: list[dict[str, Any]]) -> str:
    p = tmp_path / "azure.jsonl"
    p.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    return str(p)


@pytest.mark.parametrize("engine", ["reference", "fast"])
def test_sign_in_upn_in_another_case_is_the_same_user(
    tmp_path: Path, capsys: Any, engine: str
) -> None:
    logs = _write(tmp_path, _events("Marcus.Okafor@ACME.example"))
    code, rows, _ = run(capsys, "-q", "--engine", engine, logs)
    assert code == 0
    sign_in = [r for r in rows if r["userArn"] == "Marcus.Okafor@ACME.example"]
    assert len(sign_in) == 1  # the original text, not a folded one
    assert CLI_CORRELATION in {c["rule_id"] for c in sign_in[0]["correlations"]}


def test_another_user_is_not_folded_in(tmp_path: Path, capsys: Any) -> None:
    logs = _write(tmp_path, _events("Marcus.Okafor2@ACME.example"))
    code, rows, _ = run(capsys, "-q", "--engine", "reference", logs)
    assert code == 0
    assert all(CLI_CORRELATION not in {c["rule_id"] for c in r["correlations"]} for r in rows)


def test_principals_ranks_one_user_however_cased(tmp_path: Path) -> None:
    """`principals`: the CLI sign-in (`Marcus.Okafor@ACME.example`) and the Activity Log's
    operations (`marcus.okafor@acme.example`) are one principal, shown as a record names it."""
    logs = _write(tmp_path, _events("Marcus.Okafor@ACME.example"))
    p = th("principals", "-q", "--format", "jsonl", logs)
    assert p.returncode == 0, p.stderr
    got = [json.loads(x) for x in p.stdout.splitlines()]
    assert len(got) == 1
    assert got[0]["principal"] in {"Marcus.Okafor@ACME.example", "marcus.okafor@acme.example"}
    assert got[0]["findings"] == 3
