"""`trailhound report PATH... -o report.html`: the scan as one self-contained HTML page (summary,
ranked principals with their timelines, findings with their signals and raw records, the rules'
playbooks and hunts). The page is built by trailhound/report/html/; this module runs the scan,
prints the summary on stderr and picks the exit code, as `detect` does."""

from __future__ import annotations

import sys
import tempfile
from datetime import UTC, datetime
from typing import Any

import click

from trailhound import __version__
from trailhound.cli.exits import epilog, nothing_read, scan_exit_code
from trailhound.cli.params import check_output_folder
from trailhound.cli.scan_options import ScanOptions, scan_options
from trailhound.cli.summary import nothing_read_line, summary_lines
from trailhound.errors import TrailhoundError
from trailhound.report.escape import for_terminal
from trailhound.report.html import write_report
from trailhound.report.html.collect import FINDING_FIELDS, collect
from trailhound.report.html.events import event_times
from trailhound.report.html.page import RAW_CHUNK
from trailhound.report.html.plot import data_uri, timeline_svg
from trailhound.report.html.rules import rule_entries
from trailhound.wording import NO_PRINCIPAL

# Principals drawn: the highest-ranked ones. A plot is ~3-10 KB; beyond a few hundred the page
# grows without helping anyone (the findings of the rest are still listed and searchable).
PLOT_LIMIT = 300
# What the page holds, so that its size does not grow with the scan: the highest-scored
# findings (rows and raw records: ~1.3 KB each, ~13 MB at the default) and the highest-ranked
# principals. The rest are counted, named in a note on the page, and printed by `detect` /
# `principals` with the same options.
MAX_FINDINGS = 10_000
MAX_PRINCIPALS = 2_000


def _err(msg: str) -> None:
    click.echo(msg, err=True)


@click.command("report", epilog=epilog())
@scan_options()
@click.option(
    "--output", "-o", required=True, metavar="FILE",
    type=click.Path(dir_okay=False, writable=True),
    help="The HTML file to write (one self-contained page: opens offline, loads nothing).",
)
@click.option(
    "--findings-only", is_flag=True,
    help="Plot each principal's findings only, not all its events: skips the second read of "
    "the input that the events need (always the case for stdin).",
)
@click.option(
    "--max-findings", type=click.IntRange(min=1), default=MAX_FINDINGS, show_default=True,
    metavar="N",
    help="The highest-scored N findings are in the page (rows and raw records); the page says "
    "how many more the scan found. Bounds the page's size.",
)
def report(output: str, findings_only: bool, max_findings: int, opts: ScanOptions) -> None:
    """Write the scan of PATHS as one HTML report a responder can forward: the summary, the
    principals ranked by risk (as `trailhound principals`) with a timeline plot each, the
    findings (searchable, sortable, paged) with the signals behind each score and the raw
    record, and each rule's playbook and hunts (as `trailhound explain`)."""
    from trailhound.cli.app import print_summary, scan_findings  # app imports this module

    check_output_folder(output)
    notes = []
    if "-" in opts.paths and not findings_only:
        findings_only = True
        notes.append("stdin cannot be read twice: the plots show the findings only, not every event")
    result = scan_findings(opts)
    with tempfile.TemporaryDirectory(prefix="trailhound-report-") as folder:
        got = collect(result.findings, opts.profile, folder, keep=max_findings)
        stats = result.stats
        if nothing_read(stats):
            _err(nothing_read_line(stats, opts.paths))
            sys.exit(scan_exit_code(stats))
        notes += page_notes(got.count, got.kept, len(got.principals))
        drawn = got.principals[:PLOT_LIMIT]
        times = {} if findings_only else event_times(
            opts.paths, opts.profile, (p["principal"] for p in drawn if p["principal"] is not None),
            opts.window)
        for i, p in enumerate(got.principals):
            events = times.get(p["principal"].casefold()) if p["principal"] is not None else None
            p["events"] = len(events) if events is not None else None
            p["plot"] = (data_uri(timeline_svg(events or (), got.dots.get(p["principal"], [])))
                         if i < PLOT_LIMIT else None)
            p["plot_note"] = None if i < PLOT_LIMIT else (
                f"not drawn: only the first {PLOT_LIMIT} principals are plotted")
        head: dict[str, Any] = {
            "meta": {
                "version": __version__,
                "generated": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
                "profile": opts.profile.name,
                "engine": opts.engine,
                "paths": list(opts.paths),
                "findings": got.count,
                "findings_in_page": got.kept,
                "principals": len(got.principals),
                "plotted": plotted_line(len(got.principals)),
                "no_principal": NO_PRINCIPAL,  # (the tables' label: wording.py)
                "fields": FINDING_FIELDS,
                "raw_chunk": RAW_CHUNK,
                "notes": notes,
            },
            "summary": summary_lines(stats, opts.profile.name),
            "principals": got.principals[:MAX_PRINCIPALS],
            "rules": rule_entries(got.rules, got.rule_counts, opts.profile, opts.rule_paths),
        }
        try:
            write_report(output, head, got.findings, got.raw, got.kept)
        except OSError as e:  # disk full, permission denied: one line, the scan's work is lost
            raise TrailhoundError(
                f"{output}: cannot write the report ({e.strerror or e}); free space or pick another -o"
            ) from e
    if not opts.quiet:
        print_summary(stats, opts.profile.name)
        for note in notes:
            _err(f"  {for_terminal(note)}")
        _err(f"  report written to {for_terminal(output)}")
    sys.exit(scan_exit_code(stats))


def page_notes(findings: int, kept: int, principals: int) -> list[str]:
    """What the page leaves out, with the counts (shown at its top and on stderr)."""
    out = []
    if kept < findings:
        out.append(
            f"this page holds the {kept:,} highest-scored of {findings:,} findings ({findings - kept:,} "
            "more not in it: `trailhound detect` with the same options lists every one, or raise "
            "--max-findings)"
        )
    if principals > MAX_PRINCIPALS:
        out.append(
            f"this page lists the {MAX_PRINCIPALS:,} highest-ranked of {principals:,} principals "
            "(`trailhound principals` with the same options ranks every one)"
        )
    return out


def plotted_line(principals: int) -> str:
    """Which principals have a timeline plot, said on the page above them."""
    if principals <= PLOT_LIMIT:
        return f"Every principal has a timeline plot ({principals:,})."
    return (f"Timeline plots: the {PLOT_LIMIT:,} highest-ranked principals (#1 to #{PLOT_LIMIT:,}) "
            f"of {principals:,}; the others are listed without one.")
