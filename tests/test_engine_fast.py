"""The fast engine (engine/fast.py, fast_prefilter.py) against the reference engine.

* On every event of ../shared/data/external, for the seed and corrected packs and for every
  SigmaHQ cloud rule the reference engine compiles: the same Matches (events, rules, filters,
  order).
* On hypothesis-generated CloudTrail-like records (random and rule-derived values, case
  variants, missing, null and wrong-typed fields, lists, nested objects, dotted keys): the same.
* The prefilter is conservative: for every rule, every record the reference engine matches is
  among the rule's candidates.

The reader part (fast_scan.py: files, projections, workers) is tested in
test_engine_fast_scan.py.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import random
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import requires_external
from trailhound.engine import make_engine
from trailhound.engine.base import Match
from trailhound.engine.fast import FastEngine, FastPlan
from trailhound.engine.fast_prefilter import ALL, EQ, Prefilter
from trailhound.engine.reference import ReferenceEngine, _Ctx
from trailhound.errors import EngineError
from trailhound.model import Event, Location, RawRecord
from trailhound.normalize import normalize
from trailhound.rules.loader import load_pack, load_paths
from trailhound.rules.model import RuleSet
from trailhound.sources import read_paths

REPO = Path(__file__).resolve().parents[1]
EXTERNAL = REPO.parent / "shared" / "data" / "external"


# ---------------------------------------------------------------------------------------------
# Shared helpers (test_engine_fast_scan.py imports them)


def gen_module() -> Any:
    """bench/gen_cloudtrail.py, the realistic CloudTrail generator."""
    spec = importlib.util.spec_from_file_location("gen_cloudtrail", REPO / "bench" / "gen_cloudtrail.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def realistic_records(n: int, seed: int = 7) -> list[dict[str, Any]]:
    gen = gen_module()
    g = gen.Gen(random.Random(seed), "111122223333", "us-east-1")
    return [g.record(gen.START) for _ in range(n)]


def compilable(ruleset: RuleSet) -> RuleSet:
    """The rules (and filters) the reference engine compiles, one by one."""
    keep = []
    for r in ruleset.rules:
        try:
            ReferenceEngine().compile(RuleSet((r,)))
        except EngineError:
            continue
        keep.append(r)
    return RuleSet(tuple(keep), ruleset.filters, ruleset.correlations)


@cache
def sigmahq_cloud() -> RuleSet:
    rs, _problems = load_paths([EXTERNAL / "sigmahq-sigma" / "rules" / "cloud"])
    return compilable(rs)


@cache
def ruleset(name: str) -> RuleSet:
    """seed / corrected (shipped packs), sigmahq (every SigmaHQ cloud rule that compiles),
    corrected+sigmahq (the benchmark's "flagship + SigmaHQ" set, correlations included)."""
    if name in ("seed", "corrected"):
        return load_pack(name)
    sig = sigmahq_cloud()
    if name == "sigmahq":
        return sig
    pack = load_pack("corrected")
    ids = {r.id for r in pack.rules}
    return RuleSet(
        pack.rules + tuple(r for r in sig.rules if r.id not in ids), pack.filters, pack.correlations
    )


RULESETS = ("seed", "corrected", "sigmahq", "corrected+sigmahq")
needs_external = requires_external


def match_key(m: Match) -> tuple[Any, ...]:
    return (
        dataclasses.asdict(m.event),
        [r.id for r in m.rules],
        [(r.id, f.id) for r, f in m.suppressed],
    )


def same_matches(a: Iterable[Match], b: Iterable[Match]) -> None:
    ka = [match_key(m) for m in a]
    kb = [match_key(m) for m in b]
    assert len(ka) == len(kb)
    for x, y in zip(ka, kb):
        assert x == y


def event_of(raw: dict[str, Any], i: int = 0, source: str = "cloudtrail") -> Event:
    rec = RawRecord(raw, Location("gen.json", index=i, pointer=f"/Records/{i}"), source, "s3_records", {})
    return normalize(rec)[0]


@cache
def external_records() -> tuple[RawRecord, ...]:
    return tuple(item for item in read_paths([str(EXTERNAL)]) if isinstance(item, RawRecord))


@cache
def external_events() -> tuple[Event, ...]:
    return tuple(normalize(item)[0] for item in external_records())


@cache
def plans(name: str) -> tuple[Any, FastPlan]:
    rs = ruleset(name)
    return ReferenceEngine().compile(rs), FastEngine().compile(rs)


def reference_matches(name: str, events: Iterable[Event]) -> list[Match]:
    return list(ReferenceEngine().run(plans(name)[0], events))


def fast_matches(name: str, events: Iterable[Event]) -> list[Match]:
    return list(FastEngine().run(plans(name)[1], events))


# ---------------------------------------------------------------------------------------------
# The engine contract


def test_registered() -> None:
    assert type(make_engine("fast")) is FastEngine


def test_refuses_what_the_reference_refuses() -> None:
    bad = [r for r in load_paths([EXTERNAL / "sigmahq-sigma" / "rules-placeholder"])[0].rules] if EXTERNAL.is_dir() else []
    for r in bad:
        try:
            ReferenceEngine().compile(RuleSet((r,)))
        except EngineError as e:
            with pytest.raises(EngineError) as got:
                FastEngine().compile(RuleSet((r,)))
            assert str(got.value) == str(e)


@needs_external
@pytest.mark.parametrize("name", RULESETS)
def test_same_matches_as_reference_on_external_data(name: str) -> None:
    events = external_events()
    assert len(events) > 13_000
    ref = reference_matches(name, events)
    assert ref, "the external data must exercise the rules"
    same_matches(ref, fast_matches(name, events))


@needs_external
def test_sigmahq_cloud_rules_loaded() -> None:
    rs = sigmahq_cloud()
    aws = [r for r in rs.rules if (r.product, r.service) == ("aws", "cloudtrail")]
    assert len(aws) == 57 and len(rs.rules) > 200


def test_same_matches_on_realistic_generated_records() -> None:
    events = [event_of(r, i) for i, r in enumerate(realistic_records(3000))]
    for name in ("seed", "corrected"):
        ref = reference_matches(name, events)
        assert ref
        same_matches(ref, fast_matches(name, events))


# ---------------------------------------------------------------------------------------------
# Prefilter


def _literals() -> list[str]:
    """Every literal the anchors of all test rule sets look for."""
    out: set[str] = set()
    for name in ("seed", "corrected") + (("sigmahq",) if EXTERNAL.is_dir() else ()):
        pf = Prefilter(ruleset(name).rules)
        for anchor in pf.anchors:
            for atom in anchor or ():
                if atom.text:
                    out.add(atom.text)
    return sorted(out)


LITERALS = _literals()


def _probes() -> list[list[tuple[str, Any]]]:
    """Per rule, the (field, value) items of its condition (wildcards filled in): setting most of
    them builds records that match or nearly match (random values alone almost never satisfy
    `eventSource: x and eventName: y`)."""
    from sigma.conditions import ConditionFieldEqualsValueExpression
    from sigma.types import SigmaBool, SigmaNumber, SigmaString

    def walk(node: Any, out: list[tuple[str, Any]]) -> None:
        if isinstance(node, ConditionFieldEqualsValueExpression):
            v = node.value
            if isinstance(v, SigmaString) and not v.contains_placeholder():
                out.append((node.field, "".join(p if isinstance(p, str) else "Z" for p in v.s)))
            elif isinstance(v, SigmaBool):
                out.append((node.field, v.boolean))
            elif isinstance(v, SigmaNumber):
                out.append((node.field, v.number))
        for a in getattr(node, "args", ()) or ():
            walk(a, out)

    probes = []
    for name in ("seed", "corrected") + (("sigmahq",) if EXTERNAL.is_dir() else ()):
        for r in ruleset(name).rules:
            if r.product != "aws":
                continue  # the generated records are CloudTrail records
            items: list[tuple[str, Any]] = []
            for c in r.sigma.detection.parsed_condition:
                walk(c.parsed, items)
            if items:
                probes.append(items)
    return probes


PROBES = _probes()


def test_anchors_of_the_shipped_packs() -> None:
    for name in ("seed", "corrected"):
        pf = Prefilter(ruleset(name).rules)
        aws = [k for k, r in enumerate(pf.rules) if r.product == "aws"]
        assert all(pf.anchors[k] for k in aws), pf.describe()
    seed = Prefilter(ruleset("seed").rules)
    assert all(a.kind == EQ and a.cased and a.path == "eventName" for an in seed.anchors for a in an or ())


def _assert_conservative(name: str, events: Iterable[Event]) -> int:
    _, fast = plans(name)
    checked = 0
    for e in events:
        gate, pf = fast.gate(e.logsource)
        cands = pf.candidates(e.raw)
        ctx = _Ctx(e.raw)
        for k, cr in gate:
            if cr.pred(ctx):
                checked += 1
                assert k in cands, (cr.rule.id, cr.rule.title, e.raw)
    return checked


@needs_external
@pytest.mark.parametrize("name", ["seed", "corrected", "sigmahq"])
def test_prefilter_is_conservative_on_external_data(name: str) -> None:
    assert _assert_conservative(name, external_events()) > 100


# ---------------------------------------------------------------------------------------------
# Hypothesis: CloudTrail-like records


def _case(s: str) -> st.SearchStrategy[str]:
    return st.sampled_from(
        [s, s.lower(), s.upper(), s.swapcase(), s.replace("k", "\u212a"), " " + s, s + "x", s[:-1]]
    )


_literal = st.sampled_from(LITERALS or ["x"]).flatmap(_case)
_scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.sampled_from([2**64, -(2**63) - 1, 10**30, 1.5, 1e16, 0.0]),
    st.text(max_size=6),
    _literal,
)
_leaf = st.one_of(_literal, _literal, _scalar)
_value = st.recursive(
    _leaf,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(["type", "arn", "value", "ConsoleLogin", "enable", "x"]), inner, max_size=3),
    ),
    max_leaves=6,
)
_TOP = [
    "eventName", "eventSource", "errorCode", "errorMessage", "userAgent", "eventType", "status",
    "sourceIPAddress", "readOnly", "requestParameters", "responseElements", "additionalEventData",
    "userIdentity.type", "operationName", "eventTime",
]
_IDENTITY = st.fixed_dictionaries(
    {},
    optional={
        "type": _leaf,
        "arn": st.one_of(_leaf, st.sampled_from(["arn:aws:sts::1:assumed-role/aws:ec2-instance/i-1", "arn:aws:iam::1:root"])),
        "sessionContext": st.fixed_dictionaries({}, optional={"sessionIssuer": st.fixed_dictionaries({}, optional={"type": _leaf})}),
        "userName": _leaf,
    },
)


def _set_path(rec: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    node = rec
    for p in parts[:-1]:
        nxt = node.get(p)
        if not isinstance(nxt, dict):
            nxt = node[p] = {}
        node = nxt
    node[parts[-1]] = value


@st.composite
def cloudtrail_like(draw: Any) -> dict[str, Any]:
    rec: dict[str, Any] = {"eventVersion": "1.08"}
    for key in draw(st.lists(st.sampled_from(_TOP), unique=True, max_size=4)):
        if key == "requestParameters":
            rec[key] = draw(
                st.fixed_dictionaries(
                    {},
                    optional={
                        "enable": st.one_of(st.booleans(), _leaf),
                        "attribute": _leaf,
                        "containerDefinitions": st.lists(st.fixed_dictionaries({"command": st.lists(_leaf, max_size=2)}), max_size=2),
                        "layers": st.lists(_leaf, max_size=2),
                        "userName": _leaf,
                    },
                )
            )
        elif key == "responseElements":
            rec[key] = draw(st.one_of(st.none(), _value, st.fixed_dictionaries({}, optional={"ConsoleLogin": _leaf, "publiclyAccessible": _leaf})))
        elif key == "additionalEventData":
            rec[key] = draw(st.fixed_dictionaries({}, optional={"MFAUsed": _leaf}))
        else:
            rec[key] = draw(st.one_of(_leaf, _leaf, _leaf, _value))
    if draw(st.integers(0, 3)) == 0:
        rec["userIdentity"] = draw(st.one_of(_IDENTITY, _IDENTITY, _IDENTITY, st.lists(_IDENTITY, max_size=2), _scalar))
    # the values one or two rules look for, on the paths they look at (sometimes in another
    # case, in a list, or replaced by something else); one value per path when a rule lists
    # several
    for probe in draw(st.lists(st.sampled_from(PROBES), min_size=1, max_size=2)):
        seen: set[str] = set()
        for path, value in draw(st.permutations(probe)):
            if path in seen or draw(st.integers(0, 9)) == 9:
                continue
            seen.add(path)
            if isinstance(value, str):
                value = draw(st.one_of(st.just(value), st.just(value), st.just(value), _case(value)))
            _set_path(rec, path, draw(st.one_of(*[st.just(value)] * 6, st.just([value]), _leaf)))
    return rec


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(cloudtrail_like(), min_size=1, max_size=6))
def test_same_matches_on_generated_records(records: list[dict[str, Any]]) -> None:
    events = [event_of(r, i) for i, r in enumerate(records)]
    names = ("seed", "corrected", "sigmahq") if EXTERNAL.is_dir() else ("seed", "corrected")
    for name in names:
        same_matches(reference_matches(name, events), fast_matches(name, events))
        _assert_conservative(name, events)


def test_candidates_all_sentinel_evaluates_everything() -> None:
    _, fast = plans("corrected")
    e = event_of({"eventName": "CreateUser", "eventSource": "iam.amazonaws.com", "errorCode": "X"})
    assert match_key(fast.evaluate(e, ALL)) == match_key(fast.evaluate(e))  # type: ignore[arg-type]


def _mutations(probe: list[tuple[str, Any]], rnd: random.Random) -> dict[str, Any]:
    """One record built from a rule's items: each path set once (or not), its value kept,
    recased, wrapped in a list, nulled or replaced."""
    rec: dict[str, Any] = {"eventVersion": "1.08", "eventTime": "2024-05-01T10:00:00Z"}
    items = probe[:]
    rnd.shuffle(items)
    seen: set[str] = set()
    for path, value in items:
        if path in seen:
            continue
        seen.add(path)
        roll = rnd.random()
        if roll < 0.05:
            continue
        if isinstance(value, str) and roll < 0.25:
            value = rnd.choice([value.lower(), value.upper(), value.swapcase(), value + "x", "\u212a" + value[1:]])
        elif roll < 0.30:
            value = [value]
        elif roll < 0.33:
            value = None
        elif roll < 0.36:
            value = {"value": value}
        _set_path(rec, path, value)
    if rnd.random() < 0.2:
        rec["errorCode"] = rnd.choice(["", None, "AccessDenied", 0])
    if rnd.random() < 0.1:
        rec["userIdentity.type"] = rnd.choice(["Root", "AssumedRole"])
    return rec


def test_every_aws_rule_probed() -> None:
    """Records built from each AWS rule's own values, mutated: same Matches, conservative
    prefilter, and most rules do match some of them."""
    rnd = random.Random(20261129)
    records = [_mutations(p, rnd) for p in PROBES for _ in range(12)]
    events = [event_of(r, i) for i, r in enumerate(records)]
    names = ("seed", "corrected", "sigmahq") if EXTERNAL.is_dir() else ("seed", "corrected")
    for name in names:
        ref = reference_matches(name, events)
        same_matches(ref, fast_matches(name, events))
        _assert_conservative(name, events)
        hit = {r.id for m in ref for r in m.rules}
        aws = [r for r in ruleset(name).rules if r.product == "aws"]
        assert len(hit) >= 0.75 * len(aws), (name, sorted(r.title for r in aws if r.id not in hit))
