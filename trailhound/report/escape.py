"""One escaping function per sink. Log fields are attacker-controlled: a userAgent or an
errorMessage can carry terminal escape sequences, spreadsheet formulas or markup.

- terminal (the table, the stderr summary, and CSV, which is read on terminals too): no control
  character (C0 incl. CR/LF/TAB, DEL, C1: ESC, CSI, OSC, ...), no bidirectional control
  (U+202A-202E, U+2066-2069, U+200E/F, U+061C), no zero-width character (U+200B-200D, U+2060,
  U+FEFF), no line/paragraph separator and no lone surrogate reaches the screen. Each is shown as
  a visible `\\xNN` (code points up to U+00FF) or `\\uNNNN` escape, and a backslash is doubled, so
  an escape cannot be forged and undoing the escapes gives the exact original back.
- csv: the terminal escaping, then a single quote before every cell a spreadsheet would
  evaluate (OWASP CSV injection guidance): cells starting with = + - @ (or their full-width
  forms, which some spreadsheets take as the same), also after leading spaces, which spreadsheets
  strip first. TAB, CR and LF cannot start a cell: they are escaped. A cell starting with a quote
  gets one too, so stripping exactly one leading quote always gives the escaped value back.
  Numbers written by trailhound itself (scores, counts) are left alone: -0.5 is not a formula.
- json (JSON lines, OCSF): the encoder escapes C0 controls and quotes; the other characters of
  the terminal's set that JSON allows raw (DEL, C1 such as CSI U+009B, bidi controls, zero-width
  characters, line separators) are written as `\\uNNNN` too (`for_json`), so `cat findings.jsonl`
  or `grep` on a terminal shows them instead of obeying them. Lossless: a JSON reader decodes
  `\\u009b` to the same character.
"""

from __future__ import annotations

import re

# Written as a character class, not from unicodedata categories: the same set on every Python
# version, and the per-cell cost of the standard `re` module.
_UNSAFE = re.compile(
    "[\\\\"
    "\x00-\x1f\x7f-\x9f"  # C0, DEL, C1
    "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"  # bidi marks, embeddings, overrides, isolates
    "\u200b-\u200d\u2060\ufeff"  # zero-width space / non-joiner / joiner, word joiner, BOM
    "\u2028\u2029"  # line and paragraph separators (break a line like LF)
    "\ud800-\udfff"  # lone surrogates (undecodable bytes): unprintable, would crash the encoder
    "]"
)


def _visible(m: re.Match[str]) -> str:
    ch = m.group(0)
    if ch == "\\":
        return "\\\\"
    code = ord(ch)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


# The terminal's set less what JSON itself escapes (C0, the backslash) and less lone surrogates
# (the encoder refuses them; the readers turn them into U+FFFD).
_JSON_UNSAFE = re.compile(
    "[\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u200b-\u200d\u2060\ufeff"
    "\u2028\u2029]"
)


def _json_escape(m: re.Match[str]) -> str:
    return f"\\u{ord(m.group(0)):04x}"


def for_json(text: str) -> str:
    """JSON text (an encoder's output) with the characters above written as `\\uNNNN`; they can
    only stand inside JSON strings, where the escape means the same character. ASCII text (the
    common case: `isascii` is constant time on a str) is returned as it is."""
    return text if text.isascii() else _JSON_UNSAFE.sub(_json_escape, text)


def for_json_bytes(data: bytes) -> bytes:
    """`for_json` over UTF-8 JSON bytes (an alert body the watch stores and writes as it is)."""
    return data if data.isascii() else for_json(data.decode()).encode()


def for_terminal(value: object) -> str:
    """Text safe to print on a terminal: every control/bidi/zero-width character made visible."""
    return _UNSAFE.sub(_visible, "" if value is None else str(value))


# A cell a spreadsheet evaluates: after the blanks it strips, a formula trigger. Our own quote
# prefix is matched too (see the module docstring: one leading quote is always ours).
_FORMULA = re.compile("^(?:'|[ \u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]*[=+\\-@\uff1d\uff0b\uff0d\uff20])")


def for_csv(value: object) -> str:
    """A CSV cell safe on a terminal and never evaluated as a formula by a spreadsheet (the csv
    module does the quoting; no CR or LF is left inside a cell)."""
    if value is None:
        return ""
    if isinstance(value, (int, float)):  # bool included: our own values, never text from a log
        return str(value)
    s = for_terminal(value)
    return "'" + s if _FORMULA.match(s) else s
