"""Writing findings to stdout when the reader may leave early (`trailhound detect ... | head`)."""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Callable, Iterable
from typing import Any, NoReturn, TextIO

import click

from trailhound.cli.exits import EXIT_BROKEN_PIPE


def write_stdout(writer: Callable[[Iterable[Any], TextIO], None], rows: Iterable[Any]) -> bool:
    """Write `rows` with `writer` to stdout; False when the reader closed the pipe first."""
    try:
        writer(rows, sys.stdout)
        sys.stdout.flush()
    except BrokenPipeError:
        silence_stdout()
        return False
    return True


def silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's last flush of the unwritten rest does not
    fail again and print a traceback (the recipe of Python's signal module docs, SIGPIPE note)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def buffered_stdout() -> None:
    """Give stdout a BufferedWriter again when `python -u` / PYTHONUNBUFFERED took it away.

    Unbuffered, the text layer writes straight to the raw file and ignores a short write: when
    the reader of a pipe leaves (or a signal interrupts the write) the rest of a big write is
    dropped without an error, so rows are lost silently and the exit code says success. A
    BufferedWriter retries the rest and raises BrokenPipeError instead.
    """
    out = sys.stdout
    # only the process's own stdout: a caller's stream (pytest's capture, a StringIO) is theirs
    if out is not sys.__stdout__ or not isinstance(out, io.TextIOWrapper):
        return
    if not isinstance(out.buffer, io.RawIOBase):
        return
    out.flush()
    raw = io.FileIO(out.fileno(), "wb", closefd=False)  # the same fd 1, never closed by us
    sys.stdout = io.TextIOWrapper(
        io.BufferedWriter(raw), encoding=out.encoding, errors=out.errors, line_buffering=out.isatty()
    )


class PipeGroup(click.Group):
    """The command group: whatever a command writes (its help included), a reader that leaves
    early (`trailhound rules list | head`) ends it quietly with EXIT_BROKEN_PIPE, as `detect`
    does (write_stdout), instead of click's own exit 1 for EPIPE. One place, so every command
    and every future one follows it."""

    def make_context(self, *args: Any, **kw: Any) -> click.Context:  # `trailhound --help`
        try:
            return super().make_context(*args, **kw)
        except BrokenPipeError:
            _left_early()

    def invoke(self, ctx: click.Context) -> Any:  # every command and its own --help
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            _left_early()


def _left_early() -> NoReturn:
    silence_stdout()
    sys.exit(EXIT_BROKEN_PIPE)


def output_failed(exc: OSError) -> str:
    """The one line for output that cannot be written (disk full, I/O error, a vanished folder):
    it reaches main() as an OSError from any command's writes to stdout or to -o FILE. Stdout is
    silenced first, so the interpreter's last flush does not fail again with a traceback."""
    silence_stdout()
    where = f"{exc.filename}: " if exc.filename else ""
    return (f"{where}cannot write the output: {exc.strerror or type(exc).__name__}; free space "
            "there or write elsewhere")
