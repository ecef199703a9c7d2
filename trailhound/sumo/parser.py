"""Tokens -> the query's AST (ast.py), refusing anything outside the subset with one error
naming the operator and its line:column.

The subset: the scope line (`_sourceCategory=...` with AND / OR / NOT / parentheses, `*`),
`json [field=F] "path", ... [as a, ...] [nodrop]`, `where`, `EXPR as name`, `fields [-] ...`,
`sort|order [by] [+]f [asc|desc], ...`, `count [as n] [by] a, ...`, `timeslice [by] N(s|m|h|d|w)
[as name]`, `limit N`. Expressions: literals, fields, `+ - * / %`, `= == != <> < > <= >=`,
`[not] in (...)`, `matches "wild*card"` / `matches /re2/`, `and or not !`, `c ? a : b`, and the
functions in FUNCTIONS. `eval x = e` and `table a, b` (SPL words Sumo rejects, used by the
catalog page) are read as `e as x` and `fields a, b`, each with a warning.
"""

from __future__ import annotations

import dataclasses

from trailhound.digits import is_digits
from trailhound.sumo.ast import (
    Assign,
    Binary,
    Call,
    Count,
    Expr,
    Field,
    Fields,
    In,
    Json,
    Limit,
    Lit,
    Matches,
    Operator,
    Query,
    Scope,
    ScopeBool,
    ScopeTerm,
    Sort,
    Timeslice,
    Unary,
    Where,
)
from trailhound.sumo.errors import SumoQueryError, line_col
from trailhound.sumo.lexer import Token, scope_end, scope_tokens, tokens

__all__ = ["FUNCTIONS", "OPERATORS", "parse_query"]

OPERATORS = ("json", "where", "fields", "sort", "order", "count", "timeslice", "limit",
             "EXPR as NAME", "eval (alias)", "table (alias)")
# function name (lower case) -> number of arguments (None: one or more)
FUNCTIONS: dict[str, int | None] = {
    "if": 3, "isnull": 1, "isempty": 1, "isblank": 1, "isnumeric": 1, "num": 1,
    "tolowercase": 1, "touppercase": 1, "length": 1, "concat": None, "contains": 2,
}
_SPAN_MS = {"s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
_COMPARE = ("=", "==", "!=", "<>", "<", ">", "<=", ">=")
_SUBSET = ", ".join(OPERATORS)


# Expressions are parsed and evaluated recursively, one Python frame (or ten) per level: a
# query of 5,000 '(' or 100,000 chained `or` died with RecursionError as a traceback. Deeper
# than this is no query anyone writes; it is refused with its position, as any other.
MAX_DEPTH = 100
_TOO_DEEP = (f"nested more than {MAX_DEPTH} levels deep (parentheses, not, or a chain of "
             "and/or/+); split it into several `where` operators")


def parse_query(text: str, name: str = "<query>") -> Query:
    """Parse a Sumo query; raises SumoQueryError (exit 2) for anything outside the subset."""
    end = scope_end(text)
    sp = _ScopeParser(text, name, scope_tokens(text, end, name))
    p = _Parser(text, name, tokens(text, end, name))
    parser: _Base = sp
    try:
        scope = sp.parse()
        parser = p
        ops = p.operators()
    except RecursionError:
        raise parser.error(parser.peek(), _TOO_DEEP) from None
    for node in (scope, *ops):
        deep = _deeper_than(node, MAX_DEPTH)
        if deep is not None:
            what = "scope" if node is scope else "as" if isinstance(node, Assign) else (
                type(node).__name__.lower())
            raise SumoQueryError(text, name, deep, what, _TOO_DEEP)
    return Query(text, name, scope, ops, p.warnings)


def _deeper_than(node: object, limit: int) -> int | None:
    """The offset of a node more than `limit` levels below `node`, else None. Iterative: the
    tree it checks is the one too deep to recurse over."""
    stack = [(node, 1)]
    while stack:
        n, depth = stack.pop()
        if depth > limit:
            return int(getattr(n, "pos", 0))
        for f in dataclasses.fields(n):  # type: ignore[arg-type]  # only dataclasses pushed
            value = getattr(n, f.name)
            for child in value if isinstance(value, tuple) else (value,):
                if dataclasses.is_dataclass(child):
                    stack.append((child, depth + 1))
    return None


class _Base:
    def __init__(self, text: str, name: str, toks: list[Token]) -> None:
        self.text, self.name, self.toks, self.i = text, name, toks, 0
        self.op_name = "scope"

    def peek(self, k: int = 0) -> Token:
        return self.toks[min(self.i + k, len(self.toks) - 1)]

    def take(self) -> Token:
        t = self.peek()
        self.i += 1
        return t

    def error(self, tok: Token, reason: str) -> SumoQueryError:
        return SumoQueryError(self.text, self.name, tok.pos, self.op_name, reason)

    def describe(self, tok: Token) -> str:
        return "the end of the query" if tok.kind == "eof" else repr(tok.value)


class _ScopeParser(_Base):
    """or := and (OR and)* ; and := not ([AND] not)* ; not := NOT not | ( or ) | term"""

    def parse(self) -> Scope:
        if self.peek().kind == "eof":
            return ScopeTerm(None, 0)
        s = self.or_()
        if self.peek().kind != "eof":
            raise self.error(self.peek(), f"unexpected {self.describe(self.peek())}")
        return s

    def or_(self) -> Scope:
        parts = [self.and_()]
        while self.peek().is_word("or"):
            self.take()
            parts.append(self.and_())
        return parts[0] if len(parts) == 1 else ScopeBool("or", tuple(parts))

    def and_(self) -> Scope:
        parts = [self.not_()]
        while self.peek().kind != "eof" and not self.peek().is_op(")") and not self.peek().is_word("or"):
            if self.peek().is_word("and"):
                self.take()
            parts.append(self.not_())
        return parts[0] if len(parts) == 1 else ScopeBool("and", tuple(parts))

    def not_(self) -> Scope:
        if self.peek().is_word("not"):
            self.take()
            return ScopeBool("not", (self.not_(),))
        if self.peek().is_op("("):
            self.take()
            s = self.or_()
            if not self.peek().is_op(")"):
                raise self.error(self.peek(), "missing ) in the scope line")
            self.take()
            return s
        return self.term()

    def term(self) -> Scope:
        t = self.take()
        if t.kind == "ident" and t.value == "*":
            return ScopeTerm(None, t.pos)
        if t.kind == "ident" and self.peek().is_op("="):
            if t.value.lower() != "_sourcecategory":
                raise self.error(
                    t, f"selecting by {t.value} is outside the subset trailhound runs; only "
                    "_sourceCategory=... is (records are tagged with their category: see "
                    "docs/sumo.md)",
                )
            self.take()
            v = self.take()
            if v.kind not in ("ident", "str"):
                raise self.error(v, "_sourceCategory= needs a value, e.g. aws/cloudtrail")
            return ScopeTerm(v.value, t.pos)
        raise self.error(
            t, f"keyword search ({self.describe(t)}) is outside the subset trailhound runs; "
            "select messages with _sourceCategory=... and filter with `| where`",
        )


class _Parser(_Base):
    def __init__(self, text: str, name: str, toks: list[Token]) -> None:
        super().__init__(text, name, toks)
        self.warnings: list[str] = []

    # --- operators --------------------------------------------------------------------------

    def operators(self) -> list[Operator]:
        ops: list[Operator] = []
        while self.peek().kind != "eof":
            bar = self.take()
            if not bar.is_op("|"):
                raise self.error(bar, f"expected | before the next operator, found {self.describe(bar)}")
            ops.append(self.operator())
            t = self.peek()
            if t.kind != "eof" and not t.is_op("|"):
                raise self.error(t, f"unexpected {self.describe(t)} at the end of the operator")
        return ops

    def operator(self) -> Operator:
        t = self.peek()
        word = t.value.lower() if t.kind == "ident" and not t.quoted else ""
        self.op_name = word or "expression"
        nxt = self.peek(1)
        starts_call = nxt.is_op("(")
        if word == "json":
            return self.json()
        if word == "where":
            self.take()
            return Where(self.expr(), t.pos)
        if word in ("fields", "table"):
            return self.fields(word)
        if word in ("sort", "order"):
            return self.sort()
        if word == "count" and not starts_call:
            return self.count()
        if word == "timeslice":
            return self.timeslice()
        if word == "limit":
            return self.limit()
        if word == "eval":
            return self.eval_alias()
        if word and (
            (starts_call and word not in FUNCTIONS)
            or (not starts_call and not self._continues_expression(nxt))
        ):
            raise self.error(
                t, f"operator {t.value!r} is outside the subset trailhound runs ({_SUBSET})"
            )
        self.op_name = "as"
        e = self.expr()
        if not self.peek().is_word("as"):
            raise self.error(
                self.peek(), "an expression operator must name its result: `... as NAME`"
            )
        self.take()
        return Assign(e, self.field_name(), t.pos)

    @staticmethod
    def _continues_expression(t: Token) -> bool:
        return (t.kind == "op" and t.value not in ("|", ",", ")")) or t.is_word(
            "as", "in", "not", "matches", "and", "or"
        )

    def json(self) -> Json:
        start = self.take()
        source, source_pos = "_raw", start.pos
        if self.peek().is_word("auto"):
            raise self.error(self.peek(), "`json auto` is outside the subset; name the keys: "
                             'json field=_raw "key" as name')
        if self.peek().is_word("field"):
            self.take()
            self.expect_op("=")
            source_pos = self.peek().pos
            source = self.field_name()
        keys: list[Token] = []
        while True:
            k = self.take()
            if k.kind != "str":
                raise self.error(k, 'expected a quoted key, e.g. json field=_raw "userIdentity.arn"')
            keys.append(k)
            if not self.peek().is_op(","):
                break
            self.take()
        names: list[str] = []
        if self.peek().is_word("as"):
            self.take()
            names.append(self.field_name())
            while self.peek().is_op(","):
                self.take()
                names.append(self.field_name())
        nodrop = False
        if self.peek().is_word("nodrop"):
            self.take()
            nodrop = True
        if not names:
            for k in keys:
                if not k.value.isidentifier():
                    raise self.error(k, f"name the field of the key {k.value!r}: `as NAME`")
                names.append(k.value)
        if len(names) != len(keys):
            raise self.error(start, f"{len(keys)} keys but {len(names)} names after `as`; give one name per key")
        paths = tuple(self.json_path(k) for k in keys)
        return Json(source, source_pos, paths, tuple(names), nodrop, start.pos)

    def json_path(self, k: Token) -> tuple[str | int, ...]:
        """`a.b[0]['c.d']` (a leading `$.` allowed) -> ("a", "b", 0, "c.d")."""
        s, i = k.value, 0
        out: list[str | int] = []
        if s.startswith("$."):
            i = 2
        while i < len(s):
            if s[i] == "[":
                j = s.find("]", i)
                inner = s[i + 1 : j] if j > 0 else ""
                if is_digits(inner):
                    out.append(int(inner))
                elif len(inner) >= 2 and inner[0] == inner[-1] and inner[0] in "'\"":
                    out.append(inner[1:-1])
                else:
                    raise self.error(k, f"JSON path {s!r}: `[{inner}]` is outside the subset "
                                     "(keys, ['quoted keys'] and [N] indexes are supported)")
                i = j + 1
                if i < len(s) and s[i] == ".":
                    i += 1
                continue
            j = i
            while j < len(s) and s[j] not in ".[":
                j += 1
            part = s[i:j]
            if not part or part == "*":
                raise self.error(k, f"JSON path {s!r}: wildcards and `..` are outside the subset")
            out.append(part)
            i = j + 1 if j < len(s) and s[j] == "." else j
        if not out:
            raise self.error(k, "empty JSON path")
        return tuple(out)

    def fields(self, word: str) -> Fields:
        start = self.take()
        if word == "table":
            self.warn(start, "`table` is not Sumo (SPL); ran as `fields`, its Sumo equivalent")
        exclude = False
        if self.peek().is_op("-"):
            self.take()
            exclude = True
        at = [self.peek().pos]
        names = [self.field_name()]
        while self.peek().is_op(","):
            self.take()
            at.append(self.peek().pos)
            names.append(self.field_name())
        if len({n.lower() for n in names}) != len(names):
            raise self.error(start, "a field is named twice; name each once")
        return Fields(tuple(names), exclude, start.pos, tuple(at))

    def sort(self) -> Sort:
        start = self.take()
        if self.peek().is_word("by"):
            self.take()
        keys: list[tuple[str, bool]] = []
        at: list[int] = []
        while True:
            desc = True  # Sumo's default order is descending
            if self.peek().is_op("+", "-"):
                desc = self.take().value == "-"
            at.append(self.peek().pos)
            name = self.field_name()
            if self.peek().is_word("asc", "desc"):
                desc = self.take().value.lower() == "desc"
            keys.append((name, desc))
            if not self.peek().is_op(","):
                return Sort(tuple(keys), start.pos, tuple(at))
            self.take()

    def count(self) -> Count:
        start = self.take()
        name = "_count"
        if self.peek().is_word("as"):
            self.take()
            name = self.field_name()
        by: list[str] = []
        at: list[int] = []
        if self.peek().is_word("by") or self.peek().kind == "ident":
            if self.peek().is_word("by"):
                self.take()
            at.append(self.peek().pos)
            by.append(self.field_name())
            while self.peek().is_op(","):
                self.take()
                at.append(self.peek().pos)
                by.append(self.field_name())
        return Count(name, tuple(by), start.pos, tuple(at))

    def timeslice(self) -> Timeslice:
        start = self.take()
        if self.peek().is_word("by"):
            self.take()
        t = self.take()
        span = t.value.lower() if t.kind == "span" else ""
        digits = span.rstrip("smhdw")
        if not span or not is_digits(digits) or span[len(digits):] not in _SPAN_MS or int(digits) == 0:
            raise self.error(t, "expected a fixed span such as 1m, 5m, 1h or 1d (units s m h d w); "
                             "`N buckets` is outside the subset")
        name = "_timeslice"
        if self.peek().is_word("as"):
            self.take()
            name = self.field_name()
        return Timeslice(int(digits) * _SPAN_MS[span[len(digits):]], name, start.pos)

    def limit(self) -> Limit:
        start = self.take()
        t = self.take()
        if t.kind != "num" or not is_digits(t.value):
            raise self.error(t, "expected a whole number of rows, e.g. limit 10")
        return Limit(int(t.value), start.pos)

    def eval_alias(self) -> Assign:
        start = self.take()
        name = self.field_name()
        self.expect_op("=")
        e = self.expr()
        self.warn(start, f"`eval {name} = ...` is not Sumo (SPL); ran as `... as {name}`, its Sumo "
                  "equivalent")
        return Assign(e, name, start.pos)

    def warn(self, tok: Token, message: str) -> None:
        line, col = line_col(self.text, tok.pos)
        self.warnings.append(f"{self.name}:{line}:{col}: {message}")

    def field_name(self) -> str:
        t = self.take()
        if t.kind != "ident" or t.is_word("as", "by", "and", "or", "not", "in", "matches"):
            raise self.error(t, f"expected a field name, found {self.describe(t)}")
        return t.value

    def expect_op(self, op: str) -> Token:
        t = self.take()
        if not t.is_op(op):
            raise self.error(t, f"expected {op!r}, found {self.describe(t)}")
        return t

    # --- expressions ------------------------------------------------------------------------

    def expr(self) -> Expr:
        cond = self.or_()
        if self.peek().is_op("?"):
            q = self.take()
            a = self.expr()
            self.expect_op(":")
            b = self.expr()
            return Call("if", (cond, a, b), q.pos)
        return cond

    def or_(self) -> Expr:
        left = self.and_()
        while self.peek().is_word("or"):
            t = self.take()
            left = Binary("or", left, self.and_(), t.pos)
        return left

    def and_(self) -> Expr:
        left = self.not_()
        while self.peek().is_word("and"):
            t = self.take()
            left = Binary("and", left, self.not_(), t.pos)
        return left

    def not_(self) -> Expr:
        if self.peek().is_op("!") or self.peek().is_word("not"):
            t = self.take()
            return Unary("!", self.not_(), t.pos)
        return self.compare()

    def compare(self) -> Expr:
        left = self.add()
        t = self.peek()
        if t.kind == "op" and t.value in _COMPARE:
            self.take()
            op = {"==": "=", "<>": "!="}.get(t.value, t.value)
            return Binary(op, left, self.add(), t.pos)
        negated = False
        if t.is_word("not") and self.peek(1).is_word("in"):
            self.take()
            negated = True
            t = self.peek()
        if t.is_word("in"):
            self.take()
            self.expect_op("(")
            values = [self.expr()]
            while self.peek().is_op(","):
                self.take()
                values.append(self.expr())
            self.expect_op(")")
            return In(left, tuple(values), negated, t.pos)
        if t.is_word("matches"):
            self.take()
            if self.peek().kind == "regex":
                r = self.take()
                return Matches(left, Lit(None, r.pos), r.value, t.pos)
            return Matches(left, self.add(), None, t.pos)
        return left

    def add(self) -> Expr:
        left = self.mul()
        while self.peek().is_op("+", "-"):
            t = self.take()
            left = Binary(t.value, left, self.mul(), t.pos)
        return left

    def mul(self) -> Expr:
        left = self.unary()
        while self.peek().is_op("*", "/", "%"):
            t = self.take()
            left = Binary(t.value, left, self.unary(), t.pos)
        return left

    def unary(self) -> Expr:
        if self.peek().is_op("-"):
            t = self.take()
            return Unary("-", self.unary(), t.pos)
        if self.peek().is_op("!"):
            t = self.take()
            return Unary("!", self.unary(), t.pos)
        return self.primary()

    def primary(self) -> Expr:
        t = self.take()
        if t.kind == "num":
            return Lit(float(t.value) if "." in t.value else int(t.value), t.pos)
        if t.kind == "str":
            return Lit(t.value, t.pos)
        if t.is_op("("):
            e = self.expr()
            self.expect_op(")")
            return e
        if t.kind == "ident":
            if t.is_word("true", "false"):
                return Lit(t.value.lower() == "true", t.pos)
            if t.is_word("null"):
                return Lit(None, t.pos)
            if self.peek().is_op("(") and not t.quoted:
                return self.call(t)
            if t.is_word("as", "by", "and", "or", "in", "matches"):
                raise self.error(t, f"expected a value, found {t.value!r}")
            return Field(t.value, t.pos)
        raise self.error(t, f"expected a value, found {self.describe(t)}")

    def call(self, t: Token) -> Expr:
        fname = t.value.lower()
        if fname not in FUNCTIONS:
            raise self.error(t, f"function {t.value}() is outside the subset trailhound runs "
                             f"({', '.join(FUNCTIONS)})")
        self.expect_op("(")
        args: list[Expr] = []
        if not self.peek().is_op(")"):
            args.append(self.expr())
            while self.peek().is_op(","):
                self.take()
                args.append(self.expr())
        self.expect_op(")")
        want = FUNCTIONS[fname]
        if (want is not None and len(args) != want) or (want is None and not args):
            need = "one or more" if want is None else str(want)
            raise self.error(t, f"{t.value}() takes {need} arguments, got {len(args)}")
        return Call(fname, tuple(args), t.pos)
