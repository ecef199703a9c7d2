"""Reading at scale: Spark reads the files, executors run trailhound's readers and normalizers.

Files. Local paths are listed on the driver by `sources.discover` (the CLI's own walk: order,
hidden files, a file named twice read once, `not_found` issues); URIs (`s3a://`, `abfss://`,
`gs://`, `hdfs://`, `file:/...`) are listed by Spark itself (`binaryFile` with recursive lookup,
Spark's hidden-file rule) and ordered like `discover` orders a folder (by path components).
Spark reads every file's bytes (`binaryFile`); a local file Spark will not read (names
starting with `_`, which Spark treats as hidden; a file it failed to read) is read by the
executor with trailhound's own reader, so every file the CLI reads is read here too, and an
unreadable one becomes the same `unreadable` issue.

Records. Each executor runs `sources.read_bytes` + `normalize.normalize` on the bytes of each
file, so envelopes, record positions and bad-input issues (truncated gzip, bad JSON, wrong
types, ...) are exactly the CLI's; nothing but small counters and the first issues ever go to
the driver. Per record it emits one row: the normalized fields the findings need, the raw
record (JSON text, when asked), and the match columns of compile.ExtractPlan. Issues and
per-file counters are rows of the same DataFrame (`kind`), so the job summary is aggregated in
Spark from the same single pass.

Order: every row carries `order` = file number << 32 | position in the file's item stream, so
sorting by it gives the CLI's input order (its last tie-breaker for findings).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from trailhound.engine import fields as F
from trailhound.errors import UsageError
from trailhound.model import Event, Issue, Location
from trailhound.normalize.times import output_time
from trailhound.profiles import Profile
from trailhound.report.columns import TRIAGE_COLUMNS, triage_columns
from trailhound.spark.compile import MAX_EXACT_INT, ExtractPlan

KIND_EVENT, KIND_ISSUE, KIND_FILE = 0, 1, 2
ORDER_SHIFT = 32

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")

# Columns of a finding row that come from the event (report/columns.row), computed per profile.
OUT_COLUMNS = (
    "eventName",
    "operationName",
    "userArn",
    "identityType",
    "sourceIP",
    "awsRegion",
    "errorCode",
    "errorMessage",
    "eventID",
    *TRIAGE_COLUMNS,
)

BASE_COLUMNS: list[tuple[str, str]] = [
    ("kind", "tinyint"),
    ("order", "bigint"),
    # event
    ("source", "string"),
    ("provider", "string"),
    ("time", "string"),
    ("time_ns", "bigint"),
    ("status", "string"),
    ("event_id", "string"),
    ("origin", "string"),
    ("ckey", "string"),  # scoring.collapse_key as JSON text (null: nothing to collapse with)
    *[(f"c_{c}", "string") for c in OUT_COLUMNS],
    ("raw", "string"),
    # issue
    ("i_path", "string"),
    ("i_line", "bigint"),
    ("i_offset", "bigint"),
    ("i_index", "bigint"),
    ("i_pointer", "string"),
    ("i_compressed", "boolean"),
    ("i_kind", "string"),
    ("i_message", "string"),
    ("i_severity", "string"),
    # per-file counters
    ("n_records", "bigint"),
    ("n_events", "bigint"),
    ("n_not_admitted", "bigint"),
]

# read_events(): every normalized Event field, the raw record, and where it came from.
EVENT_COLUMNS: list[tuple[str, str]] = [
    ("order", "bigint"),
    ("source", "string"),
    ("provider", "string"),
    ("time", "string"),
    ("time_ns", "bigint"),
    ("operation", "string"),
    ("service", "string"),
    ("principal", "string"),
    ("principal_type", "string"),
    ("src_ip", "string"),
    ("region", "string"),
    ("account", "string"),
    ("status", "string"),
    ("error_code", "string"),
    ("error_message", "string"),
    ("user_agent", "string"),
    ("event_id", "string"),
    ("correlation_id", "string"),
    ("resource", "string"),
    ("origin", "string"),
    ("raw", "string"),
]

INPUT_COLUMNS = "file_idx bigint, display string, explicit boolean, content binary, local string"


def ddl(columns: Sequence[tuple[str, str]]) -> str:
    return ", ".join(f"`{n}` {t}" for n, t in columns)


# ---------------------------------------------------------------------------------------------
# Listing (driver: metadata only)


@dataclass
class Listing:
    """What to read, in argument order. `local`: (argument position, file position, display,
    explicit, path) of local files as `discover` found them; `remote`: (argument position,
    URI) of roots Spark lists; `issues`: discovery issues (`not_found`, ...)."""

    local: list[tuple[int, int, str, bool, str]] = field(default_factory=list)
    remote: list[tuple[int, str]] = field(default_factory=list)
    found: list[tuple[int, Issue]] = field(default_factory=list)  # (argument position, issue)
    args: int = 0
    cached: list[Any] = field(default_factory=list)  # to unpersist once the input is read

    @property
    def issues(self) -> list[Issue]:
        return [issue for _, issue in sorted(self.found, key=lambda t: t[0])]


def is_uri(path: str) -> bool:
    return bool(_SCHEME.match(path)) and not (len(path) > 1 and path[1] == ":" and os.name == "nt")


def plan_listing(paths: Sequence[str]) -> Listing:
    from trailhound.sources.files import discover_one

    out = Listing(args=len(paths))
    seen: set[object] = set()
    n = 0
    for path in paths:
        if path == "-":
            raise UsageError(
                "the Spark engine reads files and URIs, not stdin; save the input to a file first"
            )
    for pos, path in enumerate(paths):
        if is_uri(path):
            out.remote.append((pos, path))
            continue
        specs, issues = discover_one(path, seen)
        out.found.extend((pos, issue) for issue in issues)
        for spec in specs:
            out.local.append((pos, n, spec.path, spec.explicit, spec.path))
            n += 1
    return out


def _spark_hides(path: str) -> bool:
    """Paths Spark's file sources skip or cannot name: read by the executor instead."""
    name = os.path.basename(path)
    hidden = (
        (name.startswith("_") and "=" not in name)
        or name.startswith(".")
        or name.endswith("._COPYING_")
    )
    hidden = hidden and not name.startswith(("_common_metadata", "_metadata"))
    odd = any(ord(ch) < 32 or ch in ":\\*?[]{}" for ch in path)  # not a plain Hadoop path
    return hidden or odd


def local_uri(path: str) -> str:
    return "file:" + os.path.abspath(path)


META_COLUMNS = (
    "path string, akey int, sub array<string>, display string, explicit boolean, "
    "local string, direct boolean"
)


def input_frame(spark: Any, listing: Listing) -> tuple[Any, int]:
    """One row per file: (file_idx, display, explicit, content, local), numbered in argument
    order, then in each argument's own order (discover's for local paths, path components for
    a URI Spark lists); content is null when the executor reads the local file itself (or
    reports it unreadable). Also the number of files."""
    from pyspark.sql import Window
    from pyspark.sql import functions as S

    metas = []  # path, akey, sub, display, explicit, local, direct
    contents = []  # path, akey, content
    if listing.local:
        rows = [
            (
                None if _spark_hides(path) else local_uri(path),
                pos,
                [f"{n:012d}"],
                display,
                explicit,
                path,
                _spark_hides(path),
            )
            for pos, n, display, explicit, path in listing.local
        ]
        local_meta = spark.createDataFrame(rows, META_COLUMNS)
        metas.append(local_meta)
        uris = sorted(r[0] for r in rows if r[0] is not None)
        if uris:
            bf = (
                spark.read.format("binaryFile")
                .option("ignoreCorruptFiles", "true")
                .option("ignoreMissingFiles", "true")
                .load(uris)
            )
            keys = local_meta.filter(~S.col("direct")).select("path", "akey")
            contents.append(bf.select("path", "content").join(S.broadcast(keys), "path"))
    remote = []
    for pos, uri in listing.remote:
        kind = _stat(spark, uri)
        if kind == "missing":
            issue = Issue(Location(uri), "not_found", "no such file or folder; check the URI")
            listing.found.append((pos, issue))
            continue
        bf = (
            spark.read.format("binaryFile")
            .option("recursiveFileLookup", "true")
            .option("ignoreCorruptFiles", "true")
            .option("ignoreMissingFiles", "true")
            .load(uri)
        )
        remote.append(
            bf.select(
                "path",
                S.lit(pos).alias("akey"),
                S.split("path", "/").alias("sub"),
                S.col("path").alias("display"),
                S.lit(kind == "file").alias("explicit"),
                S.lit(None).cast("string").alias("local"),
                S.lit(False).alias("direct"),
            )
        )
        contents.append(bf.select("path", S.lit(pos).alias("akey"), "content"))
    if remote:
        meta = remote[0]
        for m in remote[1:]:
            meta = meta.unionByName(m)
        # A file under two roots is read once, for the first root (as discover does).
        first = Window.partitionBy("path").orderBy("akey")
        meta = meta.withColumn("_r", S.row_number().over(first)).filter("_r = 1").drop("_r")
        metas.append(meta)
    if not metas:
        return spark.createDataFrame([], INPUT_COLUMNS), 0
    meta = metas[0]
    for m in metas[1:]:
        meta = meta.unionByName(m)
    # File numbers: the order `discover` would give (metadata only: one small window).
    meta = meta.withColumn(
        "file_idx", S.row_number().over(Window.orderBy("akey", "sub")) - S.lit(1)
    ).cache()
    listing.cached.append(meta)
    n_files = meta.count()
    parts = [
        meta.filter("direct").select(
            "file_idx",
            "display",
            "explicit",
            S.lit(None).cast("binary").alias("content"),
            "local",
        )
    ]
    keyed = meta.filter(~S.col("direct"))
    if contents:
        content = contents[0]
        for c in contents[1:]:
            content = content.unionByName(c)
        got = content.join(S.broadcast(keyed), ["path", "akey"])
        parts.append(
            got.select(
                "file_idx",
                "display",
                "explicit",
                "content",
                S.lit(None).cast("string").alias("local"),
            )
        )
        # Listed but not read by Spark (a read error, a name Spark's own listing hides): the
        # executor reads a local file itself; a remote one is reported unreadable.
        missing = keyed.join(content.select("path", "akey"), ["path", "akey"], "left_anti")
    else:
        missing = keyed
    parts.append(
        missing.select(
            "file_idx", "display", "explicit", S.lit(None).cast("binary").alias("content"), "local"
        )
    )
    df = parts[0]
    for p in parts[1:]:
        df = df.unionByName(p)
    return df, n_files


def _stat(spark: Any, uri: str) -> str:
    """ "file", "folder" (or a glob matching something) or "missing", per Hadoop's FileSystem."""
    jvm = spark._jvm
    p = jvm.org.apache.hadoop.fs.Path(uri)
    fs = p.getFileSystem(spark._jsc.hadoopConfiguration())
    found = fs.globStatus(p)
    if found is None or len(found) == 0:
        return "missing"
    if len(found) == 1 and found[0].isFile() and not any(ch in uri for ch in "*?[]{}"):
        return "file"
    return "folder"


# ---------------------------------------------------------------------------------------------
# Executors


def _issue_row(width: int, order: int, issue: Issue) -> list[Any]:
    row: list[Any] = [None] * width
    loc = issue.location
    row[0] = KIND_ISSUE
    row[1] = order
    row[_I_PATH : _I_PATH + 9] = [
        loc.path,
        loc.line,
        loc.offset,
        loc.index,
        loc.pointer,
        loc.compressed,
        issue.kind,
        issue.message,
        issue.severity,
    ]
    return row


_NAMES = [n for n, _ in BASE_COLUMNS]
_I_PATH = _NAMES.index("i_path")
_N_RECORDS = _NAMES.index("n_records")
_C_FIRST = _NAMES.index("c_eventName")
_RAW = _NAMES.index("raw")


def issue_from_row(r: Any) -> Issue:
    loc = Location(r.i_path, r.i_line, r.i_offset, r.i_index, r.i_pointer, bool(r.i_compressed))
    return Issue(loc, r.i_kind, r.i_message, r.i_severity)


def collapse_text(e: Event) -> str | None:
    from trailhound.scoring import collapse_key

    key = collapse_key(e)
    if key is None:
        return None
    import orjson

    return orjson.dumps(list(key)).decode()


def out_columns(e: Event, literal_columns: bool) -> list[str | None]:
    """report/columns.row's event columns, per profile."""
    if literal_columns:
        from trailhound.report.columns import _SEED_PATHS, literal

        vals = [literal(e.raw, path) for path in _SEED_PATHS.values()]
        vals.append(literal(e.raw, ("eventID",)) or e.event_id)
        return vals + triage_columns(e)
    aws = e.provider == "aws"
    return [
        e.operation if aws else None,
        None if aws else e.operation,
        e.principal,
        e.principal_type,
        e.src_ip,
        e.region,
        e.error_code,
        e.error_message,
        e.event_id,
        *triage_columns(e),
    ]


class Extractor:
    """ExtractPlan -> the match columns of one event (runs on executors)."""

    def __init__(self, plan: ExtractPlan) -> None:
        from trailhound.engine import reference as R

        self.plan = plan
        self.fields = []
        for fs in plan.fields:
            flags = (
                fs.present,
                fs.nulls,
                fs.lower,
                fs.lower,
                fs.cased,
                fs.cased,
                fs.numbers,
                fs.texts,
                fs.first_number,
            )
            width = sum(flags)
            if width:
                # A name without dots is one key: a dict lookup is fields.resolve's answer.
                key = fs.name if "." not in fs.name else None
                attr = F.event_attr(fs.name)  # a normalized field (fields.py section 4)
                self.fields.append((fs, F.compile_path(fs.name), width, key, [None] * width, attr))
        self.full: list[tuple[int, frozenset[str], Any]] = []
        self.text: dict[str, list[tuple[int, frozenset[str], list[Any]]]] = {}
        self.number: dict[str, list[tuple[int, frozenset[str], list[Any]]]] = {}
        self.kw_text: list[tuple[int, frozenset[str], Any]] = []
        for a in plan.atoms:
            where = f"atom {a.id}"
            if a.scope == "all":
                if a.kind == "keyword":
                    preds = [R._keyword_pred(v, where) for v in a.values]
                else:
                    preds = [R._field_pred(a.field, v, where) for v in a.values]
                self.full.append((a.id, a.sources, R._any(preds)))
            elif a.kind == "keyword":
                self.kw_text.append(
                    (a.id, a.sources, R._any([R._keyword_pred(v, where) for v in a.values]))
                )
            else:
                tests = [R._leaf_test(v, a.field, where) for v in a.values]
                target = self.text if a.scope == "text" else self.number
                target.setdefault(a.field, []).append((a.id, a.sources, tests))
        self.keywords = plan.keywords_lower or plan.keywords_cased
        self._ctx = R._Ctx

    def __call__(self, e: Event) -> list[Any]:
        src = e.source
        raw = e.raw
        out: list[Any] = []
        hits: list[int] = []
        text_of = F.text_of
        for fs, path, width, key, blank, attr in self.fields:
            if src not in fs.sources:
                out.extend(blank)
                continue
            if attr is not None:
                found = F.event_hits(e, attr)
            elif key is not None:
                found = [raw[key]] if key in raw else []
            else:
                found = F.resolve(raw, path)
            if len(found) == 1 and found[0].__class__ is str:
                # The common case: one string leaf.
                leaves = found
                t = found[0]
                texts: list[Any] = found
                asc = t.isascii()
                if fs.present:
                    out.append(True)
                if fs.nulls:
                    out.append(False)
                if fs.lower:
                    out.extend((t.lower(), None) if asc else (None, None))
                if fs.cased:
                    out.extend((t, None) if asc else (None, None))
                if fs.numbers or fs.first_number:
                    n = F.number_of(t)
                    if fs.numbers:
                        exact = n is not None and (n.__class__ is float or abs(n) <= MAX_EXACT_INT)
                        out.append([float(n)] if exact else [])  # type: ignore[arg-type]
                    if fs.texts:
                        out.append(found)
                    if fs.first_number:
                        out.append(
                            None if n is None else repr(n) if n.__class__ is float else str(n)
                        )
                elif fs.texts:
                    out.append(found)
                odd_text = not asc
            else:
                leaves = F.leaves(found)
                texts = [text_of(v) for v in leaves]
                if fs.present:
                    out.append(bool(found))
                if fs.nulls:
                    out.append(any(v is None for v in leaves))
                if fs.lower or fs.cased:
                    asc_texts = [t for t in texts if t is not None and t.isascii()]
                    if fs.lower:
                        low = [t.lower() for t in asc_texts]
                        out.extend((low[0], None) if len(low) == 1 else (None, low or None))
                    if fs.cased:
                        out.extend(
                            (asc_texts[0], None)
                            if len(asc_texts) == 1
                            else (None, asc_texts or None)
                        )
                if fs.numbers:
                    nums = []
                    for v in leaves:
                        n = F.number_of(v)
                        if n is not None and (isinstance(n, float) or abs(n) <= MAX_EXACT_INT):
                            nums.append(float(n))
                    out.append(nums)
                if fs.texts:
                    out.append([t for t in texts if t is not None])
                if fs.first_number:
                    first = None
                    for v in leaves:
                        n = F.number_of(v)
                        if n is not None:
                            first = repr(n) if isinstance(n, float) else str(n)
                            break
                    out.append(first)
                odd_text = any(t is not None and not t.isascii() for t in texts)
            if odd_text:
                residual = self.text.get(fs.name)
                if residual:
                    odd = [v for v, t in zip(leaves, texts) if t is not None and not t.isascii()]
                    for aid, srcs, tests in residual:
                        if src in srcs and any(test(v) for v in odd for test in tests):
                            hits.append(aid)
            residual = self.number.get(fs.name)
            if residual:
                big = [
                    v
                    for v in leaves
                    if (n := F.number_of(v)) is not None
                    and isinstance(n, int)
                    and abs(n) > MAX_EXACT_INT
                ]
                if big:
                    for aid, srcs, tests in residual:
                        if src in srcs and any(test(v) for v in big for test in tests):
                            hits.append(aid)
        if self.keywords:
            if src in self.plan.keyword_sources:
                strings = F.string_leaves(raw)
                ascii_ = [s for s in strings if s.isascii()]
                if self.plan.keywords_lower:
                    out.append([s.lower() for s in ascii_])
                if self.plan.keywords_cased:
                    out.append(ascii_)
                odd = [s for s in strings if not s.isascii()]
                if odd and self.kw_text:
                    ctx = self._ctx(raw, e)
                    ctx._texts = odd
                    for aid, srcs, pred in self.kw_text:
                        if src in srcs and pred(ctx):
                            hits.append(aid)
            else:
                out.extend([None] * (int(self.plan.keywords_lower) + int(self.plan.keywords_cased)))
        if self.full:
            ctx = None
            for aid, srcs, pred in self.full:
                if src in srcs:
                    if ctx is None:
                        ctx = self._ctx(raw, e)
                    if pred(ctx):
                        hits.append(aid)
        out.append(hits)
        return out


def normalizer(fast_cloudtrail: bool) -> Any:
    """normalize.normalize, or (when the driver verified it: engine/fast_normalize.enabled)
    the exact fast path for plain CloudTrail records with normalize as the fallback."""
    from trailhound.normalize import normalize

    if not fast_cloudtrail:
        return normalize
    try:
        from trailhound.engine.fast_normalize import cloudtrail_event
    except ImportError:
        return normalize

    def norm(rec: Any) -> tuple[Event, list[Issue]]:
        got = cloudtrail_event(rec, force=True)
        return got if got is not None else normalize(rec)

    return norm


def fast_normalize_verified() -> bool:
    """Driver side: is the fast CloudTrail normalizer verified against these sources?"""
    try:
        from trailhound.engine import fast_normalize
    except ImportError:
        return False
    return bool(getattr(fast_normalize, "enabled", False))


def detect_reader(
    plan: ExtractPlan, profile: Profile, keep_raw: bool, fast_cloudtrail: bool = False
) -> Any:
    """The mapPartitions function of the detection pass (rows of BASE_COLUMNS + plan columns).
    `fast_cloudtrail`: use engine/fast_normalize (the driver checked it is verified)."""

    def run(rows: Iterable[Any]) -> Iterator[tuple[Any, ...]]:
        import orjson

        from trailhound.model import RawRecord

        normalize = normalizer(fast_cloudtrail)

        extract = Extractor(plan)
        width = len(BASE_COLUMNS)
        extra = len(plan.columns())
        blank = [None] * extra
        for file_idx, display, explicit, content, local in rows:
            base = file_idx << ORDER_SHIFT
            seq = 0
            records = events = not_admitted = 0
            for item in _items(content, display, explicit, local):
                if isinstance(item, Issue):
                    yield tuple(_issue_row(width, base + seq, item) + blank)
                    seq += 1
                    continue
                assert isinstance(item, RawRecord)
                records += 1
                order = base + seq
                seq += 1
                event, issues = normalize(item)
                for issue in issues:
                    yield tuple(_issue_row(width, base + seq, issue) + blank)
                    seq += 1
                if not profile.admits(event):
                    not_admitted += 1
                    continue
                events += 1
                row: list[Any] = [None] * width
                row[0] = KIND_EVENT
                row[1:10] = [
                    order,
                    event.source,
                    event.provider,
                    output_time(event.time_ns),
                    event.time_ns,
                    event.status,
                    event.event_id,
                    str(event.location),
                    collapse_text(event) if profile.dedupe else None,
                ]
                row[_C_FIRST : _C_FIRST + len(OUT_COLUMNS)] = out_columns(
                    event, profile.literal_columns
                )
                if keep_raw:
                    row[_RAW] = orjson.dumps(event.raw).decode()
                yield tuple(row + extract(event))
            counters: list[Any] = [None] * width
            counters[0] = KIND_FILE
            counters[1] = base + seq
            counters[_N_RECORDS : _N_RECORDS + 3] = [records, events, not_admitted]
            yield tuple(counters + blank)

    return run


def events_reader(profile: Profile, fast_cloudtrail: bool = False) -> Any:
    """mapPartitions function of read_events(): EVENT_COLUMNS rows, issues dropped."""

    def run(rows: Iterable[Any]) -> Iterator[tuple[Any, ...]]:
        import orjson

        from trailhound.model import RawRecord

        normalize = normalizer(fast_cloudtrail)

        for file_idx, display, explicit, content, local in rows:
            base = file_idx << ORDER_SHIFT
            seq = 0
            for item in _items(content, display, explicit, local):
                if not isinstance(item, RawRecord):
                    seq += 1
                    continue
                order = base + seq
                event, issues = normalize(item)
                seq += 1 + len(issues)
                if not profile.admits(event):
                    continue
                yield (
                    order,
                    event.source,
                    event.provider,
                    output_time(event.time_ns),
                    event.time_ns,
                    event.operation,
                    event.service,
                    event.principal,
                    event.principal_type,
                    event.src_ip,
                    event.region,
                    event.account,
                    event.status,
                    event.error_code,
                    event.error_message,
                    event.user_agent,
                    event.event_id,
                    event.correlation_id,
                    event.resource,
                    str(event.location),
                    orjson.dumps(event.raw).decode(),
                )

    return run


def _items(content: Any, display: str, explicit: bool, local: str | None) -> Iterator[Any]:
    from trailhound.sources.files import InputSpec, read_raw
    from trailhound.sources.reader import read_bytes

    if content is None:
        if local is None:
            yield Issue(
                Location(display),
                "unreadable",
                "cannot read: Spark could not read this file",
                "error",
            )
            return
        try:
            content = read_raw(InputSpec(local, None, explicit))
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            yield Issue(Location(display), "unreadable", f"cannot read: {reason}", "error")
            return
    yield from read_bytes(bytes(content), display, explicit)
