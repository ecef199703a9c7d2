"""The webhook sink (`watch --webhook URL`): one JSON POST per alert, in seq order, from the
state's outbox (alerts.delivered = 0), so nothing is lost while the target is down.

Each POST carries the alert's id in an `Idempotency-Key` header. An alert is marked delivered
after a 2xx answer; a process killed between the answer and the mark sends it again with the
same key (at least once, exactly once for a receiver that drops a key it has seen). A failed
POST (refused, timeout, 408/429/5xx, or any other answer) is retried with exponential backoff
(BACKOFF_S, doubled each time, TRIES in all); then the cycle leaves it and every later alert
pending, in order, for the next cycle. stdlib urllib: one POST needs no more (and it keeps the
proxy variables a user's network may need).

Each attempt has a whole deadline (DEADLINE_S), not only urllib's per-read timeout: a target that
drips its answer a byte at a time, each byte inside TIMEOUT_S, would otherwise hold the watch's
cycle for as long as it likes. The response is read through a socket whose every read gets the
time left (_DeadlineSocket).
"""

from __future__ import annotations

import http.client
import io
import socket
import string
import time
import unicodedata
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable

from trailhound.errors import UsageError
from trailhound.watch.sinks import line
from trailhound.watch.state import USES_WEBHOOK, State
from trailhound.wording import count

TRIES = 4
BACKOFF_S = 0.5
TIMEOUT_S = 10.0  # connect, and each read
DEADLINE_S = 30.0  # a whole attempt: connect, send, the answer's status line and headers
PAGE = 100


class _DeadlineReader(io.RawIOBase):
    """The answer's byte stream, each read given the attempt's time left."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self.sock, self.deadline = sock, deadline

    def readable(self) -> bool:
        return True

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"no whole answer within {DEADLINE_S:g} s")
        self.sock.settimeout(min(left, TIMEOUT_S))
        try:
            return self.sock.recv_into(b)
        except TimeoutError:
            if time.monotonic() >= self.deadline:  # the read ran into the deadline: say which
                raise TimeoutError(f"no whole answer within {DEADLINE_S:g} s") from None
            raise


class _DeadlineSocket:
    """The connection's socket (plain or TLS); `makefile` (how http.client reads the answer)
    gives a reader bound by the deadline; everything else is the socket's own."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self._sock, self._deadline = sock, deadline

    def makefile(self, mode: str = "rb", *args: object, **kwargs: object) -> io.BufferedReader:
        return io.BufferedReader(_DeadlineReader(self._sock, self._deadline))

    def __getattr__(self, name: str) -> object:
        return getattr(self._sock, name)


class _HTTPConnection(http.client.HTTPConnection):
    def connect(self) -> None:
        deadline = time.monotonic() + DEADLINE_S
        super().connect()  # for _HTTPSConnection: HTTPSConnection's, which wraps it in TLS
        self.sock = _DeadlineSocket(self.sock, deadline)


class _HTTPSConnection(_HTTPConnection, http.client.HTTPSConnection):
    """TLS (HTTPSConnection.connect, next in the order) with _HTTPConnection's deadline."""


class _HTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_HTTPConnection, req)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        # no context given: http.client's default one (certificates and host name checked), as
        # urllib's own handler built without arguments
        return self.do_open(_HTTPSConnection, req)


_OPENER = urllib.request.build_opener(_HTTPHandler, _HTTPSHandler)


def check_url(url: str) -> str:
    """The URL as given (in ASCII: _ascii_form), if it is http(s) with a host (urllib would
    also open file://) that urllib and the resolver take: an unclosed IPv6 bracket, a port past
    65535, a control character or space, a host name IDNA cannot encode raised at the first
    POST (a traceback), after the scan."""
    what = "give an http:// or https:// URL with a host"
    if any(c.isspace() or unicodedata.category(c).startswith("C") for c in url):
        raise UsageError(f"--webhook {url!r}: a URL holds no space or control character; {what}")
    try:
        parts = urllib.parse.urlsplit(url)
        _ = parts.port  # (ValueError past 65535)
        if parts.hostname:
            parts.hostname.encode("idna")  # (UnicodeError, a ValueError: a label too long)
    except ValueError as exc:
        raise UsageError(f"--webhook {url!r}: {exc}; {what}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"--webhook {url!r}: {what}")
    return url if url.isascii() else _ascii_form(parts)


# Every ASCII character a URL may hold as it is (controls and spaces are refused before): quote()
# then escapes only what is not ASCII, and keeps the %XX escapes already there
_KEPT = string.punctuation


def _ascii_form(parts: urllib.parse.SplitResult) -> str:
    """The URL in ASCII: its host in IDNA (punycode), the rest percent-encoded as UTF-8. Why:
    http.client writes the Host header as Latin-1 and the request line as ASCII, so an
    internationalized host (`http://пример.рф/`) or a path or query with an accent raised
    UnicodeEncodeError at the first POST, after the scan."""
    host = parts.hostname or ""
    host = host.encode("idna").decode("ascii")
    if ":" in host:  # an IPv6 literal (check_url: ASCII, or the resolver refuses it)
        host = f"[{host}]"
    user, at, _ = parts.netloc.rpartition("@")
    port = f":{parts.port}" if parts.port is not None else ""
    netloc = f"{urllib.parse.quote(user, safe=_KEPT)}{at}{host}{port}"
    return urllib.parse.urlunsplit((
        parts.scheme, netloc, *(urllib.parse.quote(x, safe=_KEPT)
                                for x in (parts.path, parts.query, parts.fragment)),
    ))


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
                        f"trailhound: webhook {shown(self.url)}: {reason}; "
                        f"{f'{left}+ alerts' if left == PAGE else count(left, 'alert')} kept "
                        "pending for the next cycle"
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
                with _OPENER.open(req, timeout=TIMEOUT_S) as resp:
                    if 200 <= resp.status < 300:
                        return None
                    reason = f"HTTP {resp.status}"
            except urllib.error.HTTPError as exc:
                reason = f"HTTP {exc.code}"
            except (urllib.error.URLError, OSError) as exc:
                reason = str(getattr(exc, "reason", exc))
        return reason
