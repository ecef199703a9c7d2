"""The library entry point (`trailhound.scan`, api.py): the README's example runs as written,
and its rows and summary are what `trailhound demo --format jsonl` prints - the same options
through the CLI, a separate process."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]


def readme_example() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = [b for b in re.findall(r"```python\n(.*?)```", text, re.DOTALL) if "import trailhound\n" in b]
    assert len(blocks) == 1, "README.md should hold one library example (import trailhound)"
    return blocks[0]


def test_readme_example_runs_and_equals_the_cli(capsys: pytest.CaptureFixture[str]) -> None:
    scope: dict[str, Any] = {}
    exec(compile(readme_example(), "README.md", "exec"), scope)  # noqa: S102 - our README
    printed = capsys.readouterr().out.splitlines()
    result = scope["result"]
    # the example's own options, given to the CLI the same way
    profile = re.search(r'profile="([\w-]+)"', readme_example())
    options = ["--profile", profile.group(1)] if profile else []
    cli = subprocess.run(
        [sys.executable, "-m", "trailhound", "demo", "--format", "jsonl", "--since", "2020-01-01",
         *options],
        capture_output=True, text=True, timeout=300, check=False, cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert cli.returncode in (0, 3), cli.stderr[-2000:]
    want = [json.loads(line) for line in cli.stdout.splitlines()]
    got = [json.loads(json.dumps(r, default=str)) for r in result.rows()]
    assert got == want and len(want) > 10
    assert printed[0].split()[0] == str(want[0]["suspicion_score"])
    m = re.search(r"trailhound: (\d+) files?, (\d+) records?", cli.stderr)
    assert m is not None, cli.stderr
    assert (result.summary.files, result.summary.records) == (int(m.group(1)), int(m.group(2)))


def test_options_reach_the_scan(tmp_path: Path) -> None:
    """`rules`, `since`, `min_score`, `engine`: each changes the result as detect's option does."""
    import trailhound
    from trailhound.demo import dataset_path

    path = [str(dataset_path())]
    base = trailhound.scan(path, engine="reference")
    future = trailhound.scan(path, since="2260-01-01", engine="reference")
    assert base.findings and not future.findings and future.summary.window
    high = trailhound.scan(path, min_score=base.findings[0].score, engine="reference")
    assert 0 < len(high.findings) < len(base.findings)
    bad = tmp_path / "bad.yml"
    bad.write_text("title: x\nlogsource: {product: aws}\ndetection: {condition: nope}\n", encoding="utf-8")
    refused = trailhound.scan(path, rules=[str(bad)], engine="reference")
    assert refused.summary.rules_refused == 1 and "rule skipped" in refused.notes[0]
