"""`ScanOptions`: what every command that reads logs is asked (paths, profile, rules, engine,
score floor, allowlists, time window, input caps, quiet), built by ONE decorator, `scan_options`,
that adds the shared click options and hands the command a single `opts: ScanOptions`.

detect, demo, principals, timeline and tune take the same options this way, so an option added
here reaches all of them, and their functions pass one value instead of a dozen parameters.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

import click

from trailhound.cli.baseline_cmd import baseline_option
from trailhound.cli.choices import ENGINE_CHOICE, PROFILE_CHOICE
from trailhound.cli.engine_opts import strict_opt
from trailhound.cli.limits_opt import limit_options
from trailhound.cli.params import FINITE_FLOAT
from trailhound.cli.s3_opt import s3_endpoint_opt
from trailhound.cli.tuning_opts import allow_options, window_options
from trailhound.engine import DEFAULT_ENGINE
from trailhound.profiles import DEFAULT_PROFILE, Profile, get_profile
from trailhound.sources import s3
from trailhound.sources.limits import Limits
from trailhound.tuning.allowlist import Allowlist
from trailhound.tuning.window import TimeWindow

__all__ = ["DEFAULT_ENGINE", "ScanOptions", "scan_options"]

ENGINE_HELP = (
    "fast: files read in worker processes (one per core), each record checked only "
    "against the rules it can match, and the records of CloudTrail S3 files that no rule can "
    "match not even decoded (see --strict). parallel: fast --strict (its former name). "
    "reference: the plain-Python, one-process oracle. spark: the same detection on Apache "
    "Spark (pip install 'trailhound[spark]'; paths may be s3a://, abfss://, gs://, hdfs:// URIs)."
)

C = TypeVar("C", bound=Callable[..., Any])


@dataclass(frozen=True, slots=True)
class ScanOptions:
    """One scan as the user asked for it. `engine_options` are the chosen engine's own settings
    (today Spark's `spark_master` and `spark_conf`), kept apart so the scan itself stays
    engine-agnostic."""

    paths: tuple[str, ...]
    profile: Profile = field(default_factory=lambda: get_profile(DEFAULT_PROFILE))
    rule_paths: tuple[str, ...] = ()
    placeholders: str | None = None
    engine: str = DEFAULT_ENGINE
    strict: bool = False  # --strict: every record decoded, every input issue reported
    engine_options: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    min_score: float | None = None
    allowlist: Allowlist = field(default_factory=Allowlist)
    default_filters: bool = True
    window: TimeWindow | None = None
    limits: Limits | None = None  # None: Limits() from the TRAILHOUND_* environment
    quiet: bool = False
    baseline: Path | None = None  # --baseline: first-seen pairs already known


_OPTIONS = (
    click.option(
        "--profile",
        type=PROFILE_CHOICE,
        default=DEFAULT_PROFILE,
        show_default=True,
        help="seed: the catalog query as written (bug-compatible); corrected: its defects fixed; "
        "full: corrected plus the related detections (rules/packs/related).",
    ),
    click.option(
        "--min-score",
        type=FINITE_FLOAT,
        default=None,
        help="Keep findings scoring at least N (default: score > 0; 0 keeps every flagged event).",
    ),
    click.option("--quiet", "-q", is_flag=True, help="No progress bar and no summary on stderr."),
    click.option(
        "--rules",
        "rule_paths",
        multiple=True,
        metavar="PATH",
        help="Also run the Sigma rules in PATH (a .yml file or a folder; repeatable) with the "
        "profile's pack. A rule that does not load or compile is reported on stderr and skipped "
        "(`trailhound rules check PATH` says why for every file).",
    ),
    click.option(
        "--placeholders",
        metavar="FILE",
        default=None,
        help="YAML/JSON map of placeholder name -> list of values, filling the |expand "
        "placeholders of --rules rules.",
    ),
    click.option(
        "--engine", type=ENGINE_CHOICE, default=DEFAULT_ENGINE, show_default=True, help=ENGINE_HELP
    ),
    strict_opt,
    click.option(
        "--spark-master", default="local[*]", show_default=True,
        help="Spark master URL for --engine spark.",
    ),
    click.option(
        "--spark-conf", multiple=True, metavar="KEY=VALUE",
        help="Spark configuration for --engine spark (repeatable).",
    ),
    s3_endpoint_opt,
)


def scan_options(*, paths: bool = True) -> Callable[[C], C]:
    """Add the shared scan options (and the PATHS argument unless `paths=False`, for `demo`) to
    a command, which then receives `opts: ScanOptions` in their place (`paths=()` without the
    argument: the command fills them in with `dataclasses.replace`)."""

    def decorate(f: C) -> C:
        @functools.wraps(f)
        def wrapper(
            *args: Any,
            profile: str,
            min_score: float | None,
            quiet: bool,
            rule_paths: tuple[str, ...],
            placeholders: str | None,
            engine: str,
            strict: bool,
            spark_master: str,
            spark_conf: tuple[str, ...],
            allowlist: Allowlist,
            default_filters: bool,
            window: TimeWindow | None,
            baseline: Path | None,
            **kw: Any,
        ) -> Any:
            opts = ScanOptions(
                paths=tuple(kw.pop("paths", ())),
                profile=get_profile(profile),
                rule_paths=rule_paths,
                placeholders=placeholders,
                engine=engine,
                strict=strict,
                engine_options=MappingProxyType(
                    {"spark_master": spark_master, "spark_conf": spark_conf}
                ),
                min_score=min_score,
                allowlist=allowlist,
                default_filters=default_filters,
                window=window,
                limits=Limits(),  # the --max-* options have set the environment it reads
                quiet=quiet,
                baseline=baseline,
            )
            s3.SINCE_NS = window.since_ns if window else None  # prunes S3 date folders
            return f(*args, opts=opts, **kw)

        cmd: Any = baseline_option(allow_options(window_options(limit_options(wrapper))))
        for option in reversed(_OPTIONS):
            cmd = option(cmd)
        if paths:
            cmd = click.argument("paths", nargs=-1, required=True)(cmd)
        return cmd  # type: ignore[no-any-return]

    return decorate
