"""NaN and Infinity in an array of records (Python's json.dumps writes a float NaN so; a
hand-rolled exporter does too): not JSON, so the record holding one is an input error, but its
end is known, so the records after it are read (they were all lost: `the rest of this value was
skipped`). Both readers: the whole-buffer one (small inputs) and the streaming one (large
inputs; TRAILHOUND_STREAM_THRESHOLD makes this small file one), both engines.

Oracle: the records written, minus the ones holding a constant."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.hostile_inputs import run, stop_logging

CONSTANTS = {1: "NaN", 3: "-Infinity", 4: "Infinity"}


def _trail(path: Path, top_array: bool) -> list[str]:
    """Six StopLogging records, those at CONSTANTS holding the constant; the good ids."""
    parts, good = [], []
    for i in range(6):
        rec = stop_logging(i + 1)
        text = json.dumps(rec)
        if i in CONSTANTS:
            text = text.replace('"eventVersion": "1.08"', f'"eventVersion": {CONSTANTS[i]}')
            assert CONSTANTS[i] in text
        else:
            good.append(rec["eventID"])
        parts.append(text)
    body = "[" + ",\n".join(parts) + "]"
    path.write_text(body if top_array else '{"Records": ' + body + "}", encoding="utf-8")
    return good


@pytest.mark.parametrize("engine", ["fast", "reference"])
@pytest.mark.parametrize("streamed", [False, True])
@pytest.mark.parametrize("top_array", [False, True])
def test_a_constant_costs_its_record_only(
    tmp_path: Path, engine: str, streamed: bool, top_array: bool
) -> None:
    trail = tmp_path / "trail.json"
    good = _trail(trail, top_array)
    env = {"TRAILHOUND_STREAM_THRESHOLD": "100"} if streamed else {}
    p = run("detect", "--engine", engine, "--format", "jsonl", trail, env=env)
    assert p.returncode == 3, p.stderr  # input errors, everything else processed
    assert "Traceback" not in p.stderr
    assert [json.loads(x)["eventID"] for x in p.stdout.splitlines()] == good
    assert f"{len(CONSTANTS)} input errors (bad_json {len(CONSTANTS)}):" in p.stderr
    lines = [x for x in p.stderr.splitlines() if "bad JSON" in x]
    assert len(lines) == len(CONSTANTS)
    where = "" if top_array else "/Records"
    for line, (i, constant) in zip(lines, sorted(CONSTANTS.items()), strict=True):
        assert str(trail) in line and f"at {where}/{i}: " in line, line
        assert f"{constant} is not valid JSON" in line
        assert "this element was skipped, the elements after it are read" in line


@pytest.mark.parametrize("streamed", [False, True])
def test_a_cut_array_says_how_many_elements_were_read(tmp_path: Path, streamed: bool) -> None:
    trail = tmp_path / "cut.json"
    trail.write_text('{"Records": [' + json.dumps(stop_logging(1)) + ', {"eventVersion": ',
                     encoding="utf-8")
    env = {"TRAILHOUND_STREAM_THRESHOLD": "100"} if streamed else {}
    p = run("detect", "--format", "jsonl", trail, env=env)
    assert p.returncode == 3 and len(p.stdout.splitlines()) == 1
    assert "the 1 element before it was read" in p.stderr, p.stderr
