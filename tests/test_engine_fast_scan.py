"""The fast engine's reader (engine/fast_scan.py) against pipeline.py's reader loop + the reference
engine: per file (S3 fast path and every way out of it) and for whole scans in worker processes
(findings, scores, order, counters)."""

from __future__ import annotations

import dataclasses
import functools
import gzip
import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.test_engine_fast import (
    EXTERNAL,
    PROBES,
    _mutations,
    cloudtrail_like,
    needs_external,
    plans,
    realistic_records,
    ruleset,
    same_matches,
)
from trailhound.engine import fast_scan as FS
from trailhound.engine.base import Match
from trailhound.engine.fast import FastEngine, FastPlan
from trailhound.engine.fast_prefilter import ALL
from trailhound.engine.reference import ReferenceEngine
from trailhound.model import Issue, RawRecord
from trailhound.normalize import normalize
from trailhound.pipeline import SAMPLE_LIMIT, ScanResult, ScanStats, scan
from trailhound.profiles import get_profile
from trailhound.report.columns import pre_row, row
from trailhound.rules.model import RuleSet
from trailhound.scoring import RowEvent, event_keys, score_all
from trailhound.sources import discover, read_bytes
from trailhound.tuning.stream import tuning_gate

pytest.importorskip("msgspec", reason="the fast engine's S3 path needs msgspec (see pyproject.toml)")
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
PROFILE = get_profile("corrected")


# ---------------------------------------------------------------------------------------------
# One file: fast vs the readers + reference engine


@dataclasses.dataclass
class Outcome:
    records: int
    events: int
    not_admitted: int
    issues: list[Issue]  # every issue (reference); the kept samples, errors only (fast)
    matches: list[Match]
    mode: str = "reader"
    stats: ScanStats | None = None  # the issue counts (fast: FileResult.stats)

    def tally(self) -> ScanStats:
        if self.stats is not None:
            return self.stats
        s = ScanStats()
        for issue in self.issues:
            s.add_issue(issue)
        return s


def reference_file(name: str, raw: bytes, path: str = "t.json.gz", profile: Any = PROFILE) -> Outcome:
    ref, _ = plans(name)
    out = Outcome(0, 0, 0, [], [])
    for item in read_bytes(raw, path, True):
        if isinstance(item, Issue):
            out.issues.append(item)
            continue
        assert isinstance(item, RawRecord)
        out.records += 1
        event, issues = normalize(item)
        out.issues.extend(issues)
        if not profile.admits(event):
            out.not_admitted += 1
            continue
        out.events += 1
        out.matches.extend(ReferenceEngine().run(ref, [event]))
    # scan() yields no match of only context rules nothing else needs (FastPlan.silent)
    out.matches = [m for m in out.matches if not plans(name)[1].is_silent(m)]
    return out


def fast_file(name: str, raw: bytes, path: str = "t.json.gz", profile: Any = PROFILE) -> Outcome:
    _, fast = plans(name)
    res = FS.scan_bytes(fast, profile, raw, path, True)
    return Outcome(
        res.records, res.events, res.not_admitted, res.stats.samples,
        [fast.from_wire(w) for w in res.matches], res.mode, res.stats,
    )


def check_file(raw: bytes, mode: str | None, names: tuple[str, ...] = ("seed", "corrected")) -> Outcome:
    got = None
    for name in names:
        want = reference_file(name, raw)
        got = fast_file(name, raw)
        assert (got.records, got.events, got.not_admitted) == (want.records, want.events, want.not_admitted)
        if got.mode == "reader":
            assert issue_counts(got.tally()) == issue_counts(want.tally())
        else:
            assert_issues_of_decoded_records(got.tally(), want.issues)
        same_matches(want.matches, got.matches)
        if mode is not None:
            assert got.mode == mode, name
    assert got is not None
    return got


NORMALIZER_KINDS = {"wrong_type", "bad_time", "missing_field", "nonstandard_time", "normalize_failed"}


def issue_counts(s: ScanStats) -> tuple[Any, ...]:
    return s.errors, s.skipped, s.samples, s.skipped_paths


def assert_issues_of_decoded_records(got: ScanStats, want: list[Issue]) -> None:
    """The fast path reports the readers' issues, except the normalizer's about records it
    never decoded (no rule can match them): `got` is `want` less some of those."""
    full = Outcome(0, 0, 0, want, []).tally()
    assert got.skipped == full.skipped and got.skipped_paths == full.skipped_paths
    for kind in got.errors.keys() | full.errors.keys():
        assert got.errors[kind] <= full.errors[kind], kind
        assert got.errors[kind] == full.errors[kind] or kind in NORMALIZER_KINDS, kind
    it = iter(i for i in want if i.severity == "error")
    for issue in got.samples:
        for w in it:
            if w == issue:
                break
            assert w.kind in NORMALIZER_KINDS, w
        else:
            raise AssertionError(f"not reported by the readers: {issue}")
    if len(got.samples) < SAMPLE_LIMIT:
        assert all(w.kind in NORMALIZER_KINDS for w in it)


def s3(records: list[Any], **dumps: Any) -> bytes:
    """An S3 delivery file; minified, as CloudTrail writes them, unless `dumps` says otherwise."""
    opts: dict[str, Any] = {"separators": (",", ":"), "ensure_ascii": False, **dumps}
    return json.dumps({"Records": records}, **opts).encode()


def gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def sample(n: int = 300, seed: int = 3) -> list[dict[str, Any]]:
    """Realistic records plus some each shipped rule matches."""
    recs = realistic_records(n, seed)
    hot = [
        ("sts.amazonaws.com", "AssumeRole"), ("iam.amazonaws.com", "CreateUser"),
        ("iam.amazonaws.com", "AttachUserPolicy"), ("cloudtrail.amazonaws.com", "StopLogging"),
        ("lambda.amazonaws.com", "CreateFunction20150331"), ("ec2.amazonaws.com", "RunInstances"),
        ("cloudtrail.amazonaws.com", "GetTrailStatus"),
    ]
    for i, (src, name) in enumerate(hot):
        r = recs[(i * 37) % n]
        r["eventSource"], r["eventName"] = src, name
    recs[5]["errorCode"] = "AccessDenied"
    recs[6]["userIdentity"] = {"type": "AWSService", "invokedBy": "ec2.amazonaws.com"}
    recs[6]["eventSource"], recs[6]["eventName"] = "sts.amazonaws.com", "AssumeRole"
    return recs


def test_s3_fast_path_same_as_readers() -> None:
    got = check_file(gz(s3(sample())), "s3")
    assert got.matches and got.records == 300
    check_file(s3(sample()), "s3")  # not compressed


def test_the_last_record_and_neighbours_are_cut_right() -> None:
    recs = sample(50)
    for i in (0, 1, 48, 49):
        recs[i]["eventSource"], recs[i]["eventName"] = "iam.amazonaws.com", "CreateUser"
    check_file(gz(s3(recs)), "s3")


def _dup_keys() -> bytes:
    recs = sample(20)
    body = orjson.dumps(recs[0])
    # the same key twice: the last one counts (orjson, msgspec and json all agree)
    twice = body[:-1] + b',"eventName":"CreateUser","eventSource":"iam.amazonaws.com"}'
    return b'{"Records":[' + twice + b"," + b",".join(orjson.dumps(r) for r in recs[1:]) + b"]}"


def _with(records: list[Any], i: int, **fields: Any) -> list[Any]:
    records = [dict(r) for r in records]
    records[i].update(fields)
    return records


def _first_key_not_version() -> bytes:
    recs = sample(30)
    recs[3] = {k: v for k, v in recs[3].items() if k != "eventVersion"}
    recs[3]["eventVersion"] = "1.08"
    recs[4]["eventName"], recs[4]["eventSource"] = "CreateUser", "iam.amazonaws.com"
    recs[3]["eventName"], recs[3]["eventSource"] = "CreateUser", "iam.amazonaws.com"
    return s3(recs)


def _dense(records: list[Any]) -> list[Any]:
    """Every record a candidate (CreateUser), but one in four."""
    return [r if i % 4 == 3 else {**r, "eventSource": "iam.amazonaws.com", "eventName": "CreateUser"}
            for i, r in enumerate(records)]


def _pieces(data: bytes) -> bytes:
    half = len(data) // 2
    return gz(data[:half]) + gz(data[half:])


CASES: dict[str, tuple[Callable[[], bytes], str | None]] = {
    "multi-member gzip": (lambda: _pieces(s3(sample())), "s3"),
    "truncated gzip": (lambda: gz(s3(sample()))[:-2000], "reader"),
    "junk after gzip": (lambda: gz(s3(sample())) + b"junk", "reader"),
    "gzip of gzip": (lambda: gz(gz(s3(sample()))), "reader"),
    "utf-8 BOM": (lambda: b"\xef\xbb\xbf" + s3(sample()), "reader"),
    "utf-16": (lambda: s3(sample()).decode().encode("utf-16"), "reader"),
    "invalid utf-8 in a skipped record": (lambda: s3(sample()).replace(b"Describe", b"Descr\xffbe", 1), "reader"),
    "valid non-ASCII": (lambda: s3(_with(_with(sample(), 9, userAgent="Ünïcödé ✓"), 10, eventName="CreateUſer", eventSource="iam.amazonaws.com")), "s3"),
    "escaped names": (lambda: s3(sample()).replace(b'"eventName":"GetUser"', b'"eventName":"Create\\u0055ser"', 3), "s3"),
    "pretty-printed": (lambda: s3(sample(), indent=2), "s3"),
    "eventVersion not first": (_first_key_not_version, "s3"),
    "space after colons": (lambda: s3(sample(), separators=(",", ": ")), "s3"),
    "duplicate keys": (_dup_keys, "s3"),
    "S3 notification inside": (lambda: s3(_with(sample(), 7, eventSource="aws:s3", eventName="ObjectCreated:Put")), "s3"),
    "envelope key in a record": (lambda: s3(_with(sample(), 8, **{"detail-type": "x"})), "reader"),
    "nested Records in a record": (lambda: s3(_with(sample(), 8, Records=[{"eventName": "CreateUser", "eventSource": "iam.amazonaws.com"}])), "reader"),
    "eventName not a string": (lambda: s3(_with(sample(), 8, eventName=["CreateUser"])), "reader"),
    "eventSource missing": (lambda: s3([{k: v for k, v in r.items() if k != "eventSource"} for r in sample(20)]), "reader"),
    "big integer in a candidate": (lambda: s3(_with(sample(), 11, eventName="CreateUser", eventSource="iam.amazonaws.com", requestParameters={"n": 2**70})), "s3"),
    "big integer and an overflowing number": (
        lambda: s3(_with(sample(), 11, eventName="CreateUser", eventSource="iam.amazonaws.com", requestParameters={"n": 2**70})).replace(b'"bytesTransferredIn":0', b'"bytesTransferredIn":1e999', 1),
        "reader",
    ),
    # a run of 20 digits inside a string reads the same in every parser: the S3 path keeps the
    # file although orjson refuses the whole document (the readers' fallback parser reads it)
    "long digit run in a string and an overflowing number": (
        lambda: s3(_with(_with(sample(), 11, eventName="CreateUser", eventSource="iam.amazonaws.com", requestParameters={"n": "9" * 20}), 20, eventName="DescribeVpcs", requestParameters={"z": "OVERFLOW"})).replace(b'"OVERFLOW"', b"1e999", 1),
        "s3",
    ),
    "overflowing number in a skipped record": (lambda: s3(sample()).replace(b'"bytesTransferredIn":0', b'"bytesTransferredIn":1e999', 1), None),
    "big integer in an anchor field": (lambda: s3(_with(sample(), 12, userAgent=2**70, errorCode=2**65)), "s3"),
    "deep nesting in a skipped record": (lambda: s3(_with(sample(), 13, requestParameters={"a": "DEEP"})).replace(b'"DEEP"', b"[" * 1100 + b"]" * 1100), "reader"),
    "other top-level member after Records": (lambda: s3(_with(sample(), 299, eventName="CreateUser", eventSource="iam.amazonaws.com"))[:-1] + b',"x":1}', "s3"),
    "Records twice": (lambda: b'{"Records":[{"eventName":"CreateUser","eventSource":"iam.amazonaws.com"}],' + s3(sample())[1:], "s3"),
    "empty Records": (lambda: b'{"Records":[]}', "s3"),
    # most records candidates: the records are cut out by a second msgspec pass (s3_file)
    "dense, minified": (lambda: s3(_dense(sample(60))), "s3"),
    "dense, pretty-printed": (lambda: s3(_dense(sample(60)), indent=2), "s3"),
    "dense, space after colons": (lambda: s3(_dense(sample(60)), separators=(" , ", ": ")), "s3"),
    "dense, eventVersion not first": (lambda: s3(_dense(orjson.loads(_first_key_not_version())["Records"])), "s3"),
    "dense, bad JSON": (lambda: s3(_dense(sample(60)))[:-10] + b"]", "reader"),
    "Records not a list": (lambda: b'{"Records":{"eventName":"CreateUser"}}', "reader"),
    "element not an object": (lambda: b'{"Records":[1,"x",null]}', "reader"),
    "bad JSON": (lambda: s3(sample())[:-10] + b"]", "reader"),
    "JSON lines": (lambda: b"\n".join(orjson.dumps(r) for r in sample()), "reader"),
    "JSON array": (lambda: orjson.dumps(sample()), "reader"),
    "digest file": (lambda: b'{"digestStartTime":"x","digestEndTime":"y","logFiles":[]}', "reader"),
    "empty file": (lambda: b"", "reader"),
    "not JSON": (lambda: b"PK\x03\x04zip", "reader"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_file_shapes(case: str) -> None:
    build, mode = CASES[case]
    check_file(build(), mode)


def test_without_msgspec_projection_same_result() -> None:
    raw = gz(s3(sample()))
    want = reference_file("corrected", raw)
    fast = FastEngine(strict=True).compile(ruleset("corrected"))
    res = FS.scan_bytes(fast, PROFILE, raw, "t.json.gz", True)
    assert res.mode == "reader" and res.records == want.records
    assert issue_counts(res.stats) == issue_counts(want.tally())
    same_matches(want.matches, [fast.from_wire(w) for w in res.matches])


def test_normalizer_issues_of_skipped_records_are_not_reported() -> None:
    """The one documented difference: a record no rule can match is never decoded, so the
    normalizer's issues about it (wrong-typed field) are not raised. Findings are the same."""
    recs = _with(sample(), 20, eventName="DescribeVpcs", userAgent={"not": "a string"})
    raw = s3(recs)
    want, got = reference_file("corrected", raw), fast_file("corrected", raw)
    assert [i.kind for i in want.issues] == ["wrong_type"] and got.tally().error_count == 0
    same_matches(want.matches, got.matches)


# ---------------------------------------------------------------------------------------------
# Projections: the compiled selector, conservativeness


def _selected(name: str, records: list[Any]) -> tuple[Any, list[tuple[int, Any]], list[tuple[int, Any]]]:
    _, fast = plans(name)
    proj = FS.projection(fast)
    assert proj is not None
    recs = proj.decode(s3(records))
    assert recs is not None
    return proj, proj.select(recs), proj.select_generic(recs)


def _certifiable(records: list[Any]) -> list[Any]:
    out = []
    for r in records:
        r = dict(r)
        r["eventName"] = r["eventName"] if isinstance(r.get("eventName"), str) else "x"
        r["eventSource"] = r["eventSource"] if isinstance(r.get("eventSource"), str) else "y"
        out.append(r)
    return out


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(cloudtrail_like(), min_size=1, max_size=8))
def test_projection_select_conservative_and_compiled_equals_generic(records: list[Any]) -> None:
    records = _certifiable(records)
    names = ("seed", "corrected", "sigmahq") if EXTERNAL.is_dir() else ("seed", "corrected")
    for name in names:
        _, fast_sel, generic = _selected(name, records)
        assert [(i, c if c is ALL else frozenset(c)) for i, c in fast_sel] == [
            (i, c if c is ALL else frozenset(c)) for i, c in generic
        ]
        sel = dict(fast_sel)
        ref, _ = plans(name)
        for i, raw in enumerate(orjson.loads(s3(records))["Records"]):
            event = normalize(RawRecord(raw, None, "cloudtrail", "s3_records", {}))[0]  # type: ignore[arg-type]
            for m in ReferenceEngine().run(ref, [event]):
                if plans(name)[1].is_silent(m):
                    continue  # only context rules: not worth decoding (FastPlan.silent)
                for r in m.rules + [r for r, _ in m.suppressed]:
                    k = next(k for k, x in enumerate(ruleset(name).rules) if x is r)
                    assert i in sel and (sel[i] is ALL or k in sel[i]), (name, r.title, raw)


def test_probed_records_through_files() -> None:
    """Every AWS rule's own values, mutated, written as S3 files: fast == readers."""
    rnd = random.Random(7)
    records = _certifiable([_mutations(p, rnd) for p in PROBES for _ in range(4)])
    names = ("seed", "corrected", "sigmahq") if EXTERNAL.is_dir() else ("seed", "corrected")
    got = check_file(gz(s3(records)), "s3", names)
    assert len(got.matches) > 50


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(cloudtrail_like(), min_size=1, max_size=8))
def test_generated_records_through_files(records: list[Any]) -> None:
    names = ("seed", "corrected", "sigmahq") if EXTERNAL.is_dir() else ("seed", "corrected")
    check_file(s3(records), None, names)
    check_file(s3(_certifiable(records)), "s3", names)


# ---------------------------------------------------------------------------------------------
# Whole scans: worker processes, merged in input order, scored like scan()


def fast_scan(paths: list[str], profile: Any, rs: RuleSet, jobs: int = 2) -> ScanResult:
    """scan.scan() with the fast engine reading the inputs (the integration fast.py asks for)."""
    stats = ScanStats()
    eng = FastEngine(jobs=jobs)
    plan = eng.compile(rs)
    specs, issues = discover(paths)
    for issue in issues:
        stats.add_issue(issue)
    matches = eng.scan(plan, specs, stats, profile)
    findings = score_all(
        tuning_gate(
            matches, stats, filters=rs.filters, window=None, min_score=None, dedupe=profile.dedupe
        ),
        None,
        dedupe=profile.dedupe,
        correlations=rs.correlations,
        correlation_stats=stats.correlation,
    )
    stats.findings = len(findings)
    return ScanResult(findings, stats)


def _stats(s: ScanStats) -> dict[str, Any]:
    d = {f.name: getattr(s, f.name) for f in dataclasses.fields(s)}
    d["samples"] = [str(i) for i in s.samples]
    d["correlation"] = repr(d.get("correlation"))
    return d


def same_scan(paths: list[str], profile_name: str, rs: RuleSet, jobs: int = 2) -> ScanResult:
    p = get_profile(profile_name)
    want = scan(paths, p, ruleset=rs, engine="reference")
    got = fast_scan(paths, p, rs, jobs)
    assert [row(f, p) for f in got.findings] == [row(f, p) for f in want.findings]
    # Finding.order counts matches, and scan() yields no match of only context rules: the
    # numbers differ, their order does not
    assert [sorted(f.order for f in got.findings).index(f.order) for f in got.findings] == [
        sorted(f.order for f in want.findings).index(f.order) for f in want.findings
    ]
    assert _stats(got.stats) == _stats(want.stats)
    return got


def _tamper_story() -> list[dict[str, Any]]:
    base = realistic_records(3, 11)
    out = []
    for i, (name, minute) in enumerate([("GetTrailStatus", 1), ("DescribeTrails", 5), ("StopLogging", 20)]):
        r = dict(base[i])
        r.update(eventSource="cloudtrail.amazonaws.com", eventName=name, eventTime=f"2026-03-01T10:{minute:02d}:00Z")
        r["userIdentity"] = {"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/mallory", "accountId": "111122223333"}
        out.append(r)
    return out


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("AWSLogs")
    folder = root / "111122223333" / "CloudTrail" / "us-east-1" / "2026" / "03" / "01"
    folder.mkdir(parents=True)
    for i in range(6):
        recs = sample(250, seed=100 + i)
        if i == 2:
            recs[40:40] = _tamper_story()
        if i == 3:
            recs.append(dict(recs[17], eventName="CreateUser", eventSource="iam.amazonaws.com"))
            recs.append(dict(recs[-1]))  # a duplicate delivery (corrected collapses it)
        (folder / f"f{i}.json.gz").write_bytes(gz(s3(recs)))
    (folder / "cut.json.gz").write_bytes(gz(s3(sample(100, 9)))[:-500])
    (folder / "lines.json").write_bytes(b"\n".join(orjson.dumps(r) for r in sample(50, 12)) + b"\n{bad\n")
    (folder / "notes.txt").write_bytes(b"not json")
    digest = root / "111122223333" / "CloudTrail-Digest" / "d.json.gz"
    digest.parent.mkdir(parents=True)
    digest.write_bytes(gz(b'{"digestStartTime":"a","digestS3Object":"b","logFiles":[]}'))
    return root


@pytest.mark.parametrize("profile_name", ["seed", "corrected"])
def test_scan_in_workers_equals_reference_scan(tree: Path, profile_name: str) -> None:
    got = same_scan([str(tree)], profile_name, ruleset(profile_name))
    assert got.findings and got.stats.error_count > 0
    if profile_name == "corrected":
        assert any(f.hits for f in got.findings)  # the correlation fired


@needs_external
def test_scan_with_sigmahq_rules_equals_reference_scan(tree: Path) -> None:
    same_scan([str(tree)], "corrected", ruleset("corrected+sigmahq"))


def test_scan_in_one_process_and_stdin(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    same_scan([str(tree)], "corrected", ruleset("corrected"), jobs=1)
    data = (next(tree.rglob("f1.json.gz"))).read_bytes()
    p = get_profile("corrected")
    import io

    want = scan(["-"], p, stdin=io.BytesIO(data), engine="reference")
    stats = ScanStats()
    eng = FastEngine()
    plan = eng.compile(ruleset("corrected"))
    specs, _ = discover(["-"])
    ms = list(eng.scan(plan, specs, stats, p, stdin=io.BytesIO(data)))
    assert stats.records == want.stats.records and len(ms) >= want.stats.findings > 0


@needs_external
@pytest.mark.parametrize(
    "profile_name, rules",
    [("seed", "seed"), ("corrected", "corrected+sigmahq")],  # the pack, its correlation, every SigmaHQ cloud rule
)
def test_scan_external_equals_reference_scan(profile_name: str, rules: str) -> None:
    got = same_scan([str(EXTERNAL)], profile_name, ruleset(rules))
    assert got.findings


_NUMBER_TEXT = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.integers(-(2**80), 2**80).map(str),
    st.from_regex(r"-?(0|[1-9][0-9]{0,25})(\.[0-9]{1,25})?([eE][+-]?[0-9]{1,3})?", fullmatch=True),
)


@settings(max_examples=300, deadline=None)
@given(_NUMBER_TEXT)
def test_projection_numbers_are_orjsons_or_flagged(text: str) -> None:
    """A number in an anchor field: msgspec reads it as orjson does, or it is an integer beyond
    64 bits (the prefilter then decodes the record in full), or one of them refuses it."""
    doc = f'{{"Records":[{{"eventName":"x","eventSource":"y","errorCode":{text}}}]}}'.encode()
    _, fast = plans("corrected")  # anchors errorCode (the failed-call context rule)
    proj = FS.projection(fast)
    assert proj is not None
    recs = proj.decode(doc)
    try:
        want = orjson.loads(doc)["Records"][0]["errorCode"]
    except orjson.JSONDecodeError:
        return  # the readers decide (orjson refuses: the document is not read by the fast path
        # unless msgspec accepts it too, and then only candidates are decoded, by orjson)
    if recs is None:
        return
    got = getattr(recs[0], proj._attrs[proj.record_type]["errorCode"])
    if type(got) is int and not (-(2**63) <= got < 2**64):
        assert proj.select(recs) == [(0, ALL)]
        return
    assert type(got) is type(want) and got == want and repr(got) == repr(want)


def test_stopping_early_leaves_no_worker(tree: Path) -> None:
    import multiprocessing

    p = get_profile("corrected")
    eng = FastEngine(jobs=2)
    plan = eng.compile(ruleset("corrected"))
    specs, _ = discover([str(tree)])
    gen = eng.scan(plan, specs, ScanStats(), p)
    next(gen)
    gen.close()
    assert multiprocessing.active_children() == []


_SMALL = s3(sample(24, seed=21))
_ALPHABET = b'{}[],:"\\ \n0123456789.eE+-truefalsnul\xc3\xa9\xff\x00uU'


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, len(_SMALL) - 1), st.integers(0, 2), st.sampled_from(list(_ALPHABET))), min_size=1, max_size=4))
def test_mutated_documents(edits: list[tuple[int, int, int]]) -> None:
    """Byte-level damage anywhere in an S3 file: whatever the readers make of it (issues,
    salvaged records, findings), the fast engine makes the same; it takes the fast path only
    when that gives the same result."""
    check_file(damaged(_SMALL, edits), None)


def damaged(doc: bytes, edits: list[tuple[int, int, int]]) -> bytes:
    """`doc` with each (position, op, byte) edit applied: 0 replaces, 1 inserts, 2 deletes."""
    data = bytearray(doc)
    for pos, op, byte in edits:
        pos = min(pos, len(data) - 1)
        if op == 0:
            data[pos] = byte
        elif op == 1:
            data.insert(pos, byte)
        else:
            del data[pos]
    return bytes(data)


def test_records_only_context_rules_can_match_are_not_decoded() -> None:
    _, fast = plans("corrected")
    silent = {fast.rules[k].title for k in fast.silent}
    assert silent and all("context" in t for t in silent), silent
    recs = sample(100)
    for r in recs:
        r.update(eventName="DescribeVpcs", eventSource="ec2.amazonaws.com", errorCode="AccessDenied")
    raw = s3(recs)
    got = fast_file("corrected", raw)
    assert got.mode == "s3" and got.matches == [] and FS.scan_bytes(fast, PROFILE, raw, "t", True).decoded == 0
    assert len(reference_file("corrected", raw).matches) == 0  # (their matches are silent too)


# ---------------------------------------------------------------------------------------------
# Rows-only plans (`detect --format jsonl`): a document where most records may match is decoded
# whole (fast_scan._dense), and final findings cross as rows. Oracle: the readers + reference
# engine, each match's row and keys built from its decoded event.


@functools.cache
def rows_plan(name: str) -> FastPlan:
    fast = FastEngine().compile(ruleset(name))
    fast.for_rows()
    return fast


def _row_of(m: Match) -> tuple[Any, ...]:
    e = m.event
    if isinstance(e, RowEvent):
        json_row, keys = e.json, e.keys
    else:
        pre = pre_row(m, PROFILE)
        json_row, keys = (None if pre is None else pre[0]), event_keys(e)
    return (tuple(r.id for r in m.rules), tuple((r.id, f.id) for r, f in m.suppressed), json_row, keys)


def check_rows_only(raw: bytes, names: tuple[str, ...] = ("corrected",)) -> FS.FileResult:
    res = None
    for name in names:
        want = reference_file(name, raw)
        fast = rows_plan(name)
        res = FS.scan_bytes(fast, PROFILE, raw, "t.json.gz", True)
        assert (res.records, res.events, res.not_admitted) == (want.records, want.events, want.not_admitted)
        if res.mode == "reader":
            assert issue_counts(res.stats) == issue_counts(want.tally())
        else:
            assert_issues_of_decoded_records(res.stats, want.issues)
        got = [fast.from_wire(w) for w in res.matches]
        assert [_row_of(m) for m in got] == [_row_of(m) for m in want.matches]
    assert res is not None
    return res


def _dense_records(n: int = 120, seed: int = 5) -> list[dict[str, Any]]:
    """Records the corrected rules may all match: findings final in the worker (compute
    created, a detector deleted) and findings a correlation may still change (IAM changes)."""
    recs = realistic_records(n, seed)
    calls = [("ec2.amazonaws.com", "RunInstances"), ("lambda.amazonaws.com", "CreateFunction20150331"),
             ("guardduty.amazonaws.com", "DeleteDetector")] * 2 + [
             ("ec2.amazonaws.com", "RunInstances"), ("iam.amazonaws.com", "CreateUser")]
    for i, r in enumerate(recs):
        r["eventSource"], r["eventName"] = calls[i % len(calls)]
    return recs


@pytest.fixture()
def dense_taken(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether each document was decoded whole (fast_scan._dense answered)."""
    taken: list[bool] = []
    real = FS._dense

    def spy(*args: Any) -> Any:
        got = real(*args)
        taken.append(got is not None)
        return got

    monkeypatch.setattr(FS, "_dense", spy)
    return taken


def test_dense_documents_decoded_whole_equal_the_readers(dense_taken: list[bool]) -> None:
    recs = _dense_records()
    res = check_rows_only(gz(s3(recs)))
    assert res.mode == "s3" and 2 * res.decoded > res.records and dense_taken == [True]
    assert {w[0] for w in res.matches} == {"r", "e"}
    # what a hostile or odd record puts in a dense document: integers past 64 bits (orjson
    # reads floats, as the readers do), a case variant of an absent field, null and empty
    # fields, a wrong-typed field, a record the prefilter cannot certify, a duplicate key
    odd = [dict(r) for r in recs]
    odd[3]["requestParameters"] = {"n": 123456789012345678901234567890}
    odd[4]["userIdentity"] = {**odd[4].get("userIdentity", {}), "accountId": 18446744073709551616}
    odd[7]["ErrorCode"] = "AccessDenied"
    odd[8]["userAgent"] = ""
    odd[9]["awsRegion"] = None
    odd[10]["sourceIPAddress"] = ["1.2.3.4"]
    odd[15]["eventSource"] = "aws:s3"  # (a CreateUser record: no more records a watched rule may match)
    odd[12]["eventTime"] = "03/01/2026 10:00:00"
    text = s3(odd).replace(b'"eventName":"RunInstances"', b'"eventName":"DeleteUser","eventName":"RunInstances"', 1)
    assert text != s3(odd)
    res = check_rows_only(text)
    assert res.mode == "s3"
    check_rows_only(gz(s3(odd)))
    assert dense_taken == [True, True, True]


def test_dense_documents_of_watched_matches_are_cut(dense_taken: list[bool]) -> None:
    """Records most of which may match a rule the main process still reads (a correlation's
    base rule): cut record by record, so their matches cross as bytes ("s"), not as events."""
    recs = _dense_records()
    for r in recs[::2]:
        r["eventSource"], r["eventName"] = "iam.amazonaws.com", "CreateUser"
    res = check_rows_only(s3(recs))
    assert res.mode == "s3" and dense_taken == [] and "s" in {w[0] for w in res.matches}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(cloudtrail_like(), min_size=1, max_size=6))
def test_generated_dense_documents_rows_only(records: list[Any]) -> None:
    names = ("corrected", "sigmahq") if EXTERNAL.is_dir() else ("corrected",)
    check_rows_only(s3(_dense_records(12) + records + _dense_records(4, seed=9)), names)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, 4000), st.integers(0, 2), st.sampled_from(list(_ALPHABET))), min_size=1, max_size=4))
def test_mutated_dense_documents_rows_only(edits: list[tuple[int, int, int]]) -> None:
    check_rows_only(damaged(_DENSE, edits))


_DENSE = s3(_dense_records(16, seed=23))
