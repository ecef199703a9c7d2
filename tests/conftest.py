"""Shared fixtures. External data lives in ../shared beside the checkout (CI lays it there too).

What the suite needs from the machine (../shared, Java, PySpark, a browser) is asked for through
`require`: outside CI a missing need skips the test with the reason; inside CI (CI=true) it fails
the test, so nothing the suite depends on is silently skipped there.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
EXTERNAL = SHARED / "data" / "external"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require(ok: object, reason: str, *, module: bool = False) -> None:
    """Skip (outside CI) or fail (in CI) unless `ok` holds."""
    if ok:
        return
    if IN_CI:
        pytest.fail(f"CI=true and a test dependency is missing: {reason}", pytrace=False)
    pytest.skip(reason, allow_module_level=module)


def requires(ok: object, reason: str) -> pytest.MarkDecorator:
    """Decorator form of `require`, for a dependency known at import time. In CI the mark is
    inert and the test runs (and fails on what is missing) rather than skipping."""
    return pytest.mark.skipif(not ok and not IN_CI, reason=reason)


requires_external = requires(
    EXTERNAL.is_dir(), f"external test data not found at {EXTERNAL} (../shared is absent)"
)


@pytest.fixture(scope="session")
def external() -> Path:
    """Root of ../shared/data/external; without it: skip outside CI, fail inside."""
    require(EXTERNAL.is_dir(), f"external test data not found at {EXTERNAL} (../shared is absent)")
    return EXTERNAL


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Markers by what a test needs: `external` (../shared), `spark` (PySpark + Java), so
    `pytest -m "not spark"` gives a quick run."""
    for item in items:
        if "external" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.external)
        if Path(str(item.fspath)).name.startswith("test_spark"):
            item.add_marker(pytest.mark.spark)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--regen-golden",
        action="store_true",
        default=False,
        help="rewrite the expected files of the golden tests (tests/data/...); review the git diff",
    )


@pytest.fixture
def regen_golden(request: pytest.FixtureRequest) -> bool:
    """True under --regen-golden: golden tests rewrite their expected files instead of comparing."""
    return bool(request.config.getoption("--regen-golden"))
