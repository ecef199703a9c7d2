"""Every scenario, by name (one line per family). `noise` is background only: `--noise N` adds
the same background to any scenario."""

from __future__ import annotations

from trailhound.emulate import benign, chains, page, signals, stratus
from trailhound.emulate.scenario import Scenario
from trailhound.registry import Registry

SCENARIOS: Registry[Scenario] = Registry("scenario")

for _family in (page.SCENARIOS, signals.SCENARIOS, chains.SCENARIOS, stratus.SCENARIOS,
                benign.SCENARIOS):
    for _s in _family:
        SCENARIOS.register(_s.name, _s)
SCENARIOS.register(
    "noise",
    Scenario(
        name="noise",
        family="noise",
        summary="background activity only (use with --noise N)",
        techniques=(),
        expects=(),
        build=lambda c, t0: {},
        benign=True,
    ),
)


def in_order() -> list[Scenario]:
    """Scenarios as `emulate list` shows them: by family, then as each family lists them."""
    order = {"page": 0, "signal": 1, "chain": 2, "stratus": 3, "benign": 4, "noise": 5}
    items = [SCENARIOS.get(n) for n in SCENARIOS]
    return sorted(items, key=lambda s: order[s.family])
