"""Golden files of every export target (tests/data/export/golden/<target>/<case>.<ext>), for the
flagship packs and for twelve SigmaHQ cloud rules (../shared): what each target writes is reviewed
by hand as a diff. `pytest tests/test_export_golden.py --regen-golden` rewrites them.

The SigmaHQ rules together use contains, startswith, endswith, all, re, fieldref, null and
keywords; SigmaHQ's cloud rules use no cidr, exists, base64 or windash, so the case `modifiers`
(tests/data/export/rules/modifiers.yml, our rules) carries those. Both the SQL goldens are also
checked for syntax: DuckDB prepares its own (parse and bind against empty relations)."""

from __future__ import annotations

import duckdb
import pytest

from tests.conftest import EXTERNAL, REPO, require
from tests.test_export_duckdb import NON_AWS
from trailhound.export import TARGETS
from trailhound.export.build import export_text

GOLDEN = REPO / "tests" / "data" / "export" / "golden"
SUFFIX = {"duckdb-sql": "sql", "spark-sql": "sql", "sigma": "yml", "sumo": "sumo", "splunk": "spl", "kql": "kql", "esql": "esql"}
SIGMAHQ = [
    "aws/cloudtrail/aws_cloudtrail_imds_malicious_usage.yml",  # re
    "aws/cloudtrail/aws_update_login_profile.yml",  # fieldref
    "aws/cloudtrail/aws_iam_s3browser_templated_s3_bucket_policy_creation.yml",  # contains|all
    "aws/cloudtrail/aws_new_lambda_layer_attached.yml",  # startswith
    "aws/cloudtrail/aws_cloudtrail_guardduty_detector_deleted_or_updated.yml",  # null
    "gcp/audit/gcp_kubernetes_admission_controller.yml",  # startswith, endswith, contains
    "gcp/audit/gcp_service_account_disabled_or_deleted.yml",  # endswith
    "gcp/audit/gcp_breakglass_container_workload_deployed.yml",  # keywords
    "m365/audit/microsoft365_disabling_mfa.yml",  # contains
    "azure/audit_logs/azure_ad_users_added_to_device_admin_roles.yml",  # all
    "azure/activity_logs/azure_granting_permission_detection.yml",  # keywords
    "azure/activity_logs/azure_creating_number_of_resources_detection.yml",  # keywords
]
CASES: dict[str, tuple[str | None, list[str], list[str]]] = {  # profile, --rules, --allow
    "seed": ("seed", [], []),
    "corrected": ("corrected", [], []),
    "corrected_allow": ("corrected", [], ["tests/data/export/allow_demo.yml"]),
    "sigmahq": (None, [f"sigmahq:{p}" for p in SIGMAHQ], []),
    "modifiers": (None, ["tests/data/export/rules/modifiers.yml"], []),
}


def _export(target: str, case: str) -> tuple[str, list[str]]:
    profile, rules, allow = CASES[case]
    if any(r.startswith("sigmahq:") for r in rules):
        require(EXTERNAL.is_dir(), f"external test data not found at {EXTERNAL}")
        rules = [str(EXTERNAL / "sigmahq-sigma" / "rules" / "cloud" / r.split(":", 1)[1]) for r in rules]
    result = export_text(profile, rules, TARGETS.get(target), None, allow, None)
    return result.text, result.messages


# The sigma export of SigmaHQ rules is their own text: no golden copy of ../shared in the repo
# (tests/test_export_sigma.py checks it against the files instead).
PAIRS = [(t, c) for t in TARGETS.names() for c in sorted(CASES) if (t, c) != ("sigma", "sigmahq")]


@pytest.mark.parametrize(("target", "case"), PAIRS)
def test_golden(target: str, case: str, regen_golden: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)  # allowlist labels name their file as given: keep them relative
    text, messages = _export(target, case)
    text = text.replace(str(EXTERNAL), "<external>")  # the sigma target names no paths, but be sure
    path = GOLDEN / target / f"{case}.{SUFFIX.get(target, 'txt')}"
    # what was left out, kept beside the export: part of what a reviewer reads
    notes = path.with_suffix(path.suffix + ".stderr")
    stderr = "".join(f"{m.replace(str(EXTERNAL), '<external>')}\n" for m in messages)
    if regen_golden:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        notes.write_text(stderr, encoding="utf-8")
    assert path.exists(), f"no golden file {path}: run pytest --regen-golden and review it"
    assert text == path.read_text(encoding="utf-8")
    assert stderr == notes.read_text(encoding="utf-8")


@pytest.mark.parametrize("case", sorted(CASES))
def test_duckdb_golden_parses_and_binds(case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    con = duckdb.connect()
    for name in ("cloudtrail", *NON_AWS):
        con.execute(f"CREATE VIEW {name} AS SELECT CAST(NULL AS JSON) AS raw WHERE false")
    text, _ = _export("duckdb-sql", case)
    assert con.execute(text).fetchall() == []


def test_golden_files_are_all_tested() -> None:
    """No golden file left over from a removed target or case."""
    expected = {GOLDEN / t / f"{c}.{SUFFIX.get(t, 'txt')}{x}" for t, c in PAIRS for x in ("", ".stderr")}
    found = {p for p in GOLDEN.rglob("*") if p.is_file()} if GOLDEN.is_dir() else set()
    assert found <= expected, sorted(str(p) for p in found - expected)


