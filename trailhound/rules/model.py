"""What a loaded rule is, independent of any engine."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

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
    applied: engines compile `sigma.detection.parsed_condition` and look the mapped field names
    up in `Event.raw`. Filters are not folded into `sigma`; they are separate `Filter`s so that
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
        if self.service is not None and (rule.service or "").lower() != self.service.lower():
            return False
        return True


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[Rule, ...]
    filters: tuple[Filter, ...] = ()
