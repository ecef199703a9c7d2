"""The Apache Spark engine: the same per-file scan as the local engines, on Spark executors.

    pip install 'trailhound[spark]'          # PySpark; Spark needs Java 17+

    trailhound detect --engine spark [--spark-master M] [--spark-conf k=v] PATH|URI...
    trailhound.pipeline.scan(paths, profile, engine="spark")

    from trailhound.spark import detect_dataframe, write_findings
    result = detect_dataframe(spark, ["s3a://bucket/AWSLogs/"], profile="corrected")
    write_findings(result.findings, "s3a://bucket/findings/", "parquet")
    result.summary            # a trailhound.pipeline.ScanStats: files, records, issues, ...

* engine.py   SparkEngine (registered as "spark"): the fast engine's plan; the executors
              compile the same plan and run engine/file_scan's per-file scan; matches and per-file
              counters come back and are merged in input order by the local engines' merge.
* listing.py  the inputs: sources.discover for local paths, Hadoop's listing for URIs.
* spool.py    bytes the driver hands to the executors through disk (stdin, the findings of
              detect_dataframe), in bounded memory.
* api.py      detect_dataframe / write_findings: findings as a DataFrame of the CLI's rows.
* session.py  SparkSession for the CLI, the executors' Python, shipping trailhound's code.

Scoring, correlation, tuning and the row are pipeline.py's, on the driver, as for every engine.
Importing this package does not import PySpark; running the engine does, and says how to
install it when it is missing.
"""

from __future__ import annotations

from typing import Any

__all__ = ["SparkResult", "detect_dataframe", "write_findings"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from trailhound.spark import api

        return getattr(api, name)
    raise AttributeError(name)
