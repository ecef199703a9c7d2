"""Parity-test helpers (tests/test_spark*.py, and anyone checking a Spark deployment against the
reference engine): skip rules, a small local session, the reference run to compare with."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from trailhound.pipeline import ScanStats, scan
from trailhound.profiles import get_profile
from trailhound.report.columns import row
from trailhound.rules.model import RuleSet
from trailhound.tuning.window import TimeWindow


def java_missing() -> str | None:
    """Why Spark cannot start here (no Java), or None."""
    home = os.environ.get("JAVA_HOME")
    if home and Path(home, "bin", "java").exists():
        return None
    if shutil.which("java"):
        return None
    return "Java is not installed (Spark needs Java 17+: install a JDK or set JAVA_HOME)"


def require_spark() -> Any:
    """Skip the calling module, saying why, only when PySpark or Java is missing; under CI
    (CI=true) fail instead: CI must never silently skip the Spark suites."""
    import importlib.util

    import pytest

    reason = java_missing()
    if importlib.util.find_spec("pyspark") is None:
        reason = "PySpark is not installed: pip install 'trailhound[spark]'"
    if reason:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"CI=true and Spark cannot run: {reason}", pytrace=False)
        pytest.skip(reason, allow_module_level=True)
    import pyspark

    return pyspark


def make_session() -> Any:
    from trailhound.spark.session import build_session

    return build_session(
        "local[2]",
        {
            "spark.sql.shuffle.partitions": "4",
            "spark.default.parallelism": "4",
            "spark.ui.enabled": "false",
            "spark.driver.memory": "2g",
        },
        app_name="trailhound-tests",
    )


def reference(
    paths: list[str], profile: str, ruleset: RuleSet | None = None, min_score: float | None = None,
    window: TimeWindow | None = None,
) -> tuple[list[dict[str, Any]], ScanStats]:
    p = get_profile(profile)
    res = scan(paths, p, ruleset=ruleset, min_score=min_score, window=window, engine="reference")
    return [row(f, p) for f in res.findings], res.stats


def on_spark(
    spark: Any, paths: list[str], profile: str, ruleset: RuleSet | None = None,
    min_score: float | None = None, window: TimeWindow | None = None,
) -> tuple[list[dict[str, Any]], ScanStats]:
    """`reference`'s rows and summary, from the Spark engine."""
    from trailhound.spark.api import detect_dataframe

    res = detect_dataframe(
        spark, paths, ruleset, profile, min_score=min_score, keep_raw=False, window=window,
        strict=True,  # the reference reports every input issue
    )
    try:
        return list(res.rows()), res.summary
    finally:
        res.unpersist()


def run_cli(args: list[str]) -> tuple[int, str]:
    """`trailhound ARGS` in this process (click's runner): (exit code, stdout). With
    `--engine spark`, the CLI's session is this process's active one (getOrCreate), so no
    second JVM starts."""
    from click.testing import CliRunner

    from trailhound.cli.app import cli

    res = CliRunner().invoke(cli, args, catch_exceptions=False)
    return res.exit_code, res.stdout


def first_difference(got: list[dict[str, Any]], want: list[dict[str, Any]]) -> str:
    """A readable account of where two row lists part (for assertion messages)."""
    if len(got) != len(want):
        head = f"{len(got)} rows from Spark, {len(want)} from the reference engine; "
    else:
        head = ""
    for i, (a, b) in enumerate(zip(got, want)):
        if a != b:
            cols = {k: (a.get(k), b.get(k)) for k in set(a) | set(b) if a.get(k) != b.get(k)}
            return f"{head}row {i} differs (spark, reference): {cols}"
    extra = got[len(want) :] or want[len(got) :]
    return f"{head}first extra row: {extra[:1]}"
