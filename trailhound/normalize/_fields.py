"""Typed, never-raising access to the fields of one raw record, collecting Issues on the way.

Every normalizer builds one `Fields` per record and asks it for values by path. A path is a
dotted string (``"userIdentity.arn"``) or a tuple of keys (for keys that contain dots, such as
Azure claim URIs).

Lookup order for a list of candidate paths: first every path with exact key names, then every
path again with case-insensitive key names (Athena/Lake exports lower-case CloudTrail keys,
Sentinel uses PascalCase, Panther lower-cases some Azure/GCP keys). So an exact key always wins
over a differently-cased one anywhere in the list.

Types: JSON ``null`` and, for string fields, ``""`` count as absent (no issue). A string is
what string fields expect; other scalars (numbers, booleans) are converted (``str(n)``,
``"true"``/``"false"``) without an issue.
An object or array where a string is expected, or a non-object where an object is needed to
go deeper, gives one ``wrong_type`` Issue naming the path, the JSON type found and the type
expected; the lookup then moves on to the next candidate (best effort, nothing raised).

With ``decode_json_text=True`` (Azure and Entra: Sentinel stores ``InitiatedBy``,
``AdditionalDetails``, ``Claims``, ``Properties`` as JSON text) a string holding a JSON object
or array is decoded when a path goes through it. The record itself is never modified.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar, cast

from trailhound.digits import is_digits
from trailhound.jsonutil import json_type
from trailhound.model import LOGSOURCES, Event, Issue, RawRecord
from trailhound.normalize.times import TimeParseError, is_us_form, parse_time

Path = str | tuple[str, ...]

_ABSENT = object()


def _split(path: Path) -> tuple[str, ...]:
    return tuple(path.split(".")) if isinstance(path, str) else tuple(path)


def _show(value: Any) -> str:
    """A short preview of a value for messages (never the whole thing)."""
    try:
        text = json.dumps(value, ensure_ascii=False, default=repr)
    except Exception:  # noqa: BLE001 - a preview must never fail (huge ints, cycles, ...)
        text = f"<{type(value).__name__}>"
    return text if len(text) <= 60 else text[:57] + "..."


def scalar_text(value: Any) -> str | None:
    """A JSON scalar as text: strings as they are, booleans in JSON spelling, numbers via str()."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        try:
            return str(value)
        except ValueError:  # int larger than sys.get_int_max_str_digits()
            return None
    return None


def new_event(rec: RawRecord) -> Event:
    """An Event with the pass-through fields set (raw, location, meta: the record's own objects)."""
    provider = LOGSOURCES[rec.source][0] if rec.source in LOGSOURCES else "unknown"
    return Event(
        source=rec.source, provider=provider, raw=rec.data, location=rec.location, meta=rec.meta
    )


class Fields:
    """Reader for one record; see the module docstring for the lookup and type rules."""

    def __init__(self, rec: RawRecord, *, decode_json_text: bool = False) -> None:
        self.rec = rec
        self.root: Any = rec.data
        self.issues: list[Issue] = []
        self._reported: set[tuple[str, str]] = set()
        self._decode = decode_json_text
        self._decoded: dict[int, Any] = {}

    # -- issues ------------------------------------------------------------------------------

    def issue(self, kind: str, path: str, message: str) -> None:
        if (kind, path) in self._reported:
            return
        self._reported.add((kind, path))
        self.issues.append(Issue(location=self.rec.location, kind=kind, message=message))

    def wrong_type(self, path: str, value: Any, expected: str, consequence: str = "") -> None:
        tail = f"; {consequence}" if consequence else ""
        self.issue(
            "wrong_type",
            path,
            f"field {path!r} has the wrong type: expected {expected}, found {json_type(value)} "
            f"{_show(value)}{tail}. The event is kept with that field empty; check the exporter "
            f"that wrote this record.",
        )

    # -- walking -----------------------------------------------------------------------------

    def _as_object(self, value: Any, path: str) -> dict[Any, Any] | None:
        """`value` as an object to descend into, or None (absent, or wrong type: reported)."""
        if value is None:
            return None
        if isinstance(value, dict):
            return value
        if self._decode and isinstance(value, str) and value.lstrip()[:1] in ("{", "["):
            key = id(value)
            if key not in self._decoded:
                try:
                    self._decoded[key] = json.loads(value)
                except Exception:  # noqa: BLE001 - bad JSON text, deep nesting: just not decodable
                    self._decoded[key] = _ABSENT
            decoded = self._decoded[key]
            if isinstance(decoded, dict):
                return decoded
        expected = "object (or JSON text of an object)" if self._decode else "object"
        self.wrong_type(path, value, expected)
        return None

    def as_array(self, value: Any, path: str) -> list[Any] | None:
        """`value` as an array (decoding JSON text when enabled), or None (reported if wrong)."""
        if value is None:
            return None
        if isinstance(value, list):
            return value
        if self._decode and isinstance(value, str) and value.lstrip()[:1] == "[":
            key = id(value)
            if key not in self._decoded:
                try:
                    self._decoded[key] = json.loads(value)
                except Exception:  # noqa: BLE001
                    self._decoded[key] = _ABSENT
            decoded = self._decoded[key]
            if isinstance(decoded, list):
                return decoded
        self.wrong_type(path, value, "array")
        return None

    @staticmethod
    def _child(obj: dict[Any, Any], key: str, ci: bool) -> tuple[str | None, Any]:
        if key in obj:
            return key, obj[key]
        if ci:
            folded = key.casefold()
            for k, v in obj.items():
                if isinstance(k, str) and k.casefold() == folded:
                    return k, v
        return None, _ABSENT

    def lookup(
        self, path: Path, ci: bool = False, root: Any = _ABSENT, prefix: str = ""
    ) -> tuple[str, Any] | None:
        """(path as found, value) for a present non-null value, else None."""
        node = self.root if root is _ABSENT else root
        walked = prefix
        for key in _split(path):
            obj = self._as_object(node, walked or "(record)")
            if obj is None:
                return None
            found, node = self._child(obj, key, ci)
            if found is None:
                return None
            walked = f"{walked}.{found}" if walked else found
        if node is None:
            return None
        return walked, node

    def scan(
        self,
        paths: Iterable[Path],
        convert: Callable[[str, Any], tuple[bool, Any]],
        root: Any = _ABSENT,
        prefix: str = "",
    ) -> Any:
        """First candidate (exact keys first, then case-insensitive) that `convert` accepts."""
        paths = list(paths)
        for ci in (False, True):
            for path in paths:
                hit = self.lookup(path, ci, root, prefix)
                if hit is None:
                    continue
                ok, out = convert(*hit)
                if ok:
                    return out
        return None

    # -- typed getters -----------------------------------------------------------------------

    def string(self, *paths: Path, root: Any = _ABSENT, prefix: str = "") -> str | None:
        """First present value as a string (scalars converted; objects/arrays reported)."""

        def convert(path: str, value: Any) -> tuple[bool, Any]:
            text = scalar_text(value)
            if text is None:
                self.wrong_type(path, value, "string")
                return False, None
            return text != "", text  # "" counts as not set: try the next candidate

        return cast("str | None", self.scan(paths, convert, root, prefix))

    def named_value(self, *paths: Path) -> str | None:
        """Azure-style value: a string, or an object ``{"value": ..., "localizedValue": ...}``."""

        def convert(path: str, value: Any) -> tuple[bool, Any]:
            text = scalar_text(value)
            if text is not None:
                return text != "", text
            if isinstance(value, dict):
                inner = self.string("value", root=value, prefix=path)
                if inner is None and not any(
                    isinstance(k, str) and k.casefold() == "value" for k in value
                ):
                    self.wrong_type(path, value, 'string or object with "value"')
                return (inner is not None), inner
            self.wrong_type(path, value, 'string or object with "value"')
            return False, None

        return cast("str | None", self.scan(paths, convert))

    def obj(
        self, *paths: Path, root: Any = _ABSENT, prefix: str = ""
    ) -> tuple[str, dict[Any, Any]] | None:
        """First present value that is an object (or JSON text of one): (path, object)."""

        def convert(path: str, value: Any) -> tuple[bool, Any]:
            got = self._as_object(value, path)
            return (got is not None), (path, got)

        return cast("tuple[str, dict[Any, Any]] | None", self.scan(paths, convert, root, prefix))

    def raw(self, *paths: Path, root: Any = _ABSENT, prefix: str = "") -> tuple[str, Any] | None:
        """First present value of any type: (path, value)."""
        hit = self.scan(paths, lambda p, v: (True, (p, v)), root, prefix)
        return cast("tuple[str, Any] | None", hit)

    def time(self, *paths: Path) -> tuple[str | None, int | None]:
        """First candidate that parses as a time. Unparseable text -> bad_time, then next one."""

        def convert(path: str, value: Any) -> tuple[bool, Any]:
            if not isinstance(value, str):
                self.wrong_type(
                    path, value, "string (ISO-8601 time)", "the event time is left empty"
                )
                return False, None
            try:
                parsed = parse_time(value)
            except TimeParseError as exc:
                self.issue(
                    "bad_time",
                    path,
                    f"field {path!r} is not a time this tool can read ({exc}): {_show(value)}. "
                    f"The event is kept without a time; expected ISO-8601 such as "
                    f"2024-01-02T03:04:05.123Z.",
                )
                return False, None
            if is_us_form(value):
                # Accepted (the month-first reading is the only one US exporters write), but no
                # source documents it: say so, since a day-first export would be misread.
                self.issue(
                    "nonstandard_time",
                    path,
                    f"field {path!r} holds a US-style time {_show(value)}, not the ISO-8601 / "
                    f"RFC 3339 time this format documents; it was read month first, as UTC "
                    f"({parsed[0]}). Export with ISO-8601 times (e.g. 2024-01-02T03:04:05Z) if "
                    f"that reading is wrong.",
                )
            return True, parsed

        found = self.scan(paths, convert)
        return found if found is not None else (None, None)

    def require(self, what: str, value: Any, *paths: Path) -> None:
        """Report a ``missing_field`` Issue when a field every record of this format carries
        (its time, its event name) is absent, null or empty in all its candidate `paths`.
        `value` is what the normalizer got; a present value of the wrong type or an unreadable
        time was already reported (wrong_type, bad_time), so it is not reported twice."""
        if value is not None or not isinstance(self.root, dict):  # not a dict: reported already
            return
        reported = {p for _, p in self._reported}
        for path in paths:
            for ci in (False, True):
                hit = self.lookup(path, ci)
                if hit is not None and (hit[1] != "" or hit[0] in reported):
                    return
        names = [p if isinstance(p, str) else ".".join(p) for p in paths]
        also = f" (or {', '.join(repr(n) for n in names[1:])})" if len(names) > 1 else ""
        self.issue(
            "missing_field",
            names[0],
            f"required {what} field {names[0]!r}{also} is missing, null or empty. The event is "
            f"kept (and shown if a rule matches) with its {what} empty; check the exporter or "
            f"the collector that wrote this record (a field renamed or dropped on the way).",
        )


_T = TypeVar("_T")


def first(*values: _T | None) -> _T | None:
    """The first value that is not None and not the empty string."""
    for value in values:
        if value is not None and value != "":
            return value
    return None


def address(value: str | None) -> str | None:
    """A logged client address without the client's port: ``1.2.3.4:5678`` -> ``1.2.3.4``,
    ``[2001:db8::1]:443`` -> ``2001:db8::1``. Microsoft's UAL and Azure Activity write the port
    after the address; cut off here (the raw record keeps it) so that an allowlist ``cidr``, the
    principal ranking's addresses, first-seen and OCSF's ``src_endpoint.ip`` see one address per
    client, not one per connection. Anything else (a bare IPv4 or IPv6 address: more than one
    colon and no brackets; a DNS name; a non-numeric tail) is kept as logged."""
    if not value:
        return value
    if value.startswith("["):
        host, sep, tail = value[1:].partition("]")
        if sep and host and (not tail or (tail[:1] == ":" and is_digits(tail[1:]))):
            return host
        return value
    host, sep, port = value.partition(":")
    if sep and host and is_digits(port):
        return host
    return value


def keyed_value(fields: Fields, items: Sequence[Any] | None, key: str, prefix: str) -> str | None:
    """Value of the ``{"key": key, "value": ...}`` item of a list; keys match in any case."""
    if not items:
        return None
    folded = key.casefold()
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            continue
        name = fields.string("key", root=item, prefix=f"{prefix}[{index}]")
        if name is not None and name.casefold() == folded:
            return fields.string("value", root=item, prefix=f"{prefix}[{index}]")
    return None
