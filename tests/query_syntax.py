"""A syntax check of our own for the export languages that have no maintained Python parser:
SPL (Splunk), KQL (Kusto) and ES|QL (sqlglot, the usual choice, parses none of them; Kusto's
parser is .NET, ES|QL's is Java inside Elasticsearch, SPL's is Splunk's own).

What it checks, per language (docs/export.md, "Syntax checks"):
* every string literal is closed (double quotes with backslash escapes; KQL's verbatim `@"..."`
  with doubled quotes; SPL's single-quoted field names; ES|QL's backquoted names) and every
  parenthesis is balanced outside strings and comments;
* the query splits at top-level `|` into commands, and every command after the first is one the
  language has and the export uses (SPL eval/where/rename/table/sort, KQL extend/where/project/
  sort, ES|QL EVAL/WHERE/KEEP/SORT), the first being a search, a table or `union`, or FROM;
* every name called as a function (`name(`) is a function of the language's reference.
It cannot tell a wrong type or an unknown field: the golden files are reviewed by hand for that.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Language:
    name: str
    commands: frozenset[str]
    functions: frozenset[str]
    first: re.Pattern[str]
    comment: str  # line comment start; SPL uses ``` ... ``` blocks instead
    case_insensitive_commands: bool = False


SPL = Language(
    "spl",
    frozenset({"eval", "where", "rename", "table", "sort"}),
    frozenset({
        "if", "in", "lower", "like", "match", "isnull", "isnotnull", "cidrmatch", "tonumber", "true", "false",
        "case", "replace",
    }),
    re.compile(r'\(sourcetype=""( OR sourcetype="")*\)\Z'),  # string literals are blanked first
    "```",
)
KQL = Language(
    "kql",
    frozenset({"extend", "where", "project", "sort"}),
    frozenset({
        "iff", "tostring", "parse_json", "todouble", "tolower", "isempty", "isnotempty", "ipv4_is_in_range",
        "ipv6_is_in_range", "indexof", "strlen", "substring", "pack_all", "not", "case", "extract",
    }),
    re.compile(r"([A-Za-z]+|union)\b"),
    "//",
)
ESQL = Language(
    "esql",
    frozenset({"EVAL", "WHERE", "KEEP", "SORT"}),
    frozenset({
        "CASE", "TO_LOWER", "TO_DOUBLE", "TO_STRING", "TO_IP", "CIDR_MATCH", "STARTS_WITH", "ENDS_WITH", "LOCATE",
        "REPLACE",
    }),
    re.compile(r"FROM logs-[a-z0-9.]+-\*(, logs-[a-z0-9.]+-\*)*\Z"),
    "//",
)


def _strip(text: str, lang: Language) -> str:
    """The query with every string literal replaced by "" and comments removed; raises
    ValueError for an unclosed literal or comment."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if lang.comment == "```" and text.startswith("```", i):
            end = text.find("```", i + 3)
            if end < 0:
                raise ValueError(f"unclosed ``` comment at {i}")
            i = end + 3
        elif lang.comment == "//" and text.startswith("//", i) and (i == 0 or text[i - 1] == "\n"):
            end = text.find("\n", i)
            i = n if end < 0 else end
        elif lang.name == "kql" and text.startswith('@"', i):
            j = i + 2
            while True:
                j = text.find('"', j)
                if j < 0:
                    raise ValueError(f"unclosed verbatim string at {i}")
                if text.startswith('""', j):
                    j += 2
                    continue
                break
            out.append('""')
            i = j + 1
        elif c in "\"'`" and not (c == "'" and lang.name != "spl"):
            j = i + 1
            while j < n and text[j] != c:
                if text[j] == "\n":
                    raise ValueError(f"string broken by a line end at {i}")
                j += 2 if text[j] == "\\" else 1
            if j >= n:
                raise ValueError(f"unclosed {c} string at {i}")
            out.append(c + c)
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def check(text: str, lang: Language) -> list[str]:
    """Problems found in `text` (empty: it passed)."""
    try:
        code = _strip(text, lang)
    except ValueError as e:
        return [str(e)]
    problems, depth = [], 0
    commands, current = [], []
    for ch in code:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                return ["a ')' closes nothing"]
        if ch == "|" and depth == 0:
            commands.append("".join(current))
            current = []
        else:
            current.append(ch)
    commands.append("".join(current))
    if depth != 0:
        problems.append(f"{depth} parenthesis(es) left open")
    first, rest = commands[0].strip(), commands[1:]
    if not lang.first.match(first):
        problems.append(f"the query does not start with a source: {first[:60]!r}")
    for command in rest:
        word = command.strip().split(None, 1)[0] if command.strip() else ""
        if word not in lang.commands:
            problems.append(f"unknown command {word!r}")
    for name in re.findall(r"\b([A-Za-z_][A-Za-z0-9_]*)\(", code):
        if name not in lang.functions:
            problems.append(f"unknown function {name}()")
    return problems
