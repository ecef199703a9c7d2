"""Refuse YAML nested deeper than any rule, allowlist or placeholder file needs, before a loader
builds it.

Why a check of our own: PyYAML has no nesting limit. libyaml's composer (CSafeLoader, the rule
loader's) recurses in C once per level, so a 100 KB rule file of 50,000 `[` killed the whole
process with SIGSEGV, no message and no other file read; the pure-Python loader (allowlists,
placeholders) raised RecursionError out of the command as a traceback. The parser under both is
an iterative state machine, so its events can be counted at any depth without recursing.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

# Sigma rules nest about 6 levels (detection: selection: field: list), allowlists 4; 64 leaves
# room for any real file and stays far below the depth where a loader recurses out of stack.
MAX_DEPTH = 64

_PARSER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_OPEN = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_CLOSE = (yaml.MappingEndEvent, yaml.SequenceEndEvent)
# Leading indentation plus block indicators ('- ', '? '): block nesting needs columns.
_BLOCK_PREFIX = re.compile(r"^[ \t?-]*", re.MULTILINE)


class TooDeep(yaml.MarkedYAMLError):
    """YAML nested past MAX_DEPTH; a yaml.YAMLError, so every reader's YAML error path names
    the file (and the line, from problem_mark) as for a syntax error."""

    def __str__(self) -> str:
        # PyYAML's own form adds the stream name, '<unicode string>' for text: not a place.
        mark = self.problem_mark
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        return f"{self.problem}{where}"


def _depth_bound(text: str) -> int:
    """An upper bound on the nesting depth of `text`, in one C-speed pass: flow collections
    nest at most once per '[' or '{'; block collections need at least one more column for every
    second level (a sequence may sit at its parent key's column), and the columns of a line are
    its indentation and indicators."""
    flow = text.count("[") + text.count("{")
    widest = max((len(m) for m in _BLOCK_PREFIX.findall(text)), default=0)
    return flow + 2 * (widest + 1) + 1


def check_depth(text: str, limit: int = MAX_DEPTH) -> None:
    """Raise TooDeep (a yaml.YAMLError, naming the line) if `text` nests deeper than `limit`.

    Ordinary files are cleared by the bound alone; only files that might be deep pay for the
    parser's events (about half of a load's time)."""
    if _depth_bound(text) <= limit:
        return
    depth = 0
    try:
        for event in yaml.parse(text, Loader=_PARSER):
            if isinstance(event, _OPEN):
                depth += 1
                if depth > limit:
                    # libyaml's marks have the same line and column as the pure-Python ones
                    raise _too_deep(limit, event.start_mark)
            elif isinstance(event, _CLOSE):
                depth -= 1
    except TooDeep:
        raise
    except yaml.MarkedYAMLError as exc:
        # libyaml 0.2.5 (PyYAML 6.0.2+ wheels) refuses 1,000 flow levels in its scanner, which
        # reads ahead of the events: the same verdict, said the same way on every build
        if "maximum nesting depth" not in str(exc.problem or ""):
            raise
        raise _too_deep(limit, exc.problem_mark) from None


def _too_deep(limit: int, mark: Any) -> TooDeep:
    return TooDeep(
        problem=f"nested more than {limit} levels deep (no rule, allowlist or placeholder file "
        "needs that many; is this the right file?)",
        problem_mark=mark,
    )
