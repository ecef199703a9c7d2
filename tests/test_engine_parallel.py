"""The fast engine with `strict=True` (`--strict`; `--engine parallel` is its old name) reports
exactly what the reference engine reports: the same rows in the same order, and the same
summary - records, events, skips, every input issue with its position and sample text -
including the normalizer's issues about records no rule can match, which the default (fast,
not strict) does not report. The oracle is scan() with the reference engine.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.test_engine_fast import ruleset
from trailhound.pipeline import ScanResult, scan
from trailhound.profiles import get_profile
from trailhound.report.columns import row


def _stats(r: ScanResult) -> dict[str, Any]:
    d = {f.name: getattr(r.stats, f.name) for f in dataclasses.fields(r.stats)}
    d["samples"] = [str(i) for i in r.stats.samples]
    d["correlation"] = repr(d["correlation"])
    return d


def same(paths: list[str], profile_name: str, rules: str) -> ScanResult:
    p = get_profile(profile_name)
    rs = ruleset(rules)
    want = scan(paths, p, ruleset=rs, engine="reference")
    got = scan(paths, p, ruleset=rs, engine="fast", strict=True)
    assert [row(f, p) for f in got.findings] == [row(f, p) for f in want.findings]
    assert _stats(got) == _stats(want)
    return got


def ct(i: int, **over: Any) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "eventVersion": "1.08",
        "userIdentity": {"type": "IAMUser", "arn": f"arn:aws:iam::111122223333:user/u{i % 3}", "accountId": "111122223333"},
        "eventTime": f"2026-03-01T10:{i % 60:02d}:00Z",
        "eventSource": "ec2.amazonaws.com",
        "eventName": "DescribeInstances",
        "awsRegion": "us-east-1",
        "sourceIPAddress": "203.0.113.7",
        "userAgent": "aws-cli/2.15.0",
        "eventID": f"id-{i}",
        "recipientAccountId": "111122223333",
    }
    rec.update(over)
    return rec


@pytest.fixture(scope="module")
def bad_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Plain S3 files whose unmatched records carry wrong-typed fields and bad times, plus the
    readers' trouble cases: a cut gzip, a bad JSON line, an unknown envelope, non-UTF-8 bytes."""
    root = tmp_path_factory.mktemp("bad")
    recs = [ct(i) for i in range(40)]
    recs[3]["userAgent"] = {"not": "a string"}  # no rule can match this record
    recs[5]["eventTime"] = "2026-02-30T00:00:00Z"  # no such day
    recs[7]["userIdentity"] = "AIDAEXAMPLE"  # not an object
    recs[9]["ErrorCode"] = ["case", "variant"]  # a differently-cased key, wrong type
    recs[11] = ct(11, eventName="CreateUser", eventSource="iam.amazonaws.com", awsRegion={"r": 1})
    recs[12] = ct(12, eventName="AssumeRole", eventSource="sts.amazonaws.com")
    (root / "a.json.gz").write_bytes(gzip.compress(json.dumps({"Records": recs}).encode()))
    (root / "b.json").write_text(json.dumps({"Records": [ct(50 + i) for i in range(5)]}), encoding="utf-8")
    (root / "cut.json.gz").write_bytes(gzip.compress(json.dumps({"Records": [ct(60 + i) for i in range(300)]}).encode())[:-400])
    lines = [json.dumps(ct(70, eventName="RunInstances")), "{bad json", json.dumps({"some": "label"})]
    (root / "lines.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (root / "latin1.json").write_bytes(json.dumps({"Records": [ct(80, userAgent="caf\u00e9")]}).encode("utf-8").replace(b"\xc3\xa9", b"\xe9"))
    return root


@pytest.mark.parametrize("profile_name", ["seed", "corrected"])
def test_parallel_reports_what_reference_reports_on_bad_input(bad_tree: Path, profile_name: str) -> None:
    got = same([str(bad_tree)], profile_name, profile_name)
    kinds = got.stats.errors
    # the issues `fast` does not raise are here: they are about records no rule can match
    assert kinds["wrong_type"] >= 3 and kinds["bad_time"] == 1, kinds
    assert kinds["truncated_gzip"] == 1 and kinds["bad_json"] == 1 and kinds["unknown_envelope"] == 1, kinds


def test_the_default_is_the_one_that_skips_them(bad_tree: Path) -> None:
    """The difference `strict` closes, shown on the same files (so the test above can fail);
    `parallel` is strict under its old name."""
    p = get_profile("corrected")
    par = scan([str(bad_tree)], p, engine="parallel")
    fast = scan([str(bad_tree)], p)
    assert [row(f, p) for f in fast.findings] == [row(f, p) for f in par.findings]
    assert fast.stats.errors["wrong_type"] < par.stats.errors["wrong_type"]
    # everything but the normalizer's issues about records never decoded is the same
    par.stats.errors.pop("wrong_type")
    fast.stats.errors.pop("wrong_type")
    par.stats.errors.pop("bad_time")
    fast.stats.errors.pop("bad_time", None)
    assert fast.stats.errors == par.stats.errors and fast.stats.skipped == par.stats.skipped
    assert (fast.stats.records, fast.stats.events) == (par.stats.records, par.stats.events)


@pytest.mark.parametrize(
    ("profile_name", "rules"),
    [("seed", "seed"), ("corrected", "corrected"), ("corrected", "corrected+sigmahq")],
)
def test_parallel_equals_reference_on_external_data(external: Path, profile_name: str, rules: str) -> None:
    got = same([str(external)], profile_name, rules)
    assert got.findings and got.stats.error_count > 0  # permiso's label files are in there


def test_cli_strict_prints_what_reference_prints(bad_tree: Path) -> None:
    def run(*extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "trailhound", "detect", "--format", "jsonl", *extra, str(bad_tree)],
            capture_output=True, text=True, timeout=300, check=False,
        )

    default, strict, ref = run(), run("--strict"), run("--engine", "reference")
    assert default.returncode == strict.returncode == ref.returncode == 3
    assert strict.stdout == ref.stdout and strict.stderr == ref.stderr
    assert "wrong_type" in strict.stderr and strict.stdout
    # the default: the same findings; fewer normalizer issues (records never decoded)
    assert default.stdout == ref.stdout and default.stderr != ref.stderr


def test_engines_are_registered() -> None:
    from trailhound.cli.app import DEFAULT_ENGINE
    from trailhound.engine import ENGINES, make_engine
    from trailhound.engine.fast import FastEngine

    assert DEFAULT_ENGINE == "fast"
    assert {"reference", "fast", "parallel"} <= set(ENGINES)
    assert isinstance(make_engine("fast"), FastEngine)
    assert make_engine("fast").compile(ruleset("seed")).use_projection is True
    assert make_engine("fast", strict=True).compile(ruleset("seed")).use_projection is False
    assert make_engine("parallel").compile(ruleset("seed")).use_projection is False


HANG_SCRIPT = """
import os
import sys
import trailhound.scoring as S
PARENT, score = os.getpid(), S.score_match
def bad(m, *args, **kwargs):
    if os.getpid() != PARENT:  # the workers score rows too (columns.pre_row): they go on
        return score(m, *args, **kwargs)
    raise RuntimeError("scoring failed mid-scan")
S.score_match = bad
from trailhound.profiles import get_profile
from trailhound.pipeline import scan_stream
s = scan_stream([sys.argv[1]], get_profile("corrected"), engine=sys.argv[2])
try:
    next(s.findings)
except RuntimeError as e:
    kept = e  # its traceback keeps the scan's frames alive to the end
else:
    sys.exit("the main process scored nothing: the test would prove nothing")
print("exiting")
"""


@pytest.mark.parametrize("engine", ["parallel", "fast"])
def test_a_scan_abandoned_by_an_error_does_not_hang_the_exit(tmp_path: Path, engine: str) -> None:
    """Worker processes stop when the stream is closed early, and the pool's feeder never waits
    on a consumer that is gone (it used to hang the interpreter at exit)."""
    for k in range(24):  # more files than the pool hands out before the consumer takes any
        recs = [ct(i, eventName="CreateUser", eventSource="iam.amazonaws.com") for i in range(k * 50, k * 50 + 50)]
        (tmp_path / f"f{k:02d}.json.gz").write_bytes(gzip.compress(json.dumps({"Records": recs}).encode()))
    script = tmp_path / "abandon.py"
    script.write_text(HANG_SCRIPT, encoding="utf-8")
    p = subprocess.run(
        [sys.executable, str(script), str(tmp_path), engine],
        capture_output=True, text=True, timeout=120, check=False,
        cwd=Path(__file__).resolve().parents[1],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )
    assert p.returncode == 0, p.stderr[-2000:]
    assert p.stdout.strip() == "exiting"
