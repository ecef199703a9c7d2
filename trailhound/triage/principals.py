"""Principal risk: the finding rows grouped by who made the calls, ranked by what they did.

Built on the finding rows (report/columns.row; Spark's rows are identical), so every engine gives
the same principals by construction.

Thresholds, and why. Splunk risk-based alerting raises a risk notable when an object collects
a risk score of 100 or more in 24 hours, or touches 3 or more ATT&CK tactics from 4 or more
detections (its "Risk Threshold Exceeded For Object Over 24 Hour Period" and "ATT&CK Tactic
Threshold Exceeded For Object Over Previous 7 Days" rules). Adapted to trailhound:

* Splunk's detections score about 25-80 each and repeated risk events are throttled, so 100
  means "two or three distinct medium/high detections". trailhound weighs a rule 1 (low) to 4
  (critical), medium 2, and does not throttle; so the 24 h measure counts each *distinct* rule
  once per window (`risk_24h`), and the threshold is RISK_24H_THRESHOLD = 6: three distinct
  medium rules, or two high ones. Counting distinct rules is what keeps volume from making
  risk: a pipeline repeating one privileged call 500 times a day still scores that rule once.
* Tactics: 3 or more distinct tactics from RULES_FOR_TACTICS = 3 or more distinct rules (Splunk
  asks 4 sources; trailhound's shipped pack has about five detection rules per provider, one per
  kind of call, so 4 would ask for nearly all of them). Tactics come from the rules' tags
  (triage/tactics.py), over the whole input.

`peak_24h` (the highest summed finding score in any sliding 24 h window) and `score` (the sum of
every finding) are reported for reference; they grow with volume and so do not rank.
Ranking: risky first, then `risk_24h`, tactics, rules, `score`, findings, first seen, name.
"""

from __future__ import annotations

import operator
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from trailhound.identity import fold
from trailhound.normalize.times import parse_time
from trailhound.spill import Runs, spill_budget
from trailhound.triage.tactics import in_order, rule_tactics

RISK_24H_THRESHOLD = 6
TACTICS_THRESHOLD = 3
RULES_FOR_TACTICS = 3
WINDOW_NS = 24 * 3600 * 10**9

Row = dict[str, Any]

# A principal row's columns, in order (JSONL keys, CSV header).
PRINCIPAL_COLUMNS = (
    "rank",
    "principal",
    "risky",
    "reason",
    "risk_24h",
    "peak_24h",
    "score",
    "findings",
    "rules",
    "tactics",
    "first_seen",
    "last_seen",
    "providers",
    "accounts",
    "identity_types",
    "source_ips",
    "user_agents",
    "access_keys",
    "rule_ids",
)


@dataclass
class _Acc:
    """What a principal's rows add up to, in memory independent of how many rows there are
    (the per-finding hits go to disk: `_Hits`)."""

    findings: int = 0
    score: float = 0.0
    first: tuple[int, str] | None = None  # (time ns, time as written) of the earliest finding
    last: tuple[int, str] | None = None
    rules: dict[str, set[str]] = field(default_factory=dict)  # detection rule id -> tactics
    sets: dict[str, Counter[str]] = field(default_factory=dict)
    spelled: dict[str, str] = field(default_factory=dict)  # folded account -> first spelling


# A hit: what one finding row brings to its principal's 24 h windows, as a tuple that sorts
# by principal, then untimed before timed, then time:
# (principal key, timed, time ns, score, ((rule id, weight), ...)) - every counted rule,
# context ones included.
_Hit = tuple[tuple[bool, str], bool, int, float, tuple[tuple[str, float], ...]]
_KEY = operator.itemgetter(0, 1, 2)
HITS_PER_RUN = 10  # hits kept in memory per finding that scoring keeps (a hit is ~10x smaller)


def _pkey(principal: str | None) -> tuple[bool, str]:
    return (principal is None, principal or "")


class _Hits:
    """Every hit, twice, through external merge sorts (spill.Runs): one copy is where each
    window ends (the arrivals), the other where it starts (the departures), so the sliding
    windows need no list of the findings inside them. Memory: two runs' worth of hits."""

    def __init__(self, folder: str) -> None:
        budget = spill_budget() * HITS_PER_RUN
        self.arrivals = Runs(_KEY, budget, folder)
        self.departures = Runs(_KEY, budget, folder)

    def add(self, hit: _Hit) -> None:
        self.arrivals.add(hit)
        self.departures.add(hit)

_SETS = {
    "providers": "provider",
    "accounts": "account",
    "identity_types": "identityType",
    "source_ips": "sourceIP",
    "user_agents": "userAgent",
    "access_keys": "accessKey",
}


def _number(x: float) -> float | int:
    x = round(x, 6)  # sums of halves and tenths: no binary-float tails in the output
    return int(x) if float(x).is_integer() else x


def _time_ns(text: str | None) -> int | None:
    if not text:
        return None
    return parse_time(text)[1]


def _add(acc: _Acc, hits: _Hits, principal: str | None, r: Row) -> None:
    t = _time_ns(r["time"])
    weights: dict[str, float] = {}
    for s in r["signals"]:
        weights[s["rule_id"]] = float(s["weight"])
        if not s["context"]:
            acc.rules.setdefault(s["rule_id"], set()).update(rule_tactics(s["tags"]))
    score = float(r["suspicion_score"])
    acc.findings += 1
    acc.score += score
    hits.add((_pkey(principal), t is not None, t or 0, score, tuple(weights.items())))
    if t is not None:
        at = (t, r["time"])
        acc.first = at if acc.first is None else min(acc.first, at)
        acc.last = at if acc.last is None else max(acc.last, at)
    for name, col in _SETS.items():
        v = r.get(col)
        if v is not None:
            if name == "accounts":  # one Azure subscription however its id is cased (identity.py)
                v = acc.spelled.setdefault(fold(r.get("provider"), v), v)
            acc.sets.setdefault(name, Counter())[v] += 1


def _windows(arrivals: Iterator[_Hit], departures: Iterator[_Hit]
             ) -> Iterator[tuple[tuple[bool, str], float, float]]:
    """(principal key, risk_24h, peak_24h) per principal, from the two sorted copies of every
    hit: the best sum of distinct rule weights and the best sum of finding scores over sliding
    24 h windows. The windows are the 24 hours up to each finding, (t - 24 h, t], as Splunk's
    `streamstats time_window=24h` counts. Findings without a time form one window of their own
    (nothing says how far apart they are)."""
    nxt = next(arrivals, None)
    dep = next(departures, None)  # the oldest hit still inside the window, once one is
    while nxt is not None:
        key = nxt[0]
        best_risk = best_peak = float("-inf")
        untimed: dict[str, float] = {}
        n_untimed = 0
        untimed_peak = 0.0
        while nxt is not None and nxt[0] == key and not nxt[1]:
            untimed.update(nxt[4])
            untimed_peak += nxt[3]
            n_untimed += 1
            nxt = next(arrivals, None)
            dep = next(departures, None)  # never part of a timed window
        if n_untimed:
            best_risk, best_peak = sum(untimed.values()), untimed_peak
        counts: Counter[str] = Counter()
        weight: dict[str, float] = {}
        risk = peak = 0.0
        inside = 0  # hits of this principal arrived and not yet departed
        while nxt is not None and nxt[0] == key:
            h, nxt = nxt, next(arrivals, None)
            while inside and dep is not None and h[2] - dep[2] >= WINDOW_NS:
                inside -= 1
                peak -= dep[3]
                for k, _ in dep[4]:
                    counts[k] -= 1
                    if counts[k] == 0:
                        risk -= weight.pop(k)
                        del counts[k]
                dep = next(departures, None)
            inside += 1
            peak += h[3]
            for k, w in h[4]:
                if counts[k] == 0:
                    weight[k] = w
                    risk += w
                counts[k] += 1
            if nxt is not None and nxt[0] == key and nxt[2] == h[2]:
                continue  # a window holds every finding of its last instant: add them all first
            best_risk, best_peak = max(best_risk, risk), max(best_peak, peak)
        for _ in range(inside):  # the departures catch up with the arrivals
            dep = next(departures, None)
        yield key, best_risk, best_peak


def _reason(risk_24h: float, tactics: Sequence[str], rules: int) -> str:
    parts = []
    if len(tactics) >= TACTICS_THRESHOLD and rules >= RULES_FOR_TACTICS:
        parts.append(f"{len(tactics)} tactics from {rules} rules (>= {TACTICS_THRESHOLD} from >= {RULES_FOR_TACTICS})")
    if risk_24h >= RISK_24H_THRESHOLD:
        parts.append(f"distinct-rule score {_number(risk_24h)} within 24 h (>= {RISK_24H_THRESHOLD})")
    return "; ".join(parts)


def _principal_row(principal: str | None, acc: _Acc, risk: float, peak: float) -> Row:
    tactics = in_order(t for ts in acc.rules.values() for t in ts)
    reason = _reason(risk, tactics, len(acc.rules))
    out: Row = {
        "rank": 0,
        "principal": principal,
        "risky": bool(reason),
        "reason": reason,
        "risk_24h": _number(risk),
        "peak_24h": _number(peak),
        "score": _number(acc.score),
        "findings": acc.findings,
        "rules": len(acc.rules),
        "tactics": tactics,
        "first_seen": acc.first[1] if acc.first else None,
        "last_seen": acc.last[1] if acc.last else None,
    }
    for name in _SETS:
        counted = acc.sets.get(name, Counter())
        # most frequent first: the principal's usual address / agent leads, the odd one follows
        out[name] = [v for v, _ in sorted(counted.items(), key=lambda kv: (-kv[1], kv[0]))]
    out["rule_ids"] = sorted(acc.rules)
    return out


def _rank_key(r: Row) -> tuple[Any, ...]:
    first = _time_ns(r["first_seen"])
    return (
        not r["risky"],
        -r["risk_24h"],
        -len(r["tactics"]),
        -r["rules"],
        -r["score"],
        -r["findings"],
        first is None,
        first or 0,
        r["principal"] is None,
        r["principal"] or "",
    )


def rank_principals(rows: Iterable[Row]) -> list[Row]:
    """One row per principal (the finding rows' `userArn`: AWS ARN, Azure caller, Entra
    initiator, GCP principalEmail, M365 UserId; None when the record names nobody; Microsoft's
    compared without case), highest risk first, `rank` numbered from 1. Columns:
    PRINCIPAL_COLUMNS."""
    accs: dict[str | None, _Acc] = {}
    shown: dict[str | None, str | None] = {}  # folded name -> the first spelling read
    with tempfile.TemporaryDirectory(prefix="trailhound-principals-") as folder:
        hits = _Hits(folder)
        for r in rows:
            principal = r["userArn"]
            # one Entra user however its UPN is cased (identity.py); shown as first read
            key = None if principal is None else fold(r.get("provider"), principal)
            acc = accs.get(key)
            if acc is None:
                acc = accs[key] = _Acc()
                shown[key] = principal
            _add(acc, hits, key, r)
        best = {key: (risk, peak) for key, risk, peak in
                _windows(iter(hits.arrivals), iter(hits.departures))}
    ranked = sorted(
        (_principal_row(shown[k], a, *best[_pkey(k)]) for k, a in accs.items()), key=_rank_key
    )
    for i, r in enumerate(ranked, 1):
        r["rank"] = i
    return ranked
