"""The CLI's choices come from the registries: an engine, output format or profile registered
anywhere is offered by every command that reads logs (in --help and accepted), and the README
names exactly what is registered."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TextIO

import pytest
from click.testing import CliRunner

from tests.test_profiles_defects import ct
from trailhound.cli.app import cli
from trailhound.cli.validate_cmd import FORMATS as VALIDATE_FORMATS
from trailhound.engine import ENGINES
from trailhound.engine.reference import ReferenceEngine
from trailhound.profiles import PROFILES
from trailhound.report.writers import WRITERS

README = Path(__file__).resolve().parent.parent / "README.md"
SCAN_COMMANDS = ("detect", "demo", "principals", "timeline", "tune")
FORMAT_COMMANDS = ("detect", "demo", "principals", "timeline")


def _help(command: str) -> str:
    res = CliRunner().invoke(cli, [command, "--help"], terminal_width=200)
    assert res.exit_code == 0, res.output
    return res.output


def _choices(help_text: str, option: str) -> set[str]:
    m = re.search(rf"{option} \[([^\]]+)\]", help_text)
    assert m, f"{option} has no [choices] in:\n{help_text}"
    return set(m.group(1).split("|"))


def _trail(tmp_path: Path) -> Path:
    path = tmp_path / "t.jsonl"
    records = [ct("CreateRole", n=1), ct("StopLogging", "cloudtrail.amazonaws.com", n=2), ct("ListBuckets", n=3)]
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def test_help_offers_exactly_the_registered_names() -> None:
    for command in SCAN_COMMANDS:
        text = _help(command)
        assert _choices(text, "--engine") >= set(ENGINES.names()), command
        assert _choices(text, "--profile") == set(PROFILES), command
    rules_list = CliRunner().invoke(cli, ["rules", "list", "--help"], terminal_width=200).output
    assert _choices(rules_list, "--profile") == set(PROFILES)
    for command in FORMAT_COMMANDS:
        assert _choices(_help(command), "--format") == set(WRITERS.names()), command


def test_a_toy_writer_is_offered_and_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[dict[str, Any]] = []

    def toy(rows: Iterable[dict[str, Any]], out: TextIO) -> None:
        seen.extend(rows)
        out.write(f"toy {len(seen)}\n")

    monkeypatch.setitem(WRITERS._items, "toy", toy)
    for command in FORMAT_COMMANDS:
        assert "toy" in _choices(_help(command), "--format"), command
    res = CliRunner().invoke(cli, ["detect", "-q", "--format", "toy", str(_trail(tmp_path))])
    assert res.exit_code == 0, res.output
    # CreateRole and StopLogging score, ListBuckets does not (the corrected pack)
    assert {r["eventName"] for r in seen} == {"CreateRole", "StopLogging"}
    assert res.output == "toy 2\n"


def test_a_toy_engine_is_offered_and_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    compiled: list[int] = []

    class ToyEngine(ReferenceEngine):
        def compile(self, ruleset: Any) -> Any:
            compiled.append(len(ruleset.rules))
            return super().compile(ruleset)

    # engines are registered as factories taking the scan's engine options (engine/__init__.py)
    monkeypatch.setitem(ENGINES._items, "toy", lambda **_options: ToyEngine())
    for command in SCAN_COMMANDS:
        assert "toy" in _choices(_help(command), "--engine"), command
    trail = str(_trail(tmp_path))
    runner = CliRunner()
    toy = runner.invoke(cli, ["detect", "-q", "--format", "jsonl", "--engine", "toy", trail])
    ref = runner.invoke(cli, ["detect", "-q", "--format", "jsonl", "--engine", "reference", trail])
    assert toy.exit_code == ref.exit_code == 0, toy.output
    assert compiled and compiled[0] > 0
    assert toy.output == ref.output and toy.output.count("\n") == 2
    tuned = runner.invoke(cli, ["tune", "-q", "--engine", "toy", trail])
    assert tuned.exit_code == 0, tuned.output
    assert len(compiled) == 2


def test_an_unregistered_name_is_a_usage_error(tmp_path: Path) -> None:
    res = CliRunner().invoke(cli, ["detect", "--engine", "nope", str(_trail(tmp_path))])
    assert res.exit_code == 2 and "nope" in res.output


def _bullet(title: str) -> str:
    """The README bullet `- **Title**...` up to the next bullet."""
    text = README.read_text(encoding="utf-8")
    start = text.index(f"- **{title}**")
    end = text.find("\n- **", start + 1)
    return text[start:end]


def _bare_names(text: str) -> set[str]:
    return set(re.findall(r"`(?:--\w+ )?([a-z][a-z0-9_]*)`", text))


def test_readme_names_the_registered_engines_formats_and_profiles() -> None:
    # every registered name is described in its bullet...
    assert set(ENGINES.names()) <= _bare_names(_bullet("Engines"))
    assert _bare_names(_bullet("Output").splitlines()[0]) == set(WRITERS.names())
    assert _bare_names(_bullet("Profiles")) == set(PROFILES)
    # ...and every name the README passes to an option is registered
    text = README.read_text(encoding="utf-8")
    for option, names in (
        ("engine", set(ENGINES.names())), ("format", set(WRITERS.names()) | set(VALIDATE_FORMATS)),
        ("profile", set(PROFILES)),
    ):
        used = set(re.findall(rf"--{option}[ =]([a-z][a-z0-9_]*)", text))
        assert used and used <= names, (option, used - names)


def test_a_toy_profile_is_offered_and_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(PROFILES, "toy", dataclasses.replace(PROFILES["corrected"], name="toy"))
    for command in SCAN_COMMANDS:
        assert "toy" in _choices(_help(command), "--profile"), command
    trail = str(_trail(tmp_path))
    runner = CliRunner()
    toy = runner.invoke(cli, ["detect", "--format", "jsonl", "--profile", "toy", trail])
    assert toy.exit_code == 0, toy.output
    assert "(profile toy)" in toy.output  # the summary names the profile used
    ref = runner.invoke(cli, ["detect", "-q", "--format", "jsonl", "--profile", "corrected", trail])
    assert [ln for ln in toy.output.splitlines() if ln.startswith("{")] == ref.output.splitlines()
