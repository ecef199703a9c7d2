"""The page: one HTML file holding its data as JSON blocks, its script and its stylesheet,
under a Content-Security-Policy that allows exactly those (by hash) and data: images, so that
nothing in it can load or run anything else, even if a log field got past the escaping.

Log fields are attacker-controlled. They reach the page only inside
`<script type="application/json">` blocks (never executed), with `<`, `>`, `&` and U+2028/9
written as JSON escapes so no text can close the block or open a tag; app.js puts them on the
page with textContent and DOM calls only, never innerHTML."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Iterator
from importlib import resources
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from trailhound.atomic import replaced

RAW_CHUNK = 500  # raw records per JSON block: the page parses one block when one is asked for

_UNSAFE_IN_SCRIPT = (
    (b"<", b"\\u003c"),
    (b">", b"\\u003e"),
    (b"&", b"\\u0026"),
    ("\u2028".encode(), b"\\u2028"),
    ("\u2029".encode(), b"\\u2029"),
)


def script_safe(json_bytes: bytes) -> bytes:
    """JSON text that can sit inside a <script> element: the characters above only occur inside
    JSON strings, where their \\u escapes mean the same."""
    for raw, escaped in _UNSAFE_IN_SCRIPT:
        json_bytes = json_bytes.replace(raw, escaped)
    return json_bytes


def _asset(name: str) -> str:
    return (resources.files("trailhound.report.html") / name).read_text(encoding="utf-8")


def _sha256(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode("ascii")


def csp(script: str, style: str) -> str:
    """The page's policy: nothing by default; only our script and stylesheet (by hash), data:
    images (the plots); no base URL, no form target."""
    return (
        f"default-src 'none'; script-src '{_sha256(script)}'; style-src '{_sha256(style)}'; "
        "img-src data:; base-uri 'none'; form-action 'none'"
    )


def _lines(path: Path) -> Iterator[bytes]:
    with path.open("rb") as f:
        for line in f:
            yield line.rstrip(b"\n")


def _write_array(out: BinaryIO, items: Iterable[bytes]) -> None:
    out.write(b"[")
    for i, item in enumerate(items):
        if i:
            out.write(b",")
        out.write(script_safe(item))
    out.write(b"]")


def write_report(path: str, head: dict[str, Any], findings: Path, raw: Path, count: int) -> None:
    """Write the page to `path` (through a temporary file beside it, renamed when complete: a
    failed run leaves no half page). `head`: every JSON-able part but the findings (meta,
    summary, principals, rules); `findings` / `raw`: the spooled lines (collect.py)."""
    script, style = _asset("app.js"), _asset("app.css")
    title = "trailhound report"
    with replaced(path) as out:
        out.write(
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
            f"<meta http-equiv=\"Content-Security-Policy\" content=\"{csp(script, style)}\">\n"
            "<meta name=\"referrer\" content=\"no-referrer\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>{title}</title>\n<style>{style}</style>\n</head>\n"
            "<body><noscript>This report needs JavaScript to show its data.</noscript>\n"
            "<div id=\"app\"></div>\n".encode()
        )
        doc = orjson.dumps(head)
        out.write(b'<script type="application/json" id="data">')
        out.write(script_safe(doc[:-1]))  # the head's object, left open for the findings
        out.write(b',"findings":')
        _write_array(out, _lines(findings))
        out.write(b"}</script>\n")
        lines = _lines(raw)
        for chunk in range((count + RAW_CHUNK - 1) // RAW_CHUNK):
            out.write(f'<script type="application/json" id="raw-{chunk}">'.encode())
            _write_array(out, (next(lines) for _ in range(min(RAW_CHUNK, count - chunk * RAW_CHUNK))))
            out.write(b"</script>\n")
        out.write(f"<script>{script}</script>\n</body></html>\n".encode())
