"""The Apache Spark engine: the same detection when the logs outgrow one machine.

    pip install 'trailhound[spark]'          # PySpark; Spark needs Java 17+

    from trailhound.spark import detect_dataframe, write_findings
    result = detect_dataframe(spark, ["s3a://bucket/AWSLogs/"], profile="corrected")
    write_findings(result.findings, "s3a://bucket/findings/", "parquet")
    result.summary            # a trailhound.pipeline.ScanStats: files, records, issues, ...

What runs where (nothing but counts, samples of issues and the file listing of local paths ever
reaches the driver):

* read.py      Spark reads the files (``binaryFile``: any URI Spark can read); executors run
               trailhound's own readers and normalizers on every file's bytes (so envelopes,
               positions and bad-input issues are the CLI's, byte for byte) and extract, per
               field a rule reads, the leaf values the rules compare (engine/fields.py lookup).
* compile.py   the rules' pySigma condition trees -> Spark Column expressions over those
               arrays (``exists``, ``like``, ``startswith``, ...); the few leaf tests Spark SQL
               cannot evaluate with Python's exact semantics (``|re``, ``|cidr``, ``|fieldref``,
               timestamp parts, case folding of non-ASCII text, integers beyond 2**53) are
               evaluated by the executors with the reference engine's own code, as atoms.
* correlate.py Sigma correlation rules with Spark windows: group-by + time-ordered range frames.
* score.py     scores, correlation weights, one finding per operation, sort: Spark SQL.
* api.py       the public entry points and the CLI bridge (`run_cli`).

Importing this package does not import PySpark; the entry points do, and say how to install
it when it is missing.
"""

from __future__ import annotations

from typing import Any

__all__ = ["SparkResult", "detect_dataframe", "read_events", "run_cli", "write_findings"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from trailhound.spark import api

        return getattr(api, name)
    raise AttributeError(name)
