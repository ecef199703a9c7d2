"""Every shipped rule has a response playbook with the required sections, about its own calls,
naming hunts that exist; findings point at it; `trailhound explain` shows it."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from sigma.rule import SigmaDetection, SigmaDetectionItem

from tests.hunt_fixtures import at, ct, user, write_trail
from tests.test_cli import th
from trailhound.hunts.registry import hunts
from trailhound.rules.guides import REQUIRED, guide_path, hunts_named, sections
from trailhound.rules.loader import PACKS, load_pack, pack_dir
from trailhound.rules.model import Correlation, Filter, Rule

EVERYTHING: list[Rule | Correlation | Filter] = []
for _pack in PACKS:
    _rs = load_pack(_pack)
    EVERYTHING += [*_rs.rules, *_rs.correlations, *_rs.filters]
ALL_IDS = {r.id for r in EVERYTHING}


def _words(d: Any) -> set[str]:
    """Field names and string values of a Sigma detection, wildcards removed."""
    out: set[str] = set()
    if isinstance(d, SigmaDetection):
        for item in d.detection_items:
            out |= _words(item)
    elif isinstance(d, SigmaDetectionItem):
        if d.field:
            out.add(d.field)
        for v in d.value:
            text = str(v).strip("*")
            if text and not text.isdigit():
                out.add(text.split("*")[0])
    return out


def own_words(rule: Rule | Correlation | Filter) -> set[str]:
    if isinstance(rule, Correlation):
        return {w for base in rule.rules for w in own_words(base)}
    sigma = rule.sigma
    detections = sigma.detection.detections if isinstance(rule, Rule) else sigma.filter.detections
    return {w for d in detections.values() for w in _words(d)}


@pytest.mark.parametrize("rule", EVERYTHING, ids=lambda r: f"{Path(r.path or '').stem}:{r.id[:8]}")
def test_every_shipped_rule_has_a_real_guide(rule: Rule | Correlation | Filter) -> None:
    path = guide_path(rule)
    assert path is not None, f"{rule.path}: no guide {Path(rule.path or '').with_suffix('.md').name}"
    text = path.read_text(encoding="utf-8")
    parts = sections(text)
    for name in REQUIRED:
        assert len(parts.get(name, "")) >= 80, f"{path.name}: section '## {name}' missing or thin"
    named = hunts_named(parts["Hunts to run"])
    assert named, f"{path.name}: names no hunt"
    unknown = set(hunts_named(text)) - set(hunts())
    assert not unknown, f"{path.name}: names hunts that do not exist: {unknown}"
    for ref in re.findall(r"trailhound explain ([0-9a-f-]{36})", text):
        assert ref in ALL_IDS, f"{path.name}: points at unknown rule {ref}"
    words = own_words(rule)
    assert any(w in text for w in words), f"{path.name}: mentions none of its own calls {sorted(words)[:8]}"


def test_no_orphan_guides() -> None:
    rule_files = {Path(r.path).with_suffix(".md") for r in EVERYTHING if r.path}
    for pack in PACKS:
        for md in pack_dir(pack).glob("*.md"):
            assert md.name == "README.md" or md in rule_files, f"{md}: guide of no rule"


def test_findings_name_their_guide_and_explain_shows_it(tmp_path: Path) -> None:
    logs = write_trail(tmp_path / "t.json", [ct("StopLogging", "cloudtrail.amazonaws.com", at(0), user("a"))])
    p = th("detect", "--format", "jsonl", str(logs))
    assert p.returncode == 0, p.stderr
    (finding,) = [json.loads(x) for x in p.stdout.splitlines()]
    (sig,) = finding["signals"]
    assert sig["guide"] == f"trailhound explain {sig['rule_id']}"
    shown = th(*sig["guide"].split()[1:])
    assert shown.returncode == 0, shown.stderr
    guide = (pack_dir("corrected") / "aws_security_disable.md").read_text(encoding="utf-8")
    assert shown.stdout.startswith(sig["title"] + "\n")
    assert guide.strip() in shown.stdout  # piped: the markdown as written
    assert "\x1b" not in shown.stdout  # no colour codes when piped


def test_explain_by_title_name_and_errors() -> None:
    p = th("explain", "aws_cloudtrail_recon_then_tamper")  # a correlation's name
    assert p.returncode == 0 and "## Containment" in p.stdout
    p = th("explain", "azure role assigned or access elevated")  # title, any case
    assert p.returncode == 0 and "roleAssignments/write" in p.stdout
    p = th("explain", "seed:")  # part of four titles
    assert p.returncode == 2 and "matches 4 rules" in p.stderr and "Traceback" not in p.stderr
    p = th("explain", "no-such-rule")
    assert p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1


def test_explain_user_rule_with_its_own_guide(tmp_path: Path) -> None:
    rule = tmp_path / "mine.yml"
    rule.write_text(
        "title: My bucket deletion rule\nid: 0f0f0f0f-1111-4222-8333-444455556666\n"
        "logsource: {product: aws, service: cloudtrail}\nlevel: high\n"
        "description: buckets deleted\n"
        "detection: {s: {eventName: DeleteBucket}, condition: s}\n"
    )
    p = th("explain", "--rules", str(rule), "My bucket deletion rule")
    assert p.returncode == 0 and "buckets deleted" in p.stdout and "No guide" in p.stdout
    (tmp_path / "mine.md").write_text("## What it means\n\nOurs \x1b[31m.\n")
    p = th("explain", "--rules", str(rule), "0f0f0f0f-1111-4222-8333-444455556666")
    assert p.returncode == 0 and "Ours \\x1b[31m." in p.stdout
