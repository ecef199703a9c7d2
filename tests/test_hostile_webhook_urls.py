"""A --webhook URL that is not ASCII: an internationalized host, a path or query with an accent.
http.client writes the Host header as Latin-1 and the request line as ASCII, so each raised
UnicodeEncodeError at the first POST, after the scan (a traceback). check_url now gives the URL
in ASCII - the host in IDNA, the rest percent-encoded as UTF-8 (RFC 3986 / 3987) - which a
server on 127.0.0.1 must receive.

Oracles: the request line and Host header the server got, RFC 3492's punycode of a known name.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.hostile_inputs import run
from tests.test_watch_webhook import _free_port
from tests.watch_fixtures import Planted, drop_batch
from trailhound.watch.webhook import check_url


class _Seen(ThreadingHTTPServer):
    def __init__(self, port: int) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.seen: list[tuple[str, str | None]] = []  # (request target, Host header)


class _Handler(BaseHTTPRequestHandler):
    server: _Seen

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.server.seen.append((self.path, self.headers["Host"]))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_a_url_with_a_non_ascii_host_and_path_is_posted_to(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    drop_batch(logs, 0, Planted())
    port = _free_port()
    # fullwidth digits (not Latin-1): IDNA's nameprep folds them to 127.0.0.1
    url = f"http://\uff11\uff12\uff17.\uff10.\uff10.\uff11:{port}/caf\u00e9?who=z\u00fcrich"
    srv = _Seen(port)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        p = run("watch", "--state", tmp_path / "s.db", "--output", tmp_path / "o.jsonl",
                "--cycles", "1", "--engine", "reference", "-q", "--webhook", url, logs)
    finally:
        srv.shutdown()
        srv.server_close()
    assert p.returncode == 0 and "Traceback" not in p.stderr, p.stderr
    alerts = (tmp_path / "o.jsonl").read_text(encoding="utf-8").splitlines()
    assert alerts and len(srv.seen) == len(alerts)
    assert set(srv.seen) == {("/caf%C3%A9?who=z%C3%BCrich", f"127.0.0.1:{port}")}


def test_an_internationalized_host_is_sent_as_punycode() -> None:
    # RFC 3492 / IANA's IDN test names: пример.рф is xn--e1afmkfd.xn--p1ai
    assert check_url("https://\u043f\u0440\u0438\u043c\u0435\u0440.\u0440\u0444/h") == (
        "https://xn--e1afmkfd.xn--p1ai/h"
    )
    # what is ASCII already is kept as given (escapes, user, port, IPv6 brackets)
    for url in ("http://u:p@[::1]:8080/a%20b?x=%C3%A9", "https://Example.com/X"):
        assert check_url(url) == url
