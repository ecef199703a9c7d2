"""Escapers, checked against their definitions on arbitrary text."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from trailhound.report.escape import for_csv, for_terminal

CONTROL = re.compile(
    "[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u200e\u200f\u2028\u2029\u061c"
    "\u200b-\u200d\u2060\ufeff\ud800-\udfff]"
)



def decode_visible(text: str) -> str:
    """The documented escaping (README, Bad input) undone, written here independently of the
    code: `\\\\` is a backslash, `\\xNN` and `\\uNNNN` the character with that code."""
    return re.sub(
        r"\\\\|\\x([0-9a-f]{2})|\\u([0-9a-f]{4})",
        lambda m: "\\" if m.group(0) == "\\\\" else chr(int(m.group(1) or m.group(2), 16)),
        text,
    )


@settings(max_examples=300)
@given(st.text())
def test_terminal_output_has_no_control_or_bidi_characters(s: str) -> None:
    assert not CONTROL.search(for_terminal(s))


@settings(max_examples=300)
@given(st.text())
def test_terminal_escape_is_reversible_so_nothing_is_hidden(s: str) -> None:
    # Decoding the visible escapes gives the original back: distinct inputs stay distinct.
    out = for_terminal(s)
    assert decode_visible(out) == s


def test_terminal_examples() -> None:
    assert for_terminal("a\x1b[31mb") == "a\\x1b[31mb"
    assert for_terminal("\u202eabc") == "\\u202eabc"
    assert for_terminal("C:\\x1b") == "C:\\\\x1b"  # a literal backslash cannot forge an escape
    assert for_terminal("ad\u200bmin\ufeff") == "ad\\u200bmin\\ufeff"  # zero-width shown
    assert for_terminal("x\udc9b") == "x\\udc9b"  # a lone surrogate cannot crash the encoder
    assert for_terminal(None) == ""


FORMULA_START = re.compile("^[ \u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]*[=+\\-@\uff1d\uff0b\uff0d\uff20\t\r\n]")


@settings(max_examples=300)
@given(st.text())
def test_csv_cell_never_starts_a_formula_and_gives_the_text_back(s: str) -> None:
    out = for_csv(s)
    assert not FORMULA_START.match(out)
    assert not CONTROL.search(out) and "\u200b" not in out
    # one documented decoding: drop one leading quote, then undo the visible escapes
    assert decode_visible(out.removeprefix("'")) == s


def test_csv_examples() -> None:
    assert for_csv("=1+1") == "'=1+1"
    assert for_csv("-2") == "'-2"
    assert for_csv("@SUM(A1)") == "'@SUM(A1)"
    assert for_csv("  =1+1") == "'  =1+1"  # spreadsheets strip the blanks first
    assert for_csv("\uff1dcmd") == "'\uff1dcmd"  # full-width equals sign
    assert for_csv("\t=1") == "\\x09=1"  # TAB escaped: the cell starts with a backslash
    assert for_csv("a\r\n=cmd") == "a\\x0d\\x0a=cmd"  # no line break inside a cell
    assert for_csv("'quoted") == "''quoted"  # so one leading quote is always ours
    assert for_csv("AccessDenied") == "AccessDenied"
    assert for_csv(-0.5) == "-0.5" and for_csv(3) == "3"  # our own numbers are not formulas
    assert for_csv(None) == ""
