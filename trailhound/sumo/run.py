"""Run a Sumo query over log files: the one reader loop (pipeline.read_events) turns every
input into events, each event becomes a Sumo message (records.py), the scope line selects by
`_sourceCategory`, and the plan's stages produce the result rows, streamed."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from trailhound.model import Event
from trailhound.pipeline import ScanStats, read_events
from trailhound.profiles import Profile
from trailhound.sumo.parser import parse_query
from trailhound.sumo.plan import Plan, build
from trailhound.sumo.records import category, message

__all__ = ["prepare", "run_plan", "run_query"]


@dataclass(frozen=True)
class _ScopeProfile(Profile):
    """Admits the events whose `_sourceCategory` the query's scope line selects; the reader
    loop counts the others as not admitted (the summary says how many)."""

    selects: Callable[[str], bool] = field(default=lambda cat: True)

    def admits(self, event: Event) -> bool:
        return self.selects(category(event))


def prepare(text: str, name: str = "<query>") -> Plan:
    """Parse and check a query without reading any log. Raises SumoQueryError (a UsageError:
    exit 2) naming the operator and line:column of anything outside the subset."""
    return build(parse_query(text, name))


def _profile(plan: Plan) -> Profile:
    return _ScopeProfile(
        name="sumo", pack="seed", literal_columns=True, source_categories=None, dedupe=False,
        description="a Sumo Logic query run by `trailhound sumo`", selects=plan.scope,
    )


def run_plan(
    plan: Plan, paths: Sequence[str], stats: ScanStats, stdin: BinaryIO | None = None
) -> Iterator[dict[str, Any]]:
    """The result rows of `plan` over every record under `paths` ("-": stdin), in order;
    input issues and counts go to `stats` (complete once the rows are consumed)."""
    events = read_events(paths, _profile(plan), stats, stdin)
    return plan.rows(message(e) for e in events)


def run_query(
    text: str,
    paths: Sequence[str],
    *,
    name: str = "<query>",
    stats: ScanStats | None = None,
    stdin: BinaryIO | None = None,
    on_warning: Callable[[str], None] | None = None,
) -> Iterator[dict[str, Any]]:
    """Run the Sumo query `text` over `paths`: one dict per result row, its keys the result
    columns in order (`prepare(text).columns`). The query is checked before anything is read
    (SumoQueryError); `on_warning` hears each alias accepted (`eval`, `table`)."""
    plan = prepare(text, name)
    if on_warning is not None:
        for w in plan.warnings:
            on_warning(w)
    return run_plan(plan, paths, stats if stats is not None else ScanStats(), stdin)
