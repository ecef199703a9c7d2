"""One pass over a scan's findings: each finding spooled to disk as a compact JSON array (the
table the page pages through) and its raw record as one JSON line (shown on demand), while the
same rows feed the principal ranking (triage/principals.py, as `trailhound principals` ranks).

Spooled rather than kept: a 50,000-finding report holds ~75 MB of raw records, which need not
sit in memory while the principals are ranked and their events read."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from trailhound.profiles import Profile
from trailhound.report.columns import row
from trailhound.scoring import Finding
from trailhound.triage.principals import rank_principals

Row = dict[str, Any]

# A finding as the page holds it: one JSON array per finding, in this order (the page reads
# the names from the data block; arrays instead of objects keep 50,000 findings ~40 % smaller).
FINDING_FIELDS = (
    "time", "operation", "principal", "identityType", "sourceIP", "region", "score",
    "provider", "source", "account", "service", "userAgent", "accessKey", "outcome",
    "errorCode", "errorMessage", "eventID", "origin", "records", "rules", "correlations",
)

# Level names ranked, for the colour of a finding's dot (its highest non-context rule).
LEVELS = ("informational", "low", "medium", "high", "critical")


@dataclass
class Dot:
    """A finding on its principal's plot."""

    time_ns: int
    score: float
    level: str


@dataclass
class Collected:
    findings: Path  # one JSON array (FINDING_FIELDS) per line, in the scan's order
    raw: Path  # one raw record (JSON) per line, same order
    count: int = 0  # every finding of the scan
    kept: int = 0  # the first (highest-scored) ones, spooled for the page
    principals: list[Row] = field(default_factory=list)  # rank_principals' rows, ranked
    rules: dict[str, Row] = field(default_factory=dict)  # rule id -> its signal object
    rule_counts: Counter[str] = field(default_factory=Counter)  # rule id -> findings
    dots: dict[str | None, list[Dot]] = field(default_factory=dict)  # principal -> findings


def _level(signals: list[Row]) -> str:
    levels = [s["level"] for s in signals if not s["context"] and s["level"] in LEVELS]
    return max(levels, key=LEVELS.index) if levels else "low"


def _compact(r: Row, rule_ids: list[str]) -> list[Any]:
    out = []
    for name in FINDING_FIELDS:
        if name == "operation":
            out.append(r["eventName"] if r["eventName"] is not None else r["operationName"])
        elif name == "principal":
            out.append(r["userArn"])
        elif name == "region":
            out.append(r["awsRegion"])
        elif name == "score":
            out.append(r["suspicion_score"])
        elif name == "rules":
            out.append(rule_ids)
        elif name == "correlations":
            # (events_omitted: a hit past correlate.LISTED events names the first of them)
            out.append([[c["title"], c["events"], c.get("events_omitted", 0)]
                        for c in r["correlations"]])
        else:
            out.append(r[name])
    return out


def collect(
    findings: Iterable[Finding], profile: Profile, folder: str, keep: int | None = None
) -> Collected:
    """Spool the first `keep` of `findings` (None: all; they come highest score first) under
    `folder`, and rank the principals of all of them; the scan's stats are complete on return.
    The page's size is bounded by `keep`: a finding beyond it still counts in the principals,
    the rules and the plots, but its row and raw record stay out of the page."""
    got = Collected(Path(folder, "findings.jsonl"), Path(folder, "raw.jsonl"))
    with got.findings.open("wb") as rows_out, got.raw.open("wb") as raw_out:
        got.principals = rank_principals(_spooled(findings, profile, got, rows_out, raw_out, keep))
    return got


def _spooled(findings: Iterable[Finding], profile: Profile, got: Collected,
             rows_out: BinaryIO, raw_out: BinaryIO, keep: int | None) -> Iterator[Row]:
    for f in findings:
        r = row(f, profile)
        for s in r["signals"]:
            got.rules.setdefault(s["rule_id"], s)
            got.rule_counts[s["rule_id"]] += 1
        if keep is None or got.kept < keep:
            rows_out.write(orjson.dumps(_compact(r, [s["rule_id"] for s in r["signals"]])) + b"\n")
            raw_out.write(orjson.dumps(f.event.raw, default=str) + b"\n")
            got.kept += 1
        got.count += 1
        if f.event.time_ns is not None:
            got.dots.setdefault(r["userArn"], []).append(
                Dot(f.event.time_ns, float(r["suspicion_score"]), _level(r["signals"])))
        yield r
