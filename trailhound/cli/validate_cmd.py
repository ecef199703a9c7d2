"""`trailhound validate`: every emulated scenario through the detection, as a coverage matrix
(the logic is in emulate/check.py, the layout in emulate/coverage.py)."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import click

from trailhound.cli.choices import ENGINE_CHOICE, PROFILE_CHOICE
from trailhound.cli.pipe import write_stdout
from trailhound.cli.tuning_opts import allow_options, tuned_ruleset
from trailhound.emulate.run import DEFAULT_SEED
from trailhound.errors import RuleError
from trailhound.profiles import DEFAULT_PROFILE, get_profile
from trailhound.report.escape import for_terminal
from trailhound.tuning.allowlist import Allowlist


def _err(msg: str) -> None:
    click.echo(msg, err=True)


# validate writes its own coverage matrix (emulate/coverage.py), not finding rows: its formats
# are not the WRITERS registry's
FORMATS = ("table", "jsonl", "csv", "junit")

VALIDATE_HELP = """\b
Exit codes:
  0  every expected signal fired, every scenario read cleanly, every benign look-alike ranks
     under every attack chain
  1  an expectation failed (each FAIL line names the scenario and the signal), or a --rules
     rule did not load
  2  usage error
"""


@click.command(epilog=VALIDATE_HELP)
@click.option("--rules", "rule_paths", multiple=True, metavar="PATH",
              help="Validate the Sigma rules in PATH (file or folder; repeatable) instead of the "
              "profile's pack.")
@click.option("--profile", type=PROFILE_CHOICE, default=DEFAULT_PROFILE,
              show_default=True, help="Whose pack (and output conventions) to validate.")
@allow_options
@click.option("--format", "fmt", type=click.Choice(FORMATS),
              default="table", show_default=True,
              help="The coverage matrix on stdout as a table, JSON lines or CSV, or JUnit XML "
              "for CI systems. FAIL lines and the summary go to stderr.")
@click.option("--seed", type=int, default=DEFAULT_SEED, show_default=True,
              help="Seed of the emulated telemetry.")
@click.option("--engine", type=ENGINE_CHOICE, default="reference",
              show_default=True, help="Engine to validate (reference: the plain-Python oracle).")
def validate(rule_paths: tuple[str, ...], profile: str, allowlist: Allowlist,
             default_filters: bool, fmt: str, seed: int, engine: str) -> None:
    """Emulate every scenario (`trailhound emulate list`) offline, run the detection over each,
    and print which expected signals fired, with their best score and the rank of the
    scenario's principal. Fails when an expected signal is missing, when an emulated file does
    not read cleanly, or when a benign look-alike ranks above an attack chain after tuning
    (default filters and --allow files)."""
    from trailhound.emulate.check import run_all
    from trailhound.emulate.coverage import COLUMNS, render_junit, rows, summary
    from trailhound.emulate.registry import in_order
    from trailhound.report.rows import write_rows
    from trailhound.rules.loader import load_pack, load_paths

    prof = get_profile(profile)
    if rule_paths:
        ruleset, problems = load_paths([Path(p) for p in rule_paths], filters=default_filters)
        if problems:
            for problem in problems:
                _err(f"trailhound: rule not loaded: {for_terminal(problem)}")
            raise RuleError(f"{len(problems)} rule(s) did not load; fix them (`trailhound rules "
                            "check PATH` says why) so the validation covers them")
    else:
        ruleset = load_pack(prof.pack, filters=default_filters)
    tuned = tuned_ruleset(prof, ruleset, allowlist, default_filters, _err)
    assert tuned is not None  # a rule set was given, so one comes back
    with tempfile.TemporaryDirectory(prefix="trailhound-validate-") as work:
        report = run_all(in_order(), Path(work), prof, tuned, seed=seed, engine=engine)
    if fmt == "junit":
        click.echo(render_junit(report), nl=False)
    else:
        write_stdout(lambda rows_, out: write_rows(fmt, COLUMNS, rows_, out), rows(report))
    for failure in report.failures():
        _err(for_terminal(f"FAIL  {failure}"))  # rule names come from user files
    _err(f"trailhound: validate: {summary(report)}")
    sys.exit(1 if report.failures() else 0)
