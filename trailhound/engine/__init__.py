"""Rule engines: each compiles a RuleSet once and streams events through it (see base.py).

`reference` is the plain-Python oracle; faster engines must agree with it on every event.
"""

from __future__ import annotations

from typing import Any

from trailhound.engine.reference import ReferenceEngine
from trailhound.registry import Registry

ENGINES: Registry[Any] = Registry("engine")
ENGINES.register("reference", ReferenceEngine)
ENGINES.register("fast", __import__("trailhound.engine.fast", fromlist=["FastEngine"]).FastEngine)
