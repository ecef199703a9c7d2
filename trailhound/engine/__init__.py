"""Rule engines: each compiles a RuleSet once and scans inputs into Matches (see base.py).

`reference` is the plain-Python, one-process oracle; the others must agree with it on every
event. `fast` (the default, DEFAULT_ENGINE) reads the inputs in worker processes and does not
even decode the records of a CloudTrail S3 file that no rule can match; `strict=True` (the
CLI's `--strict`) decodes and normalizes every record, so the wrong-typed fields of those
records are reported too. `parallel` is kept as the name of `fast` with `strict=True`: it was
the CLI's default before, and scripts and benchmarks spell it.

Engines are registered as factories taking keyword options and built by `make_engine(name,
**options)`; options an engine has no use for are ignored (the reference engine reads in one
process, always strictly). To add one (Spark registers itself this way, imported lazily so
that pyspark is only needed when it is used):

    def _spark(**options: Any) -> Engine:
        from trailhound.spark.engine import SparkEngine
        return SparkEngine(master=options.get("spark_master"), conf=options.get("spark_conf"))

    ENGINES.register("spark", _spark)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from trailhound.engine.base import Engine
from trailhound.registry import Registry

DEFAULT_ENGINE = "fast"

ENGINES: Registry[Callable[..., Engine]] = Registry("engine")


def make_engine(name: str, **options: Any) -> Engine:
    """The engine registered as `name`, built with `options` (jobs, strict, ...).
    UsageError (with a did-you-mean) for an unknown name."""
    return ENGINES.get(name)(**options)


def _reference(**_: Any) -> Engine:
    from trailhound.engine.reference import ReferenceEngine

    return ReferenceEngine()


def _fast(jobs: int | None = None, strict: bool = False, **_: Any) -> Engine:
    from trailhound.engine.fast import FastEngine

    return FastEngine(jobs, strict=strict)


def _parallel(jobs: int | None = None, **_: Any) -> Engine:
    return _fast(jobs, strict=True)


ENGINES.register("reference", _reference)
ENGINES.register("fast", _fast)
ENGINES.register("parallel", _parallel)


def _spark(
    strict: bool = False, spark_master: str | None = None, spark_conf: Any = None, **options: Any
) -> Engine:
    from trailhound.spark.engine import SparkEngine  # pyspark is imported when it runs

    return SparkEngine(spark_master or "local[*]", spark_conf, strict=strict, **options)


ENGINES.register("spark", _spark)
