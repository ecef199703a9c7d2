"""The fast engine's S3 shortcut: a plain CloudTrail `{"Records": [...]}` document, decoding
only the records some rule may match. The one fragile module (ctypes buffer addresses,
`exec`-built selector code): everything else about reading files is in file_scan.py, which
calls `s3_file` here only when the plan is not strict. Its correctness is held by the
differential tests (tests/test_engine_fast_scan.py: the readers + reference engine as oracle).

`s3_file(plan, profile, data, name)`:

1. msgspec decodes the document into a PROJECTION of each record (`CloudTrailProjection`):
   only the fields the anchors of the CloudTrail rules read, plus
   - `eventName` / `eventSource` as required strings and every envelope trigger key
     (`Records`, `detail-type`, `_raw`, ...) as a key that must be absent: a record that
     passes is certainly a CloudTrail record that unwraps to itself (envelopes.unwrap, then
     classify's first classifier), and any other shape sends the whole file to the readers;
   - the raw bytes of `eventVersion` (a zero-copy msgspec.Raw), which locate records in the
     buffer: CloudTrail writes it first, so `{"eventVersion":` right before it is the record's
     opening brace. When that does not hold, a second msgspec pass cuts the records out.
   msgspec validates the whole document (syntax, escapes, nesting); UTF-8 is checked before.
   Its values equal orjson's except integers beyond 64 bits, which the anchors treat as
   unknown (the record is decoded in full).
2. Each record's projection goes through the prefilter (fast_prefilter.py). Records no rule
   can match are counted (records, events) and dropped - the one thing the reference does
   that this does not: the normalizer's issues on those records (a wrong-typed field) are not
   raised (the README says so; `--strict` turns this shortcut off). The others are cut out of
   the buffer, decoded by orjson (the readers' parser), unwrapped with the readers' own Ctx
   (same Location) and go through the one reader loop (file_scan.evaluate_items). In a
   rows-only scan, a document where more than half the records must be decoded is decoded
   whole by orjson instead (`_dense`: the readers' own decoding, cheaper than cutting each
   record out when a rule fires on most of them).

Returns None (the file goes through the readers) for a BOM, UTF-16, invalid UTF-8, or any
document that is not `{"Records": [...]}` of plain CloudTrail records.

`scan_bytes`, `FileResult` and `scan_specs` are re-exported from file_scan.py (the Spark
executors call `scan_bytes`).
"""

from __future__ import annotations

import ctypes
import operator
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import orjson

from trailhound.engine import fields as F
from trailhound.engine.fast import WireMatch
from trailhound.engine.fast_prefilter import ALL, PathIndex
from trailhound.engine.file_scan import At, FileResult, evaluate_items, scan_bytes, scan_specs
from trailhound.jsonutil import MAX_NESTING, loads_within
from trailhound.model import Location, RawRecord
from trailhound.profiles import Profile
from trailhound.sources.charset import UTF8_BOM
from trailhound.sources.classify import CLASSIFIERS, _cloudtrail
from trailhound.sources.envelopes import ENVELOPES, Ctx, Item, unwrap

try:  # the S3 fast path needs msgspec; without it every file goes through the readers
    import msgspec
except ImportError:  # pragma: no cover - depends on the environment
    msgspec = None  # type: ignore[assignment]

__all__ = ["CloudTrailProjection", "FileResult", "projection", "s3_file", "scan_bytes", "scan_specs"]

CLOUDTRAIL = ("aws", "cloudtrail")
_WS = b" \t\r\n"
_FIRST_KEY = b'{"eventVersion":'
# digits -> "0", anything else -> "."; a run of 19 zeros is an integer that may exceed 64 bits
_DIGITS = bytes(0x30 if 0x30 <= b <= 0x39 else 0x2E for b in range(256))
_LONG_RUN = b"0" * 19


# ---------------------------------------------------------------------------------------------
# Buffer addresses (CPython): where a zero-copy msgspec.Raw sits inside the document


class _PyBuffer(ctypes.Structure):
    _fields_ = [
        ("buf", ctypes.c_void_p),
        ("obj", ctypes.c_void_p),
        ("len", ctypes.c_ssize_t),
        ("itemsize", ctypes.c_ssize_t),
        ("readonly", ctypes.c_int),
        ("ndim", ctypes.c_int),
        ("format", ctypes.c_char_p),
        ("shape", ctypes.c_void_p),
        ("strides", ctypes.c_void_p),
        ("suboffsets", ctypes.c_void_p),
        ("internal", ctypes.c_void_p),
    ]


def _make_addr() -> Callable[[Any], int] | None:
    try:
        get = ctypes.pythonapi.PyObject_GetBuffer
        release = ctypes.pythonapi.PyBuffer_Release
    except (AttributeError, ValueError):  # pragma: no cover - not CPython
        return None
    get.argtypes = [ctypes.py_object, ctypes.POINTER(_PyBuffer), ctypes.c_int]
    get.restype = ctypes.c_int
    release.argtypes = [ctypes.POINTER(_PyBuffer)]
    release.restype = None

    def addr(obj: Any) -> int:
        view = _PyBuffer()
        if get(obj, ctypes.byref(view), 0) != 0:  # pragma: no cover - raises instead
            raise BufferError("no buffer")
        try:
            return int(view.buf or 0)
        finally:
            release(ctypes.byref(view))

    return addr


_addr = _make_addr()


# ---------------------------------------------------------------------------------------------
# The projection


def _envelope_triggers() -> tuple[str, ...] | None:
    """Every key that makes envelopes.unwrap treat an object as an envelope; None when the
    registries are not what the fast path assumes (then it is off)."""
    ordered = ENVELOPES.ordered()
    if not ordered or ordered[0] is not ENVELOPES.get("s3_records") or ordered[0].triggers != (
        "Records",
    ):
        return None
    classifiers = CLASSIFIERS.ordered()
    if not classifiers or classifiers[0] is not _cloudtrail:
        return None
    keys: list[str] = []
    for env in ordered:
        keys.extend(k for k in env.triggers if k not in keys)
    return tuple(keys)


class CloudTrailProjection:
    """msgspec types for `{"Records": [...]}` that keep only what the CloudTrail anchors read."""

    def __init__(
        self, paths: Sequence[PathIndex], always: frozenset[int], silent: frozenset[int] = frozenset()
    ) -> None:
        """`always`: rules evaluated on every record; `silent`: rules whose matches alone change
        nothing (FastPlan.silent), so a record only they may match is not worth decoding."""
        if msgspec is None:
            raise RuntimeError("msgspec is not installed")
        triggers = _envelope_triggers()
        if triggers is None:
            raise RuntimeError("envelope or classifier registry changed: no fast path")
        self.triggers = triggers
        self.always = always
        self.silent = silent
        self._attrs: dict[type, dict[str, str]] = {}
        self._subs: dict[tuple[type, str], type] = {}
        self._n = 0
        top = [(idx.fpath, 0) for idx in paths]
        self.record_type, top_attrs = self._struct(top, top=True)
        self.vattr = top_attrs.get("eventVersion") if self._raw_version else None
        self.name_attr = top_attrs["eventName"]
        self.source_attr = top_attrs["eventSource"]
        file_type = msgspec.defstruct("THFile", [("Records", list[self.record_type])])  # type: ignore[name-defined]
        self.decoder = msgspec.json.Decoder(file_type)
        raw_file = msgspec.defstruct("THRawFile", [("Records", list[msgspec.Raw])])
        self.raw_decoder = msgspec.json.Decoder(raw_file)
        self.paths: list[tuple[Callable[[Any], list[Any]], PathIndex]] = [
            (self._resolver(idx.fpath, top_attrs), idx) for idx in paths
        ]
        self._source = operator.attrgetter(self.source_attr)
        self._select = self._compile_select(top_attrs)

    # -- types ------------------------------------------------------------------------------

    def _struct(self, items: list[tuple[F.FieldPath, int]], top: bool) -> tuple[type, dict[str, str]]:
        keys: dict[str, list[tuple[F.FieldPath, int]]] = {}
        for path, i in items:
            for key, j in path[i]:
                keys.setdefault(key, []).append((path, j))
        fields: list[Any] = []
        attrs: dict[str, str] = {}
        subs: dict[str, type] = {}

        def add(key: str, typ: Any, required: bool = False) -> None:
            attr = f"f{len(attrs)}"
            attrs[key] = attr
            if required:
                fields.append((attr, typ, msgspec.field(name=key)))
            else:
                fields.append((attr, typ, msgspec.field(default=msgspec.UNSET, name=key)))

        if top:
            for key in ("eventName", "eventSource"):  # classify: CloudTrail needs both, strings
                add(key, str, required=True)
            for key in self.triggers:  # present: an envelope, not a record -> readers
                add(key, msgspec.UnsetType)
            self._raw_version = "eventVersion" not in keys
            if self._raw_version:
                add("eventVersion", msgspec.Raw)
        for key, conts in keys.items():
            if key in attrs:
                continue
            if any(j == len(path) for path, j in conts):
                typ: Any = Any
            else:
                sub, _ = self._struct(conts, top=False)
                subs[key] = sub
                typ = sub | list[Any] | str | int | float | bool | None
            add(key, typ)
        self._n += 1
        cls = msgspec.defstruct(f"THProj{self._n}", fields, kw_only=True, gc=False)
        self._attrs[cls] = attrs
        for key, sub in subs.items():
            self._subs[(cls, key)] = sub
        return cls, attrs

    def _resolver(self, fpath: F.FieldPath, top: dict[str, str]) -> Callable[[Any], list[Any]]:
        unset = msgspec.UNSET
        if len(fpath) == 1:
            attr = top[fpath[0][0][0]]

            def simple(rec: Any) -> list[Any]:
                v = getattr(rec, attr)
                return [] if v is unset else [v]

            return simple

        def walk(rec: Any) -> list[Any]:
            out: list[Any] = []
            self._walk(rec, fpath, 0, out)
            return out

        return walk

    def _walk(self, node: Any, path: F.FieldPath, i: int, out: list[Any]) -> None:
        """fields._walk over projections: struct levels hold every key the path can take."""
        attrs = self._attrs.get(node.__class__)
        if attrs is None:
            F._walk(node, path, i, out)  # decoded dicts and lists (inside Any or list[Any])
            return
        for key, j in path[i]:
            v = getattr(node, attrs[key])
            if v is not msgspec.UNSET:
                if j == len(path):
                    out.append(v)
                else:
                    self._walk(v, path, j, out)
                return

    # -- per file -----------------------------------------------------------------------------

    def decode(self, data: bytes) -> list[Any] | None:
        try:
            return self.decoder.decode(data).Records  # type: ignore[attr-defined,no-any-return]
        except Exception:  # noqa: BLE001 - any shape or syntax problem: the readers decide
            return None

    def select(self, recs: list[Any]) -> list[tuple[int, Any]]:
        """(index, candidate rules) of the records that must be decoded; ALL: not certainly a
        plain CloudTrail record (or a value orjson reads differently), evaluate everything."""
        out: list[tuple[int, Any]] = []
        self._select(recs, out)
        sources = list(map(self._source, recs))
        if "\naws:" in "\n" + "\n".join(sources):  # S3 / SNS notifications: not CloudTrail
            notes = {i for i, src in enumerate(sources) if src.startswith("aws:")}
            if notes:
                out = sorted([(i, c) for i, c in out if i not in notes] + [(i, ALL) for i in notes], key=lambda x: x[0])
        return out

    def select_generic(self, recs: list[Any]) -> list[tuple[int, Any]]:
        """`select`, interpreted (the compiled one must agree with it; see the tests)."""
        out: list[tuple[int, Any]] = []
        always = self.always
        for i, r in enumerate(recs):
            if getattr(r, self.source_attr).startswith("aws:"):
                out.append((i, ALL))
                continue
            cand: Any = set()
            for resolve, idx in self.paths:
                hits = resolve(r)
                if hits and not idx.match(hits, cand, True):
                    cand = ALL
                    break
            if cand is ALL:
                out.append((i, ALL))
            elif cand or always:
                got = frozenset(cand) | always
                if not got <= self.silent:
                    out.append((i, got))
        return out

    # -- the compiled selector ----------------------------------------------------------------

    MEMO_MAX = 16384  # distinct values remembered per path (cleared when full: bounded memory)

    def _compile_select(self, top_attrs: dict[str, str]) -> Callable[[list[Any], list[Any]], None]:
        """Python source specialised to these paths: attribute chains instead of a walker, and
        per path a memo from a string value to the rules its atoms accept (a pure function of
        the string), so a record costs a few attribute reads and dict lookups."""
        env: dict[str, Any] = {"UNSET": msgspec.UNSET, "ALL": ALL, "str": str}
        lines = ["def select(recs, out):", "    for i, r in enumerate(recs):", "        c = None"]
        self._fresh = 0
        for k, (_, idx) in enumerate(self.paths):
            memo: dict[str, frozenset[int]] = {}
            env[f"M{k}"] = memo
            env[f"memo{k}"] = self._memo_fn(idx, memo)
            env[f"slow{k}"] = self._slow_fn(idx)
            env[f"walk{k}"] = self._walk
            env[f"P{k}"] = idx.fpath
            lines += self._emit_level(k, "r", self.record_type, idx.fpath, 0, 2, env)
        lines += [
            "        if c is not None:",
            "            c = c | ALWAYS",
            "            if not c <= SILENT:",
            "                out.append((i, c))",
            "        elif ALWAYS and not ALWAYS <= SILENT:",
            "            out.append((i, ALWAYS))",
        ]
        env["ALWAYS"] = self.always
        env["SILENT"] = self.silent
        code = "\n".join(lines)
        self.select_source = code
        exec(compile(code, "<trailhound fast select>", "exec"), env)  # noqa: S102 - our own source
        return env["select"]  # type: ignore[no-any-return]

    def _var(self) -> str:
        self._fresh += 1
        return f"x{self._fresh}"

    def _emit_level(
        self, k: int, node: str, cls: type, fpath: F.FieldPath, i: int, ind: int, env: dict[str, Any]
    ) -> list[str]:
        pad = "    " * ind
        attrs = self._attrs[cls]
        out: list[str] = []
        depth = 0
        for key, j in fpath[i]:  # longest key first; the first present one is final
            x = self._var()
            p = pad + "    " * depth
            out.append(f"{p}{x} = {node}.{attrs[key]}")
            out.append(f"{p}if {x} is not UNSET:")
            if j == len(fpath):
                out += self._emit_hit(k, x, ind + depth + 1)
            else:
                sub = self._subs.get((cls, key))
                q = p + "    "
                if sub is not None:
                    name = f"S{id(sub)}"
                    env[name] = sub
                    out.append(f"{q}if {x}.__class__ is {name}:")
                    out += self._emit_level(k, x, sub, fpath, j, ind + depth + 2, env)
                    out.append(f"{q}else:")
                    out += self._emit_generic(k, x, j, ind + depth + 2)
                else:
                    out += self._emit_generic(k, x, j, ind + depth + 1)
            out.append(f"{p}else:")
            depth += 1
        out.append(pad + "    " * depth + "pass")
        return out

    def _emit_hit(self, k: int, x: str, ind: int) -> list[str]:
        p = "    " * ind
        return [
            f"{p}if {x}.__class__ is str:",
            f"{p}    g = M{k}.get({x})",
            f"{p}    if g is None:",
            f"{p}        g = memo{k}({x})",
            f"{p}    if g:",
            f"{p}        c = g if c is None else c | g",
            f"{p}else:",
            f"{p}    c = slow{k}([{x}], c)",
            f"{p}    if c is ALL:",
            f"{p}        out.append((i, ALL))",
            f"{p}        continue",
        ]

    def _emit_generic(self, k: int, x: str, j: int, ind: int) -> list[str]:
        p = "    " * ind
        return [
            f"{p}h = []",
            f"{p}walk{k}({x}, P{k}, {j}, h)",
            f"{p}if h:",
            f"{p}    c = slow{k}(h, c)",
            f"{p}    if c is ALL:",
            f"{p}        out.append((i, ALL))",
            f"{p}        continue",
        ]

    def _memo_fn(self, idx: PathIndex, memo: dict[str, frozenset[int]]) -> Callable[[str], frozenset[int]]:
        cap = self.MEMO_MAX

        def compute(v: str) -> frozenset[int]:
            got: set[int] = set()
            idx.match([v], got, True)
            g = frozenset(got)
            if len(memo) >= cap:
                memo.clear()
            memo[v] = g
            return g

        return compute

    def _slow_fn(self, idx: PathIndex) -> Callable[[list[Any], Any], Any]:
        def slow(hits: list[Any], c: Any) -> Any:
            got: set[int] = set(c) if c else set()
            if not idx.match(hits, got, True):
                return ALL
            return frozenset(got) if got else None

        return slow

    def cut(self, data: bytes, recs: list[Any], wanted: list[int]) -> dict[int, bytes] | None:
        """The bytes of records `wanted`, located through their `eventVersion` (None: cannot)."""
        if self.vattr is None or _addr is None or not wanted:
            return None if wanted else {}
        base = _addr(data)
        size = len(data)
        n = len(recs)
        vattr = self.vattr
        unset = msgspec.UNSET
        out: dict[int, bytes] = {}

        def start(i: int) -> int:
            raw = getattr(recs[i], vattr)
            if raw is unset:
                return -1
            a = _addr(raw) - base
            if not 16 <= a <= size or data[a - 16 : a] != _FIRST_KEY:
                return -1
            return a - 16

        nxt, at = -1, -1  # the start of record `nxt` (found as the end of the one before)
        for i in wanted:
            s = at if i == nxt else start(i)
            if s < 0:
                return None
            if i + 1 < n:
                nxt, at = i + 1, start(i + 1)
                e = at
                if e < 0:
                    return None
                seg = data[s:e].rstrip(_WS)
                if not seg.endswith(b","):
                    return None
                out[i] = seg[:-1]
            else:  # the last record: up to the `]` that closes Records (orjson checks the rest)
                seg = data[s:].rstrip(_WS)
                if not seg.endswith(b"}"):
                    return None
                seg = seg[:-1].rstrip(_WS)
                if not seg.endswith(b"]"):
                    return None
                out[i] = seg[:-1]
        return out

    def cut_all(self, data: bytes, recs: list[Any], wanted: list[int]) -> dict[int, bytes] | None:
        """The bytes of records `wanted` as a second msgspec pass cuts them out (None: cannot)."""
        try:
            raws = self.raw_decoder.decode(data).Records  # type: ignore[attr-defined]
        except Exception:  # noqa: BLE001
            return None
        if len(raws) != len(recs):
            return None
        return {i: bytes(raws[i]) for i in wanted}


# ---------------------------------------------------------------------------------------------
# One file


def projection(plan: Any) -> CloudTrailProjection | None:
    """The plan's CloudTrail projection, built once; None when the S3 shortcut is off (no
    msgspec, a strict plan, or registries that are not what it assumes)."""
    if not plan.use_projection or msgspec is None:
        return None
    proj = plan._projection
    if proj is None:
        _, pf = plan.gate(CLOUDTRAIL)
        try:
            proj = CloudTrailProjection(pf.paths, pf.always, plan.silent)
        except RuntimeError:
            proj = False
        plan._projection = proj
    return proj or None


def s3_file(plan: Any, profile: Any, data: bytes, name: str
            ) -> tuple[FileResult, Iterator[WireMatch]] | None:
    """What `data` (a whole plain document) contributes - its FileResult, whose counts are
    complete once its matches (evaluated as they are asked for) are exhausted -, or None: the
    readers must read it (decided before any match is handed on)."""
    proj = projection(plan)
    if proj is None or type(profile).admits is not Profile.admits:
        return None
    head = data[:3]
    if head == UTF8_BOM or head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return None
    if not data.isascii():
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return None  # the readers repair it and report it
    recs = proj.decode(data)
    if recs is None:
        return None
    selected = proj.select(recs)
    if plan.rows_only and 2 * len(selected) > len(recs) and _mostly_final(plan, selected):
        found = _dense(plan, profile, data, name, recs, selected)
        if found is not None:
            return found
    wanted = [i for i, _ in selected]
    # Two ways to cut the records out; the cheaper first, by the share of records wanted: a
    # second msgspec pass over every record (~1.5 µs a record) or two buffer addresses per
    # wanted one (~3 µs). Both give the records' values (the bytes may differ in whitespace
    # around a record, which only orjson reads).
    dense = 2 * len(wanted) > len(recs)
    ways = (proj.cut_all, proj.cut) if dense else (proj.cut, proj.cut_all)
    segs = None
    for way in ways:
        segs = way(data, recs, wanted)
        if segs is not None:
            break
    else:
        return None
    checked = False
    parsed: list[tuple[int, Any, Any]] = []
    for i, cand in selected:
        seg = segs[i]
        try:
            value = orjson.loads(seg)
        except orjson.JSONDecodeError:
            return None
        if not checked and _LONG_RUN in seg.translate(_DIGITS) and _holds_float(value):
            # orjson reads integers beyond 64 bits as floats, the readers' fallback parser as
            # ints: only equal when orjson accepts the whole document, as it nearly always does.
            # (A long run of digits inside a string - a hex id - makes no float: no need to
            # decode the whole document again.)
            try:
                orjson.loads(data)
            except orjson.JSONDecodeError:
                return None
            checked = True
        parsed.append((i, value, cand))
    return _result(plan, profile, name, len(recs), parsed, segs)


def _result(plan: Any, profile: Any, name: str, n: int, parsed: list[tuple[int, Any, Any]],
            segs: dict[int, bytes] | None, shallow: bool = False
            ) -> tuple[FileResult, Iterator[WireMatch]]:
    """What a document of `n` records contributes once the `parsed` ones (index, value,
    candidates) are decoded: the others are certified CloudTrail records no rule can match,
    counted here; the decoded ones are counted as the reader loop reads them."""
    res = FileResult(mode="s3", decoded=len(parsed))
    res.stats.records = res.stats.events = n - len(parsed)
    return res, _s3_matches(plan, profile, name, parsed, segs, res.stats, shallow)


def _mostly_final(plan: Any, selected: list[tuple[int, Any]]) -> bool:
    """Whether at most an eighth of the records selected may match a rule whose matches the
    main process may still change (FastPlan.watched). Why: _dense cuts no record's bytes, so
    such a match crosses as its whole event (FastPlan.to_wire's "e" form: the decoded record
    pickled, heavier for the main process than the record's bytes), where a final one crosses as
    its row alone."""
    watched = plan.watched
    if not watched:
        return True
    risky = sum(1 for _, c in selected if c is ALL or not watched.isdisjoint(c))
    return 8 * risky <= len(selected)


def _dense(plan: Any, profile: Any, data: bytes, name: str, recs: list[Any],
           selected: list[tuple[int, Any]]) -> tuple[FileResult, Iterator[WireMatch]] | None:
    """s3_file for a document where most records must be decoded, in a scan that wants rows
    only: the whole document decoded by orjson at once, as the readers decode it (so its values
    are theirs by construction: no check for integers past 64 bits), instead of cutting each
    record out and decoding it alone. Why: a record costs ~2.5 µs this way, against ~8 for the
    cut, the digit-run check and its own decode. The records carry no bytes (a match that is
    not final in the worker crosses as its event: FastPlan.to_wire). None: orjson rejects the
    document (the readers decide) or it is not the shape msgspec saw."""
    shallow = True  # (certified with the decoding: no record nests past MAX_NESTING)
    try:
        doc = loads_within(data, MAX_NESTING + 2)  # ({"Records": [record]}: two levels above)
    except orjson.JSONDecodeError:
        try:
            doc = orjson.loads(data)
        except orjson.JSONDecodeError:
            return None
        shallow = False  # (some record does: the reader loop finds which)
    values = doc.get("Records") if doc.__class__ is dict else None
    if values.__class__ is not list or len(values) != len(recs):
        return None
    return _result(plan, profile, name, len(recs), [(i, values[i], cand) for i, cand in selected], None,
                   shallow)


def _holds_float(value: Any) -> bool:
    """Whether a decoded JSON value holds a float anywhere (orjson's reading of an integer
    beyond 64 bits is one)."""
    stack = [value]
    while stack:
        v = stack.pop()
        cls = v.__class__
        if cls is dict:
            stack.extend(v.values())
        elif cls is list:
            stack.extend(v)
        elif cls is float:
            return True
    return False


def _s3_matches(plan: Any, profile: Any, name: str, parsed: list[tuple[int, Any, Any]],
                segs: dict[int, bytes] | None, stats: Any, shallow: bool) -> Iterator[WireMatch]:
    at = At()
    return evaluate_items(plan, profile, _s3_items(name, parsed, segs, at, shallow), stats, at)


def _s3_items(name: str, parsed: list[tuple[int, Any, Any]], segs: dict[int, bytes] | None,
              at: At, shallow: bool) -> Iterator[Item]:
    """The items of the records decoded, `at` set for each record's (see file_scan.At; `segs`
    None: the records' bytes were not cut out, see _dense; `shallow`: every record is known to
    nest within MAX_NESTING)."""
    for i, value, cand in parsed:
        seg = at.seg = None if segs is None else segs[i]
        at.value = value
        # (a record cannot nest deeper than it has brackets: a count of them, in C, spares
        # the reader loop its check for nearly every record cut out)
        at.shallow = shallow or (seg is not None and seg.count(b"{") + seg.count(b"[") <= MAX_NESTING)
        if cand is ALL:  # not certainly a plain CloudTrail record: the readers' unwrap decides
            at.candidates = None
            yield from unwrap(value, Ctx(name, None, None, f"/Records/{i}", i, "s3_records", depth=2))
        else:  # what unwrap yields for it (no envelope key; classify: cloudtrail)
            at.candidates = cand
            yield RawRecord(value, Location(name, None, None, i, f"/Records/{i}"), "cloudtrail", "s3_records", {})
