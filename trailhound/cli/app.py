"""The command line: the only layer that prints, picks exit codes and catches TrailhoundError."""

from __future__ import annotations

import itertools
import sys
from collections.abc import Iterable, Sequence
from typing import Any

import click

from trailhound import __version__
from trailhound.api import user_ruleset
from trailhound.cli.engine_opts import strict_opt
from trailhound.cli.exits import (  # the EXIT_ names are imported from here by other commands
    EXIT_BROKEN_PIPE,
    EXIT_FATAL,  # noqa: F401
    EXIT_INPUT_ERRORS,  # noqa: F401
    EXIT_OK,  # noqa: F401
    EXIT_USAGE,
    epilog,
    nothing_read,
    scan_exit_code,
)
from trailhound.cli.limits_opt import limit_options
from trailhound.cli.options import format_opt as _format_opt
from trailhound.cli.params import FINITE_FLOAT
from trailhound.cli.pipe import buffered_stdout, silence_stdout, write_stdout
from trailhound.cli.summary import nothing_read_line, skipped_parts
from trailhound.cli.tuning_opts import allow_options, tuned_ruleset, window_options
from trailhound.engine import DEFAULT_ENGINE
from trailhound.errors import TrailhoundError, UsageError
from trailhound.pipeline import ScanStats, ScanStream, scan_stream
from trailhound.profiles import DEFAULT_PROFILE, PROFILES, Profile, get_profile
from trailhound.report.columns import row
from trailhound.report.escape import for_terminal
from trailhound.report.writers import WRITERS
from trailhound.rules.model import RuleSet
from trailhound.sources.classify import UNDERSTOOD
from trailhound.sources.files import missing_paths
from trailhound.tuning.allowlist import Allowlist
from trailhound.tuning.summary import print_tuning
from trailhound.tuning.window import TimeWindow

EXIT_CODES_HELP = epilog()


def _err(msg: str) -> None:
    click.echo(msg, err=True)


def print_summary(stats: ScanStats, profile: str) -> None:
    _err(
        f"trailhound: {stats.files} files, {stats.records} records, {stats.events} events, "
        f"{stats.findings} findings (profile {profile})"
    )
    if stats.not_admitted:
        _err(f"  not in the query's source categories: {stats.not_admitted} events")
    if stats.skipped:
        _err("  skipped (not audit records):")
        for part in skipped_parts(stats):
            _err(f"    {part}")
    for title, n in sorted(stats.suppressed.items()):
        if title not in stats.removed:  # allowlist entries: findings removed, just below
            _err(f"  filtered: {n} matches removed by {for_terminal(title)!s}")
    print_tuning(stats, _err)
    if stats.errors:
        parts = ", ".join(f"{k} {n}" for k, n in sorted(stats.errors.items()))
        _err(f"  {stats.error_count} input errors ({parts}):")
        # the list of understood shapes closes every unknown_envelope message: say it once
        hint = f"; trailhound understands {UNDERSTOOD}"
        hinted = False
        for issue in stats.samples:
            text = str(issue)
            if text.endswith(hint):
                text, hinted = text[: -len(hint)], True
            _err(f"    {for_terminal(text)}")
        rest = stats.error_count - len(stats.samples)
        if rest > 0:
            _err(f"    ... and {rest} more like these")
        if hinted:
            _err(f"  trailhound understands {UNDERSTOOD}")


def _ruleset(
    profile: Profile, rule_paths: Sequence[str], placeholders: str | None,
    default_filters: bool = True,
) -> RuleSet | None:
    """The profile's pack plus the rules under `rule_paths` (None: the pack alone, loaded by
    scan). A user rule that does not load or compile is reported on stderr, one line each, and
    skipped; the others run."""
    return _checked_ruleset(profile, rule_paths, placeholders, default_filters)[0]


def _checked_ruleset(
    profile: Profile, rule_paths: Sequence[str], placeholders: str | None,
    default_filters: bool = True,
) -> tuple[RuleSet | None, int]:
    """`_ruleset`, and how many rules were refused (they make the exit code 3)."""
    ruleset, problems = user_ruleset(profile, rule_paths, placeholders, default_filters)
    for problem in problems:
        _err(f"trailhound: rule skipped: {for_terminal(problem)}")
    return ruleset, len(problems)


def _run_scan(
    paths: Sequence[str],
    profile_name: str,
    min_score: float | None,
    quiet: bool,
    ruleset: RuleSet | None = None,
    engine: str = DEFAULT_ENGINE,
    window: TimeWindow | None = None,
    strict: bool = False,
) -> ScanStream:
    profile = get_profile(profile_name)
    stdin = sys.stdin.buffer if "-" in paths else None
    if quiet or not sys.stderr.isatty():
        return _primed(
            scan_stream(
                paths, profile, ruleset=ruleset, engine=engine, min_score=min_score, stdin=stdin,
                window=window, strict=strict,
            )
        )
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(
        TextColumn("scanning"),
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task("scan", total=None)

        def on_start(specs: Sequence[Any]) -> None:
            bar.update(task, total=sum(s.size or 0 for s in specs) or None)

        def on_file(spec: Any) -> None:
            bar.advance(task, spec.size or 0)

        return _primed(scan_stream(
            paths,
            profile,
            ruleset=ruleset,
            engine=engine,
            min_score=min_score,
            stdin=stdin,
            on_start=on_start,
            on_file=on_file,
            window=window,
            strict=strict,
        ))


def _primed(s: ScanStream) -> ScanStream:
    """The stream with its first finding computed: the whole scan runs now (under the progress
    bar), the findings are written after."""
    it = s.findings
    first = next(it, None)
    s.findings = it if first is None else itertools.chain((first,), it)
    return s


def finding_rows(
    paths: Sequence[str],
    profile: str,
    min_score: float | None,
    quiet: bool,
    rule_paths: Sequence[str] = (),
    placeholders: str | None = None,
    engine: str = DEFAULT_ENGINE,
    spark_master: str = "local[*]",
    spark_conf: Sequence[str] = (),
    allowlist: Allowlist | None = None,
    default_filters: bool = True,
    window: TimeWindow | None = None,
    strict: bool = False,
) -> tuple[Iterable[dict[str, Any]], ScanStats]:
    """The finding rows (report/columns.row) of any engine, in order, and the scan's summary
    (complete once the rows are consumed): what `detect` prints and triage builds on. A path
    that does not exist is a usage error, before anything is read."""
    missing = missing_paths(paths)
    if missing:  # a typo must not look like a scan of nothing
        raise UsageError(f"{missing[0]}: no such file or folder; check the path")
    ruleset, refused = _checked_ruleset(get_profile(profile), rule_paths, placeholders, default_filters)
    ruleset = tuned_ruleset(
        get_profile(profile), ruleset, allowlist or Allowlist(), default_filters, _err
    )
    if engine == "spark":
        from trailhound.spark.api import run_cli

        rows, stats = run_cli(
            paths, get_profile(profile), ruleset, min_score, spark_master, spark_conf, window
        )
    else:
        result = _run_scan(paths, profile, min_score, quiet, ruleset, engine, window, strict)
        p = get_profile(profile)
        rows, stats = (row(f, p) for f in result.findings), result.stats
    stats.rules_refused = refused
    return rows, stats


def _detect(
    paths: Sequence[str],
    profile: str,
    fmt: str,
    min_score: float | None,
    quiet: bool,
    rule_paths: Sequence[str] = (),
    placeholders: str | None = None,
    engine: str = DEFAULT_ENGINE,
    spark_master: str = "local[*]",
    spark_conf: Sequence[str] = (),
    allowlist: Allowlist | None = None,
    default_filters: bool = True,
    window: TimeWindow | None = None,
    strict: bool = False,
) -> int:
    writer = WRITERS.get(fmt)
    rows, stats = finding_rows(
        paths, profile, min_score, quiet, rule_paths, placeholders, engine, spark_master,
        spark_conf, allowlist, default_filters, window, strict,
    )
    return emit(writer, rows, stats, paths, profile, quiet)


def emit(
    writer: Any,
    rows: Iterable[Any],
    stats: ScanStats,
    paths: Sequence[str],
    profile: str,
    quiet: bool,
    notes: Sequence[str] = (),
) -> int:
    """Write a scan's rows (any view of them) to stdout, then its summary and `notes` on
    stderr; the exit code. The one way from a scan to the terminal, for detect and triage."""
    if nothing_read(stats):
        _err(nothing_read_line(stats, paths))  # even with --quiet: it is why the exit code is 4
        return scan_exit_code(stats)
    if not write_stdout(writer, rows):
        return EXIT_BROKEN_PIPE
    if not quiet:
        print_summary(stats, profile)
        for note in notes:
            _err(note)
    return scan_exit_code(stats)


_profile_opt = click.option(
    "--profile",
    type=click.Choice(sorted(PROFILES)),
    default=DEFAULT_PROFILE,
    show_default=True,
    help="seed: the catalog query as written (bug-compatible); corrected: its defects fixed.",
)
_min_score_opt = click.option(
    "--min-score",
    type=FINITE_FLOAT,
    default=None,
    help="Keep findings scoring at least N (default: score > 0; 0 keeps every flagged event).",
)
_quiet_opt = click.option("--quiet", "-q", is_flag=True, help="No progress bar and no summary on stderr.")
_rules_opt = click.option(
    "--rules",
    "rule_paths",
    multiple=True,
    metavar="PATH",
    help="Also run the Sigma rules in PATH (a .yml file or a folder; repeatable) with the "
    "profile's pack. A rule that does not load or compile is reported on stderr and skipped "
    "(`trailhound rules check PATH` says why for every file).",
)
_engine_opt = click.option(
    "--engine",
    type=click.Choice(["parallel", "fast", "reference", "spark"]),
    default=DEFAULT_ENGINE,
    show_default=True,
    help="fast: files read in worker processes (one per core), each record checked only "
    "against the rules it can match, and the records of CloudTrail S3 files that no rule can "
    "match not even decoded (see --strict). parallel: fast --strict (its former name). "
    "reference: the plain-Python, one-process oracle. spark: the same detection on Apache "
    "Spark (pip install 'trailhound[spark]'; paths may be s3a://, abfss://, gs://, hdfs:// URIs).",
)
_spark_master_opt = click.option(
    "--spark-master",
    default="local[*]",
    show_default=True,
    help="Spark master URL for --engine spark.",
)
_spark_conf_opt = click.option(
    "--spark-conf",
    multiple=True,
    metavar="KEY=VALUE",
    help="Spark configuration for --engine spark (repeatable).",
)
_placeholders_opt = click.option(
    "--placeholders",
    metavar="FILE",
    default=None,
    help="YAML/JSON map of placeholder name -> list of values, filling the |expand "
    "placeholders of --rules rules.",
)


@click.group(epilog=EXIT_CODES_HELP, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="trailhound")
@click.option("--debug", is_flag=True, help="Show Python tracebacks for errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Hunt cloud API abuse (ATT&CK T1059.009) in CloudTrail, Azure Activity, Entra ID audit
    and GCP audit logs."""
    ctx.obj = {"debug": debug}


@cli.command(epilog=EXIT_CODES_HELP)
@click.argument("paths", nargs=-1, required=True)
@_profile_opt
@_format_opt
@_min_score_opt
@_quiet_opt
@_rules_opt
@_placeholders_opt
@_engine_opt
@strict_opt
@_spark_master_opt
@_spark_conf_opt
@allow_options
@window_options
@limit_options
def detect(
    paths: tuple[str, ...],
    profile: str,
    fmt: str,
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
) -> None:
    """Score suspicious cloud API calls in PATHS (files, folders, or - for stdin).

    Formats are recognised by content: CloudTrail S3 files, JSON lines, EventBridge, CloudWatch
    Logs subscriptions, lookup-events output; Azure Activity (all shapes); Entra ID audit; GCP
    audit LogEntries; gzip or plain.
    """
    sys.exit(
        _detect(
            paths, profile, fmt, min_score, quiet, rule_paths, placeholders, engine,
            spark_master, spark_conf, allowlist, default_filters, window, strict,
        )
    )


@cli.command(epilog=EXIT_CODES_HELP)
@_profile_opt
@_format_opt
@_min_score_opt
@_quiet_opt
@_rules_opt
@_placeholders_opt
@strict_opt
@allow_options
@window_options
@limit_options
def demo(
    profile: str,
    fmt: str,
    min_score: float | None,
    quiet: bool,
    rule_paths: tuple[str, ...],
    placeholders: str | None,
    strict: bool,
    allowlist: Allowlist,
    default_filters: bool,
    window: TimeWindow | None,
) -> None:
    """Run the detection on the built-in dataset (AWS, Azure, Entra ID, GCP, M365; attacks and noise)."""
    from trailhound.demo import dataset_path

    sys.exit(
        _detect(
            [str(dataset_path())], profile, fmt, min_score, quiet, rule_paths, placeholders,
            allowlist=allowlist, default_filters=default_filters, window=window, strict=strict,
        )
    )


from trailhound.cli.rules_cmd import rules
from trailhound.cli.tune_cmd import tune

cli.add_command(rules)
from trailhound.cli.explain_cmd import explain
from trailhound.cli.hunt_cmd import hunt
from trailhound.cli.triage_cmd import principals, timeline

for _command in (tune, principals, timeline, hunt, explain):
    cli.add_command(_command)


def main(argv: Sequence[str] | None = None) -> None:
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    buffered_stdout()
    try:
        cli.main(args=list(argv) if argv is not None else None, prog_name="trailhound", standalone_mode=False)
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)
    except click.ClickException as e:
        e.show()
        sys.exit(EXIT_USAGE)
    except click.exceptions.Abort:
        _err("trailhound: aborted")
        sys.exit(130)
    except TrailhoundError as e:
        if debug:
            raise
        _err(f"trailhound: error: {for_terminal(e)}")
        sys.exit(e.exit_code)
    except BrokenPipeError:
        # a safety net: detect handles its reader leaving (write_stdout), and click turns a
        # broken pipe inside any other command into exit 1 itself
        silence_stdout()
        sys.exit(EXIT_BROKEN_PIPE)
