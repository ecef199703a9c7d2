"""`export --to kql|esql --allow`: an allowlist entry reads the normalizer's raw paths
(export/normalized.py), which Sentinel's tables spell otherwise (AzureActivity's `CallerIpAddress`
for `callerIpAddress`, AuditLogs' dynamic `InitiatedBy` for `initiatedBy`). The entry must apply
there, or the export must say it does not (exit 3): never drop it silently. The expected column
names are the Azure Monitor Logs table reference's (learn.microsoft.com/azure/azure-monitor/
reference/tables/azureactivity, .../auditlogs), written here by hand."""

from __future__ import annotations

import re
from pathlib import Path

from tests.test_export_cli import run


def _leg(kql: str, table: str) -> list[str]:
    """The flag expressions of the rules that test something in `table`'s leg."""
    start = kql.index(f"({table}\n")
    end = kql.find("\n  (", start + 1)
    leg = kql[start:end if end > 0 else len(kql)]
    return re.findall(r"r\d+ = (iff\(.*), 1, 0\)", leg)


def test_renamed_columns_carry_the_entries(tmp_path: Path) -> None:
    allow = tmp_path / "allow.yml"
    allow.write_text(
        "- cidr: 10.20.0.0/16\n  provider: azure\n  reason: office network\n"
        "- principal: helpdesk.sync@acme.example\n  provider: azure\n  reason: sync account\n",
        encoding="utf-8",
    )
    p = run("--profile", "corrected", "--to", "kql", "--allow", str(allow))
    assert p.returncode == 0, p.stderr
    activity = _leg(p.stdout, "AzureActivity")
    audit = _leg(p.stdout, "AuditLogs")
    assert activity and audit
    for flag in activity:
        # (the address without the client's port: tests/test_export_ports.py)
        assert 'not(ipv4_is_in_range(case(CallerIpAddress matches regex' in flag, flag
        assert ', CallerIpAddress), "10.20.0.0/16"))' in flag, flag
        assert 'not(Caller =~ "helpdesk.sync@acme.example")' in flag, flag
    for flag in audit:
        # the initiator's address and UPN inside the dynamic InitiatedBy column
        assert 'not(ipv4_is_in_range(tostring(InitiatedBy.user.ipAddress), "10.20.0.0/16"))' in flag
        assert 'tostring(InitiatedBy.user.userPrincipalName) =~ "helpdesk.sync@acme.example"' in flag


def test_an_entry_no_column_holds_is_refused_by_name(tmp_path: Path) -> None:
    # AzureActivity has no user-agent column: the entry cannot apply there
    allow = tmp_path / "allow.yml"
    allow.write_text(
        "- user_agent: 'Terraform/*'\n  provider: azure\n  reason: pipelines\n", encoding="utf-8"
    )
    p = run("--profile", "corrected", "--to", "kql", "--allow", str(allow))
    assert p.returncode == 3
    named = [x for x in p.stderr.splitlines() if f"allowlist {allow}:1" in x]
    assert named and all("not exported to kql for AzureActivity" in x for x in named), p.stderr
    assert "Traceback" not in p.stderr
    assert "(AzureActivity" in p.stdout  # the rest is exported


def test_esql_names_the_entries_it_cannot_apply(tmp_path: Path) -> None:
    # the ES|QL target maps no Azure subscription field: an account entry cannot apply to the
    # Azure Activity integration's index, and must say so rather than vanish
    allow = tmp_path / "allow.yml"
    allow.write_text("- account: '111122223333'\n  reason: one account\n", encoding="utf-8")
    p = run("--profile", "corrected", "--to", "esql", "--allow", str(allow))
    assert p.returncode == 3
    named = [x for x in p.stderr.splitlines() if f"allowlist {allow}:1" in x]
    assert any("not exported to esql for azure.activitylogs" in x for x in named), p.stderr
    assert "Traceback" not in p.stderr


def _refused_sources(stderr: str) -> set[str]:
    """The log sources named by `not exported ... has no raw field in <source> records`."""
    return set(re.findall(r"has no raw field in (\w+) records", stderr))


def test_an_entry_scoped_to_another_provider_does_not_refuse_a_rule(tmp_path: Path) -> None:
    """Entra audit records have no user agent: an entry testing it can only be refused where it
    applies (every provider), not where its `provider` rules it out."""
    scoped, everywhere = tmp_path / "aws.yml", tmp_path / "all.yml"
    scoped.write_text("- user_agent: '*terraform*'\n  provider: aws\n  reason: ci\n", encoding="utf-8")
    everywhere.write_text("- user_agent: '*terraform*'\n  reason: ci\n", encoding="utf-8")
    for target in ("kql", "duckdb-sql", "splunk"):
        p = run("--profile", "corrected", "--to", target, "--allow", str(everywhere))
        assert _refused_sources(p.stderr) == {"entra_audit"}, (target, p.stderr)
        p = run("--profile", "corrected", "--to", target, "--allow", str(scoped))
        assert _refused_sources(p.stderr) == set(), (target, p.stderr)
        assert "terraform" in p.stdout.lower()  # applied where it applies (AWS)
    kql = run("--profile", "corrected", "--to", "kql", "--allow", str(scoped)).stdout
    audit = _leg(kql, "AuditLogs")
    assert audit and not any("terraform" in flag for flag in audit)  # no trace on Entra
    assert all('UserAgent contains "terraform"' in flag for flag in _leg(kql, "AWSCloudTrail"))
