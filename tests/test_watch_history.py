"""What a watch carries from cycle to cycle besides correlation windows: first-seen history
(rules/first_seen.py) and the finding rows principal risk is ranked from. Both checked against
one `detect` (or `principals`) over all the files, and first-seen also against the plain-Python
oracle over the raw records of tests/test_first_seen.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner

from tests.test_first_seen import RULE_FILE, A, B, login
from tests.test_first_seen import oracle as first_seen_oracle
from tests.watch_fixtures import Planted, drop_batch
from trailhound.cli.app import cli

RULE_ID = yaml.safe_load(RULE_FILE.read_text())["id"]


# one file per cycle: alice's history starts in cycle 0, her new IPs come in later cycles; a
# pair seen in one cycle comes again in a later one (not new again); bob's first login
# (cycle 1) establishes him, his new IP comes in cycle 3
CYCLES = [
    [login(0, A, "198.51.100.1"), login(1, A, "198.51.100.1")],
    [login(2, A, "203.0.113.9"), login(3, B, "192.0.2.5")],
    [login(4, A, "203.0.113.50"), login(5, A, "203.0.113.9"), login(6, A, "203.0.113.77", False)],
    [login(7, B, "192.0.2.5"), login(8, B, "192.0.2.99"), login(9, A, "198.51.100.1")],
]


def _run(*args: str) -> list[dict[str, Any]]:
    res = CliRunner().invoke(cli, [*args, "--format", "jsonl", "-q", "--engine", "reference"])
    assert res.exit_code == 0, res.output
    return [json.loads(x) for x in res.stdout.splitlines()]


def test_first_seen_history_is_carried_across_cycles(tmp_path: Path) -> None:
    logs, db = tmp_path / "logs", str(tmp_path / "s.db")
    logs.mkdir()
    got: list[str] = []
    for i, records in enumerate(CYCLES):
        (logs / f"f{i}.json").write_text(json.dumps({"Records": records}))
        got += [a["eventID"] for a in _run("detect", "--state", db, str(logs))
                if a["rule_id"] == RULE_ID]
    want = first_seen_oracle([r for c in CYCLES for r in c], set())
    assert want == {"ev-2", "ev-4", "ev-8"}  # the oracle itself, on this data
    assert sorted(got) == sorted(want)  # each once: ev-5 and ev-9 are not new again
    once = {a["eventID"] for a in _run("detect", str(logs)) for s in a["signals"]
            if s["rule_id"] == RULE_ID}
    assert once == want


def test_principals_over_cycles_rank_as_one_run_over_all_files(tmp_path: Path) -> None:
    logs, db = tmp_path / "logs", str(tmp_path / "s.db")
    planted = Planted()
    for i in range(7):  # correlations completed a cycle later; file rewrites (batch 4)
        drop_batch(logs, i, planted)
        _run("detect", "--state", db, str(logs))
    drop_batch(logs, 7, planted)
    ranked = _run("principals", "--state", db, str(logs))  # reads batch 7 first
    once = _run("principals", str(logs))
    assert len(once) >= 8 and any(r["risky"] for r in once)  # the data ranks something
    assert ranked == once
