"""`trailhound export --to sumo`. For `--profile seed` the export is the catalog page's query
(read from ../shared/seed at test time) with only its two non-Sumo operators repaired, following
Sumo's documentation: `| eval X = E` becomes `| E as X` (Sumo assigns with `as`; it has no eval)
and `| table ...` becomes `| fields ...`. Every other line must be the page's, byte for byte.

Executed: trailhound's own Sumo runner (trailhound/sumo/, `run_query`) runs the seed and corrected
exports over the external CloudTrail data, and they return detect's events and scores."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.conftest import SHARED, require
from tests.export_oracle import expected
from tests.test_export_duckdb import cloudtrail_paths
from trailhound.export import TARGETS
from trailhound.export.build import ruleset_for
from trailhound.export.pack import build
from trailhound.scoring import SIGNALS
from trailhound.spark.testing import reference
from trailhound.sumo import run_query

# the seed query's columns a row is compared on (it names no event id)
SEED_KEY = ("eventName", "userArn", "identityType", "sourceIP", "awsRegion", "errorCode", *SIGNALS, "suspicion_score")


def page_query() -> list[str]:
    pages = sorted((SHARED / "seed").glob("*.txt"))
    require(pages, f"the seed page is not in {SHARED / 'seed'} (../shared is absent)")
    lines = pages[0].read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("(_sourceCategory="))
    end = next(i for i in range(start, len(lines)) if not lines[i].startswith("|") and i > start)
    return lines[start:end]


def repaired(line: str) -> str:
    """The two repairs, written from Sumo's operator reference (not from the exporter)."""
    m = re.fullmatch(r"\| eval (\w+) = (.+)", line)
    if m:
        return f"| {m.group(2)} as {m.group(1)}"
    m = re.fullmatch(r"\| table (.+)", line)
    if m:
        return f"| fields {m.group(1)}"
    return line


def test_seed_export_is_the_page_query_repaired() -> None:
    page = page_query()
    ruleset, _ = ruleset_for("seed", [], [], None)
    exported = TARGETS.get("sumo").render(build(ruleset, "seed")).splitlines()
    assert exported == [repaired(line) for line in page]
    changed = [p for p, e in zip(page, exported, strict=True) if p != e]
    assert len(changed) == 6  # five eval lines and the table line, nothing else
    assert all(p.startswith(("| eval ", "| table ")) for p in changed)
    assert not any(" eval " in e or e.startswith("| table") for e in exported)


def _run(profile: str, external: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]], Any]:
    ruleset, _ = ruleset_for(profile, [], [], None)
    query = TARGETS.get("sumo").render(build(ruleset, profile))
    rows = list(run_query(query, cloudtrail_paths(external)))
    want, _ = reference(cloudtrail_paths(external), profile, ruleset)
    return rows, want, ruleset


def _descending(rows: list[dict[str, Any]]) -> bool:
    scores = [r["suspicion_score"] for r in rows]
    return scores == sorted(scores, reverse=True)


def test_seed_export_run_by_the_sumo_runner_equals_detect(external: Path) -> None:
    rows, want, _ = _run("seed", external)
    assert len(want) > 20
    def key(row: dict[str, Any]) -> tuple[str, ...]:
        return tuple(repr(row[k]) for k in SEED_KEY)  # repr: None sorts with the strings

    assert sorted(map(key, rows)) == sorted(map(key, want))
    assert _descending(rows)


def test_corrected_export_run_by_the_sumo_runner_equals_detect(external: Path) -> None:
    """Minus the correlation rule, which no row-wise export carries (docs/export.md)."""
    rows, want, ruleset = _run("corrected", external)
    oracle = expected(want, ruleset)
    got = [(r["eventID"], float(r["suspicion_score"]), *(r[s] for s in SIGNALS)) for r in rows]
    assert sorted(got) == sorted(oracle)
    assert _descending(rows)
