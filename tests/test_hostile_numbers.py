"""Numbers orjson refuses or widens, read by the stdlib fallback decoder (sources/salvage.py).

A record orjson refuses (here for 1e400, a double's infinity) is decoded by the stdlib, which
kept 2**70 as an exact Python int; orjson.dumps cannot write one, so `--format ocsf` (the raw
record as evidence) and `report` (the raw record in the page) died with "TypeError: Integer
exceeds 64-bit range" and wrote nothing. Now the fallback reads integers as orjson does (exact
within 64 bits, else a double) and every writer writes them.
"""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests import hostile_inputs as H
from tests.hostile_inputs import run
from trailhound.sources.salvage import DECODER

BIG = 2**70


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.integers(), st.integers(-(2**200), 2**200),
                 st.integers(1, 6000).map(lambda n: "9" * n)))
def test_fallback_integers_are_what_orjson_reads(n: int | str) -> None:
    text = str(n)
    got = DECODER.decode(text)
    orjson.dumps(got)  # every value it returns can be written again
    try:
        want = orjson.loads(text)  # the oracle: the readers' own parser
    except orjson.JSONDecodeError:  # past a double: orjson refuses, the fallback reads inf
        assert got == float("inf")
        return
    assert type(got) is type(want) and got == want



@pytest.fixture()
def big_numbers(tmp_path: Path) -> Path:
    body = json.dumps({"Records": [H.stop_logging(3)]}).replace(
        '"requestParameters": null', f'"requestParameters": {{"n": {BIG}, "f": 1e400}}')
    path = tmp_path / "big.json"
    path.write_text(body)
    return path


@pytest.mark.parametrize("engine", ["reference", "fast"])
def test_ocsf_writes_the_record_with_its_numbers(big_numbers: Path, engine: str) -> None:
    p = run("detect", "--engine", engine, "--format", "ocsf", "--profile", "seed", big_numbers)
    assert "Traceback" not in p.stderr and p.returncode == 0, p.stderr
    [finding] = [json.loads(line) for line in p.stdout.splitlines()]
    data = finding["evidences"][0]["data"]
    assert data["eventName"] == "StopLogging"
    assert data["requestParameters"] == {"n": float(BIG), "f": None}  # orjson writes inf as null


def test_report_writes_the_page(big_numbers: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    p = run("report", "-o", out, "--profile", "seed", big_numbers)
    assert "Traceback" not in p.stderr and p.returncode == 0, p.stderr
    assert "StopLogging" in out.read_text()


# A numeric string longer than Python's int() reads (4,300 digits) in a field a numeric rule
# compares: int() raised ValueError inside the rule, a "trailhound bug" that ended the scan.
LONG_DIGITS = "7" * 5000


def test_number_of_reads_a_long_digit_string_as_a_double() -> None:
    from trailhound.engine.fields import number_of

    assert number_of(LONG_DIGITS) == float("inf") and number_of("-" + LONG_DIGITS) == float("-inf")
    assert number_of("7" * 4300) == int("7" * 4300)  # (within the limit: exact, as before)


@pytest.mark.parametrize("engine", ["reference", "fast"])
def test_numeric_rules_on_a_long_digit_string(tmp_path: Path, engine: str) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    for name, test in (("gt", "maxResults|gt: 5"), ("eq", "maxResults: 7")):
        (rules / f"{name}.yml").write_text(
            f"title: numeric {name}\nid: 7e57ab1e-0000-4000-8000-0000000002{'01' if name == 'gt' else '02'}\n"
            "logsource: {product: aws, service: cloudtrail}\n"
            f"detection:\n  sel:\n    requestParameters.{test}\n  condition: sel\nlevel: low\n")
    logs = tmp_path / "logs"
    logs.mkdir()
    for n in (1, 2):  # (two files: the fast engine's workers read them)
        rec = H.stop_logging(n)
        rec["requestParameters"] = {"maxResults": LONG_DIGITS}
        (logs / f"f{n}.json").write_text(json.dumps({"Records": [rec]}))
    p = run("detect", "--engine", engine, "--format", "jsonl", "--rules", rules, logs)
    assert "Traceback" not in p.stderr and p.returncode == 0, p.stderr
    rows = [json.loads(line) for line in p.stdout.splitlines()]
    assert len(rows) == 2
    for row in rows:  # the definition: the string read as a number, inf: > 5, never 7
        ids = {s["rule_id"] for s in row["signals"]}
        assert "7e57ab1e-0000-4000-8000-000000000201" in ids
        assert "7e57ab1e-0000-4000-8000-000000000202" not in ids
