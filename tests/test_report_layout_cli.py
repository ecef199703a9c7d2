"""Readable output (issue #11, item 7) through the real CLI: at 80 columns the demo's table is at
most 3 x (findings + 5) lines and no line is wider; at 120 columns each finding takes at most two
lines; piped output follows COLUMNS; JSONL and CSV keep whole values, and the new columns
(account, service, userAgent, accessKey) hold what the raw records say."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from rich.cells import cell_len

from trailhound.report.columns import COLUMNS, SEED_COLUMNS


def th(*args: str, columns: int | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop("COLUMNS", None)
    if columns is not None:
        env["COLUMNS"] = str(columns)
    return subprocess.run(
        [sys.executable, "-m", "trailhound", *args],
        capture_output=True, text=True, timeout=300, check=False, env=env,
    )


def demo_findings() -> list[dict[str, Any]]:
    p = th("demo", "--format", "jsonl", "-q")
    return [json.loads(line) for line in p.stdout.splitlines()]


@pytest.mark.parametrize("width,per_finding", [(80, 3), (120, 2)])
def test_demo_table_fits_the_width(width: int, per_finding: int) -> None:
    n = len(demo_findings())
    assert n > 10
    p = th("demo", "-q", columns=width)
    assert p.returncode == 0
    lines = p.stdout.splitlines()
    assert max(cell_len(line) for line in lines) <= width
    assert len(lines) <= 3 * (n + 5)  # the bound
    header = per_finding + 1  # header lines, then the rule
    assert set(lines[header - 1]) == {"─"}
    starts = [i for i, line in enumerate(lines) if i >= header and not line.startswith(" ")]
    assert len(starts) == n
    assert all(b - a <= per_finding for a, b in zip(starts, [*starts[1:], len(lines)]))
    # times to the second, ARNs shortened (the account is shown in its own column)
    assert "2026-03-14 10:04:16" in p.stdout and "2026-03-14T" not in p.stdout
    assert "user/m.okafor" in p.stdout and "arn:aws:iam::111122223333:user/m.okafor" not in p.stdout


def test_wide_pipe_gets_one_line_per_finding() -> None:
    n = len(demo_findings())
    p = th("demo", "-q", columns=240)
    assert len(p.stdout.splitlines()) == n + 2


def test_jsonl_and_csv_keep_whole_values() -> None:
    rows = demo_findings()
    assert list(rows[0]) == list(COLUMNS)
    # the new columns come after the seed's, and after every column the seed build had
    assert COLUMNS[: len(SEED_COLUMNS)] == SEED_COLUMNS
    assert COLUMNS[-4:] == ("account", "service", "userAgent", "accessKey")
    arns = {r["userArn"] for r in rows}
    assert "arn:aws:sts::444455556666:assumed-role/acme-data-crossaccount-admin/aws-support-sync" in arns
    p = th("demo", "--format", "csv", "-q")
    got = list(csv.DictReader(io.StringIO(p.stdout)))
    assert [r["userArn"] for r in got] == [r["userArn"] or "" for r in rows]
    assert [r["time"] for r in got] == [r["time"] for r in rows]
    assert [r["userAgent"] for r in got] == [r["userAgent"] or "" for r in rows]


def test_new_columns_hold_the_raw_fields(external: Path) -> None:
    folder = external / "invictus-ir-aws_dataset"
    raw: dict[str, dict[str, Any]] = {}
    for path in sorted(folder.rglob("*.json")):
        for rec in json.loads(path.read_text(encoding="utf-8"))["Records"]:
            raw.setdefault(rec["eventID"], rec)
    p = th("detect", "--format", "jsonl", "-q", str(folder))
    rows = [json.loads(line) for line in p.stdout.splitlines()]
    assert rows
    for r in rows:
        rec = raw[r["eventID"]]
        assert r["account"] == rec["recipientAccountId"]
        assert r["service"] == rec["eventSource"]
        assert r["userAgent"] == rec.get("userAgent")
        assert r["accessKey"] == (rec.get("userIdentity") or {}).get("accessKeyId")
