"""Hostile Sumo query files (`trailhound sumo QUERY_FILE`): nesting and size.

The parser and the evaluator recurse once per level: 5,000 '(' or 50,000 `not` died with
RecursionError as a traceback, and 100,000 chained `or` (each term a string) took minutes in
the lexer, which scanned back through every token for each string to name its operator in an
error that never came. Now nesting past sumo.parser.MAX_DEPTH is one usage error naming
line:column, and the lexer asks for the operator name only when it reports an error.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests import hostile_inputs as H
from trailhound.sumo import SumoQueryError, lexer
from trailhound.sumo.parser import MAX_DEPTH, parse_query

HEAD = '_sourceCategory=aws/cloudtrail | json "eventName" as e | where '


@pytest.mark.parametrize("cond", [
    "(" * 5000 + 'e = "x"' + ")" * 5000,
    "not " * 50_000 + 'e = "x"',
    'e = "x"' + ' or e = "y"' * 3000,
    "!" * 3000 + "isNull(e)",
    "1" + " + 1" * 3000 + " = 2",
], ids=["parentheses", "not", "or-chain", "bang", "plus-chain"])
def test_deep_queries_are_one_usage_error_with_a_position(cond: str) -> None:
    text = HEAD + cond
    with pytest.raises(SumoQueryError) as err:
        parse_query(text, "q.sumo")
    e = err.value
    assert f"nested more than {MAX_DEPTH} levels deep" in str(e)
    assert e.line == 1 and len(HEAD) < e.column <= len(text)  # inside the where clause
    assert e.operator == "where"


def test_nesting_below_the_limit_runs_and_matches_plain_python(tmp_path: Path) -> None:
    names = ["StopLogging", "DeleteTrail", "ListUsers", "GetCallerIdentity"]
    wanted = names[:2]
    cond = "(" * 40 + " or ".join(f'e = "{n}"' for n in wanted * 20) + ")" * 40
    query = tmp_path / "q.sumo"
    query.write_text(HEAD + cond + "\n| count by e")
    logs = tmp_path / "logs.json"
    logs.write_text(json.dumps({"Records": [H.ct(n, n=i) for i, n in enumerate(names * 3)]}))
    p = subprocess.run([sys.executable, "-m", "trailhound", "sumo", "--format", "jsonl", query,
                        logs], capture_output=True, text=True, timeout=120, check=False)
    assert p.returncode == 0, p.stderr
    got = {r["e"]: r["_count"] for r in map(json.loads, p.stdout.splitlines())}
    assert got == {n: 3 for n in wanted}  # the oracle: each name is 3 of the records


def test_the_cli_says_it_in_one_line(tmp_path: Path) -> None:
    query = tmp_path / "deep.sumo"
    query.write_text(HEAD + "(" * 5000 + 'e = "x"' + ")" * 5000)
    p = subprocess.run([sys.executable, "-m", "trailhound", "sumo", query, H.control_file(
        tmp_path / "c.json")], capture_output=True, text=True, timeout=120, check=False)
    assert p.returncode == 2 and p.stdout == ""
    assert "Traceback" not in p.stderr
    assert p.stderr.startswith(f"trailhound: error: {query}:1:") and "levels deep" in p.stderr


def test_lexing_many_strings_does_not_look_back_per_string(monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    calls = []
    real = lexer._operator_of
    monkeypatch.setattr(lexer, "_operator_of", lambda toks: calls.append(1) or real(toks))
    text = HEAD + " or ".join(f'e = "n{i}"' for i in range(5000))
    toks = lexer.tokens(text, text.index("|"), "q.sumo")
    assert sum(t.kind == "str" for t in toks) == 5001  # "eventName" and the 5000 values
    assert calls == []  # asked only for an error message
    with pytest.raises(SumoQueryError) as err:
        lexer.tokens(text + ' or e = "open', text.index("|"), "q.sumo")
    assert err.value.operator == "where" and "string not closed" in str(err.value)
