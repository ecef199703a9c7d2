"""The engine contract (engine/base.py) and its registry: a toy engine registered by name runs
through pipeline.scan like the shipped ones, and every registered local engine reads through
the one reader loop (engine/loop.py) - same counts, same issues - on the same inputs."""

from __future__ import annotations

import dataclasses
import gzip
import json
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trailhound.engine import ENGINES, make_engine
from trailhound.engine.base import Engine, Match
from trailhound.engine.loop import spec_events
from trailhound.errors import UsageError
from trailhound.pipeline import ScanStats, scan
from trailhound.profiles import get_profile
from trailhound.rules.model import RuleSet


class ToyEngine(Engine):
    """Flags every event whose operation is in `names`, with the first rule of the ruleset:
    written here from the contract alone."""

    NAME = "toy"

    def __init__(self, names: Sequence[str] = ("CreateUser",), **_: Any) -> None:
        self.names = set(names)

    def compile(self, ruleset: RuleSet) -> Any:
        return ruleset.rules[0]

    def scan(self, plan: Any, specs: Sequence[Any], stats: ScanStats, profile: Any, *,
             stdin: Any = None, on_file: Callable[[Any], None] | None = None,
             limits: Any = None) -> Iterator[Match]:
        for event in spec_events(specs, stats, profile, stdin=stdin, on_file=on_file, limits=limits):
            if event.operation in self.names:
                yield Match(event, [plan])


@pytest.fixture
def toy() -> Iterator[str]:
    ENGINES.register("toy", ToyEngine)
    try:
        yield "toy"
    finally:
        ENGINES._items.pop("toy")  # (the registry has no unregister: tests only)


def _ct(i: int, name: str) -> dict[str, Any]:
    return {
        "eventVersion": "1.08", "eventTime": f"2026-03-01T10:{i:02d}:00Z",
        "eventSource": "iam.amazonaws.com", "eventName": name, "awsRegion": "us-east-1",
        "userIdentity": {"type": "IAMUser", "arn": f"arn:aws:iam::111122223333:user/u{i}"},
        "sourceIPAddress": "203.0.113.9", "eventID": f"e{i}",
    }


def _records(root: Path) -> list[dict[str, Any]]:
    """The records under `root`, read with plain Python (the oracle)."""
    out: list[dict[str, Any]] = []
    out += json.loads(gzip.decompress((root / "a.json.gz").read_bytes()))["Records"]
    for line in (root / "b.jsonl").read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            pass
    return out


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    recs = [_ct(i, "CreateUser" if i % 3 == 0 else "GetUser") for i in range(12)]
    recs[4]["userAgent"] = {"not": "a string"}  # a normalizer issue on a record no rule matches
    (tmp_path / "a.json.gz").write_bytes(gzip.compress(json.dumps({"Records": recs}).encode()))
    (tmp_path / "b.jsonl").write_text(json.dumps(_ct(20, "CreateUser")) + "\n{bad\n", encoding="utf-8")
    return tmp_path


def test_a_registered_toy_engine_runs_through_scan(toy: str, logs: Path) -> None:
    p = get_profile("corrected")
    res = scan([str(logs)], p, engine=toy, engine_options={"names": ["CreateUser"]})
    # plain Python over the raw records: 4 CreateUser in a, 1 in b
    assert res.stats.files == 2 and res.stats.records == 13 and res.stats.events == 13
    assert res.stats.errors == {"wrong_type": 1, "bad_json": 1}
    # the first rule of the pack is a scored detection rule: every match is a finding
    assert not _pack().rules[0].context
    want = sorted(r["eventID"] for r in _records(logs) if r.get("eventName") == "CreateUser")
    assert sorted(f.event.event_id for f in res.findings) == want == ["e0", "e20", "e3", "e6", "e9"]


class _OneFileEngine(ToyEngine):
    """Lists its inputs itself (as Spark lists URIs): only the JSON-lines file of a folder."""

    def discover(self, paths: Sequence[str]) -> Any:
        from trailhound.sources import discover

        specs, issues = discover(paths)
        return [s for s in specs if s.path.endswith(".jsonl")], issues


def test_an_engine_s_own_discover_decides_the_inputs(logs: Path) -> None:
    ENGINES.register("one-file", _OneFileEngine)
    try:
        res = scan([str(logs)], get_profile("corrected"), engine="one-file")
    finally:
        ENGINES._items.pop("one-file")
    assert res.stats.files == 1 and res.stats.records == 1  # b.jsonl: one record, one bad line
    assert [f.event.event_id for f in res.findings] == ["e20"]


def test_unknown_engine_names_the_closest(logs: Path) -> None:
    with pytest.raises(UsageError, match="Did you mean 'fast'"):
        make_engine("fats")


def _counts(s: ScanStats) -> dict[str, Any]:
    d = {f.name: getattr(s, f.name) for f in dataclasses.fields(s)}
    d["samples"] = [str(i) for i in s.samples]
    d["correlation"] = repr(d["correlation"])
    return d


@pytest.mark.parametrize("engine, options", [("reference", {}), ("fast", {"strict": True}),
                                              ("fast", {"strict": True, "jobs": 1})])
def test_every_local_engine_counts_like_the_loop(logs: Path, engine: str, options: dict[str, Any]) -> None:
    p = get_profile("corrected")
    from trailhound.sources import discover

    specs, _ = discover([str(logs)])
    want = ScanStats()
    n = sum(1 for _ in spec_events(specs, want, p))
    assert n == want.events == 13
    got = ScanStats()
    eng = make_engine(engine, **{k: v for k, v in options.items() if k != "strict"},
                      strict=options.get("strict", False))
    list(eng.scan(eng.compile(_pack()), specs, got, p))
    assert _counts(got) == _counts(want)


def _pack() -> RuleSet:
    from trailhound.rules.loader import load_pack

    return load_pack("corrected")


_KINDS = [("bad_json", "error"), ("wrong_type", "error"), ("empty", "skip"), ("not_json", "skip")]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 5)), max_size=30), max_size=6))
def test_merging_per_file_counts_equals_one_tally(files: list[list[tuple[int, int]]]) -> None:
    """ScanStats.merge (how workers' per-file counts join the scan) against adding every issue
    to one ScanStats in input order: samples, skipped files and counters alike."""
    from trailhound.model import Issue, Location

    one, merged = ScanStats(), ScanStats()
    for f, issues in enumerate(files):
        part = ScanStats(files=1, records=len(issues))
        one.files += 1
        one.records += len(issues)
        for kind_i, pos in issues:
            kind, severity = _KINDS[kind_i]
            issue = Issue(Location(f"f{f}-{pos % 3}.json", index=pos), kind, f"m{pos}", severity)
            one.add_issue(issue)
            part.add_issue(issue)
        merged.merge(part)
    assert _counts(merged) == _counts(one)


def test_strict_never_loads_the_fragile_module(logs: Path) -> None:
    """The S3 shortcut (ctypes, exec-built code) is the only fragile part: a strict scan runs
    without importing it (workers come from workers.py, files from file_scan.py)."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from trailhound.pipeline import scan\n"
        "from trailhound.profiles import get_profile\n"
        f"r = scan([{str(logs)!r}], get_profile('corrected'), strict=True, engine_options={{'jobs': 2}})\n"
        "assert r.stats.files == 2, r.stats\n"
        "print('trailhound.engine.fast_scan' in sys.modules)\n"
    )
    root = Path(__file__).resolve().parents[1]
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                       check=False, cwd=root, env={**__import__("os").environ, "PYTHONPATH": str(root)})
    assert p.returncode == 0, p.stderr[-2000:]
    assert p.stdout.strip() == "False"
