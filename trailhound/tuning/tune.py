"""`trailhound tune`: allowlist entries proposed from the current findings.

The proposals are the REPEATED (principal, event) pairs - the same actor making the same call
again and again, as a deployment pipeline or a scheduled job does - that carry most of the
score: pairs with at least `min_count` findings, highest summed score first, until they cover
`share` of the total score or `top` pairs are proposed. Each proposal is an entry for exactly
that principal and that event (wildcard characters in them escaped), for every rule, so fed
back with `--allow` it removes exactly the findings it counted (tuning/removed.py says what
"removed" means; a pair whose events took part in a correlation is flagged: other findings of
that correlation may lose its weight). An intruder's repeated calls look the same, which is why
the output is a proposal to review, never applied by itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

from trailhound.normalize.times import output_time
from trailhound.scoring import Finding
from trailhound.tuning.allowlist import entries_yaml

__all__ = ["Proposal", "proposals_yaml", "propose", "sigma_literal"]


@dataclass
class Proposal:
    principal: str
    event: str
    findings: int = 0
    score: float = 0
    first: str | None = None
    last: str | None = None
    correlations: set[str] = field(default_factory=set)  # ids of correlations it took part in


def sigma_literal(text: str) -> str:
    """`text` as a Sigma string that matches only itself: `*`, `?` and `\\` escaped."""
    return text.replace("\\", "\\\\").replace("*", "\\*").replace("?", "\\?")


def propose(
    findings: Iterable[Finding], *, min_count: int = 2, share: float = 0.8, top: int = 10
) -> tuple[list[Proposal], int, float]:
    """(proposals, number of findings, total score) - see the module docstring."""
    groups: dict[tuple[str, str], Proposal] = {}
    count, total = 0, 0.0
    for f in findings:
        count += 1
        total += f.score
        e = f.event
        if e.principal is None or e.operation is None:
            continue  # nothing an entry could name
        p = groups.get((e.principal, e.operation))
        if p is None:
            p = groups[(e.principal, e.operation)] = Proposal(e.principal, e.operation)
        p.findings += 1
        p.score += f.score
        when = output_time(e.time_ns)  # fixed width: compares as the times do
        if when is not None:
            p.first = when if p.first is None else min(p.first, when)
            p.last = when if p.last is None else max(p.last, when)
        p.correlations |= {h.correlation.id for h in f.hits}
    ranked = sorted(
        (p for p in groups.values() if p.findings >= min_count),
        key=lambda p: (-p.score, -p.findings, p.principal, p.event),
    )
    out: list[Proposal] = []
    covered = 0.0
    for p in ranked:
        if len(out) >= top or (total > 0 and covered >= share * total):
            break
        out.append(p)
        covered += p.score
    return out, count, total


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def proposals_yaml(
    proposals: list[Proposal], count: int, total: float, today: date, keep_days: int = 90
) -> str:
    """The proposals as an allowlist file, each entry preceded by what it would remove."""
    removed = sum(p.findings for p in proposals)
    score = sum(p.score for p in proposals)
    summary = (
        f"# trailhound tune: {len(proposals)} proposed entries; together they would remove "
        f"{removed} of {count} findings (score {_num(score)} of {_num(total)})."
    )
    head = [
        summary,
        "# Review each one: an intruder repeating a call looks the same as a pipeline. Keep",
        "# what you recognise, then pass this file with --allow.",
    ]
    if not proposals:
        return "\n".join([*head, "allow: []"]) + "\n"
    lines = [*head, "allow:"]
    expires = today + timedelta(days=keep_days)
    for p in proposals:
        pct = 100 * p.score / total if total else 0
        lines.append(
            f"# would remove {p.findings} findings, score {_num(p.score)} ({pct:.0f}% of the "
            f"total), {p.first} .. {p.last}"
        )
        if p.correlations:
            lines.append(
                "# its events took part in correlation(s) "
                f"{', '.join(sorted(p.correlations))}: other findings may lose that weight"
            )
        entry = {
            "principal": sigma_literal(p.principal),
            "event": sigma_literal(p.event),
            "reason": f"proposed by trailhound tune on {today}: {p.findings} repeated findings",
            "expires": expires,
        }
        body = entries_yaml([entry]).split("\n", 1)[1]  # drop the `allow:` line
        lines.append(body.rstrip("\n"))
    return "\n".join(lines) + "\n"
