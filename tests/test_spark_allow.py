"""Spark parity for tuning: allowlists (every match field, a rules-scoped entry, an expired one)
and the time window give the reference engine's rows and summary (findings removed per entry,
events left out by the window) on the Spark engine.

Skips, saying why, only when PySpark or Java is missing (or ../shared, for the external case);
under CI=true the helpers fail instead.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from trailhound.demo import dataset_path
from trailhound.pipeline import ScanStats
from trailhound.profiles import get_profile
from trailhound.rules.loader import load_pack
from trailhound.spark.testing import (
    first_difference,
    make_session,
    on_spark,
    reference,
    require_spark,
)
from trailhound.tuning.allowlist import load_allowlists, with_allowlists
from trailhound.tuning.window import TimeWindow

require_spark()

ALLOW = """\
allow:
  - principal: 'ci-deployer@*'
    event: v1.compute.instances.insert
    reason: CI builds instances
  - cidr: [10.0.0.0/8, '2001:db8::/32']
    provider: azure
    reason: corporate egress
  - account: '444455556666'
    rules: [{disable}]
    reason: log archive account
  - user_agent: '*Terraform/*'
    reason: infrastructure as code
  - principal: '*'
    reason: expired, so never applied
    expires: 2020-01-01
"""


@pytest.fixture(scope="module")
def spark() -> Any:
    return make_session()  # shared by every Spark test module (getOrCreate), stopped at exit


def _compare(
    spark: Any, tmp_path: Path, paths: list[str], profile: str, window: TimeWindow | None,
    min_score: float | None = None,
) -> tuple[list[dict[str, Any]], ScanStats]:
    f = tmp_path / "allow.yml"
    p = get_profile(profile)
    pack = load_pack(p.pack)
    disable = next(r.id for r in pack.rules if r.signal == "security_disable" and r.product == "aws")
    f.write_text(ALLOW.format(disable=disable), encoding="utf-8")
    allowlist = load_allowlists([str(f)], today=date(2026, 12, 6))
    assert len(allowlist.expired) == 1
    rs = with_allowlists(pack, allowlist)
    want, want_stats = reference(paths, profile, rs, min_score, window)
    got, stats = on_spark(spark, paths, profile, rs, min_score, window)
    assert got == want, first_difference(got, want)
    assert stats == want_stats
    return want, stats


@pytest.mark.parametrize("profile", ["corrected", "seed"])
def test_demo_allowlist_parity(spark: Any, tmp_path: Path, profile: str) -> None:
    _compare(spark, tmp_path, [str(dataset_path())], profile, None)


def test_demo_allowlist_and_window_parity(spark: Any, tmp_path: Path) -> None:
    window = TimeWindow.parse("2026-03-14T10:00:00Z", "2026-03-14T11:00:00Z")
    rows, stats = _compare(spark, tmp_path, [str(dataset_path())], "corrected", window, min_score=0)
    assert rows and stats.window and any(stats.removed.values())


def test_external_window_parity(spark: Any, tmp_path: Path, external: Path) -> None:
    """invictus-ir: the window cuts through its recon-then-tamper sequences (the 12:00:06
    recon is left out); the intruder's Terraform user agent is allowlisted here."""
    window = TimeWindow.parse("2023-07-10T12:00:20Z", "2023-07-10T12:20:00Z")
    rows, stats = _compare(
        spark, tmp_path, [str(external / "invictus-ir-aws_dataset")], "corrected", window
    )
    assert rows and stats.window and any(stats.removed.values())
    assert all("2023-07-10T12:00:20" <= r["time"] < "2023-07-10T12:20:00" for r in rows)
