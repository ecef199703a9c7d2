"""Records nested deeper than the writers can write (jsonutil.MAX_NESTING).

orjson reads up to 1,024 levels of objects and arrays but writes at most 254, and pickle stops
near Python's recursion limit: one CloudTrail record with a 300-level value in it was read,
matched, and then crashed `--format ocsf`, `report`, the seed profile's literal columns (a
"trailhound bug" in the worker, the whole scan lost) and `--strict` (the worker's pipe). Now
the reader loop cuts such a record at MAX_NESTING levels and reports it (`too_deep`, exit 3);
the record is still evaluated, so its finding is kept.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests import hostile_inputs as H
from tests.conftest import require
from tests.hostile_inputs import run
from trailhound.jsonutil import MAX_NESTING, cut_deep, depth, too_deep


def nest(levels: int, kind: str = "object", leaf: Any = "x") -> Any:
    """`levels` objects ({"k": ...}) or arrays ([...]) around `leaf`."""
    v = leaf
    for _ in range(levels):
        v = {"k": v} if kind == "object" else [v]
    return v


def oracle_depth(v: Any) -> int:
    """Levels of containers, recursively (the spec: a scalar 0, `[]` and `{}` 1)."""
    if isinstance(v, dict):
        return 1 + max((oracle_depth(c) for c in v.values()), default=0)
    if isinstance(v, list):
        return 1 + max((oracle_depth(c) for c in v), default=0)
    return 0


def oracle_cut(v: Any, level: int = 1) -> Any:
    """`v` with every container below MAX_NESTING levels replaced by None, recursively."""
    if isinstance(v, (dict, list)) and level > MAX_NESTING:
        return None
    if isinstance(v, dict):
        return {k: oracle_cut(c, level + 1) for k, c in v.items()}
    if isinstance(v, list):
        return [oracle_cut(c, level + 1) for c in v]
    return v


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=3),
    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=2), kids, max_size=3),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(json_values, st.integers(0, 260), st.sampled_from(["object", "array"]))
def test_depth_and_cut_agree_with_the_recursive_oracle(inner: Any, levels: int, kind: str) -> None:
    v = nest(levels, kind, inner)
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old, 4000))  # (the oracle recurses once a level)
    try:
        want_depth, want_cut = oracle_depth(v), oracle_cut(v)
    finally:
        sys.setrecursionlimit(old)
    assert depth(v) == want_depth
    assert too_deep(v) is (want_depth > MAX_NESTING)
    got = cut_deep(v)
    assert got == want_cut  # (== walks it: fine, at most MAX_NESTING levels)
    assert depth(got) == min(want_depth, MAX_NESTING)


@pytest.mark.parametrize("levels", [500, 1000])
def test_helpers_past_python_recursion(levels: int) -> None:
    v = nest(levels)
    assert depth(v) == levels and too_deep(v)
    assert depth(cut_deep(v)) == MAX_NESTING


def deep_record(n: int, levels: int, where: str) -> dict[str, Any]:
    """A StopLogging record (flagged by every profile) `levels` deep, its deepest value at
    `where` (as a placeholder: `dumps` writes it; the json module cannot write 1,000 levels)."""
    rec = H.stop_logging(n)
    if where == "requestParameters":
        rec["requestParameters"] = {"name": f"@deep:object:{levels - 2}@"}  # rec, rP, name
    else:  # a field the normalizer and the seed's literal columns read
        rec["userIdentity"]["arn"] = f"@deep:array:{levels - 2}@"
    return rec


def dumps(value: Any) -> str:
    """JSON text of `value` with each deep_record placeholder written out."""
    def deep(m: re.Match[str]) -> str:
        kind, levels = m.group(1), int(m.group(2))
        if kind == "object":
            return '{"k":' * levels + '"x"' + "}" * levels
        return "[" * levels + '"x"' + "]" * levels
    return re.sub(r'"@deep:(object|array):(\d+)@"', deep, json.dumps(value))




@pytest.fixture()
def deep_logs(tmp_path: Path) -> tuple[Path, int]:
    """A folder of several files (so the fast engine's workers read them) and how many
    too_deep records it holds; every record in it is a StopLogging."""
    folder = tmp_path / "logs"
    folder.mkdir()
    (folder / "s3.json").write_text(dumps({"Records": [
        deep_record(1, 300, "requestParameters"), H.stop_logging(2), deep_record(3, 600, "arn")]}))
    (folder / "lines.jsonl").write_text(
        dumps(deep_record(4, 1000, "requestParameters")) + "\n" + dumps(H.stop_logging(5)) + "\n")
    (folder / "edge.json").write_text(dumps([
        deep_record(16, MAX_NESTING, "requestParameters"),  # at the bound: read as it is
        deep_record(17, MAX_NESTING + 1, "requestParameters")]))
    H.control_file(folder / "control.json")
    return folder, 4


def _spark_missing() -> str | None:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "PySpark is not installed: pip install 'trailhound[spark]'"
    from trailhound.spark.testing import java_missing

    return java_missing()


def _too_deep(stderr: str) -> list[str]:
    """The too_deep issues stderr lists (their message says "levels deep")."""
    return [line for line in stderr.splitlines() if "levels deep" in line]


SPARK = ["--spark-master", "local[1]", "--spark-conf", "spark.ui.enabled=false"]
CASES = [
    pytest.param("spark", SPARK, "jsonl", marks=pytest.mark.spark),
    ("fast", [], "jsonl"), ("fast", [], "ocsf"), ("fast", [], "csv"), ("fast", [], "table"),
    ("fast", ["--profile", "seed"], "csv"), ("fast", ["--profile", "seed"], "jsonl"),
    ("fast", ["--strict"], "jsonl"), ("reference", [], "ocsf"), ("reference", ["--profile", "seed"], "jsonl"),
]


@pytest.mark.parametrize(("engine", "extra", "fmt"), CASES)
def test_deep_records_are_cut_reported_and_still_flagged(
    deep_logs: tuple[Path, int], engine: str, extra: list[str], fmt: str
) -> None:
    folder, deep = deep_logs
    if engine == "spark":
        missing = _spark_missing()
        require(missing is None, missing or "")
    p = run("detect", "--engine", engine, "--format", fmt, *extra, folder)
    assert "Traceback" not in p.stderr and p.returncode == 3, p.stderr
    reported = _too_deep(p.stderr)
    assert len(reported) == deep, p.stderr
    # each names its file and record
    assert any("s3.json at /Records/0:" in line for line in reported)
    assert any("s3.json at /Records/2:" in line for line in reported)
    assert any("lines.jsonl:1" in line for line in reported)
    assert any("edge.json at /1:" in line for line in reported)
    assert not any("edge.json at /0:" in line for line in reported)  # exactly MAX_NESTING: fine
    assert f"too_deep {deep}" in p.stderr
    # every StopLogging record (7 deep or not, plus the control file's) is a finding
    if fmt in ("jsonl", "ocsf"):
        rows = [json.loads(line) for line in p.stdout.splitlines()]
        assert len(rows) == 8
        for r in rows:
            assert depth(r) <= MAX_NESTING + 8  # (written: within what every writer writes)
    elif fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(p.stdout)))
        assert [r["eventName"] for r in rows] == ["StopLogging"] * 8
    else:
        assert "8 findings" in p.stderr


def test_ocsf_evidence_is_the_record_cut_at_the_bound(deep_logs: tuple[Path, int]) -> None:
    folder, _ = deep_logs
    p = run("detect", "--format", "ocsf", folder / "s3.json")  # (one file: read in this process)
    assert "Traceback" not in p.stderr and p.returncode == 3, p.stderr
    data = {json.loads(line)["evidences"][0]["data"]["eventID"]: json.loads(line)["evidences"][0]["data"]
            for line in p.stdout.splitlines()}
    first = data[H.stop_logging(1)["eventID"]]
    assert depth(first) == MAX_NESTING
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old, 4000))  # (json.loads and the oracle: 300 levels)
    try:
        assert first == oracle_cut(json.loads(dumps(deep_record(1, 300, "requestParameters"))))
    finally:
        sys.setrecursionlimit(old)


def test_report_page_is_written(deep_logs: tuple[Path, int], tmp_path: Path) -> None:
    folder, deep = deep_logs
    out = tmp_path / "r.html"
    p = run("report", "-o", out, folder)
    assert "Traceback" not in p.stderr and p.returncode == 3, p.stderr
    assert len(_too_deep(p.stderr)) == deep
    assert "StopLogging" in out.read_text()


@pytest.mark.parametrize("levels", [1, 2, 127, 128, 129, 130, 400, 1000])
def test_loads_within_certifies_the_depth(levels: int) -> None:
    from trailhound.jsonutil import loads_within

    text = dumps({"Records": [{"deep": f"@deep:array:{levels}@"}]}).encode()
    within = 2 + 1 + levels  # {"Records": [{"deep": <levels>}]}
    if within <= MAX_NESTING + 2:
        assert loads_within(text, MAX_NESTING + 2) == orjson.loads(text)
    else:
        with pytest.raises(orjson.JSONDecodeError):
            loads_within(text, MAX_NESTING + 2)
