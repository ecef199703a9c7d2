"""`trailhound emulate`: write a scenario's telemetry (the logic is in trailhound/emulate/)."""

from __future__ import annotations

from pathlib import Path

import click

from trailhound.emulate.output import DEFAULT_FORMATS, FORMATS
from trailhound.emulate.run import DEFAULT_SEED
from trailhound.emulate.scenario import Scenario
from trailhound.errors import UsageError
from trailhound.report.escape import for_terminal
from trailhound.wording import count

EMULATE_HELP = """\b
Scenarios (`trailhound emulate list` names and describes each):
  the page's three adversary tests, e.g. aws_iam_user_enum
  each seed signal per cloud, <signal>_<cloud>, e.g. iam_change_aws
  attack chains, chain_*; benign look-alikes, benign_*
  noise (background only, with --noise N); all (each scenario in DIR/<name>/)
\b
Formats: s3 (CloudTrail S3 delivery, gzip), azure (diagnostic-settings export: Activity and
Entra), gcp (Cloud Storage sink), jsonl (bare records, one per line). Default: s3, azure, gcp.
\b
Exit codes: 0 written, 2 usage error (unknown scenario or format, -o missing).
"""


@click.command(epilog=EMULATE_HELP)
@click.argument("scenario")
@click.option("-o", "--out", "out", metavar="DIR", default=None,
              help="Folder to write into (created if needed).")
@click.option("--format", "formats", multiple=True, type=click.Choice(FORMATS),
              help="Export format(s) to write; repeat for several. Default: s3, azure, gcp.")
@click.option("--seed", type=int, default=DEFAULT_SEED, show_default=True,
              help="Seed for every id and random choice: the same seed writes the same bytes.")
@click.option("--noise", "noise_records", type=click.IntRange(min=0), default=0,
              show_default=True, help="Background records to add (deterministic for the seed).")
def emulate(scenario: str, out: str | None, formats: tuple[str, ...], seed: int,
            noise_records: int) -> None:
    """Write the telemetry of an emulated attack, benign look-alike or background noise as the
    clouds export it, offline. `trailhound emulate list` shows each scenario with its ATT&CK
    techniques and the signals it must raise."""
    from trailhound.emulate.registry import SCENARIOS, in_order
    from trailhound.emulate.run import emulate as run

    if scenario == "list":
        _list(in_order())
        return
    if out is None:
        raise UsageError("emulate needs an output folder: add -o DIR")
    chosen = in_order() if scenario == "all" else [SCENARIOS.get(scenario)]
    target = Path(out)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        # files of an earlier run would be read along with the new ones
        raise UsageError(f"{out}: not an empty folder; give -o a new or empty folder")
    for s in chosen:
        folder = target / s.name if scenario == "all" else target
        try:
            files, n = run(s, folder, formats=formats or DEFAULT_FORMATS, seed=seed,
                           noise_records=noise_records)
        except UsageError as e:
            if scenario != "all":
                raise
            # `all --format s3`: the scenarios of other clouds are skipped, each said so
            click.echo(for_terminal(f"trailhound: skipped: {e}"), err=True)
            continue
        click.echo(for_terminal(
            f"{s.name}: wrote {count(n, 'record')} in {count(len(files), 'file')} to {folder}"))


def _list(scenarios: list[Scenario]) -> None:
    for s in scenarios:
        expects = ", ".join(s.expects) or "no finding"
        techniques = ", ".join(s.techniques) or "-"
        click.echo(for_terminal(f"{s.name}  [{s.family}]  {s.summary}"))
        click.echo(for_terminal(f"    ATT&CK: {techniques}"))
        click.echo(for_terminal(f"    expects: {expects}"))
        for p in s.telemetry:
            click.echo(for_terminal(f"    telemetry: {p.stream}: {p.says}"))
