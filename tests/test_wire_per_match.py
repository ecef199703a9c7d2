"""The worker's per-match shortcuts (issue #10, cheap findings): what a match's rules decide is
memoised per combination of rules (FastPlan._combo), a location is formatted without a joined
list, the S3 path decodes a document twice only when a long digit run made a float.

Oracles: the rules' own weights and flags (scoring's definition, summed here by hand), the
location format written out by hand, Python's json module (which reports every float it reads).
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import json
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.test_engine_fast import plans, realistic_records
from trailhound.engine.base import Match
from trailhound.engine.fast import FastEngine
from trailhound.engine.fast_scan import _holds_float
from trailhound.engine.reference import ReferenceEngine
from trailhound.model import Location, RawRecord
from trailhound.normalize import normalize
from trailhound.profiles import get_profile
from trailhound.report.columns import pre_row
from trailhound.scoring import event_keys

PROFILE = get_profile("corrected")


def test_location_text() -> None:
    assert str(Location("f.json")) == "f.json"
    assert str(Location("f.json", 3)) == "f.json:3"
    assert str(Location("f.json", None, 10)) == "f.json (byte 10)"
    assert str(Location("f.gz", None, 10, compressed=True)) == "f.gz (compressed byte 10)"
    assert str(Location("f.json", 3, 10)) == "f.json:3 (byte 10)"
    assert str(Location("f.json", None, None, 7, "/Records/7")) == "f.json at /Records/7"
    assert str(Location("f.json", None, None, 7)) == "f.json record #7"
    assert str(Location("f.json", 2, 5, 7, "/x/0")) == "f.json:2 (byte 5) at /x/0"
    assert str(Location("f.json", 2, 5, 7)) == "f.json:2 (byte 5) record #7"


def test_location_and_raw_record_built_as_their_dataclass_declares() -> None:
    """Their __init__ (model._slot_init) takes the declared fields, in order, with the declared
    defaults; a default factory gives a fresh value each time; they stay frozen."""
    for cls in (Location, RawRecord):
        params = list(inspect.signature(cls.__init__).parameters.values())[1:]
        fields = dataclasses.fields(cls)
        assert [p.name for p in params] == [f.name for f in fields]
        for p, f in zip(params, fields, strict=True):
            assert (p.default is inspect.Parameter.empty) == (
                f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING)
            if f.default is not dataclasses.MISSING:
                assert p.default == f.default
    loc = Location("f", 1, 2, 3, "/p", True)
    assert (loc.path, loc.line, loc.offset, loc.index, loc.pointer, loc.compressed) == ("f", 1, 2, 3, "/p", True)
    assert Location("f", index=4) == Location(path="f", line=None, offset=None, index=4, pointer=None)
    assert dataclasses.replace(loc, line=9).line == 9
    a, b = RawRecord({"x": 1}, loc, "cloudtrail", "single"), RawRecord({"x": 1}, loc, "cloudtrail", "single")
    assert a == b and a.meta == {} and a.meta is not b.meta
    assert RawRecord({}, loc, "s", "e", {"k": 1}).meta == {"k": 1}
    with pytest.raises(dataclasses.FrozenInstanceError):
        loc.path = "g"  # type: ignore[misc]
    with pytest.raises(TypeError):
        Location()  # type: ignore[call-arg]


def _json_values() -> st.SearchStrategy[Any]:
    leaves = (st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1)
              | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=5))
    return st.recursive(
        leaves, lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=3), kids, max_size=4),
        max_leaves=20,
    )


@settings(max_examples=300, deadline=None)
@given(_json_values())
def test_holds_float_is_whether_a_parser_reads_a_float(value: Any) -> None:
    floats: list[str] = []
    text = json.dumps(value)
    json.loads(text, parse_float=lambda s: floats.append(s) or float(s))
    assert _holds_float(orjson.loads(text)) is bool(floats)


def test_holds_float_sees_orjsons_reading_of_a_big_integer_not_digits_in_a_string() -> None:
    assert _holds_float(orjson.loads(b'{"a":[1,{"b":[123456789012345678901]}]}'))
    assert not _holds_float(orjson.loads(b'{"a":[1,{"b":["123456789012345678901"]}]}'))


def _matches(name: str) -> list[Match]:
    ref, _ = plans(name)
    out: list[Match] = []
    for i, raw in enumerate(realistic_records(400)):
        event = normalize(RawRecord(raw, Location("t.json", None, None, i, f"/Records/{i}"),
                                    "cloudtrail", "s3_records", {}))[0]
        out.extend(ReferenceEngine().run(ref, [event]))
    return out


def test_wire_form_of_each_rule_combination() -> None:
    """Every match crosses with its rules' indices and, in a rows-only scan, with the score its
    counted rules add up to; a match of silent rules only does not cross."""
    for name in ("seed", "corrected"):
        ruleset = plans(name)[1].ruleset
        plan = FastEngine().compile(ruleset)
        plan.for_rows()
        referenced = {r.id for c in ruleset.correlations for r in c.rules}
        row = functools.partial(pre_row, profile=PROFILE)
        combos = set()
        forms = {"r": 0, "e": 0, "silent": 0}
        for m in _matches(name):
            combos.add(tuple(r.id for r in m.rules))
            w = plan.to_wire(m, None, None, row)
            silent = not m.suppressed and all(
                r.context and r.id not in referenced and not plan.ref.rules[ruleset.rules.index(r)].filters
                for r in m.rules
            )
            if silent:
                assert w is None
                forms["silent"] += 1
                continue
            assert w is not None
            assert w[0] in ("r", "e")  # (no record bytes given: no "s")
            forms[w[0]] += 1
            indices = tuple(next(k for k, x in enumerate(ruleset.rules) if x is r) for r in m.rules)
            counted = [r for r in m.rules if r.generate]
            if w[0] == "r":
                _, keys, score, rules, js = w
                assert rules == indices
                assert score == sum(r.weight for r in counted)
                assert keys == event_keys(m.event)
                assert orjson.loads(js)["suspicion_score"] == score
            else:
                assert w[2] == indices
        assert len(combos) > 1, name  # (several combinations, each memoised apart)
        assert forms["r"], (name, forms)


def test_combinations_sharing_rules_are_told_apart() -> None:
    """Matches whose rules overlap (one rule, it and another, ...) each get their own indices
    and score: the memo is keyed by the whole combination."""
    ruleset = plans("corrected")[1].ruleset
    plan = FastEngine().compile(ruleset)
    plan.for_rows()
    row = functools.partial(pre_row, profile=PROFILE)
    event = _matches("corrected")[0].event
    det = [k for k, r in enumerate(ruleset.rules) if not r.context and r.generate][:3]
    ctx = [k for k, r in enumerate(ruleset.rules) if r.context][:2]
    assert len(det) == 3 and ctx
    combos = [det[:1], det[:2], det, det[1:], [det[0], *ctx], [det[2], *ctx]]
    for combo in combos * 2:  # (twice: the second time from the memo)
        m = Match(event, [ruleset.rules[k] for k in sorted(combo)], [])
        w = plan.to_wire(m, None, None, row)
        assert w is not None
        rules = w[3] if w[0] == "r" else w[2]
        assert rules == tuple(sorted(combo))
        if w[0] == "r":
            assert w[2] == sum(ruleset.rules[k].weight for k in combo)
