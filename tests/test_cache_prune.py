"""The private cache folder (TMPDIR/trailhound-<uid>) is pruned when a new Spark code zip or
class-data archive is written (spark/prune.py): the stale ones of its kind (not written nor
used for a few days) go, the current one and the recently used ones stay, and a reuse refreshes
a file so that it is never taken from a run that may read it. No JVM: cds's dump is stood in
for (tests/test_spark_cds.py's fixtures); the zip is built for real (no Spark needed)."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import pytest

from tests.test_spark_cds import spark_home  # noqa: F401  (a fixture)
from trailhound.spark import cds, prune, session

DAY = 24 * 3600.0


def _aged(path: Path, days: float, data: bytes = b"x") -> Path:
    path.write_bytes(data)
    then = time.time() - days * DAY
    os.utime(path, (then, then))
    return path


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    folder = session._cache_dir()
    assert folder is not None
    return folder


def test_a_new_code_zip_removes_the_stale_ones(cache: Path) -> None:
    stale = _aged(cache / "spark-00000000000000000000000000000000.zip", 5)
    recent = _aged(cache / "spark-11111111111111111111111111111111.zip", 1)
    broken = _aged(cache / "trailhound-abc123.zip", 5)  # a build interrupted before its rename
    other = _aged(cache / "notes.txt", 30)  # not a kind pruned here
    current = Path(session._package_zip())
    assert current.parent == cache and current.is_file()
    assert not stale.exists() and not broken.exists()
    assert recent.exists() and other.exists()
    assert sorted(p.name for p in cache.iterdir()) == sorted(
        [current.name, recent.name, other.name])  # nothing left aside either


def test_a_reused_zip_is_refreshed_and_survives_a_later_prune(cache: Path) -> None:
    current = Path(session._package_zip())
    _aged(current, 10, current.read_bytes())
    assert session._package_zip() == str(current)  # reused: no rebuild...
    assert time.time() - current.stat().st_mtime < 60  # ...and marked as used now
    newer = cache / "spark-22222222222222222222222222222222.zip"
    assert prune.prune(newer, ("spark-*.zip",)) == []  # another version's build keeps it


def test_a_new_archive_removes_stale_archives_and_leftovers(
    spark_home: Path, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    path = cds.archive_path()
    assert path is not None
    folder = path.parent
    stale = _aged(folder / "spark-cds-0000.jsa", 4, b"70 MB of classes")
    lock = _aged(folder / "spark-cds-0000.lock", 4)
    tmp = _aged(folder / "spark-cds-0000-abcd.tmp", 4)
    recent = _aged(folder / "spark-cds-1111.jsa", 0.5)
    zip_ = _aged(folder / "spark-3333.zip", 9)  # another kind: the zip build prunes those
    monkeypatch.setattr(cds, "_dump", lambda t: t.write_bytes(b"classes") is not None)
    assert cds.build(path)
    assert path.read_bytes() == b"classes"
    assert not any(p.exists() for p in (stale, lock, tmp))
    assert recent.exists() and zip_.exists()


def test_an_archive_in_use_is_refreshed(spark_home: Path) -> None:  # noqa: F811
    path = cds.archive_path()
    assert path is not None
    _aged(path, 10, b"archive")
    assert f"-XX:SharedArchiveFile={path}" in cds.java_options().split()
    assert time.time() - path.stat().st_mtime < 60


def test_a_file_refreshed_during_the_prune_is_put_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race the rename guards against: a run refreshes the file between the pruner's look
    and its rename; the pruner sees it fresh after the rename and puts it back."""
    keep = tmp_path / "spark-new.zip"
    victim = _aged(tmp_path / "spark-old.zip", 5, b"in use")
    real_rename = os.rename

    def rename(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        if Path(src) == victim:
            os.utime(victim)  # the reuser's touch, just in time
        real_rename(src, dst)

    monkeypatch.setattr(prune.os, "rename", rename)
    assert prune.prune(keep, ("spark-*.zip",)) == []
    assert victim.read_bytes() == b"in use"
    assert [p.name for p in tmp_path.iterdir()] == ["spark-old.zip"]
