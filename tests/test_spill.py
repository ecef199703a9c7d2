"""Spilling findings to disk (spill.py) changes nothing: the oracle is scoring's in-memory path.

Every case scores one list of matches twice - everything in memory, and with a budget of a
few findings so that every phase (input order, collapse groups, final sort) spills many runs -
and compares the Findings field by field (events with their raw records, scores, rules,
suppressions, copies, correlation hits, order).
"""

from __future__ import annotations

import math
import os
import random
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import require
from tests.test_engine_fast import ruleset
from trailhound import spill
from trailhound.engine.base import Match
from trailhound.engine.loop import spec_events
from trailhound.engine.reference import ReferenceEngine
from trailhound.model import Event, Location
from trailhound.pipeline import ScanStats, scan
from trailhound.profiles import get_profile
from trailhound.report.columns import row
from trailhound.rules.model import RuleSet
from trailhound.scoring import iter_findings, score_all
from trailhound.sources import discover
from trailhound.spill import Codec, Payloads, Runs

BUDGETS = (1, 2, 7, 100)


def reference_matches(paths: list[str], profile_name: str, rs: RuleSet) -> list[Match]:
    eng = ReferenceEngine()
    specs, _ = discover(paths)
    evs = spec_events(specs, ScanStats(), get_profile(profile_name))
    return list(eng.run(eng.compile(rs), evs))


def both(ms: list[Match], rs: RuleSet, dedupe: bool, min_score: float | None, budget: int) -> tuple[list[Any], list[Any]]:
    kw: dict[str, Any] = {"dedupe": dedupe, "correlations": rs.correlations}
    want = score_all(iter(ms), min_score, spill_after=10**9, **kw)
    got = score_all(iter(ms), min_score, spill_after=budget, **kw)
    return want, got


@pytest.mark.parametrize(
    ("profile_name", "rules"),
    [("seed", "seed"), ("corrected", "corrected"), ("corrected", "corrected+sigmahq")],
)
def test_spilled_scoring_equals_in_memory_on_external_data(external: Path, profile_name: str, rules: str) -> None:
    rs = ruleset(rules)
    ms = reference_matches([str(external)], profile_name, rs)
    dedupe = get_profile(profile_name).dedupe
    for budget in BUDGETS:
        for min_score in (None, 0, 3):
            want, got = both(ms, rs, dedupe, min_score, budget)
            assert len(want) > 20  # the data flags plenty: the budget really spills
            assert got == want, (budget, min_score)
    # the shipped correlation fires on this data: hits and hit-only findings took the spilled path
    if rs.correlations:
        want, _ = both(ms, rs, dedupe, None, 1)
        assert any(f.hits for f in want)


def _synthetic(seed: int) -> tuple[list[Match], RuleSet]:
    """Matches whose findings collide on every sort and collapse key: Azure Started/Succeeded
    pairs, CloudTrail copies, missing times and ids, ties in score."""
    rs = ruleset("corrected")
    rng = random.Random(seed)
    det = [r for r in rs.rules if not r.context and r.generate]
    ctx = [r for r in rs.rules if r.context]
    ms: list[Match] = []
    for i in range(rng.randint(1, 60)):
        azure = rng.random() < 0.4
        eid = rng.choice([None, "a", "b", "c", f"x{i}", "syn:1"])
        e = Event(
            source="azure_activity" if azure else "cloudtrail",
            provider="azure" if azure else "aws",
            raw={"i": i, "n": [1, {"k": "v\u2028"}], "big": 2**70 if rng.random() < 0.1 else 1, "s": "\ud800" if rng.random() < 0.1 else "ok"},
            location=Location("f.json", i, None, i, f"/Records/{i}"),
            time=None,
            time_ns=rng.choice([None, 0, 5, 10**18]),
            operation=rng.choice([None, "Op", "op"]),
            account=rng.choice([None, "1", "2"]),
            status=rng.choice(["success", "failure", "other", None]),
            event_id=eid,
            correlation_id=rng.choice([None, "C1", "c1", "C2"]),
            meta={"m": i} if rng.random() < 0.2 else {},
        )
        rules = rng.sample(det, rng.randint(0, 3)) + rng.sample(ctx, rng.randint(0, min(1, len(ctx))))
        if not rules:
            continue
        ms.append(Match(e, rules, []))
    return ms, rs


@pytest.mark.parametrize("seed", range(40))
def test_spilled_scoring_equals_in_memory_on_colliding_keys(seed: int) -> None:
    ms, rs = _synthetic(seed)
    for budget in (1, 3):
        for dedupe in (False, True):
            for min_score in (None, 0, 2, math.inf):
                want, got = both(ms, rs, dedupe, min_score, budget)
                assert got == want, (seed, budget, dedupe, min_score)


def test_codec_round_trips_what_orjson_refuses(tmp_path: Path) -> None:
    ms, _ = _synthetic(3)
    f = score_all([Match(ms[0].event, ms[0].rules + [r for r in ruleset("corrected").rules if not r.context][:1], [])])[0]
    f.event.raw = {"big": 2**80, "lone": "\udc00", "f": -0.0, "nested": [[], {}]}
    c = Codec()
    from trailhound.scoring import Finding

    payloads = Payloads(str(tmp_path))
    back = c.finding(c.refs(f), payloads.get_event(payloads.put_event(f.event)), f.order, f.copies, Finding)
    payloads.close()
    assert back == f
    assert back.event.raw["big"] == 2**80 and back.event.raw["lone"] == "\udc00"
    assert math.copysign(1, back.event.raw["f"]) == -1


@pytest.mark.parametrize("max_runs", [2, 3, 64])
@pytest.mark.parametrize("budget", [1, 2, 5, 1000])
def test_runs_sort_like_sorted_and_keep_ties_in_arrival_order(
    tmp_path: Path, budget: int, max_runs: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(spill, "MAX_RUNS", max_runs)  # runs merged into one past this many
    rng = random.Random(budget)
    items = [(rng.randint(0, 9), i) for i in range(500)]
    runs = Runs(lambda t: t[0], budget, str(tmp_path))
    for item in items:
        runs.add(item)
    assert runs.spilled == (budget < len(items))
    assert len(runs._runs) < max_runs
    assert list(runs) == sorted(items, key=lambda t: t[0])  # sorted() is stable too
    assert os.listdir(tmp_path) == []  # every run is deleted once merged


def test_scan_spills_through_the_environment_variable(external: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = str(external / "invictus-ir-aws_dataset")
    require(Path(path).is_dir(), f"{path} is absent")
    p = get_profile("corrected")
    want = scan([path], p)
    monkeypatch.setenv("TRAILHOUND_SPILL_AFTER", "2")
    seen: list[str] = []
    orig = Runs._flush

    def flush(self: Runs) -> None:
        seen.append(self.folder)
        orig(self)

    monkeypatch.setattr(Runs, "_flush", flush)
    got = scan([path], p)
    assert seen, "the budget of 2 findings did not spill"
    # two scans load the pack twice (rules compare by identity): compare what is written
    assert [row(f, p) for f in got.findings] == [row(f, p) for f in want.findings]
    assert len(want.findings) > 2
    assert not any(os.path.exists(d) for d in seen)  # the temporary folder is gone


def test_abandoned_iteration_removes_the_spill_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    ms, rs = _synthetic(5)
    it = iter_findings(iter(ms * 3), 0, correlations=rs.correlations, spill_after=1)
    assert next(it) == score_all(iter(ms * 3), 0, correlations=rs.correlations)[0]
    assert len(os.listdir(tmp_path)) == 1  # the spill folder, while the findings are read
    it.close()  # the consumer stopped: the folder goes with the generator
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("budget", [0, 1, 3, 1000])
def test_shelf_reads_back_what_was_put(budget: int) -> None:
    rng = random.Random(budget)
    shelf = spill.Shelf(budget)
    want = {}
    for k in rng.sample(range(10_000), 200):
        want[k] = (k, "x" * rng.randint(0, 50), [k, {"v": k}])
        shelf.put(k, want[k])
    assert len(shelf) == len(want)
    for k in rng.sample(sorted(want), len(want)):  # any order, any number of times
        assert k in shelf and shelf.get(k) == want[k]
    assert 10_001 not in shelf
    with pytest.raises(KeyError):
        shelf.get(10_001)
    shelf.close()


@pytest.mark.parametrize("profile_name", ["corrected"])
def test_correlation_with_kept_matches_on_disk_equals_in_memory(
    external: Path, profile_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    rs = ruleset("corrected+sigmahq")
    ms = reference_matches([str(external)], profile_name, rs)
    want = score_all(iter(ms), None, dedupe=True, correlations=rs.correlations, spill_after=10**9)
    assert any(f.hits for f in want)
    monkeypatch.setenv("TRAILHOUND_SPILL_AFTER", "1")  # Shelf() reads the budget from it
    got = score_all(iter(ms), None, dedupe=True, correlations=rs.correlations, spill_after=10**9)
    assert got == want


def test_an_unwritable_temporary_folder_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import tempfile

    from trailhound.cli.app import main
    from trailhound.demo import dataset_path

    gone = tmp_path / "no-such-folder"
    monkeypatch.setattr(tempfile, "tempdir", str(gone))
    monkeypatch.setenv("TRAILHOUND_SPILL_AFTER", "1")
    with pytest.raises(SystemExit) as ex:
        main(["detect", "--format", "jsonl", "-q", str(dataset_path())])
    assert ex.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("trailhound: error: cannot keep findings in the temporary folder")
    assert str(gone) in err and "TMPDIR" in err and "Traceback" not in err


@pytest.mark.parametrize("seed", range(4))
def test_payload_rows_read_back_in_any_order(tmp_path: Path, seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    # small blocks, few kept: rows spanning two blocks or many, blocks dropped and read again,
    # events and rows written between reads (a file's last block grows), rows of several parts
    monkeypatch.setattr(spill, "_BLOCK", 64)
    monkeypatch.setattr(spill, "_BLOCKS", 3)
    monkeypatch.setattr(spill, "_PARTS", 3)  # parts past it share the first file
    rng = random.Random(seed)
    payloads = Payloads(str(tmp_path))
    ms, _ = _synthetic(seed)
    want: dict[int, bytes] = {}
    for _ in range(30):
        rows = [bytes([rng.randrange(256)]) * rng.choice((1, 10, 63, 64, 65, 200)) for _ in range(rng.randint(0, 40))]
        want.update(zip(payloads.put_rows(rows, [rng.choice((1, 0.5, 3, None)) for _ in rows]), rows))
        at = payloads.put_event(ms[0].event)
        for where in rng.sample(sorted(want), min(len(want), 20)):
            assert payloads.get_row(where) == want[where]
        assert payloads.get_event(at) == ms[0].event
    for where in sorted(want, key=lambda w: (w % 7, w)):  # a few streams, each forward
        assert payloads.get_row(where) == want[where]
    payloads.close()


def test_payloads_finish_a_short_write(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # os.writev may write less than it was given (a signal): the rest follows, in order
    writev = os.writev

    def short(fd: int, buffers: list[bytes]) -> int:
        return writev(fd, [buffers[0][: max(1, len(buffers[0]) // 2)]])

    monkeypatch.setattr(os, "writev", short)
    payloads = Payloads(str(tmp_path))
    rows = [b"a" * 5, b"bc", b"d", b"e" * 9]
    where = payloads.put_rows(rows, [1, 2, 1, 2])
    assert [payloads.get_row(w) for w in where] == rows
    payloads.close()


@pytest.mark.parametrize("seed", range(30))
def test_merge_of_chunked_runs_is_heapq_merge(seed: int) -> None:
    import heapq

    rng = random.Random(seed)
    runs = [sorted((rng.randint(0, rng.choice((3, 50))), r, i) for i in range(rng.randint(0, 60))) for r in range(rng.randint(1, 9))]

    def chunked(run: list[Any]) -> list[list[Any]]:
        cuts = sorted(rng.sample(range(len(run) + 1), min(len(run) + 1, rng.randint(0, 6))))
        return [run[a:b] for a, b in zip([0, *cuts], [*cuts, len(run)])]  # empty chunks too

    by_first = [sorted(run, key=lambda t: t[0]) for run in runs]
    assert list(spill.merge([iter(chunked(r)) for r in runs])) == list(heapq.merge(*runs))
    # equal keys: in the order of their runs (the items differ beyond the key)
    got = list(spill.merge([iter(chunked(r)) for r in by_first], key=lambda t: t[0]))
    assert got == list(heapq.merge(*by_first, key=lambda t: t[0]))
