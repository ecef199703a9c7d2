"""`--to splunk`: SPL for the Splunk add-ons' sourcetypes, the score model in `eval`.

Sourcetypes (Splunk Add-on for AWS: `aws:cloudtrail`; Splunk Add-on for Microsoft Azure:
`azure:monitor:aad` for Entra ID audit and sign-in logs, `azure:monitor:activity` for the
activity log; Splunk Add-on for Google Cloud Platform: `google:gcp:pubsub:message`; Splunk
Add-on for Microsoft Office 365: `o365:management:activity`). These sourcetypes index the
provider's JSON as delivered and extract its fields by their JSON paths (`userIdentity.arn`,
`properties.activityDisplayName`, `requestParameters.userName`), so the raw paths of the
intermediate form are the SPL field names; in `eval` a dotted name is written in single quotes.
Entra audit and sign-in records share one sourcetype and are told apart by `category`.

Text tests: `lower(f)="v"` (Sigma is case-insensitive), `in(f, ...)` for lists, `like()` for
`*` / `?` wildcards (`%` / `_`; a value holding `%` or `_` becomes a regex), `match()` (PCRE
search) for `|re`, `cidrmatch()`, `tonumber()`, `isnull()` / `isnotnull()`; keywords search
`_raw`. A JSON array is a multivalue field in Splunk: eval's comparisons do not look into
every value (docs/export.md).
"""

from __future__ import annotations

import re

from trailhound.engine import ir
from trailhound.export.base import Target
from trailhound.export.lists import ExactList, gather
from trailhound.export.normalized import ADDRESS_PATTERNS, FALSE, TRUE, AddressCidr, NotExportable
from trailhound.export.pack import ExportPack, ExportRule
from trailhound.export.sql import regex_pattern
from trailhound.export.text import c_string, one_line
from trailhound.report.columns import SEED_PATHS

__all__ = ["SOURCETYPES", "TARGET", "render"]

# trailhound source -> (sourcetype, extra test telling it apart within the sourcetype)
SOURCETYPES: dict[str, tuple[str, str | None]] = {
    "cloudtrail": ("aws:cloudtrail", None),
    "azure_activity": ("azure:monitor:activity", None),
    "entra_audit": ("azure:monitor:aad", 'category="AuditLogs"'),
    "entra_signin": ("azure:monitor:aad", 'category="SignInLogs"'),
    "gcp_audit": ("google:gcp:pubsub:message", None),
    "m365_audit": ("o365:management:activity", None),
}
_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")




def field(path: str) -> str:
    """A field name in eval: bare when it is a plain word, else in single quotes."""
    return path if _PLAIN.match(path) else "'" + path.replace("'", "\\'") + "'"


def condition(node: ir.Node) -> str:
    if node == TRUE:
        return "true()"
    if node == FALSE:
        return "false()"
    if isinstance(node, ir.Not):
        return f"NOT {_paren(node.arg)}"
    if isinstance(node, ir.And):
        return " AND ".join(_paren(a) for a in node.args)
    if isinstance(node, ir.Or):
        return " OR ".join(_or_terms(node.args))
    if isinstance(node, ir.Keyword):
        m = node.matcher
        return f"match(_raw, {c_string(_wildcard_regex(m) if isinstance(m, ir.Text) else regex_pattern(m))})"
    return _test(field(node.field), node.matcher)


def _paren(node: ir.Node) -> str:
    text = condition(node)
    many = isinstance(node, ir.Not) or (isinstance(node, (ir.And, ir.Or)) and len(node.args) > 1)
    return f"({text})" if many else text


def _or_terms(args: tuple[ir.Node, ...]) -> list[str]:
    out = []
    for t in gather(args):
        if isinstance(t, ExactList):
            x = field(t.field) if t.cased else f"lower({field(t.field)})"
            listed = ", ".join(c_string(v if t.cased else v.lower()) for v in t.values)
            out.append(f"(isnotnull({field(t.field)}) AND in({x}, {listed}))")
        else:
            out.append(_paren(t))
    return out


def _wildcard_regex(m: ir.Text) -> str:
    body = "".join(".*" if p is ir._MULTI else "." if p is ir._SINGLE else re.escape(str(p)) for p in m.parts)
    return ("(?s)" if m.cased else "(?is)") + body


def _text(x: str, m: ir.Text) -> str:
    if m.kind == "any":
        return f"isnotnull({x})"
    subject = x if m.cased else f"lower({x})"
    fold = (lambda s: s) if m.cased else str.lower
    if m.kind == "exact":
        return f"{subject}={c_string(fold(m.literal))}"
    literal = [str(p) for p in m.parts if isinstance(p, str)]
    if any("%" in p or "_" in p for p in literal):
        return f"match({x}, {c_string('^' + _wildcard_regex(m) + '$')})"
    pattern = "".join("%" if p is ir._MULTI else "_" if p is ir._SINGLE else fold(str(p)) for p in m.parts)
    return f"like({subject}, {c_string(pattern)})"


_OP = {"lt": "<", "lte": "<=", "gt": ">", "gte": ">=", "neq": "!="}


def _test(x: str, m: ir.Matcher) -> str:
    """One test, never null: eval's comparisons on a null field give null, and `NOT null` is
    null (false in `if`), where Sigma's `not` of a test on a missing field is true; so a value
    test is guarded by `isnotnull(x) AND` (`false AND null` is false)."""
    if isinstance(m, (ir.Null, ir.Exists)) or (isinstance(m, ir.Text) and m.kind == "any"):
        return _value_test(x, m)
    guard = f"isnotnull({x})"
    if isinstance(m, ir.FieldRef):
        guard += f" AND isnotnull({field(m.field)})"
    return f"({guard} AND {_value_test(x, m)})"


def _value_test(x: str, m: ir.Matcher) -> str:
    if isinstance(m, ir.Text):
        return _text(x, m)
    if isinstance(m, ir.Regex):
        return f"match({x}, {c_string(regex_pattern(m))})"
    if isinstance(m, ir.Number):
        return f"tonumber({x})={m.value}"
    if isinstance(m, ir.Compare):
        return f"tonumber({x}){_OP[m.op]}{m.value}"
    if isinstance(m, ir.Bool):
        return f"lower({x})={c_string('true' if m.value else 'false')}"
    if isinstance(m, ir.Null):
        return f"isnull({x})"
    if isinstance(m, ir.Exists):
        return f"isnotnull({x})" if m.want else f"isnull({x})"
    if isinstance(m, ir.Cidr):
        ip = _address(x) if isinstance(m, AddressCidr) else x
        return f"cidrmatch({c_string(str(m.network))}, {ip})"
    if isinstance(m, ir.FieldRef):
        a, b = f"lower({x})", f"lower({field(m.field)})"
        if m.starts and m.ends:
            return f'like({a}, "%".{b}."%")'
        if m.starts or m.ends:
            return f'like({a}, {b}."%")' if m.starts else f'like({a}, "%".{b})'
        return f"{a}={b}"
    raise NotExportable(f"{m} has no SPL form here")


def _address(x: str) -> str:
    """The address part of source address `x` (normalized.ADDRESS_PATTERNS)."""
    group = c_string("\\1")
    arms = ", ".join(f"match({x}, {c_string(p)}), replace({x}, {c_string(p)}, {group})"
                     for p in ADDRESS_PATTERNS)
    return f"case({arms}, true(), {x})"


def _source_test(source: str) -> str:
    sourcetype, extra = SOURCETYPES[source]
    test = f"sourcetype={c_string(sourcetype)}"
    return f"{test} AND {extra}" if extra else test


def _rule(r: ExportRule) -> str:
    legs = [f"({_source_test(s)} AND {_paren(t)})" for s, t in r.trees.items()]
    return " OR ".join(legs)


def _weighted(rules: list[ExportRule]) -> str:
    return " + ".join(r.column if r.weight == 1 else f"{r.column}*{r.weight}" for r in rules) or "0"


def _spl_comment(text: str) -> str:
    """Inside an SPL ``` comment: one line, and no ``` that would end it."""
    return one_line(text).replace("```", "'''")


def render(pack: ExportPack) -> str:
    detections, contexts = pack.detections(), pack.contexts()
    scope = sorted({SOURCETYPES[s][0] for s in pack.sources})
    lines = [
        f"``` trailhound export --to splunk: pack {pack.name}, {len(pack.rules)} rule(s) ```",
        *(f"``` {_spl_comment(n)} ```" for n in pack.notes),
        *(f"``` {r.column}: {r.rule.id} {_spl_comment(r.rule.title)} ```" for r in pack.rules),
        "(" + " OR ".join(f"sourcetype={c_string(s)}" for s in scope) + ")",
    ]
    lines += [f"| eval {r.column}=if({_rule(r)}, 1, 0)" for r in pack.rules]
    for s in pack.signals:
        mine = [r for r in detections if r.rule.signal == s]
        lines.append(f"| eval {s}=if({' OR '.join(f'{r.column}=1' for r in mine)}, 1, 0)")
    hit = " OR ".join(f"{r.column}=1" for r in detections) or "false()"
    score = _weighted(detections)
    if contexts:
        score += f" + if({hit}, {_weighted(contexts)}, 0)"
    lines.append(f"| eval suspicion_score={score}")
    lines.append(f"| where ({hit}) AND suspicion_score>0")
    renames = [f"{p} AS {c}" for c, parts in SEED_PATHS.items() if (p := ".".join(parts)) != c]
    columns = ["_time", "sourcetype", *SEED_PATHS, "eventID", *pack.signals, "suspicion_score"]
    lines.append(f"| rename {', '.join(renames)}")
    lines.append(f"| table {' '.join(columns)}")
    lines.append("| sort 0 -suspicion_score, +_time")
    return "\n".join(lines) + "\n"


TARGET = Target("splunk", "Splunk SPL over the add-ons' sourcetypes, scored with eval", render)
