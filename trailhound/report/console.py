"""rich's Console for the findings table, minus one policy: on a broken pipe rich points stdout
at /dev/null and exits 1 itself; the CLI owns exit codes, so the error is passed up instead."""

from __future__ import annotations

from rich.console import Console


class PipeConsole(Console):
    def on_broken_pipe(self) -> None:
        self.quiet = True  # drop what is still buffered
        raise BrokenPipeError
