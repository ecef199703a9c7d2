"""Time parsing for audit records: one string in, (ISO-8601 UTC string, epoch nanoseconds) out.

Output form: ``YYYY-MM-DDTHH:MM:SS`` then, only when the fraction is non-zero, ``.`` and the
fraction digits with trailing zeros stripped (at most 9), then ``Z``.

Accepted input (leading/trailing blanks ignored):

* extended ISO-8601 / RFC 3339: ``2024-11-30T08:43:17Z``, any number of fraction digits
  (``.3810679`` .NET ticks, GCP 0/3/6/9), ``.`` or ``,`` as decimal mark, ``T``, ``t`` or one
  or more spaces between date and time (``2024-11-25 22:00:58.000000000``);
* zone ``Z``/``z``, ``UTC``/``GMT``, or an offset ``+HH:MM``, ``+HHMM`` or ``+HH`` (optionally
  after a space: ``2020-01-11 00:42:12 +0000``); offsets are converted to UTC;
* basic ISO-8601 ``20131102T010628Z`` (CloudTrail ``creationDate`` as documented);
* the US form seen in Azure exports ``1/9/2007 9:41:00 AM`` (month first, 12- or 24-hour clock);
* a date alone (``2024-01-02``) means midnight.

**A time without a zone is taken as UTC**: every cloud audit source writes UTC, and the
re-exported forms that drop the zone (Athena/Lake ``2024-11-25 22:00:58.000000000``, Panther
``2025-01-15 14:20:35.456``) were UTC before export.

Years outside 1678-2261 (in UTC) are refused: 64-bit epoch nanoseconds hold no more.

More than 9 fraction digits are cut to 9 (nanoseconds is the finest unit kept). Seconds ``60``
(leap second) and hour ``24`` are refused. Numbers (epoch seconds or milliseconds) are not
accepted here: the normalizers report a number where a time string is expected as a wrong type.

The fraction never goes through a float: it is kept as its digit string and turned into an
integer count of nanoseconds; the calendar part uses integer day ordinals only.
"""

from __future__ import annotations

import re
from datetime import date

__all__ = ["TimeParseError", "format_ns", "is_us_form", "output_time", "parse_time"]

_NS_PER_S = 1_000_000_000
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_MIN_ORDINAL = date.min.toordinal()
_MAX_ORDINAL = date.max.toordinal()
# Times are epoch nanoseconds in 64 bits downstream (orjson, array('q'), DuckDB, spill files,
# Spark): a record dated 9999 passed the parser and then crashed `watch` (orjson: "Integer
# exceeds 64-bit range") and `report` (OverflowError). Whole years inside that range are read;
# a time outside them is refused here, as a year 0 is, so nothing downstream sees one.
_FIRST_YEAR, _LAST_YEAR = 1678, 2261
_MIN_NS = (date(_FIRST_YEAR, 1, 1).toordinal() - _EPOCH_ORDINAL) * 86400 * _NS_PER_S
_MAX_NS = (date(_LAST_YEAR + 1, 1, 1).toordinal() - _EPOCH_ORDINAL) * 86400 * _NS_PER_S - 1
_YEARS = (f"{_FIRST_YEAR:04d}", f"{_LAST_YEAR:04d}")  # the same bounds as 4-digit text

_ZONE = r"(?P<zone>[Zz]|UTC|GMT|[+-][0-9]{2}(?::?[0-9]{2})?)"

_EXTENDED = re.compile(
    r"(?P<y>[0-9]{4})-(?P<mo>[0-9]{1,2})-(?P<d>[0-9]{1,2})"
    r"(?:(?:[Tt]| +)(?P<h>[0-9]{1,2}):(?P<mi>[0-9]{2})"
    r"(?::(?P<s>[0-9]{2})(?:[.,](?P<f>[0-9]+))?)?)?"
    r" *" + _ZONE + r"?",
    re.ASCII,
)
_BASIC = re.compile(
    r"(?P<y>[0-9]{4})(?P<mo>[0-9]{2})(?P<d>[0-9]{2})"
    r"[Tt](?P<h>[0-9]{2})(?P<mi>[0-9]{2})(?P<s>[0-9]{2})(?:[.,](?P<f>[0-9]+))?" + _ZONE + r"?",
    re.ASCII,
)
_US = re.compile(
    r"(?P<mo>[0-9]{1,2})/(?P<d>[0-9]{1,2})/(?P<y>[0-9]{4}),? +"
    r"(?P<h>[0-9]{1,2}):(?P<mi>[0-9]{2})(?::(?P<s>[0-9]{2})(?:\.(?P<f>[0-9]+))?)?"
    r"(?: *(?P<ampm>[AaPp][Mm]))?"
    r" *" + _ZONE + r"?",
    re.ASCII,
)


def is_us_form(text: str) -> bool:
    """Whether `text` is the US month-first form (``11/14/2025 1:48:53 AM``): read, but no cloud
    source documents it, so the normalizers report it (``nonstandard_time``) while keeping it."""
    return isinstance(text, str) and "/" in text and _US.fullmatch(text.strip()) is not None


def output_time(ns: int | None) -> str | None:
    """The one time format of every output row: RFC 3339 UTC with exactly 3 fraction digits
    (``2024-11-30T08:43:17.000Z``), whatever the source wrote (whole seconds, .NET's 7 digits,
    GCP's 0/3/6/9). Milliseconds, truncated, never rounded (rounding could move a time into the
    next second or day): OCSF ``time`` and Sumo's ``_messageTime`` are epoch milliseconds too.
    Ordering uses the full-precision ``Event.time_ns``; the record keeps the original text."""
    if ns is None:
        return None
    frac = ns % _NS_PER_S  # floor, also before 1970
    return f"{format_ns(ns - frac)[:-1]}.{frac // 1_000_000:03d}Z"


class TimeParseError(ValueError):
    """The text is not a time this module understands; the message says why."""


class TimeOutOfRange(TimeParseError):
    """A time read as written that falls outside the years trailhound can place."""


def _offset_seconds(zone: str | None) -> int:
    if zone is None or zone in ("Z", "z", "UTC", "GMT"):
        return 0
    sign = -1 if zone[0] == "-" else 1
    digits = zone[1:].replace(":", "")
    hours = int(digits[:2])
    minutes = int(digits[2:4]) if len(digits) > 2 else 0
    if hours > 23 or minutes > 59:
        raise TimeParseError(f"zone offset {zone!r} is out of range")
    return sign * (hours * 3600 + minutes * 60)


# days since 1970-01-01 -> "YYYY-MM-DD" (bounded: cleared when full). Why: every output row
# formats its time, nearly every one a distinct second, and the calendar part of it was most
# of that cost; a scan's records fall on a few days.
_DAY_TEXT: dict[int, str] = {}


def format_ns(ns: int) -> str:
    """Epoch nanoseconds -> ``YYYY-MM-DDTHH:MM:SS[.fraction]Z``, fraction without trailing 0s."""
    seconds, frac = divmod(ns, _NS_PER_S)
    days, rem = divmod(seconds, 86400)
    day = _DAY_TEXT.get(days)
    if day is None:
        ordinal = days + _EPOCH_ORDINAL
        if not _MIN_ORDINAL <= ordinal <= _MAX_ORDINAL:
            raise TimeOutOfRange("the time falls outside years 0001-9999 once converted to UTC")
        d = date.fromordinal(ordinal)
        day = f"{d.year:04d}-{d.month:02d}-{d.day:02d}"
        if len(_DAY_TEXT) >= _DAYS_MAX:
            _DAY_TEXT.clear()
        _DAY_TEXT[days] = day
    hh, rem = divmod(rem, 3600)
    mm, ss = divmod(rem, 60)
    text = f"{day}T{hh:02d}:{mm:02d}:{ss:02d}"
    if frac:
        text += "." + f"{frac:09d}".rstrip("0")
    return text + "Z"


def parse_time(text: str) -> tuple[str, int]:
    """Parse one logged time. Returns (ISO-8601 UTC string, epoch nanoseconds).

    Raises TimeParseError (a ValueError) with a short reason when the text is not a time.
    """
    if not isinstance(text, str):
        raise TimeParseError(f"expected a string, got {type(text).__name__}")
    got = _canonical(text)
    return got if got is not None else _parse_any(text)


# "YYYY-MM-DD" -> days since 1970-01-01, or None for no such date (bounded: cleared when full)
_DAYS: dict[str, int | None] = {}
_DAYS_MAX = 4096
_NOT_SEEN = object()


def _canonical(text: str) -> tuple[str, int] | None:
    """The form CloudTrail writes (`YYYY-MM-DDTHH:MM:SSZ`, nearly every record) without the
    regexes: what _parse_any returns for it, and the text is already that output form.
    None: another form or not a valid time, for _parse_any to read or explain."""
    if (
        len(text) != 20
        or text[4] != "-" or text[7] != "-" or text[10] != "T"
        or text[13] != ":" or text[16] != ":" or text[19] != "Z"
        or not text.isascii()
    ):
        return None
    if not (text[0:4] + text[5:7] + text[8:10] + text[11:13] + text[14:16] + text[17:19]).isdigit():
        return None
    if not _YEARS[0] <= text[0:4] <= _YEARS[1]:
        return None  # outside the years kept (_MIN_NS): _parse_any says so
    hour, minute, second = int(text[11:13]), int(text[14:16]), int(text[17:19])
    if hour > 23 or minute > 59 or second > 59:
        return None
    day = text[:10]
    days = _DAYS.get(day, _NOT_SEEN)
    if days is _NOT_SEEN:
        try:
            days = date(int(text[0:4]), int(text[5:7]), int(text[8:10])).toordinal() - _EPOCH_ORDINAL
        except ValueError:  # month 13, 31 April, 29 February of a common year, year 0
            days = None
        if len(_DAYS) >= _DAYS_MAX:
            _DAYS.clear()
        _DAYS[day] = days
    if days is None:
        return None
    return text, (days * 86400 + hour * 3600 + minute * 60 + second) * _NS_PER_S  # type: ignore[operator]


def _parse_any(text: str) -> tuple[str, int]:
    """Every accepted form, through the regexes (see the module docstring)."""
    stripped = text.strip()
    if not stripped:
        raise TimeParseError("the time is an empty string")
    match = _EXTENDED.fullmatch(stripped) or _BASIC.fullmatch(stripped) or _US.fullmatch(stripped)
    if match is None:
        raise TimeParseError("not an ISO-8601 / RFC 3339 date-time")
    parts = match.groupdict()
    year, month, day = int(parts["y"]), int(parts["mo"]), int(parts["d"])
    hour = int(parts["h"]) if parts["h"] is not None else 0
    minute = int(parts["mi"]) if parts["mi"] is not None else 0
    second = int(parts["s"]) if parts["s"] is not None else 0
    ampm = parts.get("ampm")
    if ampm:
        if not 1 <= hour <= 12:
            raise TimeParseError(f"hour {hour} is not valid on a 12-hour clock")
        hour = hour % 12 + (12 if ampm.lower() == "pm" else 0)
    if hour > 23 or minute > 59 or second > 59:
        raise TimeParseError(f"time of day {hour:02d}:{minute:02d}:{second:02d} is out of range")
    try:
        ordinal = date(year, month, day).toordinal()
    except ValueError as exc:  # month 13, 31 April, 29 February of a common year, year 0
        raise TimeParseError(f"invalid date {year:04d}-{month:02d}-{day:02d} ({exc})") from None
    fraction = (parts["f"] or "")[:9]
    frac_ns = int(fraction.ljust(9, "0")) if fraction else 0
    seconds = (
        (ordinal - _EPOCH_ORDINAL) * 86400
        + hour * 3600
        + minute * 60
        + second
        - _offset_seconds(parts["zone"])
    )
    ns = seconds * _NS_PER_S + frac_ns
    if not _MIN_NS <= ns <= _MAX_NS:
        raise TimeOutOfRange(
            f"the time falls outside years {_FIRST_YEAR}-{_LAST_YEAR} once converted to UTC, "
            "the years trailhound can order (times are kept as 64-bit epoch nanoseconds)"
        )
    return format_ns(ns), ns
