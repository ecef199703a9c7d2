"""The worker's shortcuts per matching record (issue #10, cheap findings) against plain oracles:

* field lookup (`fields.resolve` walks plain dicts in a loop, `fields.leaves` takes one scalar hit
  as it is) against the lookup rule of fields.py section 1, written here again as plain recursion;
* a Text test (reference.py inlines the string leaf) against the generic leaf test over the
  field's leaves (`leaf_test`, fields.py section 2);
* the worker's row (`columns.pre_row`: signals, flags and score once per rule combination, as an
  orjson.Fragment) against the row built from the scored finding (`score_match` + `row`).

Records are drawn with dotted keys, lists (nested), nulls, numbers, booleans, case variants and
dict subclasses (which take the generic walk).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sigma.types import SpecialChars

from trailhound.engine import fields as F
from trailhound.engine import ir
from trailhound.engine.base import Match
from trailhound.engine.reference import _Ctx, leaf_test, predicate
from trailhound.model import Event, Location
from trailhound.profiles import get_profile
from trailhound.report.columns import pre_row, row
from trailhound.rules.loader import load_pack
from trailhound.scoring import score_match

_KEYS = ["a", "b", "c", "A", "a.b", "b.c", "a.b.c"]
_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-2, 2), st.sampled_from([1.5, 0.0]),
    st.sampled_from(["", "x", "X", "role", "Role", "ünï", "ſ"]),
)


def _nodes() -> st.SearchStrategy[Any]:
    return st.recursive(
        _scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=3),
            st.dictionaries(st.sampled_from(_KEYS), inner, max_size=4),
            st.dictionaries(st.sampled_from(_KEYS), inner, max_size=3).map(OrderedDict),
        ),
        max_leaves=12,
    )


_records = st.dictionaries(st.sampled_from(_KEYS), _nodes(), max_size=5)
_fields = st.lists(st.sampled_from(["a", "b", "c", "A"]), min_size=1, max_size=4).map(".".join)


def _spec_hits(node: Any, parts: list[str]) -> list[Any]:
    """fields.py section 1: at a dict take the LONGEST run of parts that is a key, no
    backtracking; a list is crossed (every element followed); anything else ends the branch."""
    if not parts:
        return [node]
    if isinstance(node, list):
        return [h for element in node for h in _spec_hits(element, parts)]
    if not isinstance(node, dict):
        return []
    for n in range(len(parts), 0, -1):
        key = ".".join(parts[:n])
        if key in node:
            return _spec_hits(node[key], parts[n:])
    return []


def _spec_leaves(hits: list[Any]) -> list[Any]:
    out: list[Any] = []
    for v in hits:
        out.extend(_spec_leaves(v) if isinstance(v, list) else [v])
    return out


@settings(max_examples=400, deadline=None)
@given(_records, _fields)
def test_lookup_is_the_spec(raw: dict[str, Any], field: str) -> None:
    hits = F.resolve(raw, F.compile_path(field))
    want = _spec_hits(raw, field.split("."))
    assert hits == want and all(a is b for a, b in zip(hits, want, strict=True))
    assert F.leaves(hits) == _spec_leaves(want)
    assert F.lookup(raw, field) == (bool(want), _spec_leaves(want))


def test_lookup_examples() -> None:
    raw = {"a.b": {"c": 1}, "a": {"b": {"c": 2}}, "l": [{"x": 1}, 2, [{"x": [3, [4]]}]]}
    assert F.resolve(raw, F.compile_path("a.b.c")) == [1]  # longest key first, final
    assert F.resolve(raw, F.compile_path("l.x")) == [1, [3, [4]]]
    assert F.leaves(F.resolve(raw, F.compile_path("l.x"))) == [1, 3, 4]
    assert F.resolve({"a": []}, F.compile_path("a")) == [[]]
    assert F.leaves([[]]) == []
    assert F.resolve({"a": None}, F.compile_path("a.b")) == []
    assert F.resolve(OrderedDict(a=OrderedDict(b=5)), F.compile_path("a.b")) == [5]


_M = SpecialChars.WILDCARD_MULTI
_S = SpecialChars.WILDCARD_SINGLE
_texts = st.builds(
    lambda parts, cased: ir.Text(tuple(F.normalize_parts(parts)), cased),
    st.lists(st.one_of(st.sampled_from(["x", "X", "role", "1", "true", "1.5", "ünï", "SS"]),
                       st.just(_M), st.just(_S)), max_size=3),
    st.booleans(),
)


@settings(max_examples=400, deadline=None)
@given(_records, _fields, _texts)
def test_text_test_is_the_generic_leaf_test(raw: dict[str, Any], field: str, m: ir.Text) -> None:
    got = predicate(ir.FieldTest(field, m))(_Ctx(raw))
    test = leaf_test(m)
    assert test is not None
    _, leaves = F.lookup(raw, field)
    assert got == any(test(v) for v in leaves)


# -- the worker's row -----------------------------------------------------------------------


def _event(i: int) -> Event:
    raw = {
        "eventName": "AssumeRole", "eventID": f"id-{i}", "awsRegion": "us-east-1",
        "userIdentity": {"type": "AssumedRole", "arn": f"arn:aws:sts::1:assumed-role/r/{i}",
                         "accessKeyId": ["AKIA", i] if i % 3 == 0 else "ASIA1"},
        "errorCode": None if i % 2 else "AccessDenied", "sourceIPAddress": "1.2.3.4",
    }
    e = Event("cloudtrail", "aws", raw, Location(f"f{i}.json", index=i, pointer=f"/Records/{i}"))
    e.time, e.time_ns = "2024-01-02T03:04:05Z", 1_704_164_645_000_000_000 + i
    e.operation, e.principal, e.principal_type = "AssumeRole", raw["userIdentity"]["arn"], "AssumedRole"
    e.src_ip, e.region, e.account, e.status = "1.2.3.4", "us-east-1", "1", "success"
    e.error_code = raw["errorCode"]
    e.user_agent, e.event_id = "aws-cli", raw["eventID"]
    return e


@pytest.fixture(scope="module")
def rules() -> list[Any]:
    rs = load_pack("corrected")
    assert any(r.context for r in rs.rules) and any(not r.context for r in rs.rules)
    return list(rs.rules)


@pytest.mark.parametrize("profile", ["corrected", "seed"])
def test_pre_row_is_the_scored_finding_row(rules: list[Any], profile: str) -> None:
    prof = get_profile(profile)
    detections = [r for r in rules if not r.context]
    contexts = [r for r in rules if r.context]
    combos = [
        [detections[0]], [detections[1]], [detections[0], detections[1]],
        [contexts[0], detections[2]], [detections[0], contexts[0]], [contexts[0]], [],
        detections[:6],
    ]
    seen = 0
    for i in range(24):  # each combination several times: the cached parts are reused
        matched = combos[i % len(combos)]
        m = Match(_event(i), list(matched), [])
        got = pre_row(m, prof)
        f = score_match(m)
        if f is None:
            assert got is None
            continue
        seen += 1
        assert got is not None
        json, ids, literal = got
        want = row(f, prof)  # the finding's row, built from it (no worker row on this event)
        assert orjson.loads(json) == want
        assert json == orjson.dumps(want)
        assert ids == tuple(r.id for r in f.rules) and literal == prof.literal_columns
    assert seen >= 15
