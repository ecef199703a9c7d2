"""The shipped profiles (docs/profiles.md).

seed       the catalog query as written, made runnable and bug-compatible.
corrected  what its authors meant: the flagship detection alone.
full       the flagship plus the related-detections pack (rules/packs/related): default.
A profile = a rule pack + how output columns are filled + which inputs the query would even see.
"""

from __future__ import annotations

from dataclasses import dataclass

from trailhound.errors import UsageError
from trailhound.model import Event

# `_sourceCategory=aws/cloudtrail OR ...azure/activity OR ...azure/audit`: the whole value in Sumo
# (defect 13: `prod/aws/cloudtrail` is another category), and, as every scope-line term,
# without case (Sumo's "Keyword Search Expressions": keyword expressions are case-insensitive).
SEED_SOURCE_CATEGORIES = frozenset({"aws/cloudtrail", "azure/activity", "azure/audit"})


@dataclass(frozen=True)
class Profile:
    name: str
    pack: str
    literal_columns: bool  # columns are the raw JSON fields the query extracts (seed) or normalized
    source_categories: frozenset[str] | None  # whole-value _sourceCategory test, for Sumo exports
    dedupe: bool  # one finding per operation (duplicate deliveries, Azure Started/Succeeded)
    description: str

    def admits(self, event: Event) -> bool:
        """Records read from files carry no source category: they are classified by content
        and admitted. Sumo exports carry one, and the seed query tests its whole value."""
        if self.source_categories is None:
            return True
        cat = event.meta.get("_sourceCategory")
        if cat is None:
            return True
        # the whole value, case ignored, as Sumo's scope line tests it (trailhound/sumo runs it)
        return str(cat).casefold() in {c.casefold() for c in self.source_categories}


PROFILES: dict[str, Profile] = {
    "seed": Profile(
        name="seed",
        pack="seed",
        literal_columns=True,
        source_categories=SEED_SOURCE_CATEGORIES,
        dedupe=False,
        description="the catalog query as written: exact, case-sensitive, AWS names only",
    ),
    "corrected": Profile(
        name="corrected",
        pack="corrected",
        literal_columns=False,
        source_categories=None,
        dedupe=True,
        description="the 13 defects fixed: AWS, Azure Activity, Entra audit and GCP scored",
    ),
    "full": Profile(
        name="full",
        pack="corrected+related",  # loader.pack_dirs: both packs, one rule set
        literal_columns=False,
        source_categories=None,
        dedupe=True,
        description="corrected plus the related detections (Stratus Red Team techniques and more)",
    ),
}
DEFAULT_PROFILE = "full"


def get_profile(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise UsageError(
            f"Unknown profile {name!r}. Available: {', '.join(PROFILES)}"
        ) from None
