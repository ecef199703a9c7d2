"""Small CLI defects found walking the README as a new user (docs journey): each test runs the
command as documented and checks what a responder reads, against plain Python over the input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.test_first_seen import A, login
from trailhound.cli.app import cli, main


def test_hunt_summary_counts_rows_not_findings(tmp_path: Path) -> None:
    """A hunt has no profile and returns rows: its summary says so, with what was read."""
    records = [login(n, A, "198.51.100.1") for n in range(3)]
    trail = tmp_path / "trail.json"
    trail.write_text(json.dumps({"Records": records}))
    res = CliRunner().invoke(cli, ["hunt", "new_source_for_principal", "--format", "jsonl",
                                   str(trail)])
    assert res.exit_code == 0, res.output
    rows = res.stdout.splitlines()
    first = res.stderr.splitlines()[0]
    rows_said = f"{len(rows)} row" + ("" if len(rows) == 1 else "s")
    assert first == (f"trailhound: hunt new_source_for_principal: {rows_said}; "
                     f"1 file, {len(records)} records, {len(records)} events")
    assert "findings" not in res.stderr and "profile" not in res.stderr


def test_sumo_summary_counts_rows_not_findings(tmp_path: Path) -> None:
    """`sumo QUERY PATHS` prints the query's rows; its summary names them as `hunt`'s does."""
    from trailhound.rules.loader import pack_dir

    query = pack_dir("seed") / "seed_query.sumo"
    records = [login(0, A, "198.51.100.1"), {**login(1, A, "198.51.100.1"),
               "eventSource": "cloudtrail.amazonaws.com", "eventName": "StopLogging"}]
    trail = tmp_path / "trail.json"
    trail.write_text(json.dumps({"Records": records}))
    res = CliRunner().invoke(cli, ["sumo", "--format", "jsonl", str(query), str(trail)])
    assert res.exit_code == 0, res.output
    rows = [json.loads(x) for x in res.stdout.splitlines()]
    assert [r["eventName"] for r in rows] == ["StopLogging"]  # the seed query's one signal here
    assert res.stderr.splitlines()[0] == (
        f"trailhound: sumo {query}: 1 row; 1 file, {len(records)} records, {len(records)} events")
    assert "findings" not in res.stderr and "profile" not in res.stderr


def test_a_watch_cycle_lists_its_input_errors_under_its_own_line(tmp_path: Path) -> None:
    """A cycle that met bad input says so under its cycle line, as detect lists errors, without
    detect's `N findings (profile ...)` line (which counted matches carried from earlier cycles,
    not the cycle's new alerts)."""
    logs, db = tmp_path / "logs", str(tmp_path / "th.db")
    logs.mkdir()
    (logs / "a.json").write_text(json.dumps({"Records": [login(0, A, "198.51.100.1")]}))
    args = ["detect", "--state", db, "--format", "jsonl", str(logs)]
    assert CliRunner().invoke(cli, args).exit_code == 0
    (logs / "bad.json").write_text('{"Records": [\n')
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 3, res.output
    lines = res.stderr.splitlines()
    assert lines[0].startswith("trailhound watch: cycle 1: 1 new or changed file, 0 new alerts")
    assert lines[1] == "  1 input error (bad_json 1):"
    assert lines[2].startswith(f"    {logs / 'bad.json'}")
    assert "findings" not in res.stderr


def test_the_readme_names_every_option_of_the_library_scan() -> None:
    """Each keyword of `trailhound.scan` (api.scan: detect's options) is named in the README as `name=`."""
    import inspect
    import re

    from trailhound.api import scan

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`([a-z_]+)=", readme))
    params = inspect.signature(scan).parameters.values()
    keywords = {p.name for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY}
    assert keywords and keywords <= named, sorted(keywords - named)


def test_a_rule_with_a_numeric_id_is_refused_not_a_traceback(tmp_path: Path) -> None:
    """`id: 1` (YAML reads a number): pySigma raises AttributeError on it; the rule is refused
    with the file and the reason, and the other rules run."""
    rule = tmp_path / "r.yml"
    rule.write_text("title: mine\nid: 1\nlogsource: {product: aws, service: cloudtrail}\n"
                    "detection: {sel: {eventName: StopLogging}, condition: sel}\n")
    res = CliRunner().invoke(cli, ["rules", "check", str(rule)])
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert f"{rule}: refused: id must be a UUID written as a string, got 1" in res.stdout
    trail = tmp_path / "trail.json"
    trail.write_text(json.dumps({"Records": [login(0, A, "198.51.100.1")]}))
    res = CliRunner().invoke(cli, ["detect", "--rules", str(rule), "--format", "jsonl", str(trail)])
    assert res.exit_code == 3, res.output
    assert res.stderr.startswith(f"trailhound: rule skipped: {rule}: id must be a UUID")


def test_a_missing_rule_path_is_named_as_given(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`rules check PATH` takes no --rules option: its error must not send the user to one."""
    missing = tmp_path / "nowhere"
    for argv in (["rules", "check", str(missing)], ["detect", "--rules", str(missing), str(tmp_path)]):
        with pytest.raises(SystemExit) as ex:
            main(argv)
        assert ex.value.code == 2
        assert capsys.readouterr().err == (f"trailhound: error: {missing}: no such rule file or folder; check "
                              "the path (a .yml file or a folder of them)\n")
