"""`trailhound export`: a rule pack and its score model in another query language. The logic is
in trailhound/export/; this module parses arguments, reports what was not exported and writes."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from trailhound.cli.choices import PROFILE_CHOICE, RegistryChoice
from trailhound.cli.exits import EXIT_INPUT_ERRORS, EXIT_OK
from trailhound.cli.pipe import silence_stdout
from trailhound.errors import UsageError
from trailhound.export import TARGETS
from trailhound.report.escape import for_terminal

EXPORT_HELP = """\b
Examples:
  trailhound export --profile corrected --to duckdb-sql -o hunt.sql
  trailhound export --profile seed --to sumo
  trailhound export --rules my_rules/ --to sigma --allow allow.yml
  trailhound export --profile corrected --rule 7a81c666-1d2a-5990-b450-8eb64f719274 --to spark-sql

\b
Exit codes:
  0  everything was exported
  1  fatal error (one line on stderr)
  2  usage error (no --profile or --rules, an unknown target, rule or file)
  3  exported, but some rule could not be (stderr names each and why) or a
     --rules rule did not load; everything else is in the export
See docs/export.md: per target, what is exported and what cannot be.
"""


@click.command("export", epilog=EXPORT_HELP)
@click.option("--profile", type=PROFILE_CHOICE, default=None, help="Export this profile's pack.")
@click.option(
    "--rules", "rule_paths", multiple=True, metavar="PATH",
    help="Sigma rules to export (a .yml file or a folder; repeatable); with --profile, added to its pack.",
)
@click.option(
    "--to", "target", type=RegistryChoice(TARGETS.names), required=True,
    help="The language to export to (trailhound/export/, registered in TARGETS).",
)
@click.option("-o", "--output", metavar="FILE", default=None, help="Write here instead of stdout.")
@click.option("--rule", "rule_id", metavar="ID", default=None, help="Export this rule alone (its id or title).")
@click.option(
    "--allow", multiple=True, metavar="FILE",
    help="Allowlist file (as for detect; repeatable), compiled into the export as exclusions.",
)
@click.option(
    "--placeholders", metavar="FILE", default=None,
    help="YAML/JSON map of placeholder name -> values for the |expand placeholders of --rules rules.",
)
def export(
    profile: str | None, rule_paths: tuple[str, ...], target: str, output: str | None,
    rule_id: str | None, allow: tuple[str, ...], placeholders: str | None,
) -> None:
    """Export a rule pack with its score model (or one rule) to another query language."""
    from trailhound.export.build import export_text

    if profile is None and not rule_paths:
        raise UsageError("give --profile NAME or --rules PATH (or both): what should be exported?")
    result = export_text(profile, rule_paths, TARGETS.get(target), rule_id, allow, placeholders)
    for line in result.messages:
        click.echo(f"trailhound: {for_terminal(line)}", err=True)
    if output is not None:
        try:
            Path(output).write_text(result.text, encoding="utf-8")
        except OSError as e:
            raise UsageError(f"cannot write {output}: {e.strerror}; choose another -o FILE") from None
    else:
        try:
            sys.stdout.write(result.text)
            sys.stdout.flush()
        except BrokenPipeError:
            silence_stdout()
    sys.exit(EXIT_INPUT_ERRORS if result.incomplete else EXIT_OK)
