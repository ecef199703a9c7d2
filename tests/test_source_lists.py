"""Texts that list the log sources are built from (or checked against) the Source registry,
trailhound/logsources.py: `trailhound --help`, `demo --help`, docs/hunts.md, the README's
opening, pyproject's description. Written by hand they drifted (M365 and Entra sign-ins were
missing from the CLI's help)."""

from __future__ import annotations

import re
import tomllib
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from trailhound.cli.app import cli
from trailhound.demo import dataset_path
from trailhound.logsources import SOURCES, titles
from trailhound.model import Issue
from trailhound.sources import read_paths

ROOT = Path(__file__).resolve().parent.parent


def _flat(text: str) -> str:
    """Help text without its line wrapping, for phrase searches."""
    return " ".join(text.split())


def _help(*args: str) -> str:
    res = CliRunner().invoke(cli, [*args, "--help"], terminal_width=80)
    assert res.exit_code == 0, res.output
    return _flat(res.output)


def test_every_source_has_a_title() -> None:
    assert all(s.title for s in SOURCES.values())
    assert len({s.title for s in SOURCES.values()}) == len(SOURCES.values())


@pytest.mark.parametrize("command", [(), ("demo",)])
def test_help_names_every_registered_source(command: tuple[str, ...]) -> None:
    text = _help(*command)
    missing = [s.title for s in SOURCES.values() if s.title not in text]
    assert not missing, f"`trailhound {' '.join(command)} --help` leaves out {missing}"


def test_the_demo_dataset_holds_every_source_its_help_names() -> None:
    seen = Counter(
        item.source for item in read_paths([str(dataset_path())]) if not isinstance(item, Issue)
    )
    assert set(SOURCES.names()) <= set(seen), seen


def test_titles_lists_each_once_in_registry_order() -> None:
    listed = re.split(r", | and ", titles())
    assert listed == [s.title for s in SOURCES.values()]


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(lambda: (ROOT / "README.md").read_text().split("\n\n")[1], id="README intro"),
        pytest.param(
            lambda: tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["description"],
            id="pyproject description",
        ),
        pytest.param(lambda: (ROOT / "docs" / "hunts.md").read_text(), id="docs/hunts.md"),
    ],
)
def test_docs_name_every_registered_source(text: Callable[[], str]) -> None:
    flat = _flat(text()).casefold()
    missing = [s.title for s in SOURCES.values() if s.title.casefold() not in flat]
    assert not missing
