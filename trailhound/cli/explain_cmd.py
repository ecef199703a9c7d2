"""`trailhound explain RULE`: a rule's response playbook and investigation guide (the markdown
beside the rule file; trailhound/rules/guides.py), rendered by rich on a terminal, plain text
when piped."""

from __future__ import annotations

import sys

import click

from trailhound.report.escape import for_terminal
from trailhound.rules.guides import Explained
from trailhound.rules.model import Filter


def _header(rule: Explained) -> list[str]:
    lines = [rule.title, f"id: {rule.id}"]
    if isinstance(rule, Filter):
        lines.append("kind: filter (removes matches of the rules it names)")
    else:
        lines.append(
            f"level: {rule.level or '-'}   weight: {rule.weight}   signal: {rule.signal or '-'}"
        )
        if rule.tags:
            lines.append(f"tags: {', '.join(rule.tags)}")
    if rule.path:
        lines.append(f"rule file: {rule.path}")
    return [for_terminal(x) for x in lines]


@click.command("explain")
@click.argument("rule")
@click.option(
    "--rules",
    "rule_paths",
    multiple=True,
    metavar="PATH",
    help="Also look in your Sigma rules under PATH (repeatable); their guide is the .md file "
    "beside each rule file.",
)
def explain(rule: str, rule_paths: tuple[str, ...]) -> None:
    """Show the response playbook of RULE (its id, name or title, or part of the title): what
    it means, what to check, which hunts to run, how to contain, false positives."""
    from trailhound.rules.check import check_paths
    from trailhound.rules.guides import find, guide_text
    from trailhound.rules.loader import PACKS, load_pack

    rulesets = [load_pack(p) for p in PACKS]
    if rule_paths:
        rulesets.append(check_paths(rule_paths, None).ruleset)
    found = find(rule, rulesets)
    body = guide_text(found)
    header = _header(found)
    if sys.stdout.isatty():
        from rich.console import Console
        from rich.markdown import Markdown
        from rich.text import Text

        console = Console(highlight=False)
        console.print(Text(header[0], style="bold"))
        for line in header[1:]:
            console.print(Text(line, style="dim"))
        console.print()
        console.print(Markdown(body))
        return
    click.echo("\n".join(header) + "\n")
    click.echo(for_terminal_lines(body), nl=False)


def for_terminal_lines(text: str) -> str:
    """Plain output, line by line (each line made terminal-safe, newlines kept)."""
    return "".join(for_terminal(line) + "\n" for line in text.splitlines())
