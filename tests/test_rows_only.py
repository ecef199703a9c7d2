"""Rows-only scans (issue #10, cheap findings): `scan_stream(..., rows_only=True)` lets a worker send
a finding nothing after the engine can change as its row, score and keys alone
(scoring.RowEvent -> RowFinding). Whatever path each finding takes, the JSON lines must be the
ones of the full scan (every finding with its event), in memory and spilled, with copies of one
record collapsed, with correlation hits, first-seen rules, filter suppressions and a time window.

Oracles: the same scan without `rows_only` (events travel, rows are rebuilt when the finding
changed) and the reference engine (no worker, every row built in the main process from the
decoded record); for scoring alone, the same matches scored as plain Events.
"""

from __future__ import annotations

import errno
import math
import os
import pickle
import random
import shutil
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.test_cheap_findings import ASSUME_ROLE_MISUSE, generated
from tests.test_spill import _synthetic
from trailhound import spill
from trailhound.cli.app import main, scan_ruleset
from trailhound.cli.scan_options import ScanOptions
from trailhound.engine.base import Match
from trailhound.pipeline import scan_stream
from trailhound.profiles import get_profile
from trailhound.report.columns import pre_row, row_json
from trailhound.rules.first_seen import spec_of
from trailhound.rules.model import RuleSet
from trailhound.scoring import (
    RowEvent,
    RowFinding,
    RowMatches,
    event_keys,
    iter_findings,
    match_score,
)
from trailhound.spill import Payloads, RowStore
from trailhound.tuning.window import TimeWindow


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The assumed-role mix (a rule fires on most records), two files delivered twice (copies
    of each record: `corrected` collapses them)."""
    out = tmp_path_factory.mktemp("rows")
    generated(out, 0.8)
    files = sorted(p for p in out.rglob("*.json.gz") if "CloudTrail-Digest" not in p.parts)
    for p in files[:2]:
        shutil.copy(p, p.with_name("again-" + p.name))
    return out


def _ruleset(paths: tuple[str, ...], external: Path, profile: str) -> RuleSet:
    opts = ScanOptions(paths=paths, profile=get_profile(profile),
                       rule_paths=(str(external / ASSUME_ROLE_MISUSE),))
    rs, refused = scan_ruleset(opts)
    assert rs is not None and not refused
    return rs


def _lines(paths: tuple[str, ...], profile: str, rs: RuleSet, **kw: Any) -> tuple[list[bytes], list[Any]]:
    prof = get_profile(profile)
    s = scan_stream(list(paths), prof, ruleset=rs, **kw)
    found = list(s.findings)
    return [row_json(f, prof) for f in found], found


@pytest.mark.parametrize("profile", ["corrected", "full", "seed"])
@pytest.mark.parametrize("spill_after", ["5", "1000000"])
def test_rows_only_lines_are_the_full_scans(
    folder: Path, external: Path, profile: str, spill_after: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRAILHOUND_SPILL_AFTER", spill_after)
    paths = (str(folder), str(external))  # external: correlations fire, filters suppress
    rs = _ruleset(paths, external, profile)
    got, found = _lines(paths, profile, rs, engine="fast", rows_only=True)
    want, full = _lines(paths, profile, rs, engine="fast")
    ref, _ = _lines(paths, profile, rs, engine="reference")
    assert got == want == ref
    # most findings came as rows, and (correlations) the others with their events
    rows = [f for f in found if isinstance(f, RowFinding)]
    assert len(rows) > 1000 and (len(rows) < len(found) or not rs.correlations)
    assert not any(isinstance(f, RowFinding) for f in full)
    if profile == "corrected":  # the copies were collapsed into rows-only winners
        assert sum(f.copies > 1 for f in rows) > 100
    # what the main process may change came with its event: correlation hits, first-seen rules
    watched = {r.id for c in rs.correlations for r in c.rules}
    watched |= {r.id for r in rs.rules if spec_of(r) is not None}
    if rs.correlations:
        assert any(f.hits for f in found if not isinstance(f, RowFinding))
    if profile == "full":
        assert any(spec_of(r) is not None for r in rs.rules)  # the shipped first-seen rule
    for f in rows:
        assert not {s["rule_id"] for s in orjson.loads(f.json)["signals"]} & watched


def test_rows_only_respects_the_time_window(folder: Path, external: Path) -> None:
    paths = (str(folder),)
    rs = _ruleset(paths, external, "corrected")
    _, every = _lines(paths, "corrected", rs, engine="reference")
    times = sorted({orjson.loads(row_json(f, get_profile("corrected")))["time"] for f in every})
    assert len(times) > 10
    # half the events: a rows-only finding is cut by its event's time like any other
    mid = next(f.event.time_ns for f in every if f.event.time_ns is not None)
    for window in (TimeWindow(mid, None), TimeWindow(None, mid)):
        got, found = _lines(paths, "corrected", rs, engine="fast", rows_only=True, window=window)
        want, _ = _lines(paths, "corrected", rs, engine="reference", window=window)
        assert got == want and 0 < len(got) < len(every)
        assert any(isinstance(f, RowFinding) for f in found)


def test_detect_jsonl_writes_the_full_scans_lines(
    folder: Path, external: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    rs = _ruleset((str(folder),), external, "corrected")
    want, _ = _lines((str(folder),), "corrected", rs, engine="reference")
    with pytest.raises(SystemExit) as ex:
        main(["detect", "--profile", "corrected", "--rules", str(external / ASSUME_ROLE_MISUSE),
              "--format", "jsonl", "-q", str(folder)])
    assert ex.value.code == 0
    assert capsysbinary.readouterr().out == b"".join(line + b"\n" for line in want)


def _as_rows(ms: list[Match], profile: str, rng: random.Random) -> list[Match]:
    """Each match that makes a finding, at random, as a worker of a rows-only scan sends it."""
    prof = get_profile(profile)
    out = []
    for m in ms:
        pre = pre_row(m, prof)
        if pre is not None and rng.random() < 0.7:
            m = Match(RowEvent(event_keys(m.event), match_score(m), pre[0]), list(m.rules), [])
        out.append(m)
    return out


def _batched(ms: list[Match], rng: random.Random) -> list[Match]:
    """The RowEvents' matches in runs of 1-4 as the rows-only wires a worker sends, each run one
    RowMatches (engine/file_scan.py), as scan_specs hands them on."""
    out: list[Match] = []
    for m in ms:
        e = m.event
        if not isinstance(e, RowEvent):
            out.append(m)
            continue
        wire = ("r", e.keys, e.score, (), e.json)
        last = out[-1] if out else None
        if isinstance(last, RowMatches) and len(last.wires) < rng.randint(1, 4):
            last.wires.append(wire)
        else:
            out.append(RowMatches([wire], _no_match))
    return out


def _no_match(wire: Any) -> Match:
    raise AssertionError("scoring rebuilt a Match of a rows-only wire")


@pytest.mark.parametrize("seed", range(30))
@pytest.mark.parametrize("batched", [False, True])
def test_scoring_rows_mixed_with_events_writes_the_events_lines(seed: int, batched: bool) -> None:
    """Copies of one operation where some come as rows, some with events (rows one by one, or in
    batches: the spill's budget falls inside one); ties on every key; findings below min_score;
    spilled after 1 or 3 findings, or never."""
    ms, rs = _synthetic(seed)
    prof = get_profile("corrected")
    mixed = _as_rows(ms, "corrected", random.Random(seed))
    if batched:
        mixed = _batched(mixed, random.Random(seed))
        assert any(isinstance(m, RowMatches) for m in mixed)
    for budget in (1, 3, 10**9):
        for dedupe in (False, True):
            for min_score in (None, 0, 2, math.inf):
                kw: dict[str, Any] = {"dedupe": dedupe, "correlations": rs.correlations,
                                      "spill_after": budget}
                want = [row_json(f, prof) for f in iter_findings(iter(ms), min_score, **kw)]
                got = [row_json(f, prof) for f in iter_findings(iter(mixed), min_score, **kw)]
                assert got == want, (seed, budget, dedupe, min_score)


# -- where the rows go: written by the process that builds them (spill.RowStore) ---------------


def test_workers_write_the_rows_and_the_store_goes_with_the_scan(
    folder: Path, external: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two workers: what they wrote is where the wires say (the lines are the reference's),
    in files of their own (not this process's), and the folder is gone once the findings are."""
    made: list[RowStore] = []
    real = RowStore.make

    def spy() -> RowStore | None:
        made.append(real())  # type: ignore[arg-type]
        return made[-1]

    monkeypatch.setattr(RowStore, "make", staticmethod(spy))
    paths = (str(folder),)
    rs = _ruleset(paths, external, "corrected")
    prof = get_profile("corrected")
    s = scan_stream(list(paths), prof, ruleset=rs, engine="fast", engine_options={"jobs": 2}, rows_only=True)
    first = next(s.findings)  # (the scan has ended: every finding is known before the first)
    (store,) = made
    writers = {int(p.name.split("-")[1]) // spill._WRITER_FILES for p in Path(store.folder).glob("payloads-*")}
    assert len(writers - {os.getpid(), 0}) == 2  # both workers wrote rows; 0: the reader's
    got = [row_json(f, prof) for f in [first, *s.findings]]
    want, _ = _lines(paths, "corrected", rs, engine="reference")
    assert got == want and sum(isinstance(f, RowFinding) for f in [first]) == 1
    assert not Path(store.folder).exists()


def test_a_forked_process_writes_its_own_rows_not_what_it_inherited(tmp_path: Path) -> None:
    store = RowStore(str(tmp_path))
    mine = store.put(b"parent's, not yet written", 1)  # pending in this process when it forks
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its own writer, in files of its own; the parent's pending stays unwritten
        try:
            os.write(w, pickle.dumps([store.put(b"the child's", 1), store.put(b"and another", 2)]))
            store.flush()
        finally:
            os._exit(0)
    os.close(w)
    with os.fdopen(r, "rb") as fh:
        theirs = pickle.loads(fh.read())
    os.waitpid(pid, 0)
    store.flush()
    reader = Payloads(str(tmp_path))
    assert [reader.get_row(at) for at in (mine, *theirs)] == [b"parent's, not yet written", b"the child's", b"and another"]
    assert sum(p.stat().st_size for p in tmp_path.iterdir()) == len(b"parent's, not yet written" b"the child's" b"and another")
    reader.close()
    store.close()


def test_a_writer_with_a_dead_processs_number_appends(tmp_path: Path) -> None:
    # (a worker whose pid a dead one had: its files exist; what it writes goes after theirs)
    first = Payloads(str(tmp_path), base=640)
    old = [first.put_row(b"x" * n, n % 3) for n in (5, 70, 3)]
    first.flush()
    first.close()
    again = Payloads(str(tmp_path), base=640)
    new = [again.put_row(b"y" * n, n % 3) for n in (4, 8, 9)]
    again.flush()
    reader = Payloads(str(tmp_path))
    assert [reader.get_row(at) for at in old + new] == [b"x" * 5, b"x" * 70, b"x" * 3, b"y" * 4, b"y" * 8, b"y" * 9]
    again.close()
    reader.close()


def test_a_full_disk_under_a_workers_rows_is_a_clear_error(
    folder: Path, external: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    parent = os.getpid()
    writev = os.writev

    def full(fd: int, buffers: list[bytes]) -> int:
        if os.getpid() != parent:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return writev(fd, buffers)

    monkeypatch.setattr(os, "writev", full)  # (the workers fork with it)
    monkeypatch.setenv("TRAILHOUND_JOBS", "2")
    with pytest.raises(SystemExit) as ex:
        main(["detect", "--profile", "corrected", "--rules", str(external / ASSUME_ROLE_MISUSE),
              "--format", "jsonl", "-q", str(folder)])
    assert ex.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("trailhound: error: cannot keep findings in the temporary folder"), err
    assert "No space left on device" in err and "TMPDIR" in err and "Traceback" not in err
    assert "bug" not in err


def test_no_temporary_folder_the_rows_cross_as_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    """A scan too small to spill needs no disk: without a temporary folder, detect writes
    what it writes with one."""
    import tempfile

    from trailhound.demo import dataset_path

    args = ["detect", "--format", "jsonl", "-q", str(dataset_path())]
    with pytest.raises(SystemExit) as ex:
        main(args)
    want = capsysbinary.readouterr().out
    assert ex.value.code == 0 and want.count(b"\n") > 10
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "no-such-folder"))
    assert RowStore.make() is None
    with pytest.raises(SystemExit) as ex:
        main(args)
    assert ex.value.code == 0 and capsysbinary.readouterr().out == want


def test_rows_of_many_writers_read_with_few_descriptors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # (a scan on many cores: more writers' files than a reader keeps open; read in any order)
    monkeypatch.setattr(spill, "_FOREIGN", 3)
    monkeypatch.setattr(spill, "_BLOCKS", 2)
    rng = random.Random(7)
    want: dict[int, bytes] = {}
    for w in range(1, 9):
        writer = Payloads(str(tmp_path), base=w * spill._WRITER_FILES)
        for n in range(20):
            row = bytes([w, n]) * rng.randint(1, 3000)
            want[writer.put_row(row, rng.choice((1, 2, 0.5)))] = row
        writer.flush()
        writer.close()
    reader = Payloads(str(tmp_path))
    opened = os.open
    seen: list[str] = []

    def counting(path: str, *args: Any) -> int:
        seen.append(path)
        return opened(path, *args)

    monkeypatch.setattr(os, "open", counting)
    for at in rng.sample(sorted(want), len(want)):
        assert reader.get_row(at) == want[at]
        assert len(reader._foreign) <= 3
    assert len(seen) > 8 * 3  # files were opened again, not all kept
    reader.close()
