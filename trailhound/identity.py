"""Which names compare without case, by provider: one definition for every place that groups
events by who made them. Its users:

* engine/correlate.py: the group-by values of Sigma correlation rules (every engine);
* triage/principals.py: the principal ranking and each principal's accounts (an Azure
  subscription id in either case is one), and so `principals`, `principals --state`, the HTML
  report's principals and their plots, and `validate`'s ranking check;
* rules/first_seen.py: the groups of first-seen rules, in a scan and in a baseline
  (rules/baseline.py writes them folded).

The text shown is always the record's own; only the comparison folds. (`timeline --principal`
and the report's plot pass match a name the user typed without case for every provider: a
lookup, not a grouping; triage/timeline.py.)

Microsoft's identities are case-insensitive: an Entra user principal name is matched without
case at sign-in (User@Contoso.com and USER@contoso.com are one account), object and application
ids are GUIDs (hex, any case), and Azure Resource Manager compares resource ids, subscription
ids and resource group names without case. Azure Activity, Entra and Microsoft 365 records spell
one principal both ways (the sign-in's `userPrincipalName` as typed, the Activity Log's
`caller` from the token). AWS ARNs and GCP principals are compared exactly: IAM policy ARNs
are case-sensitive, and an exact comparison is what their SIEM `stats by` does.
"""

from __future__ import annotations

__all__ = ["CASE_INSENSITIVE_PROVIDERS", "fold"]

# Sigma products (Event.provider) whose names compare without case
CASE_INSENSITIVE_PROVIDERS = frozenset({"azure", "m365"})


def fold(provider: str | None, text: str) -> str:
    """`text` as compared for `provider`: case-folded where the platform ignores case."""
    return text.casefold() if provider in CASE_INSENSITIVE_PROVIDERS else text

