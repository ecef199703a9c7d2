"""Findings beyond what memory should hold: kept compact, sorted on disk, merged back.

Scoring must see every finding before it can write the first one (highest score first, copies
of one operation collapsed), so a scan of months of logs would otherwise hold hundreds of
thousands of findings - each an Event with its decoded raw record, 6-8 KB - in memory. Past a
budget (`SPILL_AFTER` findings) scoring.py moves them here instead: each finding's event is
written once to `Payloads` (an event a worker sent, model.LazyEvent.packed, as the bytes it
came as; any other pickled with its raw record as JSON bytes), and `Runs` sorts small entries
naming them - the finding's keys, its rules and hits as indices (`Codec`) - with a classic
external merge sort (sorted runs of at most `budget` items pickled to a temporary directory,
then `merge`).
Memory stays a budget's worth whatever the input size; the temporary files go when the scan
ends.

Nothing here decides what a finding is: scoring.py does, with the same functions on both
paths, and the tests check that spilling changes nothing (same findings, same order).
"""

from __future__ import annotations

import os
import pickle
import shutil
import tempfile
import weakref
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator
from heapq import heapify, heappop, heappush, heapreplace
from itertools import chain, islice
from typing import IO, Any

import orjson

from trailhound.digits import is_digits
from trailhound.errors import SpillError
from trailhound.model import (
    EVENT_FIELDS,
    PENDING,
    Event,
    LazyEvent,
    Location,
    location_tuple,
    scalars_of,
)

__all__ = [
    "SPILL_AFTER", "At", "Codec", "FindingRefs", "Payloads", "Piles", "RowStore", "Runs", "Shelf", "location_tuple",
    "pack_event", "scalars_of", "spill_budget", "unpack_event",
]

# Findings kept as objects before scoring spills (6-8 KB each, raw record decoded), and items
# per sorted run (2-4 KB each). Measured on 1M-10M generated records: larger budgets only cost
# memory (25,000: 260-690 MB; 2,500: 65-110 MB), no time.
SPILL_AFTER = 5_000
# Runs merged at once; past this many, they are first merged into one (file handles, buffers).
# 256: 1M findings (~160 runs of each sort) merge in one pass; at 64 every entry was merged two
# or three times (measured on 807,708 entries of the spill's shape: 10.3 -> 6.5 CPU-s per sort,
# peak RSS +13 MB). A merge holds one read buffer and one decoded chunk per run.
MAX_RUNS = 256
MAX_PILES = 64  # piles at once (Piles): a file handle and a chunk in memory each
_BUFFER = 1 << 16
_READ_BUFFER = 1 << 14  # (a chunk larger than it is read straight into its bytes)
# Sorted items per pickle in a run, at most: a merge holds one decoded chunk per run (up to
# MAX_RUNS), so a chunk is also kept under _CHUNK_BYTES pickled (large items: fewer per chunk)
_CHUNK = 256
_CHUNK_BYTES = 32 << 10
_PILE_CHUNK = 256  # items a pile holds in memory (an entry, ~100 bytes: its row is in Payloads)
_PAYLOAD_BUFFER = 1 << 20
# get_row's blocks: the size of a read, and how many are kept (4 MB; enough for a few dozen
# inputs read side by side). 64 KB: each score's rows are in files of their own (put_rows), so a
# block serves the rows read next (1M set: 21k reads of 1.05 GB; 16 KB blocks: 69k reads of
# 1.02 GB, and 11% of the rows across two blocks, the slow path; -0.15 CPU-s)
_BLOCK_BITS = 16
_BLOCK = 1 << _BLOCK_BITS
_BLOCK_MASK = _BLOCK - 1
_BLOCKS = 64
_IOV_MAX = 1024  # buffers one os.writev may take (POSIX: at least 16; Linux: 1024)
_ROW_BITS = 40
_ROW_SPAN = 1 << _ROW_BITS  # put_rows' ints: offset * _ROW_SPAN + size (a row is far below a TB)
_ROW_MASK = _ROW_SPAN - 1
_PART_SPAN = 1 << 40  # ...where offset is file * _PART_SPAN + the offset in that file
_PARTS = 16  # files put_rows writes at most (file handles; each part's rows together)
_WRITER_FILES = 64  # file numbers per writing process of a RowStore (> _PARTS; its pid * this)
_FOREIGN = 64  # other processes' files a Payloads keeps open (see Payloads._fd)


# A finding less its event, order and copies (Codec.refs): score, rule, suppression and hit refs
FindingRefs = tuple[Any, tuple[int, ...], tuple[tuple[int, int], ...], tuple[int, ...]]
# Where Payloads put an event: (offset, size) of its pickled pack_event tuple, or (offset,
# head size, record size, row size) of a worker's bytes as they came (model.LazyEvent.packed)
At = tuple[int, ...]


def spill_budget() -> int:
    """SPILL_AFTER, or TRAILHOUND_SPILL_AFTER (a positive integer) when set."""
    env = os.environ.get("TRAILHOUND_SPILL_AFTER", "")
    return int(env) if is_digits(env) and int(env) > 0 else SPILL_AFTER


def _pack_raw(raw: Any) -> Any:
    # orjson is 3-5x cheaper than pickle for a decoded record; it refuses what the readers'
    # fallback parser may produce (integers beyond 64 bits, lone surrogates): keep those as is.
    try:
        packed = orjson.dumps(raw)
    except (TypeError, orjson.JSONEncodeError):
        return raw
    # orjson returns its whole output buffer (16 KB for a 1.5 KB record): keep an exact copy
    return memoryview(packed).tobytes()


PackedEvent = tuple[Any, ...]  # (scalars, raw, location, meta, row)

# unpack_event's layout of Event(*args), which takes the fields in declaration order
if EVENT_FIELDS[:4] != ("source", "provider", "raw", "location") or EVENT_FIELDS[-1] != "meta":
    raise ImportError("spill.unpack_event: update it to model.Event's field order")


def pack_event(e: Event) -> PackedEvent:
    """An Event as a tuple: its raw record as JSON bytes (a third of the decoded dict's size;
    a LazyEvent's own bytes as they came, without decoding them, and the row it carries)."""
    if type(e) is LazyEvent and e.json is not None:
        return (scalars_of(e), e.json, location_tuple(e.location), e.meta, e.row)
    return (scalars_of(e), _pack_raw(e.raw), location_tuple(e.location), e.meta, None)


def unpack_event(p: Any) -> Event:
    """The Event of pack_event's tuple (the raw record may be given as its JSON bytes: the fast
    engine's workers send the record's own bytes so, with the finding's row: model.LazyEvent)."""
    scalars, raw, loc, meta = p[0], p[1], p[2], p[3]
    row = p[4] if len(p) > 4 else None  # (a watch state written before rows travelled: none)
    # Event's fields are (source, provider, raw, location, *the other scalars, meta): checked
    # below at import; one call with the parts spliced is 2x cheaper than placing each field
    if isinstance(raw, bytes):  # decoded when (if) something reads it: see LazyEvent
        return LazyEvent(scalars[0], scalars[1], PENDING, Location(*loc), *scalars[2:], meta, json=raw, row=row)
    # mypy cannot count a splice followed by a positional argument (the import check does)
    return Event(scalars[0], scalars[1], raw, Location(*loc), *scalars[2:], meta)  # type: ignore[call-arg]


class Codec:
    """Finding <-> compact list. Rules, correlations, filters and hits are shared objects that
    outlive the scan's findings: they travel as indices into this codec's table."""

    def __init__(self) -> None:
        self._objects: list[Any] = []
        self._index: dict[int, int] = {}

    def ref(self, obj: Any) -> int:
        k = self._index.get(id(obj))
        if k is None:
            k = self._index[id(obj)] = len(self._objects)
            self._objects.append(obj)  # keeps it alive, so its id stays its own
        return k

    def obj(self, k: int) -> Any:
        return self._objects[k]

    def refs(self, f: Any) -> FindingRefs:
        """What a finding (scoring.Finding) holds besides its event, order and copies: its score
        and its rules, suppressions and hits as indices (spill entries carry it; the event is
        written once to Payloads)."""
        ref = self.ref
        return (
            f.score,
            tuple(ref(r) for r in f.rules),
            tuple((ref(r), ref(x)) for r, x in f.suppressed),
            tuple(ref(h) for h in f.hits),
        )

    def finding(self, refs: FindingRefs, event: Event, order: int, copies: int,
                finding: Callable[..., Any]) -> Any:
        """The Finding (built by `finding`, scoring.Finding) `refs` and its event stand for."""
        objs = self._objects
        score, rules, suppressed, hits = refs
        return finding(
            event,
            score,
            [objs[k] for k in rules],
            [(objs[r], objs[x]) for r, x in suppressed],
            order,
            copies,
            [objs[k] for k in hits],
        )


class Payloads:
    """Events written once and read back once, in any order, appended to a temporary file
    under `folder` (rows, put_rows: to one file per part); `put_event` returns where. Sorting then moves only the small (key, where)
    entries, not the events (a finding's event is 2-3 KB; its entry 100 bytes), and a finding
    that is never output is never read. An event a worker sent (model.LazyEvent with `head`)
    is written as the bytes it came as: nothing is encoded here for it.

    Files are numbered from `base` (file n is `folder`/payloads-n) and a row's place names its
    file, so one Payloads reads the rows every other one wrote in the same folder: a rows-only
    scan's workers write their findings' rows themselves (RowStore), each from a base of its
    own, and the main process reads them back by the ints they sent."""

    def __init__(self, folder: str, base: int = 0) -> None:
        self.folder = folder
        self.base = base
        # The files written (events and rows in the first; rows of a `part` in one of their
        # own, see put_rows), each living as long as the spill folder (which goes with it, as
        # the runs do), written through a buffer of our own (flush), read with os.pread
        self._files: list[int] = []  # (descriptors, from base on)
        self._foreign: dict[int, int] = {}  # file number -> descriptor: files others wrote
        self._ends: list[int] = []  # each file's size once what is pending is written
        # What is written but not yet in the files: the bytes objects themselves, handed to one
        # os.writev per _PAYLOAD_BUFFER (a buffered file's write per row, and its copy, was the
        # larger part of put_row: measured 0.5 us of ~1 us a finding)
        self._pending: list[list[bytes]] = []
        self._pending_size = 0
        self._parts: dict[Any, int] = {}  # put_rows' part -> its file
        self._new_file()
        # get_row's blocks of the files (block number -> its bytes), oldest first (see get_row)
        self._blocks: dict[int, bytes] = {}

    def _name(self, number: int) -> str:
        return os.path.join(self.folder, f"payloads-{number}")

    def _new_file(self) -> None:
        # (appended to, from its end: a file of a process that died with this one's number)
        try:
            fd = os.open(self._name(self.base + len(self._files)), os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
            self._files.append(fd)
            self._ends.append(os.fstat(fd).st_size)
        except OSError as exc:
            raise SpillError(self.folder, exc) from exc
        self._pending.append([])

    def _fd(self, number: int) -> int:
        """The descriptor of file `number`, this one's or another's (opened when read, the
        last _FOREIGN of them kept open: a scan on many cores reads the files of many workers,
        each up to _PARTS + 1, and a process may hold only so many descriptors)."""
        j = number - self.base
        if 0 <= j < len(self._files):
            return self._files[j]
        foreign = self._foreign
        fd = foreign.pop(number, None)
        if fd is None:
            if len(foreign) >= _FOREIGN:
                os.close(foreign.pop(next(iter(foreign))))
            fd = os.open(self._name(number), os.O_RDONLY)
        foreign[number] = fd  # (the most recent last)
        return fd

    def put_event(self, e: Event) -> At:
        if type(e) is LazyEvent and e.head is not None and (e.rowp is not None or e.row is None):
            parts = (e.head, e.json or b"", e.rowp or b"")
            at = self._ends[0]
            self._write(parts)
            return (at, *map(len, parts))
        data = pickle.dumps(pack_event(e), pickle.HIGHEST_PROTOCOL)
        at = self._ends[0]
        self._write((data,))
        return (at, len(data))

    def put_rows(self, rows: list[bytes], parts: Iterable[Any]) -> list[int]:
        """Write findings' rows (their JSON, scoring.RowFinding) and say where each went, as one
        int: sorting then moves the int, not the row (pickled, unpickled, written and read
        again by each run and pile it passes through: measured, 3-4x the cost of an entry
        without it). The rows of one `part` (each row's, in `parts`: scoring's score, a pile)
        go to a file of their own, up to _PARTS of them, so that what is read back together
        lies together (a rare score's rows: a block read serves many, not one)."""
        put = self.put_row
        return [put(row, part) for row, part in zip(rows, parts)]

    def put_row(self, row: bytes, part: Any) -> int:
        """put_rows of one row."""
        p = self._parts.get(part)
        if p is None:
            p = self._part(part)
        size = len(row)
        at = self._ends[p]
        self._ends[p] = at + size
        self._pending[p].append(row)
        if self._blocks:
            self._blocks.clear()  # (the last block of a file may grow)
        self._pending_size += size
        if self._pending_size >= _PAYLOAD_BUFFER:
            self.flush()
        return ((self.base + p) * _PART_SPAN + at) * _ROW_SPAN + size

    def _part(self, part: Any) -> int:
        p = self._parts[part] = len(self._files) if len(self._files) < _PARTS else 0
        if p:
            self._new_file()
        return p

    def get_row(self, at: int) -> bytes:
        """The row put_rows wrote at `at`."""
        # Rows are read back in the order of their findings' event times (one score's, then
        # the next's: scoring.py), written in input order: a few streams of forward reads
        # (one per input that covers the same time: an account and region's files), each
        # through its own part of the file. A read per row (a buffered file's seek and read)
        # was ~3 us a finding; blocks of the file, the last _BLOCKS of them kept, serve the
        # next rows of every stream at once.
        # (shifts and masks: the ints are past 64 bits, and a divmod of those costs twice as much)
        offset = at >> _ROW_BITS
        size = at & _ROW_MASK
        block = self._blocks.get(offset >> _BLOCK_BITS)
        start = offset & _BLOCK_MASK
        if block is not None and start + size <= len(block):
            return block[start : start + size]
        return self._read_row(offset, size)

    def _read_row(self, offset: int, size: int) -> bytes:
        parts = []
        while size > 0:  # (a row may span blocks)
            number, start = divmod(offset, _BLOCK)
            block = self._blocks.get(number)
            if block is None or len(block) < min(_BLOCK, start + size):
                block = self._read_block(number)
            part = block[start : start + size]
            if not part:  # (never written: a bug, not bad input)
                raise ValueError(f"spill: no row at {offset} in {self.folder}")
            parts.append(part)
            offset += len(part)
            size -= len(part)
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def _read_block(self, number: int) -> bytes:
        self.flush()
        try:
            p, offset = divmod(number * _BLOCK, _PART_SPAN)  # (a file's offsets: put_rows)
            block = os.pread(self._fd(p), _BLOCK, offset)
        except OSError as exc:
            raise SpillError(self.folder, exc) from exc
        blocks = self._blocks
        blocks.pop(number, None)
        blocks[number] = block
        if len(blocks) > _BLOCKS:
            del blocks[next(iter(blocks))]
        return block

    def _write(self, parts: Iterable[bytes]) -> None:
        """Append `parts` to the first file."""
        self._blocks.clear()  # (the last one may grow)
        pending = self._pending[0]
        n = len(pending)
        pending.extend(parts)
        size = sum(map(len, pending[n:]))
        self._ends[0] += size
        self._pending_size += size
        if self._pending_size >= _PAYLOAD_BUFFER:
            self.flush()

    def flush(self) -> None:
        """What is pending reaches the files (before anything reads them: the rows a worker
        wrote, before it sends where they are)."""
        try:
            for fd, pending in zip(self._files, self._pending):
                i = 0
                while i < len(pending):
                    batch = pending[i : i + _IOV_MAX]  # (at most IOV_MAX buffers a call)
                    done = os.writev(fd, batch)
                    if done == sum(map(len, batch)):
                        i += len(batch)
                        continue
                    for data in batch:  # a short write (a signal): the rest goes next
                        if done < len(data):
                            pending[i] = data[done:]
                            break
                        done -= len(data)
                        i += 1
                pending.clear()
        except OSError as exc:  # disk full: say where and what to do
            raise SpillError(self.folder, exc) from exc
        self._pending_size = 0

    def get_event(self, at: At) -> Event:
        self.flush()  # (a correlation's findings are written after the others: no window)
        if len(at) == 4:
            offset, head, size, row = at
            data = os.pread(self._files[0], head + size + row, offset)
            return LazyEvent.packed(data[:head], data[head : head + size], data[head + size :] or None)
        offset, size = at
        return unpack_event(pickle.loads(os.pread(self._files[0], size, offset)))

    def close(self) -> None:
        for fd in (*self._files, *self._foreign.values()):
            os.close(fd)
        self._files, self._foreign = [], {}


class RowStore:
    """Where a rows-only scan's findings' rows go (pipeline.scan_stream's `rows_only`): written
    by the process that builds each row - a worker of the fast engine, or this one - into a
    temporary folder (Payloads, from a base of each process's own: its pid), read back by
    scoring in this process by the int each `put` returned, which is all that crosses from the
    worker. Why: the rows of a rule that fires on most records are most of the scan's bytes
    (1 GB for 800,000 findings); sent through the workers' pipes, then written to the spill by
    the main process, they cost both sides more than building them (measured, bench/README).

    A writing process must `flush` before the ints of what it put leave it. `close` (the
    process that made the store) removes the folder; so does the garbage collector, or exit,
    if a scan is dropped unread. A write that fails raises SpillError (in a worker: relayed by
    engine/workers.py as it is)."""

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self._owner = os.getpid()
        self._writer: Payloads | None = None
        self._pid = 0  # the process _writer belongs to (a forked worker makes its own)
        self._finalizer = weakref.finalize(self, _remove_folder, self.folder, self._owner)

    @classmethod
    def make(cls) -> RowStore | None:
        """A store in a new temporary folder; None if none can be made (the rows then cross
        as bytes, as they did: a scan too small to spill still needs no disk)."""
        try:
            return cls(tempfile.mkdtemp(prefix="trailhound-rows-"))
        except OSError:
            return None

    def put(self, row: bytes, part: Any) -> int:
        """Write `row` (`part`: Payloads.put_rows'); where it went, for Payloads.get_row."""
        writer = self._writer
        if writer is None or self._pid != os.getpid():
            # (a forked process drops the writer it inherited, and what it held, unwritten:
            # its maker's to write)
            self._pid = os.getpid()
            writer = self._writer = Payloads(self.folder, self._pid * _WRITER_FILES)
        return writer.put_row(row, part)

    def flush(self) -> None:
        """What this process put reaches the files."""
        if self._writer is not None and self._pid == os.getpid():
            self._writer.flush()

    def close(self) -> None:
        if self._writer is not None and self._pid == os.getpid():
            self._writer.close()
        self._writer = None
        self._finalizer()


def _remove_folder(folder: str, owner: int) -> None:
    if os.getpid() == owner:  # (not a forked worker's exit)
        shutil.rmtree(folder, ignore_errors=True)


class Runs:
    """An external merge sort: `add` items, then iterate them sorted by `key` (None: by the
    items themselves).

    At most `budget` items are held at once; each full batch is sorted and pickled to a file of
    its own (a run) under `folder`. Iterating merges the runs and the last batch (`merge`,
    which keeps equal keys in the order they were added). Iterate once.
    """

    def __init__(self, key: Callable[[Any], Any] | None, budget: int, folder: str) -> None:
        self.key = key
        self.budget = max(1, budget)
        self.folder = folder
        self.count = 0
        self._batch: list[Any] = []
        self._runs: list[str] = []

    @property
    def spilled(self) -> bool:
        return bool(self._runs)

    def limit(self, budget: int, folder: str) -> None:
        """Hold at most `budget` items from now on (the runs go under `folder`)."""
        self.budget, self.folder = max(1, budget), folder
        if len(self._batch) >= self.budget:
            self._flush()

    def add(self, item: Any) -> None:
        self._batch.append(item)
        self.count += 1
        if len(self._batch) >= self.budget:
            self._flush()

    def extend(self, items: list[Any]) -> None:
        """`add` each of `items`, in order."""
        self.count += len(items)
        while items:
            room = self.budget - len(self._batch)
            self._batch.extend(items[:room])
            items = items[room:]
            if len(self._batch) >= self.budget:
                self._flush()

    def _flush(self) -> None:
        self._batch.sort(key=self.key)
        self._runs.append(self._write(self._batch))
        self._batch = []
        if len(self._runs) >= MAX_RUNS:  # a multi-pass merge keeps the fan-in bounded
            runs, self._runs = self._runs, []
            self._runs.append(self._write(merge([_read_chunks(p) for p in runs], self.key)))

    def _write(self, items: Iterable[Any]) -> str:
        try:
            return self._write_run(items)
        except OSError as exc:  # disk full, folder gone: say where and what to do
            raise SpillError(self.folder, exc) from exc

    def _write_run(self, items: Iterable[Any]) -> str:
        fd, path = tempfile.mkstemp(prefix="run-", suffix=".pickle", dir=self.folder)
        with os.fdopen(fd, "wb", buffering=_BUFFER) as fh:
            # One pickle per chunk of _CHUNK items, length first: one pickle per item costs a
            # call each way per item (the spilled path's largest cost after the payloads), and
            # one Pickler for the whole run (or its Unpickler) would remember every object of
            # the run across dumps, keeping them all alive.
            dumps, proto, write = pickle.dumps, pickle.HIGHEST_PROTOCOL, fh.write
            it, n = iter(items), 8  # a small first chunk measures the items
            while chunk := list(islice(it, n)):
                data = dumps(chunk, proto)
                write(len(data).to_bytes(8, "little"))
                write(data)
                # the next chunk's size from this one's bytes per item
                n = max(1, min(_CHUNK, _CHUNK_BYTES * len(chunk) // max(1, len(data))))
        return path

    def __iter__(self) -> Iterator[Any]:
        batch, self._batch = self._batch, []
        batch.sort(key=self.key)
        if not self._runs:
            return iter(batch)
        streams = [_read_chunks(p) for p in self._runs]
        self._runs = []
        return merge([*streams, iter([batch[i : i + _CHUNK] for i in range(0, len(batch), _CHUNK)])], self.key)


def merge(runs: list[Iterator[list[Any]]], key: Callable[[Any], Any] | None = None) -> Iterator[Any]:
    """The items of sorted `runs`, each given as its sorted chunks (lists), in one sorted order;
    equal items in the order of their runs (as heapq.merge). See _merged."""
    return chain.from_iterable(_merged(runs, key))  # (no Python step per item)


def _merged(runs: list[Iterator[list[Any]]], key: Callable[[Any], Any] | None) -> Iterator[list[Any]]:
    """merge's items in sorted lists, one after the other.

    Chunk by chunk rather than item by item: of the chunks in memory (one a run), the one whose
    last item is the lowest (the first such) is taken whole, with every item of the others that
    must come before its last - then sorted (timsort merges the sorted slices it is given, in
    C), and that run's next chunk read. heapq.merge compares each item with log2(runs) others,
    each comparison walking two tuples in Python's list-in-list heap entries: it was the largest
    cost of sorting the spilled findings (1M findings in 161 runs: ~0.9 us an item).

    Two heaps say which chunks take part, so that a batch costs the chunks it takes from, not
    every run's: `lasts` (the lowest last item: the chunk taken whole, the batch's bound) and
    `firsts` (each chunk's first item not yet taken: those at or below the bound give some).
    Input read in time order gives runs that each cover a stretch of one input's time: of 161
    runs, a batch took from ~5, and walking the others was a third of the merge (1M findings).
    Only the chunk taken whole ends in a batch (any other's last item is above the bound, or
    equal and in a later run: bisect_left keeps it), so only its run reads its next chunk.
    """
    k: Callable[[Any], Any] = key if key is not None else _same
    chunks: list[list[Any]] = []  # each run's chunk in memory
    its: list[Iterator[list[Any]]] = []
    for it in runs:
        for chunk in it:
            if chunk:
                chunks.append(chunk)
                its.append(it)
                break
    starts = [0] * len(chunks)  # where each chunk's items not yet taken start
    # (item or its key, run): equal items by run, as the merge keeps them
    lasts = [(k(c[-1]), j) for j, c in enumerate(chunks)]
    firsts = [(k(c[0]), j) for j, c in enumerate(chunks)]
    heapify(lasts)
    heapify(firsts)
    while len(lasts) > 1:
        last, low = lasts[0]
        taking: list[int] = []
        while firsts and not last < firsts[0][0]:  # (first <= last: it may give some)
            taking.append(heappop(firsts)[1])
        taking.sort()  # (the batch in run order: the sort is stable, equal items stay so)
        batch: list[Any] = []
        for j in taking:
            c, start = chunks[j], starts[j]
            if j == low:
                batch += c[start:] if start else c
                continue
            # before `last`; equal ones too from the runs before `low` (its order)
            n = (bisect_right if j < low else bisect_left)(c, last, start, key=key)
            if n > start:
                batch += c[start:n]
                starts[j] = n
            heappush(firsts, (k(c[n]), j))  # (n < len(c): see above)
        batch.sort(key=key)
        yield batch
        nxt = next((c for c in its[low] if c), None)  # the next chunk of the run taken whole
        if nxt is None:
            heappop(lasts)
            chunks[low] = []
        else:
            chunks[low], starts[low] = nxt, 0
            heapreplace(lasts, (k(nxt[-1]), low))
            heappush(firsts, (k(nxt[0]), low))
    if lasts:
        j = lasts[0][1]
        yield chunks[j][starts[j] :]
        yield from its[j]


def _same(item: Any) -> Any:
    return item


def _read_chunks(path: str) -> Iterator[list[Any]]:
    """The chunks of a run (_write_run's), in order; the file goes once they are read."""
    fh: IO[bytes]
    with open(path, "rb", buffering=_READ_BUFFER) as fh:
        read, loads = fh.read, pickle.loads
        while head := read(8):
            yield loads(read(int.from_bytes(head, "little")))
    os.unlink(path)  # read once: gone as soon as it is merged


class Piles:
    """Items appended to piles by key (an item's first element), each pile in the order its
    items came, read back pile after pile in key order: a sort for items that arrive already
    sorted within their key (the findings of one score, in event order: scoring.py), at the
    cost of a pass instead of an external merge sort. At most MAX_PILES piles (keys); with a
    `folder`, each pile keeps one chunk in memory and the rest in its own file."""

    def __init__(self, folder: str | None) -> None:
        self.folder = folder
        self._piles: dict[Any, list[Any]] = {}
        self._files: dict[Any, tuple[str, IO[bytes]]] = {}

    def extend(self, items: Iterable[Any]) -> None:
        """Pile each of `items` (in order) by its key (at most MAX_PILES keys)."""
        piles, folder = self._piles, self.folder
        for item in items:
            key = item[0]
            pile = piles.get(key)
            if pile is None:
                if len(piles) >= MAX_PILES:
                    raise ValueError(f"Piles: more than {MAX_PILES} keys")  # (a bug: the caller counts)
                pile = piles[key] = []
            pile.append(item)
            if folder is not None and len(pile) >= _PILE_CHUNK:
                self._write(key, pile)

    def _write(self, key: Any, pile: list[Any]) -> None:
        try:
            got = self._files.get(key)
            if got is None:
                fd, path = tempfile.mkstemp(prefix="pile-", suffix=".pickle", dir=self.folder)
                got = self._files[key] = (path, os.fdopen(fd, "wb", buffering=_READ_BUFFER))
            data = pickle.dumps(pile, pickle.HIGHEST_PROTOCOL)  # (_read_chunks' format)
            got[1].write(len(data).to_bytes(8, "little"))
            got[1].write(data)
        except OSError as exc:  # disk full, folder gone: say where and what to do
            raise SpillError(self.folder or tempfile.gettempdir(), exc) from exc
        pile.clear()

    def __iter__(self) -> Iterator[tuple[Any, Iterator[list[Any]]]]:
        """(key, its pile's items in chunks) for each pile, in key order; each pile's chunks
        must be read before the next pile is asked for."""
        for key in sorted(self._piles):
            yield key, self._chunks(key)

    def _chunks(self, key: Any) -> Iterator[list[Any]]:
        pile = self._piles.pop(key)
        if key not in self._files:
            yield pile
            return
        if pile:
            self._write(key, pile)  # (the rest, after the chunks written before)
        path, fh = self._files.pop(key)
        fh.close()
        yield from _read_chunks(path)

    def close(self) -> None:
        for _, fh in self._files.values():
            fh.close()


class Shelf:
    """Objects by integer key, read back at random: in memory up to `budget`, then appended to
    a temporary file (one pickle each) with only their offsets kept in memory. For what a
    correlation must keep until the end of the scan (every match of the rules it references)
    but reads back for the few that form a hit."""

    def __init__(self, budget: int | None = None) -> None:
        self.budget = budget if budget is not None else spill_budget()
        self._memory: dict[int, Any] = {}
        self._offsets: dict[int, int] = {}
        self._file: IO[bytes] | None = None

    def __contains__(self, key: int) -> bool:
        return key in self._memory or key in self._offsets

    def __len__(self) -> int:
        return len(self._memory) + len(self._offsets)

    def put(self, key: int, obj: Any) -> None:
        if self._file is None and len(self._memory) < self.budget:
            self._memory[key] = obj
            return
        try:
            self._spill(key, obj)
        except OSError as exc:
            raise SpillError(tempfile.gettempdir(), exc) from exc

    def _spill(self, key: int, obj: Any) -> None:
        if self._file is None:
            # lives as long as the shelf; unnamed, so never left behind
            self._file = tempfile.TemporaryFile(prefix="trailhound-kept-")  # noqa: SIM115
            for k, v in self._memory.items():
                self._append(k, v)
            self._memory = {}
        self._append(key, obj)

    def _append(self, key: int, obj: Any) -> None:
        assert self._file is not None
        data = pickle.dumps(obj, pickle.HIGHEST_PROTOCOL)
        self._file.seek(0, os.SEEK_END)
        self._offsets[key] = self._file.tell()  # one int (no size: a pickle ends itself)
        self._file.write(data)

    def get(self, key: int) -> Any:
        got = self._memory.get(key, _NOTHING)
        if got is not _NOTHING:
            return got
        at = self._offsets[key]  # KeyError: never put
        assert self._file is not None
        self._file.seek(at)
        return pickle.load(self._file)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


_NOTHING = object()
