"""`trailhound export --to spark-sql`, executed by PySpark in local mode over the external
CloudTrail data (files read by Spark itself, one row per record as JSON text), against
`trailhound detect` with the same profile. One Spark session, two queries (Spark is slow)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.export_oracle import expected, exported
from tests.test_export_duckdb import DATA, NON_AWS, cloudtrail_paths
from trailhound.export import TARGETS
from trailhound.export.build import ruleset_for
from trailhound.export.pack import build
from trailhound.spark.testing import make_session, reference, require_spark

require_spark()


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    session = make_session()
    yield session
    session.stop()


def load_cloudtrail(spark: Any, external: Path) -> None:
    files = spark.read.text(cloudtrail_paths(external), wholetext=True)
    files.createOrReplaceTempView("files")
    # S3 delivery files hold {"Records": [...]}, Stratus files a JSON array; an object read with
    # a string schema comes back as its JSON text.
    spark.sql(
        "CREATE OR REPLACE TEMP VIEW cloudtrail AS SELECT explode(coalesce("
        "from_json(value, 'Records array<string>').Records, from_json(value, 'array<string>'))) AS raw "
        "FROM files"
    )
    for name in NON_AWS:
        spark.sql(f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT CAST(NULL AS STRING) AS raw WHERE false")


@pytest.mark.parametrize(("profile", "allow"), [("seed", None), ("corrected", "allow.yml")])
def test_spark_export_equals_detect(spark: Any, external: Path, profile: str, allow: str | None) -> None:
    ruleset, _ = ruleset_for(profile, [], [str(DATA / allow)] if allow else [], None)
    rows, _ = reference(cloudtrail_paths(external), profile, ruleset)
    want = expected(rows, ruleset)
    assert len(want) > 20
    load_cloudtrail(spark, external)
    df = spark.sql(TARGETS.get("spark-sql").render(build(ruleset, profile)))
    got = [tuple(r) for r in df.collect()]
    assert exported(got, df.columns) == want


def test_spark_export_matches_modifiers_like_the_reference_engine(spark: Any) -> None:
    """The modifier rules of tests/test_export_modifiers.py, in Spark SQL (Java regex, RLIKE,
    get_json_object) this time."""
    from tests.test_export_modifiers import EVENTS, detect_signals, flags, sql

    files = spark.read.text(str(EVENTS), wholetext=True)
    files.createOrReplaceTempView("files")
    spark.sql(
        "CREATE OR REPLACE TEMP VIEW cloudtrail AS SELECT explode("
        "from_json(value, 'Records array<string>').Records) AS raw FROM files"
    )
    for name in NON_AWS:
        spark.sql(f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT CAST(NULL AS STRING) AS raw WHERE false")
    df = spark.sql(sql("spark-sql"))
    assert flags([tuple(r) for r in df.collect()], df.columns) == detect_signals()
