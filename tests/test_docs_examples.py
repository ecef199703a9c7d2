"""Every runnable `trailhound ...` line of the README and docs/*.md, run as written, in the
order of its document, in one scratch folder per document (a file an example writes, such as
`hunt show ... > mine.sql` or `baseline build -o baseline.jsonl`, is there for the lines after
it). Log paths (`./AWSLogs/`, `logs/`...) stand for the demo dataset, SigmaHQ's rule folders
for the copy in ../shared, and the README's allowlist example is `allow.yml`; each line must
exit 0 without a traceback. A documented command that stops working, or a flag that is renamed,
fails here.

Not run here (each has its own suite): lines that need a service (`s3://`, `--webhook`,
`--engine spark`), run until interrupted (`watch`), read another program's output (`aws ... |`),
and `validate` / `rules coverage` (tests/test_validate*.py, tests/test_coverage*.py: 10-15 s
each)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import EXTERNAL, require
from tests.test_docs_flags import DOCS, _shell_blocks
from trailhound.cli.app import cli
from trailhound.demo import dataset_path
from trailhound.rules.loader import pack_dir

DEMO = str(dataset_path())
SIGMA = EXTERNAL / "sigmahq-sigma" / "rules" / "cloud"
EVENT = "b6f98297-26d9-48ca-ba64-69621812c5fe"  # the demo's StopLogging (README: --around)
# a placeholder of the docs -> what stands for it
PATHS = {
    "./AWSLogs/": DEMO, "logs/": DEMO, "export.json": DEMO, "azure/": DEMO, "last-month/": DEMO,
    "./exports/": DEMO, "3f0c...-eventID": EVENT,
    "./sigma/rules/cloud/": str(SIGMA), "./sigma/rules/cloud/aws/": str(SIGMA / "aws"),
    "./my-rules/": str(pack_dir("corrected")), "my_rules/": str(pack_dir("corrected")),
    "trailhound/rules/packs/seed/seed_query.sumo": str(pack_dir("seed") / "seed_query.sumo"),
    "page.sumo": str(pack_dir("seed") / "seed_query.sumo"),
}
# lines whose documented exit code is not 0, and why
EXIT = {
    # exit 3, "exported, but some rule could not be": the example allowlist's user_agent entry
    # reads a field Entra audit records lack in KQL, so three Entra rules are named and left out
    "trailhound export --profile corrected --to kql -o hunt.kql --allow allow.yml": 3,
}
NOT_HERE = ("s3://", "s3a://", "--webhook", "--engine spark", "--syslog", '"My rule"')
NOT_HERE_COMMANDS = ("watch", "validate", "rules coverage")


def _examples(doc: Path) -> list[tuple[str, list[str], str | None]]:
    """(line, argv, file its stdout is redirected to) of each runnable example."""
    out = []
    for block in _shell_blocks(doc.read_text("utf-8")):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split("  #")[0].split(" # ")[0].strip()
            line = line.split(" && ")[-1].removeprefix("python3 -m ")  # the install-and-run line
            if not line.startswith("trailhound ") or any(s in line for s in NOT_HERE):
                continue  # (python3 -m pip..., another program piped in)
            if re.search(r"[\[(]", line):
                continue  # a synopsis: `export (--profile NAME | --rules PATH...) [-o FILE]`
            command, _, redirect = re.split(r"\s\|\s", line)[0].partition(" > ")
            argv = [PATHS.get(t, t) for t in shlex.split(command)[1:]]
            if " ".join(argv).startswith(NOT_HERE_COMMANDS):
                continue
            out.append((line, argv, redirect.strip() or None))
    return out


EXAMPLES = {doc.name: _examples(doc) for doc in DOCS}


def test_the_docs_have_examples() -> None:
    assert sum(map(len, EXAMPLES.values())) > 30
    assert len(EXAMPLES["README.md"]) > 20


def _allowlist_example() -> str:
    """The README's YAML allowlist example (Tuning)."""
    text = (DOCS[0]).read_text("utf-8")
    found = re.search(r"```yaml\n(allow:.*?)```", text, re.DOTALL)
    assert found, "README.md: the ```yaml allow: example is gone"
    return found.group(1)


@pytest.mark.parametrize("doc", sorted(n for n, ex in EXAMPLES.items() if ex))
def test_every_example_runs(doc: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("allow.yml").write_text(_allowlist_example())
    for line, argv, redirect in EXAMPLES[doc]:
        if any(a.startswith(str(SIGMA)) for a in argv):
            require(SIGMA.is_dir(), f"SigmaHQ's rules not found at {SIGMA} (../shared is absent)")
        res = CliRunner().invoke(cli, argv)
        assert res.exception is None or isinstance(res.exception, SystemExit), (line, res.exception)
        assert res.exit_code == EXIT.get(line, 0), f"{doc}: {line}\n{res.stderr[-2000:]}"
        assert "Traceback" not in res.stderr
        if redirect is not None:
            Path(redirect).write_text(res.stdout)
