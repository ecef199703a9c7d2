"""`trailhound rules check` / `rules list` and `detect --rules` (rules/check.py, cli/rules_cmd.py).

The SigmaHQ accounting test pins the exact split observed over the 252 cloud rule files in
../shared/data/external/sigmahq-sigma, so that a rule that stops loading (or starts to) shows.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.test_profiles_defects import ct
from trailhound.engine.reference import compile_rule
from trailhound.errors import UsageError
from trailhound.rules.check import check_paths, merge_rulesets, read_placeholders
from trailhound.rules.loader import load_pack

ESC = "\x1b[2J\x1b]0;pwned\x07"


def th(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "trailhound", *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )


def rule_doc(detection: str, logsource: str = "aws/cloudtrail", **extra: Any) -> dict[str, Any]:
    product, _, service = logsource.partition("/")
    return {
        "title": extra.pop("title", "user rule"),
        "id": extra.pop("id", str(uuid.uuid4())),
        "logsource": {"product": product, "service": service},
        "detection": yaml.safe_load(textwrap.dedent(detection)),
        "level": "high",
        **extra,
    }


def write(path: Path, *docs: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump_all(docs), encoding="utf-8")
    return path


GOOD = "sel: {eventName: StopLogging}\ncondition: sel"
AGGREGATION = "sel: {eventName: ListBuckets}\ncondition: sel | count() > 5"
PLACEHOLDER = "sel: {eventName: ConsoleLogin}\nok: {userIdentity.arn|expand: '%Admins%'}\ncondition: sel and not ok"

# ---------------------------------------------------------------------------------------------
# SigmaHQ: every one of the 252 files accounted for

PLACEHOLDER_FILES = {
    "deprecated/cloud/azure_ad_account_signin_outside_hours.yml": {"ClosingTime", "LegitCountries"},
    "deprecated/cloud/azure_privileged_account_no_saw_paw.yml": {
        "LegitCountries",
        "UnApprovedDevice",
        "UnApprovedIp",
    },
    "deprecated/cloud/azure_privileged_account_signin_outside_hours.yml": {
        "ApprovedUserUpn",
        "ClosingTime",
        "LegitCountries",
    },
    "rules-placeholder/cloud/aws/cloudtrail/aws_cloudtrail_console_login_success_from_susp_locations.yml": {
        "Legitimate_Countries",
        "Legitimate_IP_Ranges",
    },
    "rules-placeholder/cloud/azure/audit_logs/azure_ad_account_created_deleted_nonapproved_user.yml": {
        "ApprovedUserUpn"
    },
    "rules-placeholder/cloud/azure/audit_logs/azure_ad_guest_users_invited_to_tenant_by_non_approved_inviters.yml": {
        "Approved_Inviters"
    },
    "rules-placeholder/cloud/azure/signin_logs/azure_ad_auth_to_important_apps_using_single_factor_auth.yml": {
        "Important_AppIds"
    },
    "rules-placeholder/cloud/azure/signin_logs/azure_ad_authentications_from_countries_you_do_not_operate_out_of.yml": {
        "Known_Location"
    },
    "rules-placeholder/cloud/azure/signin_logs/azure_ad_failed_auth_from_countries_you_do_not_operate_out_of.yml": {
        "KNOWN_LOCATION"
    },
    "rules-placeholder/cloud/azure/signin_logs/azure_privileged_account_sigin_expected_controls.yml": {
        "UnApprovedDevice",
        "UnApprovedIp",
        "UnLegitCountries",
    },
    "rules-placeholder/cloud/azure/signin_logs/azure_users_authenticating_to_other_azure_ad_tenants.yml": {
        "HomeTenantID"
    },
}
AGGREGATION_FILES = {
    "unsupported/cloud/aws_ec2_download_userdata.yml": "selection_source | count() > 10",
    "unsupported/cloud/aws_enum_backup.yml": "selection | count() > 5",
    "unsupported/cloud/aws_enum_listing.yml": "selection_eventname | count() > 50",
    "unsupported/cloud/aws_enum_network.yml": "selection | count() > 5",
    "unsupported/cloud/aws_enum_storage.yml": "selection | count() > 5",
    "unsupported/cloud/aws_lambda_function_created_or_invoked.yml": "selection1 | near selection2",
    "unsupported/cloud/aws_macic_evasion.yml": "selection | count() by sourceIPAddress > 5",
    "unsupported/cloud/azure_aad_secops_signin_failure_bad_password_threshold.yml": (
        "selection and not filter_computer | count(TargetUserName) by IpAddress > 10"
    ),
}
# Loaded, but for a log source trailhound reads no records of: folder -> files
NEVER_APPLY = {
    "rules/cloud/azure/identity_protection": 19,
    "rules/cloud/azure/privileged_identity_management": 7,
    "rules/cloud/m365/threat_management": 13,
    "rules/cloud/m365/exchange": 1,
    "rules/cloud/m365/threat_detection": 1,
}
# Loaded and applicable, but a field is deliberately unmapped (pipelines.NOT_MAPPED)
UNMAPPED_FIELDS = {
    "deprecated/cloud/azure_ad_auth_failure_increase.yml": "Count",
    "deprecated/cloud/azure_ad_auth_sucess_increase.yml": "Count",
    "rules/cloud/aws/cloudtrail/aws_delete_saml_provider.yml": "status",
    "rules/cloud/azure/audit_logs/azure_app_end_user_consent.yml": "ConsentContext.IsAdminConsent",
    "rules/cloud/azure/audit_logs/azure_auditlogs_laps_credential_dumping.yml": "additionalDetails.additionalInfo",
    "rules/cloud/azure/signin_logs/azure_app_device_code_authentication.yml": "properties.message",
    "rules/cloud/azure/signin_logs/azure_app_ropc_authentication.yml": "properties.message",
    "rules/cloud/azure/signin_logs/azure_legacy_authentication_protocols.yml": "ActivityDetails",
    "rules/cloud/gcp/gworkspace/admin/gcp_gworkspace_application_access_levels_modified.yml": "setting_name",
    "rules/cloud/gcp/gworkspace/admin/gcp_gworkspace_mfa_disabled.yml": "new_value",
    "rules/cloud/m365/audit/microsoft365_bypass_conditional_access.yml": "RequestType",
}


@pytest.fixture(scope="module")
def sigmahq(external: Path) -> Path:
    return external / "sigmahq-sigma"


def rel(root: Path, p: str) -> str:
    return str(Path(p).relative_to(root))


def test_every_sigmahq_file_is_accounted_for(sigmahq: Path) -> None:
    result = check_paths([sigmahq])
    by_file = {rel(sigmahq, f.path): f for f in result.files}
    assert len(by_file) == len(list(sigmahq.rglob("*.yml"))) == 252
    refused = {p: f for p, f in by_file.items() if not f.ok}
    assert len(refused) == 19 and not result.ok
    assert (
        result.summary()
        == "252 files: 233 loaded (52 with notes), 19 refused (8 aggregation, 11 placeholder)"
    )

    assert {p for p, f in refused.items() if f.refused[0].kind == "placeholder"} == set(
        PLACEHOLDER_FILES
    )
    assert {p for p, f in refused.items() if f.refused[0].kind == "aggregation"} == set(
        AGGREGATION_FILES
    )
    for p, names in PLACEHOLDER_FILES.items():
        (why,) = refused[p].refused
        listed = {
            n.strip("%,")
            for n in str(why).split(" have no value")[0].split(" has no value")[0].split()[1:]
        }
        assert listed == names, (p, str(why))
        assert "--placeholders FILE" in str(why)
    for p, cond in AGGREGATION_FILES.items():
        (why,) = refused[p].refused
        assert str(why) == (
            f"aggregation: condition {cond!r} uses the pipe syntax Sigma 2 replaced with "
            "correlation rules; rewrite it as a correlation"
        )
    for p, f in by_file.items():
        line = f.line()
        assert "\n" not in line and line.startswith(f.path + ": ")
        assert line.endswith("loaded") or "loaded; " in line or f"refused: {f.refused[0]}" in line

    # every file that loaded holds exactly one rule, and every one of them compiles
    assert all(f.loaded == 1 for f in by_file.values() if f.ok)
    assert len(result.ruleset.rules) == 233
    for r in result.ruleset.rules:
        compile_rule(r)

    never = Counter(
        str(Path(p).parent)
        for p, f in by_file.items()
        if any(n.startswith("never applies: trailhound reads no ") for n in f.notes)
    )
    assert never == NEVER_APPLY
    unmapped = {
        p: n.split("'")[1] for p, f in by_file.items() for n in f.notes if n.startswith("field ")
    }
    assert unmapped == UNMAPPED_FIELDS


ALL_PLACEHOLDERS = {
    "LegitCountries": ["GB"],
    "ClosingTime": ["2026-01-01T22:*"],
    "UnApprovedIp": ["203.0.113.*"],
    "UnApprovedDevice": ["dev-9"],
    "ApprovedUserUpn": ["admin@example.com"],
    "Legitimate_Countries": ["GB", "FR"],
    "Legitimate_IP_Ranges": ["198.51.100.*", "10.*"],
    "Approved_Inviters": ["admin@example.com"],
    "Important_AppIds": ["app-1"],
    "Known_Location": ["GB"],
    "KNOWN_LOCATION": ["GB"],
    "UnLegitCountries": ["RU"],
    "HomeTenantID": ["t-1"],
}


def test_placeholder_values_make_the_placeholder_rules_load(sigmahq: Path) -> None:
    result = check_paths([sigmahq], ALL_PLACEHOLDERS)
    # the five rules that now load and name a field no export has say so (Date, DeviceInfo, ...)
    assert result.summary() == "252 files: 244 loaded (57 with notes), 8 refused (8 aggregation)"
    f = sigmahq / next(p for p in PLACEHOLDER_FILES if "/aws/" in p)
    (r,) = check_paths([f], ALL_PLACEHOLDERS).ruleset.rules
    login = {
        "eventSource": "signin.amazonaws.com",
        "eventName": "ConsoleLogin",
        "responseElements": {"ConsoleLogin": "Success"},
    }
    pred = compile_rule(r)
    assert pred({**login, "sourceIPAddress": "203.0.113.5"})  # not a legitimate range: flagged
    assert not pred({**login, "sourceIPAddress": "198.51.100.5"})  # src_ip -> sourceIPAddress
    assert not pred(
        {**login, "sourceIPAddress": "203.0.113.5", "responseElements": {"ConsoleLogin": "Failure"}}
    )


# ---------------------------------------------------------------------------------------------
# Per-file lines on hand-made files


def test_lines_per_file(tmp_path: Path) -> None:
    good_id = str(uuid.uuid4())
    write(tmp_path / "a_good.yml", rule_doc(GOOD, id=good_id))
    write(tmp_path / "b_mixed.yml", rule_doc(GOOD), rule_doc(AGGREGATION))
    (tmp_path / "c_broken.yml").write_text("title: [unclosed\n", encoding="utf-8")
    write(tmp_path / "d_dup.yml", rule_doc(GOOD, id=good_id))
    (tmp_path / "e_empty.yml").write_text("# nothing yet\n", encoding="utf-8")
    write(
        tmp_path / "f_modifier.yml", rule_doc("sel: {eventName|nosuchmodifier: x}\ncondition: sel")
    )
    write(
        tmp_path / "g_filter.yml",
        {
            "title": "f",
            "id": str(uuid.uuid4()),
            "logsource": {"product": "aws", "service": "cloudtrail"},
            "filter": {
                "rules": [good_id],
                "svc": {"userIdentity.type": "AWSService"},
                "condition": "not svc",
            },
        },
    )
    write(tmp_path / "h_placeholder.yml", rule_doc(PLACEHOLDER))
    result = check_paths([tmp_path])
    lines = [f.line().removeprefix(str(tmp_path) + "/") for f in result.files]
    assert lines[0] == "a_good.yml: loaded"
    assert lines[1].startswith("b_mixed.yml: refused: aggregation: condition 'sel | count() > 5'")
    assert lines[1].endswith("(1 of 2 loaded)")
    assert lines[2].startswith("c_broken.yml: refused: not readable YAML: ")
    assert lines[3].startswith(f"d_dup.yml: refused: duplicate rule id {good_id} (first in ")
    assert lines[4] == "e_empty.yml: loaded (no rules in this file)"
    assert lines[5].startswith("f_modifier.yml: refused: ") and "nosuchmodifier" in lines[5]
    assert lines[6] == "g_filter.yml: loaded"
    assert (
        lines[7]
        == "h_placeholder.yml: refused: placeholder: %Admins% has no value (|expand); give values with --placeholders FILE"
    )
    assert result.summary() == "8 files: 3 loaded, 5 refused (1 aggregation, 3 load, 1 placeholder)"
    # the good rule of the mixed file still runs; the refused ones are not in the RuleSet
    assert len(result.ruleset.rules) == 2 and len(result.ruleset.filters) == 1
    assert {p.path for p in result.problems} == {
        str(tmp_path / n)
        for n in ("b_mixed.yml", "c_broken.yml", "d_dup.yml", "f_modifier.yml", "h_placeholder.yml")
    }


def test_missing_path_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        check_paths([tmp_path / "nope"])


@pytest.mark.parametrize(
    "name,text,error",
    [
        ("p.yml", "- a\n- b\n", "must be a map"),
        ("p.yml", "Admins: [{x: 1}]\n", "values must be strings or numbers"),
        ("p.yml", "Admins: []\n", "at least one value"),
        ("p.json", "{bad json", "not YAML/JSON"),
    ],
)
def test_placeholder_file_errors(tmp_path: Path, name: str, text: str, error: str) -> None:
    (tmp_path / name).write_text(text, encoding="utf-8")
    with pytest.raises(UsageError, match=error):
        read_placeholders(tmp_path / name)


def test_placeholder_file_not_utf8(tmp_path: Path) -> None:
    """A binary or Latin-1 file given to --placeholders: one line naming it, not a traceback."""
    (tmp_path / "p.yml").write_bytes(b"Admins: [caf\xe9]\n")
    with pytest.raises(UsageError, match=r"p\.yml: not a placeholder file: not UTF-8 text \(byte 12"):
        read_placeholders(tmp_path / "p.yml")


def test_placeholder_file_forms(tmp_path: Path) -> None:
    (tmp_path / "p.yml").write_text("Admins: alice\nPorts: [22, 3389]\n", encoding="utf-8")
    (tmp_path / "p.json").write_text('{"Admins": ["a", "b"]}', encoding="utf-8")
    assert read_placeholders(tmp_path / "p.yml") == {"Admins": ["alice"], "Ports": ["22", "3389"]}
    assert read_placeholders(tmp_path / "p.json") == {"Admins": ["a", "b"]}
    with pytest.raises(UsageError, match="cannot read"):
        read_placeholders(tmp_path / "missing.yml")


def test_merge_keeps_the_pack_and_drops_clashing_ids(tmp_path: Path) -> None:
    pack = load_pack("corrected")
    clash = pack.rules[0].id
    write(tmp_path / "u.yml", rule_doc(GOOD, id=clash), rule_doc(GOOD))
    user = check_paths([tmp_path]).ruleset
    merged, problems = merge_rulesets(pack, user)
    assert len(merged.rules) == len(pack.rules) + 1
    assert merged.rules[: len(pack.rules)] == pack.rules
    assert [p.reason for p in problems] == [
        f"duplicate rule id {clash} (the profile's pack has it)"
    ]


# ---------------------------------------------------------------------------------------------
# CLI


def test_cli_rules_check_exit_codes(tmp_path: Path) -> None:
    good = write(tmp_path / "good.yml", rule_doc(GOOD))
    p = th("rules", "check", str(good))
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines() == [f"{good}: loaded", "1 file: 1 loaded, 0 refused"]

    bad = write(tmp_path / "bad.yml", rule_doc(AGGREGATION))
    p = th("rules", "check", str(tmp_path))
    assert p.returncode == 1
    out = p.stdout.splitlines()
    assert out[0].startswith(f"{bad}: refused: aggregation: ") and out[1] == f"{good}: loaded"
    assert out[2] == "2 files: 1 loaded, 1 refused (1 aggregation)"

    p = th("rules", "check", str(tmp_path / "missing"))
    assert p.returncode == 2 and "no such rule file or folder" in p.stderr
    p = th("rules", "check")
    assert p.returncode == 2
    p = th("rules", "check", "--help")
    assert p.returncode == 0 and "1  some rule was refused" in p.stdout


def test_cli_rules_check_placeholders(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    write(rules / "p.yml", rule_doc(PLACEHOLDER))
    p = th("rules", "check", str(rules))
    assert p.returncode == 1 and "%Admins% has no value" in p.stdout
    values = tmp_path / "values.yml"
    values.write_text("Admins: ['arn:aws:iam::111122223333:user/admin*']\n", encoding="utf-8")
    p = th("rules", "check", "--placeholders", str(values), str(rules))
    assert p.returncode == 0, p.stdout
    p = th("rules", "check", "--placeholders", str(tmp_path / "nope.yml"), str(rules))
    assert p.returncode == 2 and "cannot read the placeholder file" in p.stderr


def test_cli_rules_check_escapes_file_names(tmp_path: Path) -> None:
    write(tmp_path / f"evil{ESC}.yml", rule_doc(AGGREGATION))
    p = th("rules", "check", str(tmp_path))
    assert p.returncode == 1
    assert "\x1b" not in p.stdout and "\x07" not in p.stdout
    assert "evil\\x1b[2J" in p.stdout


def test_cli_rules_list_paths(tmp_path: Path) -> None:
    good = rule_doc(GOOD, title="stop logging, user copy")
    write(tmp_path / "a.yml", good)
    write(tmp_path / "b.yml", rule_doc(AGGREGATION))
    p = th("rules", "list", str(tmp_path))
    assert p.returncode == 0
    assert p.stdout.splitlines() == [
        f"{good['id']}    3  -                aws/cloudtrail  stop logging, user copy"
    ]
    assert p.stderr.startswith(f"trailhound: refused: {tmp_path / 'b.yml'}: aggregation: ")
    p = th("rules", "list", "--profile", "corrected")  # the flagship pack alone
    assert p.returncode == 0 and len(p.stdout.splitlines()) == len(
        load_pack("corrected").rules
    ) + 1 + len(getattr(load_pack("corrected"), "correlations", ()))


def jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def test_cli_detect_rules_adds_user_rules_and_skips_refused(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    mine = rule_doc(
        "sel: {eventName: ListBuckets, userAgent|contains: s3browser}\ncondition: sel",
        title="S3 Browser listing",
    )
    write(rules / "mine.yml", mine)
    write(rules / f"broken{ESC}.yml", rule_doc(AGGREGATION))
    logs = jsonl(
        tmp_path / "in.jsonl",
        [
            ct("ListBuckets", "s3.amazonaws.com", 1, userAgent="S3Browser/10.9"),
            ct("ListBuckets", "s3.amazonaws.com", 2, userAgent="aws-cli/2"),
            ct("StopLogging", "cloudtrail.amazonaws.com", 3),
        ],
    )
    p = th("detect", "--format", "jsonl", "--rules", str(rules), str(logs))
    assert p.returncode == 3, p.stderr  # a refused rule is not a clean run (README, Exit codes)
    rows = [json.loads(x) for x in p.stdout.splitlines()]
    ids = {row["eventName"]: [s["rule_id"] for s in row["signals"]] for row in rows}
    assert ids.keys() == {"ListBuckets", "StopLogging"}  # the pack still runs
    assert ids["ListBuckets"] == [mine["id"]]
    skipped = [line for line in p.stderr.splitlines() if "rule skipped" in line]
    assert len(skipped) == 1 and skipped[0].startswith("trailhound: rule skipped: ")
    assert "aggregation" in skipped[0] and "\x1b" not in p.stderr and "broken\\x1b[2J" in skipped[0]
    assert "1 file, 3 records, 3 events, 2 findings" in p.stderr

    # repeatable, files or folders; a missing path is a usage error
    extra = write(tmp_path / "extra.yml", rule_doc("sel: {eventName: ListBuckets}\ncondition: sel"))
    p = th(
        "detect",
        "--format",
        "jsonl",
        "--rules",
        str(rules / "mine.yml"),
        "--rules",
        str(extra),
        str(logs),
    )
    assert p.returncode == 0 and len(p.stdout.splitlines()) == 3
    p = th("detect", "--rules", str(tmp_path / "nope"), str(logs))
    assert p.returncode == 2 and "no such rule file or folder" in p.stderr


def test_cli_demo_rules(tmp_path: Path) -> None:
    write(
        tmp_path / "r.yml",
        rule_doc("sel: {eventName: StopLogging}\ncondition: sel", title="user StopLogging"),
    )
    p = th("demo", "--format", "jsonl", "-q", "--rules", str(tmp_path / "r.yml"))
    assert p.returncode == 0, p.stderr
    titles = {s["title"] for x in p.stdout.splitlines() for s in json.loads(x)["signals"]}
    assert "user StopLogging" in titles


def test_cli_detect_runs_sigmahq_gcp_rules_on_a_raw_log_entry(
    sigmahq: Path, tmp_path: Path
) -> None:
    rule = sigmahq / "rules/cloud/gcp/audit/gcp_firewall_rule_modified_or_deleted.yml"
    rule_id = yaml.safe_load(rule.read_text(encoding="utf-8"))["id"]
    entry = {
        "logName": "projects/p1/logs/cloudaudit.googleapis.com%2Factivity",
        "timestamp": "2026-01-02T03:04:05Z",
        "insertId": "a1",
        "protoPayload": {
            "@type": "type.googleapis.com/google.cloud.audit.AuditLog",
            "serviceName": "compute.googleapis.com",
            "methodName": "v1.compute.firewalls.delete",
            "authenticationInfo": {"principalEmail": "eve@example.com"},
        },
    }
    logs = jsonl(tmp_path / "gcp.jsonl", [entry])
    p = th("detect", "--format", "jsonl", "--rules", str(sigmahq / "rules/cloud/gcp"), str(logs))
    assert p.returncode == 0, p.stderr
    (row,) = [json.loads(x) for x in p.stdout.splitlines()]
    assert [s["rule_id"] for s in row["signals"]] == [rule_id]
    assert "rule skipped" not in p.stderr
