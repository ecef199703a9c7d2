"""An expression of the AST -> a function of one row, compiled once. Field names are resolved
before (plan.py passes `resolve`), so a typo is an error at the query's position, not a null."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from trailhound.sumo.ast import Binary, Call, Expr, Field, In, Lit, Matches, Unary
from trailhound.sumo.values import (
    RegexRefused,
    Value,
    compile_regex,
    compile_wildcard,
    equals,
    less,
    normalized,
    number,
    text,
    truth,
)

Row = dict[str, Any]
Fn = Callable[[Row], Value]
Resolve = Callable[[str, int], str]  # (name as written, offset) -> the row's key
Refuse = Callable[[int, str, str], Exception]  # (offset, operator, reason) -> error to raise

__all__ = ["Fn", "Refuse", "Resolve", "compile_expr"]


def compile_expr(e: Expr, resolve: Resolve, refuse: Refuse) -> Fn:
    if isinstance(e, Lit):
        v = e.value
        return lambda row: v
    if isinstance(e, Field):
        key = resolve(e.name, e.pos)
        return lambda row: row.get(key)
    if isinstance(e, Unary):
        f = compile_expr(e.operand, resolve, refuse)
        if e.op == "!":
            return lambda row: not truth(f(row))
        return lambda row: _neg(f(row))
    if isinstance(e, Binary):
        return _binary(e, compile_expr(e.left, resolve, refuse),
                       compile_expr(e.right, resolve, refuse))
    if isinstance(e, In):
        subject = compile_expr(e.subject, resolve, refuse)
        values = [compile_expr(v, resolve, refuse) for v in e.values]
        negated = e.negated
        # a list of string literals (the usual `in`): text is in it exactly when it is one of
        # them, which is what `equals` says for two texts; one set lookup instead of N calls
        texts = None
        if all(isinstance(v, Lit) and isinstance(v.value, str) for v in e.values):
            texts = frozenset(v.value for v in e.values if isinstance(v, Lit))

        def within(row: Row) -> bool:
            s = subject(row)
            if texts is not None and isinstance(s, str):
                found = s in texts
            else:
                found = s is not None and any(equals(s, v(row)) for v in values)
            return (not found) if negated else found

        return within
    if isinstance(e, Matches):
        return _matches(e, resolve, refuse)
    assert isinstance(e, Call)
    return _call(e, [compile_expr(a, resolve, refuse) for a in e.args])


def _neg(v: Value) -> Value:
    n = number(v)
    return None if n is None else normalized(-n)


def _arith(op: str) -> Callable[[int | float, int | float], int | float | None]:
    if op == "+":
        return lambda a, b: a + b
    if op == "-":
        return lambda a, b: a - b
    if op == "*":
        return lambda a, b: a * b
    if op == "/":
        return lambda a, b: a / b if b else None
    return lambda a, b: a % b if b else None


def _binary(e: Binary, left: Fn, right: Fn) -> Fn:
    op = e.op
    if op == "and":
        return lambda row: truth(left(row)) and truth(right(row))
    if op == "or":
        return lambda row: truth(left(row)) or truth(right(row))
    if op == "=":
        return lambda row: equals(left(row), right(row))
    if op == "!=":
        def differs(row: Row) -> bool:
            a, b = left(row), right(row)
            return a is not None and b is not None and not equals(a, b)

        return differs
    if op in ("<", ">", "<=", ">="):
        swap = op in (">", "<=")  # a > b is b < a; a <= b is not (b < a)
        negate = op in ("<=", ">=")

        def ordered(row: Row) -> bool:
            a, b = left(row), right(row)
            r = less(b, a) if swap else less(a, b)
            if r is None:
                return False
            return (not r) if negate else r

        return ordered
    fn = _arith(op)

    def arith(row: Row) -> Value:
        a, b = number(left(row)), number(right(row))
        if a is None or b is None:
            return None
        r = fn(a, b)
        return None if r is None else normalized(r)

    return arith


def _matches(e: Matches, resolve: Resolve, refuse: Refuse) -> Fn:
    subject = compile_expr(e.subject, resolve, refuse)
    if e.regex is not None:
        try:
            match = compile_regex(e.regex)
        except RegexRefused as exc:
            raise refuse(e.pattern.pos, "matches", f"regex /{e.regex}/: {exc}") from None

        def regex(row: Row) -> bool:
            s = text(subject(row))
            return s is not None and match(s)

        return regex
    if isinstance(e.pattern, Lit) and isinstance(e.pattern.value, str):
        fixed = compile_wildcard(e.pattern.value)

        def wildcard(row: Row) -> bool:
            s = text(subject(row))
            return s is not None and fixed(s)

        return wildcard
    pattern = compile_expr(e.pattern, resolve, refuse)

    def dynamic(row: Row) -> bool:  # `host matches other_field`: the field holds the pattern
        s, p = text(subject(row)), text(pattern(row))
        return s is not None and p is not None and compile_wildcard(p)(s)

    return dynamic


def _call(e: Call, args: list[Fn]) -> Fn:
    name = e.name
    if name == "if":
        c, a, b = args
        return lambda row: a(row) if truth(c(row)) else b(row)
    (first, *rest) = args
    if name == "isnull":
        return lambda row: first(row) is None
    if name == "isempty":  # null or "" (not " "): Sumo's documented table
        return lambda row: text(first(row)) in (None, "")
    if name == "isblank":
        return lambda row: (text(first(row)) or "").strip() == ""
    if name == "isnumeric":
        return lambda row: number(first(row)) is not None
    if name == "num":
        return lambda row: number(first(row))
    if name == "tolowercase":
        return lambda row: _map_text(first(row), str.lower)
    if name == "touppercase":
        return lambda row: _map_text(first(row), str.upper)
    if name == "length":
        return lambda row: _map_text(first(row), len)
    if name == "contains":
        second = rest[0]

        def contains(row: Row) -> bool:
            s, sub = text(first(row)), text(second(row))
            return s is not None and sub is not None and sub in s

        return contains
    assert name == "concat"
    return lambda row: "".join(text(f(row)) or "" for f in args)


def _map_text(v: Value, fn: Callable[[str], Any]) -> Any:
    s = text(v)
    return None if s is None else fn(s)
