"""The tuning gate of the Spark engine, over the match rows of api.detect_dataframe: the same
window semantics (tuning/window.py) and the same "findings removed" attribution
(tuning/removed.py, called as is on the executors) as the local engines' tuning/stream.py."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from trailhound.pipeline import ScanStats
from trailhound.rules.model import RuleSet
from trailhound.spark.compile import CompiledRules
from trailhound.tuning.allowlist import is_allowlist_filter
from trailhound.tuning.removed import detects, removed_by
from trailhound.tuning.window import OUTSIDE, UNTIMED, TimeWindow

__all__ = ["count_removed", "windowed"]


@dataclass(frozen=True)
class _Scored:
    """What removed_by reads of a rule, small enough to ship to the executors."""

    id: str
    weight: float
    context: bool
    generate: bool


def _flagged(rs: RuleSet) -> Any:
    from pyspark.sql import functions as S

    detect_idx = [i for i, r in enumerate(rs.rules) if detects(r)]
    if not detect_idx:
        return S.lit(False)
    return S.exists("matched", lambda x: x.isin(detect_idx))


def windowed(matches: Any, window: TimeWindow | None, rs: RuleSet, stats: ScanStats) -> Any:
    """The match rows inside `window`; the flagged rows left out are counted by reason."""
    from pyspark.sql import functions as S

    if window is None:
        return matches
    t = S.col("time_ns")
    inside = t.isNotNull()
    if window.since_ns is not None:
        inside = inside & (t >= S.lit(window.since_ns))
    if window.until_ns is not None:
        inside = inside & (t < S.lit(window.until_ns))
    why = S.when(t.isNull(), S.lit(UNTIMED)).otherwise(S.lit(OUTSIDE))
    left_out = matches.filter(~inside & _flagged(rs)).groupBy(why.alias("why")).count()
    for r in left_out.collect():
        stats.window[r["why"]] += int(r["count"])
    return matches.filter(inside)


def count_removed(
    matches: Any, compiled: CompiledRules, min_score: float | None, stats: ScanStats
) -> None:
    """stats.removed: per allowlist entry, the distinct findings it removed (rows with the same
    collapse key `ckey` are one finding, as dedupe makes them)."""
    from pyspark.sql import functions as S

    rs = compiled.ruleset
    allow = [fi for fi, f in enumerate(rs.filters) if is_allowlist_filter(f)]
    for fi in allow:
        stats.removed[rs.filters[fi].title] += 0
    if not allow or not compiled.pairs:
        return
    rules = [_Scored(r.id, r.weight, r.context, r.generate) for r in rs.rules]
    pairs = list(compiled.pairs)
    wanted = frozenset(allow)

    def culprits(matched: list[int] | None, suppressed: list[int] | None) -> list[int]:
        kept = [rules[i] for i in matched or ()]
        supp = [(rules[pairs[p][0]], pairs[p][1]) for p in suppressed or ()]
        return [fi for fi in removed_by(kept, supp, min_score) if fi in wanted]

    # a plain Python UDF (no Arrow): few rows, the attribution must be removed_by itself
    udf = S.udf(lambda m, s: culprits(m, s), "array<int>", useArrow=False)
    key = S.coalesce(S.col("ckey"), S.concat(S.lit("#"), S.col("order").cast("string")))
    counts = (
        matches.filter(S.size("suppressed") > 0)
        .select(S.explode(udf("matched", "suppressed")).alias("f"), key.alias("k"))
        .groupBy("f")
        .agg(S.countDistinct("k").alias("n"))
        .collect()
    )
    for r in counts:
        stats.removed[rs.filters[r["f"]].title] += int(r["n"])
