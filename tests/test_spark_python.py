"""Spark from a virtual environment (issue #9): the executors' Python is the driver's own
interpreter unless the user configured one, never whatever `python3` PATH finds first (from a
venv that is another Python, without pySigma: every task died with ModuleNotFoundError).

The CLI runs with a PATH whose `python3` and `python` are shims that exit 1; its findings must be
the reference engine's (the CLI, one process) on the same files.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from trailhound.spark.session import executor_python
from trailhound.spark.testing import require_spark

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "trailhound" / "demo" / "data"


def test_the_user_choice_wins_then_the_driver(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PYSPARK_PYTHON", raising=False)
    assert executor_python({}) == sys.executable
    monkeypatch.setenv("PYSPARK_PYTHON", "/opt/py/bin/python3")
    assert executor_python({}) == "/opt/py/bin/python3"
    assert executor_python({"spark.pyspark.python": "/srv/py"}) == "/srv/py"  # Spark's precedence


def _detect(engine: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "trailhound", "detect", *engine, "--format", "jsonl", str(DEMO)],
        capture_output=True, text=True, timeout=600, check=False, cwd=REPO, env=env,
    )


def test_cli_spark_ignores_the_python_on_path(tmp_path: Path) -> None:
    require_spark()
    shims = tmp_path / "bin"
    shims.mkdir()
    for name in ("python3", "python"):
        shim = shims / name
        shim.write_text("#!/bin/sh\necho \"not the driver's python: $*\" >&2\nexit 1\n")
        shim.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k not in ("PYSPARK_PYTHON", "PYSPARK_DRIVER_PYTHON")}
    env["PYTHONPATH"] = str(REPO)
    env["PATH"] = f"{shims}{os.pathsep}{env.get('PATH', '')}"
    ref = _detect(["--engine", "reference"], env)
    assert ref.returncode == 0 and ref.stdout.count("\n") > 20, ref.stderr[-2000:]
    # (the one Spark test that starts its own JVM: a new session reads PATH and the conf)
    got = _detect(["--engine", "spark", "--spark-conf", "spark.ui.enabled=false"], env)
    assert "not the driver's python" not in got.stderr, got.stderr[-2000:]
    assert got.returncode == ref.returncode, got.stderr[-2000:]
    assert got.stdout == ref.stdout
