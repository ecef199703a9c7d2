"""The command line: the only layer that prints, picks exit codes and catches TrailhoundError."""

from __future__ import annotations

import dataclasses
import functools
import itertools
import signal
import sys
from collections.abc import Iterable, Sequence
from types import FrameType
from typing import Any

import click

from trailhound import __version__
from trailhound.api import user_ruleset
from trailhound.cli.exits import (  # the EXIT_ names are imported from here by other commands
    EXIT_BROKEN_PIPE,
    EXIT_FATAL,
    EXIT_INPUT_ERRORS,  # noqa: F401
    EXIT_INTERRUPTED,
    EXIT_OK,  # noqa: F401
    EXIT_TERMINATED,
    EXIT_USAGE,
    epilog,
    nothing_read,
    scan_exit_code,
)
from trailhound.cli.options import format_opt
from trailhound.cli.pipe import (
    PipeGroup,
    buffered_stdout,
    output_failed,
    silence_stdout,
    write_stdout,
)
from trailhound.cli.scan_options import DEFAULT_ENGINE, ScanOptions, scan_options  # noqa: F401
from trailhound.cli.summary import nothing_read_line, summary_lines
from trailhound.cli.tuning_opts import tuned_ruleset
from trailhound.errors import TrailhoundError, UsageError
from trailhound.logsources import titles
from trailhound.pipeline import ScanStats, ScanStream, scan_stream
from trailhound.profiles import Profile
from trailhound.report.columns import row, row_json
from trailhound.report.escape import for_terminal
from trailhound.report.writers import WRITERS, wants_raw
from trailhound.rules.model import RuleSet
from trailhound.sources.files import missing_paths

EXIT_CODES_HELP = epilog()


def _err(msg: str) -> None:
    click.echo(msg, err=True)


def print_summary(stats: ScanStats, profile: str) -> None:
    for line in summary_lines(stats, profile):
        _err(line)


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


def _run_scan(opts: ScanOptions, ruleset: RuleSet | None, rows_only: bool = False) -> ScanStream:
    stdin = sys.stdin.buffer if "-" in opts.paths else None
    scan = functools.partial(
        scan_stream, opts.paths, opts.profile, ruleset=ruleset, engine=opts.engine,
        strict=opts.strict, engine_options=opts.engine_options, min_score=opts.min_score,
        stdin=stdin, window=opts.window, limits=opts.limits, baseline=opts.baseline,
        rows_only=rows_only,
    )
    if opts.quiet or not sys.stderr.isatty():
        return _primed(scan())
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

        return _primed(scan(on_start=on_start, on_file=on_file))


def _primed(s: ScanStream) -> ScanStream:
    """The stream with its first finding computed: the whole scan runs now (under the progress
    bar), the findings are written after."""
    it = s.findings
    first = next(it, None)
    s.findings = it if first is None else itertools.chain((first,), it)
    return s


def scan_ruleset(opts: ScanOptions) -> tuple[RuleSet | None, int]:
    """The rule set `opts` asks for (None: the profile's pack as shipped) and how many rules
    were refused. A path that does not exist is a usage error, before anything is read."""
    missing = missing_paths(opts.paths)
    if missing:  # a typo must not look like a scan of nothing
        raise UsageError(f"{missing[0]}: no such file or folder; check the path")
    ruleset, refused = _checked_ruleset(
        opts.profile, opts.rule_paths, opts.placeholders, opts.default_filters
    )
    ruleset = tuned_ruleset(opts.profile, ruleset, opts.allowlist, opts.default_filters, _err)
    return ruleset, refused


def finding_rows(
    opts: ScanOptions, raw: bool = False
) -> tuple[Iterable[dict[str, Any]], ScanStats]:
    """The finding rows (report/columns.row; `raw`: with the original record) of any engine, in
    order, and the scan's summary (complete once the rows are consumed): what `detect` prints
    and triage builds on."""
    result = scan_findings(opts)
    return (row(f, opts.profile, raw=raw) for f in result.findings), result.stats


def scan_findings(opts: ScanOptions, rows_only: bool = False) -> ScanStream:
    """The findings themselves (their events and raw records: the HTML report needs them) and
    the scan's summary, complete once the findings are consumed (`rows_only`: for a consumer
    of row_json alone; see pipeline.scan_stream)."""
    ruleset, refused = scan_ruleset(opts)
    result = _run_scan(opts, ruleset, rows_only)
    result.stats.rules_refused = refused
    return result


def _detect(opts: ScanOptions, fmt: str) -> int:
    writer = WRITERS.get(fmt)
    if getattr(writer, "takes_json", False):  # rows as JSON, most built by the workers
        found = scan_findings(opts, rows_only=True)
        # (map: a generator expression was a Python step per finding)
        return emit(writer, map(row_json, found.findings, itertools.repeat(opts.profile)), found.stats, opts)
    rows, stats = finding_rows(opts, raw=wants_raw(writer))
    return emit(writer, rows, stats, opts)


def emit(
    writer: Any,
    rows: Iterable[Any],
    stats: ScanStats,
    opts: ScanOptions,
    notes: Sequence[str] = (),
) -> int:
    """Write a scan's rows (any view of them) to stdout, then its summary and `notes` on
    stderr; the exit code. The one way from a scan to the terminal, for detect and triage."""
    if nothing_read(stats):
        _err(nothing_read_line(stats, opts.paths))  # even with --quiet: why the exit code is 4
        return scan_exit_code(stats)
    if not write_stdout(writer, rows):
        return EXIT_BROKEN_PIPE
    if not opts.quiet:
        print_summary(stats, opts.profile.name)
        for note in notes:
            _err(note)
    return scan_exit_code(stats)


# The help texts that name log sources are built from the Source registry, so they cannot drift.
@click.group(
    cls=PipeGroup,
    help=f"Hunt cloud API abuse (ATT&CK T1059.009) in {titles()} logs.",
    epilog=EXIT_CODES_HELP,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(__version__, prog_name="trailhound")
@click.option("--debug", is_flag=True, help="Show Python tracebacks for errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    ctx.obj = {"debug": debug}


@cli.command(epilog=EXIT_CODES_HELP)
@format_opt
@scan_options()
@click.option("--state", metavar="FILE", help="Incremental: read only files not read before, "
              "print only alerts not printed before (SQLite state; see `trailhound watch`).")
def detect(fmt: str, opts: ScanOptions, state: str | None) -> None:
    """Score suspicious cloud API calls in PATHS (files, folders, or - for stdin).

    Formats are recognised by content, gzip or plain: `trailhound sources` lists every log
    source and the shapes and envelopes each may come in.
    """
    if state is not None:  # issue 15
        from trailhound.cli.watch_cmd import detect_incremental

        sys.exit(detect_incremental(opts, fmt, state))
    sys.exit(_detect(opts, fmt))


@cli.command(
    epilog=EXIT_CODES_HELP,
    short_help="Run the detection on the built-in demo dataset.",
    help=f"Run the detection on the built-in dataset ({titles()} logs; attacks and noise).",
)
@format_opt
@scan_options(paths=False)
def demo(fmt: str, opts: ScanOptions) -> None:
    from trailhound.demo import dataset_path

    sys.exit(_detect(dataclasses.replace(opts, paths=(str(dataset_path()),)), fmt))


from trailhound.cli.rules_cmd import rules
from trailhound.cli.tune_cmd import tune

cli.add_command(rules)
from trailhound.cli.emulate_cmd import emulate  # issue 13: emulate, rules test, validate
from trailhound.cli.rules_test_cmd import rules_test
from trailhound.cli.validate_cmd import validate

cli.add_command(emulate)
cli.add_command(validate)
rules.add_command(rules_test)
from trailhound.cli.coverage_cmd import coverage  # issue 16

rules.add_command(coverage)
from trailhound.cli.explain_cmd import explain
from trailhound.cli.hunt_cmd import hunt
from trailhound.cli.sources_cmd import sources
from trailhound.cli.triage_cmd import principals, timeline

for _command in (tune, principals, timeline, hunt, explain, sources):
    cli.add_command(_command)
from trailhound.cli.export_cmd import export  # issue 14: exports to other query languages

cli.add_command(export)
from trailhound.cli.report_cmd import report  # issue 12: the HTML report

cli.add_command(report)
from trailhound.cli.sumo_cmd import sumo  # issue 14: the local Sumo Logic search runner

cli.add_command(sumo)
from trailhound.cli.watch_cmd import watch  # issue 15: continuous detection

cli.add_command(watch)
from trailhound.cli.attack_cmd import attack_layer  # issue 12: ATT&CK Navigator layers

cli.add_command(attack_layer)
from trailhound.cli.baseline_cmd import baseline  # issue 16: first-seen baselines

cli.add_command(baseline)


class Terminated(KeyboardInterrupt):
    """SIGTERM (`timeout`, `kill`, a container or service stopping): ended as a Ctrl-C is - the
    workers stopped, the temporary folders removed (a 1M-finding scan's rows: ~1.3 GB left in
    TMPDIR when the signal killed the process outright) - but said and exited as SIGTERM's
    (143). A KeyboardInterrupt, so every path that handles Ctrl-C handles it."""


def _terminated(signum: int, frame: FrameType | None) -> None:
    raise Terminated


def _on_sigterm() -> None:
    """Raise Terminated on SIGTERM in this (main) thread, unless SIGTERM is not the default's
    (ignored, or a program that runs us has its own handler)."""
    try:
        if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
            signal.signal(signal.SIGTERM, _terminated)
    except ValueError:  # not the main thread
        pass


def main(argv: Sequence[str] | None = None) -> None:
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    buffered_stdout()
    _on_sigterm()
    try:
        cli.main(args=list(argv) if argv is not None else None, prog_name="trailhound", standalone_mode=False)
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)
    except click.ClickException as e:
        e.show()
        sys.exit(EXIT_USAGE)
    except (click.exceptions.Abort, Terminated) as e:  # (click makes a Terminated its Abort's cause)
        if isinstance(e, Terminated) or isinstance(e.__cause__, Terminated):
            _err("trailhound: terminated")
            sys.exit(EXIT_TERMINATED)
        _err("trailhound: aborted")
        sys.exit(EXIT_INTERRUPTED)
    except TrailhoundError as e:
        if debug:
            raise
        _err(f"trailhound: error: {for_terminal(e)}")
        sys.exit(e.exit_code)
    except BrokenPipeError:
        # a safety net: detect handles its reader leaving (write_stdout), and PipeGroup any
        # other command's
        silence_stdout()
        sys.exit(EXIT_BROKEN_PIPE)
    except OSError as e:  # output that cannot be written: one line, as any fatal error
        if debug:
            raise
        _err(f"trailhound: error: {for_terminal(output_failed(e))}")
        sys.exit(EXIT_FATAL)
