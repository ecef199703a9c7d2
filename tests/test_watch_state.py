"""Incremental detection without crashes: `detect --state` as a cron job, the output file's
recovery, bad input inside a cycle."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.watch_fixtures import ACCOUNT, CORRELATION, T0, Planted, drop_batch, record
from trailhound.cli.app import cli, main
from trailhound.sources import datepath
from trailhound.sources.datepath import before, date_of
from trailhound.watch.sinks import AlertFile
from trailhound.watch.state import Alert, State


def _detect_state(logs: Path, db: Path, *extra: str) -> tuple[int, list[dict[str, object]], str]:
    res = CliRunner().invoke(
        cli, ["detect", "--state", str(db), "--format", "jsonl", "-q", "--engine", "reference",
              *extra, str(logs)],
    )
    return res.exit_code, [json.loads(x) for x in res.stdout.splitlines()], res.stderr


def test_detect_state_reads_only_new_files_and_repeats_no_alert(tmp_path: Path) -> None:
    logs, db = tmp_path / "logs", tmp_path / "s.db"
    planted = Planted()
    drop_batch(logs, 0, planted)
    code, first, _ = _detect_state(logs, db)
    assert code == 0
    # batch 0 alone: its CreateUser (iam_change); the recon is not a finding on its own
    assert {a["eventID"] for a in first} == {"iam-0000"}
    code, again, _ = _detect_state(logs, db)
    assert (code, again) == (0, [])  # nothing new is not "nothing read" (exit 4)
    drop_batch(logs, 1, planted)  # StopLogging by user0: the recon of batch 0 now correlates
    code, second, _ = _detect_state(logs, db)
    pairs = Counter((a["eventID"], a["rule_id"]) for a in second)
    assert pairs[("recon-0000", CORRELATION)] == 1
    assert pairs[("tamper-0001", CORRELATION)] == 1
    assert not any(a["eventID"] == "iam-0000" for a in second)  # emitted by the first run
    assert [a["seq"] for a in second] == sorted(a["seq"] for a in second)
    assert min(a["seq"] for a in second) > max(a["seq"] for a in first)


def test_detect_state_bad_file_counted_once_and_others_processed(tmp_path: Path) -> None:
    logs, db = tmp_path / "logs", tmp_path / "s.db"
    drop_batch(logs, 0, Planted())
    (logs / "broken.json").write_text('{"Records": [')
    code, alerts, err = _detect_state(logs, db)
    assert code == 3 and "broken.json" in err
    assert {a["eventID"] for a in alerts} == {"iam-0000"}
    code, alerts, _ = _detect_state(logs, db)
    assert (code, alerts) == (0, [])  # the broken file unchanged is not read (nor reported) again


def test_detect_state_refuses_stdin(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main(["detect", "--state", str(tmp_path / "s.db"), "-"])
    assert e.value.code == 2
    assert "stdin cannot be read incrementally" in capsys.readouterr().err


def _state_with(path: Path, n: int) -> State:
    state = State(str(path))
    alerts = [Alert(f"a{i}", json.dumps({"alert_id": f"a{i}"}).encode()) for i in range(n)]
    assert state.commit_cycle([], alerts, []) == n
    assert state.commit_cycle([], alerts, []) == 0  # the same alerts again: none new
    return state


def test_output_file_torn_line_is_cut_and_completed(tmp_path: Path) -> None:
    state = _state_with(tmp_path / "s.db", 5)
    out = tmp_path / "out.jsonl"
    AlertFile(str(out), state).flush()
    whole = out.read_bytes()
    out.write_bytes(whole[: whole.index(b'{"seq":4') + 7])  # killed while writing seq 4
    AlertFile(str(out), state).flush()
    assert out.read_bytes() == whole


def test_output_file_ahead_of_the_database_is_cut_back(tmp_path: Path) -> None:
    # a line the database does not hold (it lost its last commit): cut, then rewritten from it
    state = _state_with(tmp_path / "s.db", 3)
    out = tmp_path / "out.jsonl"
    AlertFile(str(out), state).flush()
    whole = out.read_bytes()
    out.write_bytes(whole + b'{"seq":9,"alert_id":"ghost"}\n{"seq":10,')
    sink = AlertFile(str(out), state)
    assert sink.last == 3
    assert out.read_bytes() == whole


def test_output_file_long_lines_span_read_blocks(tmp_path: Path) -> None:
    state = State(str(tmp_path / "s.db"))
    big = [Alert(f"a{i}", json.dumps({"pad": "x" * 100_000, "i": i}).encode()) for i in range(3)]
    state.commit_cycle([], big, [])
    out = tmp_path / "out.jsonl"
    AlertFile(str(out), state).flush()
    whole = out.read_bytes()
    out.write_bytes(whole[:-50_000])
    AlertFile(str(out), state).flush()
    assert out.read_bytes() == whole
    assert [json.loads(x)["i"] for x in whole.splitlines()] == [0, 1, 2]


def test_state_and_output_inside_the_watched_folder_are_not_read(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    drop_batch(logs, 0, Planted())
    with pytest.raises(SystemExit) as e:
        main(["watch", "--state", str(logs / "s.db"), "--output", str(logs / "out.jsonl"),
              "--cycles", "2", "--interval", "0s", "--engine", "reference", "-q", str(logs)])
    assert e.value.code == 0  # nothing unreadable: the database and the alerts were not inputs
    assert [json.loads(x)["eventID"] for x in (logs / "out.jsonl").read_text().splitlines()] == [
        "iam-0000"
    ]


def test_datepath_before() -> None:
    base = "/x/AWSLogs/111122223333/CloudTrail/us-east-1"
    day = (2026, 3, 14)
    assert before(f"{base}/2026/03/13", day) and before(f"{base}/2025", day)
    assert before(f"{base}/2026/02", day) and not before(f"{base}/2026/03", day)
    assert not before(f"{base}/2026/03/14", day) and not before(f"{base}/2026/03/15/", day)
    assert not before(base, day) and not before("/x/logs/2020/01/01", day)  # not the layout
    assert date_of(f"{base}/2026/03/13/f.json.gz") == (2026, 3, 13)


def test_watch_lookback_skips_old_date_folders(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    drop_batch(logs, 0, Planted())  # 2026/03/14
    base = logs / "AWSLogs" / ACCOUNT / "CloudTrail" / "us-east-1"
    argv = ["watch", "--state", str(tmp_path / "s.db"), "--output", str(tmp_path / "o.jsonl"),
            "--cycles", "1", "--lookback", "2d", "--engine", "reference", "-q", str(logs)]
    with pytest.raises(SystemExit):
        main(argv)
    for day, eid in (("2026/03/10", "old-1"), ("2026/03/13", "recent-1")):
        (base / day).mkdir(parents=True)
        (base / day / "f.json").write_text(json.dumps({"Records": [
            record("CreateUser", "x", T0, eid, "iam.amazonaws.com")]}))
    with pytest.raises(SystemExit):
        main(argv)
    ids = {json.loads(x)["eventID"] for x in (tmp_path / "o.jsonl").read_text().splitlines()}
    assert ids == {"iam-0000", "recent-1"}  # 03/10 is before 03/14 - 2 days: not even walked
    assert datepath.WALK_BEFORE is None  # the pruning was for the cycle only


def test_watch_to_stdout_resumes_from_its_cursor(tmp_path: Path) -> None:
    logs, db = tmp_path / "logs", str(tmp_path / "s.db")
    planted = Planted()
    drop_batch(logs, 0, planted)
    argv = ["watch", "--state", db, "--cycles", "1", "--engine", "reference", "-q", str(logs)]
    first = CliRunner().invoke(cli, argv)
    drop_batch(logs, 1, planted)
    second = CliRunner().invoke(cli, argv)
    rows = [json.loads(x) for x in (first.stdout + second.stdout).splitlines()]
    assert (first.exit_code, second.exit_code) == (0, 0)
    assert len({r["alert_id"] for r in rows}) == len(rows)  # nothing written twice
    assert [r["seq"] for r in rows] == sorted(r["seq"] for r in rows)
    assert ("recon-0000", CORRELATION) in {(r["eventID"], r["rule_id"]) for r in rows}


def test_detect_state_runs_the_rules_and_engine_asked_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from trailhound.engine.reference import ReferenceEngine

    rule = tmp_path / "mine.yml"
    rule.write_text(
        "title: ops describes instances\nid: 4f0e8a4c-5a55-4b7e-9d7a-0d3c2a1b9e11\n"
        "status: test\nlevel: high\nlogsource: {product: aws, service: cloudtrail}\n"
        "detection: {sel: {eventName: DescribeInstances}, condition: sel}\n"
    )
    scanned: list[int] = []
    real = ReferenceEngine.scan

    def counted(self: ReferenceEngine, *args: object, **kwargs: object) -> object:
        scanned.append(1)
        return real(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ReferenceEngine, "scan", counted)
    logs = tmp_path / "logs"
    drop_batch(logs, 0, Planted())
    code, alerts, _ = _detect_state(logs, tmp_path / "s.db", "--rules", str(rule))
    assert code == 0 and scanned  # the engine of --engine
    assert ("ops-0000", "4f0e8a4c-5a55-4b7e-9d7a-0d3c2a1b9e11") in {
        (a["eventID"], a["rule_id"]) for a in alerts
    }  # the rules of --rules


def test_state_refuses_another_programs_database_and_leaves_it_unchanged(tmp_path: Path) -> None:
    import sqlite3

    from trailhound.errors import UsageError

    other = tmp_path / "app.db"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE customers (id INTEGER, name TEXT)")
        db.execute("INSERT INTO customers VALUES (1, 'x')")
    db.close()
    before = other.read_bytes()
    with pytest.raises(UsageError, match="another program.*customers"):
        State(str(other))
    assert other.read_bytes() == before  # no table added, no WAL mode written
    assert not (tmp_path / "app.db-wal").exists()
    # an empty file is a new state, and a state opens again
    empty = tmp_path / "new.db"
    empty.touch()
    State(str(empty)).close()
    State(str(empty)).close()


def test_state_in_a_missing_folder_says_so(tmp_path: Path) -> None:
    from trailhound.errors import UsageError

    with pytest.raises(UsageError, match="folder .*missing.* does not exist"):
        State(str(tmp_path / "missing" / "s.db"))
