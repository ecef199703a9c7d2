"""`trailhound export --to spark-sql`, executed by PySpark in local mode over the external
CloudTrail data (files read by Spark itself, one row per record as JSON text), against
`trailhound detect` with the same profile. One Spark session, two queries (Spark is slow)."""

from __future__ import annotations

import json
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


def test_spark_compares_the_address_without_the_port(spark: Any, tmp_path: Path) -> None:
    """tests/test_export_ports.py's allowlist cidr on ported Microsoft 365 addresses, in Spark
    SQL (Java's regex: regexp_extract, RLIKE) this time."""
    from tests.test_export_ports import RULE, _kept_ids, _records

    rule, allow, log = tmp_path / "rule.yml", tmp_path / "allow.yml", tmp_path / "m365.jsonl"
    rule.write_text(RULE, encoding="utf-8")
    allow.write_text("- cidr: 10.20.0.0/16\n  provider: m365\n", encoding="utf-8")
    log.write_text("".join(json.dumps(r) + "\n" for r in _records()), encoding="utf-8")
    spark.read.text(str(log)).createOrReplaceTempView("m365_lines")
    spark.sql("CREATE OR REPLACE TEMP VIEW m365_audit AS SELECT value AS raw FROM m365_lines")
    for name in ("cloudtrail", *(n for n in NON_AWS if n != "m365_audit")):
        spark.sql(f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT CAST(NULL AS STRING) AS raw WHERE false")
    ruleset, messages = ruleset_for(None, [str(rule)], [str(allow)], None)
    assert messages == []
    df = spark.sql(TARGETS.get("spark-sql").render(build(ruleset, "corrected")))
    assert {r["event_id"] for r in df.collect()} == _kept_ids()
