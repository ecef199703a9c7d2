"""The webhook sink (`watch --webhook URL`): one JSON POST per alert, in seq order, from the
state's outbox (alerts.delivered = 0), so nothing is lost while the target is down.

Each POST carries the alert's id in an `Idempotency-Key` header. An alert is marked delivered
after a 2xx answer; a process killed between the answer and the mark sends it again with the
same key (at least once, exactly once for a receiver that drops a key it has seen). A failed
POST (refused, timeout, 408/429/5xx, or any other answer) is retried with exponential backoff
(BACKOFF_S, doubled each time, TRIES in all); then the cycle leaves it and every later alert
pending, in order, for the next cycle. stdlib urllib: one POST needs no more.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable

from trailhound.errors import UsageError
from trailhound.watch.sinks import line
from trailhound.watch.state import USES_WEBHOOK, State

TRIES = 4
BACKOFF_S = 0.5
TIMEOUT_S = 10.0
PAGE = 100


def check_url(url: str) -> str:
    """The URL as given, if it is http(s) with a host (urllib would also open file://)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"--webhook {url!r}: give an http:// or https:// URL with a host")
    return url


def shown(url: str) -> str:
    """The URL without what may be a secret (user, password, path token, query)."""
    parts = urllib.parse.urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}/..."


class Webhook:
    def __init__(self, url: str, state: State, warn: Callable[[str], None]) -> None:
        self.url = check_url(url)
        self.state = state
        self.warn = warn
        state.set_meta(USES_WEBHOOK, "1")  # retention keeps what it has not delivered

    def flush(self) -> int:
        """POST every undelivered alert, in order, until one fails; how many were delivered."""
        sent = 0
        while page := self.state.undelivered(PAGE):
            for seq, aid, body in page:
                reason = self._post(aid, line(seq, body).rstrip(b"\n"))
                if reason is not None:
                    left = len(self.state.undelivered(PAGE))
                    self.warn(
                        f"trailhound: webhook {shown(self.url)}: {reason}; {left}"
                        f"{'+' if left == PAGE else ''} alerts kept pending for the next cycle"
                    )
                    return sent
                self.state.mark_delivered(seq)
                sent += 1
        return sent

    def _post(self, key: str, body: bytes) -> str | None:
        """None when the target took it; else why not, after TRIES attempts."""
        delay, reason = BACKOFF_S, ""
        for attempt in range(TRIES):
            if attempt:
                time.sleep(delay)
                delay *= 2
            req = urllib.request.Request(
                self.url, data=body, method="POST",
                headers={"Content-Type": "application/json", "Idempotency-Key": key},
            )
            try:
                with urllib.request.urlopen(req, timeout=TIMEOUT_S) as resp:
                    if 200 <= resp.status < 300:
                        return None
                    reason = f"HTTP {resp.status}"
            except urllib.error.HTTPError as exc:
                reason = f"HTTP {exc.code}"
            except (urllib.error.URLError, OSError) as exc:
                reason = str(getattr(exc, "reason", exc))
        return reason
