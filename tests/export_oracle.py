"""What an export must return, computed from `trailhound detect`'s rows (the reference engine's
JSONL rows, report/columns.row), minus what docs/export.md says no export carries: correlation
rules (their weight, and the events only a correlation flagged)."""

from __future__ import annotations

from typing import Any

from trailhound.rules.model import RuleSet
from trailhound.scoring import SIGNALS


def expected(rows: list[dict[str, Any]], ruleset: RuleSet) -> list[tuple[Any, ...]]:
    """(event id, score, the four flags) per row the export keeps, in detect's order."""
    correlation = {c.id: c.weight for c in ruleset.correlations}
    out = []
    for r in rows:
        assert r["records"] == 1, "collapsed findings: the export keeps every record"
        counted = [s for s in r["signals"] if s["rule_id"] not in correlation]
        if not any(not s["context"] for s in counted):
            continue  # only a correlation flagged it
        score = sum(s["weight"] for s in counted)
        if score > 0:
            out.append((r["time"], r["eventID"], float(score), *(r[s] for s in SIGNALS)))
    # without the correlations' weight the scores change: sort again as scoring.sort_key does
    # (score, then time, then event id; no ties on these in the test data)
    out.sort(key=lambda t: (-t[2], t[0], t[1]))
    return [t[1:] for t in out]


def exported(rows: list[tuple[Any, ...]], columns: list[str]) -> list[tuple[Any, ...]]:
    """The same tuple from the export's output rows (named by `columns`)."""
    at = {c: i for i, c in enumerate(columns)}
    return [
        (r[at["event_id"]], float(r[at["suspicion_score"]]), *(r[at[s]] if s in at else 0 for s in SIGNALS))
        for r in rows
    ]
