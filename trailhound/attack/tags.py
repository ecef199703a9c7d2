"""ATT&CK ids from Sigma tags (`attack.t1562.008`, `attack.defense-evasion`).

The tactic names and the tag parsing are triage/tactics.py's (one definition); this module adds
what an export needs on top: the canonical upper-case technique ids (`T1562.008`), the parent of
a sub-technique, and each tactic's `TA00NN` id and display name. The ids are stable ATT&CK
identifiers, so a 14-entry table serves, without loading the STIX bundle.
"""

from __future__ import annotations

from collections.abc import Iterable

from trailhound.triage.tactics import _technique, in_order

# ATT&CK Enterprise tactic ids (attack.mitre.org/tactics/enterprise), by Sigma tag name.
TACTIC_IDS: dict[str, str] = {
    "reconnaissance": "TA0043",
    "resource-development": "TA0042",
    "initial-access": "TA0001",
    "execution": "TA0002",
    "persistence": "TA0003",
    "privilege-escalation": "TA0004",
    "defense-evasion": "TA0005",
    "credential-access": "TA0006",
    "discovery": "TA0007",
    "lateral-movement": "TA0008",
    "collection": "TA0009",
    "command-and-control": "TA0011",
    "exfiltration": "TA0010",
    "impact": "TA0040",
}

ATTACK_URL = "https://attack.mitre.org"
ATTACK_VERSION = "16"  # the ATT&CK release the packs' tags and triage/tactics.py follow


def techniques(tags: Iterable[str]) -> list[str]:
    """The technique and sub-technique ids the tags name, upper case, sorted, once each.

    >>> techniques(["attack.execution", "attack.t1562.008", "attack.T1098", "attack.t1098"])
    ['T1098', 'T1562.008']
    """
    return sorted({t.upper() for t in map(_technique, tags) if t is not None})


def tactics(tags: Iterable[str]) -> list[str]:
    """Every tactic the tags name (Sigma spelling), in kill-chain order.

    >>> tactics(["attack.t1526", "attack.discovery", "attack.Defense-Evasion", "cve.2020"])
    ['defense-evasion', 'discovery']
    """
    found = {t.lower().removeprefix("attack.") for t in tags if t.lower().startswith("attack.")}
    return in_order(found & TACTIC_IDS.keys())


def parent(technique: str) -> str:
    """`T1562.008` -> `T1562`; a technique is its own parent."""
    return technique.split(".", 1)[0]


def technique_url(technique: str) -> str:
    """The technique's page: `T1562.008` -> .../techniques/T1562/008/."""
    return f"{ATTACK_URL}/techniques/{technique.replace('.', '/')}/"


def tactic_name(tactic: str) -> str:
    """`command-and-control` -> `Command and Control` (ATT&CK's spelling)."""
    return " ".join(w if w == "and" else w.capitalize() for w in tactic.split("-"))
