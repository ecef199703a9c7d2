"""`trailhound export --to sigma`: pySigma loads it, SigmaHQ's validators accept it (apart from the
listed style checks about the pack's own wording), and trailhound's loader reads it back to the
same findings as the pack it came from, allowlists included (reference engine, demo dataset and
the external CloudTrail data)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sigma.collection import SigmaCollection
from sigma.plugins import InstalledSigmaPlugins

from tests.conftest import require
from tests.test_export_duckdb import DATA, cloudtrail_paths
from trailhound.demo import dataset_path
from trailhound.export import TARGETS
from trailhound.export.build import ruleset_for
from trailhound.export.pack import build
from trailhound.rules.loader import load_paths
from trailhound.spark.testing import reference

# SigmaHQ validators that judge wording and house rules of SigmaHQ's own repository, not whether
# a rule is valid Sigma: the pack's titles are sentence case, its rules `status: test`;
# `sigmahq_unknown_field` refuses every custom attribute, and the scoring attributes (weight,
# signal, context) are custom attributes by design (docs/export.md); the pack writes some
# operation names as `Add member to role*` (trailing suffixes) rather than with |startswith.
# `number_as_string`: account ids are strings in every log (an AWS account id may start with 0,
# which a YAML number would drop, or read as octal).
STYLE_ONLY = {
    "sigmahq_title_case", "sigmahq_status_to_high", "sigmahq_unknown_field",
    "sigmahq_falsepositives_banned_word", "wildcards_instead_of_modifiers", "number_as_string",
}


# These download SigmaHQ's taxonomy and field lists from GitHub when first used (no network
# here, and a download would make the test depend on SigmaHQ's latest lists), so they are not run.
NEEDS_DATA = {
    "attacktag", "d3_fendtag", "sigmahq_fieldname_cast", "sigmahq_invalid_fieldname",
    "sigmahq_logsource_unknown", "sigmahq_redundant_field", "sigmahq_tags_techniques_without_tactics",
}


def export(profile: str, allow: list[str]) -> str:
    ruleset, _ = ruleset_for(profile, [], allow, None)
    return TARGETS.get("sigma").render(build(ruleset, profile))


def test_sigma_export_passes_the_validators() -> None:
    collection = SigmaCollection.from_yaml(export("corrected", [str(DATA / "allow_demo.yml")]), collect_errors=True)
    assert [r.errors for r in collection if r.errors] == []
    validators = InstalledSigmaPlugins.autodiscover().validators
    require(
        any(n.startswith("sigmahq_") for n in validators),
        "pysigma-validators-sigmahq is not installed (pip install 'trailhound[test]')",
    )
    issues = []
    ran = [n for n in sorted(validators) if n not in NEEDS_DATA]
    for name in ran:
        v = validators[name]()
        found = [i for rule in collection for i in v.validate(rule)] + list(v.finalize())
        issues += [(name, str(i)) for i in found if name not in STYLE_ONLY]
    assert issues == []
    assert len(ran) > 60  # pySigma's and SigmaHQ's validators, all but the seven below


def without_guides(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows without each signal's `guide`: the response playbook is a Markdown file beside
    the rule's file (rules/guides.py), not part of the Sigma rule, so an export has none."""
    return [{**r, "signals": [{k: v for k, v in s.items() if k != "guide"} for s in r["signals"]]} for r in rows]


def test_sigma_export_round_trips_to_the_same_findings(external: Path, tmp_path: Path) -> None:
    allow = [str(DATA / "allow_demo.yml")]
    paths = [str(dataset_path()), *cloudtrail_paths(external)]
    ruleset, _ = ruleset_for("corrected", [], allow, None)
    exported = tmp_path / "export.yml"
    exported.write_text(export("corrected", allow), encoding="utf-8")
    loaded, problems = load_paths([exported])
    assert problems == []
    want, _ = reference(paths, "corrected", ruleset)
    got, _ = reference(paths, "corrected", loaded)
    assert without_guides(got) == without_guides(want)
    # the allowlist took findings away, so the round trip carried it
    untuned, _ = ruleset_for("corrected", [], [], None)
    assert len(want) < len(reference(paths, "corrected", untuned)[0])


def test_sigma_export_of_sigmahq_rules_is_their_text(external: Path) -> None:
    """Rules are written back as their authors wrote them (Sigma field names, author kept, as
    the DRL asks), only trailhound's `tests:` left out; SigmaHQ rules have none."""
    import yaml

    from tests.test_export_golden import SIGMAHQ

    files = [external / "sigmahq-sigma" / "rules" / "cloud" / p for p in SIGMAHQ]
    ruleset, problems = ruleset_for(None, [str(f) for f in files], [], None)
    assert problems == []
    docs = list(yaml.safe_load_all(TARGETS.get("sigma").render(build(ruleset, "rules"))))
    assert docs == [yaml.safe_load(f.read_text(encoding="utf-8")) for f in files]
