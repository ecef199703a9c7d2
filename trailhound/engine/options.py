"""An engine by name, built with the command-line options it declares.

An engine class may declare `OPTIONS`: {CLI option name: constructor keyword}; `configured`
passes it those options and no others, so the CLI needs no per-engine branch (the Spark
engine declares --spark-master / --spark-conf; the local engines declare none).
"""

from __future__ import annotations

from typing import Any

from trailhound.engine import ENGINES


def configured(name: str, **options: Any) -> Any:
    """ENGINES[name](...) with the options its OPTIONS names; the other options are ignored."""
    cls = ENGINES.get(name)
    wanted: dict[str, str] = getattr(cls, "OPTIONS", {})
    return cls(**{kw: options[opt] for opt, kw in wanted.items() if opt in options})
