"""Text read as a whole number takes the ASCII digits 0-9 only (trailhound/digits.py).

`str.isdigit()` is true of "²" (a superscript), which `int()` refuses: every place that tested
isdigit() and then called int() raised a traceback on it - an option, an environment variable,
a Sumo query, a syslog target, a date folder of a CloudTrail key. Each now says what it wanted
(or, for a key, treats the folder as not a date), and other scripts' digits ("٣", which int()
reads as 3) are not taken for numbers either.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from trailhound.digits import is_digits
from trailhound.engine.file_scan import default_jobs
from trailhound.errors import UsageError
from trailhound.normalize._fields import address
from trailhound.sources import datepath
from trailhound.sources.limits import Limits
from trailhound.spill import SPILL_AFTER, spill_budget
from trailhound.sumo import SumoQueryError
from trailhound.sumo.parser import parse_query
from trailhound.watch.cef import parse_target

ODD = ["²", "١٢", "①", "1²", "²1", "٣"]


def test_is_digits() -> None:
    assert is_digits("0") and is_digits("0123456789")
    assert not any(is_digits(t) for t in ["", " 1", "1 ", "-1", "1.0", "+1", *ODD])
    # the characters it exists for: isdigit() says yes, int() says no (or reads a number)
    assert "²".isdigit() and "٣".isdigit() and int("٣") == 3


def th(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "trailhound", *args], capture_output=True,
                          text=True, env={**os.environ, **(env or {})}, timeout=120, check=False)


@pytest.mark.parametrize("text", ["²", "٣"])
def test_options_and_environment(tmp_path: Path, text: str) -> None:
    got = th("detect", "--max-correlation-events", text, "--format", "jsonl", "-q", str(tmp_path))
    assert got.returncode == 2 and "Traceback" not in got.stderr
    assert "expected a whole number" in got.stderr
    got = th("detect", "--format", "jsonl", "-q", str(tmp_path),
             env={"TRAILHOUND_MAX_INFLATE_RATIO": text})
    assert got.returncode == 2 and "Traceback" not in got.stderr
    assert "TRAILHOUND_MAX_INFLATE_RATIO" in got.stderr



@pytest.mark.parametrize("text", ["²", "٣", "²M"])
def test_sizes_from_the_environment(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setenv("TRAILHOUND_MAX_RECORD", text)
    with pytest.raises(UsageError, match="TRAILHOUND_MAX_RECORD"):
        Limits()


def test_counts_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for text in ODD:  # as for any value that is not a count: the default
        monkeypatch.setenv("TRAILHOUND_JOBS", text)
        assert default_jobs() == (os.cpu_count() or 1)
        monkeypatch.setenv("TRAILHOUND_SPILL_AFTER", text)
        assert spill_budget() == SPILL_AFTER
    monkeypatch.setenv("TRAILHOUND_JOBS", "3")
    monkeypatch.setenv("TRAILHOUND_SPILL_AFTER", "7")
    assert default_jobs() == 3 and spill_budget() == 7


@pytest.mark.parametrize("query", [
    '_sourceCategory=x | limit ²',
    '_sourceCategory=x | json "a[²]" as b | count by b',
    '_sourceCategory=x | timeslice ²m',
    '_sourceCategory=x | where a > ²',
    '_sourceCategory=x | where a > ٣',
    '_sourceCategory=x | where é = "a"',  # a letter, but not one a field name starts with
    '_sourceCategory=x | count by ª',
])
def test_sumo_queries(query: str) -> None:
    with pytest.raises(SumoQueryError):
        parse_query(query)


def test_syslog_target() -> None:
    assert parse_target("siem.example:6514") == ("siem.example", 6514)
    for text in ODD:
        with pytest.raises(UsageError):
            parse_target(f"siem.example:{text}")


def test_date_folders() -> None:
    ok = "/x/AWSLogs/1/CloudTrail/us-east-1/2026/03/01"
    assert datepath.date_of(ok) == (2026, 3, 1)
    for text in ODD:
        odd = f"/x/AWSLogs/1/CloudTrail/us-east-1/{text}/03/01"
        assert datepath.date_of(odd) is None
        assert datepath.before(odd, (2030, 1, 1)) is False


def test_ports_cut_off_addresses() -> None:
    assert address("1.2.3.4:443") == "1.2.3.4" and address("[::1]:443") == "::1"
    for text in ODD:  # not a port: kept as logged
        assert address(f"1.2.3.4:{text}") == f"1.2.3.4:{text}"
        assert address(f"[::1]:{text}") == f"[::1]:{text}"
