"""`python -m tests.spark_bounded_child DIR`: detect_dataframe on DIR in a local[1] session, then
one JSON line on stdout: the DataFrame's eventIDs in order and, per row, the length and sha256
of its `raw` column. Run by tests/test_spark_bounded.py, which samples this process's memory."""

from __future__ import annotations

import hashlib
import json
import sys

from trailhound.spark.api import detect_dataframe
from trailhound.spark.session import build_session


def main(folder: str) -> None:
    spark = build_session("local[1]", app_name="trailhound-bounded-test")
    res = detect_dataframe(spark, [folder], profile="seed")
    rows = [
        (r["eventID"], len(r["raw"]), hashlib.sha256(r["raw"].encode()).hexdigest())
        for r in res.findings.select("eventID", "raw").toLocalIterator()
    ]
    res.unpersist()
    print(json.dumps({"rows": rows, "records": res.summary.records}))
    spark.stop()


if __name__ == "__main__":
    main(sys.argv[1])
