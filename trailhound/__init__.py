"""trailhound: hunt cloud API abuse in cloud audit logs.

Data flows one way: sources -> normalize -> engine -> scoring -> report; cli sits on top.
From Python: `trailhound.scan(paths, profile=..., rules=..., engine=..., allow=..., since=...,
until=...)` (api.py), with the CLI's defaults.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["__version__", "scan"]

if TYPE_CHECKING:
    from trailhound.api import Result


def scan(paths: Any, *args: Any, **options: Any) -> Result:
    """trailhound.api.scan, which documents the options (imported when called: `import
    trailhound` stays light, and the modules below can import this package without a cycle)."""
    from trailhound.api import scan as _scan

    return _scan(paths, *args, **options)
