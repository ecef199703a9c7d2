"""Hostile YAML a user hands trailhound: rule files (--rules, rules check/test), allowlists
(--allow), placeholder files (--placeholders).

Deep nesting: PyYAML has no depth limit, libyaml's composer recurses in C (a 100 KB rule file of
`[`s killed the process with SIGSEGV, exit 139, no message) and the pure-Python loader raised
RecursionError as a traceback. Each case runs the real CLI in a subprocess (a crash must not
take pytest with it) and checks the exit code, the one stderr line naming the file and the
line, and that the rest of the scan still ran (the control file's StopLogging finding).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from tests import hostile_inputs as H
from trailhound.yamldepth import MAX_DEPTH, TooDeep, _depth_bound, check_depth

DEEP = 50_000  # levels: libyaml's composer overflowed the C stack between 20,000 and 50,000


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "trailhound", *map(str, args)],
        capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "COLUMNS": "300"},
    )


def deep_flow(levels: int) -> str:
    return "[" * levels + "]" * levels


RULE = """title: Stop logging
id: 6c0ab7e4-1111-4000-8000-000000000001
logsource: {product: aws, service: cloudtrail}
detection:
  sel:
    eventName: StopLogging
  condition: sel
level: high
"""


@pytest.fixture()
def control(tmp_path: Path) -> Path:
    return H.control_file(tmp_path / "control.json")


def assert_clean_refusal(p: subprocess.CompletedProcess[str], name: str, line: int) -> None:
    assert "Traceback" not in p.stderr
    assert p.returncode >= 0, f"killed by signal {-p.returncode}"
    msg = [ln for ln in p.stderr.splitlines() + p.stdout.splitlines() if name in ln]
    assert msg, p.stderr
    assert f"nested more than {MAX_DEPTH} levels deep" in msg[0]
    assert f"line {line}" in msg[0] or f"{name}:{line}:" in msg[0], msg[0]


def test_deep_rule_file_is_refused_and_the_other_rules_run(tmp_path: Path, control: Path) -> None:
    deep = tmp_path / "deep.yml"
    deep.write_text("title: deep\ndetection: " + deep_flow(DEEP) + "\n")
    good = tmp_path / "good.yml"
    good.write_text(RULE.replace("Stop logging", "Mine"))
    p = run("detect", "--format", "jsonl", "--profile", "seed", "--rules", deep, "--rules", good,
            control)
    assert p.returncode == 3  # a refused --rules rule: the scan finished, not clean
    assert_clean_refusal(p, "deep.yml", 2)
    titles = {s["title"] for row in map(json.loads, p.stdout.splitlines()) for s in row["signals"]}
    assert "Mine" in titles  # the other user rule loaded and ran


@pytest.mark.parametrize("command", [("rules", "check"), ("rules", "test")])
def test_deep_rule_file_in_rules_check_and_test(tmp_path: Path, command: tuple[str, str]) -> None:
    deep = tmp_path / "deep.yml"
    deep.write_text(RULE + "---\n\n\nx: " + deep_flow(DEEP) + "\n")  # line 12 of the file
    p = run(*command, deep)
    assert p.returncode == 1
    assert_clean_refusal(p, "deep.yml", 12)


def test_deep_block_nesting_is_refused_too(tmp_path: Path) -> None:
    deep = tmp_path / "block.yml"
    deep.write_text("a:\n" + "".join(" " * (i + 1) + f"k{i}:\n" for i in range(3000)))
    p = run("rules", "check", deep)
    assert p.returncode == 1
    assert_clean_refusal(p, "block.yml", MAX_DEPTH + 1)  # key k63 opens level 65


def test_deep_allowlist_is_a_usage_error_naming_the_line(tmp_path: Path, control: Path) -> None:
    allow = tmp_path / "allow.yml"
    allow.write_text("# mine\nallow: " + deep_flow(DEEP) + "\n")
    p = run("detect", "--allow", allow, control)
    assert p.returncode == 2
    assert p.stdout == ""
    assert_clean_refusal(p, "allow.yml", 2)


@pytest.mark.parametrize("suffix", [".yml", ".json"])
def test_deep_placeholder_file_is_a_usage_error(tmp_path: Path, control: Path,
                                                suffix: str) -> None:
    ph = tmp_path / f"ph{suffix}"
    ph.write_text('{"x": ' + deep_flow(DEEP) + "}")
    rule = tmp_path / "r.yml"
    rule.write_text(RULE)
    p = run("detect", "--rules", rule, "--placeholders", ph, control)
    assert p.returncode == 2
    assert "Traceback" not in p.stderr
    assert f"ph{suffix}" in p.stderr and "deep" in p.stderr


@pytest.mark.parametrize("depth", [MAX_DEPTH, MAX_DEPTH + 1])
def test_the_limit_is_exact(depth: int) -> None:
    texts = [deep_flow(depth), "".join("  " * i + "- \n" for i in range(depth - 1)) + "  " * depth
             + "- x\n"]
    for text in texts:
        assert _depth(yaml.safe_load(text)) == depth  # the oracle: the structure PyYAML builds
        if depth <= MAX_DEPTH:
            check_depth(text)
        else:
            with pytest.raises(TooDeep):
                check_depth(text)


def _depth(value: Any) -> int:
    """Nesting depth of a decoded value: scalars 0, a collection 1 + its deepest member."""
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in [*value.values(), *value.keys()]), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


_values = st.recursive(
    st.none() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner,
                                                                max_size=3),
    max_leaves=40,
)


@settings(max_examples=300, deadline=None)
@given(value=_values, flow=st.sampled_from([None, True, False]), indent=st.integers(2, 6))
def test_the_cheap_bound_never_underestimates(value: Any, flow: bool | None, indent: int) -> None:
    # The bound lets ordinary files skip the exact check, so it must be an upper bound on every
    # style the dumper writes (block, flow, mixed) whatever the indentation.
    text = yaml.safe_dump(value, default_flow_style=flow, indent=indent)
    assert _depth_bound(text) >= _depth(yaml.safe_load(text))
