"""Rule engines: each compiles a RuleSet once and streams events through it (see base.py).

`reference` is the plain-Python oracle; faster engines must agree with it on every event.
`parallel` (the CLI's default) and `fast` read the inputs themselves, in worker processes.
"""

from __future__ import annotations

from typing import Any

from trailhound.engine.reference import ReferenceEngine
from trailhound.registry import Registry

ENGINES: Registry[Any] = Registry("engine")
ENGINES.register("reference", ReferenceEngine)
_fast = __import__("trailhound.engine.fast", fromlist=["FastEngine", "ParallelEngine"])
ENGINES.register("parallel", _fast.ParallelEngine)
ENGINES.register("fast", _fast.FastEngine)
ENGINES.register("spark", __import__("trailhound.spark.engine", fromlist=["x"]).SparkEngine)  # pyspark: imported when it runs
