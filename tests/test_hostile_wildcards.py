"""Sigma wildcard values and field references against long logged text: linear time
(fields.compile_wildcard on RE2; fields.text_compare on case classes).

A value with two or more `*`-separated parts was matched by Python `re` (`.*a.*a.*b`), which
backtracks: `*a*a*b` against a user agent of 4,000 `a` took 58 s, `*a*a*a*b` against 1,000 took
214 s - one logged value (anyone can choose their user agent) stalled the scan for as long as
the attacker liked. The meaning is unchanged (re.fullmatch with DOTALL and IGNORECASE:
tests/test_engine_reference.py checks it against `re` itself); RE2 runs it. Likewise a
`|fieldref` comparison of two non-ASCII values ran `.*X.*` through `re` (8,000 characters:
0.09 s, growing with the product of the two lengths); it now compares case classes.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sigma.types import SigmaString

from tests import hostile_inputs as H
from tests.conftest import require
from tests.hostile_inputs import run
from trailhound.engine.fields import compile_wildcard, text_compare
from trailhound.engine.sigma_regex import RegexRefused

# rule id suffix -> the wildcard value it tests userAgent with
VALUES = {"01": "*a*a*b", "02": "*a*a*a*b", "03": "*a?a*a*?b*", "04": "a*A*a*b*c"}
RULE_ID = "7e57ab1e-0000-4000-8000-0000000001{}"
LONG = 100_000  # the hostile user agent: this many `a`, nothing else

AGENTS = {  # eventID suffix -> user agent
    "1": "a" * LONG,
    "2": "a" * LONG + "b",
    "3": "xaxAxb",
    "4": "AaAab c",
    "5": "a" * 5000 + "\n" + "a" * 5000 + "b",  # DOTALL: `*` crosses a line break
}


def _expected() -> dict[str, set[str]]:
    """eventID -> ids of the wildcard rules that flag it, by the definition (re.fullmatch)."""
    out: dict[str, set[str]] = {}
    for n, agent in AGENTS.items():
        got = set()
        for s, value in VALUES.items():
            src = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in value)
            # (the definition backtracks on the long agents too, so it reads them with every
            # run of `a` cut to 8: the values hold fewer than 8 single characters between
            # their `*`s, so a longer run matches exactly when 8 do)
            text = re.sub("a{9,}", "a" * 8, agent)
            if re.fullmatch(src, text, re.DOTALL | re.IGNORECASE):
                got.add(RULE_ID.format(s))
        out[f"ev-{n}"] = got
    return out


@pytest.fixture()
def workdir(tmp_path: Path) -> Path:
    rules = tmp_path / "rules"
    rules.mkdir()
    for s, value in VALUES.items():
        (rules / f"wild_{s}.yml").write_text(textwrap.dedent(f"""\
            title: wildcard {value}
            id: {RULE_ID.format(s)}
            logsource: {{product: aws, service: cloudtrail}}
            detection:
              sel:
                userAgent: '{value}'
              condition: sel
            level: low
            """))
    logs = tmp_path / "logs"
    logs.mkdir()
    for n, agent in AGENTS.items():
        rec = H.stop_logging(int(n))
        rec["userAgent"], rec["eventID"] = agent, f"ev-{n}"
        (logs / f"f{n}.json").write_text(json.dumps({"Records": [rec]}))
    return tmp_path


def _spark_missing() -> str | None:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "PySpark is not installed: pip install 'trailhound[spark]'"
    from trailhound.spark.testing import java_missing

    return java_missing()


@pytest.mark.parametrize("engine", ["reference", "fast", "strict", pytest.param("spark", marks=pytest.mark.spark)])
def test_long_text_against_wildcards_finishes_with_the_defined_findings(workdir: Path, engine: str) -> None:
    args = ["--engine", engine]
    if engine == "strict":
        args = ["--strict"]
    elif engine == "spark":
        missing = _spark_missing()
        require(missing is None, missing or "")
        args += ["--spark-master", "local[1]", "--spark-conf", "spark.ui.enabled=false"]
    # (run's own timeout, 300 s, is the liveness bound: before, this scan did not end)
    p = run("detect", "--format", "jsonl", "--quiet", *args, "--rules", workdir / "rules", workdir / "logs")
    assert p.returncode == 0, p.stderr
    got: dict[str, set[str]] = {f"ev-{n}": set() for n in AGENTS}
    for line in p.stdout.splitlines():
        row = json.loads(line)
        got[row["eventID"]] = {s["rule_id"] for s in row["signals"]} & {RULE_ID.format(s) for s in VALUES}
    assert got == _expected()


def test_a_wildcard_too_large_for_re2_refuses_its_rule(tmp_path: Path) -> None:
    value = "*" + "ab?" * 100_000
    with pytest.raises(RegexRefused):
        compile_wildcard(SigmaString(value).s, cased=False)
    rule = tmp_path / "big.yml"
    rule.write_text(textwrap.dedent(f"""\
        title: too big
        id: 7e57ab1e-0000-4000-8000-000000000199
        logsource: {{product: aws, service: cloudtrail}}
        detection:
          sel:
            userAgent: '{value}'
          condition: sel
        """))
    control = H.control_file(tmp_path / "control.json")
    p = run("detect", "--format", "jsonl", "--rules", rule, control)
    assert "Traceback" not in p.stderr and p.returncode == 3, p.stderr
    assert "big.yml" in p.stderr and "too large for RE2" in p.stderr
    assert len(p.stdout.splitlines()) == 1  # the control file's finding: the scan went on


# Characters whose case rule is not plain lower-casing in sre (re._casefix) and others.
_CASES = "aAbB.*\\\nßsSſkKİıi\u212aΣσςfﬀ\u0130\u03a3\u1e9eµΜμ\u0345ιΙ\u1fbeéÉǅǆǄxz\u2126ω"


def _fieldref_definition(text: str, other: str, starts: bool, ends: bool) -> bool:
    src = re.escape(other)
    src = (".*" if ends else "") + src + (".*" if starts else "")
    return re.fullmatch(src, text, re.IGNORECASE | re.DOTALL) is not None


@settings(max_examples=2000, deadline=None)
@given(st.text(_CASES, max_size=8), st.text(_CASES, max_size=4), st.booleans(), st.booleans())
def test_fieldref_compare_is_re_ignorecase(text: str, other: str, starts: bool, ends: bool) -> None:
    assert text_compare(text, other, starts=starts, ends=ends) is _fieldref_definition(text, other, starts, ends)


def test_fieldref_compare_of_long_non_ascii_values_finishes() -> None:
    # (the subprocess's timeout is the liveness bound: `re` took hours on these)
    code = (
        "from trailhound.engine.fields import text_compare as c\n"
        "t = 'é' * 400_000; o = 'É' * 200_000 + 'x'\n"
        "print(c(t, o, starts=True, ends=True), c(t + 'x', o, starts=True, ends=True))\n"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert p.returncode == 0 and p.stdout.split() == ["False", "True"], p.stderr
