"""What the summaries and labels say: one of a thing is singular (`1 file`, not `1 files`), and
a finding no principal is named on has one label, the same in the table and the HTML page."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.hostile_inputs import run, stop_logging
from tests.report_html_support import Opened, browser, report  # noqa: F401  (fixture)


def _trail(path: Path, *records: dict[str, Any]) -> Path:
    path.write_text(json.dumps({"Records": list(records)}), encoding="utf-8")
    return path


def test_one_of_a_thing_is_singular(tmp_path: Path) -> None:
    one = _trail(tmp_path / "one.json", stop_logging(1))
    p = run("detect", "--profile", "seed", one)
    assert p.returncode == 0, p.stderr
    assert p.stderr.splitlines()[0] == "trailhound: 1 file, 1 record, 1 event, 1 finding (profile seed)"
    two = _trail(tmp_path / "two.json", stop_logging(2), stop_logging(3))
    p = run("detect", "--profile", "seed", one, two)
    assert p.stderr.splitlines()[0] == "trailhound: 2 files, 3 records, 3 events, 3 findings (profile seed)"
    (tmp_path / "bad.json").write_text("{not json", encoding="utf-8")
    p = run("detect", "--profile", "seed", one, tmp_path / "bad.json")
    assert p.returncode == 3
    assert "  1 input error (bad_json 1):" in p.stderr.splitlines()
    p = run("principals", "--profile", "seed", one)
    assert "  1 principal, 0 risky" in p.stderr.splitlines()


def _nameless(tmp_path: Path) -> Path:
    record = stop_logging(4)
    del record["userIdentity"]  # nothing names who called
    return _trail(tmp_path / "nameless.json", record)


def test_the_page_names_a_missing_principal_as_the_table_does(tmp_path: Path, browser: Any) -> None:  # noqa: F811
    trail = _nameless(tmp_path)
    table = run("principals", "--profile", "seed", trail)
    assert table.returncode == 0, table.stderr
    # the principal column of the table's first row (its last cell): the label it shows
    (first,) = [line for line in table.stdout.splitlines() if line.startswith("1 ")]
    label = first.split("  ")[-1].strip()
    assert label.startswith("(") and label.endswith(")")
    out = tmp_path / "r.html"
    assert report(out, "--profile", "seed", str(trail)).returncode == 0
    page = Opened(browser, out)
    names = page.page.locator(".principal .name").all_inner_texts()
    page.assert_clean()
    assert names == [label]
