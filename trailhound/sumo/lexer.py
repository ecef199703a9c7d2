"""Sumo search language text -> tokens with their offsets.

Written by hand because no maintained Python library parses Sumo's search language (pySigma's
Sumo backend only writes queries). Two token sets: the scope line (before the first `|`), whose
values are bare words such as `aws/cloudtrail` or `prod/*`, and the operators after it, where
`/.../` is a regex only right after `matches` (elsewhere `/` divides).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from trailhound.digits import is_digits
from trailhound.sumo.errors import SumoQueryError

__all__ = ["Token", "scope_end", "tokens"]


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # num | span | str | regex | ident | op | eof
    value: str
    pos: int  # offset in the query text
    quoted: bool = False  # an identifier written %"like this"

    def is_word(self, *words: str) -> bool:
        """An unquoted identifier that is one of `words` (keywords are case-insensitive)."""
        return self.kind == "ident" and not self.quoted and self.value.lower() in words

    def is_op(self, *ops: str) -> bool:
        return self.kind == "op" and self.value in ops


_SPACE = re.compile(r"(?:\s+|//[^\n]*|/\*.*?\*/)+", re.DOTALL)
_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_SPAN = re.compile(r"[0-9]+[A-Za-z]+")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OPS = ("==", "!=", "<>", "<=", ">=", "|", "(", ")", ",", "=", "<", ">", "+", "-", "*", "/",
        "%", "!", "?", ":")
# the scope line: a bare value runs to a blank, a parenthesis or a quote
_SCOPE_WORD = re.compile(r"[^\s()\"=|]+")


def scope_end(text: str) -> int:
    """Offset of the first `|` outside a quoted string (len(text) when there is none)."""
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == '"':
            i = _string_end(text, i, "scope")
            continue
        if c == "|":
            return i
        i += 1
    return n


def _string_end(text: str, start: int, operator: str | Callable[[], str],
                name: str = "<query>") -> int:
    """Offset just past the double-quoted string starting at `start`. `operator` names it in
    the error; a callable is asked only then (finding it scans back through the tokens: once
    per string made lexing 100,000 strings quadratic, minutes)."""
    i = start + 1
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == '"':
            return i + 1
        i += 1
    raise SumoQueryError(text, name, start, operator if isinstance(operator, str) else operator(),
                         "string not closed; add the closing \"")


def _unescape(body: str) -> str:
    # Sumo strings escape the quote and the backslash; other backslashes stay as written
    return re.sub(r"\\([\"\\])", r"\1", body)


def scope_tokens(text: str, end: int, name: str) -> list[Token]:
    """The scope line text[:end]: words, quoted strings, `=`, parentheses."""
    out: list[Token] = []
    i = 0
    while True:
        m = _SPACE.match(text, i, end)
        if m:
            i = m.end()
        if i >= end:
            out.append(Token("eof", "", end))
            return out
        c = text[i]
        if c == '"':
            j = _string_end(text, i, "scope", name)
            out.append(Token("str", _unescape(text[i + 1 : j - 1]), i))
            i = j
        elif c in "()=":
            out.append(Token("op", c, i))
            i += 1
        else:
            m = _SCOPE_WORD.match(text, i, end)
            assert m is not None  # every other character starts a word
            out.append(Token("ident", m.group(), i))
            i = m.end()


def tokens(text: str, start: int, name: str) -> list[Token]:
    """The operators after the scope line, from `start` (the first `|`)."""
    out: list[Token] = []
    i, n = start, len(text)
    while True:
        m = _SPACE.match(text, i)
        if m:
            i = m.end()
        if i >= n:
            out.append(Token("eof", "", n))
            return out
        c = text[i]
        prev = out[-1] if out else None
        if c == "/" and prev is not None and prev.is_word("matches"):
            j = _regex_end(text, i, name)
            out.append(Token("regex", text[i + 1 : j - 1].replace("\\/", "/"), i))
            i = j
        elif c == '"':
            j = _string_end(text, i, lambda: _operator_of(out), name)
            out.append(Token("str", _unescape(text[i + 1 : j - 1]), i))
            i = j
        elif c == "%" and text.startswith('%"', i):
            j = _string_end(text, i + 1, lambda: _operator_of(out), name)
            out.append(Token("ident", _unescape(text[i + 2 : j - 1]), i, quoted=True))
            i = j
        elif is_digits(c):
            span = _SPAN.match(text, i)
            if span:
                out.append(Token("span", span.group(), i))
                i = span.end()
            else:
                num = _NUMBER.match(text, i)
                assert num is not None
                out.append(Token("num", num.group(), i))
                i = num.end()
        elif c == "_" or (c.isascii() and c.isalpha()):  # (what _IDENT starts with)
            ident = _IDENT.match(text, i)
            assert ident is not None
            out.append(Token("ident", ident.group(), i))
            i = ident.end()
        else:
            op = next((o for o in _OPS if text.startswith(o, i)), None)
            if op is None:
                raise SumoQueryError(
                    text, name, i, _operator_of(out),
                    f"unexpected character {c!r}; strings are written in double quotes",
                )
            out.append(Token("op", op, i))
            i += len(op)


def _regex_end(text: str, start: int, name: str) -> int:
    i = start + 1
    while i < len(text) and text[i] != "\n":
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == "/":
            return i + 1
        i += 1
    raise SumoQueryError(text, name, start, "matches", "regex not closed; end it with /")


def _operator_of(toks: list[Token]) -> str:
    """The operator being lexed (the word after the last `|`), for error messages."""
    for k in range(len(toks) - 1, -1, -1):
        if toks[k].is_op("|"):
            nxt = toks[k + 1] if k + 1 < len(toks) else None
            return nxt.value if nxt is not None and nxt.kind == "ident" else "query"
    return "query"
