"""Rule text and values as each export's sinks need them. Rule titles, notes and values come
from rule files, which may be someone else's (`--rules` of a downloaded pack): a title must not
end a comment and start query text, a value must not end its string literal."""

from __future__ import annotations

import re

__all__ = ["c_string", "one_line"]

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def one_line(text: str) -> str:
    """For a line comment: whitespace runs (line breaks included) become one space, other
    control characters are dropped."""
    return _CONTROL.sub("", " ".join(text.split()))


def c_string(s: str) -> str:
    """A double-quoted literal with backslash escapes, as SPL's eval, KQL, ES|QL and Sumo read
    them: backslash, quote and the line-breaking characters escaped."""
    escaped = s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    return f'"{escaped}"'
