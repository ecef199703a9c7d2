"""Every Sigma modifier the SQL exports translate, executed: DuckDB runs the `duckdb-sql` export of
tests/data/export/rules/modifiers.yml (one rule per modifier: contains, startswith, endswith,
all, re, re|i, cidr, exists, base64, base64offset, windash, cased, gt, lte, null, `?`, numbers,
booleans, fieldref, a keyword with `not`) over hand-written CloudTrail records, and each record
must raise exactly the rules the reference engine (the oracle of engine/fields.py) raises on it.
SigmaHQ's cloud rules use none of cidr, exists, base64 or windash, hence rules of our own."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb

from tests.test_export_duckdb import DATA, NON_AWS
from trailhound.export import TARGETS
from trailhound.export.build import ruleset_for
from trailhound.export.pack import build
from trailhound.spark.testing import reference

EVENTS = DATA / "modifiers_events.json"
RULES = DATA / "rules"


def detect_signals() -> dict[str, set[str]]:
    ruleset, problems = ruleset_for(None, [str(RULES)], [], None)
    assert problems == []
    rows, _ = reference([str(EVENTS)], "corrected", ruleset)
    return {r["eventID"]: {s["signal"] for s in r["signals"]} for r in rows}


def flags(rows: list[tuple[Any, ...]], columns: list[str]) -> dict[str, set[str]]:
    signals = [c for c in columns if c.startswith("m_")]
    return {
        r[columns.index("event_id")]: {s for s in signals if r[columns.index(s)] == 1} for r in rows
    }


def sql(target: str) -> str:
    ruleset, _ = ruleset_for(None, [str(RULES)], [], None)
    return TARGETS.get(target).render(build(ruleset, "rules"))


def test_duckdb_export_matches_like_the_reference_engine() -> None:
    want = detect_signals()
    con = duckdb.connect()
    con.execute(
        "CREATE VIEW cloudtrail AS SELECT unnest(json_extract(json, '$.Records[*]')) AS raw "
        f"FROM read_json_objects('{EVENTS}')"
    )
    for name in NON_AWS:
        con.execute(f"CREATE VIEW {name} AS SELECT CAST(NULL AS JSON) AS raw WHERE false")
    cur = con.execute(sql("duckdb-sql"))
    got = flags(cur.fetchall(), [c[0] for c in cur.description])
    assert got == want
    # every rule both matches and misses somewhere, so each translation is tested both ways
    raised = [s for signals in want.values() for s in signals]
    total = len(json.loads(Path(EVENTS).read_text())["Records"])
    for signal in set(raised):
        assert 0 < raised.count(signal) < total, signal
    assert len(set(raised)) == 20  # all 20 rules of modifiers.yml
