"""One ScanOptions, built by one decorator: every command that reads logs takes the same scan
options, and each option lands in its ScanOptions field."""

from __future__ import annotations

import datetime
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from trailhound.cli.app import cli
from trailhound.cli.scan_options import DEFAULT_ENGINE, ScanOptions, scan_options
from trailhound.sources.limits import ENV

SCAN_COMMANDS = ("detect", "demo", "principals", "timeline", "tune")


def _capture(argv: list[str], *, paths: bool = True) -> ScanOptions:
    seen: list[ScanOptions] = []

    @click.command()
    @scan_options(paths=paths)
    def probe(opts: ScanOptions) -> None:
        seen.append(opts)

    res = CliRunner().invoke(probe, argv)
    assert res.exit_code == 0, res.output
    return seen[0]


def _option_names(command: click.Command) -> set[str]:
    return {opt for p in command.params for opt in p.opts if opt.startswith("--")}


def test_every_scan_command_takes_the_same_scan_options() -> None:
    @click.command()
    @scan_options()
    def probe(opts: ScanOptions) -> None:
        pass

    shared = _option_names(probe)
    # what issue #10 names: profile, rules, placeholders, engine and its options (--strict
    # included), min score,
    # allowlist, default filters, window, limits, quiet
    assert {"--profile", "--rules", "--placeholders", "--engine", "--strict", "--spark-master",
            "--spark-conf",
            "--min-score", "--allow", "--no-default-filters", "--since", "--until",
            "--max-record-size", "--max-inflate-ratio", "--max-inflated-size", "--quiet"} <= shared
    for name in SCAN_COMMANDS:
        command = cli.commands[name]
        assert shared <= _option_names(command), name


def test_defaults() -> None:
    opts = _capture(["a.json"])
    assert opts.paths == ("a.json",) and opts.profile.name == "full"
    assert opts.engine == DEFAULT_ENGINE and opts.min_score is None and not opts.quiet
    assert not opts.strict
    assert opts.rule_paths == () and opts.placeholders is None and opts.window is None
    assert opts.default_filters and opts.allowlist.entries == ()
    assert dict(opts.engine_options) == {"spark_master": "local[*]", "spark_conf": ()}


def test_each_option_reaches_its_field(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ENV.values():  # the --max-* options set these: restored after the test
        monkeypatch.setenv(var, "")
        monkeypatch.delenv(var)
    allow = tmp_path / "allow.yml"
    allow.write_text("allow:\n- principal: 'arn:aws:iam::*:role/Deploy'\n  reason: pipeline\n")
    opts = _capture([
        "x", "y", "--profile", "seed", "--rules", "r1", "--rules", "r2", "--placeholders", "p.yml",
        "--engine", "reference", "--strict", "--spark-master", "local[2]", "--spark-conf", "a=b",
        "--min-score", "2.5", "--allow", str(allow), "--no-default-filters",
        "--since", "2026-03-14", "--until", "2026-03-15T12:00:00Z",
        "--max-record-size", "3M", "--max-inflate-ratio", "42", "-q",
    ])
    assert opts.paths == ("x", "y") and opts.profile.name == "seed"
    assert opts.rule_paths == ("r1", "r2") and opts.placeholders == "p.yml"
    assert opts.engine == "reference" and opts.strict
    assert dict(opts.engine_options) == {"spark_master": "local[2]", "spark_conf": ("a=b",)}
    assert opts.min_score == 2.5 and opts.quiet and not opts.default_filters
    assert [e.reason for e in opts.allowlist.entries] == ["pipeline"]
    since = datetime.datetime(2026, 3, 14, tzinfo=datetime.UTC)
    until = datetime.datetime(2026, 3, 15, 12, tzinfo=datetime.UTC)
    assert opts.window is not None
    assert opts.window.since_ns == int(since.timestamp()) * 10**9
    assert opts.window.until_ns == int(until.timestamp()) * 10**9
    assert opts.limits is not None
    assert opts.limits.max_record == 3 * 2**20 and opts.limits.max_ratio == 42


def test_demo_takes_no_paths() -> None:
    assert _capture([], paths=False).paths == ()
