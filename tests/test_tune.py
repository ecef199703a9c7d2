"""`trailhound tune`: which pairs it proposes (oracle: plain Python over an unfiltered run's rows),
and its proposals, fed back with --allow, remove exactly what each said it would."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import yaml

from tests.test_allowlist import DEMO, key, op, removed_line, run, th
from tests.test_profiles_defects import ct


def tune(*args: str) -> tuple[list[dict[str, Any]], list[int], str]:
    """(proposed entries, each one's `would remove N`, the whole stdout)."""
    p = th("tune", "-q", "--engine", "reference", *args)
    assert p.returncode == 0, p.stderr
    doc = yaml.safe_load(p.stdout)
    would = [int(n) for n in re.findall(r"^# would remove (\d+) findings", p.stdout, re.MULTILINE)]
    return doc["allow"], would, p.stdout


def expected_pairs(
    rows: list[dict[str, Any]], min_count: int = 2, share: float = 0.8, top: int = 10
) -> list[tuple[str, str]]:
    count: dict[tuple[str, str], int] = defaultdict(int)
    score: dict[tuple[str, str], float] = defaultdict(float)
    for r in rows:
        k = (r["userArn"], op(r))
        count[k] += 1
        score[k] += r["suspicion_score"]
    total = sum(r["suspicion_score"] for r in rows)
    ranked = sorted((k for k in count if count[k] >= min_count), key=lambda k: (-score[k], -count[k], k))
    out, covered = [], 0.0
    for k in ranked:
        if len(out) == top or covered >= share * total:
            break
        out.append(k)
        covered += score[k]
    return out


def test_demo_proposals_fed_back_remove_what_they_said(tmp_path: Path, capsys: Any) -> None:
    _, before, _ = run(capsys, "-q", "--engine", "reference", DEMO)
    entries, would, text = tune(DEMO)
    pairs = expected_pairs(before)
    assert pairs and [(e["principal"], e["event"]) for e in entries] == pairs
    allow = tmp_path / "tuned.yml"
    allow.write_text(text, encoding="utf-8")
    code, after, err = run(capsys, "--engine", "reference", "--allow", str(allow), DEMO)
    assert code == 0
    gone = [r for r in before if (r["userArn"], op(r)) in set(pairs)]
    assert {key(r) for r in after} == {key(r) for r in before} - {key(r) for r in gone}
    # each entry: what tune said == the rows of its pair == what the summary counts. An entry whose
    # events fed a correlation (tune says so above it) can count fewer: when another entry removes
    # the correlation's other events, its findings fall to score 0 before any entry is asked.
    text_lines = text.splitlines()
    lines = [i + 1 for i, ln in enumerate(text_lines) if ln.startswith("- principal:")]
    linked = 0
    for entry, n, line in zip(entries, would, lines, strict=True):
        mine = sum(1 for r in before if (r["userArn"], op(r)) == (entry["principal"], entry["event"]))
        assert n == mine
        removed = removed_line(err, allow, line)
        if "took part in correlation" in text_lines[line - 2]:
            assert removed <= mine
            linked += 1
        else:
            assert removed == mine
    assert linked < len(entries)  # the exact case is still tested


def test_hostile_principal_is_escaped_and_matched_literally(tmp_path: Path, capsys: Any) -> None:
    """A principal with a wildcard and a terminal escape: the proposal neither prints the escape
    raw nor, as a glob, allows the look-alike principal."""
    evil = "arn:aws:iam::111122223333:user/ev*il\x1b[31m"
    twin = "arn:aws:iam::111122223333:user/evXil\x1b[31m"

    def rec(arn: str, n: int) -> dict[str, Any]:
        return ct("CreateUser", n=n, userIdentity={"type": "IAMUser", "arn": arn})

    recs = [rec(evil, 1), rec(evil, 2), rec(twin, 3), rec(twin, 4), rec(twin, 5)]
    logs = tmp_path / "ct.jsonl"
    logs.write_text("".join(json.dumps(r) + "\n" for r in recs), encoding="utf-8")
    entries, would, text = tune("--share", "0.1", str(logs))
    assert "\x1b" not in text
    assert len(entries) == 1 and entries[0]["principal"] == "arn:aws:iam::111122223333:user/evXil\x1b[31m"
    # the twin carries more score: fed back, the proposal removes exactly the twin's 3 calls
    allow = tmp_path / "t.yml"
    allow.write_text(text, encoding="utf-8")
    code, rows, err = run(capsys, "--engine", "reference", "--allow", str(allow), str(logs))
    assert code == 0
    assert sorted(r["eventID"] for r in rows) == [recs[0]["eventID"], recs[1]["eventID"]]
    line = next(i + 1 for i, ln in enumerate(text.splitlines()) if ln.startswith("- principal:"))
    assert would == [3] and removed_line(err, allow, line) == 3
    # and the escaped wildcard, proposed for `evil`, does not reach the twin
    allow.write_text(
        "- principal: " + json.dumps(evil.replace("*", "\\*")) + "\n  reason: x\n", encoding="utf-8"
    )
    code, rows, _ = run(capsys, "-q", "--engine", "reference", "--allow", str(allow), str(logs))
    assert code == 0
    assert sorted(r["eventID"] for r in rows) == sorted(r["eventID"] for r in recs[2:])
