"""Rule text and values from someone else's rule file are data in every export: a title cannot
leave its comment, a value cannot leave its string literal. The hostile rule (a title with ```,
a line break, `//`, `*/`, `--`; values with quotes, backslashes, a line break, `%`, `_`, `!`)
exports to every target; the languages without a Python parser pass the syntax check; DuckDB
runs its export and flags exactly the records the reference engine flags."""

from __future__ import annotations

import duckdb
import pytest

from tests.query_syntax import ESQL, KQL, SPL, check
from tests.test_export_duckdb import DATA, NON_AWS
from trailhound.export import TARGETS
from trailhound.export.build import ruleset_for
from trailhound.export.pack import build
from trailhound.spark.testing import reference

HOSTILE = DATA / "hostile"


def export(target: str) -> str:
    ruleset, problems = ruleset_for(None, [str(HOSTILE / "hostile.yml")], [], None)
    assert problems == []
    return TARGETS.get(target).render(build(ruleset, "rules"))


@pytest.mark.parametrize("target", TARGETS.names())
def test_the_title_stays_in_its_comment(target: str) -> None:
    text = export(target)
    for line in text.splitlines():
        if "delete" in line:  # the title's words: only ever inside a comment line
            assert line.startswith(("--", "//", "```", "#", "title:")), line
    assert "| eval x=1" not in [line.strip() for line in text.splitlines()]


@pytest.mark.parametrize(("target", "lang"), [("splunk", SPL), ("kql", KQL), ("esql", ESQL)])
def test_values_stay_in_their_literals(target: str, lang: object) -> None:
    assert check(export(target), lang) == []  # type: ignore[arg-type]


def test_duckdb_flags_what_the_reference_flags() -> None:
    ruleset, _ = ruleset_for(None, [str(HOSTILE / "hostile.yml")], [], None)
    rows, _ = reference([str(HOSTILE / "events.json")], "corrected", ruleset)
    want = sorted(r["eventID"] for r in rows)
    assert len(want) == 3  # the exact value in two cases, and the one `100%_!'` record
    con = duckdb.connect()
    con.execute(
        "CREATE VIEW cloudtrail AS SELECT unnest(json_extract(json, '$.Records[*]')) AS raw "
        f"FROM read_json_objects('{HOSTILE / 'events.json'}')"
    )
    for name in NON_AWS:
        con.execute(f"CREATE VIEW {name} AS SELECT CAST(NULL AS JSON) AS raw WHERE false")
    got = sorted(r[2] for r in con.execute(export("duckdb-sql")).fetchall())
    assert got == want
