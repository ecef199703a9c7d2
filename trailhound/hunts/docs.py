"""docs/hunts.md, generated from the hunt registry so the page and `hunt list` never disagree:
`python -m trailhound.hunts.docs > docs/hunts.md` (tests/test_hunts_cli.py checks it)."""

from __future__ import annotations

from trailhound.hunts.registry import hunts
from trailhound.hunts.store import COLUMNS
from trailhound.logsources import SOURCES, titles

_INTRO = """\
# Hunts

Hunting queries ask questions across events that a per-event detection rule cannot: sequences
(recon, then tampering), bursts (enumeration), first-seen values (a new IP on an old principal).
Each is one DuckDB SQL file in `trailhound/hunts/sql/`, with a header naming it, describing it
and tagging it with MITRE ATT&CK.

```sh
trailhound hunt list                                   # every shipped hunt
trailhound hunt show recon_then_tampering > mine.sql   # its SQL, to read or adapt
trailhound hunt recon_then_tampering ./AWSLogs/        # run it (table, --format jsonl / csv)
trailhound hunt --hunt-sql mine.sql ./AWSLogs/         # run your own
```

Every input trailhound reads ({titles} logs)
is normalized and loaded into a temporary DuckDB table `events`, one row per event, that the
query reads. Exit codes: 0 ran cleanly, 2 unknown hunt or SQL that DuckDB refuses (one line:
the file and DuckDB's reason), 3 some input was bad (reported on stderr, the rest was loaded).

## The `events` table

| Column | Type | What |
|---|---|---|
"""

_WHAT = {
    "ts": "event time, UTC (use it for windows: `ts - INTERVAL 1 HOUR`)",
    "time": "event time as `detect` prints it: RFC 3339 UTC with milliseconds (`2024-11-30T08:43:17.000Z`)",
    # source and provider: listed from the Source registry in render()
    "operation": "eventName / operationName / methodName / activity",
    "service": "eventSource / resource provider / serviceName",
    "principal": "who: user or role ARN, UPN, principalEmail",
    "principal_type": "userIdentity.type or its equivalent",
    "src_ip": "source IP as logged (may be `AWS Internal` or a service name)",
    "region": "cloud region",
    "account": "AWS account, Azure subscription, GCP project",
    "status": "`success`, `failure` or `other` (Azure Started/Accepted)",
    "error_code": "error code of a failed call",
    "error_message": "error message of a failed call",
    "user_agent": "user agent as logged",
    "event_id": "eventID / eventDataId / insertId",
    "correlation_id": "one id per operation: Azure and Entra correlationId, M365 CorrelationId",
    "origin": "file and position the record was read from",
    "raw": "the whole original record: `raw->>'$.requestParameters.userName'`",
}

_LISTS = """
Reference tables the shipped hunts share, which your queries may use too (their rows are in
`trailhound/hunts/sql/_lists.sql`): `aws_recon_calls(service, operation)`,
`aws_tamper_calls(service, operation)`, `privileged_operations(pattern)` (lower-case `LIKE`
patterns on `operation`).

## Shipped hunts
"""


def _registered() -> dict[str, str]:
    """The column texts that list log sources, from the Source registry (they drifted when
    written by hand: M365 and Entra sign-ins were missing)."""
    sources = SOURCES.values()
    products = sorted({s.logsource[0] for s in sources})
    return {
        "source": ", ".join(f"`{s.name}`" for s in sources),
        "provider": ", ".join(f"`{p}`" for p in products) + " (the Sigma product of `source`)",
    }


def render() -> str:
    parts = [_INTRO.format(titles=titles())]
    what = {**_WHAT, **_registered()}
    parts += [f"| `{name}` | {kind} | {what[name]} |\n" for name, kind in COLUMNS.items()]
    parts.append(_LISTS)
    reg = hunts()
    for name in reg:
        h = reg.get(name)
        sources = ", ".join(f"`{s}`" for s in h.sources) or "any"
        parts.append(
            f"\n### `{h.name}`: {h.title}\n\n{h.description}\n\n"
            f"- Tags: {', '.join(h.tags)}\n- Reads: {sources}\n"
            f"- Run: `trailhound hunt {h.name} PATH...`\n"
        )
    return "".join(parts)


if __name__ == "__main__":
    print(render(), end="")
