"""`--to sumo`: a Sumo Logic search query (not Cloud SIEM rule JSON), in the operators of the
seed page's query, with its `eval` / `table` mistakes not repeated (`if(...) as`, `fields`).

Shape (operators from Sumo's search query language reference):

    <scope>                                  the profile's _sourceCategory list, else `*`
    | json field=_raw "<path>" as <f> nodrop one per field the columns or conditions read
    | where <scope filter>                   `seed` only: the page's pre-filter (no rule: see
                                             rules/packs/seed/README.md)
    | if(<condition>, 1, 0) as <flag>        one per rule; a signal with one rule names it
    | if(r1 = 1 or r2 = 1, 1, 0) as <signal> a signal with several rules
    | <weighted sum> as suspicion_score      context rules only where a detection matched
    | where suspicion_score > 0              the score filter (and "a detection matched")
    | fields _messageTime, <columns>         the seed query's columns
    | sort by suspicion_score desc

For `--profile seed` this is the page's query line for line, `eval X = E` written `E as X` and
`table` written `fields` (tests/test_export_sumo.py diffs it against the page).

Conditions come from the intermediate form: `in (...)` for a list of exact cased names,
`toLowerCase(f)` for Sigma's case-insensitive default, `matches "*x*"` for `*` wildcards,
`matches /(?s).*(?:re).*/` for a `|re` search (Sumo's regex `matches` must cover the whole
value), `isNull`, `isNumeric` / `num`, `compareCIDRPrefix` for an IPv4 `|cidr`. With rules of
several log sources, each rule is also guarded by its source's time and operation fields being
present (normalized.PATHS), since one Sumo scope may hold them all.
"""

from __future__ import annotations

import re

from trailhound.engine import ir
from trailhound.export.base import Target
from trailhound.export.lists import ExactList, gather
from trailhound.export.normalized import FALSE, TRUE, NotExportable, paths
from trailhound.export.pack import ExportPack, ExportRule
from trailhound.export.text import c_string, one_line
from trailhound.profiles import PROFILES
from trailhound.report.columns import (
    SEED_COLUMNS,
    SEED_PATHS,  # the paths the seed query extracts, once
)

__all__ = ["SEED_SCOPE", "TARGET", "render"]

# The seed query's pre-filter, as the page writes it. Not a rule (every name a flag tests is in
# its list, so it never changes which rows score above 0: rules/packs/seed/README.md).
SEED_SCOPE = (
    'where eventName in ("CreateUser", "AttachUserPolicy", "CreateAccessKey", "CreateRole", '
    '"AssumeRole", "GetSessionToken", "PutBucketPolicy", "DeleteBucketPolicy", "CreateFunction", '
    '"UpdateFunctionCode", "RunInstances", "CreateKeyPair", "StopLogging", "DeleteTrail", '
    '"PutEventSelectors", "DisableGuardDuty", "DeleteDetector", "CreateGroup", "AddMemberToGroup") '
    "OR operationName matches /roleDefinitions\\/write|roleAssignments\\/write|virtualMachines\\/write/"
)
_SIMPLE_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")




class _Fields:
    """Raw path -> field name, in extraction order; the seed query's names for its paths."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}
        for column, parts in SEED_PATHS.items():
            self.names[".".join(parts)] = column

    def __call__(self, path: str) -> str:
        name = self.names.get(path)
        if name is None:
            # Sumo keeps names starting with `_` for its metadata fields (_raw, _messageTime)
            base = re.sub(r"[^A-Za-z0-9_]", "_", path.replace("@", "at_")).lstrip("_") or "field"
            if base[0].isdigit():
                base = f"f{base}"
            name, n = base, 1
            while name in self.names.values():
                n += 1
                name = f"{base}_{n}"
            self.names[path] = name
        return name

    def json_lines(self) -> list[str]:
        return [f"| json field=_raw {c_string(_json_path(p))} as {n} nodrop" for p, n in self.names.items()]


def _json_path(path: str) -> str:
    keys = path.split(".")
    if all(_SIMPLE_KEY.match(k) for k in keys):
        return path
    return "$" + "".join(f".{k}" if _SIMPLE_KEY.match(k) else "['" + k.replace("'", "\\'") + "']" for k in keys)


# ---------------------------------------------------------------------------------------------
# Conditions


def condition(node: ir.Node, f: _Fields) -> str:
    if node == TRUE:
        return "true"
    if node == FALSE:
        return "false"
    if isinstance(node, ir.Not):
        return f"!{_paren(node.arg, f)}"
    if isinstance(node, ir.And):
        return " and ".join(_paren(a, f) for a in node.args)
    if isinstance(node, ir.Or):
        return " or ".join(_or_terms(node.args, f))
    if isinstance(node, ir.Keyword):
        return _text("_raw", node.matcher) if isinstance(node.matcher, ir.Text) else _regex("_raw", node.matcher)
    return _test(f(node.field), node.matcher, f)


def _paren(node: ir.Node, f: _Fields) -> str:
    text = condition(node, f)
    if isinstance(node, ir.Not) or (isinstance(node, (ir.And, ir.Or)) and len(node.args) > 1):
        return f"({text})"
    return text


def _or_terms(args: tuple[ir.Node, ...], f: _Fields) -> list[str]:
    out = []
    for t in gather(args):
        if isinstance(t, ExactList):
            x = f(t.field) if t.cased else f"toLowerCase({f(t.field)})"
            out.append(f"{x} in ({', '.join(c_string(v if t.cased else v.lower()) for v in t.values)})")
        else:
            out.append(_paren(t, f))
    return out


def _text(x: str, m: ir.Text) -> str:
    subject = x if m.cased else f"toLowerCase({x})"
    fold = (lambda s: s) if m.cased else str.lower
    kind = m.kind
    if kind == "any":
        return f"!isNull({x})"
    if kind == "exact":
        return f"{subject} = {c_string(fold(m.literal))}"
    literal = [p for p in m.parts if isinstance(p, str)]
    if ir._SINGLE not in m.parts and not any("*" in p for p in literal):
        pattern = "".join("*" if p is ir._MULTI else fold(str(p)) for p in m.parts)
        return f"{subject} matches {c_string(pattern)}"
    # `?` or a literal `*`: Sumo's wildcard strings have neither, so say it as a regex
    rx = "".join(".*" if p is ir._MULTI else "." if p is ir._SINGLE else re.escape(str(p)) for p in m.parts)
    flags = "(?s)" if m.cased else "(?is)"
    return f"{x} matches /{flags}{_slashes(rx)}/"


def _regex(x: str, m: ir.Regex) -> str:
    inline = "".join(c for c, fl in (("i", re.IGNORECASE), ("m", re.MULTILINE), ("s", re.DOTALL)) if m.flags & fl)
    group = f"(?{inline}:" if inline else "(?:"
    return f"{x} matches /(?s).*{group}{_slashes(m.pattern)}).*/"


def _slashes(pattern: str) -> str:
    """A regex inside Sumo's /.../ literal: its unescaped slashes escaped."""
    return re.sub(r"(?<!\\)/", r"\/", pattern)


_OP = {"lt": "<", "lte": "<=", "gt": ">", "gte": ">=", "neq": "!="}


def _test(x: str, m: ir.Matcher, f: _Fields) -> str:
    if isinstance(m, ir.Text):
        return _text(x, m)
    if isinstance(m, ir.Regex):
        return _regex(x, m)
    if isinstance(m, ir.Number):
        return f"(isNumeric({x}) and num({x}) = {m.value})"
    if isinstance(m, ir.Compare):
        return f"(isNumeric({x}) and num({x}) {_OP[m.op]} {m.value})"
    if isinstance(m, ir.Bool):
        return f"toLowerCase({x}) = {c_string('true' if m.value else 'false')}"
    if isinstance(m, ir.Null):
        return f"isNull({x})"
    if isinstance(m, ir.Exists):
        return f"!isNull({x})" if m.want else f"isNull({x})"
    if isinstance(m, ir.Cidr):
        if m.network.version != 4:
            raise NotExportable(f"|cidr {m.network}: Sumo's compareCIDRPrefix is IPv4 only")
        net = c_string(str(m.network.network_address))
        return f"(isValidIP({x}) and compareCIDRPrefix({net}, {x}, toInt({m.network.prefixlen})))"
    if isinstance(m, ir.FieldRef):
        a, b = f"toLowerCase({x})", f"toLowerCase({f(m.field)})"
        if m.starts and m.ends:
            return f"contains({a}, {b})"
        if m.starts or m.ends:
            return f"{'startsWith' if m.starts else 'endsWith'}({a}, {b})"
        return f"{a} = {b}"
    raise NotExportable(f"{m} has no Sumo form here")


# ---------------------------------------------------------------------------------------------
# The query


def _guard(source: str, f: _Fields) -> ir.Node:
    """The record is of `source`: its time and its operation fields are present."""
    tests: list[ir.Node] = []
    for attr in ("time", "operation"):
        alternatives = [ir.FieldTest(p, ir.Exists(True)) for p in paths(source, attr)]
        tests.append(alternatives[0] if len(alternatives) == 1 else ir.Or(tuple(alternatives)))
    return ir.And(tuple(tests))


def _rule_condition(r: ExportRule, guarded: bool, f: _Fields) -> str:
    trees = [ir.And((_guard(s, f), t)) if guarded else t for s, t in r.trees.items()]
    node = trees[0] if len(trees) == 1 else ir.Or(tuple(trees))
    return condition(node, f)


def _weighted(names_weights: list[tuple[str, float]]) -> str:
    terms = [name if w == 1 else f"{name} * {w}" for name, w in names_weights]
    return " + ".join(terms) if terms else "0"


def render(pack: ExportPack) -> str:
    f = _Fields()
    profile = PROFILES.get(pack.name)
    categories = sorted(profile.source_categories) if profile and profile.source_categories else None
    guarded = len(pack.sources) > 1
    detections, contexts = pack.detections(), pack.contexts()
    by_signal = {s: [r for r in detections if r.rule.signal == s] for s in pack.signals}
    # a signal raised by one rule names that rule's flag; every other rule gets r<N>
    flag = {id(rs[0]): s for s, rs in by_signal.items() if len(rs) == 1}
    lines: list[str] = []
    for r in pack.rules:
        name = flag.get(id(r), r.column)
        lines.append(f"| if({_rule_condition(r, guarded, f)}, 1, 0) as {name}")
    flag_lines = {r.column: line for r, line in zip(pack.rules, lines, strict=True)}
    ordered = [flag_lines[rs[0].column] for s, rs in by_signal.items() if len(rs) == 1]
    ordered += [flag_lines[r.column] for r in pack.rules if id(r) not in flag]
    for s, rs in by_signal.items():
        if len(rs) > 1:
            ordered.append(f"| if({' or '.join(f'{r.column} = 1' for r in rs)}, 1, 0) as {s}")
    # the seed's signal order first (the page's sum), then the other rules
    flags = [(s, rs[0].weight) for s, rs in by_signal.items() if len(rs) == 1]
    flags += [(r.column, r.weight) for r in detections if id(r) not in flag]
    score = _weighted(flags)
    if contexts:
        hit = " or ".join(f"{n} = 1" for n, _ in flags)
        ctx = _weighted([(r.column, r.weight) for r in contexts])
        score = f"{score} + if({hit}, {ctx}, 0)"
    keep = "suspicion_score > 0"
    if any(w <= 0 for _, w in flags) or contexts:
        keep = f"({' or '.join(f'{n} = 1' for n, _ in flags)}) and {keep}"
    # the seed query's columns (`_messageTime` for `time`), with this pack's signals; other packs
    # also name the event (CloudTrail's eventID: the seed query keeps the page's columns)
    event_id = [] if pack.name == "seed" else [f("eventID")]
    columns = ["_messageTime", *SEED_PATHS, *event_id, *pack.signals, "suspicion_score"]
    assert pack.name != "seed" or columns == ["_messageTime" if c == "time" else c for c in SEED_COLUMNS]
    head = [
        f"// trailhound export --to sumo: pack {pack.name}, {len(pack.rules)} rule(s)",
        *(f"// {one_line(n)}" for n in pack.notes),
        *(f"// {r.column}: {r.rule.id} {one_line(r.rule.title)}" for r in pack.rules
          if id(r) not in flag),
    ]
    scope = " OR ".join(f"_sourceCategory={c}" for c in categories) if categories else "*"
    body = [
        f"({scope})" if categories else scope,
        *f.json_lines(),
        *([f"| {SEED_SCOPE}"] if pack.name == "seed" else []),
        *ordered,
        f"| {score} as suspicion_score",
        f"| where {keep}",
        f"| fields {', '.join(columns)}",
        "| sort by suspicion_score desc",
    ]
    text = "\n".join(body) + "\n"
    return text if pack.name == "seed" else "\n".join(head) + "\n" + text


TARGET = Target("sumo", "a Sumo Logic search query (json ... nodrop, where, if() as, fields, sort by)", render)
