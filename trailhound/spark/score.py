"""Matches -> findings in Spark: scoring.py's semantics (score, context rules, `generate`,
correlation weights, one finding per operation, --min-score, sort order) as Spark SQL.

* counted signals: the matched rules with `generate` (RuleSet order), then the correlations
  whose hits the record is part of (RuleSet order); a record is a finding when a counted
  non-context rule matched it or a correlation hit names it.
* score: the weights of the counted signals folded left to right in that order
  (`aggregate`), in doubles, which is what Python's `sum` does with ints and floats (exact for
  ints; same rounding, same order, for floats). Rows say an integral score as an int.
* collapse (profiles that dedupe): per collapse key the record with the final status (then
  the first) wins and `records` counts the copies (a window over the key).
* keep: `scoring.keep`; sort: `scoring.sort_key` (score desc, time, event id, input order).
"""

from __future__ import annotations

from typing import Any

from trailhound.report.columns import COLUMNS, SEED_COLUMNS, TRIAGE_COLUMNS
from trailhound.rules.guides import guide_ref
from trailhound.rules.model import Correlation, Rule, RuleSet
from trailhound.scoring import SIGNALS

SIGNAL_TYPE = (
    "struct<rule_id:string,title:string,level:string,weight:double,signal:string,"
    "context:boolean,author:string,tags:array<string>,guide:string>"
)


def signals_of(ruleset: RuleSet) -> list[Rule | Correlation]:
    """Signal table: rules (by RuleSet index), then correlations (index len(rules) + i)."""
    return [*ruleset.rules, *ruleset.correlations]


def _signal_literal(sig: Rule | Correlation) -> Any:
    from pyspark.sql import functions as S

    def s(v: Any) -> Any:
        return S.lit(v).cast("string")

    return S.struct(
        s(sig.id).alias("rule_id"),
        s(sig.title).alias("title"),
        s(sig.level).alias("level"),
        S.lit(float(sig.weight)).alias("weight"),
        s(sig.signal).alias("signal"),
        S.lit(bool(sig.context)).alias("context"),
        s(sig.author).alias("author"),
        (S.array(*[S.lit(t) for t in sig.tags]) if sig.tags else S.array())
        .cast("array<string>")
        .alias("tags"),
        s(guide_ref(sig)).alias("guide"),
    )


def _member_of(idx: list[int]) -> Any:
    return lambda i: i.isin(idx)


def findings_frame(
    matches: Any,
    hits: Any | None,
    ruleset: RuleSet,
    *,
    dedupe: bool,
    min_score: float | None,
    keep_raw: bool = False,
) -> Any:
    """The findings DataFrame: report/columns.COLUMNS in order (+ `raw`), sorted.

    `hits`: correlate.Hits (or None without correlations)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as S

    sigs = signals_of(ruleset)
    n_rules = len(ruleset.rules)
    generate = [i for i, r in enumerate(ruleset.rules) if r.generate]
    detect = [i for i, r in enumerate(ruleset.rules) if r.generate and not r.context]
    empty_int = S.array().cast("array<int>")
    df = matches.withColumn(
        "_counted", S.filter("matched", _member_of(generate)) if generate else empty_int
    )
    base = S.exists("_counted", _member_of(detect)) if detect else S.lit(False)
    if hits is not None:
        # The hits of each record, sorted as scoring.add_hits sorts Finding.hits.
        per_order = hits.members.groupBy("order").agg(
            S.sort_array(S.collect_list(S.struct("ci", "start", "grp"))).alias("_hits")
        )
        df = df.join(per_order, "order", "left").filter(base | S.col("_hits").isNotNull())
        corr_ids = S.array_distinct(S.transform("_hits", lambda h: h["ci"] + S.lit(n_rules)))
        df = df.withColumn(
            "_signals",
            S.when(S.col("_hits").isNull(), S.col("_counted")).otherwise(
                S.concat("_counted", corr_ids)
            ),
        )
    else:
        df = df.filter(base).withColumn("_signals", S.col("_counted"))
    weights = S.array(*[S.lit(float(s.weight)) for s in sigs])
    df = df.withColumn(
        "suspicion_score",
        S.aggregate("_signals", S.lit(0.0), lambda acc, i: acc + S.element_at(weights, i + 1)),
    )
    if dedupe:
        rank = S.when(S.col("status").isin("success", "failure"), S.lit(0)).otherwise(S.lit(1))
        keyed = S.col("ckey").isNotNull()
        df = df.withColumn(
            "_first", S.row_number().over(Window.partitionBy("ckey").orderBy(rank, S.col("order")))
        ).withColumn("records", S.count(S.lit(1)).over(Window.partitionBy("ckey")))
        df = df.filter(~keyed | (S.col("_first") == 1)).withColumn(
            "records", S.when(keyed, S.col("records")).otherwise(S.lit(1))
        )
    else:
        df = df.withColumn("records", S.lit(1))
    score = S.col("suspicion_score")
    if min_score is None:
        df = df.filter(score > 0)
    elif min_score != 0:
        df = df.filter(score >= S.lit(float(min_score)))
    corr_type = "array<struct<rule_id:string,title:string,events:array<string>>>"
    if hits is not None:
        # Each kept finding's hits, with their events (listed per hit once, joined last).
        corr_ids_arr = S.array(*[S.lit(c.id) for c in ruleset.correlations])
        corr_titles = S.array(*[S.lit(c.title) for c in ruleset.correlations])
        listed = (
            df.filter(S.col("_hits").isNotNull())
            .select("order", S.posexplode("_hits").alias("pos", "h"))
            .select("order", "pos", "h.ci", "h.grp", "h.start")
            .join(hits.hits, ["ci", "grp", "start"])
            .groupBy("order")
            .agg(
                S.sort_array(
                    S.collect_list(
                        S.struct(
                            S.col("pos"),
                            S.element_at(corr_ids_arr, S.col("ci") + 1).alias("rule_id"),
                            S.element_at(corr_titles, S.col("ci") + 1).alias("title"),
                            S.col("events"),
                        )
                    )
                ).alias("_listed")
            )
        )
        df = df.join(listed, "order", "left")
        correlations = S.coalesce(
            S.transform(
                "_listed",
                lambda c: S.struct(
                    c["rule_id"].alias("rule_id"),
                    c["title"].alias("title"),
                    c["events"].alias("events"),
                ),
            ),
            S.array().cast(corr_type),
        )
    else:
        correlations = S.array().cast(corr_type)
    flags = {}
    for name in SIGNALS:
        idx = [i for i, s in enumerate(sigs) if s.signal == name and not s.context]
        flags[name] = S.exists("_signals", _member_of(idx)).cast("int") if idx else S.lit(0)
    table = S.array(*[_signal_literal(s) for s in sigs])
    cols = [
        S.col("time"),
        *[S.col(f"c_{c}").alias(c) for c in SEED_COLUMNS[1:9]],
        *[flags[s].alias(s) for s in SIGNALS],
        score.alias("suspicion_score"),
        S.col("c_eventID").alias("eventID"),
        S.col("provider"),
        S.transform("_signals", lambda i: S.element_at(table, i + 1)).alias("signals"),
        S.col("status").alias("outcome"),
        S.col("source"),
        S.col("origin"),
        S.col("records").cast("long").alias("records"),
        correlations.alias("correlations"),
        *[S.col(f"c_{c}").alias(c) for c in TRIAGE_COLUMNS],
    ]
    extra = [S.col("raw")] if keep_raw else []
    # scoring.sort_key: score desc, time (unknown last), event id (missing last), input order.
    out = df.select(
        *cols,
        *extra,
        S.col("time_ns").alias("_time_ns"),
        S.col("event_id").alias("_event_id"),
        S.col("order").alias("_order"),
    ).orderBy(
        S.col("suspicion_score").desc(),
        S.col("_time_ns").asc_nulls_last(),
        S.col("_event_id").asc_nulls_last(),
        S.col("_order").asc(),
    )
    return out.select(*COLUMNS, *(["raw"] if keep_raw else []))
