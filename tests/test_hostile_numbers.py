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
