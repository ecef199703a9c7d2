"""The one output time format (RFC 3339 UTC, three fraction digits) in the Spark engine's rows:
the same mixed-source input as tests/test_hostile_normalize.py, through `trailhound detect
--engine spark`, as JSON lines and CSV. Slow (starts a JVM): run by hand or in CI."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.test_hostile_normalize import check_times, cli_rows, mixed_folder
from trailhound.spark.testing import java_missing


def _spark_ready() -> None:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        reason: str | None = "PySpark is not installed: pip install 'trailhound[spark]'"
    else:
        reason = java_missing()
    if reason is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"the Spark engine cannot run in CI: {reason}")
    pytest.skip(reason)


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_spark_rows_use_the_one_time_format(tmp_path: Path, fmt: str) -> None:
    _spark_ready()
    check_times(cli_rows(mixed_folder(tmp_path), "spark", fmt))
