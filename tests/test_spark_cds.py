"""The driver JVM's class-data archive (spark/cds.py): used when it is there, built once in the
background when it is not, put in place only whole, named after what the JVM checks. No JVM
here: the builder's Popen and the JVM's dump are stood in for."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import pytest

from trailhound.spark import cds


@pytest.fixture
def spark_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private TMPDIR (the cache folder's parent), a Spark home with two jars, a java."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    home = tmp_path / "spark"
    (home / "jars").mkdir(parents=True)
    for name in ("spark-core.jar", "hadoop.jar"):
        (home / "jars" / name).write_bytes(b"jar " + name.encode())
    java = tmp_path / "jdk" / "bin" / "java"
    java.parent.mkdir(parents=True)
    java.write_text("#!/bin/sh\n")
    monkeypatch.setattr(cds, "_spark_home", lambda: str(home))
    monkeypatch.setattr(cds, "_java", lambda: str(java))
    monkeypatch.delenv(cds.ENV, raising=False)
    return home


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The builders started (their command lines), instead of starting them."""
    calls: list[list[str]] = []

    class Popen:
        def __init__(self, cmd: list[str], **_: Any) -> None:
            calls.append(cmd)

    monkeypatch.setattr(cds.subprocess, "Popen", Popen)
    return calls


def test_an_existing_archive_is_used_quietly(spark_home: Path, started: list[list[str]]) -> None:
    path = cds.archive_path()
    assert path is not None and path.parent.name == f"trailhound-{os.getuid()}"
    path.write_bytes(b"archive")
    opts = cds.java_options()
    assert f"-XX:SharedArchiveFile={path}" in opts.split()
    assert "-Xlog:cds=off" in opts.split()  # (its warnings would go to stdout, the findings')
    assert started == []


def test_a_missing_archive_is_built_once_in_the_background(
    spark_home: Path, started: list[list[str]]
) -> None:
    assert cds.java_options() == ""
    assert cds.java_options() == ""  # a second run while the first builds: no second builder
    path = cds.archive_path()
    assert len(started) == 1 and started[0][-3:] == ["-m", "trailhound.spark.cds", str(path)]
    assert path is not None and path.with_suffix(".lock").exists()


def test_off_switch(spark_home: Path, started: list[list[str]],
                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(cds.ENV, "0")
    assert cds.java_options() == ""
    assert started == []


def test_the_name_follows_the_jars_and_the_java(spark_home: Path) -> None:
    first = cds.archive_path()
    jar = spark_home / "jars" / "spark-core.jar"
    jar.write_bytes(jar.read_bytes() + b" upgraded")
    second = cds.archive_path()
    assert None not in (first, second) and first != second
    (spark_home / "jars" / "extra.jar").write_bytes(b"x")
    assert cds.archive_path() not in (first, second)


@pytest.mark.parametrize("ok", [True, False], ids=["dumped", "failed"])
def test_the_archive_appears_whole_or_not_at_all(spark_home: Path, ok: bool,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """The JVM writes a temporary file; only a clean exit puts it in place (a truncated
    archive crashes the JVMs that map it); the lock and the temporary file are gone after."""
    path = cds.archive_path()
    assert path is not None
    path.with_suffix(".lock").write_text("")
    seen: list[Path] = []

    def dump(tmp: Path) -> bool:
        assert tmp.parent == path.parent and not tmp.exists()
        tmp.write_bytes(b"classes")
        seen.append(tmp)
        return ok

    monkeypatch.setattr(cds, "_dump", dump)
    assert cds.build(path) is ok
    assert path.exists() is ok and (not ok or path.read_bytes() == b"classes")
    assert not seen[0].exists() and not path.with_suffix(".lock").exists()
