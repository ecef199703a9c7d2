"""times.parse_time: every time shape the sources write, checked against hand-computed values.

Expected epoch values come from calendar.timegm (whole seconds) plus the fraction digits written
out by hand as nanoseconds, never from the code under test.
"""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trailhound.model import Location, RawRecord
from trailhound.normalize import normalize
from trailhound.normalize.times import _MAX_NS, _MIN_NS, TimeParseError, format_ns, parse_time

NS = 1_000_000_000


def secs(*tup: int) -> int:
    """Epoch seconds of a UTC (Y, M, D, h, m, s), independent of the module under test."""
    return calendar.timegm((*tup, 0, 0, 0))


CASES = [
    # (input, expected string, expected epoch ns)
    ("2024-11-30T08:43:17Z", "2024-11-30T08:43:17Z", secs(2024, 11, 30, 8, 43, 17) * NS),
    # Azure .NET ticks, 7 digits, kept in full
    (
        "2018-01-29T20:42:31.3810679Z",
        "2018-01-29T20:42:31.3810679Z",
        secs(2018, 1, 29, 20, 42, 31) * NS + 381_067_900,
    ),
    # GCP 3 / 6 / 9 digits
    (
        "2021-10-19T02:57:47.339Z",
        "2021-10-19T02:57:47.339Z",
        secs(2021, 10, 19, 2, 57, 47) * NS + 339_000_000,
    ),
    (
        "2021-10-19T02:57:47.339377Z",
        "2021-10-19T02:57:47.339377Z",
        secs(2021, 10, 19, 2, 57, 47) * NS + 339_377_000,
    ),
    (
        "2020-06-30T16:14:47.593398572Z",
        "2020-06-30T16:14:47.593398572Z",
        secs(2020, 6, 30, 16, 14, 47) * NS + 593_398_572,
    ),
    # zero fraction is dropped; trailing zeros stripped
    ("2024-12-17T10:30:00.0000000Z", "2024-12-17T10:30:00Z", secs(2024, 12, 17, 10, 30, 0) * NS),
    ("2025-12-22T09:00:00.000000000Z", "2025-12-22T09:00:00Z", secs(2025, 12, 22, 9, 0, 0) * NS),
    (
        "2022-02-09T03:04:26.492650Z",
        "2022-02-09T03:04:26.49265Z",
        secs(2022, 2, 9, 3, 4, 26) * NS + 492_650_000,
    ),
    # 1 ns
    (
        "2024-01-01T00:00:00.000000001Z",
        "2024-01-01T00:00:00.000000001Z",
        secs(2024, 1, 1, 0, 0, 0) * NS + 1,
    ),
    # +00:00 offset (Entra activityDateTime)
    (
        "2024-09-23T14:33:09.0496611+00:00",
        "2024-09-23T14:33:09.0496611Z",
        secs(2024, 9, 23, 14, 33, 9) * NS + 49_661_100,
    ),
    # other offsets converted to UTC
    (
        "2021-10-18T19:57:39.584-07:00",
        "2021-10-19T02:57:39.584Z",
        secs(2021, 10, 19, 2, 57, 39) * NS + 584_000_000,
    ),
    ("2022-02-08 09:23:37+11:00", "2022-02-07T22:23:37Z", secs(2022, 2, 7, 22, 23, 37) * NS),
    ("2024-03-01T00:30:00+05:30", "2024-02-29T19:00:00Z", secs(2024, 2, 29, 19, 0, 0) * NS),
    # re-exported forms seen in the wild
    ("2024-11-25 22:00:58.000000000", "2024-11-25T22:00:58Z", secs(2024, 11, 25, 22, 0, 58) * NS),
    ("2020-01-11 00:42:12+0000", "2020-01-11T00:42:12Z", secs(2020, 1, 11, 0, 42, 12) * NS),
    ("2024-08-01T13:52:02.000+0000", "2024-08-01T13:52:02Z", secs(2024, 8, 1, 13, 52, 2) * NS),
    (
        "2025-01-15 14:20:35.456",
        "2025-01-15T14:20:35.456Z",
        secs(2025, 1, 15, 14, 20, 35) * NS + 456_000_000,
    ),
    (
        "2023-07-26 22:58:30.983201900",
        "2023-07-26T22:58:30.9832019Z",
        secs(2023, 7, 26, 22, 58, 30) * NS + 983_201_900,
    ),
    # no zone at all, with T: UTC
    ("2023-01-11T11:11:11", "2023-01-11T11:11:11Z", secs(2023, 1, 11, 11, 11, 11) * NS),
    # basic ISO (CloudTrail creationDate as documented)
    ("20131102T010628Z", "2013-11-02T01:06:28Z", secs(2013, 11, 2, 1, 6, 28) * NS),
    # US form from Azure parser fixtures
    ("1/9/2007 9:41:00 AM", "2007-01-09T09:41:00Z", secs(2007, 1, 9, 9, 41, 0) * NS),
    ("1/9/2007 12:05:00 AM", "2007-01-09T00:05:00Z", secs(2007, 1, 9, 0, 5, 0) * NS),
    ("12/31/2020 11:59:59 PM", "2020-12-31T23:59:59Z", secs(2020, 12, 31, 23, 59, 59) * NS),
    # lower-case t/z, blanks around, comma decimal mark, UTC word
    (
        "2024-01-02t03:04:05.5z",
        "2024-01-02T03:04:05.5Z",
        secs(2024, 1, 2, 3, 4, 5) * NS + 500_000_000,
    ),
    (" 2024-01-02T03:04:05Z ", "2024-01-02T03:04:05Z", secs(2024, 1, 2, 3, 4, 5) * NS),
    (
        "2024-01-02T03:04:05,25Z",
        "2024-01-02T03:04:05.25Z",
        secs(2024, 1, 2, 3, 4, 5) * NS + 250_000_000,
    ),
    ("2024-01-02 03:04:05 UTC", "2024-01-02T03:04:05Z", secs(2024, 1, 2, 3, 4, 5) * NS),
    # more than 9 digits: cut to nanoseconds
    (
        "2024-01-02T03:04:05.1234567891Z",
        "2024-01-02T03:04:05.123456789Z",
        secs(2024, 1, 2, 3, 4, 5) * NS + 123_456_789,
    ),
    # before the epoch, leap day, day roll-over by offset
    ("1969-12-31T23:59:59.5Z", "1969-12-31T23:59:59.5Z", -NS // 2),
    ("2024-02-29T23:30:00-01:00", "2024-03-01T00:30:00Z", secs(2024, 3, 1, 0, 30, 0) * NS),
    # date alone
    ("2024-01-02", "2024-01-02T00:00:00Z", secs(2024, 1, 2, 0, 0, 0) * NS),
]


@pytest.mark.parametrize(("text", "iso", "ns"), CASES, ids=[c[0] for c in CASES])
def test_parse_time_table(text: str, iso: str, ns: int) -> None:
    assert parse_time(text) == (iso, ns)


BAD = [
    "",
    "   ",
    "redacted",
    "...",
    "2024-13-01T00:00:00Z",  # month 13
    "2023-02-29T00:00:00Z",  # not a leap year
    "2024-04-31T00:00:00Z",
    "2024-01-01T24:00:00Z",  # hour 24
    "2024-01-01T23:60:00Z",
    "2024-01-01T23:59:60Z",  # leap second refused
    "2024-01-01T00:00:00+25:00",  # offset out of range
    "0000-01-01T00:00:00Z",  # year 0
    "0001-01-01T00:30:00+01:00",  # falls before year 1 in UTC
    "1690000000",  # epoch seconds as text
    "Nov 30, 2024, 8:43:17 PM",
    "13/01/2024 10:00:00",  # day-first is not accepted (month 13)
    "1/9/2007 13:41:00 PM",  # 13 PM
    "2024-01-01T00:00:00Zjunk",
    "２０２４-01-01T00:00:00Z",  # full-width digits
]


@pytest.mark.parametrize("text", BAD)
def test_parse_time_rejects(text: str) -> None:
    with pytest.raises(TimeParseError):
        parse_time(text)


def test_parse_time_rejects_non_strings() -> None:
    with pytest.raises(TimeParseError):
        parse_time(1690000000)  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(
    st.datetimes(
        min_value=datetime(1900, 1, 2), max_value=datetime(2200, 12, 30), timezones=st.just(None)
    ),
    st.integers(min_value=-14 * 60, max_value=14 * 60),
)
def test_parse_time_matches_datetime(naive: datetime, offset_min: int) -> None:
    """Any microsecond datetime with any whole-minute offset: same instant as datetime computes."""
    zone = timezone(timedelta(minutes=offset_min))
    aware = naive.replace(tzinfo=zone)
    text = aware.isoformat()  # e.g. 2024-01-02T03:04:05.123456-07:30
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    expected_ns = (aware - epoch) // timedelta(microseconds=1) * 1000
    iso, ns = parse_time(text)
    assert ns == expected_ns
    utc = aware.astimezone(UTC)
    head = utc.strftime("%Y-%m-%dT%H:%M:%S")
    frac = f"{utc.microsecond:06d}".rstrip("0")
    assert iso == head + (f".{frac}" if frac else "") + "Z"


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=_MIN_NS, max_value=_MAX_NS))
def test_format_then_parse_round_trips(ns: int) -> None:
    assert parse_time(format_ns(ns)) == (format_ns(ns), ns)


@pytest.mark.parametrize("ns", [_MIN_NS - 1, _MAX_NS + 1, -(2**63) - 1, 2**63, 10**18 * 200])
def test_times_past_64_bit_nanoseconds_are_refused(ns: int) -> None:
    # The oracle: the year boundaries in 64-bit signed nanoseconds, from datetime arithmetic
    # (1678-01-01 and 2262-01-01 are the whole years inside -2**63..2**63-1).
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    assert (datetime(1678, 1, 1, tzinfo=UTC) - epoch) // timedelta(microseconds=1) * 1000 == _MIN_NS
    assert (datetime(2262, 1, 1, tzinfo=UTC) - epoch) // timedelta(microseconds=1) * 1000 == _MAX_NS + 1
    assert -(2**63) <= _MIN_NS and _MAX_NS < 2**63
    with pytest.raises(TimeParseError, match="outside years 1678-2261"):
        parse_time(format_ns(ns))


def _ct(data: dict) -> RawRecord:
    return RawRecord(
        data=data, location=Location("t.json", index=0), source="cloudtrail", envelope="jsonl"
    )


def test_number_time_is_wrong_type() -> None:
    ev, issues = normalize(_ct({"eventTime": 1690000000, "eventName": "X"}))
    assert ev.time is None and ev.time_ns is None
    assert ev.operation == "X"
    assert [i.kind for i in issues] == ["wrong_type"]
    msg = issues[0].message
    assert "eventTime" in msg and "number" in msg and "string" in msg
    assert issues[0].severity == "error"
    assert issues[0].location == Location("t.json", index=0)


def test_unparseable_time_is_bad_time() -> None:
    ev, issues = normalize(_ct({"eventTime": "yesterday", "eventName": "X"}))
    assert ev.time is None and ev.time_ns is None
    assert [i.kind for i in issues] == ["bad_time"]
    assert "eventTime" in issues[0].message and "yesterday" in issues[0].message


# -- the canonical-time fast path ----------------------------------------------------------------

_PART = st.one_of(st.integers(0, 99).map(lambda n: f"{n:02d}"), st.sampled_from(["00", "12", "23", "24", "29", "30", "31", "59", "60", "99"]))


@st.composite
def canonical_like(draw: Any) -> str:
    year = draw(st.one_of(st.integers(0, 9999).map(lambda n: f"{n:04d}"), st.sampled_from(["2024", "2023", "1900", "2000", "0000"])))
    text = f"{year}-{draw(_PART)}-{draw(_PART)}T{draw(_PART)}:{draw(_PART)}:{draw(_PART)}Z"
    if draw(st.booleans()):  # a mutation: another character anywhere (letters, digits, blanks, non-ASCII digits)
        i = draw(st.integers(0, len(text) - 1))
        text = text[:i] + draw(st.sampled_from(list("0aT:-Z .z\u0663+"))) + text[i + 1 :]
    return text


@given(canonical_like())
@settings(max_examples=3000, deadline=None)
def test_canonical_time_path_equals_parse_time(text: str) -> None:
    from trailhound.normalize.times import TimeParseError, _canonical, _parse_any, parse_time

    def outcome(f: Any) -> Any:
        try:
            return f(text)
        except TimeParseError:
            return None

    want = outcome(_parse_any)  # the regex path: every form, the oracle
    assert outcome(parse_time) == want
    got = _canonical(text)
    if got is not None:
        assert got == want
    elif want is not None:  # only forms other than YYYY-MM-DDTHH:MM:SSZ may take the slow path
        assert want[0] != text


def test_canonical_time_path_edges() -> None:
    from trailhound.normalize.times import _canonical, _parse_any

    for ok in ("2024-02-29T23:59:59Z", "1970-01-01T00:00:00Z", "1678-01-01T00:00:00Z", "2261-12-31T23:59:59Z", "1969-12-31T23:59:59Z"):
        assert _canonical(ok) == _parse_any(ok)
    for bad in ("2023-02-29T00:00:00Z", "2024-13-01T00:00:00Z", "2024-01-01T24:00:00Z", "2024-01-01T00:00:60Z",
                "0000-01-01T00:00:00Z", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "2024-01-01T00:00:0\u0663Z", "2024-01-01t00:00:00Z", "2024-01-01T00:00:00.5Z"):
        assert _canonical(bad) is None
