"""The cycle's listing (watch/listing.py): an unchanged folder is not listed again, so a
cycle's work does not grow with the files read before; and it misses nothing `discover` finds.

Folder mtimes are set by the test (os.utime, each change to a later time, as the clock would)
so that they are old enough to be trusted (not "racy"). Oracle for what is read: `detect` over
all the files, and the files the test itself wrote."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

from tests.watch_fixtures import ACCOUNT, T0, record
from trailhound.cli.scan_options import ScanOptions
from trailhound.pipeline import scan
from trailhound.profiles import get_profile
from trailhound.watch.cycle import CycleResult, Detector
from trailhound.watch.state import State

OLD = 1_600_000_000  # seconds: long before the racy window


class Clock:
    def __init__(self) -> None:
        self.t = OLD

    def age(self, *folders: Path) -> None:
        """Give each folder a later, old-enough mtime (what adding an entry does, minus the
        race with the clock)."""
        for f in folders:
            self.t += 1
            os.utime(f, (self.t, self.t))


def day_dir(root: Path, day: int) -> Path:
    return root / "AWSLogs" / ACCOUNT / "CloudTrail" / "us-east-1" / "2026" / "03" / f"{day:02d}"


def write(folder: Path, name: str, event_id: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{name}.tmp"
    tmp.write_text(json.dumps({"Records": [
        record("CreateUser", "u", T0, event_id, "iam.amazonaws.com")]}))
    os.replace(tmp, folder / name)


def all_dirs(root: Path) -> list[Path]:
    return [root, *(p for p in sorted(root.rglob("*")) if p.is_dir())]


def test_unchanged_folders_are_not_listed_and_nothing_is_missed(tmp_path: Path) -> None:
    root = tmp_path / "logs"
    clock = Clock()
    for day in range(1, 21):
        for n in range(3):
            write(day_dir(root, day), f"f{n}.json", f"d{day}-{n}")
    clock.age(*all_dirs(root))
    state = State(str(tmp_path / "s.db"))
    opts = ScanOptions(paths=(str(root),), profile=get_profile("corrected"), engine="reference")
    det = Detector(opts, None)

    def cycle() -> CycleResult:
        return det.run(state)

    first = cycle()
    assert (first.files, first.new_alerts) == (60, 60)
    idle = cycle()
    assert (idle.files, idle.folders_listed) == (0, 0)  # 26 folders: one stat each, no listing

    write(day_dir(root, 7), "late.json", "late-1")  # a new file in an old day
    clock.age(day_dir(root, 7))
    got = cycle()
    assert (got.files, got.folders_listed) == (1, 1)

    write(day_dir(root, 21), "f0.json", "d21-0")  # a new day: its month folder changed too
    clock.age(day_dir(root, 21), day_dir(root, 21).parent)
    got = cycle()
    assert (got.files, got.folders_listed) == (1, 2)

    write(day_dir(root, 3), "f1.json", "d3-1b")  # rewritten by rename: the folder changed
    clock.age(day_dir(root, 3))
    got = cycle()
    assert (got.files, got.folders_listed) == (1, 1)

    rows = [json.loads(b) for _, b in state.alerts_after(0)]
    alerts = Counter((r["eventID"], r["rule_id"]) for r in rows)
    result = scan([str(root)], get_profile("corrected"), engine="reference")
    want = Counter((f.event.event_id, r.id) for f in result.findings for r in f.rules)
    # everything one detect finds now, plus d3-1 (read before its file was replaced)
    assert set(want) <= set(alerts) and max(alerts.values()) == 1
    assert {e for e, _ in alerts} - {e for e, _ in want} == {"d3-1"}
    assert len({e for e, _ in alerts}) == 60 + 3


def test_a_racy_folder_is_listed_again(tmp_path: Path) -> None:
    root = tmp_path / "logs"
    write(day_dir(root, 1), "f0.json", "a")  # mtimes: now (inside the racy window)
    state = State(str(tmp_path / "s.db"))
    det = Detector(ScanOptions(paths=(str(root),), profile=get_profile("corrected"),
                               engine="reference"), None)
    assert det.run(state).files == 1
    again = det.run(state)
    assert again.files == 0 and again.folders_listed > 0  # not trusted: listed again


def test_a_file_growing_in_place_is_read_again(tmp_path: Path) -> None:
    """An hourly append blob (Azure's PT1H.json) grows without its folder's mtime moving: the
    file is hot (modified lately), stat-ed each cycle, and read again when it grew; once cold,
    it leaves the folder's mark."""
    root = tmp_path / "logs"
    folder = day_dir(root, 1)
    folder.mkdir(parents=True)
    log = folder / "PT1H.json"

    def append(event_id: str) -> None:
        with log.open("a", encoding="utf-8") as fh:  # in place: no entry added to the folder
            fh.write(json.dumps(record("CreateUser", "u", T0, event_id, "iam.amazonaws.com")))
            fh.write("\n")

    append("e1")
    Clock().age(*all_dirs(root))
    state = State(str(tmp_path / "s.db"))
    det = Detector(ScanOptions(paths=(str(root),), profile=get_profile("corrected"),
                               engine="reference"), None)
    assert det.run(state).new_alerts == 1
    append("e2")
    got = det.run(state)
    assert (got.files, got.folders_listed, got.new_alerts) == (1, 0, 1)  # read again, not listed
    assert det.run(state).files == 0  # unchanged: stat-ed only

    rows = [json.loads(b) for _, b in state.alerts_after(0)]
    result = scan([str(root)], get_profile("corrected"), engine="reference")
    want = Counter((f.event.event_id, r.id) for f in result.findings for r in f.rules)
    assert Counter((r["eventID"], r["rule_id"]) for r in rows) == want
    assert {e for e, _ in want} == {"e1", "e2"}

    assert state.folder(str(folder)).hot == ("PT1H.json",)  # type: ignore[union-attr]
    os.utime(log, (OLD, OLD))  # three hours of silence, as far as the mtime says
    det.run(state)
    assert state.folder(str(folder)).hot == ()  # type: ignore[union-attr]
