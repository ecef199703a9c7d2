"""`--to sigma`: portable Sigma YAML, round-tripping to the same findings.

What is written, as one multi-document YAML stream:

* every rule of the pack (or the one `--rule`) as its own Sigma document, read back from the file
  it was loaded from: the Sigma field names stay as the author wrote them (taxonomy names such as
  `operationName` that every backend's pipeline maps), not the raw paths trailhound's pipeline
  mapped them to; the scoring attributes stay custom attributes (`weight`, `signal`, `context`,
  which pySigma keeps in `custom_attributes`); trailhound's `tests:` cases are left out;
* the base rules of correlations and the correlation rules themselves (Sigma has them);
* the pack's filters (Sigma filters, spec v2.1), read back the same way;
* each `--allow` entry as one Sigma filter per log source: an allowlist tests trailhound's
  normalized fields (`trailhound.principal`, ...), which no other tool knows, so the filter is
  written from the intermediate form over the raw fields of that source (normalized.expand:
  `userIdentity.arn`, else `userIdentity.principalId`, ... for a CloudTrail principal).
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import yaml

from trailhound.engine import compiler, ir
from trailhound.export.base import Target
from trailhound.export.normalized import FALSE, TRUE, NotExportable, expand
from trailhound.export.pack import ExportPack
from trailhound.model import LOGSOURCES
from trailhound.rules.loader import yaml_documents
from trailhound.rules.model import Filter, Rule
from trailhound.tuning.allowlist import is_allowlist_filter

__all__ = ["TARGET", "detection", "render"]

_ID_NAMESPACE = uuid.UUID("4f1f2a0c-63a2-4f43-9d7e-2b0f3b3a7e51")
# trailhound's own attributes that are not Sigma and mean nothing elsewhere
_DROP = ("tests",)


def render(pack: ExportPack) -> str:
    rs = pack.ruleset
    if pack.extra.get("rule_id") is not None:
        rules: list[Rule] = [r.rule for r in pack.rules]
        correlations = []
    else:
        rules = list(rs.rules)
        correlations = list(rs.correlations)
    wanted = {r.id for r in rules}
    docs: list[dict[str, Any]] = [_original(r.path, r.id) for r in rules]
    docs += [_original(c.path, c.id) for c in correlations]
    for f in rs.filters:
        if f.rule_ids is not None and not (f.rule_ids & wanted):
            continue
        if is_allowlist_filter(f):
            docs += _allowlist_docs(f, [r for r in rules if f.applies_to(r)])
        else:
            docs.append(_original(f.path, f.id))
    head = f"# trailhound export --to sigma: pack {pack.name}\n"
    return head + yaml.safe_dump_all(docs, sort_keys=False, allow_unicode=True, width=100, explicit_start=True)


def _original(path: str | None, wanted: str) -> dict[str, Any]:
    """The YAML document with id `wanted` in the file a rule or filter was loaded from."""
    if path is None:
        raise NotExportable(f"{wanted}: not loaded from a file")
    for doc in yaml_documents(Path(path).read_text(encoding="utf-8")):
        if isinstance(doc, dict) and str(doc.get("id")) == wanted:
            return {k: v for k, v in doc.items() if k not in _DROP}
    raise NotExportable(f"{wanted}: no longer in {path}")


def _allowlist_docs(f: Filter, rules: list[Rule]) -> list[dict[str, Any]]:
    """One Sigma filter per log source the entry's rules read, over that source's raw fields."""
    tree = compiler.filter_tree(f)
    sources = [s for s, ls in LOGSOURCES.items() if any(r.applies_to(ls) for r in rules)]
    docs = []
    for source in sources:
        node = expand(tree, source)
        if node == TRUE:
            continue  # the entry cannot hold for this source (another provider): nothing removed
        if node == FALSE:
            raise NotExportable(f"{f.title}: removes every match in {source}; delete those rules instead")
        product, service = LOGSOURCES[source]
        body = detection(node)
        condition = body.pop("condition")
        docs.append({
            "title": f"{f.title} ({source})"[:110],
            "id": str(uuid.uuid5(_ID_NAMESPACE, f"{f.id}:{source}")),
            "status": "test",
            "description": f"trailhound allowlist entry over the raw fields of {source} records",
            "author": "trailhound export",
            "date": "2026-12-07",
            "logsource": {"product": product, "service": service},
            "filter": {
                "rules": sorted(f.rule_ids) if f.rule_ids is not None else "any",
                **body,
                "condition": condition,
            },
        })
    return docs


# ---------------------------------------------------------------------------------------------
# The intermediate form as a Sigma detection


def detection(node: ir.Node) -> dict[str, Any]:
    """`{name: selection, ..., "condition": text}` saying what `node` says."""
    out: dict[str, Any] = {}
    out["condition"] = _condition(node, out)
    return out


def _condition(node: ir.Node, out: dict[str, Any]) -> str:
    if isinstance(node, ir.Not):
        return f"not {_grouped(node.arg, out)}"
    if isinstance(node, (ir.And, ir.Or)):
        if not node.args:
            raise NotExportable("a constant condition has no Sigma form")
        word = " and " if isinstance(node, ir.And) else " or "
        return word.join(_grouped(a, out) for a in node.args)
    if isinstance(node, ir.Keyword):
        if isinstance(node.matcher, ir.Regex):
            raise NotExportable("a field-less regular expression has no Sigma keyword form")
        selection: Any = [_keyword_value(node.matcher)]
    else:
        key, value = _item(node.field, node.matcher)
        selection = {key: value}
    for name, seen in out.items():  # the same test again (coalesced paths repeat their nulls)
        if seen == selection:
            return name
    name = f"sel{len(out) + 1}"
    out[name] = selection
    return name


def _grouped(node: ir.Node, out: dict[str, Any]) -> str:
    text = _condition(node, out)
    return f"({text})" if isinstance(node, (ir.And, ir.Or)) and len(node.args) > 1 else text


def _text_value(m: ir.Text) -> str:
    out = []
    for p in m.parts:
        if p is ir._MULTI:
            out.append("*")
        elif p is ir._SINGLE:
            out.append("?")
        else:
            out.append(re.sub(r"([*?\\])", r"\\\1", str(p)))
    return "".join(out)


def _keyword_value(m: ir.Text | ir.Regex) -> str:
    return _text_value(m) if isinstance(m, ir.Text) else m.pattern


_REGEX_FLAGS = (("i", re.IGNORECASE), ("m", re.MULTILINE), ("s", re.DOTALL))


def _item(field: str, m: ir.Matcher) -> tuple[str, Any]:
    if isinstance(m, ir.Text):
        return (f"{field}|cased" if m.cased else field), _text_value(m)
    if isinstance(m, ir.Regex):
        flags = "".join(f"|{c}" for c, f in _REGEX_FLAGS if m.flags & f)
        return f"{field}|re{flags}", m.pattern
    if isinstance(m, (ir.Number, ir.Bool)):
        return field, m.value
    if isinstance(m, ir.Compare) and m.op != "neq":
        return f"{field}|{m.op}", m.value
    if isinstance(m, ir.Cidr):
        return f"{field}|cidr", str(m.network)
    if isinstance(m, ir.Exists):
        return f"{field}|exists", m.want
    if isinstance(m, ir.Null):
        return field, None
    if isinstance(m, ir.FieldRef):
        how = "|startswith" if m.starts and not m.ends else "|endswith" if m.ends and not m.starts else ""
        how = "|contains" if m.starts and m.ends else how
        return f"{field}|fieldref{how}", m.field
    raise NotExportable(f"{field}: {m} has no Sigma form here")


TARGET = Target(
    "sigma", "portable Sigma YAML: rules, correlations, filters, allowlists as filters", render,
    carries_correlations=True,
)
