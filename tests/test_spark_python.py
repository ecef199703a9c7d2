"""Spark from a virtual environment (issue #9): the executors' Python is the driver's own
interpreter unless the user configured one, never whatever `python3` PATH finds first (from a
venv that is another Python, without pySigma: every task died with ModuleNotFoundError).

The CLI runs with a PATH whose `python3` and `python` are shims that exit 1; its findings must be
the reference engine's (the CLI, one process) on the same files.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

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


def test_the_daemon_preloads_without_threads_or_pandas() -> None:
    """daemon.py imports the scan before PySpark forks workers from it: that is safe only if the
    imports start no thread and pull in neither pandas nor pyarrow (they start threads, the
    reason pyspark's own daemon imports the worker module after the fork)."""
    require_spark()
    code = (
        "import json, os, sys\n"
        "from trailhound.spark.daemon import PRELOAD, preload\n"
        "failed = preload()\n"
        "print(json.dumps({'failed': failed, 'threads': len(os.listdir('/proc/self/task')),\n"
        "    'heavy': sorted(m for m in ('pandas', 'pyarrow') if m in sys.modules),\n"
        "    'loaded': all(m in sys.modules for m in PRELOAD)}))\n"
    )
    if not Path("/proc/self/task").is_dir():
        pytest.skip("counts threads through /proc (Linux)")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300, check=True, cwd=REPO, env=env).stdout
    assert json.loads(out) == {"failed": [], "threads": 1, "heavy": [], "loaded": True}


def test_local_masters_fork_workers_from_the_preloading_daemon() -> None:
    """A local master's executors run daemon.py, from the zip of this trailhound (byte for
    byte) first on their path, before the user's own PYTHONPATH for them."""
    require_spark()
    from trailhound.spark import session

    got = session._preloading_daemon("/user/path")
    assert got["spark.python.daemon.module"] == "trailhound.spark.daemon"
    code, user = got["spark.executorEnv.PYTHONPATH"].split(os.pathsep)
    assert user == "/user/path"
    import zipfile

    with zipfile.ZipFile(code) as zf:
        assert "trailhound/spark/daemon.py" in zf.namelist()
        ours = (REPO / "trailhound" / "spark" / "daemon.py").read_bytes()
        assert zf.read("trailhound/spark/daemon.py") == ours


@pytest.mark.parametrize(
    ("master", "conf", "preloads"),
    [
        ("local[2]", [], True),
        ("local[*]", ["spark.master=yarn"], False),  # the conf's master is the one that runs
        ("spark://host:7077", [], False),  # executors elsewhere: the zip's path is not theirs
        ("local[1]", ["spark.python.daemon.module=mine.daemon"], False),  # the user's own
    ],
)
def test_only_local_executors_get_the_preloading_daemon(
    master: str, conf: list[str], preloads: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What build_context hands SparkContext (stood in for: no JVM)."""
    require_spark()
    import pyspark

    from trailhound.spark import session

    got: dict[str, str] = {}

    class Context:
        @classmethod
        def getOrCreate(cls, conf: Any) -> Context:
            got.update(conf.getAll())
            return cls()

        def setLogLevel(self, level: str) -> None:
            pass

    monkeypatch.setattr(pyspark, "SparkContext", Context)
    # a JVM started by an earlier test would make SparkConf() load its system properties (that
    # context's own settings): the conf built here alone is what is checked
    from pyspark.core.context import SparkContext as Real

    monkeypatch.setattr(Real, "_jvm", None)
    session.build_context(master, conf)
    ours = got.get("spark.python.daemon.module") == "trailhound.spark.daemon"
    assert ours is preloads
    assert ("spark.executorEnv.PYTHONPATH" in got) is preloads
