"""Exports of a rule pack and its score model to other query languages (`trailhound export`).

`pack.build` turns a RuleSet into conditions over raw fields (from the one rule compiler's
intermediate form) plus the score model; each target module renders that in one language and is
registered here, in the order `--help` documents them. docs/export.md says, per target, what is
exported and what cannot be.
"""

from __future__ import annotations

from trailhound.export import duckdb_sql, esql, kql, sigma_yaml, spark_sql, splunk, sumo
from trailhound.export.base import Target
from trailhound.registry import Registry

__all__ = ["TARGETS", "Target"]

TARGETS: Registry[Target] = Registry("export target")
for _module in (duckdb_sql, spark_sql, sigma_yaml, sumo, splunk, kql, esql):
    TARGETS.register(_module.TARGET.name, _module.TARGET)
