"""Sigma correlation rules in Spark: engine/correlate.py's semantics with Spark windows.

Input: the events some rule matched (`matched`: rule indexes; filters already applied), with
each correlation's group-by values and condition values computed by compile.CompiledRules
(columns `g<c>_<i>` / `v<c>_<i>`: correlation c, its i-th referenced rule). Output: the hits
(correlation, group, start, event ids) and, per hit, every record that formed it, which
score.py adds to the findings. Everything runs in Spark (shuffles by correlation and group,
time-ordered window frames); only per-correlation counters reach the driver. All correlations
of one timespan share one plan (windows partitioned by correlation and group), so the plan
does not grow with the number of correlation rules.

How each step of engine/correlate.py maps to Spark (same names as there):

* items: one row per (event, correlation, referenced rule it matched), exploded from the
  matches; untimed events and events missing a group-by value are counted (per correlation,
  once per event) and take no part.
* copies of one operation (`unit`: the collapse key when the profile dedupes, else the
  record): per (group, unit, rule) the record with the final status (then the first) stands
  for it; for every type but the temporal ones, per (group, unit) the first listed rule.
* windows: ordered by (time, rule, input order) per group; a maximal window starts at the first
  item of each distinct time t whose RANGE frame [t, t + timespan] reaches past the previous
  time's reach (`_windows`: times[j] - times[i-1] > span). Its measure is an aggregate over
  that frame: count (event_count), distinct rules (temporal), distinct values (value_count),
  sum / mean (value_sum / value_avg).
* temporal_ordered: the forward/backward chain passes of `_ordered_ranges` become, per chain
  length L, running max/min window aggregates per rule position (`late[x][L]`, the latest
  start of a chain of length L ending at x, is the max over items y with t_y <= t_x and an
  earlier rule of late[y][L-1]); an item is on a chain when a forward and a backward half join
  within the timespan; a window holds a full chain when some item in its frame has a full
  chain starting at or after the window's first time.
* hits: satisfied windows that overlap in time merge (gaps-and-islands over (start, stop));
  members are the eligible items inside a merged range; per unit the final-status record
  represents it; events listed by (time, event id, order); every copy of a member's unit
  belongs to the hit.

value_sum / value_avg add the values as DECIMAL(38, 18) parsed from the number's shortest
text, where the reference adds binary fractions exactly: the two can only disagree when the
total of non-integer values lies within 1e-16 of the threshold.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from trailhound.rules.model import Correlation, RuleSet

__all__ = ["CorrelationCounts", "correlation_hits", "group_col", "value_col"]


@dataclass
class CorrelationCounts:
    untimed: dict[str, int]
    ungrouped: dict[str, int]
    hits: dict[str, int]


@dataclass
class Hits:
    """hits: (ci, grp, start, stop, events, orders) per hit; members: (order, ci, grp, start)
    per record and hit it belongs to."""

    hits: Any
    members: Any
    cached: Any = None  # the persisted DataFrame both derive from (unpersist when done)


def group_col(ci: int, ri: int) -> str:
    return f"g{ci}_{ri}"


def value_col(ci: int, ri: int) -> str:
    return f"v{ci}_{ri}"


def _cmp(op: str, left: Any, right: Any) -> Any:
    if op == "gt":
        return left > right
    if op == "gte":
        return left >= right
    if op == "lt":
        return left < right
    if op == "lte":
        return left <= right
    if op == "eq":
        return left == right
    return left != right


def _items(matches: Any, ruleset: RuleSet, dedupe: bool) -> Any:
    """(order, time, ci, rule, unit, rank, event_id, grp, vt, vn): one row per event,
    correlation and referenced rule it matched; grp is null when a group-by value is missing."""
    from pyspark.sql import functions as S

    index = {r.id: i for i, r in enumerate(ruleset.rules)}
    entries = []
    for ci, corr in enumerate(ruleset.correlations):
        for ri, rule in enumerate(corr.rules):
            vt = S.lit(None).cast("array<string>")
            vn = S.lit(None).cast("decimal(38,18)")
            if corr.type == "value_count":
                vt = S.col(value_col(ci, ri))
            elif corr.type in ("value_sum", "value_avg"):
                vn = S.expr(f"try_cast(`{value_col(ci, ri)}` AS DECIMAL(38,18))")
            entries.append(
                S.when(
                    S.array_contains("matched", index[rule.id]),
                    S.struct(
                        S.lit(ci).alias("ci"),
                        S.lit(ri).alias("rule"),
                        S.col(group_col(ci, ri)).alias("grp"),
                        vt.alias("vt"),
                        vn.alias("vn"),
                    ),
                )
            )
    unit = S.concat(S.lit("r:"), S.col("order").cast("string"))
    if dedupe:
        unit = S.when(S.col("ckey").isNotNull(), S.concat(S.lit("o:"), S.col("ckey"))).otherwise(
            unit
        )
    rank = S.when(S.col("status").isin("success", "failure"), S.lit(0)).otherwise(S.lit(1))
    exploded = matches.select(
        "order",
        S.col("time_ns").alias("time"),
        unit.alias("unit"),
        rank.alias("rank"),
        "event_id",
        S.explode(S.array_compact(S.array(*entries))).alias("it"),
    )
    return exploded.select("order", "time", "unit", "rank", "event_id", "it.*")


def _by_ci(values: list[Any], ci: Any, default: Any = None) -> Any:
    """CASE ci WHEN 0 THEN values[0] ... END."""
    from pyspark.sql import functions as S

    expr = None
    for i, v in enumerate(values):
        if v is None:
            continue
        expr = S.when(ci == i, v) if expr is None else expr.when(ci == i, v)
    if expr is None:
        return S.lit(default)
    return expr.otherwise(S.lit(default)) if default is not None else expr


def correlation_hits(
    spark: Any, matches: Any, ruleset: RuleSet, dedupe: bool
) -> tuple[Hits | None, CorrelationCounts]:
    from pyspark import StorageLevel
    from pyspark.sql import functions as S

    corrs = ruleset.correlations
    counts = CorrelationCounts({}, {}, {})
    if not corrs:
        return None, counts
    items = _items(matches, ruleset, dedupe).persist(StorageLevel.MEMORY_AND_DISK)
    agg = items.groupBy("ci").agg(
        S.countDistinct(S.when(S.col("time").isNull(), S.col("order"))).alias("untimed"),
        S.countDistinct(
            S.when(S.col("time").isNotNull() & S.col("grp").isNull(), S.col("order"))
        ).alias("ungrouped"),
    )
    found = {r["ci"]: r for r in agg.collect()}
    for ci, c in enumerate(corrs):
        r = found.get(ci)
        counts.untimed[c.id] = int(r["untimed"]) if r else 0
        counts.ungrouped[c.id] = int(r["ungrouped"]) if r else 0
    # One shuffle by (correlation, group): every window, aggregate and join below is keyed
    # by a superset of it, so Spark reuses this distribution instead of shuffling again.
    # (Persisted: a cached relation keeps its partitioning, and every branch below reads it.)
    usable = (
        items.filter(S.col("time").isNotNull() & S.col("grp").isNotNull())
        .repartition("ci", "grp")
        .persist(StorageLevel.MEMORY_AND_DISK)
    )
    spans = sorted({c.timespan_ns for c in corrs})
    hits = None
    for span in spans:
        cis = [i for i, c in enumerate(corrs) if c.timespan_ns == span]
        part = _hits(usable.filter(S.col("ci").isin(cis)), corrs, cis, span)
        hits = part if hits is None else hits.unionByName(part)
    assert hits is not None
    hits = hits.persist(StorageLevel.MEMORY_AND_DISK)
    per_ci = {r["ci"]: int(r["count"]) for r in hits.groupBy("ci").count().collect()}
    for ci, c in enumerate(corrs):
        counts.hits[c.id] = per_ci.get(ci, 0)
    items.unpersist()
    usable.unpersist()
    members = hits.select(S.explode("orders").alias("order"), "ci", "grp", "start")
    return Hits(hits.select("ci", "grp", "start", "events"), members, hits), counts


def _hits(items: Any, corrs: tuple[Correlation, ...], cis: list[int], span: int) -> Any:
    """Hits of the correlations `cis` (all of timespan `span`): (ci, grp, start, stop,
    events, orders)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as S

    ci = S.col("ci")
    kinds = {corrs[i].type for i in cis}
    temporal = [i for i in cis if corrs[i].type.startswith("temporal")]
    copies = items.groupBy("ci", "grp", "unit").agg(S.collect_set("order").alias("copies"))
    best = Window.partitionBy("ci", "grp", "unit", "rule").orderBy("rank", "order")
    chosen = items.withColumn("_n", S.row_number().over(best)).filter("_n = 1").drop("_n")
    if len(temporal) < len(cis):
        first = Window.partitionBy("ci", "grp", "unit").orderBy("rule")
        keep = S.col("_n") == 1
        if temporal:
            keep = keep | ci.isin(temporal)
        chosen = chosen.withColumn("_n", S.row_number().over(first)).filter(keep).drop("_n")

    group = ["ci", "grp"]
    rows = Window.partitionBy(*group).orderBy("time", "rule", "order")
    frame = Window.partitionBy(*group).orderBy("time").rangeBetween(0, span)
    chosen = chosen.withColumn("_prev", S.lag("time").over(rows)).withColumn(
        "_stop", S.max("time").over(frame)
    )
    prev = S.col("_prev")
    first_of_time = prev.isNull() | (prev < S.col("time"))
    maximal = prev.isNull() | ((S.col("_stop") - prev) > S.lit(span))

    measures: dict[str, Any] = {}
    if "event_count" in kinds:
        measures["_cnt"] = S.count(S.lit(1)).over(frame)
    if "temporal" in kinds:
        measures["_rules"] = S.size(S.collect_set("rule").over(frame))
    if "value_count" in kinds:
        measures["_values"] = S.size(S.collect_set("vt").over(frame))
        measures["_with_vt"] = S.count("vt").over(frame)
    if kinds & {"value_sum", "value_avg"}:
        measures["_total"] = S.sum("vn").over(frame)
        measures["_with_vn"] = S.count("vn").over(frame)
    for name, col in measures.items():
        chosen = chosen.withColumn(name, col)
    if "temporal_ordered" in kinds:
        chosen = _ordered(
            chosen, corrs, [i for i in cis if corrs[i].type == "temporal_ordered"], span, frame
        )

    oks: list[Any] = [None] * len(corrs)
    eligible: list[Any] = [None] * len(corrs)
    for i in cis:
        c = corrs[i]
        n = S.lit(c.count)
        if c.type == "event_count":
            oks[i] = _cmp(c.op, S.col("_cnt"), n)
            eligible[i] = S.lit(True)
        elif c.type == "temporal":
            oks[i] = _cmp(c.op, S.col("_rules"), n)
            eligible[i] = S.lit(True)
        elif c.type == "value_count":
            oks[i] = _cmp(c.op, S.col("_values"), n) & (S.col("_with_vt") > 0)
            eligible[i] = S.col("vt").isNotNull()
        elif c.type in ("value_sum", "value_avg"):
            total = S.col("_total")
            measure = total if c.type == "value_sum" else total / S.col("_with_vn")
            oks[i] = (S.col("_with_vn") > 0) & _cmp(c.op, measure, n)
            eligible[i] = S.col("vn").isNotNull()
        else:  # temporal_ordered
            oks[i] = S.col("_full_ok")
            eligible[i] = S.col("_on_chain")
    chosen = chosen.withColumn("_ok", S.coalesce(_by_ci(oks, ci), S.lit(False))).withColumn(
        "_eligible", S.coalesce(_by_ci(eligible, ci), S.lit(False))
    )
    windows = chosen.filter(first_of_time & maximal & S.col("_ok")).select(
        "ci", "grp", S.col("time").alias("start"), S.col("_stop").alias("stop")
    )
    # Merge windows that overlap in time (gaps and islands).
    by_start = Window.partitionBy(*group).orderBy("start", "stop")
    windows = windows.withColumn(
        "_reach", S.max("stop").over(by_start.rowsBetween(Window.unboundedPreceding, -1))
    )
    windows = windows.withColumn(
        "_island",
        S.sum((S.col("_reach").isNull() | (S.col("start") > S.col("_reach"))).cast("int")).over(
            by_start.rowsBetween(Window.unboundedPreceding, 0)
        ),
    )
    merged = windows.groupBy("ci", "grp", "_island").agg(
        S.min("start").alias("m_start"), S.max("stop").alias("m_stop")
    )
    members = (
        chosen.filter("_eligible")
        .select("ci", "grp", "time", "unit", "rank", "order", "event_id")
        .join(merged, ["ci", "grp"])
        .filter((S.col("time") >= S.col("m_start")) & (S.col("time") <= S.col("m_stop")))
    )
    rep = Window.partitionBy("ci", "grp", "_island", "unit").orderBy("rank", "order")
    reps = members.withColumn("_n", S.row_number().over(rep)).filter("_n = 1").drop("_n")
    reps = reps.join(copies, ["ci", "grp", "unit"])
    hits = reps.groupBy("ci", "grp", "_island").agg(
        S.min("time").alias("start"),
        S.max("time").alias("stop"),
        S.sort_array(
            S.collect_list(
                S.struct(
                    S.col("time").alias("t"),
                    S.coalesce(S.col("event_id"), S.lit("")).alias("k"),
                    S.col("order").alias("o"),
                    S.col("event_id").alias("id"),
                )
            )
        ).alias("_events"),
        S.array_sort(S.array_distinct(S.flatten(S.collect_list("copies")))).alias("orders"),
    )
    return hits.select(
        "ci",
        "grp",
        "start",
        "stop",
        S.transform("_events", lambda e: e["id"]).alias("events"),
        "orders",
    )


def _ordered(
    chosen: Any, corrs: tuple[Correlation, ...], cis: list[int], span: int, frame: Any
) -> Any:
    """temporal_ordered (engine/correlate._ordered_ranges) with window aggregates: adds
    `_on_chain` (the item is on an in-order chain of the required length within the timespan)
    and `_full_ok` (the window starting here holds such a chain)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as S

    ci = S.col("ci")
    ks = [len(corrs[i].rules) if i in cis else None for i in range(len(corrs))]
    needs = [
        max(corrs[i].count + 1 if corrs[i].op == "gt" else corrs[i].count, 1) if i in cis else None
        for i in range(len(corrs))
    ]
    big_k = max(ks[i] for i in cis)  # type: ignore[type-var]
    k_col = _by_ci([S.lit(k) if k is not None else None for k in ks], ci, 0)
    need_col = _by_ci([S.lit(n) if n is not None else None for n in needs], ci, 0)
    upto = (
        Window.partitionBy("ci", "grp").orderBy("time").rangeBetween(Window.unboundedPreceding, 0)
    )
    after = (
        Window.partitionBy("ci", "grp").orderBy("time").rangeBetween(0, Window.unboundedFollowing)
    )
    rule = S.col("rule")

    def greatest(cols: list[Any]) -> Any:
        return cols[0] if len(cols) == 1 else S.greatest(*cols)

    def least(cols: list[Any]) -> Any:
        return cols[0] if len(cols) == 1 else S.least(*cols)

    chosen = chosen.withColumn("_late1", S.col("time")).withColumn("_early1", S.col("time"))
    for length in range(2, big_k + 1):
        prev_late, prev_early = f"_late{length - 1}", f"_early{length - 1}"
        late = [
            S.when(S.lit(r) < rule, S.max(S.when(rule == r, S.col(prev_late))).over(upto))
            for r in range(big_k - 1)
        ]
        early = [
            S.when(S.lit(r) > rule, S.min(S.when(rule == r, S.col(prev_early))).over(after))
            for r in range(1, big_k)
        ]
        chosen = chosen.withColumn(f"_late{length}", greatest(late))
        chosen = chosen.withColumn(f"_early{length}", least(early))
    chain = []
    for l1 in range(1, big_k + 1):
        for l2 in range(1, big_k + 1):
            lc, ec = S.col(f"_late{l1}"), S.col(f"_early{l2}")
            chain.append(
                (S.lit(l1) <= k_col)
                & (S.lit(l2) <= k_col)
                & (S.lit(l1 + l2) >= need_col + 1)
                & lc.isNotNull()
                & ec.isNotNull()
                & ((ec - lc) <= S.lit(span))
            )
    on_chain = chain[0]
    for c in chain[1:]:
        on_chain = on_chain | c
    possible = need_col <= k_col
    chosen = chosen.withColumn("_on_chain", S.coalesce(possible & on_chain, S.lit(False)))
    full = greatest(
        [
            S.when((S.lit(n) >= need_col) & (S.lit(n) <= k_col), S.col(f"_late{n}"))
            for n in range(1, big_k + 1)
        ]
    )
    chosen = chosen.withColumn("_full", full)
    return chosen.withColumn(
        "_full_ok",
        S.coalesce(possible & (S.max("_full").over(frame) >= S.col("time")), S.lit(False)),
    )
