"""One escaping function per sink. Log fields are attacker-controlled: a userAgent or an
errorMessage can carry terminal escape sequences, spreadsheet formulas or markup.

- terminal: no control character (C0, DEL, C1: ESC, CSI, OSC, ...) and no bidirectional override
  reaches the screen; each is shown as a visible \\xNN / \\uNNNN escape, backslashes doubled so
  the escape cannot be forged.
- csv: cells starting with = + - @ (and tab / carriage return, which some spreadsheets strip
  first) are prefixed with a single quote (OWASP CSV injection guidance).
JSON output needs nothing here: the JSON encoder escapes control characters itself.
"""

from __future__ import annotations

import re

# C0 controls, DEL, C1 controls, and Unicode bidi/format characters that reorder what is shown
# (trojan-source style): LRE/RLE/PDF/LRO/RLO, LRI/RLI/FSI/PDI, LRM/RLM/ALM, line/para separators.
_UNSAFE = re.compile(
    "[\\\\\x00-\x1f\x7f-\x9f\u200e\u200f\u061c\u2028\u2029\u202a-\u202e\u2066-\u2069]"
)


def _visible(m: re.Match[str]) -> str:
    ch = m.group(0)
    if ch == "\\":
        return "\\\\"
    code = ord(ch)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def for_terminal(value: object) -> str:
    """Text safe to print on a terminal: every control/bidi character made visible."""
    return _UNSAFE.sub(_visible, "" if value is None else str(value))


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def for_csv(value: object) -> str:
    """A CSV cell that no spreadsheet evaluates as a formula (the csv module does the quoting)."""
    if value is None:
        return ""
    s = str(value)
    return "'" + s if s.startswith(_FORMULA_START) else s
