"""`trailhound rules test`: run the test cases written inside rule files (the logic is in
rules/cases.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from trailhound.report.escape import for_terminal

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
def rules_test(paths: tuple[str, ...], require_cases: bool) -> None:
    """Run the `tests:` cases of every rule and correlation under PATHS (files or folders):
    each case is a log record (a correlation: a sequence of records) and whether the rule must
    match it. Prints one line per case, then a summary."""
    from trailhound.rules.cases import run_tests

    run = run_tests([Path(p) for p in paths])
    for problem in run.problems:
        click.echo(for_terminal(f"ERROR  {problem}"))
    for r in run.results:
        status = "PASS" if r.passed else "FAIL"
        want = "-" if r.expected is None else ("match" if r.expected else "no match")
        got = r.error or ("-" if r.got is None else ("match" if r.got else "no match"))
        line = f"{status}  {Path(r.path).name}  {r.rule}  {r.case}  expected {want}, got {got}"
        click.echo(for_terminal(line))
    if require_cases:
        for u in run.untested:
            click.echo(for_terminal(f"FAIL  {u}: needs a positive and a negative case"))
    failed = len(run.failed) + len(run.problems) + (len(run.untested) if require_cases else 0)
    click.echo(
        f"{len(run.results)} cases: {len(run.results) - len(run.failed)} passed, "
        f"{len(run.failed)} failed; {len(run.untested)} rules without a positive and a "
        f"negative case; {len(run.problems)} rules not loaded"
    )
    sys.exit(1 if failed else 0)
