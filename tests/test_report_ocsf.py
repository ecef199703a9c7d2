"""`--format ocsf`: OCSF Detection Findings, validated against the OCSF 1.5.0 schema as
schema.ocsf.io exports it (the `ocsf-json-schema` package ships those exports and turns a class
into a JSON Schema, `additionalProperties: false` everywhere), and compared with an independent
reading of the raw records: the test finds each record in its file from the finding's origin
with plain gzip/json, then reads time, principal, IP and operation from it by the vendors' field
names, never through trailhound's normalizers."""

from __future__ import annotations

import datetime
import gzip
import ipaddress
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.conftest import require
from trailhound.cli.app import cli
from trailhound.report.ocsf import OCSF_VERSION, PROFILES, severity

try:
    import jsonschema
    from ocsf_json_schema import OcsfJsonSchemaEmbedded, get_ocsf_schema
except ImportError:  # pragma: no cover - the test extra installs both
    jsonschema = None


@pytest.fixture(scope="module")
def validator() -> Any:
    require(jsonschema is not None, "jsonschema and ocsf-json-schema are not installed (pip install '.[test]')")
    schema = OcsfJsonSchemaEmbedded(get_ocsf_schema(version=OCSF_VERSION)).get_class_schema(
        class_name="detection_finding", profiles=list(PROFILES)
    )
    return jsonschema.Draft202012Validator(schema)


def _run(*args: str) -> tuple[int, str, str]:
    res = CliRunner().invoke(cli, list(args))
    return res.exit_code, res.stdout, res.stderr


def _lines(out: str) -> list[str]:
    # JSON lines end at "\n" only: str.splitlines would also cut at U+2028 inside a string
    return [line for line in out.split("\n") if line]


@pytest.fixture(scope="module")
def demo_lines() -> list[dict[str, Any]]:
    code, out, err = _run("demo", "-q", "--format", "ocsf")
    assert code == 0, err
    return [json.loads(line) for line in _lines(out)]


# -- an independent reading of the raw input ---------------------------------------------------

_ORIGIN = re.compile(
    r"(?P<path>.+?)(?::(?P<line>\d+)(?: \((?:compressed )?byte \d+\))?)?(?: at (?P<ptr>/\S*))?"
)


def _record_at(origin: str) -> Any:
    """The record an origin (`file:LINE (byte N)` or `file at /json/pointer`) names."""
    m = _ORIGIN.fullmatch(origin)
    assert m, origin
    path = Path(m["path"])
    data = path.read_bytes()
    if path.suffix == ".gz":
        data = gzip.decompress(data)
    text = data.decode("utf-8")
    if m["line"]:
        return json.loads(text.splitlines()[int(m["line"]) - 1])
    doc = json.loads(text)
    for token in (m["ptr"] or "/").split("/")[1:]:
        doc = doc[int(token)] if isinstance(doc, list) else doc[token]
    return doc


def _ms(text: str) -> int:
    """Epoch ms of a vendor timestamp (any fraction length, Z, +00:00 or no zone = UTC),
    truncated as OCSF's `time` is."""
    m = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)?", text)
    assert m, text
    base = datetime.datetime.fromisoformat(m[1] + (m[3] or "+00:00").replace("Z", "+00:00"))
    return int(base.timestamp()) * 1000 + int((m[2] or "0")[:3].ljust(3, "0"))


_UPN = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn"


def _azure(r: dict[str, Any]) -> tuple[str, str | None, str | None, str]:
    op = r["operationName"]
    claims = (r.get("identity") or {}).get("claims") or r.get("claims") or {}
    ip = r.get("callerIpAddress") or (r.get("httpRequest") or {}).get("clientIpAddress")
    # an app-only token (claims idtyp "app") carries no UPN: the caller is the application (appid)
    who = r.get("caller") or claims.get(_UPN) or (
        claims.get("appid") if claims.get("idtyp") == "app" else None)
    return (r.get("time") or r["eventTimestamp"], who, ip,
            op["value"] if isinstance(op, dict) else op)


def _expected(source: str, r: dict[str, Any]) -> tuple[str, str | None, str | None, str]:
    """(time, principal, source address, operation) as each vendor documents its fields."""
    if source == "cloudtrail":  # a cross-account AWSAccount identity has no ARN, an AWSService
        u = r["userIdentity"]  # one only the service's name (invokedBy)
        who = (u.get("arn") or u.get("principalId") or u.get("userName") or u.get("accountId")
               or u.get("invokedBy"))
        return r["eventTime"], who, r["sourceIPAddress"], r["eventName"]
    if source == "gcp_audit":
        p = r["protoPayload"]
        return (r["timestamp"], p["authenticationInfo"]["principalEmail"],
                p["requestMetadata"]["callerIp"], p["methodName"])
    if source == "entra_audit":
        by = r["properties"]["initiatedBy"]
        who = by.get("user") or by.get("app") or {}
        return (r["time"], who.get("userPrincipalName") or who.get("displayName"),
                r.get("callerIpAddress"), r["operationName"])
    if source == "m365_audit":
        return r["CreationTime"], r["UserId"], r.get("ClientIP"), r["Operation"]
    assert source == "azure_activity", source
    return _azure(r)


def _endpoint_of(address: str) -> dict[str, Any]:
    """OCSF src_endpoint of a logged address: an IP in `ip` (M365 and Azure write `ip:port` or
    `[ip6]:port`: the address without the port), anything else in `name`."""
    host, _, port = address.rpartition(":")
    if port.isdigit() and host:
        host = host.removeprefix("[").removesuffix("]")
    else:
        host = address
    for ip in (address, host):
        try:
            ipaddress.ip_address(ip)
        except ValueError:
            continue
        return {"ip": ip}
    return {"name": address}


# -- the tests --------------------------------------------------------------------------------


def test_every_demo_line_validates(validator: Any, demo_lines: list[dict[str, Any]]) -> None:
    assert len(demo_lines) > 20
    for i, line in enumerate(demo_lines, 1):
        errors = [f"{e.json_path}: {e.message[:200]}" for e in validator.iter_errors(line)]
        assert not errors, f"line {i}: {errors}"
        assert line["class_uid"] == 2004 and line["metadata"]["version"] == OCSF_VERSION


def test_the_schema_check_can_fail(validator: Any, demo_lines: list[dict[str, Any]]) -> None:
    """The validator is strict: an unknown attribute, a wrong type or a missing required
    attribute is refused (else the test above would prove nothing)."""
    line = demo_lines[0]
    assert not validator.is_valid({**line, "actor": {"user": {"uid": "x"}}})  # not in 2004
    assert not validator.is_valid({**line, "time": line["time_dt"]})
    assert not validator.is_valid({k: v for k, v in line.items() if k != "finding_info"})


def test_fields_equal_the_raw_records(demo_lines: list[dict[str, Any]]) -> None:
    sources = set()
    for line in demo_lines:
        extra = line["unmapped"]["trailhound"]
        record = _record_at(extra["origin"])
        evidence = line["evidences"][0]
        assert evidence["data"] == record  # the original event, untouched
        source = line["finding_info"]["data_sources"][0]
        sources.add(source)
        when, principal, address, operation = _expected(source, record)
        assert line["time"] == _ms(when), extra["origin"]
        assert evidence["actor"]["user"]["uid"] == principal
        assert line["api"]["operation"] == evidence["api"]["operation"] == operation
        assert evidence["src_endpoint"] == _endpoint_of(address), address
        if source == "cloudtrail":
            assert line["cloud"] == {"provider": "AWS", "region": record["awsRegion"],
                                     "account": {"uid": record["recipientAccountId"]}}
        if source == "gcp_audit":
            assert line["cloud"]["provider"] == "GCP"
            assert line["cloud"]["account"]["uid"] == record["resource"]["labels"]["project_id"]
    # every log source of the demo took part
    assert sources == {"cloudtrail", "gcp_audit", "entra_audit", "m365_audit", "azure_activity"}


def test_rules_and_attack_come_from_the_findings(demo_lines: list[dict[str, Any]]) -> None:
    code, out, _ = _run("demo", "-q", "--format", "jsonl")
    assert code == 0
    rows = [json.loads(line) for line in _lines(out)]
    assert len(rows) == len(demo_lines)
    for row, line in zip(rows, demo_lines):  # same order: the one ranking
        info = line["finding_info"]
        rule_ids = [info["analytic"]["uid"], *(a["uid"] for a in info.get("related_analytics", []))]
        assert sorted(rule_ids) == sorted(s["rule_id"] for s in row["signals"])
        assert info["title"] in {s["title"] for s in row["signals"]}
        tags = {t.lower() for s in row["signals"] if not s["context"] for t in s["tags"]}
        want = {t.removeprefix("attack.").upper() for t in tags if re.fullmatch(r"attack\.t\d{4}(\.\d{3})?", t)}
        got = {a.get("sub_technique", a.get("technique", {})).get("uid") for a in info["attacks"]}
        assert want == got - {None}
        assert line["unmapped"]["trailhound"]["suspicion_score"] == row["suspicion_score"]
        for s in row["signals"]:
            assert not s["guide"] or s["guide"] in line["remediation"]["desc"]
        assert line["severity_id"] == severity(row["suspicion_score"])[0]
        assert line["cloud"]["provider"] in {"AWS", "Azure", "GCP", "Microsoft 365"}
    uids = [line["finding_info"]["uid"] for line in demo_lines]
    assert len(set(uids)) == len(uids)


def test_uids_are_stable_across_runs(demo_lines: list[dict[str, Any]]) -> None:
    _, out, _ = _run("demo", "-q", "--format", "ocsf", "--engine", "reference")
    again = [json.loads(line)["finding_info"]["uid"] for line in _lines(out)]
    assert again == [line["finding_info"]["uid"] for line in demo_lines]


@pytest.mark.parametrize(
    ("score", "sid"), [(0, 1), (0.5, 1), (1, 2), (2, 3), (2.5, 3), (3, 4), (4, 5), (11, 5), (-1, 1)]
)
def test_severity_follows_the_level_weights(score: float, sid: int) -> None:
    # one rule alone keeps its level: low 1 -> Low, medium 2 -> Medium, high 3 -> High,
    # critical 4 -> Critical (OCSF severity_id 2..5)
    assert severity(score)[0] == sid


def _hostile_trail(tmp_path: Path) -> Path:
    payload = '<script>alert(1)</script>"\u2028\x1b[31m'
    record = {
        "eventVersion": "1.08", "eventTime": "2024-05-01T12:00:00.123456Z",
        "eventSource": "cloudtrail.amazonaws.com", "eventName": "StopLogging",
        "awsRegion": "us-east-1", "sourceIPAddress": "AWS Internal",
        "userAgent": payload, "eventID": "e-1", "recipientAccountId": "111122223333",
        "userIdentity": {"type": "IAMUser", "arn": f"arn:aws:iam::111122223333:user/{payload}",
                         "accountId": "111122223333"},
        "requestParameters": {"name": payload},
    }
    path = tmp_path / "trail.json"
    path.write_text(json.dumps({"Records": [record]}))
    return path


def test_hostile_text_stays_data(tmp_path: Path, validator: Any) -> None:
    path = _hostile_trail(tmp_path)
    code, out, err = _run("detect", "-q", "--format", "ocsf", str(path))
    assert code == 0, err
    (line,) = [json.loads(x) for x in _lines(out)]
    assert validator.is_valid(line)
    raw = json.loads(path.read_text())["Records"][0]
    ev = line["evidences"][0]
    assert ev["data"] == raw
    assert ev["actor"]["user"]["uid"] == raw["userIdentity"]["arn"]
    assert ev["http_request"]["user_agent"] == raw["userAgent"]
    assert ev["src_endpoint"] == {"name": "AWS Internal"}  # not an IP: not in `ip`
    assert line["time"] == 1714564800123
    assert "\x1b" not in out  # JSON escapes control characters


def test_views_that_are_not_findings_refuse_ocsf(tmp_path: Path) -> None:
    # the real entry point (main: TrailhoundError -> one line and its exit code)
    res = subprocess.run(
        [sys.executable, "-m", "trailhound", "principals", "-q", "--format", "ocsf",
         str(_hostile_trail(tmp_path))], capture_output=True, text=True, check=False,
    )
    code, out, err = res.returncode, res.stdout, res.stderr
    assert code == 2
    assert out == ""
    assert "--format ocsf writes findings" in err and "Traceback" not in err


@pytest.mark.parametrize(
    "folder", ["invictus-ir-aws_dataset", "stratus-red-team", "panther-analysis", "plaso"]
)
def test_real_logs_validate(external: Path, validator: Any, folder: str) -> None:
    """Real third-party logs of every provider (IPv6, `AWS Internal`, service DNS names, missing
    fields) give valid lines, each keeping its record."""
    _, out, err = _run("detect", "-q", "--min-score", "0", "--format", "ocsf", str(external / folder))
    lines = [json.loads(x) for x in _lines(out)]
    assert lines, err
    for line in lines:
        errors = [f"{e.json_path}: {e.message[:200]}" for e in validator.iter_errors(line)]
        assert not errors, (line["unmapped"]["trailhound"]["origin"], errors)
        assert isinstance(line["evidences"][0]["data"], dict)


_PACK = Path(__file__).resolve().parents[1] / "trailhound" / "rules" / "packs" / "corrected"
_SEED_PLUS = ("--profile", "seed", "--rules", str(_PACK / "azure_activity_priv_esc.yml"),
              "--rules", str(_PACK / "gcp_audit_priv_esc.yml"))


def _demo() -> str:
    from trailhound.demo import dataset_path

    return str(dataset_path())


def test_seed_profile_evidence_names_who_and_from_where() -> None:
    """Under `--profile seed` the row's columns are the seed query's CloudTrail extractions; the
    OCSF evidence still names the principal and address of an Azure or GCP finding (oracle: the
    vendors' fields of the raw record, as above)."""
    code, out, err = _run("detect", *_SEED_PLUS, "-q", "--format", "ocsf", _demo())
    assert code == 0, err
    sources = set()
    for line in map(json.loads, _lines(out)):
        extra = line["unmapped"]["trailhound"]
        record = _record_at(extra["origin"])
        evidence = line["evidences"][0]
        source = line["finding_info"]["data_sources"][0]
        sources.add(source)
        _, principal, address, operation = _expected(source, record)
        assert evidence["actor"]["user"]["uid"] == principal, extra["origin"]
        assert evidence["src_endpoint"] == _endpoint_of(address), extra["origin"]
        assert line["api"]["operation"] == operation
    assert {"azure_activity", "gcp_audit", "cloudtrail"} <= sources


@pytest.mark.parametrize("profile", ["full", "seed"])
def test_library_ocsf_is_the_cli_ocsf(profile: str) -> None:
    """`trailhound.scan(...).write(out, "ocsf")` writes the lines `detect --format ocsf` writes
    (the raw record in the evidence included)."""
    import io

    import trailhound

    rules = [str(_PACK / "azure_activity_priv_esc.yml")] if profile == "seed" else []
    args = [a for r in rules for a in ("--rules", r)]
    code, out, err = _run("detect", "--profile", profile, *args, "-q", "--format", "ocsf", _demo())
    assert code == 0, err
    buf = io.StringIO()
    trailhound.scan([_demo()], profile, rules=rules).write(buf, "ocsf")
    lines = _lines(buf.getvalue())
    assert lines == _lines(out)
    assert all("data" in json.loads(x)["evidences"][0] for x in lines)
