"""README commands that need no logs run as written (found walking the README as a new user:
`explain "role assigned"` had become ambiguous when a second rule with that phrase shipped)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from trailhound.cli.app import cli

README = Path(__file__).resolve().parent.parent / "README.md"


def _explain_lines() -> list[str]:
    """`trailhound explain ...` lines of the README's sh blocks that use only shipped rules."""
    blocks = re.findall(r"```sh\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)
    lines = [line.split("  #")[0].strip() for block in blocks for line in block.splitlines()]
    return [line for line in lines if line.startswith("trailhound explain ") and "--rules" not in line]


def test_the_readme_shows_explain() -> None:
    assert len(_explain_lines()) >= 2


@pytest.mark.parametrize("line", _explain_lines())
def test_readme_explain_examples_name_one_rule(line: str) -> None:
    res = CliRunner().invoke(cli, shlex.split(line)[1:])
    assert res.exit_code == 0, res.output
