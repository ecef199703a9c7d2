"""The parsed query: a scope and a list of operators, every node with its offset in the text."""

from __future__ import annotations

from dataclasses import dataclass, field

# --- expressions ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Lit:
    value: str | int | float | bool | None
    pos: int


@dataclass(frozen=True)
class Field:
    name: str
    pos: int


@dataclass(frozen=True)
class Unary:
    op: str  # "-" | "!"
    operand: Expr
    pos: int


@dataclass(frozen=True)
class Binary:
    op: str  # + - * / %   = != < > <= >=   and or
    left: Expr
    right: Expr
    pos: int


@dataclass(frozen=True)
class In:
    subject: Expr
    values: tuple[Expr, ...]
    negated: bool
    pos: int


@dataclass(frozen=True)
class Matches:
    subject: Expr
    pattern: Expr  # a string (wildcard pattern) or a field holding one
    regex: str | None  # /regex/ written in the query (then `pattern` is unused)
    pos: int


@dataclass(frozen=True)
class Call:
    name: str  # lower case: if, isnull, isempty, isblank, num, tolowercase, ...
    args: tuple[Expr, ...]
    pos: int


Expr = Lit | Field | Unary | Binary | In | Matches | Call

# --- the scope line ------------------------------------------------------------------------


@dataclass(frozen=True)
class ScopeTerm:
    """`_sourceCategory=value` (value may hold `*`), or `*` alone (value None: every message)."""

    value: str | None
    pos: int


@dataclass(frozen=True)
class ScopeBool:
    op: str  # and | or | not
    parts: tuple[Scope, ...]


Scope = ScopeTerm | ScopeBool

# --- operators -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Json:
    source: str  # the field parsed (`field=`; default _raw)
    source_pos: int
    paths: tuple[tuple[str | int, ...], ...]
    names: tuple[str, ...]
    nodrop: bool
    pos: int


@dataclass(frozen=True)
class Where:
    cond: Expr
    pos: int


@dataclass(frozen=True)
class Assign:
    expr: Expr
    name: str
    pos: int


@dataclass(frozen=True)
class Fields:
    names: tuple[str, ...]
    exclude: bool
    pos: int
    at: tuple[int, ...]  # where each name is written


@dataclass(frozen=True)
class Sort:
    keys: tuple[tuple[str, bool], ...]  # (field, descending)
    pos: int
    at: tuple[int, ...]


@dataclass(frozen=True)
class Count:
    name: str
    by: tuple[str, ...]
    pos: int
    at: tuple[int, ...]


@dataclass(frozen=True)
class Timeslice:
    span_ms: int
    name: str
    pos: int


@dataclass(frozen=True)
class Limit:
    n: int
    pos: int


Operator = Json | Where | Assign | Fields | Sort | Count | Timeslice | Limit


@dataclass
class Query:
    text: str
    name: str  # where the text came from, for messages
    scope: Scope
    operators: list[Operator]
    warnings: list[str] = field(default_factory=list)  # aliases accepted (eval, table)
