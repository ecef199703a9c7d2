"""Rule tests inside rule files (`tests:`) and `trailhound rules test`: every shipped rule has a
positive and a negative case and passes them; the independent Sigma oracle (written from the
spec) agrees with every expected result; a rule whose positive case no longer matches makes the
command fail naming the rule and the case; malformed cases fail without stopping the others;
rule files without tests still load, and pySigma still loads the ones with tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from sigma.collection import SigmaCollection

from tests.sigma_oracle import Unsupported, compile_yaml
from trailhound.cli.app import main
from trailhound.rules import pipelines
from trailhound.rules.cases import run_tests
from trailhound.rules.loader import PACKS, load_paths, pack_dir

PACK_FILES = sorted(f for p in PACKS for f in pack_dir(p).rglob("*.yml"))
IAM_CHANGE = pack_dir("corrected") / "aws_iam_change.yml"
RECON_THEN_TAMPER = pack_dir("corrected") / "mr_aws_cloudtrail_recon_then_tamper.yml"


def _main(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as ex:
        main(args)
    cap = capsys.readouterr()
    return int(ex.value.code or 0), cap.out, cap.err


def _rows(out: str) -> list[dict[str, str]]:
    return [json.loads(line) for line in out.splitlines()]


@pytest.mark.parametrize("pack", PACKS)
def test_every_shipped_rule_has_cases_and_passes_them(
    pack: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _main(["rules", "test", "--require-cases", str(pack_dir(pack))], capsys)
    assert code == 0, out
    assert "FAIL" not in out and "0 failed" in err
    run = run_tests([pack_dir(pack)])
    ruleset, _ = load_paths([pack_dir(pack)], filters=False)
    assert run.untested == []
    assert len({r.rule for r in run.results}) == len(ruleset.rules) + len(ruleset.correlations)


def _docs() -> list[tuple[Path, dict[str, Any]]]:
    return [(f, d) for f in PACK_FILES for d in yaml.safe_load_all(f.read_text())
            if isinstance(d, dict) and "detection" in d and d.get("tests")]


@pytest.mark.parametrize("path,doc", _docs(), ids=lambda x: x.get("id", "")[:8]
                         if isinstance(x, dict) else x.name)
def test_the_spec_oracle_agrees_with_every_expected_result(path: Path, doc: dict[str, Any]) -> None:
    """The expected results are not trailhound's output: an evaluator written from the Sigma
    specification (tests/sigma_oracle.py) gives the same verdict on every case."""
    ls = doc["logsource"]
    tables = {(t.product, t.service): t.lookup for t in pipelines.FIELD_TABLES}
    rule = {k: v for k, v in doc.items() if k != "tests"}
    try:
        oracle = compile_yaml(rule, tables.get((ls.get("product"), ls.get("service"))))
    except Unsupported as e:  # pragma: no cover - every shipped rule is supported today
        pytest.fail(f"{path.name}: the oracle cannot evaluate this rule: {e}")
    for case in doc["tests"]:
        assert oracle.matches(case["event"]) is case["match"], (path.name, case["name"])


def test_pysigma_loads_rules_with_tests_as_a_custom_attribute() -> None:
    for f in PACK_FILES:
        coll = SigmaCollection.from_yaml(f.read_text(), collect_errors=True)
        assert coll.errors == [], f
        for rule in coll.rules:
            if "filter" not in f.name:
                assert isinstance(rule.custom_attributes.get("tests"), list), f


def test_a_rule_whose_positive_case_no_longer_matches_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "aws_iam_change.yml"
    text = IAM_CHANGE.read_text()
    assert "CreateAccessKey, " in text
    broken.write_text(text.replace("CreateAccessKey, ", ""))
    code, out, err = _main(["rules", "test", "--format", "jsonl", str(broken)], capsys)
    assert code == 1
    fails = [r for r in _rows(out) if r["status"] != "PASS"]
    assert fails == [{
        "status": "FAIL", "file": "aws_iam_change.yml",
        "rule": "AWS identity or access policy created or changed (e39dec0c)",
        "case": "CreateAccessKey for another user", "expected": "match", "got": "no match",
    }]
    assert "1 failed" in err
    code, table, _ = _main(["rules", "test", str(broken)], capsys)  # the table names them too
    assert code == 1 and "FAIL" in table and "CreateAccessKey for another user" in table


def test_a_correlation_outside_its_window_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "recon.yml"
    broken.write_text(RECON_THEN_TAMPER.read_text().replace("timespan: 30m", "timespan: 1m"))
    code, out, _ = _main(["rules", "test", "--format", "jsonl", str(broken)], capsys)
    assert code == 1
    fails = [r for r in _rows(out) if r["status"] != "PASS"]
    assert len(fails) == 1 and "aws_cloudtrail_recon_then_tamper" in fails[0]["rule"]
    assert fails[0]["case"] == "GetTrailStatus then StopLogging, same principal, 2 minutes apart"


def test_a_correlation_over_two_log_sources_reads_each_record_as_its_own(tmp_path: Path) -> None:
    """Entra sign-in then Azure Activity operations: each case record is read as the format the
    readers recognise; one that no reader recognises fails its case, naming the record."""
    shipped = pack_dir("corrected") / "mr_azure_role_recon_then_grant.yml"
    signin = [r for r in run_tests([shipped]).results
              if r.rule.startswith("azure_cli_signin_recon_then_grant")]
    assert {r.expected for r in signin} == {True, False} and all(r.passed for r in signin)
    broken = tmp_path / "unrecognised.yml"
    broken.write_text(shipped.read_text().replace("    category: SignInLogs\n", "", 1))
    (bad,) = run_tests([broken]).failed
    assert bad.error and bad.error.startswith("case 1: event 1: unrecognised record"), bad.error


RULE = """title: test rule
id: 0f3c8d6e-2a41-4b7f-9c55-1e2d3f4a5b6c
logsource: {product: aws, service: cloudtrail}
detection:
  selection: {eventName: StopLogging}
  condition: selection
"""


def test_malformed_cases_fail_with_the_reason_and_the_rest_still_run(tmp_path: Path) -> None:
    f = tmp_path / "r.yml"
    f.write_text(RULE + """tests:
  - {name: typo, expected: true, event: {eventName: StopLogging}}
  - {name: no event, match: true}
  - {name: good positive, match: true, event: {eventName: StopLogging}}
  - {name: good negative, match: false, event: {eventName: StartLogging}}
  - {name: wrong source, match: true, source: splunk, event: {eventName: StopLogging}}
""")
    run = run_tests([f])
    by_case = {r.case: r for r in run.results}
    assert "unknown key(s) expected" in (by_case["typo"].error or "")
    assert "needs `event`" in (by_case["no event"].error or "")
    assert "unknown source 'splunk'" in (by_case["wrong source"].error or "")
    assert by_case["good positive"].passed and by_case["good negative"].passed
    assert len(run.failed) == 3


def test_rules_without_tests_still_load_and_are_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tmp_path / "plain.yml"
    f.write_text(RULE)
    ruleset, problems = load_paths([f])
    assert problems == [] and len(ruleset.rules) == 1
    code, out, err = _main(["rules", "test", str(f)], capsys)
    assert code == 0 and "1 rule without a positive and a negative case" in err
    code, out, err = _main(["rules", "test", "--require-cases", "--format", "jsonl", str(f)],
                           capsys)
    assert code == 1
    assert [r["got"] for r in _rows(out)] == ["needs a positive and a negative case"]
