"""Rules -> Spark Column expressions, from the same pySigma condition trees the reference engine
compiles (engine/reference.py), with engine/fields.py's semantics reproduced exactly.

Two halves, one per side of the Python/JVM line:

* `ExtractPlan` (executors, Python): for every field some rule, filter or correlation reads,
  the executors look the field up in the raw record with fields.py's lookup (longest key, lists
  crossed, leaves flattened) and emit only what the SQL below needs, as columns:

      p<i>  boolean        the field is present (has a hit)           exists, null
      z<i>  boolean        some leaf is JSON null                     null
      l<i>  array<string>  leaf texts that are ASCII, lower-cased     strings, booleans
      a<i>  array<string>  leaf texts that are ASCII, as written      |cased strings
      s<i>, c<i>  string   the same when the field has exactly one ASCII text (l<i> / a<i> are
                           then null): most fields hold one value, and a test on a scalar is
                           generated code where `exists` over an array is an interpreted lambda
      n<i>  array<double>  numeric leaves a double holds exactly      numbers, |gt |lt ...
      t<i>  array<string>  every leaf text, in leaf order             correlation group-by,
                                                                      value_count
      v<i>  string         the first numeric leaf (exact text)        value_sum / value_avg
      kwl / kwa            the record's ASCII string leaves (lower / as written): keywords
      hits  array<int>     the ids of the atoms (below) that hold

* Column expressions (SQL, JVM): the rule logic over those columns: `exists(l3, x -> x IN
  ('createuser', ...) OR startswith(x, 'createfunction20'))`, `p2 AND NOT ...`, `~p5 OR z5`,
  `array_contains(hits, 7)`, ANDed with the rule's log-source gate on `source`.

Why the ASCII split. Sigma strings are case-insensitive with Python `re.IGNORECASE` folding
(fields.py section 2): for ASCII text against an ASCII pattern that is exactly lower-case
equality / LIKE, which Spark evaluates; for non-ASCII text it is Unicode simple case folding
(the Kelvin sign matches `k`, `ſ` matches `s`), which neither Spark's `lower` nor Java regex
reproduce. So SQL sees the ASCII texts, and each string test also gets a *residual atom*: the
executor evaluates the reference engine's own leaf test on the field's non-ASCII texts (almost
always there are none, and then it costs nothing). Numbers likewise: SQL compares doubles, and
integers a double cannot hold exactly (beyond 2**53) go to a residual atom.

Atoms (executors, Python, the reference engine's own predicates, so the semantics are
identical by construction): `|re` (RE2 with Python `re`'s meaning, engine/sigma_regex.py; not
Java regex, which backtracks and reads patterns differently), `|cidr` (Python
`ipaddress`), `|fieldref`, timestamp parts, case-insensitive patterns with non-ASCII
characters, and numbers beyond 2**53. Each is one id in `hits`.

Everything the reference engine refuses is refused here with the same EngineError (the
reference engine compiles the RuleSet first, as a validator).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionNOT,
    ConditionOR,
    ConditionValueExpression,
    SigmaCondition,
)
from sigma.types import (
    CompareOperators,
    SigmaBool,
    SigmaCasedString,
    SigmaCompareExpression,
    SigmaExists,
    SigmaExpansion,
    SigmaNull,
    SigmaNumber,
    SigmaString,
    SigmaTimestampPart,
    SigmaType,
    SpecialChars,
)

from trailhound.engine import fields as F
from trailhound.engine.reference import ReferenceEngine
from trailhound.logsources import LOGSOURCES
from trailhound.rules.model import Correlation, Filter, Rule, RuleSet

__all__ = ["Atom", "CompiledRules", "ExtractPlan", "FieldSpec", "compile_ruleset"]

MAX_EXACT_INT = 2**53  # integers up to this magnitude are exact as doubles
_MULTI = SpecialChars.WILDCARD_MULTI
_SINGLE = SpecialChars.WILDCARD_SINGLE
ALL_SOURCES = frozenset(LOGSOURCES)


# ---------------------------------------------------------------------------------------------
# The executor half: what to extract


@dataclass
class FieldSpec:
    """One field (mapped Sigma name) and the columns the SQL needs of it."""

    name: str
    idx: int
    present: bool = False  # p<i>
    nulls: bool = False  # z<i>
    lower: bool = False  # l<i>
    cased: bool = False  # a<i>
    numbers: bool = False  # n<i>
    texts: bool = False  # t<i>
    first_number: bool = False  # v<i>
    sources: set[str] = field(default_factory=set)  # events of these sources need it


@dataclass(frozen=True)
class Atom:
    """A test the executors evaluate in Python (see the module docstring).

    kind "field": the reference engine's predicate for (field, value); "keyword": its keyword
    predicate. scope "all": over the whole record / field; "text": only over the field's (or
    the record's, for keywords) non-ASCII texts; "number": only over the field's numeric leaves
    a double cannot hold. `values` are OR-ed (a group of one field's values in one OR node).
    """

    id: int
    kind: str  # field | keyword
    field: str | None
    values: tuple[SigmaType, ...]
    scope: str  # all | text | number
    sources: frozenset[str]


@dataclass
class ExtractPlan:
    """Everything the executors need to turn a raw record into the match columns (picklable)."""

    fields: list[FieldSpec]
    keywords_lower: bool = False
    keywords_cased: bool = False
    keyword_sources: set[str] = field(default_factory=set)
    atoms: list[Atom] = field(default_factory=list)

    def columns(self) -> list[tuple[str, str]]:
        """(column name, Spark DDL type) of every extracted column, in emit order."""
        out: list[tuple[str, str]] = []
        for f in self.fields:
            i = f.idx
            if f.present:
                out.append((f"p{i}", "boolean"))
            if f.nulls:
                out.append((f"z{i}", "boolean"))
            if f.lower:
                out.append((f"s{i}", "string"))
                out.append((f"l{i}", "array<string>"))
            if f.cased:
                out.append((f"c{i}", "string"))
                out.append((f"a{i}", "array<string>"))
            if f.numbers:
                out.append((f"n{i}", "array<double>"))
            if f.texts:
                out.append((f"t{i}", "array<string>"))
            if f.first_number:
                out.append((f"v{i}", "string"))
        if self.keywords_lower:
            out.append(("kwl", "array<string>"))
        if self.keywords_cased:
            out.append(("kwa", "array<string>"))
        out.append(("hits", "array<int>"))
        return out


# ---------------------------------------------------------------------------------------------
# The JVM half: Column expressions


@dataclass
class CompiledRules:
    ruleset: RuleSet
    plan: ExtractPlan
    rule_preds: list[Any]  # Column per rule (ungated)
    rule_sources: list[frozenset[str]]
    filter_preds: list[Any]  # Column per filter
    rule_filters: list[list[int]]  # applicable filters per rule, RuleSet order
    pairs: list[tuple[int, int]]  # (rule, filter) suppression pairs, in reference order
    field_index: dict[str, int]

    def gate(self, r: int) -> Any:
        from pyspark.sql import functions as S

        srcs = self.rule_sources[r]
        if srcs == ALL_SOURCES:
            return S.lit(True)
        if not srcs:
            return S.lit(False)
        return S.col("source").isin(sorted(srcs))

    def match_columns(self) -> dict[str, Any]:
        """`matched` (array<int>: rules that matched and no filter removed, RuleSet order) and
        `suppressed` (array<int>: indexes into `pairs`), for event rows."""
        from pyspark.sql import functions as S

        matched, suppressed = [], []
        pair_index = {p: i for i, p in enumerate(self.pairs)}
        for r, pred in enumerate(self.rule_preds):
            m = S.when(self.gate(r), pred).otherwise(S.lit(False))
            flts = self.rule_filters[r]
            if not flts:
                matched.append(S.when(m, S.lit(r)))
                continue
            keep = _and([self.filter_preds[f] for f in flts])
            matched.append(S.when(m & keep, S.lit(r)))
            for f in flts:
                suppressed.append(S.when(m & ~self.filter_preds[f], S.lit(pair_index[(r, f)])))
        empty = S.array().cast("array<int>")
        return {
            "matched": S.array_compact(S.array(*matched)) if matched else empty,
            "suppressed": S.array_compact(S.array(*suppressed)) if suppressed else empty,
        }

    # -- correlation inputs (group-by values, condition values) ---------------------------

    def texts_of(self, paths: tuple[str, ...]) -> Any:
        """correlate._texts: the texts of the first path that has some, else null."""
        from pyspark.sql import functions as S

        cols = [
            S.when(S.size(S.col(f"t{self.field_index[p]}")) > 0, S.col(f"t{self.field_index[p]}"))
            for p in paths
        ]
        return cols[0] if len(cols) == 1 else S.coalesce(*cols)

    def number_of(self, paths: tuple[str, ...]) -> Any:
        """correlate._number: the first numeric leaf of the first path with one (exact text)."""
        from pyspark.sql import functions as S

        cols = [S.col(f"v{self.field_index[p]}") for p in paths]
        return cols[0] if len(cols) == 1 else S.coalesce(*cols)


def _and(cols: list[Any]) -> Any:
    out = cols[0]
    for c in cols[1:]:
        out = out & c
    return out


def _or(cols: list[Any]) -> Any:
    out = cols[0]
    for c in cols[1:]:
        out = out | c
    return out


class _Compiler:
    def __init__(self) -> None:
        self.fields: dict[str, FieldSpec] = {}
        self.plan = ExtractPlan(fields=[])
        self.sources: frozenset[str] = frozenset()  # of the rule being compiled

    # -- bookkeeping -----------------------------------------------------------------------

    def spec(self, name: str) -> FieldSpec:
        fs = self.fields.get(name)
        if fs is None:
            fs = self.fields[name] = FieldSpec(name, len(self.fields))
            self.plan.fields.append(fs)
        fs.sources |= self.sources
        return fs

    def atom(self, kind: str, fld: str | None, values: Iterable[SigmaType], scope: str) -> Any:
        from pyspark.sql import functions as S

        a = Atom(len(self.plan.atoms), kind, fld, tuple(values), scope, self.sources)
        self.plan.atoms.append(a)
        return S.array_contains(S.col("hits"), a.id)

    # -- conditions ------------------------------------------------------------------------

    def tree(self, node: Any) -> Any:
        if isinstance(node, ConditionAND):
            return _and([self.tree(a) for a in node.args])
        if isinstance(node, ConditionOR):
            return self.any_of(node.args)
        if isinstance(node, ConditionNOT):
            return ~self.tree(node.args[0])
        if isinstance(node, ConditionFieldEqualsValueExpression):
            return self.field_values(node.field, [node.value])
        if isinstance(node, ConditionValueExpression):
            return self.keyword(node.value)
        raise AssertionError(f"unexpected condition node {type(node).__name__}")  # validated

    def any_of(self, args: Iterable[Any]) -> Any:
        """OR node: the values tested on one field are grouped into one test (one `exists`)."""
        by_field: dict[str, list[SigmaType]] = {}
        others: list[Any] = []
        order: list[Any] = []
        for a in args:
            if isinstance(a, ConditionFieldEqualsValueExpression):
                if a.field not in by_field:
                    by_field[a.field] = []
                    order.append(a.field)
                by_field[a.field].append(a.value)
            else:
                order.append(a)
                others.append(a)
        cols = []
        for item in order:
            if isinstance(item, str):
                cols.append(self.field_values(item, by_field[item]))
            else:
                cols.append(self.tree(item))
        return _or(cols)

    # -- field tests -----------------------------------------------------------------------

    def field_values(self, name: str, values: list[SigmaType]) -> Any:
        """OR of `name` matching each of `values` (fields.py section 2)."""
        flat: list[SigmaType] = []
        for v in values:
            flat.extend(_expand(v))
        lower: list[list[Any]] = []  # normalized, lower-cased parts of case-insensitive strings
        cased: list[list[Any]] = []
        numbers: list[tuple[str, float]] = []  # (op, n)
        bools: list[bool] = []
        text_residual: list[SigmaType] = []
        number_residual: list[SigmaType] = []
        cols: list[Any] = []
        whole: list[SigmaType] = []  # values evaluated whole by an atom
        for v in flat:
            if isinstance(v, SigmaExists):
                cols.append(self.exists(name, bool(v.exists)))
            elif isinstance(v, SigmaNull):
                cols.append(self.null(name))
            elif isinstance(v, SigmaString):
                parts = list(v.s)
                is_cased = isinstance(v, SigmaCasedString)
                if not is_cased and not _ascii(parts):
                    whole.append(v)  # Unicode case folding of the pattern itself
                    continue
                (cased if is_cased else lower).append(parts)
                if _residual_needed(parts, is_cased):
                    text_residual.append(v)
            elif isinstance(v, SigmaBool):
                bools.append(v.boolean)
            elif isinstance(v, SigmaTimestampPart):
                whole.append(v)
            elif isinstance(v, SigmaNumber):
                if _exact(v.number):
                    numbers.append(("eq", float(v.number)))
                    number_residual.append(v)
                else:
                    whole.append(v)
            elif isinstance(v, SigmaCompareExpression):
                target = v.number
                if isinstance(target, SigmaTimestampPart) or not _exact(target.number):
                    whole.append(v)
                else:
                    numbers.append((_OPS[v.op], float(target.number)))
                    number_residual.append(v)
            else:  # |re, |cidr, |fieldref (and anything else the reference engine accepts)
                whole.append(v)
        if lower or bools:
            fs = self.spec(name)
            fs.lower = True
            tests = [_wildcard(parts, lower=True) for parts in lower]
            tests += [_equals("true" if b else "false") for b in bools]
            cols.append(_exists(f"s{fs.idx}", f"l{fs.idx}", tests))
        if cased:
            fs = self.spec(name)
            fs.cased = True
            cols.append(
                _exists(
                    f"c{fs.idx}", f"a{fs.idx}", [_wildcard(parts, lower=False) for parts in cased]
                )
            )
        if numbers:
            fs = self.spec(name)
            fs.numbers = True
            cols.append(_exists(None, f"n{fs.idx}", [_compare(op, n) for op, n in numbers]))
        if text_residual:
            cols.append(self.atom("field", name, text_residual, "text"))
        if number_residual:
            cols.append(self.atom("field", name, number_residual, "number"))
        if whole:
            cols.append(self.atom("field", name, whole, "all"))
        return _or(cols)

    def exists(self, name: str, want: bool) -> Any:
        from pyspark.sql import functions as S

        fs = self.spec(name)
        fs.present = True
        col = S.col(f"p{fs.idx}")
        return col if want else ~col

    def null(self, name: str) -> Any:
        from pyspark.sql import functions as S

        fs = self.spec(name)
        fs.present = fs.nulls = True
        return ~S.col(f"p{fs.idx}") | S.col(f"z{fs.idx}")

    # -- keywords (fields.py section 3) ----------------------------------------------------

    def keyword(self, value: SigmaType) -> Any:
        flat = _expand(value)
        lower: list[list[Any]] = []
        cased: list[list[Any]] = []
        residual: list[SigmaType] = []
        whole: list[SigmaType] = []
        for v in flat:
            if isinstance(v, SigmaString):
                parts = F.contains_pattern(list(v.s))
                is_cased = isinstance(v, SigmaCasedString)
                if not is_cased and not _ascii(parts):
                    whole.append(v)
                    continue
                (cased if is_cased else lower).append(parts)
                residual.append(v)
            elif isinstance(v, SigmaNumber) and not isinstance(v, SigmaTimestampPart):
                cased.append(F.contains_pattern([str(v.number)]))
                residual.append(v)
            else:  # |re keywords
                whole.append(v)
        self.plan.keyword_sources |= self.sources
        cols = []
        if lower:
            self.plan.keywords_lower = True
            cols.append(_exists(None, "kwl", [_wildcard(p, lower=True) for p in lower]))
        if cased:
            self.plan.keywords_cased = True
            cols.append(_exists(None, "kwa", [_wildcard(p, lower=False) for p in cased]))
        if residual:
            cols.append(self.atom("keyword", None, residual, "text"))
        if whole:
            cols.append(self.atom("keyword", None, whole, "all"))
        return _or(cols)


_OPS = {
    CompareOperators.LT: "lt",
    CompareOperators.LTE: "lte",
    CompareOperators.GT: "gt",
    CompareOperators.GTE: "gte",
    CompareOperators.NEQ: "neq",
}


def _expand(v: SigmaType) -> list[SigmaType]:
    if isinstance(v, SigmaExpansion):
        out: list[SigmaType] = []
        for x in v.values:
            out.extend(_expand(x))
        return out
    return [v]


def _exact(n: Any) -> bool:
    return isinstance(n, float) or (isinstance(n, int) and abs(n) <= MAX_EXACT_INT)


def _ascii(parts: list[Any]) -> bool:
    return all(p.isascii() for p in parts if isinstance(p, str))


def _residual_needed(parts: list[Any], cased: bool) -> bool:
    """Can a non-ASCII text match this (ASCII or cased) pattern? Only a cased pattern without
    wildcards and with an ASCII needle can be sure it cannot."""
    norm = F._normalize(parts)
    if cased and all(isinstance(p, str) for p in norm):
        return not _ascii(norm)
    return True


# -- lambda bodies over one array element --------------------------------------------------

Test = Callable[[Any], Any]


def _exists(scalar: str | None, column: str, tests: list[Test]) -> Any:
    """t(scalar) OR exists(column, x -> t1(x) OR t2(x) ...), plain equalities merged into one
    IN; a null scalar or array is false."""
    from pyspark.sql import functions as S

    equals = [t.value for t in tests if isinstance(t, _Equals)]  # type: ignore[attr-defined]
    rest = [t for t in tests if not isinstance(t, _Equals)]
    uniq = list(dict.fromkeys(equals))

    def body(x: Any) -> Any:
        parts = []
        if len(uniq) == 1:
            parts.append(x == S.lit(uniq[0]))
        elif uniq:
            parts.append(x.isin(uniq))
        parts.extend(t(x) for t in rest)
        return _or(parts)

    over_array = S.coalesce(S.exists(S.col(column), body), S.lit(False))
    if scalar is None:
        return over_array
    return S.coalesce(body(S.col(scalar)), S.lit(False)) | over_array


class _Equals:
    def __init__(self, value: str) -> None:
        self.value = value

    def __call__(self, x: Any) -> Any:
        from pyspark.sql import functions as S

        return x == S.lit(self.value)


def _equals(value: str) -> Test:
    return _Equals(value)


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _wildcard(parts: list[Any], *, lower: bool) -> Test:
    """Full match of a Sigma string over an ASCII text (already lower-cased when `lower`)."""
    from pyspark.sql import functions as S

    norm = F._normalize(parts)
    if lower:
        norm = [p.lower() if isinstance(p, str) else p for p in norm]
    if norm == [_MULTI]:
        return lambda x: x.isNotNull()  # any text (the scalar column is null when there is none)
    if not norm:
        return _equals("")
    plain = [p for p in norm if isinstance(p, str)]
    specials = [p for p in norm if not isinstance(p, str)]
    if len(plain) == 1 and _SINGLE not in specials:
        needle = plain[0]
        lead, trail = norm[0] is _MULTI, norm[-1] is _MULTI
        if lead and trail:
            return lambda x: x.contains(S.lit(needle))
        if lead:
            return lambda x: x.endswith(S.lit(needle))
        if trail:
            return lambda x: x.startswith(S.lit(needle))
        return _equals(needle)
    pattern = "".join(
        _like_escape(p) if isinstance(p, str) else ("%" if p is _MULTI else "_") for p in norm
    )
    return lambda x: x.like(pattern)


def _compare(op: str, n: float) -> Test:
    from pyspark.sql import functions as S

    lit = S.lit(n)
    return {
        "eq": lambda x: x == lit,
        "lt": lambda x: x < lit,
        "lte": lambda x: x <= lit,
        "gt": lambda x: x > lit,
        "gte": lambda x: x >= lit,
        "neq": lambda x: x != lit,
    }[op]


# ---------------------------------------------------------------------------------------------
# Entry point


def rule_sources(rule: Rule) -> frozenset[str]:
    return frozenset(s for s, ls in LOGSOURCES.items() if rule.applies_to(ls))


def _filter_conditions(f: Filter) -> list[Any]:
    glob = f.sigma.filter
    return [SigmaCondition(c, glob, glob.source).parsed for c in glob.condition]


def compile_ruleset(ruleset: RuleSet) -> CompiledRules:
    """Compile every rule, filter and correlation input. Raises the reference engine's
    EngineError for whatever it cannot evaluate."""
    ReferenceEngine().compile(ruleset)  # the validator: same refusals, same messages
    c = _Compiler()
    srcs = [rule_sources(r) for r in ruleset.rules]
    rule_preds = []
    for r, s in zip(ruleset.rules, srcs):
        c.sources = s
        rule_preds.append(_or([c.tree(cond.parsed) for cond in r.sigma.detection.parsed_condition]))
    filter_preds = []
    rule_filters: list[list[int]] = [[] for _ in ruleset.rules]
    for fi, f in enumerate(ruleset.filters):
        users = [ri for ri, r in enumerate(ruleset.rules) if f.applies_to(r)]
        for ri in users:
            rule_filters[ri].append(fi)
        c.sources = frozenset().union(*(srcs[ri] for ri in users)) if users else frozenset()
        filter_preds.append(_or([c.tree(t) for t in _filter_conditions(f)]))
    pairs = [(ri, fi) for ri in range(len(ruleset.rules)) for fi in rule_filters[ri]]
    index = {r.id: i for i, r in enumerate(ruleset.rules)}
    for corr in ruleset.correlations:
        for ri, rule in enumerate(corr.rules):
            c.sources = srcs[index[rule.id]]
            for paths in corr.group_paths[ri]:
                for p in paths:
                    c.spec(p).texts = True
            if corr.value_paths is not None:
                for p in corr.value_paths[ri]:
                    if corr.type == "value_count":
                        c.spec(p).texts = True
                    else:
                        c.spec(p).first_number = True
    return CompiledRules(
        ruleset=ruleset,
        plan=c.plan,
        rule_preds=rule_preds,
        rule_sources=srcs,
        filter_preds=filter_preds,
        rule_filters=rule_filters,
        pairs=pairs,
        field_index={name: fs.idx for name, fs in c.fields.items()},
    )


def correlation_rule_index(ruleset: RuleSet, corr: Correlation) -> list[int]:
    index = {r.id: i for i, r in enumerate(ruleset.rules)}
    return [index[r.id] for r in corr.rules]
