"""The fast engine's CloudTrail normalizer (engine/fast_normalize.py) against normalize():
whenever it answers, the Event and the issues are exactly normalize()'s."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trailhound.engine import fast_normalize as FN
from trailhound.model import Location, RawRecord
from trailhound.normalize import normalize


def _same(rec: RawRecord) -> bool:
    """Checks one record; returns whether the fast path answered."""
    got = FN.cloudtrail_event(rec)
    if got is None:
        return False
    want = normalize(rec)
    assert dataclasses.asdict(got[0]) == dataclasses.asdict(want[0])
    assert got[0].raw is want[0].raw and got[0].meta is want[0].meta
    assert got[1] == want[1] == []
    return True


def _rec(data: dict[str, Any]) -> RawRecord:
    return RawRecord(data, Location("t.json", index=0, pointer="/Records/0"), "cloudtrail", "s3_records", {})


def test_on_with_the_builtin_normalizer() -> None:
    """The differential tests below are what holds the fast normalizer: it is on by default."""
    assert FN.enabled


def test_plain_record() -> None:
    rec = {
        "eventVersion": "1.08",
        "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::1:user/a", "accountId": "1"},
        "eventTime": "2024-01-02T03:04:05Z",
        "eventSource": "iam.amazonaws.com",
        "eventName": "CreateUser",
        "awsRegion": "us-east-1",
        "sourceIPAddress": "1.2.3.4",
        "userAgent": "aws-cli",
        "requestParameters": None,
        "responseElements": None,
        "eventID": "e1",
        "recipientAccountId": "1",
    }
    assert _same(_rec(rec))
    assert _same(_rec({**rec, "errorCode": "AccessDenied", "errorMessage": "no"}))
    assert _same(_rec({**rec, "responseElements": {"ConsoleLogin": "Failure"}}))
    assert _same(_rec({**rec, "userIdentity": None}))
    assert _same(_rec({k: v for k, v in rec.items() if k != "userIdentity"}))
    # not plain: the generic normalizer decides
    assert not _same(_rec({**rec, "ErrorCode": "X"}))  # a case variant of an absent key
    assert not _same(_rec({**rec, "eventTime": "yesterday"}))  # bad_time
    assert not _same(_rec({**rec, "awsRegion": ["a"]}))  # wrong_type
    assert not _same(_rec({**rec, "responseElements": '{"ConsoleLogin": "Failure"}'}))


_KEYS = [
    "eventTime", "eventName", "eventSource", "sourceIPAddress", "awsRegion", "recipientAccountId",
    "errorCode", "errorMessage", "userAgent", "eventID", "responseElements", "userIdentity",
    "@timestamp",
]
_UI_KEYS = ["arn", "principalId", "userName", "accountId", "invokedBy", "type"]


def _variants(key: str) -> st.SearchStrategy[str]:
    return st.sampled_from([key, key.lower(), key.upper(), key[:1].upper() + key[1:]])


_scalar = st.one_of(
    st.none(),
    st.sampled_from(["", "x", "Failure", "failure", "FAILURE", "success", "AccessDenied", "ß", "K"]),
    st.text(max_size=5),
    st.integers(-3, 3),
    st.booleans(),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
)
_value = st.one_of(_scalar, st.lists(_scalar, max_size=2), st.dictionaries(st.sampled_from(["a", "ConsoleLogin", "consolelogin"]), _scalar, max_size=2))
_time = st.one_of(
    st.sampled_from(["2024-01-02T03:04:05Z", "2024-01-02T03:04:05.123Z", "2024-02-30T00:00:00Z", "2024-01-02 03:04:05", "", "x"]),
    _scalar,
)


@st.composite
def _records(draw: Any) -> dict[str, Any]:
    rec: dict[str, Any] = {}
    for key in draw(st.lists(st.sampled_from(_KEYS), max_size=len(_KEYS), unique=True)):
        name = draw(_variants(key)) if draw(st.integers(0, 5)) == 0 else key
        if key == "eventTime":
            rec[name] = draw(_time)
        elif key == "userIdentity":
            ui: Any = {}
            for k in draw(st.lists(st.sampled_from(_UI_KEYS), max_size=6, unique=True)):
                kk = draw(_variants(k)) if draw(st.integers(0, 5)) == 0 else k
                ui[kk] = draw(_value)
            rec[name] = draw(st.one_of(st.just(ui), st.just(ui), _scalar))
        elif key == "responseElements":
            rec[name] = draw(st.one_of(st.none(), _value))
        else:
            rec[name] = draw(st.one_of(_scalar, _scalar, _value))
    return rec


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_records())
def test_equal_to_normalize_on_generated_records(data: dict[str, Any]) -> None:
    _same(_rec(data))


def test_equal_on_external_cloudtrail(external: Path) -> None:
    from tests.test_engine_fast import external_records

    answered = 0
    n = 0
    for item in external_records():
        if item.source == "cloudtrail":
            n += 1
            answered += _same(item)
    assert n > 10_000 and answered > n // 2


@settings(max_examples=150, deadline=None)
@given(
    st.fixed_dictionaries(
        {},
        optional={
            **{k: st.one_of(st.none(), st.just(""), st.text(max_size=4)) for k in _KEYS[1:10]},
            "responseElements": st.one_of(
                st.none(), st.fixed_dictionaries(
                    {},
                    optional={
                        "ConsoleLogin": st.sampled_from([None, "", "Failure", "FAILURE", "Success"]),
                        "x": _scalar,
                    },
                )
            ),
        },
    ),
    st.fixed_dictionaries({}, optional={k: st.one_of(st.none(), st.just(""), st.text(max_size=4)) for k in _UI_KEYS}),
    st.sampled_from(["2024-01-02T03:04:05Z", "2024-01-02T03:04:05.1234567Z", "2024-01-02T03:04:05+02:00"]),
)
def test_equal_to_normalize_on_mostly_plain_records(top: dict[str, Any], ui: dict[str, Any], when: str) -> None:
    # a record without an eventName is the normalizer's to report (missing_field)
    named = bool(top.get("eventName"))
    assert _same(_rec({**top, "userIdentity": ui, "eventTime": when})) == named
