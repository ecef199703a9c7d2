"""`trailhound hunt` as a user runs it (subprocess), the registry, docs/hunts.md, and every hunt
over the real invictus-ir trail."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from pathlib import Path

import pytest

from tests.hunt_fixtures import (
    at,
    ct,
    oracle_access_key_for_other_user,
    oracle_assume_role_cross_account,
    oracle_enumeration_bursts,
    oracle_recon_then_tampering,
    oracle_recon_without_tampering,
    user,
    write_trail,
)
from tests.test_cli import ESC_ATTACK, th
from tests.test_hunts import hunt_rows
from trailhound.hunts.docs import render
from trailhound.hunts.registry import hunts, sql_dir

REPO = Path(__file__).resolve().parents[1]


def test_registry_holds_every_sql_file() -> None:
    files = {f.stem for f in sql_dir().glob("*.sql") if not f.name.startswith("_")}
    assert set(hunts()) == files
    assert len(files) >= 10
    for name in hunts():
        h = hunts().get(name)
        assert h.description and h.tags and all(t.startswith("attack.") for t in h.tags), name


def test_hunt_list_lists_every_hunt() -> None:
    p = th("hunt", "list")
    assert p.returncode == 0, p.stderr
    listed = {line.split()[0] for line in p.stdout.splitlines() if line and not line[0].isspace()}
    assert listed == set(hunts())


def test_hunt_show_prints_the_sql() -> None:
    p = th("hunt", "show", "recon_then_tampering")
    assert p.returncode == 0
    assert p.stdout == (sql_dir() / "recon_then_tampering.sql").read_text(encoding="utf-8")


def test_hunt_help_names_the_events_columns_in_order() -> None:
    """HUNT_HELP lists the columns by hand (importing the table's module would load DuckDB
    for every command's start); this keeps the list equal to hunts.store.COLUMNS."""
    from trailhound.cli.hunt_cmd import HUNT_HELP
    from trailhound.hunts.store import COLUMNS

    listed = HUNT_HELP.split("table `events` (", 1)[1].split(")", 1)[0]
    names = [n.split()[0] for n in " ".join(listed.split()).split(", ")]
    assert names == list(COLUMNS)


def test_docs_page_is_the_registry() -> None:
    page = (REPO / "docs" / "hunts.md").read_text(encoding="utf-8")
    for name in hunts():
        assert f"### `{name}`" in page, name
    assert page == render(), "docs/hunts.md is stale: python -m trailhound.hunts.docs > docs/hunts.md"


def test_broken_sql_one_line_exit_2(tmp_path: Path) -> None:
    logs = write_trail(tmp_path / "t.json", [ct("ListUsers", "iam.amazonaws.com", at(0), user("a"))])
    for text, reason in (
        ("SELEC principal FROM events", "Parser Error"),
        ("SELECT no_such_column FROM events", "Binder Error"),
    ):
        bad = tmp_path / "bad.sql"
        bad.write_text(text)
        p = th("hunt", "--hunt-sql", str(bad), str(logs))
        assert p.returncode == 2, p.stderr
        lines = p.stderr.strip().splitlines()
        assert len(lines) == 1, p.stderr
        assert str(bad) in lines[0] and reason in lines[0]
        assert "Traceback" not in p.stderr and p.stdout == ""


def test_unknown_hunt_and_missing_paths_are_usage_errors(tmp_path: Path) -> None:
    p = th("hunt", "recon_then_tamper", str(tmp_path))
    assert p.returncode == 2 and "Did you mean 'recon_then_tampering'" in p.stderr
    p = th("hunt", "recon_then_tampering")
    assert p.returncode == 2 and "PATHS" in p.stderr
    p = th("hunt", "--hunt-sql", str(tmp_path / "nope.sql"), str(tmp_path))
    assert p.returncode == 2 and "nope.sql" in p.stderr and "Traceback" not in p.stderr


def test_user_sql_with_plain_comments(tmp_path: Path) -> None:
    recs = [ct(op, "iam.amazonaws.com", at(i), user("a")) for i, op in
            enumerate(["ListUsers", "ListUsers", "CreateUser", "ListRoles", "ListUsers"])]
    logs = write_trail(tmp_path / "t.json", recs)
    mine = tmp_path / "mine.sql"
    mine.write_text("-- calls per operation\n-- (my own)\n"
                    "SELECT operation, count(*) AS n FROM events GROUP BY ALL ORDER BY operation\n")
    p = th("hunt", "--hunt-sql", str(mine), "--format", "jsonl", str(logs))
    assert p.returncode == 0, p.stderr
    got = {r["operation"]: r["n"] for r in map(json.loads, p.stdout.splitlines())}
    assert got == Counter(r["eventName"] for r in recs)


def _hostile_logs(tmp_path: Path) -> Path:
    """A principal whose new user agent (3 hours in) is a terminal attack and a CSV formula."""
    who = user("jack")
    recs = [
        ct("ListBuckets", "s3.amazonaws.com", at(0), who),
        ct("ListBuckets", "s3.amazonaws.com", at(180), who, ua=ESC_ATTACK),
        ct("ListBuckets", "s3.amazonaws.com", at(181), who, ua="=HYPERLINK(\"http://x\")"),
    ]
    return write_trail(tmp_path / "t.json", recs)


def test_table_output_escapes_log_text(tmp_path: Path) -> None:
    p = th("hunt", "new_source_for_principal", str(_hostile_logs(tmp_path)))
    assert p.returncode == 0, p.stderr
    assert "\x1b" not in p.stdout and "\x9b" not in p.stdout and "\u202e" not in p.stdout
    assert "\\x1b[2J" in p.stdout


def test_csv_output_neutralises_formulas(tmp_path: Path) -> None:
    p = th("hunt", "new_source_for_principal", "--format", "csv", str(_hostile_logs(tmp_path)))
    assert p.returncode == 0, p.stderr
    rows = list(csv.DictReader(io.StringIO(p.stdout)))
    values = {r["value"] for r in rows if r["kind"] == "user_agent"}
    assert "'=HYPERLINK(\"http://x\")" in values


def test_bad_input_counted_rest_hunted_exit_3(tmp_path: Path) -> None:
    logs = write_trail(tmp_path / "t.json", [
        ct("CreateAccessKey", "iam.amazonaws.com", at(0), user("a"), request={"userName": "b"}),
    ])
    (tmp_path / "broken.jsonl").write_text('{"eventName": \n')
    p = th("hunt", "access_key_for_other_user", "--format", "jsonl", str(logs), str(tmp_path / "broken.jsonl"))
    assert p.returncode == 3
    assert [json.loads(x)["target_user"] for x in p.stdout.splitlines()] == ["b"]
    assert "broken.jsonl" in p.stderr and "Traceback" not in p.stderr


# ---------------------------------------------------------------------------------------------
# The real invictus-ir trail (a Stratus Red Team run): every hunt runs; the AWS hunts whose
# oracle covers their whole definition give the oracle's rows.


@pytest.fixture(scope="module")
def invictus_records(request: pytest.FixtureRequest) -> list[dict]:
    from tests.conftest import EXTERNAL

    records = []
    for f in sorted((EXTERNAL / "invictus-ir-aws_dataset" / "CloudTrail").glob("*.json")):
        records += json.loads(f.read_text(encoding="utf-8"))["Records"]
    return records


@pytest.fixture
def invictus(external: Path, invictus_records: list[dict]) -> tuple[Path, list[dict]]:
    """The trail folder and its records (skipped outside CI, failed in CI, when ../shared is
    absent: the `external` fixture)."""
    return external / "invictus-ir-aws_dataset" / "CloudTrail", invictus_records


@pytest.mark.parametrize("name", sorted(hunts()))
def test_every_hunt_runs_on_the_real_trail(name: str, invictus: tuple[Path, list[dict]]) -> None:
    folder, _ = invictus
    rows = hunt_rows(name, folder)
    for r in rows:  # sane rows: every principal a hunt names is a caller in the trail
        if r.get("principal"):
            assert r["principal"].startswith(("arn:aws:", "AIDA", "AROA")), r


ORACLES = {
    "access_key_for_other_user": (
        oracle_access_key_for_other_user,
        lambda r: (r["time"], r["principal"], r["target_user"], r["access_key_id"], r["error_code"]),
    ),
    "assume_role_cross_account": (
        oracle_assume_role_cross_account,
        lambda r: (r["principal"], r["caller_account"], r["role_arn"], r["role_account"],
                   r["chained"], r["session_arn"], r["calls_as_role"]),
    ),
    "enumeration_bursts": (
        oracle_enumeration_bursts,
        lambda r: (r["principal"], r["window_start"], r["calls"], r["operations"]),
    ),
    "recon_then_tampering": (
        oracle_recon_then_tampering,
        lambda r: (r["principal"], r["tamper_time"], r["tamper_operation"], r["status"],
                   r["recon_calls"], tuple(r["recon_operations"])),
    ),
    "recon_without_tampering": (
        oracle_recon_without_tampering,
        lambda r: (r["principal"], r["burst_start"], r["burst_end"], r["calls"], tuple(r["operations"])),
    ),
}


@pytest.mark.parametrize("name", sorted(ORACLES))
def test_real_trail_matches_the_oracle(name: str, invictus: tuple[Path, list[dict]]) -> None:
    folder, records = invictus
    oracle, key = ORACLES[name]
    assert {key(r) for r in hunt_rows(name, folder)} == oracle(records)


def test_long_tables_are_drawn_whole() -> None:
    """No row cap any more (the table writer takes ~10 us a row, not rich's 0.5 ms)."""
    from trailhound.report.rows import write_rows_table

    out = io.StringIO()
    write_rows_table(["n"], ({"n": i} for i in range(1005)), out)
    body = out.getvalue().splitlines()[2:]  # after the header and its rule
    assert [int(x) for x in body] == list(range(1005))


def test_giant_record_loaded_without_raw(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from trailhound.hunts import store
    from trailhound.hunts.registry import parse_hunt
    from trailhound.hunts.run import run_hunt
    from trailhound.profiles import get_profile

    monkeypatch.setattr(store, "MAX_LINE", 4000)
    big = ct("PutBucketPolicy", "s3.amazonaws.com", at(1), user("a"), request={"policy": "x" * 5000})
    logs = write_trail(tmp_path / "t.json", [ct("ListUsers", "iam.amazonaws.com", at(0), user("a")), big])
    q = parse_hunt("SELECT operation, raw IS NULL AS no_raw FROM events ORDER BY ts", "q.sql", shipped=False)
    with run_hunt(q, [str(logs)], get_profile("corrected"), shipped=False) as run:
        rows = list(run.rows)
    assert rows == [{"operation": "ListUsers", "no_raw": False}, {"operation": "PutBucketPolicy", "no_raw": True}]
    assert run.stats.skipped["raw_too_large_for_hunts"] == 1 and run.stats.error_count == 0


def test_since_until_window(tmp_path: Path) -> None:
    from tests.hunt_fixtures import iso

    recs = [
        ct("CreateAccessKey", "iam.amazonaws.com", at(m), user("a"), request={"userName": f"u{m}"})
        for m in (0, 60, 120)
    ]
    logs = write_trail(tmp_path / "t.json", recs)
    since, until = at(30), at(120)  # until is exclusive
    p = th("hunt", "access_key_for_other_user", "--format", "jsonl",
           "--since", iso(since), "--until", iso(until), str(logs))
    assert p.returncode == 0, p.stderr
    got = [json.loads(x)["target_user"] for x in p.stdout.splitlines()]
    expected = [r["requestParameters"]["userName"] for r in recs
                if since.strftime("%Y-%m-%dT%H:%M:%SZ") <= r["eventTime"] < until.strftime("%Y-%m-%dT%H:%M:%SZ")]
    assert got == expected == ["u60"]


def test_missing_path_and_nothing_readable(tmp_path: Path) -> None:
    p = th("hunt", "recon_then_tampering", str(tmp_path / "nope"))
    assert p.returncode == 2 and "nope: no such file or folder" in p.stderr and p.stdout == ""
    (tmp_path / "empty").mkdir()
    p = th("hunt", "recon_then_tampering", str(tmp_path / "empty"))
    assert p.returncode == 4 and "nothing readable" in p.stderr and p.stdout == ""
