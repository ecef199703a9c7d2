"""One emulation: a scenario's records plus background noise, as files in the chosen formats."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

from trailhound.emulate.noise import noise
from trailhound.emulate.output import DEFAULT_FORMATS, check_formats, render, write
from trailhound.emulate.scenario import Records, Scenario
from trailhound.emulate.world import DAY

START = DAY + timedelta(hours=10)  # the scenarios' default start: the demo's day, 10:00 UTC
DEFAULT_SEED = 13


def records(scenario: Scenario, *, seed: int = DEFAULT_SEED, noise_records: int = 0,
            start: datetime = START) -> Records:
    """The scenario's records and `noise_records` background records, per stream."""
    out = scenario.records(seed, start)
    if noise_records:
        for stream, recs in noise(seed, noise_records, list(out), start).items():
            out[stream] = out.get(stream, []) + recs
    return out


def emulate(scenario: Scenario, out_dir: Path, *, formats: Sequence[str] = DEFAULT_FORMATS,
            seed: int = DEFAULT_SEED, noise_records: int = 0,
            start: datetime = START) -> tuple[list[Path], int]:
    """Write the scenario into `out_dir`; returns the files written and the record count."""
    recs = records(scenario, seed=seed, noise_records=noise_records, start=start)
    check_formats(recs, formats, scenario.name)
    files = write(render(recs, formats, seed), out_dir)
    return files, sum(len(r) for r in recs.values())
