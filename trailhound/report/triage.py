"""Tables, JSONL and CSV for the triage views: principal risk and one principal's timeline.
The rows come from triage/principals.py and triage/timeline.py; JSONL and CSV keep every value
whole, the table shortens (report/layout.py)."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterable
from typing import Any, TextIO

from trailhound.report.escape import for_terminal
from trailhound.report.layout import Layout, Slot, output_width, write_table
from trailhound.report.names import short_principal, short_time
from trailhound.report.rows import view_writer
from trailhound.report.writers import score_style, signals_text
from trailhound.triage.principals import (
    PRINCIPAL_COLUMNS,
    RISK_24H_THRESHOLD,
    RULES_FOR_TACTICS,
    TACTICS_THRESHOLD,
)
from trailhound.triage.timeline import TIMELINE_COLUMNS
from trailhound.wording import NO_PRINCIPAL

Row = dict[str, Any]
TableWriter = Callable[[Iterable[Row], TextIO], None]

_S = Slot


def _joined(values: Iterable[Any]) -> str:
    return ", ".join(str(v) for v in values)


def _escaped(cells: dict[str, Any]) -> dict[str, str]:
    return {k: for_terminal(v if v is not None else "") for k, v in cells.items()}


# -- principals --------------------------------------------------------------------------------

PRINCIPAL_LAYOUTS = (
    Layout(0, (
        (_S("rank", "#", 3), _S("risk_24h", "risk", 5), _S("score", "score", 7),
         _S("findings", "findings", 8), _S("principal", "principal")),
        (_S("", "", 3), _S("risky", "risky", 5), _S("first_seen", "first seen (UTC)", 19),
         _S("last_seen", "last seen", 19), _S("accounts", "accounts")),
        (_S("", "", 3), _S("rules", "rules", 5), _S("tactics", "tactics")),
        (_S("", "", 3), _S("", "", 5), _S("source_ips", "source IPs", 35),
         _S("user_agents", "user agents")),
    )),
    Layout(120, (
        (_S("rank", "#", 3), _S("risk_24h", "risk", 5), _S("score", "score", 7),
         _S("findings", "findings", 8), _S("risky", "risky", 5),
         _S("first_seen", "first seen (UTC)", 19), _S("last_seen", "last seen", 19),
         _S("principal", "principal")),
        (_S("", "", 3), _S("rules", "rules", 5), _S("tactics", "tactics")),
        (_S("", "", 3), _S("", "", 5), _S("accounts", "accounts", 19),
         _S("source_ips", "source IPs", 32), _S("user_agents", "user agents")),
    )),
)

RISKY_RULE = (
    f"risky: >= {TACTICS_THRESHOLD} ATT&CK tactics from >= {RULES_FOR_TACTICS} rules, or a "
    f"distinct-rule score >= {RISK_24H_THRESHOLD} within 24 h (risk = that score)"
)


def principal_cells(r: Row) -> dict[str, str]:
    accounts = r["accounts"]
    return _escaped({
        "rank": r["rank"],
        "risk_24h": r["risk_24h"],
        "score": r["score"],
        "findings": r["findings"],
        # one account: shown beside it, so the ARN can drop it
        "principal": short_principal(r["principal"], accounts[0] if len(accounts) == 1 else None)
        if r["principal"] is not None else NO_PRINCIPAL,
        "risky": "yes" if r["risky"] else "",
        "first_seen": short_time(r["first_seen"]),
        "last_seen": short_time(r["last_seen"]),
        "accounts": _joined(accounts),
        "rules": r["rules"],
        "tactics": _joined(r["tactics"]),
        "source_ips": _joined(r["source_ips"]),
        "user_agents": _joined(r["user_agents"]),
    })


def write_principal_table(rows: Iterable[Row], out: TextIO) -> None:
    drawn = list(rows)  # one row per principal: few, and the rule below needs to know
    records = ((principal_cells(r), "bold red" if r["risky"] else None) for r in drawn)
    write_table(records, PRINCIPAL_LAYOUTS, out, "no findings, no principals")
    if drawn:
        out.write(textwrap.fill(RISKY_RULE, output_width(out)) + "\n")


# -- timeline ----------------------------------------------------------------------------------

TIMELINE_LAYOUTS = (
    Layout(0, (
        (_S("time", "time (UTC)", 19), _S("score", "score", 5), _S("operation", "operation", 30),
         _S("sourceIP", "source IP")),
        (_S("", "", 4), _S("result", "result", 20), _S("userAgent", "user agent")),
        (_S("", "", 4), _S("signals", "signals")),
    )),
    Layout(120, (
        (_S("time", "time (UTC)", 19), _S("score", "score", 5), _S("operation", "operation", 36),
         _S("service", "service", 22), _S("sourceIP", "source IP", 15), _S("result", "result")),
        (_S("", "", 19), _S("", "", 5), _S("signals", "signals", 60), _S("userAgent", "user agent")),
    )),
)


def timeline_cells(r: Row) -> dict[str, str]:
    score = "" if r["suspicion_score"] is None else str(r["suspicion_score"])
    return _escaped({
        "time": short_time(r["time"]),
        # the event asked for with --around is pointed at
        "score": f"> {score}" if r["around"] else score,
        "operation": r["operation"],
        "service": r["service"],
        "sourceIP": r["sourceIP"],
        "result": r["errorCode"] or r["outcome"],
        "userAgent": r["userAgent"],
        "signals": signals_text(r["signals"]),
    })


def write_timeline_table(rows: Iterable[Row], out: TextIO) -> None:
    records = (
        (timeline_cells(r), score_style(r["suspicion_score"]) if r["suspicion_score"] is not None else None)
        for r in rows
    )
    write_table(records, TIMELINE_LAYOUTS, out, "no events")


def principal_writer(fmt: str) -> TableWriter:
    return view_writer(fmt, PRINCIPAL_COLUMNS, write_principal_table)


def timeline_writer(fmt: str) -> TableWriter:
    return view_writer(fmt, TIMELINE_COLUMNS, write_timeline_table)
