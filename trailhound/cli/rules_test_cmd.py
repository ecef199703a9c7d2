"""`trailhound rules test`: run the test cases written inside rule files (the logic is in
rules/cases.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from trailhound.cli.options import format_opt
from trailhound.cli.pipe import write_stdout
from trailhound.wording import count

TEST_EXIT_HELP = """\b
Exit codes:
  0  every case passed (and, with --require-cases, every rule has a positive and a negative)
  1  a case failed, a case is malformed, a rule did not load, or --require-cases is not met
  2  usage error (a PATH does not exist)
"""


@click.command("test", epilog=TEST_EXIT_HELP)
@click.argument("paths", nargs=-1, required=True)
@click.option("--require-cases", is_flag=True,
              help="Also fail when a rule has no positive (match: true) and negative "
              "(match: false) case.")
@format_opt
def rules_test(paths: tuple[str, ...], require_cases: bool, fmt: str) -> None:
    """Run the `tests:` cases of every rule and correlation under PATHS (files or folders):
    each case is a log record (a correlation: a sequence of records) and whether the rule must
    match it. Prints one row per case (status, file, rule, case, expected, got) and a summary on
    stderr."""
    from trailhound.report.rows import write_rows
    from trailhound.rules.cases import run_tests

    run = run_tests([Path(p) for p in paths])
    table = [_row("ERROR", p, "-", "-", None, "did not load") for p in run.problems]
    for r in run.results:
        got = r.error or _verdict(r.got)
        table.append(_row("PASS" if r.passed else "FAIL", r.path, r.rule, r.case, r.expected, got))
    if require_cases:
        for path, rule in run.untested:
            table.append(_row("FAIL", path, rule, "-", None, "needs a positive and a negative case"))
    write_stdout(lambda rows, out: write_rows(fmt, COLUMNS, rows, out), table)
    failed = sum(row["status"] != "PASS" for row in table)
    click.echo(
        f"trailhound: rules test: {count(len(run.results), 'case')}, {len(run.failed)} failed; "
        f"{count(len(run.untested), 'rule')} without a positive and a negative case; "
        f"{count(len(run.problems), 'rule')} not loaded",
        err=True,
    )
    sys.exit(1 if failed else 0)


COLUMNS = ("status", "file", "rule", "case", "expected", "got")


def _verdict(matched: bool | None) -> str:
    return "-" if matched is None else ("match" if matched else "no match")


def _row(status: str, path: str, rule: str, case: str, expected: bool | None,
         got: str) -> dict[str, str]:
    return dict(zip(COLUMNS, (status, Path(path).name, rule, case, _verdict(expected), got),
                    strict=True))
