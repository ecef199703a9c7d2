"""`trailhound export --to sumo`. For `--profile seed` the export is the catalog page's query
(read from ../shared/seed at test time) with only its two non-Sumo operators repaired, following
Sumo's documentation: `| eval X = E` becomes `| E as X` (Sumo assigns with `as`; it has no eval)
and `| table ...` becomes `| fields ...`. Every other line must be the page's, byte for byte.

Not here yet: running the export through trailhound's own Sumo runner (trailhound/sumo/, another
engineer's work, not on main when this was written)."""

from __future__ import annotations

import re

from tests.conftest import SHARED, require
from trailhound.export import TARGETS
from trailhound.export.build import ruleset_for
from trailhound.export.pack import build


def page_query() -> list[str]:
    pages = sorted((SHARED / "seed").glob("*.txt"))
    require(pages, f"the seed page is not in {SHARED / 'seed'} (../shared is absent)")
    lines = pages[0].read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("(_sourceCategory="))
    end = next(i for i in range(start, len(lines)) if not lines[i].startswith("|") and i > start)
    return lines[start:end]


def repaired(line: str) -> str:
    """The two repairs, written from Sumo's operator reference (not from the exporter)."""
    m = re.fullmatch(r"\| eval (\w+) = (.+)", line)
    if m:
        return f"| {m.group(2)} as {m.group(1)}"
    m = re.fullmatch(r"\| table (.+)", line)
    if m:
        return f"| fields {m.group(1)}"
    return line


def test_seed_export_is_the_page_query_repaired() -> None:
    page = page_query()
    ruleset, _ = ruleset_for("seed", [], [], None)
    exported = TARGETS.get("sumo").render(build(ruleset, "seed")).splitlines()
    assert exported == [repaired(line) for line in page]
    changed = [p for p, e in zip(page, exported, strict=True) if p != e]
    assert len(changed) == 6  # five eval lines and the table line, nothing else
    assert all(p.startswith(("| eval ", "| table ")) for p in changed)
    assert not any(" eval " in e or e.startswith("| table") for e in exported)
