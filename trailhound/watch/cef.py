"""The syslog/CEF sink (`watch --syslog HOST:PORT`).

Why CEF over syslog: it is the one alert format every SIEM a SOC runs ingests without a custom
parser (ArcSight, QRadar, Microsoft Sentinel's CEF connector, Splunk, Elastic, Graylog), over a
transport they all listen on. Sent over TCP with RFC 6587 octet counting (a length before each
message: an alert with a newline in it cannot split in two), RFC 5424 header, facility local4.

Delivery: from the outbox after the commit, from a cursor in the state advanced once the
messages are written to the socket: at least once (a kill between the write and the cursor
repeats that cycle's alerts; cs1 is the alert id to drop repeats by); a target that is down
leaves them for the next cycle (nothing lost).

Every value is attacker-influenced text (names, ARNs, IPs from the logs): escaped for CEF
(header: backslash and pipe; extension: backslash, equals sign, CR and LF), and the header's
fields are additionally stripped of other control characters.
"""

from __future__ import annotations

import itertools
import re
import socket
from collections.abc import Callable
from typing import Any

import orjson

from trailhound import __version__
from trailhound.digits import is_digits
from trailhound.errors import UsageError
from trailhound.normalize.times import TimeParseError, parse_time
from trailhound.watch.state import State

_SEVERITY = {"informational": 1, "low": 3, "medium": 5, "high": 8, "critical": 10}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
PRI = 20 * 8 + 4  # facility local4, severity warning
TIMEOUT_S = 10.0
PAGE = 500


def header_field(value: object) -> str:
    text = _CONTROL.sub(" ", "" if value is None else str(value))
    return text.replace("\\", "\\\\").replace("|", "\\|")


def ext_value(value: object) -> str:
    text = "" if value is None else str(value)
    text = text.replace("\\", "\\\\").replace("=", "\\=")
    text = text.replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\r")
    return _CONTROL.sub(" ", text)


def cef(alert: dict[str, Any]) -> str:
    """One alert (an outbox row: alert_id, rule_id, the finding's columns) as a CEF message."""
    rule: dict[str, Any] = next(
        (s for s in alert.get("signals", ()) if s.get("rule_id") == alert["rule_id"]), {}
    )
    ms = None
    if alert.get("time"):  # written by report/columns (output_time): parses, but be safe
        try:
            ms = parse_time(str(alert["time"]))[1] // 1_000_000
        except (TimeParseError, ValueError, TypeError):
            ms = None
    ext = {
        "rt": ms,
        "act": alert.get("eventName") or alert.get("operationName"),
        "suser": alert.get("userArn"),
        "externalId": alert.get("eventID"),
        "cs1Label": "alertId", "cs1": alert.get("alert_id"),
        "cs2Label": "account", "cs2": alert.get("account"),
        "cs3Label": "sourceIP", "cs3": alert.get("sourceIP"),
        "cs4Label": "origin", "cs4": alert.get("origin"),
        "cn1Label": "score", "cn1": alert.get("suspicion_score"),
        "cat": alert.get("provider"),
    }
    body = " ".join(f"{k}={ext_value(v)}" for k, v in ext.items() if v is not None)
    head = [
        "CEF:0", "trailhound", "trailhound", __version__, alert["rule_id"],
        rule.get("title") or alert["rule_id"], _SEVERITY.get(rule.get("level") or "", 5),
    ]
    return "|".join(header_field(h) for h in head) + "|" + body


def frame(message: str, seq: int) -> bytes:
    """RFC 5424 header + octet counting (RFC 6587 3.4.1)."""
    host = header_field(socket.gethostname()).replace(" ", "_") or "-"
    msg = f"<{PRI}>1 - {host} trailhound - {seq} - {message}".encode()
    return b"%d %s" % (len(msg), msg)


def parse_target(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not is_digits(port) or not 0 < int(port) < 65536:
        raise UsageError(f"--syslog {text!r}: write HOST:PORT (TCP), e.g. siem.example:6514")
    return host.strip("[]"), int(port)


class Syslog:
    def __init__(self, target: str, state: State, warn: Callable[[str], None]) -> None:
        self.host, self.port = parse_target(target)
        self.state, self.warn = state, warn
        self.key = f"cursor:syslog:{self.host}:{self.port}"

    def flush(self) -> int:
        """Send every alert after the cursor, a page at a time (the cursor advances per page:
        memory stays flat on a backlog); how many were sent."""
        sent = 0
        try:
            conn: socket.socket | None = None
            while page := list(itertools.islice(self.state.alerts_after(self._cursor()), PAGE)):
                if conn is None:
                    conn = socket.create_connection((self.host, self.port), timeout=TIMEOUT_S)
                conn.sendall(b"".join(frame(cef(orjson.loads(b)), seq) for seq, b in page))
                self.state.set_meta(self.key, str(page[-1][0]))
                sent += len(page)
        except OSError as exc:
            self.warn(
                f"trailhound: syslog {self.host}:{self.port}: {exc.strerror or exc}; "
                "unsent alerts kept pending for the next cycle"
            )
        finally:
            if conn is not None:
                conn.close()
        return sent

    def _cursor(self) -> int:
        return self.state.meta_int(self.key)
