"""The README and docs/*.md against the CLI itself (click's own parameter lists, not a list kept
here): every `--flag` of a documented `trailhound ...` command line exists on that command, and
every long option of every command is named somewhere in the README or docs."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from trailhound.cli.app import cli

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def _command_lines() -> Iterator[tuple[str, str]]:
    """(file, line) for each `trailhound ...` line of the fenced shell blocks (continuations
    joined, comments, pipes and redirections cut off)."""
    for path in DOCS:
        for block in _shell_blocks(path.read_text("utf-8")):
            for line in block.replace("\\\n", " ").splitlines():
                line = line.split(" #")[0].strip()
                at = line.find("trailhound ")
                if at >= 0 and not line.startswith(("python", "from ", "import ")):
                    yield path.name, re.split(r"\s[|>]\s", line[at:])[0]


def _shell_blocks(text: str) -> Iterator[str]:
    """The text of each fenced block opened as ```sh, ```bash or bare ```, fences paired in order."""
    lang: str | None = None
    body: list[str] = []
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            if lang is None:
                lang, body = line.strip()[3:], []
            else:
                if lang in ("sh", "bash", ""):
                    yield "\n".join(body) + "\n"
                lang = None
        elif lang is not None:
            body.append(line)


def _resolve(tokens: list[str]) -> tuple[click.Command, list[str]]:
    cmd: click.Command = cli
    while tokens and isinstance(cmd, click.Group) and tokens[0] in cmd.commands:
        cmd = cmd.commands[tokens.pop(0)]
    return cmd, tokens


def _options(cmd: click.Command) -> set[str]:
    return {o for p in cmd.params for o in (*p.opts, *p.secondary_opts)} | {"--help", "-h"}


LINES = sorted(set(_command_lines()))


def test_the_docs_show_commands() -> None:
    assert len(LINES) > 30


@pytest.mark.parametrize(("doc", "line"), LINES)
def test_every_documented_flag_exists(doc: str, line: str) -> None:
    cmd, rest = _resolve(shlex.split(line)[1:])
    flags = {t.split("=")[0] for t in rest if t.startswith("-") and t != "-" and t[1:2] != " "}
    flags = {f for f in flags if not re.fullmatch(r"-\d.*", f)}  # (a negative number)
    assert flags <= _options(cmd), f"{doc}: {line}: {sorted(flags - _options(cmd))}"


def _all_commands(group: click.Group, prefix: str = "") -> Iterator[tuple[str, click.Command]]:
    for name, cmd in sorted(group.commands.items()):
        if isinstance(cmd, click.Group):
            yield from _all_commands(cmd, f"{prefix}{name} ")
        else:
            yield f"{prefix}{name}", cmd


def test_every_option_is_documented() -> None:
    text = "\n".join(p.read_text("utf-8") for p in DOCS)
    missing = [f"{name} {o}" for name, cmd in _all_commands(cli) for p in cmd.params
               for o in p.opts if o.startswith("--") and not re.search(re.escape(o) + r"\b", text)]
    assert missing == []


@pytest.mark.parametrize(("option", "where"), [
    ("--allow", r"pass it with `--allow FILE` \(repeatable; (.*?)\):"),
    ("--max-record-size", r"\| cap \| default \| option \((.*?)\) \|"),
])
def test_the_readme_lists_the_commands_an_option_is_on(option: str, where: str) -> None:
    text = (ROOT / "README.md").read_text("utf-8")
    found = re.search(where, text, re.DOTALL)
    assert found, where
    listed = set(re.findall(r"`([a-z-]+(?: [a-z]+)?)`", found.group(1)))
    have = {name for name, cmd in _all_commands(cli) if any(option in p.opts for p in cmd.params)}
    assert listed == have
