"""The DuckDB side of hunting: a temporary database with one `events` table (the normalized
fields of every event, plus the raw record as JSON for the fields no normalizer keeps) and the
reference lists of sql/_lists.sql.

Memory stays bounded whatever the input: events are written to a newline-delimited JSON batch
file on disk and bulk-inserted with DuckDB's own reader every BATCH events (no Python list of
all events, no per-row INSERT), and the database itself is a file in a temporary folder
(TMPDIR), so DuckDB pages to disk rather than holding the table in memory.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import orjson

from trailhound.errors import TrailhoundError
from trailhound.hunts.registry import sql_dir
from trailhound.model import Event, Issue
from trailhound.normalize.times import output_time
from trailhound.pipeline import ScanStats

BATCH = 50_000
DEFAULT_MEMORY = "256MB"  # DuckDB's ceiling for a hunt; past it, it spills to TMPDIR
MAX_LINE = 8 * 1024 * 1024  # bytes of one event's JSON line (CloudTrail caps a record at 256 KB)

# Column name -> DuckDB type, in table order. `ts` is the event time as a UTC TIMESTAMP
# (microseconds: what DuckDB's interval arithmetic works on); `time` the text `detect` prints
# (normalize.times.output_time: RFC 3339 UTC, milliseconds, whatever the log wrote); `origin`
# the file and position the record came from.
COLUMNS: dict[str, str] = {
    "ts": "TIMESTAMP",
    "time": "VARCHAR",
    "source": "VARCHAR",
    "provider": "VARCHAR",
    "operation": "VARCHAR",
    "service": "VARCHAR",
    "principal": "VARCHAR",
    "principal_type": "VARCHAR",
    "src_ip": "VARCHAR",
    "region": "VARCHAR",
    "account": "VARCHAR",
    "status": "VARCHAR",
    "error_code": "VARCHAR",
    "error_message": "VARCHAR",
    "user_agent": "VARCHAR",
    "event_id": "VARCHAR",
    "correlation_id": "VARCHAR",
    "origin": "VARCHAR",
    "raw": "JSON",
}


def _wire(e: Event) -> dict[str, Any]:
    return {
        # epoch microseconds: DuckDB reads them straight into the TIMESTAMP column via make_timestamp
        "ts": None if e.time_ns is None else e.time_ns // 1000,
        "time": output_time(e.time_ns),  # the one output format (detect, timeline, principals)
        "source": e.source,
        "provider": e.provider,
        "operation": e.operation,
        "service": e.service,
        "principal": e.principal,
        "principal_type": e.principal_type,
        "src_ip": e.src_ip,
        "region": e.region,
        "account": e.account,
        "status": e.status,
        "error_code": e.error_code,
        "error_message": e.error_message,
        "user_agent": e.user_agent,
        "event_id": e.event_id,
        "correlation_id": e.correlation_id,
        "origin": str(e.location),
        "raw": e.raw,
    }


def _dumps(wire: dict[str, Any]) -> bytes:
    try:
        return orjson.dumps(wire, option=orjson.OPT_APPEND_NEWLINE)
    except TypeError:  # an integer past 64 bits, which orjson refuses and the json module keeps
        return (json.dumps(wire) + "\n").encode()


def _line(e: Event, stats: ScanStats) -> bytes:
    wire = _wire(e)
    line = _dumps(wire)
    if len(line) <= MAX_LINE:
        return line
    # DuckDB's JSON reader needs a buffer twice the largest line: a giant record keeps its
    # normalized fields and loses `raw` rather than the memory ceiling or the whole batch
    stats.add_issue(Issue(
        e.location, "raw_too_large_for_hunts",
        f"record of {len(line)} bytes: loaded without its raw JSON (hunts reading raw fields "
        f"do not see it)", severity="skip",
    ))
    return _dumps({**wire, "raw": None})


class StoreError(TrailhoundError):
    """DuckDB refused to create or fill the events table (disk full, TMPDIR unwritable)."""

    exit_code = 1


@dataclass
class Store:
    con: duckdb.DuckDBPyConnection
    folder: Path  # the temporary folder holding the database and the batch file


@contextmanager
def open_store() -> Iterator[Store]:
    """A fresh database with an empty `events` table and the reference lists; removed on exit."""
    with tempfile.TemporaryDirectory(prefix="trailhound-hunt-") as tmp:
        try:
            # a memory ceiling: past it DuckDB spills to the database's folder (TMPDIR) rather
            # than growing with the input (TRAILHOUND_HUNT_MEMORY overrides, DuckDB syntax)
            con = duckdb.connect(
                str(Path(tmp) / "hunt.duckdb"),
                config={
                    "memory_limit": os.environ.get("TRAILHOUND_HUNT_MEMORY", DEFAULT_MEMORY),
                    "preserve_insertion_order": False,
                },
            )
        except duckdb.Error as e:
            raise StoreError(
                f"cannot create the hunt database in {tmp!r}: {e}; point TMPDIR at a writable "
                f"folder with free space"
            ) from None
        try:
            cols = ", ".join(f"{name} {kind}" for name, kind in COLUMNS.items())
            con.execute(f"CREATE TABLE events ({cols})")
            con.execute((sql_dir() / "_lists.sql").read_text(encoding="utf-8"))
            yield Store(con, Path(tmp))
        finally:
            con.close()


def load_events(store: Store, events: Iterable[Event], stats: ScanStats) -> int:
    """Insert `events` into the `events` table in batches; returns how many."""
    batch_file = store.folder / "batch.jsonl"
    n = pending = 0
    out = batch_file.open("wb")
    try:
        for e in events:
            out.write(_line(e, stats))
            n += 1
            pending += 1
            if pending == BATCH:
                out.close()
                _insert(store.con, batch_file)
                out = batch_file.open("wb")
                pending = 0
    finally:
        out.close()
    if pending:
        _insert(store.con, batch_file)
    return n


def _insert(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    # every column typed explicitly: DuckDB infers nothing, so a field that is sometimes a
    # number and sometimes text (attacker-controlled) can never break the load
    wire = {**COLUMNS, "ts": "BIGINT"}
    struct = "{" + ", ".join(f"{k!r}: {v!r}" for k, v in wire.items()) + "}"
    names = ", ".join(n for n in COLUMNS if n != "ts")
    try:
        con.execute(
            f"INSERT INTO events SELECT make_timestamp(ts) AS ts, {names} "
            f"FROM read_json(?, format = 'newline_delimited', columns = {struct}, "
            f"maximum_object_size = {2 * MAX_LINE})",
            [str(path)],
        )
    except duckdb.Error as e:
        reason = " ".join(str(e).split())[:300]
        raise StoreError(
            f"DuckDB could not load the events ({reason}); free space in TMPDIR or raise "
            f"TRAILHOUND_HUNT_MEMORY (default {DEFAULT_MEMORY})"
        ) from None
