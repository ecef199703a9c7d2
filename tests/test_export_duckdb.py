"""`trailhound export --to duckdb-sql`, executed by DuckDB over the external CloudTrail data (read
with DuckDB's own read_json_objects, as the S3 delivery files and Stratus' arrays are on disk),
against `trailhound detect` with the same profile and allowlist."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest

from tests.export_oracle import expected, exported
from trailhound.export import TARGETS
from trailhound.export.build import ruleset_for
from trailhound.export.pack import build
from trailhound.spark.testing import reference

DATA = Path(__file__).parent / "data" / "export"
NON_AWS = ("azure_activity", "entra_audit", "entra_signin", "gcp_audit", "m365_audit")


def cloudtrail_paths(external: Path) -> list[str]:
    return [
        str(external / "invictus-ir-aws_dataset" / "CloudTrail"),
        str(external / "stratus-red-team" / "detonation-logs"),
    ]


def run_duckdb(query: str, external: Path) -> tuple[list[tuple[Any, ...]], list[str]]:
    con = duckdb.connect()
    globs = ", ".join(f"'{p}/*.json'" for p in cloudtrail_paths(external))
    # One row per record: S3 delivery files hold {"Records": [...]}; Stratus files are arrays,
    # which read_json_objects already splits into their elements.
    con.execute(
        "CREATE VIEW cloudtrail AS SELECT unnest(CASE WHEN json_exists(json, '$.Records') "
        "THEN json_extract(json, '$.Records[*]') ELSE [json] END) AS raw "
        f"FROM read_json_objects([{globs}], format = 'auto')"
    )
    for name in NON_AWS:
        con.execute(f"CREATE VIEW {name} AS SELECT CAST(NULL AS JSON) AS raw WHERE false")
    cur = con.execute(query)
    columns = [c[0] for c in cur.description]
    return cur.fetchall(), columns


@pytest.mark.parametrize(
    ("profile", "allow"),
    [("seed", None), ("corrected", None), ("corrected", "allow.yml")],
)
def test_duckdb_export_equals_detect(external: Path, profile: str, allow: str | None) -> None:
    ruleset, messages = ruleset_for(profile, [], [str(DATA / allow)] if allow else [], None)
    assert messages == []
    rows, _ = reference(cloudtrail_paths(external), profile, ruleset)
    want = expected(rows, ruleset)
    assert len(want) > 20  # the data has enough to compare
    if allow:  # the allowlist removes findings here, so the comparison shows it is compiled in
        untuned, _ = ruleset_for(profile, [], [], None)
        assert len(want) < len(expected(reference(cloudtrail_paths(external), profile, untuned)[0], untuned))
    query = TARGETS.get("duckdb-sql").render(build(ruleset, profile))
    got, columns = run_duckdb(query, external)
    assert exported(got, columns) == want
