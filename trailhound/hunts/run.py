"""Run one hunt over the events of PATHS: the scan's reader loop (sources -> normalize ->
profile gate, with its issue counting) fills the store, then DuckDB runs the query."""

from __future__ import annotations

import datetime as dt
import decimal
import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, BinaryIO

import duckdb

from trailhound.errors import RuleError, TrailhoundError, UsageError
from trailhound.hunts.allow import EventAllowlist
from trailhound.hunts.registry import Hunt
from trailhound.hunts.store import Store, load_events, open_store
from trailhound.model import Event
from trailhound.normalize.times import output_time
from trailhound.pipeline import ScanStats, read_events
from trailhound.profiles import Profile
from trailhound.tuning.window import TimeWindow

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
FETCH = 2048  # rows per fetch from DuckDB: results stream, they are never all in memory


class HuntTimeout(TrailhoundError):
    """The query ran past --timeout and was interrupted: the rows printed are incomplete."""

    exit_code = 1


class _Deadline:
    """`--timeout`: a timer that interrupts the connection's running query (DuckDB's own
    `interrupt()`, checked between its vectors, so even a runaway join stops within moments)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, seconds: float | None, hunt: Hunt) -> None:
        self.seconds, self.hunt = seconds, hunt
        self.expired = threading.Event()
        self._timer: threading.Timer | None = None
        if seconds is not None:
            self._timer = threading.Timer(seconds, self._stop, args=(con,))
            self._timer.daemon = True
            self._timer.start()

    def _stop(self, con: duckdb.DuckDBPyConnection) -> None:
        self.expired.set()
        con.interrupt()

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()

    def error(self) -> HuntTimeout:
        return HuntTimeout(
            f"hunt {self.hunt.name}: stopped after {self.seconds:g} s (--timeout); the rows "
            "printed are incomplete. Raise --timeout, or narrow the query or the input "
            "(--since/--until, fewer paths)"
        )


@dataclass
class HuntRun:
    columns: list[str]
    rows: Iterator[dict[str, Any]]  # valid inside the `run_hunt` block only
    stats: ScanStats


def _refused(hunt: Hunt, shipped: bool, e: duckdb.Error) -> TrailhoundError:
    reason = " ".join(str(e).split())
    if shipped:  # a shipped query that does not run is our bug, not the user's
        return RuleError(f"shipped hunt {hunt.name} ({hunt.path}) fails in DuckDB: {reason}")
    return UsageError(f"{hunt.path}: DuckDB cannot run this query: {reason}")


def dry_run(store: Store, hunt: Hunt, *, shipped: bool, timeout: float | None = None) -> None:
    """Run the query over the still empty table and roll it back: a query that does not parse
    or bind (unknown column, bad function) is refused before any log is read. `timeout` bounds
    it too (a query that reads no table, e.g. over range(), does all its work here)."""
    con = store.con
    con.execute("BEGIN TRANSACTION")
    deadline = _Deadline(con, timeout, hunt)
    try:
        con.execute(hunt.sql)
    except duckdb.Error as e:
        if deadline.expired.is_set():
            raise deadline.error() from None
        raise _refused(hunt, shipped, e) from None
    finally:
        deadline.cancel()
        try:
            con.execute("ROLLBACK")
        except duckdb.Error:  # the query ended the transaction itself
            pass


def plain(value: Any) -> Any:
    """A DuckDB result value as what JSON, CSV and the table print: times in the one output
    format (normalize.times.output_time, as `detect` prints them: RFC 3339 UTC, milliseconds),
    lists and structs kept as lists and dicts."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:  # DuckDB's TIMESTAMP: UTC without a zone
            value = value.replace(tzinfo=dt.UTC)
        return output_time((value - _EPOCH) // dt.timedelta(microseconds=1) * 1000)
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    return value


def _rows(
    cur: duckdb.DuckDBPyConnection | None, columns: list[str], hunt: Hunt, shipped: bool,
    deadline: _Deadline,
) -> Iterator[dict[str, Any]]:
    if cur is None or not columns:
        return
    while True:
        try:
            chunk = cur.fetchmany(FETCH)
        except duckdb.Error as e:  # DuckDB computes lazily: a bad cast can surface here
            if deadline.expired.is_set():
                raise deadline.error() from None
            raise _refused(hunt, shipped, e) from None
        if deadline.expired.is_set():  # interrupted between fetches: the result is cut anyway
            raise deadline.error()
        if not chunk:
            return
        for values in chunk:
            yield {c: plain(v) for c, v in zip(columns, values)}


def _inside(events: Iterator[Event], window: TimeWindow, stats: ScanStats) -> Iterator[Event]:
    """--since / --until: hunts see only the window's events; the others are counted, as
    `detect` counts them (stats.window)."""
    for e in events:
        why = window.reject(e.time_ns)
        if why is None:
            yield e
        else:
            stats.window[why] += 1


@contextmanager
def run_hunt(
    hunt: Hunt,
    paths: Sequence[str],
    profile: Profile,
    *,
    shipped: bool,
    stdin: BinaryIO | None = None,
    window: TimeWindow | None = None,
    timeout: float | None = None,
    allow: EventAllowlist | None = None,
) -> Iterator[HuntRun]:
    """Load every event under `paths` (inside `window` when given) and run `hunt`; the rows
    stream inside the block. `timeout`: seconds the query may take, in the dry run and again
    once the logs are loaded (the reading of its rows included); past it HuntTimeout."""
    with open_store() as store:
        dry_run(store, hunt, shipped=shipped, timeout=timeout)
        stats = ScanStats()
        events = read_events(paths, profile, stats, stdin)
        if window is not None:
            events = _inside(events, window, stats)
        if allow:  # --allow: allowlisted events never reach the table
            events = allow.keep(events)
        load_events(store, events, stats)
        deadline = _Deadline(store.con, timeout, hunt)
        try:
            try:
                cur = store.con.execute(hunt.sql)
            except duckdb.Error as e:  # data-dependent failure (a cast of an odd value, ...)
                if deadline.expired.is_set():
                    raise deadline.error() from None
                raise _refused(hunt, shipped, e) from None
            # a file of comments only, or ending in a statement without rows (CREATE, COPY)
            columns = [d[0] for d in cur.description or ()] if cur is not None else []
            yield HuntRun(columns, _rows(cur, columns, hunt, shipped, deadline), stats)
        finally:
            deadline.cancel()
