"""`trailhound report`: the page's data against independent oracles (the input records, the
other commands' outputs, hashlib for the CSP), and the page's structure: nothing it could load,
nothing it could run but its own script. The browser tests are in test_report_html_browser.py
and test_report_html_hostile.py."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.report_html_support import Page, finding, report
from tests.test_cli import jsonl, th
from tests.test_profiles_defects import ct
from trailhound.demo import dataset_path
from trailhound.report.html.page import RAW_CHUNK, script_safe

DEMO = str(dataset_path())


@pytest.fixture(scope="module")
def demo_page(tmp_path_factory: pytest.TempPathFactory) -> tuple[Page, str]:
    out = tmp_path_factory.mktemp("demo") / "report.html"
    got = report(out, DEMO)
    assert got.returncode == 0, got.stderr
    text = out.read_text(encoding="utf-8")
    return Page(text), text


def test_demo_report_holds_what_detect_and_principals_print(demo_page: tuple[Page, str]) -> None:
    page, _ = demo_page
    data = page.json_block("data")
    detect = th("detect", "--format", "jsonl", DEMO)
    rows = [json.loads(line) for line in detect.stdout.splitlines()]
    assert len(rows) == data["meta"]["findings"] == len(data["findings"]) > 50
    got = [finding(data, i) for i in range(len(rows))]
    assert [(f["eventID"], f["score"], f["principal"]) for f in got] == [
        (r["eventID"], r["suspicion_score"], r["userArn"]) for r in rows]
    assert [f["rules"] for f in got] == [[s["rule_id"] for s in r["signals"]] for r in rows]
    # the summary lines are detect's stderr, line for line
    assert data["summary"] == detect.stderr.splitlines()
    assert any("filtered: " in line for line in data["summary"])
    principals = th("principals", "--format", "jsonl", "-q", DEMO)
    ranked = [json.loads(line) for line in principals.stdout.splitlines()]
    assert [(p["rank"], p["principal"], p["risky"], p["reason"]) for p in data["principals"]] == [
        (p["rank"], p["principal"], p["risky"], p["reason"]) for p in ranked]
    # every rule that fired is there, with its guide (the .md beside the rule file) and hunts
    fired = {s["rule_id"] for r in rows for s in r["signals"]}
    assert {r["id"] for r in data["rules"]} == fired
    for rule in data["rules"]:
        if rule["path"]:
            md = Path(rule["path"]).with_suffix(".md")
            if md.is_file():
                assert rule["guide"] == md.read_text(encoding="utf-8")
                named = re.findall(r"trailhound hunt ([a-z][a-z0-9_]*)", rule["guide"])
                assert [h["name"] for h in rule["hunts"]] == list(dict.fromkeys(named))
    assert any(r["hunts"] for r in data["rules"])


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def test_page_loads_nothing_and_runs_only_its_own_script(demo_page: tuple[Page, str]) -> None:
    page, _ = demo_page
    metas = [a for t, a in page.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"]
    assert len(metas) == 1
    policy = {
        d.split()[0]: d.split()[1:] for d in (metas[0]["content"] or "").split(";") if d.strip()}
    runnable = [s for a, s in page.scripts if a.get("type") != "application/json"]
    assert len(runnable) == 1
    assert policy["default-src"] == ["'none'"]
    assert policy["script-src"] == [_sha256(runnable[0])]
    assert policy["style-src"] == [_sha256(page.styles[0])] and len(page.styles) == 1
    assert policy["img-src"] == ["data:"]
    # nothing that fetches: no external script, stylesheet, frame, image, form or base
    assert not [t for t, a in page.tags if t in ("link", "iframe", "object", "embed", "base",
                                                  "form", "img", "frame", "audio", "video")]
    assert not [(t, a) for t, a in page.tags if {"src", "href", "action", "srcset"} & set(a)]
    markup_sinks = r"\.(innerHTML|outerHTML|insertAdjacentHTML)\b|document\.write|\beval\(|new Function"
    assert not re.search(markup_sinks, runnable[0])
    # no address in the code or the stylesheet (the data may hold URLs: logs do; as text)
    assert not re.search(r"https?:|//[a-z]|url\(|@import", runnable[0] + page.styles[0])


# JSON values as the reader hands them over (decoded text: no lone surrogates; 64-bit integers),
# with the characters that matter over-represented
_TEXT = st.text(st.characters(exclude_categories=("Cs",)) | st.sampled_from("<>&/\u2028\u2029\"'"))


@given(st.recursive(_TEXT | st.integers(-(2**63), 2**63 - 1) | st.none(),
                    lambda c: st.lists(c, max_size=4) | st.dictionaries(_TEXT, c, max_size=4),
                    max_leaves=12))
def test_script_safe_json_cannot_leave_its_block(value: Any) -> None:
    out = script_safe(orjson.dumps(value)).decode()
    assert not set(out) & {"<", ">", "&", "\u2028", "\u2029"}
    assert json.loads(out) == value


def _svg(uri: str) -> ET.Element:
    assert uri.startswith("data:image/svg+xml;base64,")
    return ET.fromstring(base64.b64decode(uri.split(",", 1)[1]))


NS = "{http://www.w3.org/2000/svg}"


def test_plot_and_raw_records_against_the_input(tmp_path: Path) -> None:
    """alice: 7 events, 3 of them findings; mallory: RAW_CHUNK + 20 findings (so the raw records
    span two blocks) and 5 other events. Oracles: the records written here."""
    alice = "arn:aws:iam::111122223333:user/alice"
    records = []
    for n in range(7):
        name, svc = ("StopLogging", "cloudtrail") if n % 3 == 0 else ("Decrypt", "kms")
        records.append(ct(name, f"{svc}.amazonaws.com", n, eventTime=f"2026-03-14T09:{n:02d}:00Z",
                          eventID=f"a-{n}", userIdentity={"type": "IAMUser", "arn": alice}))
    for n in range(RAW_CHUNK + 25):
        name = "StopLogging" if n < RAW_CHUNK + 20 else "Decrypt"
        records.append(ct(name, "cloudtrail.amazonaws.com" if n < RAW_CHUNK + 20 else "kms.amazonaws.com",
                          eventTime=f"2026-03-14T10:{n // 60 % 60:02d}:{n % 60:02d}Z", eventID=f"m-{n}",
                          requestParameters={"name": f"trail-{n}"}))
    src = jsonl(tmp_path / "ct.jsonl", records)
    out = tmp_path / "r.html"
    got = report(out, str(src))
    assert got.returncode == 0, got.stderr
    page = Page(out.read_text(encoding="utf-8"))
    data = page.json_block("data")
    findings = [finding(data, i) for i in range(len(data["findings"]))]
    by_principal = {p["principal"]: p for p in data["principals"]}
    expect = {alice: (7, 3), "arn:aws:iam::111122223333:user/mallory": (RAW_CHUNK + 25, RAW_CHUNK + 20)}
    for who, (events, hits) in expect.items():
        p = by_principal[who]
        assert p["events"] == events and p["findings"] == hits
        svg = _svg(p["plot"])
        assert len(svg.findall(f"{NS}circle")) == hits
        assert svg.findall(f"{NS}rect[@class='ev']")
    # the raw record of every finding, from the chunked blocks, is the record written
    by_id = {r["eventID"]: r for r in records}
    chunk = data["meta"]["raw_chunk"]
    raw = [r for c in range((len(findings) + chunk - 1) // chunk) for r in page.json_block(f"raw-{c}")]
    assert len(raw) == len(findings) == RAW_CHUNK + 23
    for f, r in zip(findings, raw, strict=True):
        assert r == by_id[f["eventID"]]


def test_stdin_plots_findings_only_and_says_so(tmp_path: Path) -> None:
    rec = ct("StopLogging", "cloudtrail.amazonaws.com")
    out = tmp_path / "r.html"
    got = th("report", "-o", str(out), "-", stdin=(json.dumps(rec) + "\n").encode())
    assert got.returncode == 0, got.stderr
    data = Page(out.read_text(encoding="utf-8")).json_block("data")
    assert data["meta"]["notes"] and "stdin" in data["meta"]["notes"][0]
    assert data["principals"][0]["events"] is None
    assert len(_svg(data["principals"][0]["plot"]).findall(f"{NS}circle")) == 1
    assert "report written to" in got.stderr


def test_exit_codes_and_no_page_when_nothing_was_read(tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    missing = report(out, str(tmp_path / "nope"))
    assert missing.returncode == 2 and "no such file" in missing.stderr and not out.exists()
    nowhere = report(tmp_path / "no-folder" / "r.html", DEMO)
    assert nowhere.returncode == 2 and "does not exist" in nowhere.stderr
    assert "Traceback" not in nowhere.stderr
    (tmp_path / "ro").mkdir(mode=0o500)
    if os.geteuid() != 0:  # root writes anywhere
        denied = report(tmp_path / "ro" / "r.html", DEMO)
        assert denied.returncode == 1 and "cannot write the report" in denied.stderr
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "readme.txt").write_text("hello\n")
    nothing = report(out, str(tmp_path / "notes"))
    assert nothing.returncode == 4 and "nothing readable" in nothing.stderr and not out.exists()
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(ct("StopLogging", "cloudtrail.amazonaws.com")) + "\n{not json\n")
    partly = report(out, str(bad))
    assert partly.returncode == 3 and out.exists()
    summary = Page(out.read_text(encoding="utf-8")).json_block("data")["summary"]
    assert any("1 input error (bad_json 1)" in line for line in summary)
    assert any(f"{bad}:2 " in line and "bad JSON" in line for line in summary)
    assert "Traceback" not in partly.stderr


def test_detect_options_reach_the_report(tmp_path: Path) -> None:
    """--allow and --since/--until, as detect takes them: the allowlisted principal's findings
    and the findings outside the window are not in the page, and the summary says why."""
    records = [
        ct("StopLogging", "cloudtrail.amazonaws.com", 1, eventID="keep",
           userIdentity={"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/eve"}),
        ct("StopLogging", "cloudtrail.amazonaws.com", 2, eventID="allowed",
           userIdentity={"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/ops"}),
        ct("StopLogging", "cloudtrail.amazonaws.com", eventID="too-late",
           eventTime="2026-03-15T10:00:00Z"),
    ]
    src = jsonl(tmp_path / "ct.jsonl", records)
    allow = tmp_path / "allow.yml"
    allow.write_text("allow:\n  - principal: arn:aws:iam::111122223333:user/ops\n"
                     "    reason: the logging owners\n", encoding="utf-8")
    out = tmp_path / "r.html"
    got = report(out, "--allow", str(allow), "--until", "2026-03-14T23:59:59Z", str(src))
    assert got.returncode == 0, got.stderr
    data = Page(out.read_text(encoding="utf-8")).json_block("data")
    assert [finding(data, i)["eventID"] for i in range(len(data["findings"]))] == ["keep"]
    summary = "\n".join(data["summary"])
    assert "the logging owners" in summary and "1 finding removed" in summary
    assert "time window" in summary and "1 matched event outside it" in summary


def test_page_holds_the_highest_scored_findings_and_says_how_many_more(tmp_path: Path) -> None:
    """`--max-findings N` bounds the page: its rows and raw records are detect's first N (the
    highest-scored), the page counts every finding and says how many are not in it; the
    principals are still ranked over every finding, as `principals` ranks them."""
    out = tmp_path / "report.html"
    got = report(out, "--max-findings", "7", DEMO)
    assert got.returncode == 0, got.stderr
    page = Page(out.read_text(encoding="utf-8"))
    data = page.json_block("data")
    rows = [json.loads(x) for x in th("detect", "--format", "jsonl", "-q", DEMO).stdout.splitlines()]
    assert len(rows) > 7
    assert [finding(data, i)["eventID"] for i in range(len(data["findings"]))] == [
        r["eventID"] for r in rows[:7]]
    assert data["meta"]["findings"] == len(rows) and data["meta"]["findings_in_page"] == 7
    raw_blocks = [attrs["id"] for attrs, _ in page.scripts if (attrs.get("id") or "").startswith("raw-")]
    assert sum(len(page.json_block(b)) for b in raw_blocks) == 7
    note = f"the 7 highest-scored of {len(rows)} findings ({len(rows) - 7} more not in it"
    assert any(note in n for n in data["meta"]["notes"])
    ranked = [json.loads(x) for x in th("principals", "--format", "jsonl", "-q", DEMO).stdout.splitlines()]
    assert [(p["principal"], p["findings"]) for p in data["principals"]] == [
        (p["principal"], p["findings"]) for p in ranked]


def test_page_says_which_principals_are_plotted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from trailhound.cli import report_cmd
    from trailhound.cli.app import main

    monkeypatch.setattr(report_cmd, "PLOT_LIMIT", 3)
    out = tmp_path / "report.html"
    with pytest.raises(SystemExit) as ex:
        main(["report", "-q", "--findings-only", "-o", str(out), DEMO])
    assert ex.value.code == 0, capsys.readouterr().err
    data = Page(out.read_text(encoding="utf-8")).json_block("data")
    principals = data["principals"]
    assert len(principals) > 3
    assert [p["rank"] for p in principals if p["plot"]] == [1, 2, 3]
    assert data["meta"]["plotted"] == (
        f"Timeline plots: the 3 highest-ranked principals (#1 to #3) of {len(principals)}; "
        "the others are listed without one.")
