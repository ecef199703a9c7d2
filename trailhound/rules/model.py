"""What a loaded rule is, independent of any engine."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sigma.correlations import SigmaCorrelationRule
from sigma.filters import SigmaFilter
from sigma.rule import SigmaRule

# Default weight by Sigma `level` when a rule sets no `weight` attribute (Splunk RBA-like scale,
# anchored so that a `high` rule weighs as much as the seed's IAM-change signal).
LEVEL_WEIGHTS: dict[str, int] = {
    "informational": 0,
    "low": 1,
    "medium": 2,
    "high": 3,
    "critical": 4,
}
DEFAULT_WEIGHT = 1


@dataclass(frozen=True, eq=False)
class Rule:
    """A detection rule ready for an engine.

    `sigma` is the pySigma rule *after* the log-source processing pipeline (field mapping) was
    applied: engine/compiler.py turns it into the intermediate form every engine runs, and the
    mapped field names are looked up in `Event.raw`. Filters are not folded into `sigma`; they are separate `Filter`s so that
    what each one removed can be reported.
    """

    id: str
    title: str
    level: str | None
    author: str | None
    tags: tuple[str, ...]
    weight: float
    signal: str | None  # seed flag column this rule sets (iam_change, security_disable, ...)
    context: bool  # context rules only adjust the score of events another rule flagged
    product: str | None
    service: str | None
    category: str | None
    sigma: SigmaRule
    path: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # False when a correlation rule with `generate: false` (the Sigma default) references this
    # rule: engines still evaluate it (the correlation needs its matches) but scoring never counts
    # it as a signal on its own (correlation spec, Generate; pySigma `disable_output`).
    generate: bool = True

    def applies_to(self, logsource: tuple[str, str]) -> bool:
        """Sigma log-source semantics: every field the rule sets must equal the event's."""
        product, service = logsource
        if self.product is not None and self.product.lower() != product:
            return False
        if self.service is not None and self.service.lower() != service:
            return False
        # We only read audit logs; rules of another `category` (process_creation, ...) never apply.
        return self.category is None


@dataclass(frozen=True, eq=False)
class Filter:
    """A Sigma filter (spec v2.1 meta-rule): tuning that removes matches of the rules it names.

    `rule_ids` is None for `rules: any`. The filter condition says what must hold for a rule
    match to *survive* (e.g. `not aws_service`); when it is false, the match is suppressed.
    """

    id: str
    title: str
    rule_ids: frozenset[str] | None
    product: str | None
    service: str | None
    sigma: SigmaFilter
    path: str | None = None

    def applies_to(self, rule: Rule) -> bool:
        if self.rule_ids is not None and rule.id not in self.rule_ids:
            return False
        if self.product is not None and (rule.product or "").lower() != self.product.lower():
            return False
        if self.service is not None and (rule.service or "").lower() != self.service.lower():  # noqa: SIM103 - one condition a line
            return False
        return True


CORRELATION_TYPES = (
    "event_count",
    "value_count",
    "value_sum",
    "value_avg",
    "temporal",
    "temporal_ordered",
)
CONDITION_OPS = ("gt", "gte", "lt", "lte", "eq", "neq")


@dataclass(frozen=True, eq=False)
class Correlation:
    """A Sigma correlation rule (meta-rule over the matches of other rules), ready to evaluate.

    Evaluation semantics are in engine/correlate.py. It carries the same scoring attributes as a
    `Rule` (id, title, level, author, tags, weight, signal, context) so a hit is listed in a
    finding's signals like any rule; `context` is always False.

    rules: the referenced base rules, in the order the correlation lists them (the order
        `temporal_ordered` requires).
    group_by: the names as written (Sigma field names or alias names).
    group_paths[i][j]: the raw field paths (after the log-source pipeline's field mapping, so an
        Azure `caller` is `caller` or `Caller`) where group-by entry j is read in events matched
        by rules[i] - the alias's field for that rule when entry j is an alias. The first path
        that holds a value wins.
    value_paths[i]: the same for the condition's `field` (`value_field`; value_count /
        value_sum / value_avg), else None.
    timespan_ns: the window length; `timespan` is the rule text (`30m`).
    op, count: the condition, e.g. ("gte", 2). For temporal types the count is the number of
        distinct referenced rules (default: all of them).
    """

    id: str
    title: str
    type: str  # one of CORRELATION_TYPES
    rules: tuple[Rule, ...]
    group_by: tuple[str, ...]
    group_paths: tuple[tuple[tuple[str, ...], ...], ...]
    timespan: str
    timespan_ns: int
    op: str  # one of CONDITION_OPS
    count: int
    value_field: str | None  # the condition's `field` (value_* types), else None
    value_paths: tuple[tuple[str, ...], ...] | None
    generate: bool
    level: str | None
    author: str | None
    tags: tuple[str, ...]
    weight: float
    signal: str | None
    sigma: SigmaCorrelationRule
    path: str | None = None
    name: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    context: bool = False  # never: a correlation hit is a detection in its own right


@dataclass(frozen=True)
class RuleSet:
    """rules: every detection rule, including the base rules of correlations (Rule.generate says
    whether a rule counts on its own); engines evaluate all of them. correlations: evaluated on
    the engines' matches (engine/correlate.py)."""

    rules: tuple[Rule, ...]
    filters: tuple[Filter, ...] = ()
    correlations: tuple[Correlation, ...] = ()
