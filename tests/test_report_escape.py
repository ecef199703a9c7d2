"""Escapers, checked against their definitions on arbitrary text."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from trailhound.report.escape import for_csv, for_terminal

CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u200e\u200f\u2028\u2029\u061c]")


@settings(max_examples=300)
@given(st.text())
def test_terminal_output_has_no_control_or_bidi_characters(s: str) -> None:
    assert not CONTROL.search(for_terminal(s))


@settings(max_examples=300)
@given(st.text())
def test_terminal_escape_is_reversible_so_nothing_is_hidden(s: str) -> None:
    # Decoding the visible escapes gives the original back: distinct inputs stay distinct.
    out = for_terminal(s)
    back = re.sub(r"\\\\|\\x([0-9a-f]{2})|\\u([0-9a-f]{4})",
                  lambda m: "\\" if m.group(0) == "\\\\" else chr(int(m.group(1) or m.group(2), 16)), out)
    assert back == s


def test_terminal_examples() -> None:
    assert for_terminal("a\x1b[31mb") == "a\\x1b[31mb"
    assert for_terminal("\u202eabc") == "\\u202eabc"
    assert for_terminal("C:\\x1b") == "C:\\\\x1b"  # a literal backslash cannot forge an escape
    assert for_terminal(None) == ""


@settings(max_examples=300)
@given(st.text())
def test_csv_cell_never_starts_a_formula(s: str) -> None:
    out = for_csv(s)
    assert not out.startswith(("=", "+", "-", "@", "\t", "\r"))
    assert out in (s, "'" + s)


def test_csv_examples() -> None:
    assert for_csv("=1+1") == "'=1+1"
    assert for_csv("-2") == "'-2"
    assert for_csv("@SUM(A1)") == "'@SUM(A1)"
    assert for_csv("AccessDenied") == "AccessDenied"
    assert for_csv(None) == ""
