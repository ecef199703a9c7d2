"""ATT&CK tactics of a rule, from its Sigma tags.

Sigma names tactics by tag (`attack.defense-evasion`, Sigma tags specification, "Namespace:
attack"); techniques are `attack.tNNNN[.NNN]`. A table of the 14 Enterprise tactic names is all
that is needed: mitreattack-python would load the whole STIX bundle (tens of MB, fetched from the
network) to answer the same question.

One adjustment. Every shipped rule carries T1059.009 "Cloud API" and its tactic, Execution,
because the detection as a whole is about abuse *through* the cloud API: every call in an audit
log is a cloud API call, so that tag says nothing about what a principal did. Execution counts as
a tactic of a rule only when the rule also names another Execution technique (T1648 Serverless
Execution, T1651 Cloud Administration Command, ...): launching compute or running commands is.
"""

from __future__ import annotations

from collections.abc import Iterable

# ATT&CK Enterprise tactics, as Sigma spells them (lower case, hyphenated), in kill-chain order.
TACTICS = (
    "reconnaissance",
    "resource-development",
    "initial-access",
    "execution",
    "persistence",
    "privilege-escalation",
    "defense-evasion",
    "credential-access",
    "discovery",
    "lateral-movement",
    "collection",
    "command-and-control",
    "exfiltration",
    "impact",
)
_TACTICS = frozenset(TACTICS)

UMBRELLA = "t1059.009"  # Command and Scripting Interpreter: Cloud API
# Techniques of the Execution tactic (TA0002, ATT&CK Enterprise v16), parent ids.
EXECUTION_TECHNIQUES = frozenset(
    {
        "t1047", "t1053", "t1059", "t1072", "t1106", "t1129", "t1203", "t1204", "t1559",
        "t1569", "t1609", "t1610", "t1648", "t1651", "t1674", "t1675",
    }
)


def _technique(tag: str) -> str | None:
    """`attack.t1059.009` -> `t1059.009`; None for anything that is not a technique tag."""
    name = tag.lower().removeprefix("attack.")
    if name == tag.lower() or not name.startswith("t") or not name[1:5].isdigit():
        return None
    return name


def rule_tactics(tags: Iterable[str]) -> frozenset[str]:
    """The tactics a rule's tags name, Execution only with an Execution technique besides the
    Cloud API umbrella (module docstring).

    >>> sorted(rule_tactics(["attack.execution", "attack.t1059.009", "attack.persistence"]))
    ['persistence']
    >>> sorted(rule_tactics(["attack.execution", "attack.t1059.009", "attack.t1648"]))
    ['execution']
    """
    tags = list(tags)
    found = {t.lower().removeprefix("attack.") for t in tags if t.lower().startswith("attack.")}
    tactics = found & _TACTICS
    if "execution" in tactics:
        techniques = {t for t in map(_technique, tags) if t is not None and t != UMBRELLA}
        if not any(t.split(".")[0] in EXECUTION_TECHNIQUES for t in techniques):
            tactics.discard("execution")
    return frozenset(tactics)


def in_order(tactics: Iterable[str]) -> list[str]:
    """Tactics in kill-chain order (unknown names last, alphabetically)."""
    rank = {t: i for i, t in enumerate(TACTICS)}
    return sorted(set(tactics), key=lambda t: (rank.get(t, len(TACTICS)), t))
