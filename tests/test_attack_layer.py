"""`trailhound attack-layer`: ATT&CK Navigator layers, loaded by mitreattack-python's navlayers
model (MITRE's own library: it refuses unknown properties and wrong types) and compared with
independent oracles: the techniques and scores recomputed in plain Python from `detect --format
jsonl`, and the coverage recomputed from the pack's rule files read with PyYAML."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from tests.conftest import require
from trailhound.attack.tags import TACTIC_IDS, tactic_name, tactics, techniques
from trailhound.cli.app import cli
from trailhound.demo import dataset_path
from trailhound.triage.tactics import TACTICS

try:
    from mitreattack.navlayers import Layer
    from mitreattack.navlayers.core.layerobj import _LayerObj
except ImportError:  # pragma: no cover - the test extra installs it
    Layer = None

TECHNIQUE_TAG = re.compile(r"attack\.(t\d{4}(?:\.\d{3})?)")


def _run(*args: str) -> tuple[int, str, str]:
    res = CliRunner().invoke(cli, list(args))
    return res.exit_code, res.stdout, res.stderr


def _navigator_load(layer: dict[str, Any]) -> dict[str, Any]:
    """The layer as mitreattack-python loads it back; fails unless it loads whole."""
    require(Layer is not None, "mitreattack-python is not installed (pip install '.[test]')")
    loaded = Layer(layer, strict=True)  # strict: any bad property and nothing is loaded
    assert isinstance(loaded.layer, _LayerObj), "mitreattack-python refused the layer"
    back: dict[str, Any] = loaded.to_dict()
    # the same layer: nothing skipped or changed (it writes layout defaults, scores as ints)
    assert back["layout"].items() >= layer["layout"].items()
    for t in layer["techniques"]:
        if isinstance(t.get("score"), float):
            t["score"] = int(t["score"])
    assert {k: v for k, v in back.items() if k != "layout"} == {
        k: v for k, v in layer.items() if k != "layout" and v != []  # it drops empty lists
    }
    assert back["versions"]["layer"].startswith("4.") and back["domain"] == "enterprise-attack"
    return back


@pytest.fixture(scope="module")
def demo_layer(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("layer") / "layer.json"
    code, stdout, err = _run("attack-layer", str(dataset_path()), "-o", str(out))
    assert code == 0, err
    assert stdout == ""  # the layer went to the file, the summary to stderr
    assert "techniques scored, written to" in err
    return json.loads(out.read_text())


def test_demo_layer_loads_in_navigator_format(demo_layer: dict[str, Any]) -> None:
    assert demo_layer["versions"]["layer"] == "4.5"
    _navigator_load(json.loads(json.dumps(demo_layer)))


def test_the_navigator_check_can_fail(demo_layer: dict[str, Any]) -> None:
    require(Layer is not None, "mitreattack-python is not installed (pip install '.[test]')")
    bad = {**demo_layer, "techniques": [{"techniqueID": "T1098", "bogus": 1}]}
    assert not isinstance(Layer(bad, strict=True).layer, _LayerObj)
    assert not isinstance(Layer({"name": "x"}, strict=True).layer, _LayerObj)  # no domain


def test_demo_layer_scores_equal_the_findings(demo_layer: dict[str, Any]) -> None:
    code, out, _ = _run("demo", "-q", "--format", "jsonl")
    assert code == 0
    best: dict[str, float] = {}
    total: dict[str, float] = defaultdict(float)
    rules: dict[str, set[str]] = defaultdict(set)
    for line in out.split("\n"):
        if not line:
            continue
        row = json.loads(line)
        fired = set()
        for s in row["signals"]:
            if s["context"]:
                continue
            for tag in s["tags"]:
                m = TECHNIQUE_TAG.fullmatch(tag.lower())
                if m:
                    tid = m[1].upper()
                    best[tid] = max(best.get(tid, row["suspicion_score"]), row["suspicion_score"])
                    rules[tid].add(s["title"])
                    fired.add(tid)
        for tid in fired:
            total[tid] += row["suspicion_score"]
    scored = {t["techniqueID"]: t for t in demo_layer["techniques"] if "score" in t}
    assert {k: t["score"] for k, t in scored.items()} == best
    for tid, t in scored.items():
        named = {m["value"] for m in t["metadata"] if m["name"] == "rule"}
        assert named == rules[tid]
        (summed,) = [m["value"] for m in t["metadata"] if m["name"] == "summed score"]
        assert float(summed) == pytest.approx(total[tid])
        assert all(title in t["comment"] for title in rules[tid])
    # every sub-technique's parent is there, opened on its sub-techniques
    parents = {t["techniqueID"]: t for t in demo_layer["techniques"]}
    for tid in scored:
        if "." in tid:
            assert parents[tid.split(".")[0]]["showSubtechniques"] is True


def _pack_coverage(pack: Path) -> dict[str, int]:
    """Technique -> how many detection rules of the pack name it, from the YAML files."""
    docs = [d for f in sorted(pack.glob("*.yml")) for d in yaml.safe_load_all(f.read_text()) if d]
    quiet_bases = {
        ref for d in docs if "correlation" in d and not d["correlation"].get("generate", False)
        for ref in d["correlation"]["rules"]
    }
    count: dict[str, int] = defaultdict(int)
    for d in docs:
        if "filter" in d or d.get("context") is True:
            continue
        if "detection" in d and (d["id"] in quiet_bases or d.get("name") in quiet_bases):
            continue
        for tid in {m[1].upper() for t in d.get("tags", []) if (m := TECHNIQUE_TAG.fullmatch(t.lower()))}:
            count[tid] += 1
    return dict(count)


@pytest.mark.parametrize("profile", ["corrected", "seed"])
def test_coverage_layer_equals_the_pack(profile: str) -> None:
    code, out, err = _run("attack-layer", "--coverage", "--profile", profile, "-q")
    assert code == 0, err
    layer = json.loads(out)
    _navigator_load(json.loads(out))
    pack = Path(__file__).resolve().parents[1] / "trailhound" / "rules" / "packs" / profile
    scored = {t["techniqueID"]: t["score"] for t in layer["techniques"] if "score" in t}
    assert scored == _pack_coverage(pack)
    assert scored  # the packs name techniques


def test_coverage_counts_user_rules(tmp_path: Path) -> None:
    rule = {
        "title": "Toy: S3 bucket policy deleted", "id": "0d9c4f8e-7a43-4c55-9d7e-2f4b1b8c6a11",
        "logsource": {"product": "aws", "service": "cloudtrail"}, "level": "high",
        "tags": ["attack.impact", "attack.t1485"],
        "detection": {"sel": {"eventName": "DeleteBucketPolicy"}, "condition": "sel"},
    }
    path = tmp_path / "toy.yml"
    path.write_text(yaml.safe_dump(rule))
    def t1485(*args: str) -> dict[str, Any]:
        code, out, err = _run("attack-layer", "--coverage", *args, "-q")
        assert code == 0, err
        found = [t for t in json.loads(out)["techniques"] if t["techniqueID"] == "T1485"]
        return found[0] if found else {"score": 0, "comment": ""}

    before = t1485()  # the shipped packs' own rules naming T1485 (none, or some)
    toy = t1485("--rules", str(path))
    assert toy["score"] == before["score"] + 1
    assert rule["title"] in toy["comment"] and rule["title"] not in before["comment"]


def test_a_scan_without_findings_gives_an_empty_layer(tmp_path: Path) -> None:
    quiet = {"eventVersion": "1.08", "eventTime": "2024-05-01T12:00:00Z", "eventID": "q",
             "eventSource": "ec2.amazonaws.com", "eventName": "DescribeInstances",
             "awsRegion": "us-east-1", "sourceIPAddress": "192.0.2.1",
             "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/a"}}
    path = tmp_path / "quiet.json"
    path.write_text(json.dumps({"Records": [quiet]}))
    code, out, err = _run("attack-layer", "-q", str(path))
    assert code == 0, err
    layer = json.loads(out)
    assert layer["techniques"] == []
    _navigator_load(layer)


def test_usage_errors_are_one_line(tmp_path: Path) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "trailhound", "attack-layer", *args],
                              capture_output=True, text=True, check=False)

    for args, says in (
        ((), "needs PATHS"),
        (("--coverage", str(tmp_path)), "--coverage reads no logs"),
        ((str(dataset_path()), "-o", str(tmp_path / "no" / "such" / "dir.json")), "cannot write the layer"),
    ):
        res = run(*args)
        assert res.returncode == 2, (args, res.stderr)
        assert says in res.stderr and "Traceback" not in res.stderr
        assert res.stdout == ""


def test_tags() -> None:
    assert set(TACTIC_IDS) == set(TACTICS)  # the same 14 tactics as triage/tactics.py
    assert techniques(["attack.T1562.008", "attack.t1098", "attack.defense-evasion", "car.2013"]) == [
        "T1098", "T1562.008"
    ]
    assert tactics(["attack.command-and-control", "attack.t1098"]) == ["command-and-control"]
    assert tactic_name("command-and-control") == "Command and Control"
