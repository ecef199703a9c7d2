"""Microsoft 365 Unified Audit Log from bytes to findings: classification in every envelope,
the m365/audit field mapping (Management Activity API / Sentinel OfficeActivity / Panther),
SigmaHQ's m365 rules on the real samples, and an end-to-end `scan()` with a hand-written rule.
"""

from __future__ import annotations

import json
import textwrap
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from trailhound.engine.reference import compile_rule
from trailhound.model import Issue, RawRecord
from trailhound.normalize import normalize
from trailhound.pipeline import scan
from trailhound.profiles import get_profile
from trailhound.report.columns import row
from trailhound.rules.loader import load_paths
from trailhound.sources import read_bytes, read_paths
from trailhound.sources.classify import classify

T0 = "2026-03-14T10:00:00"


def ual(n: int, operation: str, **extra: Any) -> dict[str, Any]:
    """A Management Activity API record (Exchange admin shape), written by hand."""
    rec: dict[str, Any] = {
        "CreationTime": f"2026-03-14T10:{n:02d}:00",
        "Id": f"00000000-0000-4000-8000-{n:012d}",
        "Operation": operation,
        "OrganizationId": "5b7e1f3a-0000-4000-8000-00000000a001",
        "RecordType": 1,
        "ResultStatus": "True",
        "UserKey": "10032001A2B3C4D5",
        "UserType": 2,
        "Version": 1,
        "Workload": "Exchange",
        "ClientIP": "203.0.113.50:49152",
        "ObjectId": "contoso.onmicrosoft.com\\m.okafor",
        "UserId": "m.okafor@contoso.onmicrosoft.com",
        "Parameters": [{"Name": "Identity", "Value": "m.okafor@contoso.onmicrosoft.com"}],
    }
    rec.update(extra)
    return rec


def sentinel(operation: str, parameters: list[dict[str, str]], **extra: Any) -> dict[str, Any]:
    """A Sentinel OfficeActivity row: renamed columns, list columns as JSON text."""
    rec: dict[str, Any] = {
        "TenantId": "9d3c0000-0000-4000-8000-00000000beef",
        "TimeGenerated": f"{T0}Z",
        "Operation": operation,
        "OrganizationId": "5b7e1f3a-0000-4000-8000-00000000a001",
        "UserType": "Admin",
        "OfficeWorkload": "Exchange",
        "ResultStatus": "True",
        "UserId": "m.okafor@contoso.onmicrosoft.com",
        "ClientIP": "203.0.113.50",
        "OfficeObjectId": "contoso.onmicrosoft.com\\m.okafor",
        "Parameters": json.dumps(parameters),
        "OfficeId": "11111111-2222-4333-8444-555555555555",
        "Type": "OfficeActivity",
    }
    rec.update(extra)
    return rec


def split(items: list[RawRecord | Issue]) -> tuple[list[RawRecord], list[Issue]]:
    return (
        [i for i in items if isinstance(i, RawRecord)],
        [i for i in items if isinstance(i, Issue)],
    )


# -- classification --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        ual(1, "Set-Mailbox"),
        {"CreationTime": T0, "Operation": "UserLoggedIn", "RecordType": 15},  # no Workload
        {"creationtime": T0, "operation": "Set-Mailbox", "workload": "Exchange"},  # Panther
        sentinel("New-InboxRule", []),
        {k: v for k, v in sentinel("New-InboxRule", []).items() if k != "Type"},
    ],
)
def test_classified_as_m365_audit(data: dict[str, Any]) -> None:
    assert classify(data).source == "m365_audit"


def test_declared_panther_type_decides_for_trimmed_fragments() -> None:
    fragment = {"Operation": "Set-Mailbox"}
    assert classify(fragment).kind == "unknown_envelope"
    assert classify(fragment, "Microsoft365.Audit.Exchange").source == "m365_audit"


def test_envelopes() -> None:
    recs = [ual(1, "Set-Mailbox"), ual(2, "New-InboxRule")]
    jsonl = "".join(json.dumps(r) + "\n" for r in recs).encode()
    array = json.dumps(recs).encode()  # a Management Activity API content blob is an array
    panther = json.dumps(
        {"rule_id": "r", "log_type": "Microsoft365.Audit.Exchange", "log": recs[0]}
    ).encode()
    office = json.dumps(sentinel("New-InboxRule", [])).encode()
    for raw, envelope, n in [
        (jsonl, "jsonl", 2),
        (array, "json_array", 2),
        (panther, "panther_test", 1),
        (office, "single", 1),
    ]:
        records, issues = split(list(read_bytes(raw, "in.json")))
        assert issues == [], [str(i) for i in issues]
        assert [(r.source, r.envelope) for r in records] == [("m365_audit", envelope)] * n


def test_real_samples_are_read(external: Path) -> None:
    records, issues = split(
        list(
            read_paths(
                [
                    str(external / "plaso/jsonl/microsoft_audit_log.jsonl"),
                    str(
                        external
                        / "otrf-security-datasets/compound/GoldenSAMLADFSMailAccess"
                        / "OfficeActivityEvents.json"
                    ),
                ]
            )
        )
    )
    assert issues == []
    assert [r.source for r in records] == ["m365_audit"] * 5
    panther, issues = split(list(read_paths([str(external / "panther-analysis")])))
    m365 = [r for r in panther if r.source == "m365_audit"]
    assert len(m365) == 19  # MANIFEST
    assert {r.meta["log_type"].split(".")[0] for r in m365} == {"Microsoft365"}


# -- field mapping ------------------------------------------------------------------------------


def rule_file(tmp: Path, detection: str, **extra: Any) -> Path:
    doc: dict[str, Any] = {
        "title": extra.pop("title", "t"),
        "id": str(uuid.uuid4()),
        "logsource": {"product": "m365", "service": "audit"},
        "detection": yaml.safe_load(textwrap.dedent(detection)),
        **extra,
    }
    path = tmp / f"{uuid.uuid4()}.yml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def pred(tmp: Path, detection: str) -> Any:
    ruleset, problems = load_paths([rule_file(tmp, detection)])
    assert not problems, problems
    return compile_rule(ruleset.rules[0])


FORWARD = [
    {"Name": "Identity", "Value": "m.okafor@contoso.onmicrosoft.com"},
    {"Name": "ForwardingSmtpAddress", "Value": "smtp:drop@exfil.example"},
]


def test_parameters_name_value_list_json_text_and_panther_spelling(tmp_path: Path) -> None:
    p = pred(
        tmp_path,
        """
        sel:
            Operation|contains: Set-Mailbox
            Parameters|contains: ForwardingSmtpAddress
        condition: sel
        """,
    )
    api = ual(1, "Set-Mailbox", Parameters=FORWARD)
    office = sentinel("Set-Mailbox", FORWARD)
    panther = {k.lower(): v for k, v in api.items()}  # Panther's Exchange records
    assert p(api) and p(office) and p(panther)
    quiet = [{"Name": "Identity", "Value": "m.okafor@contoso.onmicrosoft.com"}]
    assert not p(ual(1, "Set-Mailbox", Parameters=quiet))
    assert not p(sentinel("Set-Mailbox", quiet))
    assert not p(ual(1, "Set-MailboxPlan", Parameters=quiet))
    # values are searched too, as in the Sentinel text
    assert pred(tmp_path, "s: {Parameters|contains: exfil.example}\ncondition: s")(api)


def test_workload_object_id_and_negation_across_shapes(tmp_path: Path) -> None:
    p = pred(
        tmp_path,
        """
        sel: {Workload: Exchange, Operation: New-InboxRule}
        filter_main: {ObjectId|endswith: '\\\\trusted'}
        condition: sel and not 1 of filter_main*
        """,
    )
    api = ual(1, "New-InboxRule")
    office = sentinel("New-InboxRule", [])
    panther = {k.lower(): v for k, v in api.items()}
    assert p(api) and p(office) and p(panther)
    assert not p({**api, "ObjectId": "contoso.onmicrosoft.com\\trusted"})
    assert not p({**office, "OfficeObjectId": "contoso.onmicrosoft.com\\trusted"})
    assert not p({**panther, "objectid": "contoso.onmicrosoft.com\\trusted"})
    assert not p({**api, "Workload": "SharePoint"})


# -- SigmaHQ's m365 rules on the real samples ------------------------------------------------------


def test_sigmahq_m365_rules_on_real_data(external: Path) -> None:
    root = external / "sigmahq-sigma"
    ruleset, problems = load_paths(
        [root / "rules/cloud/m365", root / "rules-threat-hunting/cloud/m365"]
    )
    assert problems == []
    audit = [r for r in ruleset.rules if r.applies_to(("m365", "audit"))]
    assert len(audit) == 6 and len(ruleset.rules) == 21
    events = []
    for item in read_paths([str(external)]):
        if isinstance(item, RawRecord) and item.source == "m365_audit":
            events.append(normalize(item)[0])
    assert len(events) == 4 + 1 + 19
    hits: dict[str, list[str]] = {}
    for r in audit:
        fn = compile_rule(r)
        for e in events:
            if fn(e.raw):
                where = f"{Path(e.location.path).name}:{e.location.line}"
                hits.setdefault(Path(r.path or "").name, []).append(where)
    panther = "rule_test_cases.jsonl"
    # Only Panther's Exchange records hold forwarding / inbox-rule cmdlets; the plaso and OTRF
    # records (sharing policy, mailbox plan, audit config, sign-in, MailItemsAccessed) match no
    # SigmaHQ m365 rule.
    assert hits == {
        "microsoft365_susp_email_forwarding_activity.yml": [
            f"{panther}:{n}" for n in range(973, 982)
        ],
        "microsoft365_susp_inbox_rule_creation_or_update_activity.yml": [
            f"{panther}:975",
            f"{panther}:982",
        ],
    }


# -- end to end ---------------------------------------------------------------------------------

RULE = """
sel_forward:
    Operation:
        - Set-Mailbox
        - New-InboxRule
        - Set-InboxRule
    Parameters|contains:
        - ForwardingSmtpAddress
        - ForwardTo
        - RedirectTo
sel_audit_off:
    Workload: Exchange
    Operation: Set-AdminAuditLogConfig
filter_main_failed:
    ResultStatus:
        - 'False'
        - Failed
condition: 1 of sel_* and not 1 of filter_main_*
"""


def test_scan_end_to_end(tmp_path: Path) -> None:
    rules = rule_file(
        tmp_path,
        RULE,
        title="Mailbox forwarding or admin audit change",
        level="high",
        author="trailhound tests",
        tags=["attack.collection", "attack.t1114.003"],
    )
    ruleset, problems = load_paths([rules])
    assert problems == []
    logs = tmp_path / "logs"
    logs.mkdir()
    records = [
        ual(1, "Set-Mailbox", Parameters=FORWARD),  # forwarding: finding
        ual(2, "Set-Mailbox", Parameters=FORWARD, ResultStatus="False"),  # failed: filtered
        ual(3, "Set-Mailbox"),  # no forwarding parameter
        ual(
            4,
            "Set-AdminAuditLogConfig",
            Parameters=[{"Name": "AdminAuditLogEnabled", "Value": "False"}],
        ),
        ual(5, "UserLoggedIn", Workload="AzureActiveDirectory", RecordType=15, UserType=0),
    ]
    (logs / "ual.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    office = sentinel(
        "New-InboxRule",
        [{"Name": "Name", "Value": "x"}, {"Name": "ForwardTo", "Value": "drop@exfil.example"}],
        ClientIP="[2001:db8::5]:443",
    )
    (logs / "sentinel.json").write_text(json.dumps(office))
    profile = get_profile("corrected")
    res = scan([str(logs)], profile, ruleset=ruleset)
    assert res.stats.error_count == 0, [str(i) for i in res.stats.samples]
    assert res.stats.records == res.stats.events == 6
    rows = [row(f, profile) for f in res.findings]
    got = sorted((r["eventID"], r["operationName"]) for r in rows)
    assert got == [
        ("00000000-0000-4000-8000-000000000001", "Set-Mailbox"),
        ("00000000-0000-4000-8000-000000000004", "Set-AdminAuditLogConfig"),
        ("11111111-2222-4333-8444-555555555555", "New-InboxRule"),
    ]
    first = next(r for r in rows if r["eventID"].endswith("000000000001"))
    assert first["provider"] == "m365" and first["source"] == "m365_audit"
    assert first["eventName"] is None  # AWS-only column
    assert first["userArn"] == "m.okafor@contoso.onmicrosoft.com"
    assert first["identityType"] == "Admin"
    assert first["sourceIP"] == "203.0.113.50"  # ClientIP "203.0.113.50:49152": the port cut off
    assert first["outcome"] == "success"
    assert first["time"] == "2026-03-14T10:01:00.000Z"  # CreationTime 2026-03-14T10:01:00
    assert first["suspicion_score"] == 3  # level high
    (signal,) = first["signals"]
    assert signal["title"] == "Mailbox forwarding or admin audit change"
    assert signal["author"] == "trailhound tests"
    # ClientIP "[2001:db8::5]:443": the brackets and port cut off
    office_row = next(
        r for r in rows if r["source"] == "m365_audit" and r["sourceIP"] == "2001:db8::5"
    )
    assert office_row["identityType"] == "Admin"
