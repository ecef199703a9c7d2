"""PySpark's worker daemon with the executor side of the scan imported before it forks.

    spark.python.daemon.module=trailhound.spark.daemon      (set by session.build_context)

PySpark starts one daemon per executor (pyspark/daemon.py) and forks a Python worker from it
for each task slot; every worker then imports pyspark.worker and, on its first task,
trailhound's scan (from the shipped zip): about 0.6-0.8 CPU-s per worker, paid again by every
worker, before it reads a record. Imported here once, the forked workers inherit them.

Why pyspark's daemon leaves the worker module to the child ("we have to guarantee that no
thread is spawned before we fork": pandas and pyarrow start threads on import): the modules
below start none and import neither (tests/test_spark_python.py checks both).

Used only where the daemon can import this trailhound (session.build_context sets it for a
local master, with the zip of this trailhound first on the executors' PYTHONPATH); modules
that fail to import here are left to the workers, as without this daemon.
"""

from __future__ import annotations

import gc
import importlib

# What a worker imports to run SparkEngine's tasks (spark/engine.py's executor side).
PRELOAD = (
    "pyspark.worker",
    "trailhound.spark.engine",
    "trailhound.engine.file_scan",
    "trailhound.engine.fast",
    "trailhound.engine.fast_scan",
)


def preload() -> list[str]:
    """Import PRELOAD; the names that failed (left to the workers)."""
    failed = []
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - the worker imports it again and reports the error
            failed.append(name)
    return failed


if __name__ == "__main__":
    from pyspark.daemon import manager

    preload()
    gc.freeze()  # the forked workers' collectors leave these objects (and their pages) alone
    manager()
