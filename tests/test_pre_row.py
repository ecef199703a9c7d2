"""The rows the fast engine's workers build (report/columns.pre_row, issue #10): a finding's row
and JSON line are the ones built in the main process from its event, whatever the path (in
memory or spilled), and the worker's row is not used once the finding changed (other rules,
correlation hits, copies, another profile kind).

Oracle: the reference engine, whose events carry no worker row (its findings' rows are built
from the decoded record), on the same records; and plain dict edits for what must change.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import orjson
import pytest

from tests.test_cheap_findings import ASSUME_ROLE_MISUSE, generated
from trailhound.cli.app import scan_ruleset
from trailhound.cli.scan_options import ScanOptions
from trailhound.engine.correlate import Hit
from trailhound.model import Event, LazyEvent
from trailhound.pipeline import scan
from trailhound.profiles import get_profile
from trailhound.report.columns import row, row_json
from trailhound.rules.model import RuleSet


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ar")
    generated(out, 0.8)
    return out


def _ruleset(folder: Path, external: Path, profile: str) -> RuleSet:
    opts = ScanOptions(paths=(str(folder),), profile=get_profile(profile),
                       rule_paths=(str(external / ASSUME_ROLE_MISUSE),))
    rs, refused = scan_ruleset(opts)
    assert rs is not None and not refused
    return rs


def _plain(e: Event) -> Event:
    """The same event as a plain Event: no worker row, the record decoded."""
    fields = {f.name: getattr(e, f.name) for f in dataclasses.fields(Event)}
    return Event(**fields)


@pytest.mark.parametrize("profile", ["corrected", "seed"])
@pytest.mark.parametrize("spill_after", ["7", "1000000"])
def test_worker_rows_are_the_reference_rows(
    folder: Path, external: Path, profile: str, spill_after: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRAILHOUND_SPILL_AFTER", spill_after)
    prof = get_profile(profile)
    rs = _ruleset(folder, external, profile)
    fast = scan([str(folder)], prof, ruleset=rs, engine="fast").findings
    ref = scan([str(folder)], prof, ruleset=rs, engine="reference").findings
    assert len(fast) == len(ref) > 1000
    # the fast path really carried the workers' rows, the reference none
    assert sum(isinstance(f.event, LazyEvent) and f.event.row is not None for f in fast) > 1000
    assert not any(getattr(f.event, "row", None) for f in ref)
    for a, b in zip(fast, ref, strict=True):
        assert row(a, prof) == row(b, prof)
        assert row(a, prof, raw=True) == row(b, prof, raw=True)
        assert row_json(a, prof) == row_json(b, prof) == orjson.dumps(row(b, prof))


def test_a_changed_finding_does_not_use_the_worker_row(folder: Path, external: Path) -> None:
    prof = get_profile("corrected")
    rs = _ruleset(folder, external, "corrected")
    findings = scan([str(folder)], prof, ruleset=rs, engine="fast").findings
    f = next(f for f in findings if isinstance(f.event, LazyEvent) and f.event.row is not None)
    plain = dataclasses.replace(f, event=_plain(f.event))
    want = row(plain, prof)

    # copies counted by collapse(): the row says so, the rest unchanged
    copies = dataclasses.replace(f, copies=3)
    assert row(copies, prof) == {**want, "records": 3}
    assert orjson.loads(row_json(copies, prof)) == {**want, "records": 3}

    # other rules (a first-seen gate dropped one, or another rule joined): score and signals
    other = next(r for r in rs.rules if r not in f.rules and not r.context)
    more = dataclasses.replace(f, rules=[*f.rules, other], score=f.score + other.weight)
    got = row(more, prof)
    assert got == row(dataclasses.replace(more, event=_plain(f.event)), prof)
    assert [s["rule_id"] for s in got["signals"]] == [r.id for r in f.rules] + [other.id]
    assert got["suspicion_score"] == f.score + other.weight

    # a correlation hit: listed in the row
    corr = rs.correlations[0] if rs.correlations else None
    if corr is not None:
        t = f.event.time_ns or 0
        hit = Hit(corr, (), (f.event.event_id,), 1, (f.order,), t, t)
        hitted = dataclasses.replace(f, hits=[hit])
        assert row(hitted, prof)["correlations"] == [
            {"rule_id": corr.id, "title": corr.title, "events": [f.event.event_id]}
        ]

    # another profile kind: the seed's literal columns come from the record
    seed = get_profile("seed")
    assert seed.literal_columns != prof.literal_columns
    assert row(f, seed) == row(plain, seed)
    assert row_json(f, seed) == orjson.dumps(row(plain, seed))


def test_replacing_the_record_drops_the_worker_row(folder: Path, external: Path) -> None:
    prof = get_profile("corrected")
    rs = _ruleset(folder, external, "corrected")
    f = next(f for f in scan([str(folder)], prof, ruleset=rs, engine="fast").findings
             if isinstance(f.event, LazyEvent) and f.event.row is not None)
    raw = f.event.raw
    assert row(f, prof)["accessKey"] == raw["userIdentity"]["accessKeyId"]
    f.event.raw = {**raw, "userIdentity": {**raw["userIdentity"], "accessKeyId": "AKIACHANGED"}}
    assert f.event.row is None
    assert row(f, prof)["accessKey"] == "AKIACHANGED"  # built from the record again
    assert orjson.loads(row_json(f, prof))["accessKey"] == "AKIACHANGED"
