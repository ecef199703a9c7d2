"""Acceptance (#14 item 2): the seed page's Sumo query, run verbatim by `trailhound sumo` (its
`eval` / `table` accepted as documented aliases), gives the rows `detect --profile seed` gives,
over the external CloudTrail data and over the demo data.

The query is read from the page at test time (../shared/seed), never pasted here. Its columns
map 1:1 to the seed profile's literal columns (`_messageTime` is detect's `time`, in epoch ms).
The page sorts by score alone, so rows of equal score may come in any order: the scores must
come in the same sequence and each score's rows must be the same. The shipped repaired query
(rules/packs/seed/seed_query.sumo) sorts fully, as detect does, and must match row for row.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from datetime import datetime
from importlib import resources
from itertools import groupby
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SHARED, require
from tests.test_seed_oracle import cloudtrail_files
from trailhound.demo import dataset_path
from trailhound.pipeline import scan
from trailhound.profiles import get_profile
from trailhound.report.columns import SEED_COLUMNS, row
from trailhound.sumo import prepare, run_query

SEED_PAGES = SHARED / "seed"


def page_query() -> str:
    """The query block of the seed page: from its scope line to the last `|` line after it."""
    pages = sorted(SEED_PAGES.glob("*.txt"))
    require(pages, f"the seed page is not at {SEED_PAGES} (../shared is absent)")
    lines = pages[0].read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("(_sourceCategory="))
    end = start + 1
    while end < len(lines) and lines[end].startswith("|"):
        end += 1
    return "\n".join(lines[start:end])


def repaired_query() -> str:
    return (resources.files("trailhound.rules") / "packs" / "seed" / "seed_query.sumo").read_text()


def epoch_ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso).timestamp() * 1000)


def detect_rows(paths: list[str]) -> list[dict[str, Any]]:
    """`detect --profile seed`'s rows, cut to the query's columns, `time` as Sumo's epoch ms."""
    profile = get_profile("seed")
    result = scan(paths, profile, engine="reference")
    out = []
    for f in result.findings:
        r = row(f, profile)
        cut = {c: r[c] for c in SEED_COLUMNS}
        cut["_messageTime"] = epoch_ms(cut.pop("time"))
        out.append(cut)
    return out


def key(r: dict[str, Any]) -> str:
    return json.dumps(r, sort_keys=True)


def assert_same_by_score(got: list[dict[str, Any]], want: list[dict[str, Any]]) -> None:
    assert [g["suspicion_score"] for g in got] == [w["suspicion_score"] for w in want]
    for (score, g), (_, w) in zip(
        groupby(got, lambda r: r["suspicion_score"]), groupby(want, lambda r: r["suspicion_score"])
    ):
        assert Counter(map(key, g)) == Counter(map(key, w)), f"rows of score {score} differ"


def test_page_query_is_the_seed_query_with_spl_words() -> None:
    """The page is what the tests below run: SPL `eval`/`table` in it, our warnings name them."""
    q = page_query()
    plan = prepare(q, "page")
    assert q.count("\n| eval ") == 5 and q.count("\n| table ") == 1
    assert len(plan.warnings) == 6
    assert all("not Sumo (SPL)" in w for w in plan.warnings)
    # the page's columns are the seed profile's literal columns, 1:1
    assert plan.columns == ["_messageTime", *SEED_COLUMNS[1:]]


def test_page_query_equals_detect_seed_on_external_cloudtrail(external: Path) -> None:
    paths = [str(p) for p in cloudtrail_files(external)]
    want = detect_rows(paths)
    got = list(run_query(page_query(), paths, name="page"))
    assert len(want) > 50
    assert_same_by_score(got, want)
    # the repaired query sorts as detect does: equal row for row, in order
    assert list(run_query(repaired_query(), paths)) == want


def test_page_query_equals_detect_seed_on_demo() -> None:
    paths = [str(dataset_path())]
    want = detect_rows(paths)
    got = list(run_query(page_query(), paths, name="page"))
    assert len(want) > 20
    assert_same_by_score(got, want)
    assert list(run_query(repaired_query(), paths)) == want


def test_cli_runs_the_page_query_with_alias_warnings(tmp_path: Path) -> None:
    query = tmp_path / "page.sumo"
    query.write_text(page_query())
    demo = str(dataset_path())
    proc = subprocess.run(
        [sys.executable, "-m", "trailhound", "sumo", str(query), demo, "--format", "jsonl"],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    got = [json.loads(line) for line in proc.stdout.splitlines()]
    assert_same_by_score(got, detect_rows([demo]))
    warned = [line for line in proc.stderr.splitlines() if line.startswith("trailhound: warning:")]
    assert len(warned) == 6
    assert "page.sumo:11:3: `eval iam_change = ...` is not Sumo (SPL)" in warned[0]
    assert "`table` is not Sumo (SPL); ran as `fields`" in warned[-1]


@pytest.mark.parametrize("fmt", ["csv", "table"])
def test_cli_other_formats_carry_the_same_rows(tmp_path: Path, fmt: str) -> None:
    query = tmp_path / "q.sumo"
    query.write_text(repaired_query())
    proc = subprocess.run(
        [sys.executable, "-m", "trailhound", "sumo", str(query), str(dataset_path()), "--format",
         fmt, "--quiet"],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    if fmt == "csv":
        lines = proc.stdout.splitlines()
        assert lines[0].split(",") == ["_messageTime", *SEED_COLUMNS[1:]]
        assert len(lines) - 1 == len(detect_rows([str(dataset_path())]))
    else:
        assert "suspicion_score" in proc.stdout and "StopLogging" in proc.stdout


def test_page_query_equals_detect_seed_on_a_sumo_export(external: Path, tmp_path: Path) -> None:
    """Records exported from Sumo keep their `_sourceCategory`: the page's scope line and the
    seed profile both take `aws/cloudtrail` and leave `prod/aws/cloudtrail` out (defect 13), and
    both take `AWS/CloudTrail` (Sumo's scope line ignores case: "Keyword Search Expressions")."""
    export = tmp_path / "export.jsonl"
    lines = []
    for i, f in enumerate(cloudtrail_files(external)[:40]):
        doc = json.loads(f.read_text(encoding="utf-8"))
        records = doc["Records"] if isinstance(doc, dict) else doc
        cat = ("prod/aws/cloudtrail", "aws/cloudtrail", "AWS/CloudTrail")[i % 3]
        for r in records:
            when = epoch_ms(r["eventTime"])
            lines.append(json.dumps({"_messageTime": when, "_sourceCategory": cat,
                                     "_raw": json.dumps(r)}))
    export.write_text("\n".join(lines))
    want = detect_rows([str(export)])
    assert len(want) > 10
    assert_same_by_score(list(run_query(page_query(), [str(export)], name="page")), want)
    everything = page_query().splitlines()
    everything[0] = "*"
    assert len(list(run_query("\n".join(everything), [str(export)]))) > len(want)
