"""The exit-code policy: one table, from which `--help` is generated and against which the README
is tested (tests/test_exit_codes.py), and the one function that picks a scan's code."""

from __future__ import annotations

import textwrap

from trailhound.pipeline import ScanStats

EXIT_OK = 0
EXIT_FATAL = 1
EXIT_USAGE = 2
EXIT_INPUT_ERRORS = 3
EXIT_NOTHING_READ = 4
EXIT_INTERRUPTED = 130  # Ctrl-C (SIGINT): 128 + 2, as a shell reports a command it interrupted
# What a shell reports for a filter killed by SIGPIPE (128 + 13): `cat`, `grep`... behave alike.
EXIT_BROKEN_PIPE = 141
EXIT_TERMINATED = 143  # SIGTERM: 128 + 15

EXIT_CODES: tuple[tuple[int, str], ...] = (
    (EXIT_OK, "scan finished, every input read cleanly (with or without findings)"),
    (
        EXIT_FATAL,
        "fatal error (broken rule pack, internal error, temporary folder full); one line on stderr",
    ),
    (
        EXIT_USAGE,
        (
            "usage error (bad option or value, --min-score nan/inf, a PATH that does not exist); "
            "nothing is scanned and nothing is written on stdout"
        ),
    ),
    (
        EXIT_INPUT_ERRORS,
        (
            "scan finished, but some input was bad (truncated gzip, bad JSON, unknown envelope, "
            "wrong-typed field, non-UTF-8 bytes, unreadable file, dangling symlink), a --rules "
            "rule was refused or a correlation rule passed --max-correlation-events: stderr "
            "names each; everything else was processed"
        ),
    ),
    (
        EXIT_NOTHING_READ,
        (
            "nothing readable: no audit record in any input (empty folder, only non-log or skipped "
            "files, a folder holding only a symlinked folder); one line on stderr says so and names "
            "what was skipped; nothing on stdout"
        ),
    ),
    (
        EXIT_INTERRUPTED,
        (
            "interrupted (Ctrl-C): the workers are stopped and temporary files removed; "
            "\"trailhound: aborted\" on stderr; output written so far is incomplete"
        ),
    ),
    (
        EXIT_BROKEN_PIPE,
        (
            "the reader of stdout left early (piped into head): output stops, nothing on stderr, as "
            "for any Unix filter killed by SIGPIPE (128 + 13)"
        ),
    ),
    (
        EXIT_TERMINATED,
        (
            "terminated (SIGTERM: timeout, kill, a stopping container or service): as for "
            "Ctrl-C, the workers are stopped and temporary files removed; \"trailhound: "
            "terminated\" on stderr"
        ),
    ),
)


def epilog() -> str:
    """The table as a click epilog (`\\b` keeps click from re-wrapping it)."""
    lines = ["\b", "Exit codes:"]
    for code, meaning in EXIT_CODES:
        lines.extend(
            textwrap.wrap(
                meaning,
                78,
                initial_indent=f"  {code:<4} ",
                subsequent_indent=" " * 7,
                break_on_hyphens=False,
            )
        )
    return "\n".join(lines) + "\n"


def scan_exit_code(stats: ScanStats) -> int:
    """The code of a scan that ran to its end: bad input (or refused rules) first, since stderr
    lists it; then nothing read at all; otherwise success, findings or not."""
    if stats.error_count or stats.rules_refused:
        return EXIT_INPUT_ERRORS
    if nothing_read(stats):
        return EXIT_NOTHING_READ
    return EXIT_OK


def nothing_read(stats: ScanStats) -> bool:
    return stats.records == 0 and stats.error_count == 0 and stats.rules_refused == 0
