"""Issue #13 point 4: the detection page's three adversary tests are covered by the shipped
(corrected) pack. Alone, each page test's recon raises nothing (tests/test_emulate.py holds that);
followed by scored actions of the same principal, the recon records become findings through a
correlation, show in the principal's rules and tactics and are marked in its timeline, and that
principal ranks first above every benign look-alike, with and without the default filters. Take
the recon away and it no longer does.

Oracles: the recon records are found by the page's own telemetry description (each page
scenario's first Probe) applied by plain Python to the emulated JSON lines, and named by their
file and line; the attacker is the principal those raw records name. The base rules' call lists
are checked against the scored rules' YAML, read as plain YAML."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from trailhound.emulate.output import render, write
from trailhound.emulate.registry import SCENARIOS
from trailhound.emulate.run import DEFAULT_SEED, records
from trailhound.emulate.scenario import Probe, Records
from trailhound.pipeline import scan
from trailhound.profiles import get_profile
from trailhound.report.columns import row
from trailhound.rules.loader import load_pack, pack_dir
from trailhound.triage.principals import rank_principals
from trailhound.triage.timeline import build_timeline

PROFILE = get_profile("corrected")
UPN = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn"
BENIGN = [s for s in SCENARIOS.values() if s.benign]
CORRELATIONS = {c.id for c in load_pack("corrected").correlations}


@dataclass(frozen=True)
class PageCase:
    page: str  # the page test's scenario
    chain: str  # the attack chain that contains its telemetry, followed by scored actions
    correlation: str  # the correlation id that makes the recon count
    probe: int = 0  # which of the page scenario's telemetry probes finds the recon records

    def __str__(self) -> str:
        return f"{self.page}-{self.probe}"


CASES = [
    # test 1: ListUsers via the aws-cli, then CreateAccessKey / AttachUserPolicy
    PageCase("aws_iam_user_enum", "chain_aws_compromised_key",
             "d0a47b0d-1b4a-482f-a1dd-39cc2e694e4e"),
    # test 2: Azure CLI sign-in and roleAssignments/read, then a custom role and Owner assigned
    PageCase("azure_role_assignment_enum", "chain_azure_role_escalation",
             "f39973a9-166c-42ad-9bd2-6230df2e29e0"),
    # ... its sign-in: context that counts ahead of the same sequence
    PageCase("azure_role_assignment_enum", "chain_azure_role_escalation",
             "5cc165ad-c3bb-4b92-a5e8-c102fa30d3f7", probe=1),
    # test 3: GetTrailStatus, then StopLogging
    PageCase("aws_trail_status_check", "chain_aws_compromised_key",
             "95e44c45-15b5-4202-aaaa-b1bbcb2e41b8"),
]


def _probe(case: PageCase) -> Probe:
    return SCENARIOS.get(case.page).telemetry[case.probe]


def _principal(rec: dict[str, Any]) -> str:
    """Who made a raw record, read as the page describes it (caller ARN; the Azure caller's UPN
    in the token claims of the diagnostic export)."""
    if "userIdentity" in rec:
        return str(rec["userIdentity"]["arn"])
    if rec.get("category") == "SignInLogs":
        return str(rec["properties"]["userPrincipalName"])
    return str(rec["identity"]["claims"][UPN])


def _write(recs: Records, folder: Path) -> Path:
    write(render(recs, ("jsonl",), DEFAULT_SEED), folder)
    return folder / "jsonl"


def _lines(folder: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """(file:line, record) of every emulated JSON line, parsed by hand."""
    for path in sorted(folder.glob("*.jsonl")):
        for n, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            yield f"{path}:{n}", json.loads(text)


def _recon(case: PageCase, folder: Path) -> dict[str, dict[str, Any]]:
    probe = _probe(case)
    return {at: rec for at, rec in _lines(folder)
            if Path(at.rsplit(":", 1)[0]).stem == probe.stream and probe.matches(rec)}


def _line(origin: str) -> str:
    """file:line of a row's origin; a file of one record is read as one JSON document, whose
    origin names the file alone."""
    at = origin.split(" (byte", 1)[0]
    return at if re.search(r":\d+$", at) else f"{at}:1"


def _rows(paths: list[Path], filters: bool = True) -> list[dict[str, Any]]:
    ruleset = load_pack("corrected", filters=filters)
    result = scan([str(p) for p in paths], PROFILE, ruleset=ruleset, engine="reference")
    return [row(f, PROFILE) for f in result.findings]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_the_recon_of_each_page_test_is_a_finding_a_rule_and_a_timeline_mark(
    tmp_path: Path, case: PageCase
) -> None:
    chain = _write(records(SCENARIOS.get(case.chain)), tmp_path / "chain")
    recon = _recon(case, chain)
    assert recon, f"{case.chain} lacks the telemetry of {case.page}: {_probe(case).says}"
    (who,) = {_principal(r) for r in recon.values()}
    rows = _rows([chain])

    # findings: every recon record is one, raised by the correlation (only correlations flag it)
    found = {_line(r["origin"]): r for r in rows}
    for at in recon:
        assert at in found, f"{at}: recon record is no finding"
        ids = {s["rule_id"] for s in found[at]["signals"]}
        assert case.correlation in ids and ids <= CORRELATIONS, (at, ids)
        assert found[at]["suspicion_score"] > 0 and found[at]["userArn"] == who

    # principals: the correlation is one of the attacker's rules, discovery one of its tactics
    mine = [p for p in rank_principals(rows) if p["principal"] == who]
    assert mine and case.correlation in mine[0]["rule_ids"]
    assert "discovery" in mine[0]["tactics"]

    # timeline: the recon events are marked with the correlation
    with build_timeline([str(chain)], PROFILE, who, rows) as tl:
        assert tl is not None
        marked = {_line(r["origin"]): r for r in tl.rows if r["suspicion_score"] is not None}
    for at in recon:
        assert at in marked, f"{at}: not marked in {who}'s timeline"
        assert case.correlation in [s["rule_id"] for s in marked[at]["signals"]]


def _benign(folder: Path) -> list[Path]:
    out: Records = {}
    for s in BENIGN:
        for stream, recs in records(s).items():
            out[stream] = out.get(stream, []) + recs
    return [_write(out, folder)]


def _rank(rows: list[dict[str, Any]], who: str) -> int:
    return next(p["rank"] for p in rank_principals(rows) if p["principal"] == who)


@pytest.mark.parametrize("filters", [True, False], ids=["default-filters", "no-default-filters"])
@pytest.mark.parametrize("case", CASES, ids=str)
def test_recon_then_scored_actions_ranks_first_above_every_look_alike(
    tmp_path: Path, case: PageCase, filters: bool
) -> None:
    chain = _write(records(SCENARIOS.get(case.chain)), tmp_path / "chain")
    (who,) = {_principal(r) for r in _recon(case, chain).values()}
    rows = _rows([chain, *_benign(tmp_path / "benign")], filters)
    benign = {r["userArn"] for r in rows} - {who}
    assert benign, "the look-alikes raised nothing: nothing to rank against"
    assert _rank(rows, who) == 1


def test_without_its_recon_the_azure_chain_falls_under_a_look_alike(tmp_path: Path) -> None:
    """The Azure chain has no VM any more (emulate/chains.py): the recon is what lifts it. The
    same chain with the page's roleAssignments/read removed (its Azure CLI sign-in kept, which
    alone counts for nothing) ranks under the Organizations automation (two medium rules each,
    and the automation has more findings)."""
    case = CASES[1]
    probe = _probe(case)
    recs = records(SCENARIOS.get(case.chain))
    who = next(_principal(r) for r in recs[probe.stream] if probe.matches(r))
    kept = {s: [r for r in rs if not (s == probe.stream and probe.matches(r))]
            for s, rs in recs.items()}
    assert sum(map(len, kept.values())) < sum(map(len, recs.values()))
    rows = _rows([_write(kept, tmp_path / "chain"), *_benign(tmp_path / "benign")])
    assert _rank(rows, who) > 1
    assert not CORRELATIONS & {s["rule_id"] for r in rows for s in r["signals"]}


def _docs(name: str) -> list[dict[str, Any]]:
    with (pack_dir("corrected") / name).open(encoding="utf-8") as fh:
        return [d for d in yaml.safe_load_all(fh) if d]


def _values(doc: dict[str, Any], selection: str, field: str) -> set[str]:
    v = doc["detection"][selection][field]
    return {v} if isinstance(v, str) else set(v)


def _named(name: str, file: str) -> dict[str, Any]:
    return next(d for d in _docs(file) if d.get("name") == name)


def test_the_base_rules_follow_the_scored_rules() -> None:
    """The 'change' steps are the writes the pack scores: edit one list, the test says so."""
    (iam,) = _docs("aws_iam_change.yml")
    (priv,) = _docs("aws_priv_esc.yml")
    step = _named("aws_iam_identity_change", "mr_aws_iam_recon_then_change.yml")
    assert _values(step, "selection", "eventName") == (
        _values(iam, "iam", "eventName") | _values(priv, "policy", "eventName"))
    (role_def,) = _docs("azure_activity_iam_change.yml")
    (role_assign,) = _docs("azure_activity_priv_esc.yml")
    grant = _named("azure_role_grant", "mr_azure_role_recon_then_grant.yml")
    assert _values(grant, "selection", "operationName") == (
        _values(role_def, "selection", "operationName")
        | _values(role_assign, "selection", "operationName"))


def test_the_page_scenarios_alone_raise_nothing(tmp_path: Path) -> None:
    """A single ListUsers, roleAssignments/read or GetTrailStatus does not flood findings."""
    for case in CASES:
        folder = _write(records(SCENARIOS.get(case.page)), tmp_path / case.page)
        assert _recon(case, folder)
        assert _rows([folder]) == []
