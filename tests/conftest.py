"""Shared fixtures. External data lives in ../shared beside the checkout (CI lays it there too)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
EXTERNAL = SHARED / "data" / "external"


@pytest.fixture(scope="session")
def external() -> Path:
    """Root of ../shared/data/external; skips (with the reason) only when ../shared is absent."""
    if not EXTERNAL.is_dir():
        why = f"external test data not found at {EXTERNAL} (../shared is absent)"
        if os.environ.get("CI") == "true":  # CI lays ../shared beside the checkout: must be there
            pytest.fail(why)
        pytest.skip(why)
    return EXTERNAL
