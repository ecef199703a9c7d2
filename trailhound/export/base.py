"""What an export target is (one module per target registers one in export/__init__.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from trailhound.export.pack import ExportPack

__all__ = ["Target"]


@dataclass(frozen=True)
class Target:
    name: str  # the `--to` value
    description: str  # one line for `--help`
    render: Callable[[ExportPack], str]  # the export text, ending with a newline
    carries_correlations: bool = False  # else the correlation rules are reported as left out
    # what the target's schema cannot carry beyond pack.skipped, one line each (None: nothing)
    left_out: Callable[[ExportPack], list[str]] | None = None
