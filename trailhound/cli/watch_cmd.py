"""`trailhound watch` and `detect --state`: incremental detection over a state database
(trailhound/watch/: what is read, what is remembered, how each alert is emitted once)."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Sequence
from contextlib import closing

import click
import orjson

from trailhound.cli.app import scan_ruleset
from trailhound.cli.exits import EXIT_BROKEN_PIPE, EXIT_INPUT_ERRORS, EXIT_OK, epilog
from trailhound.cli.pipe import write_stdout
from trailhound.cli.scan_options import ScanOptions, scan_options
from trailhound.cli.summary import summary_lines
from trailhound.errors import UsageError
from trailhound.report.triage import principal_writer
from trailhound.report.writers import WRITERS, write_jsonl
from trailhound.sources.files import STDIN
from trailhound.triage.principals import rank_principals
from trailhound.tuning.window import parse_duration
from trailhound.watch.cef import Syslog, parse_target
from trailhound.watch.cycle import IDLE_PAUSE_NS, CycleResult, Detector, pause_after
from trailhound.watch.sinks import AlertFile, AlertStream
from trailhound.watch.state import DEFAULT_KEEP, State
from trailhound.watch.webhook import Webhook, check_url
from trailhound.wording import count

Sink = AlertFile | AlertStream | Webhook | Syslog


def _err(msg: str) -> None:
    click.echo(msg, err=True)


def _check_paths(paths: Sequence[str]) -> None:
    if STDIN in paths:
        raise UsageError("-: stdin cannot be read incrementally; give files or folders")


def _report(n: int, result: CycleResult, state: State, opts: ScanOptions) -> None:
    """One line per cycle, and the input errors (as detect lists them)."""
    if not opts.quiet:
        _err(
            f"trailhound watch: cycle {n}: {count(result.files, 'new or changed file')}, "
            f"{count(result.new_alerts, 'new alert')} ({count(state.files_seen(), 'file')} seen, "
            f"{count(result.folders_listed, 'changed folder')} listed)"
        )
    if result.stats.error_count:
        # the input errors as detect lists them, without detect's first line: the cycle line
        # above says what the cycle read, and the scan's findings count would include the
        # matches carried from earlier cycles (correlation windows), not its new alerts
        for line in summary_lines(result.stats, opts.profile.name)[1:]:
            _err(line)


def _code(result: CycleResult, refused: int) -> int:
    # nothing new to read is the normal case of an incremental run, not exit 4
    return EXIT_INPUT_ERRORS if result.stats.error_count or refused else EXIT_OK


def detect_incremental(opts: ScanOptions, fmt: str, state_path: str) -> int:
    """`detect --state FILE`: one cycle, the new alerts on stdout in `fmt` (at least once: see
    watch/sinks.py; the cron-job form of `watch`)."""
    _check_paths(opts.paths)
    ruleset, refused = scan_ruleset(opts)
    detector = Detector(opts, ruleset, [state_path])
    with closing(State(state_path)) as state:
        sink = AlertStream(sys.stdout, WRITERS.get(fmt), state)
        sink.flush()  # what a killed run committed but did not write
        result = detector.run(state)
        sink.flush()
        _report(1, result, state, opts)
        return _code(result, refused)


def _watch_spark(
    detector: Detector, state_path: str, checkpoint: str | None,
    sinks_of: Callable[[State], list[Sink]], pause_ns: int, cycles: int, refused: int,
) -> int:
    """`watch --engine spark`: the cycles are a Structured Streaming query's micro-batches
    (spark/stream.py), each handed to `detector` on the state; the sinks flushed after each."""
    from trailhound.spark.session import build_session
    from trailhound.spark.stream import Stream, run

    opts = detector.opts
    with closing(State(state_path)) as state:
        for sink in sinks_of(state):
            sink.flush()  # what a killed run committed but did not write
    code, n = EXIT_OK, 0

    def after(state: State, result: CycleResult | None) -> None:
        nonlocal code, n
        for sink in sinks_of(state):
            sink.flush()
        if result is not None:
            n += 1
            _report(n, result, state, opts)
            code = max(code, _code(result, refused))

    eng = opts.engine_options
    spark = build_session(eng.get("spark_master", "local[*]"), eng.get("spark_conf"))
    if checkpoint is None:  # hidden: never an input, should the state sit in a watched folder
        head, name = os.path.split(os.path.abspath(state_path))
        checkpoint = os.path.join(head, f".{name}.checkpoint")
    stream = Stream(detector, state_path, checkpoint, after)
    run(stream, spark, opts.paths, pause_ns / 1e9, cycles)
    return code


def principals_incremental(opts: ScanOptions, fmt: str, state_path: str) -> int:
    """`principals --state FILE`: one cycle over the new files (their alerts stay in the
    outbox for the sinks of `watch`/`detect --state`), then the principals of every finding the
    state holds, ranked as `principals` ranks one scan of every file read."""
    _check_paths(opts.paths)
    ruleset, refused = scan_ruleset(opts)
    detector = Detector(opts, ruleset, [state_path])
    with closing(State(state_path)) as state:
        result = detector.run(state)
        _report(1, result, state, opts)
        ranked = rank_principals(orjson.loads(r) for r in state.finding_rows())
    if not write_stdout(principal_writer(fmt), ranked):
        return EXIT_BROKEN_PIPE
    if not opts.quiet:
        risky = sum(1 for r in ranked if r["risky"])
        _err(f"  {count(len(ranked), 'principal')}, {risky} risky (every cycle of {state_path})")
    return _code(result, refused)



# The longest duration an option takes: no schedule, lookback or retention means more, and a
# larger one overflowed what it feeds after the first cycle (time.sleep, the lookback's date,
# SQLite's 64-bit integers): a traceback, or an error blaming the state file.
MAX_DAYS = 36_500


def _duration(option: str, text: str, examples: str) -> int:
    """`text` as nanoseconds (tuning/window.parse_duration), at most MAX_DAYS; else a
    UsageError naming the option."""
    ns = parse_duration(text)
    if ns is None:
        raise UsageError(f"{option} {text!r}: write a duration: {examples}")
    if ns > MAX_DAYS * 86_400 * 10**9:
        raise UsageError(f"{option} {text!r}: at most {MAX_DAYS}d (100 years); {examples}")
    return ns

@click.command(epilog=epilog())
@click.option(
    "--state", "state_path", required=True, metavar="FILE",
    help="SQLite database of what was read and emitted (created if missing).",
)
@click.option(
    "--interval", default="60s", show_default=True,
    help=f"Time between cycles: 30s, 5m, 1h (0s: back to back); after a cycle that read "
    f"nothing new, at least {IDLE_PAUSE_NS // 10**9}s.",
)
@click.option(
    "--output", default="-", show_default=True, metavar="FILE.jsonl|-",
    help="Append alerts as JSON lines to FILE (exactly once, even if killed), or - for stdout "
    "(at least once: each line carries its alert_id).",
)
@click.option(
    "--webhook", metavar="URL", default=None,
    help="Also POST each alert as JSON to URL (Idempotency-Key header: the alert id); alerts "
    "the target did not take stay pending in the state and are sent when it is back.",
)
@click.option(
    "--syslog", metavar="HOST:PORT", default=None,
    help="Also send each alert as CEF over syslog (TCP, RFC 5424, octet counting) to a SIEM.",
)
@click.option(
    "--lookback", metavar="DURATION", default=None,
    help="Skip CloudTrail date folders (.../CloudTrail/REGION/YYYY/MM/DD/) older than DURATION "
    "before the newest one read (e.g. 2d): each cycle's listing stays small as days pass.",
)
@click.option(
    "--cycles", type=click.IntRange(min=0), default=0,
    help="Stop after N cycles (0: run until interrupted).",
)
@click.option(
    "--keep", default=DEFAULT_KEEP, show_default=True, metavar="DURATION",
    help="Delete alerts emitted longer ago than this, once every sink has them and no open "
    "correlation window can raise them again (docs/watch.md); 0s keeps only those.",
)
@click.option(
    "--checkpoint", metavar="DIR", default=None,
    help="--engine spark: the Structured Streaming checkpoint location, outside the watched "
    "folders (default: .STATE.checkpoint beside the state file).",
)
@scan_options()
def watch(
    state_path: str, interval: str, output: str, webhook: str | None, syslog: str | None,
    lookback: str | None, cycles: int, keep: str, checkpoint: str | None, opts: ScanOptions,
) -> None:
    """Detect continuously in PATHS: every interval, read only new or changed files, carry
    correlation windows across cycles, and emit each alert (one rule on one event) once."""
    pause = _duration("--interval", interval, "30s, 5m, 1h")
    back = None if lookback is None else _duration("--lookback", lookback, "2d, 36h")
    keep_ns = _duration("--keep", keep, "30d, 12h, 0s")
    _check_paths(opts.paths)
    if webhook is not None:  # before anything is read
        check_url(webhook)
    if syslog is not None:
        parse_target(syslog)
    ruleset, refused = scan_ruleset(opts)
    own = [state_path] + ([output] if output != STDIN else [])
    detector = Detector(opts, ruleset, own, lookback_ns=back, keep_ns=keep_ns)

    def sinks_of(state: State) -> list[Sink]:
        sinks: list[Sink] = [
            AlertStream(sys.stdout, write_jsonl, state) if output == STDIN
            else AlertFile(output, state)
        ]
        if webhook is not None:
            sinks.append(Webhook(webhook, state, _err))
        if syslog is not None:
            sinks.append(Syslog(syslog, state, _err))
        return sinks

    if opts.engine == "spark":
        if lookback is not None:
            raise UsageError(
                "--lookback does not apply to --engine spark (Spark's file source lists the "
                "folder itself: docs/watch.md); leave it out"
            )
        sys.exit(_watch_spark(detector, state_path, checkpoint, sinks_of, pause, cycles, refused))
    code = EXIT_OK
    with closing(State(state_path)) as state:
        sinks = sinks_of(state)
        for sink in sinks:
            sink.flush()  # what a killed run committed but did not write
        n = 0
        while True:
            n += 1
            result = detector.run(state)
            for sink in sinks:
                sink.flush()
            _report(n, result, state, opts)
            code = max(code, _code(result, refused))
            if cycles and n >= cycles:
                break
            time.sleep(pause_after(result, pause) / 1e9)
    sys.exit(code)
