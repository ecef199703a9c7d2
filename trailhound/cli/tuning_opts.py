"""Click option bundles for tuning, one decorator each (cli/scan_options.py puts both on every
scan command; `hunt` takes the window alone):

    @allow_options    --allow FILE (repeatable), --no-default-filters
                      -> the command receives `allowlist: Allowlist`, `default_filters: bool`
    @window_options   --since, --until -> the command receives `window: TimeWindow | None`

and `tuned_ruleset(...)`, which gives the command the rule set to scan with; then pass
`window=window` to scan.scan_stream (or spark.api.run_cli) and print_summary reports both.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import click

from trailhound.api import tuned_ruleset  # (the library builds its rule set the same way)
from trailhound.tuning.allowlist import load_allowlists
from trailhound.tuning.window import TimeWindow

__all__ = ["allow_options", "tuned_ruleset", "window_options"]

C = TypeVar("C", bound=Callable[..., Any])


def allow_options(f: C) -> C:
    @functools.wraps(f)
    def wrapper(*args: Any, allow: tuple[str, ...], no_default_filters: bool, **kw: Any) -> Any:
        return f(*args, allowlist=load_allowlists(allow), default_filters=not no_default_filters, **kw)

    wrapper = click.option(
        "--no-default-filters",
        is_flag=True,
        help="Do not apply the filters shipped with the profile's pack (e.g. the allowlist of "
        "AWS services acting for themselves); your --rules filters and --allow files still apply.",
    )(wrapper)
    wrapper = click.option(
        "--allow",
        multiple=True,
        metavar="FILE",
        help="Allowlist file (YAML, or CSV when named .csv; repeatable): entries by principal "
        "glob, source CIDR, account, user agent, event, provider, each for every rule or named "
        "rules, with a reason and an optional expiry. The summary counts the findings each "
        "removed; `trailhound tune` proposes entries. See README, Tuning.",
    )(wrapper)
    return wrapper  # type: ignore[return-value]


def window_options(f: C) -> C:
    @functools.wraps(f)
    def wrapper(*args: Any, since: str | None, until: str | None, **kw: Any) -> Any:
        return f(*args, window=TimeWindow.parse(since, until), **kw)

    wrapper = click.option(
        "--until",
        metavar="WHEN",
        default=None,
        help="Only events before WHEN (exclusive): an ISO time or a duration back from now.",
    )(wrapper)
    wrapper = click.option(
        "--since",
        metavar="WHEN",
        default=None,
        help="Only events at or after WHEN: an ISO time (2026-03-14, 2026-03-14T09:30:00Z; no "
        "zone = UTC) or a duration back from now (90m, 24h, 7d). Events without a time are "
        "left out when a window is set.",
    )(wrapper)
    return wrapper  # type: ignore[return-value]
