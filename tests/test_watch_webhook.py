"""The webhook sink against a real HTTP server on 127.0.0.1 that is down for part of the run:
every alert arrives exactly once after it recovers, in order, with its idempotency key."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.watch_fixtures import Planted, drop_batch
from trailhound.cli.app import main
from trailhound.watch import webhook


class Receiver(ThreadingHTTPServer):
    allow_reuse_address = True

    def __init__(self, port: int, fail_first: int) -> None:
        super().__init__(("127.0.0.1", port), Handler)
        self.fail_first = fail_first  # answer 503 to the first N requests (a flapping target)
        self.got: list[tuple[str, dict[str, object]]] = []  # (Idempotency-Key, body)
        self.requests = 0
        self.lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with self.server.lock:
            self.server.requests += 1
            failing = self.server.requests <= self.server.fail_first
            if not failing:
                self.server.got.append((self.headers["Idempotency-Key"], json.loads(body)))
        self.send_response(503 if failing else 200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def receiver(port: int, fail_first: int) -> Iterator[Receiver]:
    srv = Receiver(port, fail_first)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()


def _watch(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as e:
        main(argv)
    return int(e.value.code or 0)


def test_webhook_down_then_up_gets_every_alert_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(webhook, "BACKOFF_S", 0.01)
    logs, db, out = tmp_path / "logs", tmp_path / "s.db", tmp_path / "out.jsonl"
    port = _free_port()
    argv = ["watch", "--state", str(db), "--output", str(out), "--cycles", "1", "--engine",
            "reference", "-q", "--webhook", f"http://127.0.0.1:{port}/hook?token=s3cret",
            str(logs)]
    planted = Planted()
    drop_batch(logs, 0, planted)
    drop_batch(logs, 1, planted)
    assert _watch(argv) == 0  # the target is down (nothing listens): alerts stay pending
    err = capsys.readouterr().err
    assert "alerts kept pending" in err and "s3cret" not in err
    drop_batch(logs, 2, planted)
    with receiver(port, fail_first=2) as srv:
        assert _watch(argv) == 0  # back (after two 503s: retried with backoff)
        assert _watch(argv) == 0  # nothing new: nothing sent again
    written = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(written) > 3
    keys = [k for k, _ in srv.got]
    assert keys == [a["alert_id"] for a in written]  # each once, in order
    assert [b for _, b in srv.got] == written  # the body is the output line
    assert srv.requests == len(written) + 2


def test_webhook_refuses_non_http_url(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = _watch(["watch", "--state", str(tmp_path / "s.db"), "--webhook", "file:///etc/passwd",
                   str(tmp_path)])
    assert code == 2 and "http:// or https://" in capsys.readouterr().err
    assert not (tmp_path / "s.db").exists()


def test_a_dripping_target_cannot_hold_a_cycle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A target that answers one byte at a time, each well inside the per-read timeout, forever:
    every attempt ends at its deadline and the alerts stay pending (without the deadline the
    cycle never ends; the thread join below is only a guard so the test fails, not hangs)."""
    monkeypatch.setattr(webhook, "BACKOFF_S", 0.01)
    monkeypatch.setattr(webhook, "TRIES", 2)
    monkeypatch.setattr(webhook, "TIMEOUT_S", 2.0)
    monkeypatch.setattr(webhook, "DEADLINE_S", 1.0)
    stop = threading.Event()
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    srv.settimeout(0.2)
    port = srv.getsockname()[1]
    attempts: list[int] = []

    def drip() -> None:
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except TimeoutError:
                continue
            attempts.append(1)
            with conn:
                conn.recv(65536)
                for b in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 100_000:
                    if stop.is_set():
                        break
                    try:
                        conn.sendall(bytes([b]))
                    except OSError:
                        break
                    stop.wait(0.05)

    t = threading.Thread(target=drip, daemon=True)
    t.start()
    logs, db, out = tmp_path / "logs", tmp_path / "s.db", tmp_path / "out.jsonl"
    planted = Planted()
    drop_batch(logs, 0, planted)
    argv = ["watch", "--state", str(db), "--output", str(out), "--cycles", "1", "--engine",
            "reference", "-q", "--webhook", f"http://127.0.0.1:{port}/hook", str(logs)]
    codes: list[int] = []
    runner = threading.Thread(target=lambda: codes.append(_watch(argv)), daemon=True)
    runner.start()
    runner.join(120)
    stop.set()
    assert not runner.is_alive(), "the dripping target held the watch cycle"
    srv.close()
    assert codes == [0]
    err = capsys.readouterr().err
    assert "1 alert kept pending" in err and "within 1 s" in err
    assert len(attempts) == 2  # TRIES attempts, each ended by its deadline


@pytest.mark.parametrize("url", [
    "http://[::1",  # unclosed IPv6 bracket
    "http://host:99999/",  # port past 65535
    "http://a\nb/",  # control character in the host
    "http://127.0.0.1:1/\x1b[31m",  # ... in the path
    "http://hook example/",  # a space
    "http://" + "a" * 70_000 + "/",  # a host label IDNA cannot encode
], ids=["ipv6", "port", "host-newline", "path-escape", "space", "long-label"])
def test_a_url_urllib_would_choke_on_is_a_usage_error_before_reading(
    tmp_path: Path, url: str
) -> None:
    """Each of these raised inside urllib at the first POST: a traceback after the scan."""
    from tests.hostile_inputs import run

    logs = tmp_path / "logs"
    drop_batch(logs, 0, Planted())
    p = run("watch", "--state", tmp_path / "s.db", "--output", tmp_path / "o.jsonl",
            "--cycles", "1", "--engine", "reference", "-q", "--webhook", url, logs)
    assert p.returncode == 2 and "Traceback" not in p.stderr, p.stderr
    assert "--webhook" in p.stderr and "give an http:// or https:// URL with a host" in p.stderr
    assert "\x1b" not in p.stderr and not (tmp_path / "o.jsonl").exists()  # nothing read
