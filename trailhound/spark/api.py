"""Public entry points of the Spark engine.

    from trailhound.spark import detect_dataframe, write_findings
    res = detect_dataframe(spark, ["s3a://trail-bucket/AWSLogs/"], profile="corrected")
    write_findings(res.findings, "s3a://out/findings", "parquet")   # written by the executors
    print(res.summary.files, res.summary.errors)                    # a scan.ScanStats

`detect_dataframe` runs read -> normalize -> detect in one pass over the inputs, eagerly
(the summary - records, issues, suppressed matches - is part of the result), checkpoints what
that pass keeps (matches, issues, per-file counters: small), then correlates and scores in
Spark over that; the returned findings DataFrame is persisted and cheap to write or query.
Call `res.unpersist()` when done with it.

Inputs: local paths (walked as the CLI walks them) or URIs Spark can read, or a DataFrame:
* with a binary `content` column (and optionally `path`): one row per file, e.g.
  `spark.read.format("binaryFile").load(...)`;
* with a string `value` column (and optionally `path`): one row per JSON text (a JSON line, a
  whole document), e.g. `spark.read.text(...)` or a table of raw records.

`run_cli` is the bridge for `trailhound detect --engine spark`.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from trailhound.engine.correlate import CorrelationStats
from trailhound.errors import UsageError
from trailhound.pipeline import SAMPLE_LIMIT, ScanStats
from trailhound.profiles import Profile, get_profile
from trailhound.report.columns import COLUMNS, SEED_COLUMNS, TRIAGE_COLUMNS, signal_obj
from trailhound.rules.loader import load_pack
from trailhound.rules.model import RuleSet
from trailhound.spark.compile import compile_ruleset
from trailhound.spark.correlate import correlation_hits, group_col, value_col
from trailhound.spark.read import (
    BASE_COLUMNS,
    EVENT_COLUMNS,
    INPUT_COLUMNS,
    KIND_EVENT,
    KIND_FILE,
    KIND_ISSUE,
    Listing,
    ddl,
    detect_reader,
    events_reader,
    fast_normalize_verified,
    input_frame,
    issue_from_row,
    plan_listing,
)
from trailhound.spark.score import findings_frame, signals_of
from trailhound.spark.session import build_session, require_pyspark, ship_code
from trailhound.spark.tuning import count_removed, windowed
from trailhound.tuning.window import TimeWindow

__all__ = [
    "SparkResult",
    "detect_dataframe",
    "read_events",
    "row_of",
    "run_cli",
    "write_findings",
]

FORMATS = ("jsonl", "parquet", "json", "orc", "table")


@dataclass
class SparkResult:
    """findings: a DataFrame of report/columns.COLUMNS (+ `raw` when asked), sorted as the
    CLI sorts them. summary: the CLI's ScanStats, filled from Spark aggregates."""

    findings: Any
    summary: ScanStats
    ruleset: RuleSet
    profile: Profile
    _persisted: tuple[Any, ...] = ()
    timings: dict[str, float] = field(default_factory=dict)  # step -> seconds (driver clock)

    def rows(self) -> Iterator[dict[str, Any]]:
        """The findings as report/columns.row() dicts, in order (streamed to the driver:
        for printing; write large results with `write_findings`)."""
        sigs = {s.id: signal_obj(s) for s in signals_of(self.ruleset)}
        for r in self.findings.toLocalIterator():
            yield row_of(r, sigs)

    def write(self, path: str, format: str = "jsonl", *, mode: str = "errorifexists") -> None:
        """write_findings with this result's rule set (see there)."""
        write_findings(
            self.findings, path, format, mode=mode, ruleset=self.ruleset, profile=self.profile
        )

    def unpersist(self) -> None:
        for df in self._persisted:
            df.unpersist()


@contextmanager
def _conf(spark: Any, values: Mapping[str, str]) -> Iterator[None]:
    old = {k: spark.conf.get(k, None) for k in values}
    for k, v in values.items():
        spark.conf.set(k, v)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                spark.conf.unset(k)
            else:
                spark.conf.set(k, v)


def _checkpoint(df: Any) -> Any:
    """Materialize `df` on the executors and cut its lineage: a reliable checkpoint when the
    SparkContext has a checkpoint directory, else a local one (executor storage)."""
    if df.sparkSession.sparkContext.getCheckpointDir():
        return df.checkpoint(eager=True)
    return df.localCheckpoint(eager=True)


def _resolve(profile: Profile | str, ruleset: RuleSet | None) -> tuple[Profile, RuleSet]:
    p = get_profile(profile) if isinstance(profile, str) else profile
    return p, ruleset if ruleset is not None else load_pack(p.pack)


def _frame_input(spark: Any, df: Any) -> tuple[Any, int]:
    """A user DataFrame -> input rows (file_idx, display, explicit, content, local): one
    "file" per row, numbered in the DataFrame's own order (partition, then row)."""
    from pyspark.sql import functions as S

    cols = set(df.columns)
    if "content" in cols:
        content = S.col("content").cast("binary")
    elif "value" in cols:
        content = S.encode(S.col("value"), "UTF-8")
    else:
        raise UsageError(
            "a DataFrame input needs a binary `content` column (one row per file, as "
            "spark.read.format('binaryFile') gives) or a string `value` column (one JSON text "
            "per row, as spark.read.text gives)"
        )
    display = S.col("path").cast("string") if "path" in cols else S.lit(None).cast("string")
    picked = df.select(
        S.coalesce(display, S.lit("<dataframe>")).alias("display"), content.alias("content")
    )
    # Row numbers: partition sizes first (a pruned pass), then offsets per partition.
    sizes = dict(
        df.select(S.lit(1).alias("_"))
        .rdd.mapPartitionsWithIndex(lambda i, it: [(i, sum(1 for _ in it))])
        .collect()
    )
    offsets: dict[int, int] = {}
    total = 0
    for i in sorted(sizes):
        offsets[i] = total
        total += sizes[i]

    def number(i: int, rows: Any) -> Any:
        base = offsets.get(i, 0)
        for n, (display, content) in enumerate(rows):
            yield (base + n, display, True, content, None)

    rows = spark.createDataFrame(picked.rdd.mapPartitionsWithIndex(number), INPUT_COLUMNS)
    return rows, total


def _inputs(spark: Any, paths_or_df: Any) -> tuple[Any, int, Listing]:
    if isinstance(paths_or_df, (str, os.PathLike)):
        paths_or_df = [paths_or_df]
    if isinstance(paths_or_df, Sequence):
        listing = plan_listing([os.fspath(p) for p in paths_or_df])
        rows, n = input_frame(spark, listing)
        return rows, n, listing
    rows, n = _frame_input(spark, paths_or_df)
    return rows, n, Listing()


def read_events(spark: Any, paths_or_df: Any, profile: Profile | str = "corrected") -> Any:
    """Normalized events (read.EVENT_COLUMNS: OCSF API Activity fields, `raw` JSON text, origin)
    as a lazy DataFrame; bad input is skipped here (detect_dataframe counts it)."""
    require_pyspark()
    ship_code(spark)
    p = get_profile(profile) if isinstance(profile, str) else profile
    rows, _, _ = _inputs(spark, paths_or_df)
    return spark.createDataFrame(
        rows.rdd.mapPartitions(events_reader(p, fast_normalize_verified())),
        ddl(EVENT_COLUMNS),
        verifySchema=False,
    )


def detect_dataframe(
    spark: Any,
    paths_or_df: Any,
    ruleset: RuleSet | None = None,
    profile: Profile | str = "corrected",
    *,
    min_score: float | None = None,
    keep_raw: bool = True,
    window: TimeWindow | None = None,
) -> SparkResult:
    """Read, normalize, detect, correlate and score in Spark. See the module docstring.
    `window`: only events inside it can be findings or take part in correlations."""
    require_pyspark()
    from pyspark import StorageLevel
    from pyspark.sql import functions as S

    clock = [time.perf_counter()]
    timings: dict[str, float] = {}

    def _tick() -> float:
        now = time.perf_counter()
        took, clock[0] = now - clock[0], now
        return round(took, 3)

    ship_code(spark)
    prof, rs = _resolve(profile, ruleset)
    compiled = compile_ruleset(rs)
    timings["compile"] = _tick()
    rows, n_files, listing = _inputs(spark, paths_or_df)
    plan = compiled.plan
    schema = ddl(BASE_COLUMNS + plan.columns())
    raw = spark.createDataFrame(
        rows.rdd.mapPartitions(detect_reader(plan, prof, keep_raw, fast_normalize_verified())),
        schema,
        verifySchema=False,
    )
    is_event = S.col("kind") == S.lit(KIND_EVENT)
    mc = compiled.match_columns()
    df = raw.select(
        "*",
        S.when(is_event, mc["matched"]).alias("matched"),
        S.when(is_event, mc["suppressed"]).alias("suppressed"),
    )
    index = {r.id: i for i, r in enumerate(rs.rules)}
    corr_cols = []
    for ci, corr in enumerate(rs.correlations):
        for ri, rule in enumerate(corr.rules):
            hit = S.array_contains("matched", index[rule.id])
            entries = [compiled.texts_of(paths) for paths in corr.group_paths[ri]]
            if entries:
                complete = entries[0].isNotNull()
                for e in entries[1:]:
                    complete = complete & e.isNotNull()
                group = S.when(hit & complete, S.array(*entries))
            else:
                group = S.when(hit, S.array().cast("array<array<string>>"))
            corr_cols.append(group.alias(group_col(ci, ri)))
            if corr.value_paths is not None:
                paths = corr.value_paths[ri]
                value = (
                    compiled.texts_of(paths)
                    if corr.type == "value_count"
                    else compiled.number_of(paths)
                )
                corr_cols.append(S.when(hit, value).alias(value_col(ci, ri)))
    base_names = [n for n, _ in BASE_COLUMNS]
    kept = df.filter(~is_event | (S.size("matched") > 0) | (S.size("suppressed") > 0)).select(
        *base_names, "matched", "suppressed", *corr_cols
    )
    with _conf(spark, {"spark.sql.codegen.wholeStage": "false"}):
        # The rule expressions of a large pack make one generated method exceed the JVM's
        # 64 KB limit; per-expression code generation (split into methods) handles any size.
        # The one pass over the input (read, normalize, match) ends here: the matches, issues
        # and counters are checkpointed (kept by the executors, lineage cut, so the plans of
        # the steps below stay small whatever the size of the rule set).
        kept = _checkpoint(kept)
    for df in listing.cached:
        df.unpersist()
    persisted: list[Any] = []
    timings["read_match"] = _tick()

    stats = ScanStats()
    stats.files = n_files
    for issue in listing.issues:
        stats.add_issue(issue)
    meta = kept.filter(~is_event)
    for r in (
        meta.groupBy("kind", "i_kind", "i_severity")
        .agg(
            S.count(S.lit(1)).alias("n"),
            S.sum("n_records").alias("records"),
            S.sum("n_events").alias("events"),
            S.sum("n_not_admitted").alias("not_admitted"),
        )
        .collect()
    ):
        if r["kind"] == KIND_FILE:
            stats.records += int(r["records"] or 0)
            stats.events += int(r["events"] or 0)
            stats.not_admitted += int(r["not_admitted"] or 0)
        else:
            target = stats.errors if r["i_severity"] == "error" else stats.skipped
            target[r["i_kind"]] += int(r["n"])
    if stats.skipped:  # the first files of each kind of skip, in input order, as locally
        skips = meta.filter((S.col("kind") == KIND_ISSUE) & (S.col("i_severity") != "error"))
        firsts = skips.groupBy("i_kind", "i_path").agg(S.min("order").alias("first"))
        for r in sorted(firsts.collect(), key=lambda r: r["first"]):
            stats.name_skipped(r["i_kind"], r["i_path"])
    room = SAMPLE_LIMIT - len(stats.samples)
    if room > 0 and stats.error_count > len(stats.samples):
        errors = meta.filter((S.col("kind") == KIND_ISSUE) & (S.col("i_severity") == "error"))
        for r in errors.orderBy("order").limit(room).collect():
            stats.samples.append(issue_from_row(r))
    timings["summary"] = _tick()
    matches = windowed(kept.filter(is_event), window, rs, stats)
    if compiled.pairs:
        titles = [rs.filters[f].title for _, f in compiled.pairs]
        for r in matches.select(S.explode("suppressed").alias("p")).groupBy("p").count().collect():
            stats.suppressed[titles[r["p"]]] += int(r["count"])
    count_removed(matches, compiled, min_score, stats)
    timings["suppressed"] = _tick()
    hits, counts = correlation_hits(spark, matches, rs, prof.dedupe)
    if hits is not None:
        persisted.append(hits.cached)
    timings["correlate"] = _tick()
    stats.correlation = CorrelationStats(
        untimed=Counter({k: v for k, v in counts.untimed.items() if v}),
        ungrouped=Counter({k: v for k, v in counts.ungrouped.items() if v}),
        hits=Counter(counts.hits),
    )
    findings = findings_frame(
        matches, hits, rs, dedupe=prof.dedupe, min_score=min_score, keep_raw=keep_raw
    )
    findings = findings.persist(StorageLevel.MEMORY_AND_DISK)
    persisted.append(findings)
    stats.findings = findings.count()
    timings["score"] = _tick()
    return SparkResult(findings, stats, rs, prof, tuple(persisted), timings)


# ---------------------------------------------------------------------------------------------
# Rows and writing


def _number(x: Any) -> Any:
    if isinstance(x, float) and x.is_integer():
        return int(x)
    return x


def _signal(s: Any, signals: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    known = signals.get(s["rule_id"])
    if known is not None:  # the rule's own attributes, typed as the CLI prints them
        return dict(known)
    d = s.asDict()
    d["weight"] = _number(d["weight"])
    d["tags"] = list(d["tags"])
    return d


def row_of(r: Any, signals: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    """A Spark findings Row -> the dict report/columns.row() builds for the same finding."""
    out: dict[str, Any] = {}
    for c in SEED_COLUMNS:
        out[c] = r[c]
    out["suspicion_score"] = _number(r["suspicion_score"])
    out["eventID"] = r["eventID"]
    out["provider"] = r["provider"]
    out["signals"] = [_signal(s, signals) for s in r["signals"]]
    out["outcome"] = r["outcome"]
    out["source"] = r["source"]
    out["origin"] = r["origin"]
    out["records"] = int(r["records"])
    out["correlations"] = [
        {"rule_id": c["rule_id"], "title": c["title"], "events": list(c["events"])}
        for c in r["correlations"]
    ]
    for c in TRIAGE_COLUMNS:
        out[c] = r[c]
    return out


def write_findings(
    df: Any,
    path: str,
    format: str = "jsonl",
    *,
    mode: str = "errorifexists",
    ruleset: RuleSet | None = None,
    profile: Profile | str = "corrected",
) -> None:
    """Write findings with the executors (never through the driver).

    jsonl: the CLI's `--format jsonl` lines exactly (a `part-*` file per partition, in order);
    needs the RuleSet the findings came from (default: the profile's pack) to spell each
    signal as the CLI does. parquet / json / orc: Spark's writers, columns as in the
    DataFrame. table: `saveAsTable(path)` (a catalog table name; Delta on Databricks).
    """
    fmt = format.lower()
    if fmt not in FORMATS:
        raise UsageError(f"unknown findings format {format!r}; use one of {', '.join(FORMATS)}")
    if fmt == "table":
        df.write.mode(mode).saveAsTable(path)
        return
    if fmt != "jsonl":
        df.write.mode(mode).format(fmt).save(path)
        return
    _, rs = _resolve(profile, ruleset)
    sigs = {s.id: signal_obj(s) for s in signals_of(rs)}

    def lines(rows: Any) -> Iterator[tuple[str]]:
        import orjson

        for r in rows:
            yield (orjson.dumps(row_of(r, sigs)).decode(),)

    spark = df.sparkSession
    out = spark.createDataFrame(df.select(*COLUMNS).rdd.mapPartitions(lines), "value string")
    out.write.mode(mode).text(path)


def run_cli(
    paths: Sequence[str],
    profile: Profile | str,
    ruleset: RuleSet | None,
    min_score: float | None,
    master: str = "local[*]",
    conf: Sequence[str] | Mapping[str, str] | None = None,
    window: TimeWindow | None = None,
) -> tuple[list[dict[str, Any]], ScanStats]:
    """`trailhound detect --engine spark PATH... [--spark-master M] [--spark-conf k=v ...]`:
    the finding rows (report/columns.row dicts, sorted) and the summary, like `scan` +
    `row` give for the other engines. Raises UsageError when PySpark / Java are missing."""
    spark = build_session(master, conf)
    res = detect_dataframe(
        spark, list(paths), ruleset, profile, min_score=min_score, keep_raw=False, window=window
    )
    try:
        rows = list(res.rows())
    finally:
        res.unpersist()
    return rows, res.summary
