"""The SQL export (one generator; duckdb_sql.py and spark_sql.py give it their dialect).

Input: one relation per log source, named after the source (`cloudtrail`, `azure_activity`,
`entra_audit`, `entra_signin`, `gcp_audit`, `m365_audit`), one row per record, one column `raw`
holding the record's JSON text as the provider delivers it (docs/export.md shows the views for
CloudTrail's S3 files). Output: one row per flagged event, the pack's score model spelled out:

    event_time, source, event_id, operation, principal, src_ip   (normalized.PATHS, first present wins)
    <signal>...        one 0/1 column per signal (iam_change, security_disable, ...)
    suspicion_score    sum of the weights of the rules that matched; context rules only where a
                       detection rule matched
    WHERE              a detection rule matched and the score passes (default: score > 0)
    ORDER BY           score desc, time, event id (scoring.sort_key without the input order)

Each rule's condition is one CASE over the raw JSON. Every test is wrapped in
`coalesce(..., false)`, so a missing field makes a test false, never NULL, and `NOT` of it true,
as engine/fields.py section 2 says.

Semantics kept (engine/fields.py) and where SQL falls short (docs/export.md lists them):
case-insensitive text is `lower(x) = lower(v)` (simple case folding; Python's IGNORECASE also
folds a few non-ASCII pairs); wildcards become LIKE with `!` as escape; `|re` is the engine's RE2 /
Java regex search, inline flags; numbers and comparisons cast numeric text; `|cidr` is IPv4 only
(an address as four decimal octets, no leading zeros, as Python's ipaddress accepts); keywords
search the record's JSON text (keys and escapes included); a path is followed through objects
only (a list on the way is not crossed); timestamp-part modifiers are not exported.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence

from trailhound.engine import ir
from trailhound.export.lists import ExactList, gather
from trailhound.export.normalized import (
    ADDRESS_PATTERNS,
    FALSE,
    TRUE,
    AddressCidr,
    NotExportable,
    paths,
)
from trailhound.export.pack import ExportPack, ExportRule
from trailhound.export.text import one_line
from trailhound.scoring import keep_score

__all__ = ["OUTPUT_COLUMNS", "Dialect", "render"]

# The normalized columns each row carries (normalized.PATHS attributes), after `time`/`source`.
OUTPUT_COLUMNS = ("event_id", "operation", "principal", "src_ip")
_SIMPLE_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
IPV4_FULL = rf"^{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}$"
_LIKE_ESCAPE = "!"


class Dialect:
    """What differs between SQL engines. The base spells DuckDB; Spark overrides."""

    name = "sql"
    title = "SQL"

    def string(self, s: str) -> str:
        """A string literal (DuckDB: standard SQL, quotes doubled, backslashes plain)."""
        return "'" + s.replace("'", "''") + "'"

    def json_path(self, path: str) -> str:
        out = "$"
        for key in path.split("."):
            out += f".{key}" if _SIMPLE_KEY.match(key) else '."' + key.replace('"', '\\"') + '"'
        return out

    def text(self, path: str) -> str:
        """The leaf's text: a string as is, any other JSON value as its JSON text, NULL when the
        path is missing or JSON null."""
        return f"json_extract_string(raw, {self.string(self.json_path(path))})"

    def exists(self, path: str) -> str:
        return f"json_exists(raw, {self.string(self.json_path(path))})"

    def regex(self, expr: str, pattern: str) -> str:
        return f"regexp_matches({expr}, {self.string(pattern)})"

    def number(self, expr: str) -> str:
        return f"TRY_CAST({expr} AS DOUBLE)"

    def bigint(self, expr: str) -> str:
        return f"TRY_CAST({expr} AS BIGINT)"


# ---------------------------------------------------------------------------------------------
# Conditions


def condition(node: ir.Node, d: Dialect) -> str:
    """A boolean SQL expression that is never NULL."""
    if node == TRUE:
        return "true"
    if node == FALSE:
        return "false"
    if isinstance(node, ir.Not):
        return f"NOT {_group(node.arg, d)}"
    if isinstance(node, ir.And):
        return " AND ".join(_group(a, d) for a in node.args)
    if isinstance(node, ir.Or):
        return " OR ".join(_or_terms(node.args, d))
    if isinstance(node, ir.Keyword):
        return _coalesce(_keyword(node.matcher, d))
    return _coalesce(_test(node.field, node.matcher, d))


def _group(node: ir.Node, d: Dialect) -> str:
    text = condition(node, d)
    many = isinstance(node, (ir.And, ir.Or)) and len(node.args) > 1
    return f"({text})" if many else text


def _coalesce(expr: str) -> str:
    return f"coalesce({expr}, false)"


def _or_terms(args: Sequence[ir.Node], d: Dialect) -> list[str]:
    out = []
    for t in gather(args):
        if isinstance(t, ExactList):
            x = d.text(t.field) if t.cased else f"lower({d.text(t.field)})"
            listed = ", ".join(d.string(v if t.cased else v.lower()) for v in t.values)
            out.append(_coalesce(f"{x} IN ({listed})"))
        else:
            out.append(_group(t, d))
    return out


def _like(parts: Sequence[object]) -> str:
    out = []
    for p in parts:
        if isinstance(p, str):
            out.append(re.sub(r"([%_!])", r"!\1", p))
        elif p is ir._MULTI:
            out.append("%")
        else:
            out.append("_")
    return "".join(out)


def _text(x: str, m: ir.Text, d: Dialect) -> str:
    kind = m.kind
    if kind == "any":
        return f"{x} IS NOT NULL"
    fold = (lambda s: s) if m.cased else str.lower
    subject = x if m.cased else f"lower({x})"
    if kind == "exact":
        return f"{subject} = {d.string(fold(m.literal))}"
    pattern = _like([fold(p) if isinstance(p, str) else p for p in m.parts])
    return f"{subject} LIKE {d.string(pattern)} ESCAPE {d.string(_LIKE_ESCAPE)}"


def regex_pattern(m: ir.Regex) -> str:
    """The pattern with Python's flags as an inline group (RE2 and Java read `(?ims)`)."""
    flags = "".join(c for c, f in (("i", re.IGNORECASE), ("m", re.MULTILINE), ("s", re.DOTALL)) if m.flags & f)
    return f"(?{flags}){m.pattern}" if flags else m.pattern


_SQL_OP = {"eq": "=", "lt": "<", "lte": "<=", "gt": ">", "gte": ">=", "neq": "<>"}


def _test(field_name: str, m: ir.Matcher, d: Dialect) -> str:
    x = d.text(field_name)
    if isinstance(m, ir.Text):
        return _text(x, m, d)
    if isinstance(m, ir.Regex):
        return d.regex(x, regex_pattern(m))
    if isinstance(m, ir.Number):
        return f"{d.number(x)} = {m.value}"
    if isinstance(m, ir.Bool):
        return f"lower({x}) = {d.string('true' if m.value else 'false')}"
    if isinstance(m, ir.Compare):
        return f"{d.number(x)} {_SQL_OP[m.op]} {m.value}"
    if isinstance(m, ir.Exists):
        return d.exists(field_name) if m.want else f"NOT {d.exists(field_name)}"
    if isinstance(m, ir.Null):
        return f"{x} IS NULL"
    if isinstance(m, ir.Cidr):
        return _cidr(_address(x, d) if isinstance(m, AddressCidr) else x, m.network, d)
    if isinstance(m, ir.FieldRef):
        return _fieldref(x, m, d)
    raise NotExportable(f"{field_name}: {type(m).__name__} ({m}) has no SQL form here")


def _cidr(x: str, net: ipaddress.IPv4Network | ipaddress.IPv6Network, d: Dialect) -> str:
    if not isinstance(net, ipaddress.IPv4Network):
        raise NotExportable(f"|cidr {net}: IPv6 networks are not exported to SQL")
    octets = [d.bigint(f"split_part({x}, '.', {i})") for i in range(1, 5)]
    as_int = " + ".join(f"{o} * {256 ** (3 - i)}" for i, o in enumerate(octets))
    lo, hi = int(net.network_address), int(net.broadcast_address)
    return f"({d.regex(x, IPV4_FULL)} AND ({as_int}) BETWEEN {lo} AND {hi})"


def _address(x: str, d: Dialect) -> str:
    """The address part of source address `x` (normalized.ADDRESS_PATTERNS)."""
    arms = " ".join(f"WHEN {d.regex(x, p)} THEN regexp_extract({x}, {d.string(p)}, 1)"
                    for p in ADDRESS_PATTERNS)
    return f"(CASE {arms} ELSE {x} END)"


def _fieldref(x: str, m: ir.FieldRef, d: Dialect) -> str:
    a, b = f"lower({x})", f"lower({d.text(m.field)})"
    if m.starts and not m.ends:
        return f"substr({a}, 1, length({b})) = {b}"
    if m.ends and not m.starts:
        return f"right({a}, length({b})) = {b}"
    if m.starts and m.ends:
        return f"instr({a}, {b}) > 0"
    return f"{a} = {b}"


def _keyword(m: ir.Text | ir.Regex, d: Dialect) -> str:
    if isinstance(m, ir.Regex):
        return d.regex("raw", regex_pattern(m))
    return _text("raw", m, d)


# ---------------------------------------------------------------------------------------------
# The query


def _coalesce_paths(source: str, attr: str, d: Dialect) -> str:
    found = paths(source, attr)
    if not found:
        return "CAST(NULL AS VARCHAR)" if d.name == "duckdb-sql" else "CAST(NULL AS STRING)"
    texts = [f"nullif({d.text(p)}, '')" for p in found]
    return texts[0] if len(texts) == 1 else f"coalesce({', '.join(texts)})"


def _flag_any(rules: Sequence[ExportRule]) -> str:
    if not rules:
        return "0"
    return "CASE WHEN " + " OR ".join(f"{r.column} = 1" for r in rules) + " THEN 1 ELSE 0 END"


def _weighted(rules: Sequence[ExportRule]) -> str:
    if not rules:
        return "0"
    return " + ".join(f"{r.column} * {r.weight}" for r in rules)


def _comment(text: str) -> str:
    return "-- " + one_line(text)


def render(pack: ExportPack, d: Dialect) -> str:
    lines = [
        _comment(f"trailhound export --to {d.name}: pack {pack.name}, {len(pack.rules)} rule(s)"),
        _comment("input: one relation per log source, column raw = the record's JSON text"),
    ]
    lines += [_comment(n) for n in pack.notes]
    for r in pack.rules:
        kind = "context" if r.rule.context else (r.rule.signal or "no signal")
        lines.append(_comment(f"{r.column}: {r.rule.id} {r.rule.title} (weight {r.weight}, {kind})"))
    # each filter (shipped filters, --allow entries) is evaluated once per record, as a column
    # f<N>, and every rule it applies to reads that column
    filter_column = {f.id: f"f{i}" for i, f in enumerate(pack.ruleset.filters, 1)}
    for f in pack.ruleset.filters:
        lines.append(_comment(f"{filter_column[f.id]}: filter {f.id} {f.title}"))
    ctes = []
    for source in pack.sources:
        relation = source
        filter_nodes = {fid: node for r in pack.rules for fid, node in r.parts.get(source, (None, ()))[1]}
        if filter_nodes:
            fcols = [
                f"    CASE WHEN {condition(node, d)} THEN 1 ELSE 0 END AS {filter_column[fid]}"
                for fid, node in filter_nodes.items()
            ]
            ctes.append(f"{source}_filtered AS (\n  SELECT raw,\n" + ",\n".join(fcols) + f"\n  FROM {source}\n)")
            relation = f"{source}_filtered"
        cols = [
            f"    {_coalesce_paths(source, 'time', d)} AS event_time",
            f"    {d.string(source)} AS source",
            *(f"    {_coalesce_paths(source, a, d)} AS {a}" for a in OUTPUT_COLUMNS),
        ]
        for r in pack.rules:
            if source not in r.parts:
                cols.append(f"    0 AS {r.column}")
                continue
            base, kept = r.parts[source]
            tests = [condition(base, d) if base != TRUE else "true"]
            tests += [f"{filter_column[fid]} = 1" for fid, _ in kept]
            body = " AND ".join(f"({t})" if " OR " in t and len(tests) > 1 else t for t in tests)
            cols.append(f"    CASE WHEN {body} THEN 1 ELSE 0 END AS {r.column}")
        ctes.append(f"{source}_flags AS (\n  SELECT\n" + ",\n".join(cols) + f"\n  FROM {relation}\n)")
    union = "\n  UNION ALL ".join(f"SELECT * FROM {s}_flags" for s in pack.sources)
    ctes.append(f"flags AS (\n  {union}\n)")
    signal_cols = [
        f"    {_flag_any([r for r in pack.detections() if r.rule.signal == s])} AS {s}"
        for s in pack.signals
    ]
    # context rules count only where a detection rule matched (scoring.score_match)
    score = f"CAST({_weighted(pack.detections())} AS DOUBLE)"
    if pack.contexts():
        score += f" + CASE WHEN {_flag_any(pack.detections())} = 1 THEN CAST({_weighted(pack.contexts())} AS DOUBLE) ELSE 0 END"
    ctes.append(
        "scored AS (\n  SELECT\n    event_time, source, " + ", ".join(OUTPUT_COLUMNS) + ",\n"
        + "".join(c + ",\n" for c in signal_cols)
        + f"    {_flag_any(pack.detections())} AS flagged,\n"
        + f"    {score} AS suspicion_score\n  FROM flags\n)"
    )
    keep = _keep(pack.min_score)
    select = ["event_time", "source", *OUTPUT_COLUMNS, *pack.signals, "suspicion_score"]
    lines.append("WITH " + ",\n".join(ctes))
    lines.append("SELECT " + ", ".join(select))
    lines.append(f"FROM scored\nWHERE flagged = 1{keep}")
    lines.append("ORDER BY suspicion_score DESC, event_time ASC NULLS LAST, event_id ASC NULLS LAST")
    return "\n".join(lines) + "\n"


def _keep(min_score: float | None) -> str:
    """scoring.keep_score as SQL (checked against it on two values, so the two cannot drift)."""
    if min_score is None:
        assert keep_score(1, None) and not keep_score(0, None)
        return " AND suspicion_score > 0"
    if min_score == 0:
        return ""
    return f" AND suspicion_score >= {min_score}"
