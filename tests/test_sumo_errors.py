"""A query outside the subset, or malformed: one error naming the operator and line:column,
exit 2, nothing read, no traceback; and the CLI's output escaped for each sink."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from trailhound.errors import UsageError
from trailhound.sumo import SumoQueryError, prepare


@pytest.mark.parametrize(
    ("query", "operator", "line", "column", "says"),
    [
        ('_sourceCategory=x\n| parse "a=*" as a', "parse", 2, 3, "outside the subset"),
        ('* | json auto', "json", 1, 10, "json auto"),
        ('* | json "a" | sum(a) by a', "sum", 1, 16, "outside the subset"),
        ('* | json "a" | where lower(a) = "x"', "where", 1, 22, "function lower()"),
        ('* | json "a" as a\n| where b = 1', "where", 2, 9, "field 'b' is not defined"),
        ('* | json "a" as a | fields a | where _raw = 1 | fields x', "fields", 1, 56,
         "field 'x' is not defined"),
        ('* | where "x = 1', "where", 1, 11, "string not closed"),
        ('* | json "a" as a | where a matches /x', "matches", 1, 37, "regex not closed"),
        ('* | json "a" as a | sort by a, B2', "sort", 1, 32, "field 'B2' is not defined"),
        ('* | json "a" as a | count by a, b', "count", 1, 33, "field 'b' is not defined"),
        ('* | json field=jo "a" as a', "json", 1, 16, "field 'jo' is not defined"),
        ('* | json "a[*].b" as a', "json", 1, 10, "`[*]` is outside the subset"),
        ('* | json "a", "b" as a', "json", 1, 5, "2 keys but 1 names"),
        ('* | timeslice 150 buckets', "timeslice", 1, 15, "buckets"),
        ('* | limit ten', "limit", 1, 11, "whole number"),
        ('* | json "a" as a | a + 1', "as", 1, 26, "as NAME"),
        ('* | json "a" as a | where a in "x"', "where", 1, 32, "expected '('"),
        ('* | json "a" as a | where if(a, 1) = 1', "where", 1, 27, "takes 3 arguments"),
        ('error AND _sourceCategory=x', "scope", 1, 1, "keyword search"),
        ('_sourceHost=web1', "scope", 1, 1, "_sourceHost"),
        ('(_sourceCategory=x | json "a"', "scope", 1, 20, "missing )"),
        ("* | json 'a'", "json", 1, 10, "double quotes"),
    ],
)
def test_error_names_operator_and_position(
    query: str, operator: str, line: int, column: int, says: str
) -> None:
    with pytest.raises(SumoQueryError) as e:
        prepare(query, "q.sumo")
    err = e.value
    assert isinstance(err, UsageError) and err.exit_code == 2
    assert (err.operator, err.line, err.column) == (operator, line, column), str(err)
    assert says in str(err)
    assert str(err).startswith(f"q.sumo:{line}:{column}: {operator}: ")


def trailhound(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "trailhound", *args], capture_output=True,
                          text=True, timeout=120, check=False)


def _ct(name: str, ua: str) -> dict[str, object]:
    return {"eventVersion": "1.08", "eventTime": "2024-01-02T03:04:05Z", "eventName": name,
            "eventSource": "iam.amazonaws.com", "awsRegion": "us-east-1", "userAgent": ua,
            "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::1:user/u"}}


def test_cli_bad_query_is_one_line_exit_2_nothing_on_stdout(tmp_path: Path) -> None:
    q = tmp_path / "q.sumo"
    q.write_text('_sourceCategory=aws/cloudtrail\n| json "eventName" as e\n| dedup e\n')
    logs = tmp_path / "ct.json"
    logs.write_text(json.dumps({"Records": [_ct("A", "x")]}))
    proc = trailhound("sumo", str(q), str(logs))
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.splitlines() == [
        (
            f"trailhound: error: {q}:3:3: dedup: operator 'dedup' is outside the subset "
            "trailhound runs (json, where, fields, sort, order, count, timeslice, limit, EXPR "
            "as NAME, eval (alias), table (alias))"
        )
    ]
    assert "Traceback" not in proc.stderr


def test_cli_missing_query_or_path_is_usage_error(tmp_path: Path) -> None:
    q = tmp_path / "q.sumo"
    q.write_text("* | count")
    proc = trailhound("sumo", str(tmp_path / "nope.sumo"), str(tmp_path))
    assert proc.returncode == 2 and "cannot read the query file" in proc.stderr
    proc = trailhound("sumo", str(q), str(tmp_path / "no-such-dir"))
    assert proc.returncode == 2 and "no such file or folder" in proc.stderr


def test_cli_nothing_readable_and_bad_input_exit_codes(tmp_path: Path) -> None:
    q = tmp_path / "q.sumo"
    q.write_text("* | count")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert trailhound("sumo", str(q), str(empty)).returncode == 4
    logs = tmp_path / "logs.jsonl"
    logs.write_text(json.dumps(_ct("A", "x")) + "\n{not json\n")
    proc = trailhound("sumo", str(q), str(logs), "--format", "jsonl")
    assert proc.returncode == 3  # bad input named on stderr; the rest processed
    assert [json.loads(x) for x in proc.stdout.splitlines()] == [{"_count": 1}]
    assert "bad_json" in proc.stderr


def test_cli_escapes_for_each_sink(tmp_path: Path) -> None:
    hostile = "=HYPERLINK(\"http://x\")\x1b[31m"
    q = tmp_path / "q.sumo"
    q.write_text('* | json "userAgent" as ua | fields ua')
    logs = tmp_path / "ct.json"
    logs.write_text(json.dumps({"Records": [_ct("A", hostile)]}))
    out = trailhound("sumo", str(q), str(logs), "--format", "csv", "--quiet").stdout
    # a leading quote stops the formula, the escape is visible, the csv module quotes the cell
    assert out.splitlines()[1] == '"\'=HYPERLINK(""http://x"")\\x1b[31m"'
    table = trailhound("sumo", str(q), str(logs), "--format", "table", "--quiet").stdout
    assert "\x1b" not in table and "\\x1b[31m" in table
    jsonl = trailhound("sumo", str(q), str(logs), "--format", "jsonl", "--quiet").stdout
    assert json.loads(jsonl) == {"ua": hostile}  # JSON is exact


def test_cli_reads_stdin_and_offers_every_registered_format(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from trailhound.cli.app import cli
    from trailhound.report.writers import WRITERS

    q = tmp_path / "q.sumo"
    q.write_text('_sourceCategory=aws/cloudtrail | json "eventName" as e | fields e')
    proc = subprocess.run(
        [sys.executable, "-m", "trailhound", "sumo", str(q), "-", "--format", "jsonl", "-q"],
        input=json.dumps(_ct("A", "x")) + "\n", capture_output=True, text=True, timeout=120,
        check=False,
    )
    assert proc.returncode == 0 and proc.stdout == '{"e":"A"}\n', proc.stderr
    help_text = CliRunner().invoke(cli, ["sumo", "--help"], terminal_width=200).output
    assert f"--format [{'|'.join(WRITERS.names())}]" in help_text
