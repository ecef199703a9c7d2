"""Golden test of `trailhound demo`: the demo's intrusion ranks first, its benign noise below.

The oracle is the demo's generator (tools/loggen/demo.py), not trailhound: every attacker step
comes from one of its three attacker addresses, everything else is the ordinary day around it.
A compact snapshot of the ranking (tests/data/demo/findings.expected.jsonl, rewritten by
`pytest --regen-golden` and reviewed as a git diff) shows any change in what the demo finds.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import IN_CI
from tests.test_cli import th
from tools.loggen.demo import AWS_ATTACKER, AZ_ATTACKER, GCP_ATTACKER

ATTACKERS = {AWS_ATTACKER, GCP_ATTACKER, AZ_ATTACKER}
SNAPSHOT = Path(__file__).resolve().parent / "data" / "demo" / "findings.expected.jsonl"
# One step per cloud and log the generator's story says the intruder took (its docstring).
STORY = {
    ("cloudtrail", "StopLogging"),
    ("gcp_audit", "google.logging.v2.ConfigServiceV2.DeleteSink"),
    ("entra_audit", "Delete conditional access policy"),
    ("azure_activity", "MICROSOFT.INSIGHTS/DIAGNOSTICSETTINGS/DELETE"),
    ("m365_audit", "Set-AdminAuditLogConfig"),
}


@cache
def _rows() -> tuple[dict[str, Any], ...]:
    out = th("demo", "--format", "jsonl", "-q")
    assert out.returncode == 0, out.stderr
    return tuple(json.loads(line) for line in out.stdout.splitlines())


def _ip(row: dict[str, Any]) -> str:
    """The caller address without the port some M365 records append."""
    ip = row["sourceIP"] or ""
    return ip.rsplit(":", 1)[0] if ip.count(":") == 1 else ip


def _intrusion(row: dict[str, Any]) -> bool:
    return _ip(row) in ATTACKERS


def _action(row: dict[str, Any]) -> str:
    return row["eventName"] or row["operationName"]


def test_the_intrusion_ranks_first_and_the_noise_below_it() -> None:
    rows = _rows()
    scores = [r["suspicion_score"] for r in rows]
    assert scores == sorted(scores, reverse=True), "findings are not in rank order"
    benign = [r for r in rows if not _intrusion(r)]
    intrusion = [r for r in rows if _intrusion(r)]
    assert intrusion and _intrusion(rows[0])
    top_benign = max((r["suspicion_score"] for r in benign), default=0)
    # Every finding that outranks all the noise is the intruder's ...
    assert all(_intrusion(r) for r in rows if r["suspicion_score"] > top_benign)
    # ... and in every log the intruder touched, its worst step outranks all the noise.
    for source in {r["source"] for r in intrusion}:
        best = max(r["suspicion_score"] for r in intrusion if r["source"] == source)
        assert best > top_benign, f"{source}: the intrusion's best finding ties with noise"
    assert len(intrusion) > 3 * len(benign)


def test_every_cloud_of_the_story_is_found() -> None:
    found = {(r["source"], _action(r)) for r in _rows() if _intrusion(r)}
    assert STORY <= found, f"missing: {STORY - found}"


def test_demo_snapshot(regen_golden: bool) -> None:
    got = [
        json.dumps(
            {
                "score": r["suspicion_score"],
                "intrusion": _intrusion(r),
                "source": r["source"],
                "principal": r["userArn"],
                "action": _action(r),
                "time": r["time"],
            },
            ensure_ascii=False,
        )
        for r in _rows()
    ]
    if regen_golden:
        SNAPSHOT.parent.mkdir(parents=True, exist_ok=True)
        SNAPSHOT.write_text("\n".join(got) + "\n", encoding="utf-8")
        if IN_CI:
            pytest.fail("--regen-golden rewrites files: not in CI")
        pytest.skip(f"rewrote {SNAPSHOT.name}: review it with git diff")
    assert SNAPSHOT.is_file(), f"{SNAPSHOT} is missing: run pytest {__file__} --regen-golden"
    assert got == SNAPSHOT.read_text(encoding="utf-8").splitlines()
