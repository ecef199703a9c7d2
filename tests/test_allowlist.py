"""Allowlists (`--allow`), `--no-default-filters` and the summary's per-entry counts.

Expected findings come from plain Python: over the raw records written by the test, or over
the rows of an unfiltered run (the entry's match fields checked with fnmatch / ipaddress, not
with trailhound's Sigma machinery), never from the filtered run's own output.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import json
import re
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from tests.test_profiles_defects import ct
from trailhound.cli.app import main
from trailhound.demo import dataset_path
from trailhound.errors import AllowlistError
from trailhound.tuning.allowlist import load_allowlists

DEMO = str(dataset_path())
PRIV_ESC = "7a81c666-1d2a-5990-b450-8eb64f719274"  # corrected pack: AWS permissions granted
ENGINES = ["reference", "parallel", "fast"]


def run(capsys: Any, *args: str) -> tuple[int, list[dict[str, Any]], str]:
    """trailhound in-process (cli.app.main): exit code, JSONL rows, stderr."""
    with pytest.raises(SystemExit) as ex:
        main(["detect", "--format", "jsonl", *args])
    out, err = capsys.readouterr()
    return int(ex.value.code or 0), [json.loads(x) for x in out.splitlines()], err


def th(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "trailhound", *args],
        capture_output=True, text=True, timeout=120, check=False,
    )


def key(r: dict[str, Any]) -> tuple[str, str]:
    return (r["origin"], r["eventID"])


def op(r: dict[str, Any]) -> str | None:
    return r["eventName"] or r["operationName"]


def removed_line(err: str, path: Path, line: int) -> int:
    m = re.search(rf"allowlist {re.escape(str(path))}:{line} \(.*\): (\d+) findings? removed", err)
    assert m, err
    return int(m.group(1))


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# ---------------------------------------------------------------------------------------------
# Removal is exact, on the demo (oracle: the unfiltered run's rows)


@pytest.fixture(scope="module")
def demo_rows() -> list[dict[str, Any]]:
    p = th("detect", "--format", "jsonl", "-q", "--engine", "reference", DEMO)
    assert p.returncode == 0, p.stderr
    return [json.loads(x) for x in p.stdout.splitlines()]


@pytest.mark.parametrize("engine", ENGINES)
def test_principal_glob_and_event_remove_exactly_their_findings(
    tmp_path: Path, capsys: Any, demo_rows: list[dict[str, Any]], engine: str
) -> None:
    """The pipeline lookup: a principal ARN glob and its events (Lambda code updates)."""
    allow = write(
        tmp_path / "allow.yml",
        "allow:\n"
        "  - principal: 'ci-deployer@*.iam.gserviceaccount.com'\n"
        "    event: [google.iam.admin.v1.CreateServiceAccountKey, v1.compute.instances.insert]\n"
        "    reason: CI deploys infrastructure\n"
        "  - principal: arn:aws:sts::111122223333:assumed-role/deploy-prod/*\n"
        "    event: UpdateFunctionCode*\n"
        "    reason: deployment pipeline\n",
    )

    def gone1(r: dict[str, Any]) -> bool:
        return fnmatch.fnmatchcase(r["userArn"] or "", "ci-deployer@*.iam.gserviceaccount.com") and op(
            r
        ) in ("google.iam.admin.v1.CreateServiceAccountKey", "v1.compute.instances.insert")

    def gone2(r: dict[str, Any]) -> bool:
        return fnmatch.fnmatchcase(
            r["userArn"] or "", "arn:aws:sts::111122223333:assumed-role/deploy-prod/*"
        ) and (op(r) or "").startswith("UpdateFunctionCode")

    want = [r for r in demo_rows if not gone1(r) and not gone2(r)]
    n1 = sum(map(gone1, demo_rows))
    n2 = sum(map(gone2, demo_rows))
    assert n1 == 5 and n2 == 1  # the fixture means something
    code, rows, err = run(capsys, "--engine", engine, "--allow", str(allow), DEMO)
    assert code == 0
    assert {key(r) for r in rows} == {key(r) for r in want}
    assert removed_line(err, allow, 2) == n1
    assert removed_line(err, allow, 5) == n2


def test_entry_for_named_rules_removes_only_those_signals(
    tmp_path: Path, capsys: Any, demo_rows: list[dict[str, Any]]
) -> None:
    """`rules:` (by title) scopes an entry: other rules still flag the same events."""
    allow = write(
        tmp_path / "a.yml",
        "- principal: arn:aws:iam::111122223333:user/aws-support-sync\n"
        "  rules: ['AWS permissions granted or credentials minted']\n"
        "  reason: support tooling\n",
    )
    code, rows, err = run(capsys, "--engine", "reference", "--allow", str(allow), DEMO)
    assert code == 0
    want: dict[tuple[str, str], float] = {}
    removed = 0
    for r in demo_rows:
        hit = r["userArn"] == "arn:aws:iam::111122223333:user/aws-support-sync"
        sigs = [s for s in r["signals"] if not (hit and s["rule_id"] == PRIV_ESC)]
        if any(not s["context"] for s in sigs):
            want[key(r)] = sum(s["weight"] for s in sigs)
        else:
            removed += 1
    assert removed >= 2
    assert {key(r): r["suspicion_score"] for r in rows} == want
    assert removed_line(err, allow, 1) == removed


def test_csv_lookup_table_all_named_columns_must_hold(tmp_path: Path, capsys: Any) -> None:
    """CSV: one entry per row; principal AND cidr must both hold (oracle: the raw records)."""
    recs = [
        ct("CreateUser", n=1, sourceIPAddress="10.1.2.3"),
        ct("CreateUser", n=2, sourceIPAddress="198.51.100.20"),
        ct("CreateAccessKey", n=3, sourceIPAddress="10.9.9.9",
           userIdentity={"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/bob"}),
        ct("AttachUserPolicy", n=4, sourceIPAddress="10.4.4.4", userAgent="terraform/1.7"),
    ]
    logs = tmp_path / "ct.jsonl"
    logs.write_text("".join(json.dumps(r) + "\n" for r in recs), encoding="utf-8")
    table = write(
        tmp_path / "corp.csv",
        "principal,cidr,user_agent,reason\n"
        "arn:aws:iam::111122223333:user/mallory,10.0.0.0/8,,corporate egress\n"
        ",,terraform/*,infrastructure as code\n",
    )

    def row2(rec: dict[str, Any]) -> bool:
        ip = ipaddress.ip_address(rec["sourceIPAddress"])
        return rec["userIdentity"]["arn"] == "arn:aws:iam::111122223333:user/mallory" and ip in (
            ipaddress.ip_network("10.0.0.0/8")
        )

    def row3(rec: dict[str, Any]) -> bool:
        return fnmatch.fnmatchcase(rec["userAgent"], "terraform/*")

    def allowed(rec: dict[str, Any]) -> bool:
        return row2(rec) or row3(rec)

    code, all_rows, _ = run(capsys, "-q", "--engine", "reference", str(logs))
    assert len(all_rows) == 4
    code, rows, err = run(capsys, "--engine", "reference", "--allow", str(table), str(logs))
    assert code == 0
    assert sorted(r["eventID"] for r in rows) == sorted(
        r["eventID"] for r in recs if not allowed(r)
    )
    # an event both rows allow counts for each (tuning/removed.py)
    assert removed_line(err, table, 2) == sum(map(row2, recs)) == 2
    assert removed_line(err, table, 3) == sum(map(row3, recs)) == 1


def test_account_entry_and_raw_key_cannot_pose_as_normalized_field(
    tmp_path: Path, capsys: Any
) -> None:
    """The Organizations management account; a record carrying a raw `trailhound` key with the
    allowed value is still judged by its real (normalized) account."""
    recs = [
        ct("CreatePolicy", n=1, recipientAccountId="999988887777"),
        ct("AttachRolePolicy", n=2, recipientAccountId="999988887777"),
        ct("AttachUserPolicy", n=3, recipientAccountId="999988887777"),
        ct("CreateUser", n=4, trailhound={"account": "999988887777"}),
    ]
    by_id = {r["eventID"]: r for r in recs}
    logs = tmp_path / "ct.jsonl"
    logs.write_text("".join(json.dumps(r) + "\n" for r in recs), encoding="utf-8")
    allow = write(tmp_path / "org.yml", "- account: 999988887777\n  reason: org management\n")
    _, before, _ = run(capsys, "-q", "--engine", "reference", str(logs))
    want = [r["eventID"] for r in before if by_id[r["eventID"]]["recipientAccountId"] != "999988887777"]
    code, rows, err = run(capsys, "--engine", "reference", "--allow", str(allow), str(logs))
    assert code == 0
    assert [r["eventID"] for r in rows] == want == [recs[3]["eventID"]]
    assert removed_line(err, allow, 1) == len(before) - len(want) >= 2


def test_expired_entry_is_reported_and_not_applied(
    tmp_path: Path, capsys: Any, demo_rows: list[dict[str, Any]]
) -> None:
    allow = write(
        tmp_path / "old.yml",
        "- principal: '*'\n  reason: forgotten\n  expires: 2020-01-31\n",
    )
    code, rows, err = run(capsys, "--engine", "reference", "--allow", str(allow), DEMO)
    assert code == 0
    assert rows == demo_rows
    assert f"allowlist {allow}:1 (forgotten): expired on 2020-01-31, not applied" in err


def test_expiry_day_itself_still_applies(tmp_path: Path) -> None:
    f = write(tmp_path / "a.yml", "- event: X\n  expires: 2026-03-14\n")
    assert load_allowlists([str(f)], today=date(2026, 3, 14)).entries
    assert load_allowlists([str(f)], today=date(2026, 3, 15)).expired


def test_no_default_filters_shows_what_the_shipped_filter_hides(
    capsys: Any, demo_rows: list[dict[str, Any]]
) -> None:
    code, rows, _ = run(capsys, "-q", "--engine", "reference", "--no-default-filters", DEMO)
    assert code == 0
    before = {key(r) for r in demo_rows}
    new = [r for r in rows if key(r) not in before]
    assert new and before <= {key(r) for r in rows}
    # exactly what the filter describes: AWS services' privilege-escalation matches
    assert all(r["identityType"] == "AWSService" for r in new)
    assert all(any(s["rule_id"] == PRIV_ESC for s in r["signals"]) for r in new)
    assert not any(r["identityType"] == "AWSService" for r in demo_rows)


# ---------------------------------------------------------------------------------------------
# Malformed files: one line naming file, line and field; exit 2; no traceback


@pytest.mark.parametrize(
    "name,text,line,field",
    [
        ("a.yml", "allow:\n  - principal: x\n    cidr: 10.0.0.300/8\n", 3, "cidr"),
        ("b.yml", "- principal: x\n  reasn: typo\n", 2, "reasn"),
        ("c.yml", "- principal: x\n  expires: next week\n", 2, "expires"),
        ("d.yml", "- reason: allows everything\n", 1, None),
        ("e.csv", "principal,provider\narn:x,aws\narn:y,awss\n", 3, "provider"),
        ("f.csv", "principal,reasn\narn:x,y\n", 1, "reasn"),
        ("g.yml", "- principal: [x\n  event: y\n", 2, None),
        ("h.yml", "- principal: x\n  rules: [no-such-rule]\n", 2, "rules"),
        ("i.yml", "- principal: a\n- just text\n", 2, None),
    ],
)
def test_malformed_file_one_error_line(
    tmp_path: Path, name: str, text: str, line: int, field: str | None
) -> None:
    f = write(tmp_path / name, text)
    p = th("demo", "-q", "--allow", str(f))
    assert p.returncode == 2
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1, p.stderr
    assert lines[0].startswith(f"trailhound: error: {f}:{line}: ")
    if field is not None:
        assert f"field {field!r}" in lines[0]
    assert "Traceback" not in p.stderr and p.stdout == ""


def test_error_names_structured_location(tmp_path: Path) -> None:
    f = write(tmp_path / "x.yml", "- principal: a\n- user_agent: {nested: 1}\n")
    with pytest.raises(AllowlistError) as ex:
        load_allowlists([str(f)])
    assert (ex.value.path, ex.value.line, ex.value.field) == (str(f), 2, "user_agent")


def test_unknown_field_suggests_the_close_name(tmp_path: Path) -> None:
    f = write(tmp_path / "x.yml", "- princpal: a\n")
    with pytest.raises(AllowlistError, match="Did you mean 'principal'"):
        load_allowlists([str(f)])


def test_readme_tuning_examples_load(tmp_path: Path) -> None:
    """The README's allowlist examples are valid files (docs cannot drift from the parser)."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    tuning = readme.split("## Tuning", 1)[1]
    yml = re.search(r"```yaml\n(.*?)```", tuning, re.DOTALL)
    table = re.search(r"```csv\n(.*?)```", tuning, re.DOTALL)
    assert yml and table
    y = write(tmp_path / "r.yml", yml.group(1))
    c = write(tmp_path / "r.csv", "\n".join(ln.strip() for ln in table.group(1).splitlines()) + "\n")
    got = load_allowlists([str(y), str(c)], today=date(2026, 12, 6))
    assert len(got.entries) == 4 and not got.expired
    assert [dict(e.match).keys() for e in got.entries][1] == {"principal", "cidr", "user_agent"}


def test_unquoted_account_ids_keep_their_digits(tmp_path: Path) -> None:
    """YAML 1.1 reads 012345670123 as an octal integer; an allowlist must not."""
    f = write(tmp_path / "a.yml", "- account: 012345670123\n- account: 111122223333\n")
    got = load_allowlists([str(f)])
    assert [dict(e.match)["account"] for e in got.entries] == [("012345670123",), ("111122223333",)]


def test_cidr_entry_covers_m365_records_logged_with_a_port(
    tmp_path: Path, capsys: Any, demo_rows: list[dict[str, Any]]
) -> None:
    """The UAL writes ClientIP with the client's port (`198.51.100.23:44236`): a cidr entry for
    the address removes those M365 findings as it does the same address's Azure and Entra ones.
    Oracle: the demo's raw M365 records (address split from the port with ipaddress here)."""
    net = ipaddress.ip_network("198.51.100.23/32")
    raw = json.loads((Path(DEMO) / "m365" / "audit-general_2026-03-14.json").read_text())

    def host(value: str) -> str:
        return value.rpartition(":")[0] if value.count(":") == 1 else value

    ported = {
        r["Id"]
        for r in raw
        if ":" in r["ClientIP"] and ipaddress.ip_address(host(r["ClientIP"])) in net
    }
    gone_m365 = [r for r in demo_rows if r["provider"] == "m365" and r["eventID"] in ported]
    assert gone_m365  # the fixture means something: findings on records logged with a port

    def gone(r: dict[str, Any]) -> bool:
        return r["eventID"] in ported or (
            r["sourceIP"] is not None and ipaddress.ip_address(host(r["sourceIP"])) in net
        )

    allow = write(
        tmp_path / "allow.yml", "allow:\n  - cidr: 198.51.100.23/32\n    reason: office NAT\n"
    )
    code, rows, err = run(capsys, "--engine", "reference", "--allow", str(allow), DEMO)
    assert code == 0
    assert {key(r) for r in rows} == {key(r) for r in demo_rows if not gone(r)}
    # Counted: the gone findings a rule of their own made (an event only a correlation made a
    # finding is not counted: tuning/removed.py).
    def own(r: dict[str, Any]) -> bool:
        corr = {c["rule_id"] for c in r.get("correlations") or []}
        return any(s["rule_id"] not in corr and not s["context"] for s in r["signals"])

    assert removed_line(err, allow, 2) == sum(gone(r) and own(r) for r in demo_rows)
