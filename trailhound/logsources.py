"""The Source registry: one record per log source trailhound reads.

A `Source` says everything the pipeline needs to know about one log source: the name records
and events carry (`RawRecord.source`, `Event.source`), the classifier that recognises its
records, the normalizer that turns them into Events, the Sigma log source its events answer
to, the field-mapping tables its rules go through, the sentence that describes the shape to a
user, and a sample record (the completeness test, tests/test_logsources.py, runs it through
all of the above).

Everything else is derived from SOURCES, in place, every time a source is registered or
unregistered, so nothing can disagree with it:

* model.LOGSOURCES (name -> (product, service)), and so Event.logsource and the hunts;
* normalize.NORMALIZERS (name -> normalizer);
* sources.classify.CLASSIFIERS (the classifiers, each once, lowest `order` first),
  classify.DECLARED_TYPES (Panther log types) and classify.UNDERSTOOD (the "trailhound
  understands ..." sentence of the unknown-record error and the CLI);
* rules.pipelines.FIELD_TABLES (the tables the Sigma processing pipeline applies).

Adding a source: write one module with its normalizer, classifier, field table and a
`SOURCE = Source(...)`, and add it to the one BUILTIN tuple in sources/builtin.py
(docs/architecture.md, "Add a source"). Several sources may share one classifier: the Microsoft classifier tells
Azure Activity, Entra audit and Entra sign-in records apart, because the same keys decide
between them (a Sentinel `Type` column, a diagnostic `category`).

Import order: the modules that hold derived tables (classify, normalize, pipelines) import this
module at their end, so importing any of them registers the built-in sources; this module
imports them after defining its own names, so the cycle resolves whichever side comes first.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from trailhound.model import LOGSOURCES
from trailhound.registry import Registry

if TYPE_CHECKING:
    from trailhound.normalize import Normalizer
    from trailhound.rules.pipelines import FieldTable
    from trailhound.sources.classify import Classifier

__all__ = ["LOGSOURCES", "SOURCES", "Source", "register", "titles", "understood", "unregister"]


@dataclass(frozen=True, slots=True)
class Source:
    """One log source. `classifier` returns a Verdict naming this source (or another source
    sharing it) or None for records that are not its family's; classifiers are tried in
    `order` (lowest first: CloudTrail is 10 and first, the fast path relies on that)."""

    name: str  # RawRecord.source / Event.source, e.g. "gcp_audit"
    logsource: tuple[str, str]  # Sigma (product, service), e.g. ("gcp", "gcp.audit")
    classifier: Classifier
    order: int
    normalizer: Normalizer
    field_tables: tuple[FieldTable, ...]  # the first maps `logsource`; others re-home rules here
    shape: str  # one phrase: what records of this source look like
    sample: Mapping[str, Any]  # one real-shaped record carrying the fields shipped rules use
    declared_types: tuple[str, ...] = ()  # log types an envelope may declare (Panther)
    declared_prefixes: tuple[str, ...] = ()  # ... or their prefixes
    title: str = ""  # what a user calls it, e.g. "GCP audit": help texts list these (titles())

    @property
    def label(self) -> str:
        """The title, else the registry name (a source registered without one still shows)."""
        return self.title or self.name


SOURCES: Registry[Source] = Registry("log source")

# The envelopes every source's records may come in; sources/envelopes.py owns them.
ENVELOPES_UNDERSTOOD = (
    '{"Records": [...]}, {"records": [...]}, {"value": [...]}, JSON arrays, EventBridge events, '
    "CloudWatch Logs payloads, lookup-events output, Sumo Logic _raw rows, Panther tests, "
    "Pub/Sub push messages"
)


def understood() -> str:
    """What trailhound reads, for "unrecognised record" messages: every shape, then envelopes."""
    listed = ", ".join(s.shape for s in SOURCES.values())
    return f"{listed}, and their envelopes: {ENVELOPES_UNDERSTOOD}"


def titles() -> str:
    """Every registered source as a user names it, "A, B and C", for help texts and docs that
    would otherwise list sources by hand and drift (the CLI group's and `demo`'s help)."""
    labels = [s.label for s in SOURCES.values()]
    if len(labels) < 2:
        return "".join(labels)
    return f"{', '.join(labels[:-1])} and {labels[-1]}"


def register(source: Source) -> Source:
    """Add a source (its name must be new) and re-derive every table that lists sources.
    ValueError when the record contradicts itself or a registered source."""
    _check(source)
    SOURCES.register(source.name, source)
    try:
        _derive()
    except Exception:
        SOURCES.unregister(source.name)
        _derive()
        raise
    return source


def _check(source: Source) -> None:
    tables = source.field_tables
    if not tables or (tables[0].product, tables[0].service) != source.logsource:
        raise ValueError(
            f"source {source.name!r}: its first field table must map {source.logsource}"
        )
    for other in SOURCES.values():
        if other.classifier is source.classifier and other.order != source.order:
            raise ValueError(
                f"source {source.name!r} shares the classifier of {other.name!r} with another "
                f"order ({source.order} != {other.order}): a classifier runs at one place"
            )


def unregister(name: str) -> Source:
    """Take a source out again (tests register toy sources) and re-derive."""
    source = SOURCES.unregister(name)
    _derive()
    return source


def _derive() -> None:
    """Rebuild the derived tables IN PLACE: other modules hold references to these objects."""
    # Imported here: these modules import this one at their end (see the module docstring).
    from trailhound.normalize import NORMALIZERS
    from trailhound.rules import pipelines

    # Not `from trailhound.sources import classify`: the package re-exports a function so named.
    classify = importlib.import_module("trailhound.sources.classify")

    sources = SOURCES.values()
    LOGSOURCES.clear()
    LOGSOURCES.update((s.name, s.logsource) for s in sources)

    for name in NORMALIZERS.names():
        NORMALIZERS.unregister(name)
    for s in sources:
        NORMALIZERS.register(s.name, s.normalizer)

    # A classifier shared by several sources is tried once, at the place of its first source.
    for name in classify.CLASSIFIERS.names():
        classify.CLASSIFIERS.unregister(name)
    seen: set[int] = set()
    for s in sources:
        if id(s.classifier) not in seen:
            seen.add(id(s.classifier))
            classify.CLASSIFIERS.register(s.name, s.order, s.classifier)

    classify.DECLARED_TYPES.clear()
    classify.DECLARED_PREFIXES.clear()
    for s in sources:
        verdict = classify.Verdict(source=s.name)
        classify.DECLARED_TYPES.update(dict.fromkeys(s.declared_types, verdict))
        classify.DECLARED_PREFIXES.update(dict.fromkeys(s.declared_prefixes, verdict))
    setattr(classify, "UNDERSTOOD", understood())  # noqa: B010 - a module global, rebound

    tables = [t for s in sources for t in s.field_tables]
    tables.extend(pipelines.UNSOURCED_TABLES)
    pipelines.FIELD_TABLES[:] = tables


# --- The built-in sources --------------------------------------------------------------------
# Below the definitions on purpose (see "Import order" above).

from trailhound.sources.builtin import BUILTIN

for _source in BUILTIN:
    register(_source)
