"""The syslog/CEF sink: messages parsed back with a CEF reader written from the spec (ArcSight
CEF rev 25: header fields split on unescaped `|`, extension keys before unescaped `=`), hostile
values surviving the round trip, and a TCP receiver that is down, then up."""

from __future__ import annotations

import json
import re
import socket
import threading
from pathlib import Path
from typing import Any

import pytest

from tests.test_watch_webhook import _free_port, _watch
from tests.watch_fixtures import Planted, drop_batch
from trailhound.watch.cef import cef

HOSTILE = "arn:aws:iam::1:user/x|y=z\\w\nCEF:0|forged|\r\x1b[31m"


def parse_cef(msg: str) -> tuple[list[str], dict[str, str]]:
    """A CEF message -> (7 header fields, extension), undoing the spec's escapes."""
    assert msg.startswith("CEF:0|")
    fields, cur, i = [], "", 0
    while len(fields) < 7:
        c = msg[i]
        if c == "\\" and msg[i + 1] in "\\|":
            cur, i = cur + msg[i + 1], i + 2
            continue
        if c == "|":
            fields.append(cur)
            cur = ""
        else:
            cur += c
        i += 1
    ext_text = msg[i:]
    # keys: a word before an unescaped '='; values run to the next such key
    keys = list(re.finditer(r"(?:^|(?<= ))([A-Za-z0-9]+)=(?<!\\=)", ext_text))
    ext = {}
    for n, m in enumerate(keys):
        end = keys[n + 1].start() - 1 if n + 1 < len(keys) else len(ext_text)
        raw = ext_text[m.end():end]
        ext[m.group(1)] = re.sub(r"\\(.)", lambda e: {"n": "\n", "r": "\r"}.get(e.group(1), e.group(1)), raw)
    return fields, ext


def _alert(**over: Any) -> dict[str, Any]:
    a = {
        "alert_id": "abc", "rule_id": "r-1", "time": "2026-03-14T10:04:16.000Z",
        "eventName": "StopLogging", "userArn": HOSTILE, "eventID": "e|1", "account": "1",
        "sourceIP": "203.0.113.77", "origin": "f.json", "suspicion_score": 3, "provider": "aws",
        "signals": [{"rule_id": "r-1", "title": "Trail | stopped\n", "level": "high"}],
    }
    a.update(over)
    return a


def test_cef_escapes_attacker_text_and_round_trips() -> None:
    msg = cef(_alert())
    assert "\n" not in msg and "\r" not in msg and "\x1b" not in msg
    fields, ext = parse_cef(msg)
    assert fields[4:] == ["r-1", "Trail | stopped ", "8"]  # control chars -> space in the header
    assert ext["suser"] == HOSTILE.replace("\x1b", " ")  # CR/LF kept (escaped), ESC blanked
    assert ext["externalId"] == "e|1" and ext["cs1"] == "abc"
    assert ext["rt"] == "1773482656000"  # 2026-03-14T10:04:16Z in epoch ms


class Collector:
    def __init__(self, port: int) -> None:
        self.sock = socket.create_server(("127.0.0.1", port))
        self.data = bytearray()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                while chunk := conn.recv(65536):
                    self.data += chunk

    def messages(self) -> list[str]:
        out, buf = [], bytes(self.data)
        while buf:  # RFC 6587 octet counting: "LEN SP MSG"
            n, _, rest = buf.partition(b" ")
            out.append(rest[: int(n)].decode())
            buf = rest[int(n):]
        return out


def test_syslog_down_then_up_receives_every_alert(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    logs, out = tmp_path / "logs", tmp_path / "out.jsonl"
    port = _free_port()
    argv = ["watch", "--state", str(tmp_path / "s.db"), "--output", str(out), "--cycles", "1",
            "--engine", "reference", "-q", "--syslog", f"127.0.0.1:{port}", str(logs)]
    planted = Planted()
    drop_batch(logs, 0, planted)
    drop_batch(logs, 1, planted)
    assert _watch(argv) == 0
    assert "kept pending" in capsys.readouterr().err
    collector = Collector(port)
    drop_batch(logs, 2, planted)
    assert _watch(argv) == 0
    assert _watch(argv) == 0  # nothing new: nothing sent again
    collector.sock.close()
    written = [json.loads(x) for x in out.read_text().splitlines()]
    msgs = collector.messages()
    assert len(msgs) == len(written) > 3
    for m, a in zip(msgs, written, strict=True):
        assert m.startswith("<164>1 - ") and f" trailhound - {a['seq']} - CEF:0|" in m
        fields, ext = parse_cef(m[m.index("CEF:0|"):])
        assert (fields[4], ext["cs1"], ext["externalId"]) == (a["rule_id"], a["alert_id"], a["eventID"])
