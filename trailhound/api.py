"""The library entry point: `trailhound.scan(paths, ...)`, with the CLI's defaults.

    import trailhound
    result = trailhound.scan(["logs/"], profile="corrected", since="7d")
    for row in result.rows():    # the dicts `detect --format jsonl` prints, in its order
        ...
    result.summary                 # pipeline.ScanStats: files, records, issues, ...
    result.write(sys.stdout, "ocsf")   # as `detect --format ocsf` writes it (raw records included)

The rule set is built as `detect` builds it (`user_ruleset`, `tuned_ruleset`: the CLI calls them): the
profile's pack, plus the Sigma rules under `rules` (a rule that does not load or compile is
skipped and named in `result.notes`), plus the allowlists' filters.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from trailhound.engine import DEFAULT_ENGINE
from trailhound.pipeline import ScanStats, scan_stream
from trailhound.profiles import DEFAULT_PROFILE, Profile, get_profile
from trailhound.report.columns import row
from trailhound.rules.model import RuleSet
from trailhound.scoring import Finding
from trailhound.sources.limits import Limits
from trailhound.tuning.allowlist import Allowlist, load_allowlists, with_allowlists
from trailhound.tuning.window import TimeWindow

__all__ = ["Result", "scan", "tuned_ruleset", "user_ruleset"]


@dataclass
class Result:
    """A finished scan: its findings (highest score first), its summary, and `notes` (rules
    skipped, allowlist entries expired: what the CLI prints on stderr before scanning)."""

    findings: list[Finding]
    summary: ScanStats
    profile: Profile
    notes: list[str] = field(default_factory=list)

    def rows(self, raw: bool = False) -> list[dict[str, Any]]:
        """The output rows (report/columns.row): what `detect --format jsonl` prints; `raw`
        adds each original record and normalized columns (what the `ocsf` writer reads)."""
        return [row(f, self.profile, raw=raw) for f in self.findings]

    def write(self, out: TextIO, fmt: str = "jsonl") -> None:
        """Write the findings as `detect --format FMT` does (a name in report.writers.WRITERS:
        table, jsonl, csv, ocsf, ...): the same rows, with the raw records for the writers that
        want them."""
        from trailhound.report.writers import WRITERS, wants_raw

        writer = WRITERS.get(fmt)
        writer(self.rows(raw=wants_raw(writer)), out)


def user_ruleset(
    profile: Profile, rule_paths: Sequence[str], placeholders: str | None,
    default_filters: bool = True,
) -> tuple[RuleSet | None, list[str]]:
    """The profile's pack plus the rules under `rule_paths` (None: the pack alone), and one
    line per rule that does not load or compile (skipped; the others run)."""
    if not rule_paths and placeholders is None:
        return None, []
    from trailhound.rules.check import check_paths, merge_rulesets, read_placeholders
    from trailhound.rules.loader import load_pack

    values = read_placeholders(placeholders) if placeholders is not None else None
    checked = check_paths(rule_paths, values)
    ruleset, duplicates = merge_rulesets(
        load_pack(profile.pack, filters=default_filters), checked.ruleset
    )
    return ruleset, [str(p) for p in (*checked.problems, *duplicates)]


def tuned_ruleset(
    profile: Profile,
    ruleset: RuleSet | None,
    allowlist: Allowlist,
    default_filters: bool,
    echo: Callable[[str], None],
) -> RuleSet | None:
    """The rule set to scan with: `ruleset` (None: the profile's pack, loaded here only when
    something changes it, without its filters when not `default_filters`) plus the allowlist's
    filters. Expired entries are reported through `echo`, one line each, and not applied."""
    from trailhound.report.escape import for_terminal
    from trailhound.rules.loader import load_pack

    for e in allowlist.expired:
        echo(
            f"trailhound: {for_terminal(e.label)}: expired on {e.expires}, not applied; "
            "renew its `expires` or delete it"
        )
    if ruleset is None:
        if not allowlist.entries and default_filters:
            return None
        ruleset = load_pack(profile.pack, filters=default_filters)
    return with_allowlists(ruleset, allowlist)


def scan(
    paths: Sequence[str],
    profile: str = DEFAULT_PROFILE,
    *,
    rules: Sequence[str] = (),
    placeholders: str | None = None,
    engine: str = DEFAULT_ENGINE,
    strict: bool = False,
    allow: Sequence[str] = (),
    default_filters: bool = True,
    since: str | None = None,
    until: str | None = None,
    min_score: float | None = None,
    limits: Limits | None = None,
    baseline: str | None = None,
    **engine_options: Any,
) -> Result:
    """Scan `paths` (files or folders) as `trailhound detect` does with the same options:
    `rules` (--rules), `allow` (--allow files), `since` / `until` (ISO times or durations back
    from now), `engine` / `strict` (--engine / --strict; `engine_options` such as jobs=2),
    `baseline` (--baseline: a `trailhound baseline build` file).
    Bad input is counted in `result.summary`, never raised; a bad option is a UsageError."""
    p = get_profile(profile)
    notes: list[str] = []
    ruleset, problems = user_ruleset(p, rules, placeholders, default_filters)
    notes += [f"trailhound: rule skipped: {problem}" for problem in problems]
    ruleset = tuned_ruleset(p, ruleset, load_allowlists(allow), default_filters, notes.append)
    s = scan_stream(
        paths, p, ruleset=ruleset, engine=engine, strict=strict, engine_options=engine_options,
        min_score=min_score, window=TimeWindow.parse(since, until), limits=limits,
        baseline=None if baseline is None else Path(baseline),
    )
    findings = list(s.findings)
    s.stats.rules_refused = len(problems)
    return Result(findings, s.stats, p, notes)
