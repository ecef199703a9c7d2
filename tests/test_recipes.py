"""The three recipes of docs/architecture.md, each done for real: register a toy log source, a
toy output format and a toy engine, run a scan through it end to end, and take it out again.

Oracles: the toy inputs are written here, so which record must become a finding is known
without trailhound (the one record whose action the toy rule names).
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, ClassVar, TextIO

import pytest

from trailhound import logsources
from trailhound.engine import ENGINES
from trailhound.engine.loop import InProcess
from trailhound.engine.reference import ReferenceEngine
from trailhound.errors import UsageError
from trailhound.model import LOGSOURCES, Event, Issue, RawRecord
from trailhound.normalize import NORMALIZERS
from trailhound.normalize._fields import new_event
from trailhound.normalize.times import parse_time
from trailhound.pipeline import scan
from trailhound.profiles import get_profile
from trailhound.report.columns import row
from trailhound.report.writers import WRITERS
from trailhound.rules.loader import load_paths
from trailhound.rules.pipelines import FIELD_TABLES, FieldTable
from trailhound.sources.classify import CLASSIFIERS, Keys, Verdict, classify

PROFILE = get_profile("corrected")

# --- 1. A log source ---------------------------------------------------------------------------
# What would be one module, e.g. trailhound/normalize/toyvendor.py: classifier, normalizer,
# field table, Source record. Registering it is the one line.

TOY = "toyvendor_audit"


def _toy_classifier(rec: dict[str, Any], keys: Keys) -> Verdict | None:
    if keys.has("toyEventTime") and keys.has("toyAction"):
        return Verdict(source=TOY)
    return None


def _toy_normalize(rec: RawRecord) -> tuple[Event, list[Issue]]:
    ev = new_event(rec)
    ev.time, ev.time_ns = parse_time(rec.data["toyEventTime"])
    ev.operation = rec.data["toyAction"]
    ev.principal = rec.data.get("toyUser")
    return ev, []


TOY_TABLE = FieldTable("toyvendor", "audit", {"Action": ["toyAction"]}, ident="th_toy_fields")
TOY_SOURCE = logsources.Source(
    name=TOY,
    logsource=("toyvendor", "audit"),
    classifier=_toy_classifier,
    order=90,
    normalizer=_toy_normalize,
    field_tables=(TOY_TABLE,),
    shape="ToyVendor audit records (toyEventTime + toyAction)",
    sample={"toyEventTime": "2026-05-01T10:00:00Z", "toyAction": "ListBackups", "toyUser": "bob"},
)

TOY_RULE = """\
title: ToyVendor backups wiped
id: 7d1c2a3b-4e5f-4a6b-8c7d-9e0f1a2b3c4d
status: test
logsource:
  product: toyvendor
  service: audit
level: high
weight: 3
signal: security_disable
detection:
  selection:
    Action: WipeBackups
  condition: selection
"""

TOY_RECORDS = [
    {"toyEventTime": "2026-05-01T10:00:00Z", "toyAction": "ListBackups", "toyUser": "bob"},
    {"toyEventTime": "2026-05-01T10:01:00Z", "toyAction": "WipeBackups", "toyUser": "mallory"},
    {"toyEventTime": "2026-05-01T10:02:00Z", "toyAction": "ListBackups", "toyUser": "bob"},
]


def _write(path: Path, records: Iterable[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


@pytest.fixture
def toy_source() -> Iterator[logsources.Source]:
    logsources.register(TOY_SOURCE)
    try:
        yield TOY_SOURCE
    finally:
        logsources.unregister(TOY)


@pytest.mark.parametrize("engine", ["reference", "fast"])
def test_recipe_add_a_source(toy_source: logsources.Source, tmp_path: Path, engine: str) -> None:
    assert LOGSOURCES[TOY] == ("toyvendor", "audit")
    assert TOY_TABLE in FIELD_TABLES
    rule_file = tmp_path / "toy.yml"
    rule_file.write_text(TOY_RULE, encoding="utf-8")
    ruleset, problems = load_paths([rule_file])
    assert problems == []
    # Two files: the fast engine reads them in its (forked) worker processes.
    _write(tmp_path / "logs" / "a.jsonl", TOY_RECORDS[:2])
    _write(tmp_path / "logs" / "b.jsonl", TOY_RECORDS[2:])

    result = scan([str(tmp_path / "logs")], PROFILE, ruleset=ruleset, engine=engine)

    assert result.stats.records == 3 and result.stats.error_count == 0
    assert [(f.event.source, f.event.principal, f.event.operation) for f in result.findings] == [
        (TOY, "mallory", "WipeBackups")
    ]


def test_recipe_unregistering_a_source_takes_it_out_of_every_table() -> None:
    logsources.register(TOY_SOURCE)
    assert classify(dict(TOY_RECORDS[0])).source == TOY
    assert TOY_SOURCE.shape in classify({"x": 1}).message
    logsources.unregister(TOY)
    assert TOY not in LOGSOURCES and TOY not in NORMALIZERS
    assert _toy_classifier not in CLASSIFIERS.ordered()
    assert TOY_TABLE not in FIELD_TABLES
    assert classify(dict(TOY_RECORDS[0])).kind == "unknown_envelope"
    with pytest.raises(ValueError, match="duplicate"):
        logsources.register(logsources.SOURCES.get("cloudtrail"))
    assert len(LOGSOURCES) == len(logsources.SOURCES.values())


# --- 2. An output format -----------------------------------------------------------------------

CLOUDTRAIL = [
    {
        "eventVersion": "1.08",
        "eventTime": "2026-05-01T09:00:00Z",
        "eventSource": "cloudtrail.amazonaws.com",
        "eventName": "StopLogging",
        "eventID": "11111111-2222-4333-8444-555555555555",
        "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::123456789012:user/eve"},
        "sourceIPAddress": "203.0.113.5",
        "awsRegion": "us-east-1",
    },
    {
        "eventVersion": "1.08",
        "eventTime": "2026-05-01T09:01:00Z",
        "eventSource": "s3.amazonaws.com",
        "eventName": "GetObject",
        "eventID": "66666666-7777-4888-9999-000000000000",
        "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::123456789012:user/bob"},
        "sourceIPAddress": "10.0.0.5",
        "awsRegion": "us-east-1",
    },
]


def _write_tsv(rows: Iterable[dict[str, Any]], out: TextIO) -> None:
    """Toy format: event id, score and principal, tab-separated (tabs in values replaced)."""
    for r in rows:
        cells = (r["eventID"], r["suspicion_score"], r["userArn"])
        out.write("\t".join(str(c).replace("\t", " ") for c in cells) + "\n")


def test_recipe_add_an_output_format(tmp_path: Path) -> None:
    WRITERS.register("toy_tsv", _write_tsv)
    try:
        logs = _write(tmp_path / "trail.jsonl", CLOUDTRAIL)
        result = scan([str(logs)], PROFILE, engine="reference")
        out = io.StringIO()
        WRITERS.get("toy_tsv")((row(f, PROFILE) for f in result.findings), out)
    finally:
        WRITERS.unregister("toy_tsv")
    lines = [line.split("\t") for line in out.getvalue().splitlines()]
    # StopLogging is the only record any shipped AWS rule flags; GetObject by bob is not.
    assert [(eid, who) for eid, _, who in lines] == [
        (CLOUDTRAIL[0]["eventID"], "arn:aws:iam::123456789012:user/eve")
    ]
    assert float(lines[0][1]) > 0
    with pytest.raises(UsageError, match="toy_tsv"):
        WRITERS.get("toy_tsv")


# --- 3. An engine ------------------------------------------------------------------------------


class _CountingEngine(InProcess):
    """Toy engine: the reference matcher, counting what the pipeline hands it. InProcess gives
    it `scan`: the one reader loop (engine/loop.py) feeding `run`."""

    NAME = "toy_counting"
    calls: ClassVar[list[str]] = []

    def __init__(self, **_options: Any) -> None:
        self._inner = ReferenceEngine()

    def compile(self, ruleset: Any) -> Any:
        self.calls.append("compile")
        return self._inner.compile(ruleset)

    def run(self, plan: Any, events: Iterable[Event]) -> Iterator[Any]:
        def counted() -> Iterator[Event]:
            for e in events:
                self.calls.append(e.operation or "")
                yield e

        return self._inner.run(plan, counted())


def test_recipe_add_an_engine(tmp_path: Path) -> None:
    _CountingEngine.calls = []
    ENGINES.register(_CountingEngine.NAME, _CountingEngine)
    try:
        logs = _write(tmp_path / "trail.jsonl", CLOUDTRAIL)
        got = scan([str(logs)], PROFILE, engine=_CountingEngine.NAME)
    finally:
        ENGINES.unregister(_CountingEngine.NAME)
    assert _CountingEngine.calls == ["compile", "StopLogging", "GetObject"]
    assert [f.event.event_id for f in got.findings] == [CLOUDTRAIL[0]["eventID"]]
    with pytest.raises(UsageError):
        ENGINES.get(_CountingEngine.NAME)


def test_the_sources_command_lists_the_registry_toy_included() -> None:
    from click.testing import CliRunner

    from trailhound.cli.app import cli

    logsources.register(TOY_SOURCE)
    try:
        out = CliRunner().invoke(cli, ["sources"])
    finally:
        logsources.unregister(TOY)
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    names = [line.split()[0] for line in lines[:-1]]
    assert names == [s.name for s in logsources.SOURCES.values()] + [TOY]
    toy = lines[-2].split()
    assert toy[1] == "toyvendor/audit" and TOY_SOURCE.shape in lines[-2]
    assert lines[-1].startswith("envelopes: ")
