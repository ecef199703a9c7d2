"""The Spark DataFrame API, on the one pipeline.

    from trailhound.spark import detect_dataframe, write_findings
    res = detect_dataframe(spark, ["s3a://trail-bucket/AWSLogs/"], profile="corrected")
    write_findings(res.findings, "s3a://out/findings", "parquet")
    print(res.summary.files, res.summary.errors)                    # a pipeline.ScanStats

`detect_dataframe` is `pipeline.scan` with the Spark engine (engine.py) on your SparkSession:
the executors scan the files, the driver scores, correlates and builds the rows exactly as the
CLI does (report/columns.row), and the findings become a DataFrame: one row per finding, in
the CLI's order, with the CLI's columns (report/columns.COLUMNS; `signals` and `correlations`
as arrays of structs), `jsonl` (the line `detect --format jsonl` prints for it) and, with
`keep_raw`, `raw` (the event's record as JSON text). The findings reach the DataFrame through
spool files in the driver's TMPDIR (about their JSONL size, removed by `unpersist()` or when the
DataFrame is garbage), not through the driver's memory.

Inputs: local paths (walked as the CLI walks them) or URIs Spark can read, or a DataFrame:
* with a binary `content` column (and optionally `path`): one row per file, e.g.
  `spark.read.format("binaryFile").load(...)`;
* with a string `value` column (and optionally `path`): one row per JSON text (a JSON line, a
  whole document), e.g. `spark.read.text(...)` or a table of raw records.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from trailhound.errors import UsageError
from trailhound.pipeline import ScanStats, scan_stream
from trailhound.profiles import Profile, get_profile
from trailhound.report.columns import COLUMNS, row
from trailhound.rules.model import RuleSet
from trailhound.scoring import SIGNALS
from trailhound.spark import spool
from trailhound.spark.session import require_pyspark
from trailhound.tuning.window import TimeWindow

__all__ = ["SparkResult", "detect_dataframe", "write_findings"]

FORMATS = ("jsonl", "parquet", "json", "orc", "table")

_SIGNAL = (
    "struct<rule_id:string,title:string,level:string,weight:double,signal:string,"
    "context:boolean,author:string,tags:array<string>,guide:string>"
)
# events_omitted: how many ids past correlate.LISTED a hit left out (null: none); a struct
# without it dropped the key silently and the first ids read as the whole hit
_CORRELATION = "struct<rule_id:string,title:string,events:array<string>,events_omitted:bigint>"
_TYPES = {
    **{s: "int" for s in SIGNALS},
    "suspicion_score": "double",
    "records": "bigint",
    "signals": f"array<{_SIGNAL}>",
    "correlations": f"array<{_CORRELATION}>",
}
SCHEMA = ", ".join(
    [f"`{c}` {_TYPES.get(c, 'string')}" for c in COLUMNS] + ["`jsonl` string", "`raw` string"]
)


@dataclass
class SparkResult:
    """findings: a DataFrame (see the module docstring), in the CLI's order. summary: the
    CLI's ScanStats."""

    findings: Any
    summary: ScanStats
    ruleset: RuleSet | None
    profile: Profile
    _cleanup: Callable[[], Any] | None = None  # removes the findings' spool files

    def rows(self) -> Iterator[dict[str, Any]]:
        """The findings as report/columns.row() dicts, in order (read back from the
        DataFrame's `jsonl` column)."""
        for r in self.findings.select("jsonl").toLocalIterator():
            yield orjson.loads(r[0])

    def write(self, path: str, format: str = "jsonl", *, mode: str = "errorifexists") -> None:
        write_findings(self.findings, path, format, mode=mode)

    def unpersist(self) -> None:
        """Drop the cached findings and their spool files."""
        self.findings.unpersist()
        if self._cleanup is not None:
            self._cleanup()


def detect_dataframe(
    spark: Any,
    paths_or_df: Any,
    ruleset: RuleSet | None = None,
    profile: Profile | str = "corrected",
    *,
    min_score: float | None = None,
    keep_raw: bool = True,
    window: TimeWindow | None = None,
    strict: bool = False,
    baseline: str | os.PathLike[str] | None = None,
) -> SparkResult:
    """Scan with the Spark engine on `spark` and return the findings as a DataFrame (see the
    module docstring). `window`: only events inside it can be findings; `strict`: as the CLI's
    `--strict` (every record decoded: every input issue the reference reports); `baseline`: as
    `--baseline` (first-seen pairs already known, rules/first_seen.py)."""
    require_pyspark()
    prof = get_profile(profile) if isinstance(profile, str) else profile
    if isinstance(paths_or_df, (str, os.PathLike)):
        paths_or_df = [paths_or_df]
    options: dict[str, Any] = {"session": spark}
    if isinstance(paths_or_df, Sequence):
        paths = [os.fspath(p) for p in paths_or_df]
    else:
        paths, options["frame"] = [], paths_or_df
    if "-" in paths:
        raise UsageError("detect_dataframe reads files, URIs or a DataFrame, not stdin")
    res = scan_stream(
        paths, prof, ruleset=ruleset, engine="spark", strict=strict, engine_options=options,
        min_score=min_score, window=window,
        baseline=None if baseline is None else Path(baseline),
    )
    # The findings stream out of scoring (spilled to disk past a budget) into spool files the
    # executors read back: the driver never holds them all (spool.py says why not
    # createDataFrame on a list).
    parts = spool.spool_lines(_lines(res.findings, prof, keep_raw), prefix="trailhound-findings-")
    sc = spark.sparkContext
    if parts:
        refs = [spool.ship(sc, p) for p in parts]
        df = spark.createDataFrame(sc.parallelize(refs, len(refs)).flatMap(_read_part), SCHEMA)
    else:
        df = spark.createDataFrame([], SCHEMA)
    if not keep_raw:
        df = df.drop("raw")
    df = df.cache()
    # The parts stay until the DataFrame is gone (Spark reads them again if a cached block is
    # lost) or SparkResult.unpersist().
    cleanup = weakref.finalize(df, _remove, parts)
    return SparkResult(df, res.stats, ruleset, prof, cleanup)


def _lines(findings: Iterable[Any], prof: Profile, keep_raw: bool) -> Iterator[bytes]:
    """One JSON line per finding: SCHEMA's values in order."""
    for f in findings:
        r = row(f, prof)
        line = orjson.dumps(r).decode()
        raw = orjson.dumps(f.event.raw).decode() if keep_raw else None
        yield orjson.dumps([*_typed(r), line, raw]) + b"\n"


def _read_part(ref: spool.Shipped) -> Iterator[tuple[Any, ...]]:
    """On an executor: the rows of one spooled part, in order."""
    with open(spool.local_path(ref), "rb") as fh:
        for line in fh:
            yield tuple(orjson.loads(line))


def _remove(paths: list[str]) -> None:
    for p in paths:
        spool.remove(p)


def _typed(r: dict[str, Any]) -> list[Any]:
    """A row's values for SCHEMA's columns: scores and weights as doubles (a row holds an int
    when the number is whole; the `jsonl` column keeps the row's own spelling)."""
    out = [r[c] for c in COLUMNS]
    out[COLUMNS.index("suspicion_score")] = float(r["suspicion_score"])
    out[COLUMNS.index("signals")] = [{**s, "weight": float(s["weight"])} for s in r["signals"]]
    return out


def write_findings(
    df: Any,
    path: str,
    format: str = "jsonl",
    *,
    mode: str = "errorifexists",
) -> None:
    """Write findings with the executors (never through the driver).

    jsonl: the CLI's `--format jsonl` lines exactly (a `part-*` file per partition, in order).
    parquet / json / orc: Spark's writers, the DataFrame's columns. table: `saveAsTable(path)`
    (a catalog table name; Delta on Databricks).
    """
    fmt = format.lower()
    if fmt not in FORMATS:
        raise UsageError(f"unknown findings format {format!r}; use one of {', '.join(FORMATS)}")
    if fmt == "table":
        df.write.mode(mode).saveAsTable(path)
    elif fmt == "jsonl":
        df.select("jsonl").write.mode(mode).text(path)
    else:
        df.write.mode(mode).format(fmt).save(path)
