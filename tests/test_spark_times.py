"""The one output time format (RFC 3339 UTC, three fraction digits) in the Spark engine's rows:
the same mixed-source input as tests/test_hostile_normalize.py (which checks the CLI's JSONL
and CSV writers, shared by every engine), through the Spark engine on the shared session.
Skips, saying why, only when PySpark or Java is missing (fails under CI=true)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.test_hostile_normalize import check_times, mixed_folder
from trailhound.spark.testing import make_session, on_spark, require_spark

require_spark()


@pytest.fixture(scope="module")
def spark() -> Any:
    return make_session()  # shared by every Spark test module (getOrCreate), stopped at exit


def test_spark_rows_use_the_one_time_format(spark: Any, tmp_path: Path) -> None:
    rows, _ = on_spark(spark, [str(mixed_folder(tmp_path))], "corrected")
    check_times(rows)
