"""`trailhound attack-layer`: an ATT&CK Navigator layer of the techniques that fired in PATHS,
or with `--coverage` of the techniques the rule packs cover (no logs read). The layers are
built in attack/layer.py from the finding rows of any engine or from the rule set."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import TextIO

import click
import orjson

from trailhound.attack.layer import Layer, coverage_layer, findings_layer
from trailhound.cli.app import emit, finding_rows, scan_ruleset
from trailhound.cli.exits import EXIT_INPUT_ERRORS, EXIT_OK, epilog
from trailhound.cli.scan_options import ScanOptions, scan_options
from trailhound.errors import UsageError
from trailhound.report.escape import for_terminal
from trailhound.wording import count


def _layer_writer(target: TextIO | None) -> Callable[[Iterable[Layer], TextIO], None]:
    """Writes each layer as indented JSON to `target`, or to the stream it is handed (stdout)."""

    def write(layers: Iterable[Layer], out: TextIO) -> None:
        for layer in layers:
            (target or out).write(orjson.dumps(layer, option=orjson.OPT_INDENT_2).decode() + "\n")

    return write


@contextlib.contextmanager
def _opened(output: str) -> Iterator[TextIO | None]:
    """The output file, opened before any scan (a bad path fails at once); None for stdout."""
    if output == "-":
        yield None
        return
    try:
        f = open(output, "w", encoding="utf-8")  # noqa: SIM115 - closed below, after the scan
    except OSError as e:
        raise UsageError(
            f"{output}: cannot write the layer: {e.strerror or type(e).__name__}; check that "
            f"the folder exists and is writable, or use -o - for stdout"
        ) from None
    with f:
        yield f


def _techniques_note(layer: Layer, output: str) -> str:
    scored = sum(1 for t in layer["techniques"] if "score" in t)
    where = "stdout" if output == "-" else for_terminal(output)
    return f"  ATT&CK Navigator layer: {count(scored, 'technique')} scored, written to {where}"


@click.command("attack-layer", epilog=epilog())
@click.argument("paths", nargs=-1)
@scan_options(paths=False)
@click.option(
    "-o", "--output", default="-", show_default=True, metavar="FILE",
    help="Where to write the layer (JSON; - for stdout).",
)
@click.option(
    "--coverage", is_flag=True,
    help="The techniques the rules cover (the profile's pack and --rules), scored by how many "
    "rules name each; reads no logs.",
)
@click.option("--name", default=None, help="The layer's name in Navigator.")
def attack_layer(output: str, coverage: bool, name: str | None, opts: ScanOptions) -> None:
    """Write an ATT&CK Navigator layer (format 4.5, enterprise-attack) of the techniques that
    fired in PATHS: each scored with the highest score of its findings, the rules that named it
    in its comment. With --coverage: the rule packs' techniques, without logs.

    Techniques come from the rules' Sigma tags (attack.tNNNN[.NNN]). Open the file in ATT&CK
    Navigator with "Open Existing Layer" -> "Upload from local".
    """
    sys.exit(_coverage(output, name, opts) if coverage else _fired(output, name, opts))


def _coverage(output: str, name: str | None, opts: ScanOptions) -> int:
    if opts.paths:
        raise UsageError("--coverage reads no logs: drop the PATHS, or drop --coverage")
    ruleset, refused = scan_ruleset(opts)
    if ruleset is None:  # the profile's pack as shipped
        from trailhound.rules.loader import load_pack

        ruleset = load_pack(opts.profile.pack, filters=opts.default_filters)
    layer = coverage_layer(ruleset, name or f"trailhound coverage ({opts.profile.name})",
                           pack=f"the {opts.profile.name} profile")
    with _opened(output) as target:
        _layer_writer(target)([layer], sys.stdout)
    if not opts.quiet:
        click.echo(_techniques_note(layer, output), err=True)
    return EXIT_INPUT_ERRORS if refused else EXIT_OK


def _fired(output: str, name: str | None, opts: ScanOptions) -> int:
    if not opts.paths:
        raise UsageError("attack-layer needs PATHS to scan, or --coverage for the rules alone")
    with _opened(output) as target:
        rows, stats = finding_rows(opts)
        layer = findings_layer(rows, name or "trailhound findings",
                               sources=", ".join(opts.paths))  # reads every row: stats complete
        return emit(_layer_writer(target), [layer], stats, opts, [_techniques_note(layer, output)])
