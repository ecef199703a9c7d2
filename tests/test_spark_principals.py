"""Principal risk on the Spark engine (issue #11, acceptance): the same principal rows as the
reference engine, on the demo and on the invictus-ir trail, and through the real CLI
(`principals --engine spark`). Skips, saying why, only when PySpark or Java is missing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from trailhound.demo import dataset_path
from trailhound.spark.api import detect_dataframe
from trailhound.spark.testing import (
    first_difference,
    make_session,
    reference,
    require_spark,
    run_cli,
)
from trailhound.triage.principals import rank_principals

require_spark()


@pytest.fixture(scope="module")
def spark() -> Any:
    return make_session()  # shared by every Spark test module (getOrCreate), stopped at exit


def _both(spark: Any, paths: list[str], profile: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    want, _ = reference(paths, profile)
    res = detect_dataframe(spark, paths, None, profile, keep_raw=False)
    try:
        got = list(res.rows())
    finally:
        res.unpersist()
    assert got == want, first_difference(got, want)
    return rank_principals(got), rank_principals(want)


@pytest.mark.parametrize("profile", ["corrected", "seed"])
def test_demo_principals_parity(spark: Any, profile: str) -> None:
    got, want = _both(spark, [str(dataset_path())], profile)
    assert got == want and len(got) > 5


def test_invictus_principals_parity(spark: Any, external: Path) -> None:
    got, want = _both(spark, [str(external / "invictus-ir-aws_dataset")], "corrected")
    assert got == want and got[0]["risky"]


def test_cli_principals_engine_spark_equals_reference(spark: Any) -> None:
    """`principals --engine spark` through the CLI (in this process: the module's session)."""
    base = ["principals", "--format", "jsonl", "-q", str(dataset_path())]
    ref = run_cli(base)
    spk = run_cli([*base, "--engine", "spark", "--spark-master", "local[2]"])
    assert ref[0] == 0 and spk[0] == 0
    assert spk[1] == ref[1] and ref[1].count("\n") > 5
