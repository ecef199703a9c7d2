"""`trailhound export` through the real CLI: output file, what goes to stderr, exit codes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from tests.conftest import REPO

RULES = REPO / "tests" / "data" / "export" / "rules"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "trailhound", "export", *args], check=False, capture_output=True, text=True, cwd=REPO
    )


def test_writes_the_file_and_exits_0(tmp_path: Path) -> None:
    out = tmp_path / "seed.sql"
    p = run("--profile", "seed", "--to", "duckdb-sql", "-o", str(out))
    assert (p.returncode, p.stdout, p.stderr) == (0, "", "")
    assert "suspicion_score" in out.read_text(encoding="utf-8")


def test_rules_a_target_cannot_carry_are_named_and_exit_3() -> None:
    p = run("--rules", str(RULES), "--to", "esql")
    assert p.returncode == 3
    lines = p.stderr.splitlines()
    # the keyword rule and the regex rules: each named with the target and the reason
    assert any("6f0d6d4e-9a51-5d0e-8f43-4b8bd0b63c11" in x and "keyword" in x for x in lines)
    assert all(x.startswith("trailhound: rule ") and "not exported to esql" in x for x in lines)
    assert "FROM logs-aws.cloudtrail-*" in p.stdout  # the rest is exported
    assert "Traceback" not in p.stderr


def test_usage_errors_exit_2() -> None:
    nothing = run("--to", "sigma")
    assert nothing.returncode == 2 and "--profile NAME or --rules PATH" in nothing.stderr
    unknown = run("--profile", "seed", "--to", "kusto")
    assert unknown.returncode == 2 and "kql" in unknown.stderr  # the choices are listed
    rule = run("--profile", "seed", "--to", "sumo", "--rule", "no-such-rule")
    assert rule.returncode == 2 and "no such rule" in rule.stderr and "Traceback" not in rule.stderr


def test_one_rule() -> None:
    p = run("--profile", "corrected", "--to", "sigma", "--rule", "AWS logging or threat detection disabled")
    assert p.returncode == 0
    docs = [d for d in yaml.safe_load_all(p.stdout) if d is not None]
    assert [d["id"] for d in docs] == ["70becef3-34ae-5677-8c6a-859c3172b43c"]
