"""Scoring's one sorter (scoring._Sorter), in memory and spilled, against plain Python: score each
match, collapse copies of one operation (the lowest status rank, then the first, wins and counts
the copies), keep by min_score, sort by sort_key. And the claim that lets the collapse groups be
sorted by event time first (group_first, scoring.event_keys): equal "record" keys mean equal event_order.
"""

from __future__ import annotations

import dataclasses
import math
import os
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.test_engine_fast import ruleset
from tests.test_spill import _synthetic
from trailhound.engine.base import Match
from trailhound.model import Event, Location
from trailhound.scoring import (
    collapse_key,
    event_keys,
    event_order,
    iter_findings,
    keep,
    score_match,
    sort_key,
)
from trailhound.spill import MAX_PILES, Piles


def _plain(ms: list[Match], dedupe: bool, min_score: float | None) -> list[tuple[Any, ...]]:
    """The findings as plain Python makes them (no correlation hits: the synthetic data has none)."""
    found = [f for i, m in enumerate(ms) if (f := score_match(m, i)) is not None]
    if dedupe:
        best: dict[tuple[object, ...], Any] = {}
        copies: dict[tuple[object, ...], int] = {}
        out = []
        for f in found:
            key = collapse_key(f.event)
            if key is None:
                out.append(f)
                continue
            copies[key] = copies.get(key, 0) + 1
            rank = (0 if f.event.status in ("success", "failure") else 1, f.order)
            kept = best.get(key)
            if kept is None or rank < (0 if kept.event.status in ("success", "failure") else 1, kept.order):
                best[key] = f
        for key, f in best.items():
            f.copies = copies[key]
            out.append(f)
        found = out
    found = sorted((f for f in found if keep(f, min_score)), key=sort_key)
    return [(f.order, f.score, [r.id for r in f.rules], f.copies) for f in found]


@pytest.mark.parametrize("seed", range(40))
def test_sorted_findings_are_plain_pythons(seed: int) -> None:
    ms, _ = _synthetic(seed)  # copies with other rules and statuses, ties on every key
    for budget in (1, 3, 10**9):
        for dedupe in (False, True):
            for min_score in (None, 0, 2, math.inf):
                want = _plain(ms, dedupe, min_score)
                got = [(f.order, f.score, [r.id for r in f.rules], f.copies)
                       for f in iter_findings(iter(ms), min_score, dedupe=dedupe, spill_after=budget)]
                assert not any(f.hits for f in iter_findings(iter(ms), min_score, dedupe=dedupe))
                assert got == want, (seed, budget, dedupe, min_score)


_text = st.sampled_from([None, "", "a", "A", "b", "syn:1", "x\u2028"])
_events = st.builds(
    Event,
    source=st.sampled_from(["cloudtrail", "azure_activity", "entra_signin", "gcp_audit"]),
    provider=st.just("aws"),
    raw=st.just({}),
    location=st.just(Location("f")),
    time_ns=st.sampled_from([None, 0, 1, 86_400 * 10**9 - 1, 86_400 * 10**9, 10**18]),
    operation=_text, principal=_text, src_ip=_text, account=_text, event_id=_text,
    correlation_id=_text, resource=_text,
    status=st.sampled_from([None, "success", "failure", "other"]),
)


_fields = {
    "time_ns": st.sampled_from([None, 0, 1, 86_400 * 10**9 - 1, 86_400 * 10**9, 10**18]),
    "operation": _text, "principal": _text, "src_ip": _text, "account": _text,
    "event_id": _text, "correlation_id": _text, "resource": _text,
    "status": st.sampled_from([None, "success", "failure", "other"]),
}


@settings(max_examples=500, deadline=None)
@given(_events, st.data())
def test_copies_of_one_operation_sort_together_in_the_groups(a: Event, data: st.DataObject) -> None:
    """Equal collapse keys give equal group_first, whatever else differs: so sorting the groups by
    (group_first, key) keeps each operation's copies adjacent. For "record" keys group_first is
    event_order: the key must hold the event's time and id."""
    changed = data.draw(st.lists(st.sampled_from(sorted(_fields)), max_size=3, unique=True))
    b = dataclasses.replace(a, **{name: data.draw(_fields[name]) for name in changed})
    ka, kb = event_keys(a), event_keys(b)
    if collapse_key(a) is not None and collapse_key(a) == collapse_key(b):
        assert ka[0] == kb[0] and ka[3] == kb[3]
        if ka[3]:
            assert event_order(a) == event_order(b)


def _many(seed: int, n: int) -> list[Match]:
    """`n` CloudTrail findings of few scores, about one in ten a copy of an earlier record
    (with other rules at times: copies need not score alike), times mostly rising."""
    rs = ruleset("corrected")
    det = [r for r in rs.rules if not r.context and r.generate][:4]
    rng = random.Random(seed)
    ms: list[Match] = []
    for i in range(n):
        if ms and rng.random() < 0.1:
            e = rng.choice(ms).event
        else:
            e = Event(
                source="cloudtrail", provider="aws", raw={"i": i}, location=Location("f", i),
                time_ns=rng.choice([None, i // 3, rng.randint(0, n)]),
                event_id=rng.choice([None, f"e{i}", f"e{i // 2}"]), operation="Op",
                status=rng.choice(["success", "other"]),
            )
        ms.append(Match(e, rng.sample(det, rng.randint(1, 2)), []))
    return ms


@pytest.mark.parametrize("seed", range(4))
def test_many_findings_spilled_are_plain_pythons(seed: int) -> None:
    """Enough findings of one score that its pile is written to disk in many chunks."""
    ms = _many(seed, 3000)
    for budget in (50, 10**9):
        for min_score in (None, 2):
            want = _plain(ms, True, min_score)
            got = [(f.order, f.score, [r.id for r in f.rules], f.copies)
                   for f in iter_findings(iter(ms), min_score, dedupe=True, spill_after=budget)]
            assert got == want, (seed, budget, min_score)


@pytest.mark.parametrize("on_disk", [False, True])
def test_piles_give_each_pile_in_key_order(tmp_path: Path, on_disk: bool) -> None:
    rng = random.Random(7)
    piles = Piles(str(tmp_path) if on_disk else None)
    added: list[tuple[int, int]] = []
    for i in range(0, 5000, 100):  # in batches of several keys, as scoring hands them over
        batch = [(rng.randint(0, MAX_PILES - 1), i + j) for j in range(rng.randint(0, 100))]
        piles.extend(batch)
        added += batch
    with pytest.raises(ValueError, match="more than"):  # a new key past the cap is a bug
        piles.extend([(MAX_PILES, 0)])
    got = [(key, [item for chunk in chunks for item in chunk]) for key, chunks in piles]
    # every item, piles by key, each in arrival order
    assert [item for _, items in got for item in items] == sorted(added)
    assert all(item[0] == key for key, items in got for item in items)
    assert os.listdir(tmp_path) == []  # read once, then gone


@pytest.mark.parametrize("seed", range(6))
def test_scores_past_the_piles_cap_are_plain_pythons(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """More scores than piles (scoring counts them: the first MAX_PILES get one each, the rest
    are sorted with `final`), with findings of no collapse key sharing some of the piled scores
    (their piles then keep whole sort keys, merged with `final`'s)."""
    monkeypatch.setattr("trailhound.scoring.MAX_PILES", 2)
    ms, _ = _synthetic(seed)
    for budget in (1, 3, 10**9):
        for min_score in (None, 0, 2):
            want = _plain(ms, True, min_score)
            got = [(f.order, f.score, [r.id for r in f.rules], f.copies)
                   for f in iter_findings(iter(ms), min_score, dedupe=True, spill_after=budget)]
            assert got == want, (seed, budget, min_score)
