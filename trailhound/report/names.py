"""Short forms of long identifiers for the terminal table (JSONL and CSV keep them whole)."""

from __future__ import annotations


def short_principal(principal: str | None, account: str | None) -> str:
    """An ARN cut to what identifies it inside its account, which the table shows separately:
    `arn:aws:sts::111122223333:assumed-role/Deploy/sess` -> `assumed-role/Deploy/sess`. When
    the ARN's account is not the event's (a cross-account caller), the account stays in front:
    `444455556666:assumed-role/Deploy/sess`. Anything that is not an ARN is kept as it is.

    >>> short_principal("arn:aws:iam::111122223333:user/m.okafor", "111122223333")
    'user/m.okafor'
    >>> short_principal("arn:aws:sts::444455556666:assumed-role/R/s", "111122223333")
    '444455556666:assumed-role/R/s'
    >>> short_principal("ci@p.iam.gserviceaccount.com", "p")
    'ci@p.iam.gserviceaccount.com'
    """
    if principal is None:
        return ""
    # arn:partition:service:region:account-id:resource (the resource may hold more colons)
    parts = principal.split(":", 5)
    if len(parts) < 6 or parts[0] != "arn" or not parts[5]:
        return principal
    owner, resource = parts[4], parts[5]
    if owner and owner != account:
        return f"{owner}:{resource}"
    return resource


def short_time(time: str | None) -> str:
    """`2026-03-14T10:51:09.472602819Z` -> `2026-03-14 10:51:09` (UTC, to the second).

    >>> short_time("2026-03-14T10:51:09.472602819Z")
    '2026-03-14 10:51:09'
    """
    if not time:
        return ""
    return time[:19].replace("T", " ")
