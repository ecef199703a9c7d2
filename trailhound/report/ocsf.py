"""Finding rows -> OCSF Detection Findings (class 2004), one JSON object a line (`--format ocsf`).

Target: OCSF 1.5.0 with the `cloud` and `datetime` profiles (tests validate every line against
that version's schema as schema.ocsf.io exports it). Where each part of a finding goes:

- `finding_info`: `uid` (stable: the same event and rules give the same uid on every run, so a
  SIEM can de-duplicate re-scans), `title` and `analytic` = the heaviest detection rule, the
  other counted rules in `related_analytics`, `types` = the seed signals raised, `attacks` from
  the `attack.*` tags of the counted rules but context rules (they only adjust the score): one
  entry per technique, one per tactic (Sigma tags do not say which tactic a technique was used
  for, so none is paired with a guess).
- `severity_id` from the score, on the scale a rule's `level` weighs (informational 0, low 1,
  medium 2, high 3, critical 4): one rule alone keeps its level's severity.
- `time` (epoch ms) and `time_dt`: the event's time; `cloud` (provider, region, account) and
  `api` (operation, service, error) from the event.
- `evidences[0]`: who did it (`actor.user`), from where (`src_endpoint`: `ip` when the log holds
  an IP address, else `name`: CloudTrail writes `AWS Internal` or a service's DNS name there),
  with what (`http_request.user_agent`), the call (`api`) and the original record, untouched
  (`data`).
- `remediation.desc`: the commands that print the rules' response playbooks.
- `unmapped.trailhound`: what OCSF has no attribute for (the score, the signals as `detect
  --format jsonl` lists them, correlations, where the record was read).

The row's columns follow the profile (under `--profile seed`, the seed query's literal
CloudTrail extractions, which an Azure or GCP record does not have); the OCSF attributes do not:
they are read from the normalized event (the row's `normalized`, columns.row with `raw`).
Everything is JSON-encoded by orjson: log text stays data in every field.
"""

from __future__ import annotations

import datetime
import functools
import ipaddress
import time
import uuid
from collections.abc import Iterable
from typing import Any, TextIO

from trailhound import __version__
from trailhound.attack.tags import (
    ATTACK_URL,
    ATTACK_VERSION,
    TACTIC_IDS,
    parent,
    tactic_name,
    tactics,
    technique_url,
)
from trailhound.attack.tags import techniques as technique_ids
from trailhound.errors import UsageError
from trailhound.report.columns import COLUMNS

Row = dict[str, Any]
_FINDING_KEYS = frozenset(COLUMNS)  # what tells a finding row from another view's row

OCSF_VERSION = "1.5.0"
PROFILES = ("cloud", "datetime")

CLASS_UID = 2004  # Detection Finding
CATEGORY_UID = 2  # Findings
ACTIVITY_CREATE = 1
STATUS_NEW = 1
ANALYTIC_RULE = 1  # analytic.type_id: Rule

# (floor, severity_id, caption): a score takes the first whose floor it reaches
_SEVERITIES = ((4, 5, "Critical"), (3, 4, "High"), (2, 3, "Medium"), (1, 2, "Low"))
_INFORMATIONAL = (1, "Informational")

# cloud.provider as OCSF's examples spell it; another provider is written as the event has it
PROVIDER_NAMES = {"aws": "AWS", "azure": "Azure", "gcp": "GCP", "m365": "Microsoft 365"}

# uuid5 namespace of finding uids (any fixed uuid: it only keeps our uids apart from others')
_UID_NAMESPACE = uuid.UUID("5b1c1d7e-6a0e-4f38-9a4e-0d5c3f0e2a11")


def severity(score: float) -> tuple[int, str]:
    """The OCSF severity_id and caption of a score.

    >>> severity(3), severity(2.5), severity(0)
    ((4, 'High'), (3, 'Medium'), (1, 'Informational'))
    """
    for floor, sid, caption in _SEVERITIES:
        if score >= floor:
            return sid, caption
    return _INFORMATIONAL


def epoch_ms(rfc3339: str) -> int:
    """`2026-03-14T10:04:16.123Z` (the rows' one time format) -> epoch milliseconds."""
    t = datetime.datetime.fromisoformat(rfc3339)
    return (t - datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)) // datetime.timedelta(
        milliseconds=1
    )


def finding_uid(r: Row) -> str:
    """Same event (its id, else where it was read) and same rules -> same uid, run after run."""
    where = r["eventID"] or r["origin"]
    rules = ",".join(s["rule_id"] for s in r["signals"])
    return str(uuid.uuid5(_UID_NAMESPACE, f"{r['provider']}\0{where}\0{rules}"))


def _analytic(signal: Row) -> Row:
    return {"uid": signal["rule_id"], "name": signal["title"], "type_id": ANALYTIC_RULE,
            "type": "Rule"}


def _primary(signals: list[Row]) -> Row:
    """The rule a finding is named after: the heaviest detection (first of equals), else the
    heaviest of all (a finding only a correlation made lists no detection rule)."""
    pool = [s for s in signals if not s["context"]] or signals
    return max(pool, key=lambda s: s["weight"])  # max keeps the first of equals


def attacks(tag_lists: Iterable[Iterable[str]]) -> list[Row]:
    """OCSF `attack` objects for every technique, then every tactic, the tags name."""
    return list(_attacks(tuple(sorted({t for ts in tag_lists for t in ts}))))


@functools.lru_cache(maxsize=4096)
def _attacks(tags: tuple[str, ...]) -> tuple[Row, ...]:
    # a few rule combinations recur on every finding: built once each, shared read-only (the
    # writer only serializes them)
    out: list[Row] = []
    for tid in technique_ids(tags):
        top = parent(tid)
        entry: Row = {"technique": {"uid": top, "src_url": technique_url(top)},
                      "version": ATTACK_VERSION}
        if tid != top:
            entry["sub_technique"] = {"uid": tid, "src_url": technique_url(tid)}
        out.append(entry)
    for tactic in tactics(tags):
        uid = TACTIC_IDS[tactic]
        out.append({"tactic": {"uid": uid, "name": tactic_name(tactic),
                               "src_url": f"{ATTACK_URL}/tactics/{uid}/"},
                    "version": ATTACK_VERSION})
    return tuple(out)


@functools.lru_cache(maxsize=4096)  # few addresses, many findings; shared read-only
def _endpoint(address: str) -> Row:
    """`src_endpoint` of a normalized address: an IP by `ip` (the normalizers cut off the port
    Microsoft writes after it: normalize/_fields.address), anything else (a DNS name, "AWS
    Internal") by `name`."""
    try:
        ipaddress.ip_address(address)
    except ValueError:
        return {"name": address}
    return {"ip": address}


def _api(r: Row) -> Row | None:
    operation = r["eventName"] or r["operationName"]
    if operation is None:
        return None
    api: Row = {"operation": operation}
    if r["service"]:
        api["service"] = {"name": r["service"]}
    response = {k: v for k, v in (("error", r["errorCode"]), ("error_message", r["errorMessage"]))
                if v is not None}
    if response:
        api["response"] = response
    return api


def _evidence(r: Row, api: Row | None) -> Row:
    evidence: Row = {}
    user = {k: v for k, v in (("uid", r["userArn"]), ("type", r["identityType"]),
                              ("credential_uid", r["accessKey"])) if v is not None}
    if "uid" in user:
        evidence["actor"] = {"user": user}
    if r["sourceIP"]:
        evidence["src_endpoint"] = _endpoint(r["sourceIP"])
    if r["userAgent"]:
        evidence["http_request"] = {"user_agent": r["userAgent"]}
    if api is not None:
        evidence["api"] = api
    if "raw" in r:
        evidence["data"] = r["raw"]
    return evidence


def _cloud(r: Row) -> Row:
    cloud: Row = {"provider": PROVIDER_NAMES.get(r["provider"], r["provider"])}
    if r["awsRegion"]:
        cloud["region"] = r["awsRegion"]
    if r["account"]:
        cloud["account"] = {"uid": r["account"]}
    return cloud


def detection_finding(r: Row) -> Row:
    """One finding row (report/columns.row, with `raw` for the evidence) as an OCSF Detection
    Finding. Who, from where and what call are the normalized event's (the row's `normalized`,
    when it carries them), whatever columns the profile prints."""
    if "normalized" in r:
        r = {**r, **r["normalized"]}
    signals: list[Row] = r["signals"]
    primary = _primary(signals)
    sev_id, sev = severity(r["suspicion_score"])
    # no event time: OCSF's `time` may be the finding's creation time instead
    when = epoch_ms(r["time"]) if r["time"] else time.time_ns() // 1_000_000
    info: Row = {
        "uid": finding_uid(r),
        "title": primary["title"],
        "analytic": _analytic(primary),
        "types": sorted({s["signal"] for s in signals if s["signal"]}) or [primary["title"]],
        "data_sources": [r["source"]],
        "first_seen_time": when,
        "last_seen_time": when,
    }
    related = [_analytic(s) for s in signals if s is not primary]
    if related:
        info["related_analytics"] = related
    found = attacks(s["tags"] for s in signals if not s["context"])  # context: score only
    if found:
        info["attacks"] = found
    events = sorted({e for c in r["correlations"] for e in c["events"] if e and e != r["eventID"]})
    if events:
        info["related_events"] = [{"uid": e} for e in events]
    api = _api(r)
    operation = api["operation"] if api else None
    by = f" by {r['userArn']}" if r["userArn"] else ""
    out: Row = {
        "activity_id": ACTIVITY_CREATE,
        "activity_name": "Create",
        "category_uid": CATEGORY_UID,
        "category_name": "Findings",
        "class_uid": CLASS_UID,
        "class_name": "Detection Finding",
        "type_uid": CLASS_UID * 100 + ACTIVITY_CREATE,
        "type_name": "Detection Finding: Create",
        "severity_id": sev_id,
        "severity": sev,
        "status_id": STATUS_NEW,
        "status": "New",
        "time": when,
        "message": f"{primary['title']}: {operation or 'event'}{by}",
        "count": r["records"],
        "metadata": {
            "version": OCSF_VERSION,
            "profiles": list(PROFILES),
            "product": {"name": "trailhound", "vendor_name": "trailhound",
                        "version": __version__},
        },
        "finding_info": info,
        "cloud": _cloud(r),
        "unmapped": {"trailhound": {
            "suspicion_score": r["suspicion_score"],
            "signals": signals,
            "correlations": r["correlations"],
            "event_uid": r["eventID"],
            "outcome": r["outcome"],
            "origin": r["origin"],
        }},
    }
    guides = [s["guide"] for s in signals if s.get("guide")]
    if guides:  # the rules' response playbooks, as the table and JSONL name them
        out["remediation"] = {"desc": "Response playbooks: " + "; ".join(guides)}
    evidence = _evidence(r, api)
    if evidence:  # OCSF wants at least one attribute in an evidence (a bare row may have none)
        out["evidences"] = [evidence]
    if r["time"]:
        out["time_dt"] = r["time"]
    if api is not None:
        out["api"] = api
    return out


def ocsf_finding(r: Row) -> Row:
    """`detection_finding` of a finding row; a row of another view (principals, a hunt) is a
    usage error, raised before anything is written for the first row."""
    if not _FINDING_KEYS <= r.keys():
        raise UsageError(
            "--format ocsf writes findings (OCSF Detection Findings) and this command's rows are "
            "not findings; use --format jsonl here, or `trailhound detect --format ocsf`"
        )
    return detection_finding(r)


class OcsfWriter:
    """The `ocsf` writer. `wants_raw`: it needs the original record in each row (the evidence),
    which the CLI adds only for writers that ask (report/writers.wants_raw)."""

    wants_raw = True

    def __call__(self, rows: Iterable[Row], out: TextIO) -> None:
        # imported here: writers.py imports this module to register the writer
        from trailhound.report.writers import write_jsonl

        write_jsonl(map(ocsf_finding, rows), out)


write_ocsf = OcsfWriter()
