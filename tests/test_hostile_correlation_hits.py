"""A correlation whose hits cover every event it holds (`gte: 1` over a common event, up to the
correlation cap): the hits' findings must not be held in memory at once, and a hit of every
event must not list every event id in every row (300,000 x 300,000 ids at the cap).

Oracles: plain Python over the generated records (which take part, their time order); the
spilled and in-memory paths of scoring must give the same rows.
"""

from __future__ import annotations

import tracemalloc
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_hostile_correlation import CORR_ID, RULES, T0, correlated, ruleset, setup
from trailhound.engine.base import Match
from trailhound.engine.correlate import LISTED
from trailhound.model import Event, Location
from trailhound.pipeline import scan
from trailhound.profiles import get_profile
from trailhound.report.columns import row
from trailhound.rules.model import RuleSet
from trailhound.scoring import iter_findings

PAD = 4000  # bytes of padding per record: what holding an event costs shows plainly


def _padded(rs: RuleSet, n: int) -> Iterator[Match]:
    """n ListBuckets matches, a distinct ARN each (one hit per event), made one at a time."""
    rule = rs.correlations[0].rules[0]
    for i in range(n):
        arn = f"arn:aws:iam::111122223333:user/u{i}"
        eid = str(uuid.UUID(int=i + 1))
        e = Event(
            source="cloudtrail", provider="aws", location=Location("mem", line=i + 1),
            raw={"eventName": "ListBuckets", "eventID": eid, "userIdentity": {"arn": arn},
                 "pad": f"{i:0{PAD}d}"},
            time_ns=(T0 + i) * 10**9, operation="ListBuckets", principal=arn,
            status="success", event_id=eid,
        )
        yield Match(e, [rule], [])


def _peak(rs: RuleSet, n: int) -> int:
    """tracemalloc's peak while every finding of n hit events is produced (and counted)."""
    tracemalloc.start()
    try:
        got = sum(1 for _ in iter_findings(_padded(rs, n), correlations=rs.correlations,
                                           spill_after=100))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert got == n  # every event is a finding only its hit makes
    return peak


def test_hit_findings_are_not_held_in_memory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRAILHOUND_SPILL_AFTER", "100")  # the correlator's kept matches too
    _, rules, _ = setup(tmp_path, 1)
    rs = ruleset(rules)
    small, large = _peak(rs, 500), _peak(rs, 2500)
    per_event = (large - small) / 2000
    # Holding each hit's findings (or its events) costs at least the PAD bytes of every event;
    # what stays per event is its hit, its position and a few references
    assert per_event < PAD / 2, (small, large, per_event)  # (measured: 11 KB before, 1 KB now)


def _rows(log: Path, rules: Path) -> list[dict[str, object]]:
    p = get_profile("full")
    res = scan([str(log)], p, ruleset=ruleset(rules))
    assert res.stats.error_count == 0
    return [row(f, p) for f in res.findings]


def test_spilled_hit_findings_equal_the_in_memory_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log, rules, recs = setup(tmp_path, 600)
    in_memory = _rows(log, rules)
    monkeypatch.setenv("TRAILHOUND_SPILL_AFTER", "40")  # findings and kept matches spilled
    spilled = _rows(log, rules)
    assert spilled == in_memory
    want = correlated(recs)
    assert [r["eventID"] for r in spilled if r["correlations"]] != []
    assert {r["eventID"] for r in spilled} == set(want)
    for r in spilled:  # one hit per event (its own group): it names only itself
        assert r["correlations"] == [{"rule_id": CORR_ID, "title": "every bucket lister, forever",
                                      "events": [r["eventID"]]}]


def one_hit_of_every_event(tmp_path: Path, n: int) -> tuple[Path, Path, list[str]]:
    """The log of `n` records and the rules folder of a correlation without group-by, so one
    hit holds every event it matched (more than LISTED); those events' ids in time order
    (time, then event id), by plain Python over the records."""
    log, rules, recs = setup(tmp_path, n)
    (rules / "forever.yml").write_text(RULES.replace("  group-by: [userIdentity.arn]\n", ""),
                                       encoding="utf-8")
    want = [r["eventID"] for r in recs if r["eventName"] == "ListBuckets"]  # (no group-by)
    assert len(want) > LISTED
    by_id = {r["eventID"]: r for r in recs}
    return log, rules, sorted(want, key=lambda i: (by_id[i]["eventTime"], i))


def test_a_hit_of_every_event_lists_the_first_ids_and_counts_the_rest(tmp_path: Path) -> None:
    log, rules, in_time = one_hit_of_every_event(tmp_path, 400)
    rows = _rows(log, rules)
    assert {r["eventID"] for r in rows} == set(in_time)
    for r in rows:
        (c,) = r["correlations"]
        assert c["events"] == in_time[:LISTED]
        assert c["events_omitted"] == len(in_time) - LISTED
