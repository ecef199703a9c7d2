"""The HTML report (`trailhound report PATH... -o report.html`): one self-contained file a
responder can forward, that opens offline and loads nothing.

- collect.py: the findings of a scan, spooled to disk as compact rows and raw records, and the
  ranked principals (triage/principals.py) computed from the same rows in the same pass;
- events.py: the principals' events (one more pass of the reader loop) for their plots;
- plot.py: each principal's timeline as a server-side SVG image (data: URI);
- rules.py: per rule that fired, its guide (playbook) and the hunts the guide names;
- page.py: the page: JSON data blocks, the static app.js / app.css, and the
  Content-Security-Policy that pins them by hash.
"""

from __future__ import annotations

from trailhound.report.html.page import write_report

__all__ = ["write_report"]
