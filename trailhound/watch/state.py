"""The state of incremental detection: ONE SQLite database (stdlib sqlite3, WAL journal).

Tables
------
files    the inputs read: identity = path + size + mtime (an S3 object would add its ETag);
         a file whose identity changed is read again (its alerts are not repeated: identity.py).
alerts   the outbox: every alert ever emitted, numbered by `seq` (never reused), with its JSON
         body (`{"alert_id", "rule_id", **report/columns.row}`) and whether the webhook has it.
         Every sink reads it after the commit, from its own cursor (sinks.py), so an output
         written after a crash is rebuilt from here: nothing is lost, nothing is doubled.
carried  the matches correlation rules consume, younger than the longest correlation window
         (plus LATENESS), pickled: fed again to the next run's correlation so that a window
         spans runs (cycle.py).
findings the latest finding row of every event an alert was raised on (`report/columns.row`),
         replaced when a later cycle raises a new alert on it (a correlation completed):
         principal risk over all cycles is ranked from these rows (`principals --state`).
first_seen the digests a first-seen rule has learned (rules/first_seen.py: groups with
         history, kind 0, and their pairs, kind 1), so a value new once is not new again in
         a later cycle (watch/history.py).
folders  each watched folder's mtime when last listed, its subfolders and its hot files: an
         unchanged folder is not listed again, only its hot files stat-ed (watch/listing.py);
         committed with the cycle.
Retention (`expire`, watch --keep): alerts and finding rows emitted longer ago than the keep
period are deleted once no sink needs them and no carried match can raise them again.

meta     schema version, sink cursors, Spark micro-batch ids.

One cycle is one transaction (`commit_cycle`): the alerts it found, the files it read and the
new carried matches are written together or not at all; a process killed before the commit
reads the same files again on restart and finds the same alerts.
"""

from __future__ import annotations

import functools
import inspect
import io
import os
import pickle
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, ParamSpec, TypeVar

import orjson

from trailhound.engine.base import Match
from trailhound.errors import UsageError
from trailhound.model import Event
from trailhound.report.escape import for_json_bytes
from trailhound.rules.model import Rule
from trailhound.spill import pack_event, unpack_event
from trailhound.watch.carried import checked_event

SCHEMA_VERSION = "1"


_T = TypeVar("_T")
_P = ParamSpec("_P")
# What reading a value trailhound did not write raises: a wrong type, a bad number, bad JSON
_FOREIGN = (ValueError, TypeError, AttributeError, KeyError, IndexError, OverflowError,
            sqlite3.DatabaseError)


def _read(what: str) -> Callable[[Callable[_P, _T]], Callable[_P, _T]]:
    """State reads whose rows may not be ours: a --state file is input (copied, edited, another
    version's), so a value in `what` that does not read is a UsageError naming the file and
    the next step, never a traceback. Generators are checked as they are iterated."""

    def wrap(fn: Callable[_P, _T]) -> Callable[_P, _T]:
        def refused(state: Any, exc: BaseException) -> UsageError:
            return UsageError(
                f"{state.path}: {what} holds a value this trailhound did not write "
                f"({type(exc).__name__}: {exc}); give a new file to --state"
            )

        if inspect.isgeneratorfunction(fn):
            @functools.wraps(fn)
            def gen(*args: _P.args, **kwargs: _P.kwargs) -> Any:
                try:
                    yield from fn(*args, **kwargs)
                except _FOREIGN as exc:
                    raise refused(args[0], exc) from None

            return gen

        @functools.wraps(fn)
        def call(*args: _P.args, **kwargs: _P.kwargs) -> _T:
            try:
                return fn(*args, **kwargs)
            except _FOREIGN as exc:
                raise refused(args[0], exc) from None

        return call

    return wrap


def _json_object(body: Any) -> bytes:
    """A stored JSON object's bytes, checked to be one with a member, as trailhound writes it:
    `{"` first (sinks.line puts `"seq"` after the brace; `{}` or a leading space made a line
    that is not JSON), its text escaped for the sinks that write it as it is (for_json_bytes:
    a no-op on what trailhound wrote). ValueError / TypeError if not."""
    data = bytes(body)
    if not data.startswith(b'{"') or not isinstance(orjson.loads(data), dict):
        raise TypeError("not a JSON object with a member")
    return for_json_bytes(data)


class _PlainData(pickle.Unpickler):
    """Builtin values only (tuples, lists, dicts, strings, bytes, numbers: what a carried match
    is made of): a pickle that names any class or function - the way a pickle runs code - is
    refused before anything is called."""

    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"{module}.{name} is not plain data")
# Test hook (tests/test_watch_crash.py): seconds to sleep inside the commit's transaction, and
# a file created as the sleep starts, so that a SIGKILL is known to land there.
COMMIT_DELAY_ENV = "TRAILHOUND_WATCH_COMMIT_DELAY"
COMMIT_MARK_ENV = "TRAILHOUND_WATCH_COMMIT_MARK"
USES_WEBHOOK = "uses:webhook"  # meta: a webhook was configured once (its `delivered` counts)
DEFAULT_KEEP = "30d"  # watch --keep: how long alerts and finding rows are kept

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER, etag TEXT
);
CREATE TABLE IF NOT EXISTS alerts (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    body BLOB NOT NULL,
    delivered INTEGER NOT NULL DEFAULT 0,
    created_ns INTEGER,
    time_ns INTEGER
);
CREATE INDEX IF NOT EXISTS alerts_pending ON alerts (seq) WHERE delivered = 0;
CREATE TABLE IF NOT EXISTS carried (time_ns INTEGER NOT NULL, match BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS folders (
    path TEXT PRIMARY KEY, mtime_ns INTEGER, subdirs BLOB, hot BLOB
);
CREATE TABLE IF NOT EXISTS findings (
    event TEXT PRIMARY KEY, row BLOB NOT NULL, created_ns INTEGER, time_ns INTEGER
);
CREATE TABLE IF NOT EXISTS first_seen (
    rule TEXT NOT NULL, kind INTEGER NOT NULL, digest BLOB NOT NULL,
    PRIMARY KEY (rule, kind, digest)
) WITHOUT ROWID;
"""


def _stored(name: str) -> str:
    """A path or file name as SQLite and orjson take it. A name whose bytes are not UTF-8
    (PEP 383 surrogates in Python) is kept as NUL + the hex of its bytes: no path holds a NUL,
    so the form is never a real name, and `_loaded` gives the exact name back to list again."""
    if name.isascii():
        return name
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return "\0" + os.fsencode(name).hex()
    return name


def _loaded(text: str) -> str:
    return os.fsdecode(bytes.fromhex(text[1:])) if text.startswith("\0") else text


@dataclass(frozen=True, slots=True)
class FileId:
    """What makes a file the same file in the next run."""

    path: str
    size: int | None
    mtime_ns: int | None
    etag: str | None = None


@dataclass(frozen=True, slots=True)
class Alert:
    id: str
    body: bytes  # JSON object
    event: str = ""  # the event's identity (identity.event_hash): its row in `findings`
    time_ns: int | None = None  # the event's time (retention keeps what carried may raise)


@dataclass(frozen=True, slots=True)
class Folder:
    """A folder as last listed: its mtime (None: too recent to trust), its subfolders and its
    hot files (modified lately: they may still grow in place, so they are stat-ed each cycle)."""

    path: str
    mtime_ns: int | None
    subdirs: tuple[str, ...]
    hot: tuple[str, ...] = ()


# A first-seen digest learned: (rule id, kind: 0 group / 1 pair, digest)
Learned = tuple[str, int, bytes]


class State:
    """The open state database. Not shared between processes at once: BEGIN IMMEDIATE makes a
    second writer wait (then fail after `timeout`), never interleave."""

    def __init__(self, path: str) -> None:
        self.path = path
        folder = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(folder):
            raise UsageError(
                f"--state {path}: the folder {folder} does not exist; create it or give a "
                "file in an existing folder"
            )
        try:
            # autocommit mode: every transaction is spelled out (BEGIN IMMEDIATE ... COMMIT)
            self.db = sqlite3.connect(path, timeout=30, isolation_level=None)
            self._refuse_foreign()
            self.db.execute("PRAGMA journal_mode=WAL")
            # FULL: a commit survives a power cut too, so the output file (written after the
            # commit) never runs ahead of the database
            self.db.execute("PRAGMA synchronous=FULL")
            self.db.executescript(_SCHEMA)
            self._migrate()
            version = self.get_meta("schema")
        except sqlite3.DatabaseError as exc:
            raise UsageError(
                f"{path}: not a trailhound state database ({exc}); give a new file to --state"
            ) from None
        if version is None:
            self.set_meta("schema", SCHEMA_VERSION)
        elif version != SCHEMA_VERSION:
            raise UsageError(
                f"{path}: state schema {version}, this trailhound writes {SCHEMA_VERSION}; "
                "give a new file to --state"
            )

    def _refuse_foreign(self) -> None:
        """Another program's SQLite database is not ours to change: our tables and WAL mode
        would be written into it. Ours has a `meta` table; an empty file is a new state."""
        tables = sorted(
            str(r[0]) for r in self.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        )
        if tables and "meta" not in tables:
            self.db.close()
            shown = ", ".join(tables[:5]) + (", ..." if len(tables) > 5 else "")
            raise UsageError(
                f"{self.path}: an SQLite database of another program (tables: {shown}), left "
                "unchanged; give a new file to --state"
            )

    def _migrate(self) -> None:
        """A state written before retention: its alerts get the columns it needs (emitted
        now, as far as retention knows; no event time: kept until the carried horizon is
        gone)."""
        cols = {str(r[1]) for r in self.db.execute("PRAGMA table_info(alerts)")}
        if "created_ns" not in cols:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.execute("ALTER TABLE alerts ADD COLUMN created_ns INTEGER")
            self.db.execute("ALTER TABLE alerts ADD COLUMN time_ns INTEGER")
            self.db.execute("UPDATE alerts SET created_ns = ?", (time.time_ns(),))
            self.db.execute("COMMIT")
        if "hot" not in {str(r[1]) for r in self.db.execute("PRAGMA table_info(folders)")}:
            self.db.execute("ALTER TABLE folders ADD COLUMN hot BLOB")  # a state before hot files
        self.db.execute("CREATE INDEX IF NOT EXISTS alerts_created ON alerts (created_ns)")
        self.db.execute("CREATE INDEX IF NOT EXISTS findings_created ON findings (created_ns)")

    def close(self) -> None:
        self.db.close()

    # -- meta (sink cursors) -----------------------------------------------------------------

    @_read("the meta table")
    def meta_int(self, key: str) -> int:
        """An integer kept in meta (a sink's cursor), 0 when unset."""
        return int(self.get_meta(key) or 0)

    @_read("the meta table")
    def meta_day(self, key: str) -> tuple[int, int, int] | None:
        """A day kept in meta as YYYY-MM-DD (checked to be one), None when unset."""
        text = self.get_meta(key)
        if not text:
            return None
        y, m, d = map(int, text.split("-"))
        date(y, m, d)  # ValueError for a day that is not one
        return (y, m, d)

    def get_meta(self, key: str) -> str | None:
        r = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if r is None else str(r[0])

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    # -- files -------------------------------------------------------------------------------

    @_read("the files table")
    def is_new(self, f: FileId) -> bool:
        """True when `f` was never read, or has changed since (one indexed lookup: the cost of
        a cycle does not grow with the files already seen, beyond the index's log)."""
        r = self.db.execute(
            "SELECT size, mtime_ns, etag FROM files WHERE path = ?", (_stored(f.path),)
        ).fetchone()
        return r is None or tuple(r) != (f.size, f.mtime_ns, f.etag)

    @_read("the folders table")
    def folder(self, path: str) -> Folder | None:
        r = self.db.execute(
            "SELECT mtime_ns, subdirs, hot FROM folders WHERE path = ?", (_stored(path),)
        ).fetchone()
        if r is None:
            return None
        return Folder(path, None if r[0] is None else int(r[0]),
                      tuple(map(_loaded, orjson.loads(r[1]))),
                      () if r[2] is None else tuple(map(_loaded, orjson.loads(r[2]))))

    def files_seen(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM files").fetchone()[0])

    # -- carried matches ---------------------------------------------------------------------

    def carried(self, rules: Mapping[str, Rule]) -> Iterator[Match]:
        """The matches an earlier cycle kept for the correlations, in time order. A rule no
        longer in the rule set (the rules changed between runs) is dropped from its match."""
        for rowid, blob in self.db.execute(
            "SELECT rowid, match FROM carried ORDER BY time_ns, rowid"
        ):
            event, rule_ids = self._carried_match(rowid, blob)
            kept = [rules[i] for i in rule_ids if i in rules]
            if kept:
                yield Match(event, kept)

    def _carried_match(self, rowid: int, blob: Any) -> tuple[Event, list[str]]:
        """A carried row: (spill.pack_event tuple, rule ids), pickled as plain data. The file
        is input (a --state file may come from anywhere): unpickled by _PlainData, which runs
        no code, and checked for its shape and every field's type (watch/carried.py); anything
        else is refused, naming the row. The finding row a worker built for the event (the
        tuple's 5th part) is left out: a cache of what the event gives, it would be written
        out as stored; the row is built again from the checked event."""
        try:
            packed, rule_ids = _PlainData(io.BytesIO(bytes(blob))).load()
            if not (isinstance(packed, tuple) and len(packed) >= 4 and isinstance(rule_ids, list)
                    and all(isinstance(i, str) for i in rule_ids)):
                raise ValueError("not a carried match")
            event = checked_event(unpack_event(packed[:4]))
        except Exception as exc:  # noqa: BLE001 - whatever a hostile pickle raises: refused
            raise UsageError(
                f"{self.path}: carried match {rowid} is not one trailhound wrote "
                f"({type(exc).__name__}: {exc}); give a new file to --state"
            ) from None
        return event, rule_ids

    # -- finding rows, first-seen history ---------------------------------------------------

    @_read("the findings table")
    def finding_rows(self) -> Iterator[bytes]:
        """The latest row (JSON) of every event an alert was raised on, in no set order."""
        for (row,) in self.db.execute("SELECT row FROM findings"):
            yield _json_object(row)

    @_read("the first_seen table")
    def first_seen(self, rule_id: str) -> Iterator[tuple[int, bytes]]:
        """(kind, digest) of everything `rule_id` has learned in earlier cycles."""
        for kind, digest in self.db.execute(
            "SELECT kind, digest FROM first_seen WHERE rule = ?", (rule_id,)
        ):
            yield int(kind), bytes(digest)

    # -- alerts (the outbox) -----------------------------------------------------------------

    @_read("the alerts sequence")
    def last_seq(self) -> int:
        """The newest seq ever given (AUTOINCREMENT's record: still right once retention has
        deleted the rows, so an output file is never cut back to what the table still holds)."""
        r = self.db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'alerts'").fetchone()
        return 0 if r is None else int(r[0])

    @_read("the alerts table")
    def alerts_after(self, seq: int) -> Iterator[tuple[int, bytes]]:
        """(seq, body) of every alert after `seq`, in order (read in pages: memory stays flat)."""
        while True:
            page = self.db.execute(
                "SELECT seq, body FROM alerts WHERE seq > ? ORDER BY seq LIMIT 1000", (seq,)
            ).fetchall()
            if not page:
                return
            for s, body in page:
                yield int(s), _json_object(body)
            seq = int(page[-1][0])

    @_read("the alerts table")
    def undelivered(self, limit: int) -> list[tuple[int, str, bytes]]:
        return [
            (int(s), str(i), _json_object(b))
            for s, i, b in self.db.execute(
                "SELECT seq, id, body FROM alerts WHERE delivered = 0 ORDER BY seq LIMIT ?",
                (limit,),
            )
        ]

    def mark_delivered(self, seq: int) -> None:
        self.db.execute("UPDATE alerts SET delivered = 1 WHERE seq = ?", (seq,))

    # -- retention ---------------------------------------------------------------------------

    @_read("the meta table")
    def expire(self, keep_ns: int, now_ns: int | None = None) -> int:
        """Delete the alerts (and finding rows) emitted more than `keep_ns` ago that
        * every sink has: seq at or below every sink cursor in `meta` (stdout, syslog, each
          output file), and delivered if a webhook was ever configured on this state; and
        * no carried match can raise again: the event is older than the oldest carried match
          (a correlation window still open re-finds its events' alerts: their ids must stay
          to be recognised).
        Returns how many alerts were deleted."""
        now = time.time_ns() if now_ns is None else now_ns
        cut = now - keep_ns
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            cursors = [int(v) for (v,) in db.execute(
                "SELECT value FROM meta WHERE key LIKE 'cursor:%'")]
            upto = min(cursors) if cursors else 0  # no sink has read anything: all pending
            horizon = db.execute("SELECT min(time_ns) FROM carried").fetchone()[0]
            webhook = self.get_meta(USES_WEBHOOK) is not None
            older = "" if horizon is None else " AND (time_ns IS NULL OR time_ns < :h)"
            args = {"cut": cut, "upto": upto, "h": horizon}
            cur = db.execute(
                "DELETE FROM alerts WHERE created_ns < :cut AND seq <= :upto"
                + (" AND delivered = 1" if webhook else "") + older, args,
            )
            gone = cur.rowcount
            db.execute("DELETE FROM findings WHERE created_ns < :cut" + older, args)
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        return gone

    # -- one cycle, one transaction ----------------------------------------------------------

    def commit_cycle(
        self,
        files: Iterable[FileId],
        alerts: Sequence[Alert],
        carried: Iterable[Match],
        meta: Mapping[str, str] | None = None,
        rows: Mapping[str, tuple[int | None, bytes]] | None = None,
        learned: Iterable[Learned] = (),
        folders: Iterable[Folder] = (),
    ) -> int:
        """Record the cycle's alerts (those not emitted before), the files it read, the
        matches to carry, the finding rows of the events with a new alert (`rows`: event ->
        (event time, row)) and the first-seen digests learned, in ONE transaction. Returns how many alerts
        were new."""
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            new = 0
            changed: set[str] = set()
            now = time.time_ns()
            for a in alerts:
                cur = db.execute(
                    "INSERT OR IGNORE INTO alerts (id, body, created_ns, time_ns) "
                    "VALUES (?, ?, ?, ?)", (a.id, a.body, now, a.time_ns),
                )
                if cur.rowcount == 1:
                    new += 1
                    changed.add(a.event)
            # only events with a new alert: a finding fed again from `carried` without its
            # partners (pushed out of the window) must not replace its fuller row
            db.executemany(
                "INSERT OR REPLACE INTO findings (event, row, created_ns, time_ns) "
                "VALUES (?, ?, ?, ?)",
                ((e, rows[e][1], now, rows[e][0]) for e in sorted(changed) if rows and e in rows),
            )
            db.executemany(
                "INSERT OR IGNORE INTO first_seen (rule, kind, digest) VALUES (?, ?, ?)", learned
            )
            db.executemany(
                "INSERT OR REPLACE INTO folders (path, mtime_ns, subdirs, hot) VALUES (?, ?, ?, ?)",
                ((_stored(f.path), f.mtime_ns, orjson.dumps([_stored(n) for n in f.subdirs]),
                  orjson.dumps([_stored(n) for n in f.hot])) for f in folders),
            )
            db.executemany(
                "INSERT OR REPLACE INTO files (path, size, mtime_ns, etag) VALUES (?, ?, ?, ?)",
                ((_stored(f.path), f.size, f.mtime_ns, f.etag) for f in files),
            )
            db.executemany(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (meta or {}).items()
            )
            db.execute("DELETE FROM carried")
            db.executemany(
                "INSERT INTO carried (time_ns, match) VALUES (?, ?)",
                (
                    (m.event.time_ns, pickle.dumps((pack_event(m.event), [r.id for r in m.rules])))
                    for m in carried
                ),
            )
            delay = os.environ.get(COMMIT_DELAY_ENV)
            if delay:
                _in_commit(float(delay))
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        return new


def _in_commit(delay: float) -> None:
    mark = os.environ.get(COMMIT_MARK_ENV)
    if mark:
        open(mark, "w").close()
    time.sleep(delay)
