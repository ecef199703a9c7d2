"""discover / read_paths / read_input: which inputs, in which order, and what missing paths do."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest

from trailhound.model import Issue, RawRecord
from trailhound.sources import InputSpec, discover, read_input, read_paths


def _rec(tag: str) -> bytes:
    return json.dumps({"eventSource": "s3.amazonaws.com", "eventName": tag}).encode()


@pytest.fixture()
def tree(tmp_path: Path) -> Path:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "z").mkdir()
    (tmp_path / ".hidden").mkdir()
    (tmp_path / "b" / "z" / "1.json").write_bytes(_rec("bz1"))
    (tmp_path / "b" / "2.json").write_bytes(_rec("b2"))
    (tmp_path / "a.jsonl").write_bytes(_rec("a1") + b"\n" + _rec("a2") + b"\n")
    (tmp_path / "c.csv").write_bytes(b"x,y\n1,2\n")
    (tmp_path / "README.md").write_bytes(b"# notes\n")
    (tmp_path / ".hidden" / "x.json").write_bytes(_rec("hidden"))
    (tmp_path / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    return tmp_path


def test_discover_walks_sorted_and_skips_hidden(tree: Path) -> None:
    specs, issues = discover([str(tree)])
    assert issues == []
    rel = [os.path.relpath(s.path, tree) for s in specs]
    assert rel == sorted(rel, key=lambda p: Path(p).parts)
    assert set(rel) == {
        "README.md",
        "a.jsonl",
        os.path.join("b", "2.json"),
        os.path.join("b", "z", "1.json"),
        "c.csv",
    }
    assert all(not s.explicit for s in specs)
    assert {s.path: s.size for s in specs} == {s.path: os.path.getsize(s.path) for s in specs}
    assert discover([str(tree)]) == (specs, issues)  # deterministic


def test_explicit_paths_missing_paths_and_duplicates(tree: Path) -> None:
    one = str(tree / "b" / "2.json")
    missing = str(tree / "nope.json")
    specs, issues = discover([one, missing, "-", str(tree / "b"), "-"])
    assert specs[0] == InputSpec(one, os.path.getsize(one), True)
    assert specs[1] == InputSpec("-", None, True)
    # b/2.json was already named: read once; "-" only once.
    assert [s.path for s in specs[2:]] == [str(tree / "b" / "z" / "1.json")]
    [issue] = issues
    assert (issue.kind, issue.severity, issue.location.path) == ("not_found", "error", missing)


def test_read_paths_order_and_folder_skips(tree: Path) -> None:
    missing = str(tree / "missing")
    items = list(read_paths([str(tree / "a.jsonl"), missing, str(tree)]))
    records = [i for i in items if isinstance(i, RawRecord)]
    issues = [i for i in items if isinstance(i, Issue)]
    # File order, then in-file order; a.jsonl is read once although the folder holds it too.
    assert [r.data["eventName"] for r in records] == ["a1", "a2", "b2", "bz1"]
    assert [(i.kind, i.severity, Path(i.location.path).name) for i in issues] == [
        ("not_found", "error", "missing"),
        ("not_json", "skip", "README.md"),
        ("not_json", "skip", "c.csv"),
    ]
    assert items.index(issues[0]) == 2  # between the first file and the folder


def test_explicit_non_json_is_an_error(tree: Path) -> None:
    [issue] = list(read_paths([str(tree / "c.csv")]))
    assert isinstance(issue, Issue)
    assert (issue.kind, issue.severity) == ("not_json", "error")


def test_read_input_stdin_and_unreadable(tree: Path) -> None:
    items = list(read_input(InputSpec("-", None, True), stdin=io.BytesIO(_rec("in"))))
    assert [(i.data["eventName"], i.location.path, i.envelope) for i in items] == [
        ("in", "<stdin>", "single")
    ]
    folder_as_file = InputSpec(str(tree / "b"), None, True)
    [issue] = list(read_input(folder_as_file))
    assert isinstance(issue, Issue) and (issue.kind, issue.severity) == ("unreadable", "error")
