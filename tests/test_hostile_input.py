"""Hostile, huge and odd input: never a hang, never unbounded memory, nothing slips through.

Each input is built on the fly (tests/hostile_inputs.py) at CI size, with the caps lowered
through their environment variables so the large-input paths run on megabytes: the streaming
threshold at 256 KiB and the record limit at 64 KiB. Every case runs the real CLI as a
subprocess over the hostile file AND a clean control file (a CloudTrail S3 file holding a
StopLogging record), for each engine, and checks the exit code, the stderr line naming the
problem, that the control file's finding is there, and (where memory is the point) the peak
RSS of the whole process tree against the same engine scanning two clean files: a reader that
held the input whole would be 100+ MB over it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests import hostile_inputs as H

ENGINES = ["reference", "parallel", "fast"]
MiB = 1 << 20
CAPS = {
    "TRAILHOUND_STREAM_THRESHOLD": str(256 << 10),
    "TRAILHOUND_MAX_RECORD": str(64 << 10),
    "TRAILHOUND_SPILL_AFTER": "5000",
}
# Over the clean two-file baseline. Each hostile input below holds 100+ MB (inflated, or
# decoded into Python objects) for a reader that does not stream it.
RSS_MARGIN = 60 * MiB


def _psutil() -> None:
    try:
        import psutil  # noqa: F401
    except ImportError:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip("psutil is not installed (pip install -e '.[test]')")


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("hostile")
    H.control_file(d / "control.json")
    # big enough (about 2 MB) that the worker processes live long enough to be sampled: the
    # baseline must be the whole process tree, as in the hostile runs
    clean = [H.ct("ListUsers", n=i % 60) for i in range(4000)]
    (d / "clean.json").write_text(json.dumps({"Records": clean}))
    return d


def detect(engine: str, *paths: Path | str, env: dict[str, str] | None = None,
           stdin: Path | None = None) -> H.Run:
    _psutil()
    return H.run_measured(
        ["detect", "--engine", engine, "--format", "jsonl", "--profile", "seed",
         *map(str, paths)],
        env={**CAPS, **(env or {})},
        timeout=300,
        stdin=stdin,
    )


def findings(run: H.Run) -> list[tuple[str, str]]:
    """(eventName, eventID) of every finding."""
    rows = [json.loads(line) for line in run.stdout.splitlines()]
    return sorted((r["eventName"], r["eventID"]) for r in rows)


CONTROL = ("StopLogging", H.stop_logging(7)["eventID"])


@pytest.fixture(scope="module")
def baseline(files: Path) -> dict[str, int]:
    """Peak RSS of each engine on two clean files (the pool starts for two files)."""
    out = {}
    for engine in ENGINES:
        run = detect(engine, files / "control.json", files / "clean.json")
        assert run.returncode == 0, run.stderr
        assert findings(run) == [CONTROL]
        out[engine] = run.peak_rss
    return out


def check(run: H.Run, code: int, *stderr: str, extra: list[tuple[str, str]] = ()) -> None:  # type: ignore[assignment]
    assert run.returncode == code, run.stderr
    for text in stderr:
        assert text in run.stderr, run.stderr
    assert "Traceback" not in run.stderr
    assert findings(run) == sorted([CONTROL, *extra]), run.stderr


def bounded(run: H.Run, baseline: dict[str, int], engine: str, margin: int = RSS_MARGIN) -> None:
    limit = baseline[engine] + margin
    assert run.peak_rss < limit, (
        f"peak RSS {run.peak_rss / MiB:.0f} MiB, over {limit / MiB:.0f} MiB "
        f"(baseline {baseline[engine] / MiB:.0f} MiB)"
    )


Build = Callable[[Path], Path]


@pytest.mark.parametrize("engine", ENGINES)
def test_gzip_bomb_stopped_early_with_its_position(files: Path, baseline: dict[str, int],
                                                  engine: str) -> None:
    bomb = files / "bomb.json.gz"
    if not bomb.exists():
        H.gzip_bomb(bomb, 256 * MiB)  # 256 KiB of gzip
    run = detect(engine, files / "control.json", bomb)
    check(run, 3, f"{bomb} (compressed byte ", "likely a decompression bomb",
          "--max-inflate-ratio", "inflate_limit 1")
    bounded(run, baseline, engine)


def test_a_genuine_highly_compressible_file_passes_with_the_cap_raised(files: Path) -> None:
    """The override works: the same kind of input under a raised ratio cap is read in full."""
    dense = files / "dense.jsonl.gz"
    H.big_jsonl(dense, 4 * MiB, gz=True)  # CloudTrail lines repeated: about 200:1
    run = detect("parallel", files / "control.json", dense, env={"TRAILHOUND_MAX_INFLATE_RATIO": "1"})
    check(run, 3, "inflate_limit 1", extra=[])
    run = detect("parallel", files / "control.json", dense, env={"TRAILHOUND_MAX_INFLATE_RATIO": "100000"})
    check(run, 0, extra=[("StopLogging", H.stop_logging(41)["eventID"])])


@pytest.mark.parametrize("engine", ENGINES)
def test_document_that_never_ends(files: Path, baseline: dict[str, int], engine: str) -> None:
    spaces = files / "spaces.json"
    if not spaces.exists():
        H.open_records_then_spaces(spaces, 128 * MiB)
    run = detect(engine, files / "control.json", spaces)
    check(run, 3, f"{spaces}:1 (byte {12 + 128 * MiB}) at /Records/0: bad JSON: the input ends "
          "inside the array")
    bounded(run, baseline, engine)


@pytest.mark.parametrize("engine", ENGINES)
def test_large_json_lines_file_streams(files: Path, baseline: dict[str, int], engine: str) -> None:
    big = files / "big.jsonl"
    if not big.exists():
        H.big_jsonl(big, 64 * MiB)
    run = detect(engine, files / "control.json", big)
    check(run, 0, extra=[("StopLogging", H.stop_logging(41)["eventID"])])
    lines = sum(1 for _ in big.open("rb"))
    assert f"2 files, {lines + 2} records" in run.stderr, run.stderr
    bounded(run, baseline, engine)


@pytest.mark.parametrize("engine", ["parallel", "fast"])
def test_large_stdin_streams_beside_files(files: Path, baseline: dict[str, int], engine: str) -> None:
    """`-` among files: the worker engines once read all of stdin into memory before scanning
    (128 MiB here, over the margin); now the main process streams it when its turn comes, and
    the files around it are read by the workers as before."""
    big = files / "big-stdin.jsonl"
    if not big.exists():
        H.big_jsonl(big, 128 * MiB)
    run = detect(engine, files / "clean.json", "-", files / "control.json", stdin=big)
    check(run, 0, extra=[("StopLogging", H.stop_logging(41)["eventID"])])
    lines = sum(1 for _ in big.open("rb"))
    assert f"3 files, {lines + 4002} records" in run.stderr, run.stderr
    bounded(run, baseline, engine)


@pytest.mark.parametrize("engine", ENGINES)
def test_many_tiny_records_in_one_document(files: Path, baseline: dict[str, int],
                                           engine: str) -> None:
    tiny = files / "tiny.json"
    if not tiny.exists():
        H.tiny_records(tiny, 50_000)
    run = detect(engine, files / "control.json", tiny)
    # the tiny records carry no eventTime: each is reported (missing_field), none is lost
    check(run, 3, "2 files, 50002 records", "missing_field 49999",
          extra=[("StopLogging", H.stop_logging(5)["eventID"])])
    bounded(run, baseline, engine)


@pytest.mark.parametrize("engine", ENGINES)
def test_many_bad_records_are_counted_not_kept(files: Path, baseline: dict[str, int],
                                               engine: str) -> None:
    empty = files / "empty.json"
    if not empty.exists():
        H.empty_records(empty, 50_000)
    run = detect(engine, files / "control.json", empty)
    check(run, 3, "50000 input errors (unknown_envelope 50000)", f"{empty} at /Records/0: ",
          "... and 49980 more")
    bounded(run, baseline, engine)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("junk", [40, 2 * MiB], ids=["bad-first-line", "giant-junk-line"])
def test_json_lines_after_a_bad_first_line_are_read(files: Path, engine: str, junk: int) -> None:
    path = files / f"junk{junk}.jsonl"
    if not path.exists():
        H.junk_then_record(path, junk)
    run = detect(engine, files / "control.json", path)
    want = f"{path}:1 (byte 0): " + ("bad JSON" if junk < 64 << 10 else "line is larger than "
                                     "the record limit (64 KiB); skipped; if the input is "
                                     "genuine, raise the limit with --max-record-size")
    check(run, 3, want, extra=[("StopLogging", H.stop_logging(2)["eventID"])])


@pytest.mark.parametrize("engine", ENGINES)
def test_record_over_the_limit_is_skipped_and_the_rest_read(files: Path, engine: str) -> None:
    path = files / "fat.json"
    fat = H.ct("PutObject", n=1, requestParameters={"blob": "x" * (100 << 10)})
    records = [H.ct("ListUsers", n=i % 60) for i in range(3000)] + [fat, H.stop_logging(9)]
    path.write_text(json.dumps({"Records": records}))  # 1 MiB: streamed
    run = detect(engine, files / "control.json", path)
    check(run, 3, f"{path}:1 (byte ", "at /Records/3000: array element is larger than the "
          "record limit (64 KiB)", "too_large 1", extra=[("StopLogging", H.stop_logging(9)["eventID"])])
    assert "2 files, 3003 records" in run.stderr, run.stderr


def test_bad_cap_value_is_a_usage_error(files: Path) -> None:
    run = detect("parallel", files / "control.json", env={"TRAILHOUND_MAX_RECORD": "lots"})
    assert run.returncode == 2 and "TRAILHOUND_MAX_RECORD" in run.stderr, run.stderr
    assert "Traceback" not in run.stderr
    _psutil()
    p = H.run_measured(["detect", "--max-record-size", "12x", str(files / "control.json")])
    assert p.returncode == 2 and "--max-record-size" in p.stderr and "Traceback" not in p.stderr


# --- the streamed readers against the whole-buffer readers (in process, every shape) ----------

_REC = H.ct("StopLogging", "cloudtrail.amazonaws.com", 4)
_LINE = json.dumps(_REC)
SHAPES: dict[str, bytes] = {
    "s3 document": json.dumps({"Records": [H.ct("ListUsers", n=i) for i in range(40)]}).encode(),
    "pretty document": json.dumps({"Records": [_REC, {"x": 1}, 5]}, indent=2).encode(),
    "azure records after a member": json.dumps({"meta": 1, "records": [_REC]}).encode(),
    "rest page": json.dumps({"value": [_REC], "nextLink": None}).encode(),
    "top-level array": json.dumps([_REC, [_REC], "s"]).encode(),
    "json lines": "\n".join([_LINE, "", "{bad", _LINE + _LINE, "7"]).encode(),
    "concatenated pretty": (json.dumps(_REC, indent=1) + "\n" + json.dumps(_REC, indent=1)).encode(),
    "one object": json.dumps({"detail-type": "x", "detail": _REC, "source": "aws.s3"}).encode(),
    "broken element": (json.dumps({"Records": [_REC, _REC]})[:-30] + "tru}, {}]}").encode(),
    "cut document": json.dumps({"Records": [_REC, _REC]}).encode()[:-40],
    "junk first line": b"garbage here\n" + _LINE.encode() + b"\nmore junk\n",
    "not json at all": b"hello\nworld\n",
    "bom": b"\xef\xbb\xbf" + _LINE.encode(),
    "utf-16": json.dumps({"Records": [_REC]}).encode("utf-16"),
    "gzip cut": __import__("gzip").compress(json.dumps({"Records": [_REC] * 30}).encode())[:-200],
}


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_streamed_reader_reads_what_the_whole_buffer_reader_reads(shape: str) -> None:
    """Forced to stream (threshold 1 byte), every shape gives the same records and issues as
    the whole-buffer path (the oracle here), except the documented position differences."""
    from trailhound.sources.limits import Limits
    from trailhound.sources.reader import read_bytes

    raw = SHAPES[shape]
    whole = list(read_bytes(raw, "f", True, Limits(stream_threshold=1 << 30)))
    streamed = list(read_bytes(raw, "f", True, Limits(stream_threshold=1)))
    assert whole  # every shape yields something (records or issues)
    if shape in ("broken element", "cut document"):
        # The whole-buffer salvage places the records of a broken document at its start
        # (line 1, byte 0); streamed, they are read before the break is known: no line/offset.
        whole = [_unplaced(x) for x in whole]
        streamed = [_unplaced(x) for x in streamed]
    assert streamed == whole


def _unplaced(item: object) -> object:
    from dataclasses import replace

    from trailhound.model import RawRecord

    if isinstance(item, RawRecord):
        return replace(item, location=replace(item.location, line=None, offset=None))
    return item


# ---------------------------------------------------------------------------------------------
# Files where every record matches (#9): the matches of one input are handed on in batches,
# never held whole (a worker once held a file's matches, ~2.6 KB each, until the file ended).

MATCHING_MARGIN = 150 * MiB  # see test_files_of_matches_through_workers_in_batches
MATCHING = 30_000  # records of one file, every one a finding: ~80 MB held whole, over margin


def matching_ids(*paths: Path) -> list[tuple[str, str]]:
    """The oracle: (eventName, eventID) of every StopLogging record, read with plain json."""
    out = []
    for path in paths:
        with path.open("rb") as fh:
            out += [(r["eventName"], r["eventID"]) for r in map(json.loads, fh)
                    if r["eventName"] == "StopLogging"]
    return out


@pytest.fixture(scope="module")
def baseline_one(files: Path) -> int:
    """Peak RSS of `fast` on one clean file (read in this process: no worker starts)."""
    run = detect("fast", files / "clean.json")
    assert run.returncode == 0, run.stderr
    return run.peak_rss


def test_one_file_of_matches_is_handed_on_in_batches(files: Path, baseline_one: int) -> None:
    path = files / "matching.jsonl"
    if not path.exists():
        H.matching_jsonl(path, MATCHING)
    run = detect("fast", path)
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    assert f"1 file, {MATCHING} records" in run.stderr, run.stderr
    want = matching_ids(path)
    assert len(want) == MATCHING and findings(run) == sorted(want)
    bounded(run, {"fast": baseline_one}, "fast")


@pytest.mark.parametrize("engine", ["parallel", "fast"])
def test_files_of_matches_through_workers_in_batches(files: Path, baseline: dict[str, int],
                                                     engine: str) -> None:
    """Several files of matches, read by the workers: each sends its matches in partial
    replies while it reads, in input order, with the other files' findings and counts."""
    half = MATCHING // 2
    parts = [files / "matching-a.jsonl", files / "matching-b.jsonl"]
    for k, path in enumerate(parts):
        if not path.exists():
            H.matching_jsonl(path, half, start=k * half)
    run = detect(engine, parts[0], files / "control.json", parts[1])
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    assert f"3 files, {MATCHING + 2} records" in run.stderr, run.stderr
    assert findings(run) == sorted([CONTROL, *matching_ids(*parts)])
    # Measured (session 9): batches hold 41-56 MiB over the baseline (two workers' files and
    # the scoring budget), too near RSS_MARGIN to pass every time (one run saw 61); a worker
    # holding each file's matches whole (PART unbounded) held 415-449 MiB over it
    bounded(run, baseline, engine, margin=MATCHING_MARGIN)
