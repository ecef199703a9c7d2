"""Allowlists a user edits (`--allow FILE`): entries -> Sigma filters over the normalized fields.

An entry names what it allows with one or more MATCH fields, all of which must hold:

    principal   the actor (Event.principal: AWS ARN, Azure caller, Entra initiator, GCP e-mail)
    cidr        the source address lies in this network (Event.src_ip; IPv4 or IPv6)
    account     AWS account id, Azure subscription, GCP project (Event.account)
    user_agent  Event.user_agent
    event       the operation (Event.operation: eventName, operationName, methodName, ...)
    provider    aws, azure, gcp or m365 (Event.provider)

A field may hold a list of values (any of them). Values are Sigma strings: `*` and `?` are
wildcards, `\\` escapes them, matching is case-insensitive (Sigma's default; IAM names are unique
regardless of case, so an ARN glob cannot name a different principal by case alone). Optional:
`rules` (ids, names or titles of the rules the entry applies to; default: every rule), `reason` (shown in the
summary) and `expires` (a date: the entry applies through that day, UTC; an expired entry is
reported and not applied).

Files: YAML (a list of entries, or a mapping with an `allow:` list) or, for plain lookup
tables, CSV (name ending `.csv`): a header row naming match fields and optional `rules`
(`;`-separated), `reason`, `expires`; one entry per row; an empty cell does not take part.

Each entry becomes one pySigma SigmaFilter whose condition is `not allowlisted` over the
`trailhound.*` normalized fields (engine/fields.py section 4), wrapped in a rules/model.Filter,
so every engine - reference, parallel, fast, Spark - applies it with the machinery that applies
the shipped filters, and reports what it suppressed under the entry's label
(`allowlist FILE:LINE (reason)`).
"""

from __future__ import annotations

import csv
import difflib
import ipaddress
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import yaml
from sigma.exceptions import SigmaError
from sigma.filters import SigmaFilter, SigmaGlobalFilter
from sigma.rule.logsource import EmptyLogSource

from trailhound.engine.fields import EVENT_FIELD_PREFIX
from trailhound.errors import AllowlistError
from trailhound.logsources import LOGSOURCES
from trailhound.rules.model import Filter, RuleSet
from trailhound.yamldepth import check_depth

__all__ = [
    "MATCH_FIELDS",
    "Allowlist",
    "Entry",
    "is_allowlist_filter",
    "load_allowlists",
    "with_allowlists",
]

# match field -> (normalized Event attribute, Sigma modifier)
MATCH_FIELDS: dict[str, tuple[str, str]] = {
    "principal": ("principal", ""),
    "cidr": ("src_ip", "|cidr"),
    "account": ("account", ""),
    "user_agent": ("user_agent", ""),
    "event": ("operation", ""),
    "provider": ("provider", ""),
}
OTHER_FIELDS = ("rules", "reason", "expires")
FIELDS = (*MATCH_FIELDS, *OTHER_FIELDS)
PROVIDERS = tuple(sorted({product for product, _ in LOGSOURCES.values()}))
LABEL_PREFIX = "allowlist "
# Filter ids derive from FILE:LINE, so a run's filters are stable (uuid5 under this namespace).
_ID_NAMESPACE = uuid.UUID("0f6b2a4e-5d1c-4c8e-9a57-7e2b3c1d9f10")


@dataclass(frozen=True)
class Entry:
    path: str
    line: int
    match: tuple[tuple[str, tuple[str, ...]], ...]  # (match field, values), MATCH_FIELDS order
    rules: tuple[str, ...] = ()  # ids or titles as written; () = every rule
    reason: str | None = None
    expires: date | None = None
    rules_line: int | None = None  # where `rules` is written (messages about it point there)

    @property
    def label(self) -> str:
        """How the summary names the entry: `allowlist FILE:LINE (reason)`."""
        return f"{LABEL_PREFIX}{self.path}:{self.line} ({self.reason or 'no reason given'})"

    def expired(self, today: date) -> bool:
        """An entry applies through its `expires` day."""
        return self.expires is not None and today > self.expires


@dataclass(frozen=True)
class Allowlist:
    """The entries of every `--allow` file, in file order; `expired` ones are not applied."""

    entries: tuple[Entry, ...] = ()
    expired: tuple[Entry, ...] = ()


def is_allowlist_filter(f: Filter) -> bool:
    """Is this Filter an allowlist entry (with_allowlists made it)?"""
    return f.sigma.custom_attributes.get("allowlist") is True


# ---------------------------------------------------------------------------------------------
# Reading files


def load_allowlists(paths: Sequence[str], today: date | None = None) -> Allowlist:
    """Read every file (YAML, or CSV when the name ends `.csv`); raise AllowlistError (exit 2)
    on the first problem, naming the file, the line and the field."""
    today = today or datetime.now(UTC).date()
    entries: list[Entry] = []
    for p in paths:
        entries.extend(_read_csv(p) if p.lower().endswith(".csv") else _read_yaml(p))
    return Allowlist(
        tuple(e for e in entries if not e.expired(today)),
        tuple(e for e in entries if e.expired(today)),
    )


def _text(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise AllowlistError(path, None, None, "no such file; check the --allow path") from None
    except UnicodeDecodeError as e:
        raise AllowlistError(path, None, None, f"not UTF-8 text ({e.reason}); save it as UTF-8") from None
    except OSError as e:
        raise AllowlistError(path, None, None, f"cannot be read: {e.strerror}") from None


class _LineLoader(yaml.SafeLoader):
    """SafeLoader whose mappings remember their line and each key's line (for messages), and
    which reads unquoted numbers as the text written: an account id `012345670123` must not
    become the octal integer YAML 1.1 makes of it."""


_LineLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in (
        "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"
    )]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class _Map(dict[str, Any]):
    line: int = 0
    key_lines: dict[str, int]


def _construct_map(loader: _LineLoader, node: yaml.MappingNode) -> _Map:
    loader.flatten_mapping(node)
    m = _Map(loader.construct_pairs(node, deep=True))
    m.line = node.start_mark.line + 1
    m.key_lines = {str(k.value): k.start_mark.line + 1 for k, _ in node.value}
    return m


class _Seq(list[Any]):
    lines: list[int]


def _construct_seq(loader: _LineLoader, node: yaml.SequenceNode) -> _Seq:
    s = _Seq(loader.construct_object(child, deep=True) for child in node.value)
    s.lines = [child.start_mark.line + 1 for child in node.value]
    return s


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_map)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_seq)


def _read_yaml(path: str) -> list[Entry]:
    text = _text(path)
    try:
        check_depth(text)
        doc = yaml.load(text, Loader=_LineLoader)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise AllowlistError(path, line, None, f"not valid YAML: {problem}") from None
    if doc is None:
        return []
    items: Any = doc
    if isinstance(doc, _Map):
        extra = sorted(k for k in doc if k != "allow")
        if extra:
            raise AllowlistError(
                path, doc.key_lines[extra[0]], extra[0],
                "unknown top-level key; an allowlist is a list of entries, or a mapping with "
                "one key, `allow:`, holding that list",
            )
        items = doc.get("allow") or []
    if not isinstance(items, _Seq):
        raise AllowlistError(
            path, getattr(doc, "line", 1), "allow",
            "expected a list of entries (`- principal: ...`); a CSV table needs a name ending .csv",
        )
    out = []
    for item, line in zip(items, items.lines):
        if not isinstance(item, _Map):
            raise AllowlistError(
                path, line, None,
                f"each entry must be a mapping such as `- principal: ...`, got {_show(item)}",
            )
        out.append(_entry(path, item.line, item, item.key_lines))
    return out


def _read_csv(path: str) -> list[Entry]:
    lines = _text(path).splitlines(keepends=True)
    reader = csv.reader(lines)
    try:
        header = next(reader)
    except StopIteration:
        return []
    except csv.Error as e:
        raise AllowlistError(path, 1, None, f"not valid CSV: {e}") from None
    names = [h.strip().lower() for h in header]
    for name in names:
        if name not in FIELDS:
            raise AllowlistError(path, 1, name or "(empty)", _unknown_field(name))
        if names.count(name) > 1:
            raise AllowlistError(path, 1, name, "named twice in the header row")
    if not any(n in MATCH_FIELDS for n in names):
        raise AllowlistError(
            path, 1, None,
            f"the header row names no match field; name one or more of {', '.join(MATCH_FIELDS)}",
        )
    out = []
    start = reader.line_num + 1
    try:
        for cells in reader:
            line, start = start, reader.line_num + 1
            if not any(c.strip() for c in cells):
                continue
            if len(cells) != len(names):
                raise AllowlistError(
                    path, line, None,
                    f"{len(cells)} cells where the header names {len(names)} columns",
                )
            row: dict[str, Any] = {}
            for name, cell in zip(names, cells):
                cell = cell.strip()
                if not cell:
                    continue
                row[name] = [r.strip() for r in cell.split(";") if r.strip()] if name == "rules" else cell
            out.append(_entry(path, line, row, {}))
    except csv.Error as e:
        raise AllowlistError(path, reader.line_num, None, f"not valid CSV: {e}") from None
    return out


# ---------------------------------------------------------------------------------------------
# Validating one entry


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _unknown_field(name: str) -> str:
    close = difflib.get_close_matches(name, FIELDS, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return f"unknown field.{hint} Known fields: {', '.join(FIELDS)}"


def _entry(path: str, line: int, item: dict[str, Any], key_lines: dict[str, int]) -> Entry:
    def fail(field: str | None, reason: str) -> AllowlistError:
        return AllowlistError(path, key_lines.get(field or "", line), field, reason)

    for key in item:
        if key not in FIELDS:
            raise fail(str(key), _unknown_field(str(key)))
    match = []
    for name in MATCH_FIELDS:
        if name in item:
            values = _strings(item[name], name, fail)
            for v in values:
                _check_value(name, v, fail)
            match.append((name, values))
    if not match:
        raise fail(
            None,
            f"the entry names no match field, so it would remove every finding; name one or "
            f"more of {', '.join(MATCH_FIELDS)}",
        )
    rules = _strings(item["rules"], "rules", fail) if "rules" in item else ()
    reason = None
    if "reason" in item and item["reason"] is not None:
        if not isinstance(item["reason"], str):
            raise fail("reason", f"expected text, got {_show(item['reason'])}")
        reason = " ".join(item["reason"].split()) or None
    expires = _date(item["expires"], fail) if item.get("expires") is not None else None
    return Entry(path, line, tuple(match), rules, reason, expires, key_lines.get("rules", line))


def _strings(value: Any, name: str, fail: Any) -> tuple[str, ...]:
    values = value if isinstance(value, list) else [value]
    out = []
    for v in values:
        if not isinstance(v, str) or not v.strip():
            raise fail(name, f"expected text or a list of texts, got {_show(v)}")
        out.append(v.strip())
    if not out:
        raise fail(name, "the list is empty; give at least one value or remove the field")
    return tuple(out)


def _check_value(name: str, value: str, fail: Any) -> None:
    if name == "cidr":
        try:
            ipaddress.ip_network(value, strict=True)
        except ValueError as e:
            raise fail(
                name, f"{value!r} is not an IP network ({e}); write an address or a range such "
                "as 203.0.113.0/24 or 2001:db8::/32",
            ) from None
    elif name == "provider" and value.lower() not in PROVIDERS:
        raise fail(name, f"{value!r} is not a provider; use one of {', '.join(PROVIDERS)}")


def _date(value: Any, fail: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise fail("expires", f"{_show(value)} is not a date; write it as YYYY-MM-DD (e.g. 2027-01-31)")


# ---------------------------------------------------------------------------------------------
# Compiling to Sigma filters


def with_allowlists(ruleset: RuleSet, allowlist: Allowlist) -> RuleSet:
    """`ruleset` plus one Filter per applicable entry (after the ruleset's own filters). Rule
    names in `rules` are resolved against `ruleset` (id, else title, case-insensitively)."""
    if not allowlist.entries:
        return ruleset
    filters = tuple(_to_filter(e, _rule_ids(e, ruleset)) for e in allowlist.entries)
    return replace(ruleset, filters=(*ruleset.filters, *filters))


def _rule_ids(entry: Entry, ruleset: RuleSet) -> frozenset[str] | None:
    if not entry.rules:
        return None
    by_id = {r.id for r in ruleset.rules}
    by_name: dict[str, set[str]] = {}  # title or Sigma `name`, case-folded -> rule ids
    for r in ruleset.rules:
        for n in (r.title, r.sigma.name):
            if n:
                by_name.setdefault(n.casefold(), set()).add(r.id)
    correlations = {c.id for c in ruleset.correlations} | {
        n.casefold() for c in ruleset.correlations for n in (c.title, c.name) if n
    }
    line = entry.rules_line or entry.line
    ids: set[str] = set()
    for name in entry.rules:
        if name in by_id:
            ids.add(name)
        elif name.casefold() in by_name:
            ids |= by_name[name.casefold()]
        elif name in correlations or name.casefold() in correlations:
            raise AllowlistError(
                entry.path, line, "rules",
                f"{name!r} is a correlation rule; name the rules it correlates instead (an "
                "allowed event then takes no part in the correlation)",
            )
        else:
            known = [*by_id, *(r.title for r in ruleset.rules)]
            close = difflib.get_close_matches(name, known, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise AllowlistError(
                entry.path, line, "rules",
                f"no loaded rule has the id, name or title {name!r}.{hint} "
                "`trailhound rules list` shows them",
            )
    return frozenset(ids)


def _to_filter(entry: Entry, rule_ids: frozenset[str] | None) -> Filter:
    detection: dict[str, list[str]] = {}
    for name, values in entry.match:
        attr, modifier = MATCH_FIELDS[name]
        detection[f"{EVENT_FIELD_PREFIX}{attr}{modifier}"] = list(values)
    try:
        glob = SigmaGlobalFilter.from_dict(
            {
                "rules": sorted(rule_ids) if rule_ids is not None else "any",
                "allowlisted": detection,
                "condition": "not allowlisted",
            }
        )
    except SigmaError as e:  # pySigma refused a value (a bad escape, ...)
        raise AllowlistError(entry.path, entry.line, None, str(e)) from None
    sf = SigmaFilter(
        title=entry.label,
        id=uuid.uuid5(_ID_NAMESPACE, f"{entry.path}:{entry.line}"),
        description=entry.reason,
        custom_attributes={"allowlist": True},
        # Any log source: the normalized fields exist in every source.
        logsource=EmptyLogSource(),
        filter=glob,
    )
    return Filter(
        id=str(sf.id),
        title=entry.label,
        rule_ids=rule_ids,
        product=None,
        service=None,
        sigma=sf,
        path=entry.path,
    )


def entries_yaml(entries: Iterable[dict[str, Any]]) -> str:
    """Entries as an allowlist YAML document (`allow:` list), safe to print and to paste:
    PyYAML quotes and escapes whatever needs it (control characters included)."""
    return yaml.safe_dump({"allow": list(entries)}, sort_keys=False, allow_unicode=False, width=100)
