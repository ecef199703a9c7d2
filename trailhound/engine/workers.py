"""Supervised worker processes: tasks in, results out in input order, and a worker that dies or
stops making progress is noticed within a second, its task reported, the others re-run.

Why not multiprocessing.Pool or concurrent.futures: a Pool loses the task of a worker that dies
(`imap` then waits forever); a ProcessPoolExecutor notices the death but breaks the whole pool
and cannot say which task killed it; neither bounds a task's time. Here each worker (fork) has
its own pipe, takes a few tasks per message (as Pool's chunks: fewer wake-ups) and writes the
index of the task it starts into a shared slot, so the supervisor always knows which task a
worker is on, and whether it is moving.

When a worker dies (a signal - SIGKILL from the kernel's OOM killer or `kill -9` -, or an exit)
or stays on one task for `WorkerLimits.stuck_after(size)` seconds (then it is killed):

* the task it was on gets `on_failure(task, Failure)` as its result and is not run again (the
  task that killed one worker would kill the next);
* its other tasks without a result go to a fresh worker; results already received are kept;
* after `max(4, 2 * jobs)` failures in a row with no task finished in between, the failure is
  systemic (workers cannot start, the machine is out of memory): WorkersFailing, one line.

An exception inside a task is a bug, not bad input: WorkerError (the CLI prints one line and
exits 1; `--debug` shows the worker's traceback). MemoryError is a Failure like a kill. One of
our own errors (errors.TrailhoundError: a full disk under the rows a worker writes) stops the
scan as it would here: WorkerRefused, its message and exit code.

A task may hand its result on in parts: when `work(task)` returns a generator, each value it
yields is sent at once as a partial reply and comes out of `supervised` as `Part(value)`, in
task order, before the task's result (the generator's return value). So a task's output need
not fit in memory at once (#9: a file where every record matches). Parts of a task that is
not yet the next to be yielded wait in the supervisor, at most PARTS_AHEAD of them in all:
then the supervisor stops reading the workers that are ahead, which wait in their send (not
counted as stuck) until their task's turn comes; the worker on the next task is always read. A task whose worker dies after sending parts keeps
those parts, followed by its Failure.
"""

from __future__ import annotations

import atexit
import heapq
import os
import pickle
import signal
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from multiprocessing import get_context
from multiprocessing.connection import Connection, wait
from typing import Any, Generic, TypeVar

from trailhound.errors import EngineError, TrailhoundError, UsageError

__all__ = [
    "Failure",
    "Part",
    "WorkerError",
    "WorkerLimits",
    "WorkerRefused",
    "WorkersFailing",
    "supervised",
]

T = TypeVar("T")
R = TypeVar("R")

TIMEOUT_ENV = "TRAILHOUND_WORKER_TIMEOUT"
DEFAULT_TIMEOUT = 600.0  # seconds on one task, plus SECONDS_PER_MB of the task's input
SECONDS_PER_MB = 1.0  # ~10x what `parallel` needs for a MB of gzip CloudTrail: slow is not stuck
TICK = 0.5  # how often the supervisor looks at its workers when no message wakes it
BIG_MESSAGE = 1 << 16  # tasks this large go only to an idle worker (see _Supervisor._send)
# Parts kept, in all, for tasks that are not yet the next to be yielded (a part: up to 256
# matches, ~0.4-1 MB). Why a shared budget this size: with 4 per worker, a worker one file
# ahead waited in its send for the other (dense matches: a file is ~4 parts), and two workers
# used ~1.3 of 2 cores; the old per-worker count also grew with the tasks handed out.
PARTS_AHEAD = 64


class WorkerError(EngineError):
    """A task raised an exception in a worker process (a bug): the scan stops."""


class WorkersFailing(EngineError):
    """Worker processes keep failing, whatever the task: the scan stops."""


class WorkerRefused(EngineError):
    """A task stopped on one of our own errors (errors.TrailhoundError, e.g. spill.RowStore's
    SpillError: the disk is full) in a worker process: its message and exit code, as if it had
    been raised here (a bug is WorkerError)."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class _RemoteTraceback(Exception):
    """The worker's traceback, as the __cause__ of WorkerError (shown by `--debug`)."""

    def __str__(self) -> str:
        return f"\n\n(in the worker process)\n{self.args[0]}"


@dataclass(frozen=True)
class Part(Generic[T]):
    """One partial reply of a task, as `supervised` yields it (see the module docstring)."""

    value: T


class _Gone(Exception):
    """The supervisor's end of the pipe is closed: the worker exits."""


@dataclass(frozen=True)
class Failure:
    """Why a task has no result: `kind` counts it (an Issue kind), `message` explains it."""

    kind: str  # worker_killed | worker_died | worker_stuck | worker_out_of_memory
    message: str


@dataclass(frozen=True)
class WorkerLimits:
    """How long a worker may stay on one task: `timeout` seconds plus SECONDS_PER_MB per
    megabyte of the task's input (0: no limit)."""

    timeout: float = DEFAULT_TIMEOUT

    @classmethod
    def from_env(cls) -> WorkerLimits:
        raw = os.environ.get(TIMEOUT_ENV)
        if raw is None or not raw.strip():
            return cls()
        try:
            value = float(raw)
        except ValueError:
            value = -1.0
        if not value >= 0 or value == float("inf"):
            raise UsageError(
                f"{TIMEOUT_ENV}={raw!r}: expected the seconds a worker may spend on one file "
                f"(e.g. 600; 0: no limit)"
            )
        return cls(value)

    def stuck_after(self, size: int | None) -> float | None:
        if self.timeout <= 0:
            return None
        return self.timeout + (size or 0) / 1e6 * SECONDS_PER_MB


# ---------------------------------------------------------------------------------------------
# Inside a worker


def _die_with_parent(parent: int) -> None:
    """Linux: the kernel kills this worker when the process that forked it dies (SIGKILL of
    the CLI included: no orphan keeps reading). Only set when the main thread forked (the
    signal follows the forking thread, which could end before the scan)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # pragma: no cover - no prctl
        return
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def _prefer_for_oom() -> None:
    """Offer this worker to the kernel's OOM killer before the main process, which holds every
    finding: a killed worker costs one file (reported), a killed main process the whole scan."""
    try:
        with open("/proc/self/oom_score_adj", "w") as fh:
            fh.write("500")
    except OSError:
        pass  # not Linux, or not allowed: the kernel chooses as it would


def _child(
    conn: Connection,
    slot: Any,
    inherited: list[Connection],
    work: Callable[[Any], Any],
    init: Callable[[], None] | None,
    parent: int,
    parent_is_main_thread: bool,
) -> None:
    for c in inherited:  # other workers' pipes: their EOF must not wait for this process
        c.close()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the supervisor's to handle
    # (the CLI's SIGTERM handler unwinds the supervisor; a worker, sent SIGTERM with its process
    # group, just ends - its parent reports the file)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if parent_is_main_thread:
        _die_with_parent(parent)
    _prefer_for_oom()
    if init is not None:
        init()
    while True:
        try:
            batch = conn.recv()
        except (EOFError, OSError):
            return
        if batch is None:
            return
        replies: list[tuple[Any, ...]] = []
        for i, task in batch:
            slot.value = i  # read by the supervisor: which task, and whether it moves
            try:
                out = work(task)
                if isinstance(out, Generator):
                    out = _send_parts(conn, i, out, replies)
                replies.append(("ok", i, out))
            except _Gone:
                return
            except MemoryError:
                replies.append(("oom", i))
            except TrailhoundError as exc:  # one of ours (a full disk under spill.RowStore)
                replies.append(("refused", i, str(exc), exc.exit_code, traceback.format_exc()))
                break
            except Exception as exc:  # noqa: BLE001 - the supervisor raises it (WorkerError)
                replies.append(("error", i, f"{type(exc).__name__}: {exc}", traceback.format_exc()))
                break
        try:
            _send_replies(conn, replies)
        except (EOFError, OSError):
            return
        except Exception as exc:  # noqa: BLE001 - a result pickle refuses: a bug, said as one
            why = f"cannot send the result: {type(exc).__name__}: {exc}"
            _send_replies(conn, [("error", replies[0][1], why, traceback.format_exc())])


def _send_parts(conn: Connection, i: int, parts: Generator[Any, None, Any],
                replies: list[tuple[Any, ...]]) -> Any:
    """Send each part of task `i` as it comes (after the replies waiting before it, which keep
    their order); return the task's result."""
    while True:
        try:
            part = next(parts)
        except StopIteration as stop:
            return stop.value
        try:
            if replies:
                _send_replies(conn, replies)
                replies.clear()
            conn.send_bytes(pickle.dumps([("part", i, part)], pickle.HIGHEST_PROTOCOL))
        except (EOFError, OSError) as exc:
            raise _Gone from exc


def _send_replies(conn: Connection, replies: list[tuple[Any, ...]]) -> None:
    try:
        data = pickle.dumps(replies, pickle.HIGHEST_PROTOCOL)
    except MemoryError:  # together too big: one message each, "out of memory" for what fails
        for r in replies:
            try:
                data = pickle.dumps([r], pickle.HIGHEST_PROTOCOL)
            except MemoryError:
                data = pickle.dumps([("oom", r[1])], pickle.HIGHEST_PROTOCOL)
            conn.send_bytes(data)
        return
    conn.send_bytes(data)


# ---------------------------------------------------------------------------------------------
# The supervisor

_LIVE: set[Any] = set()  # every worker process not yet reaped (killed at exit)


@atexit.register
def _kill_live_workers() -> None:
    """A scan abandoned by an exception whose traceback keeps its generator alive never runs
    its `finally`: stop its workers here (multiprocessing's own atexit handler, registered
    before this one, runs after it and joins them)."""
    for proc in list(_LIVE):
        _kill(proc)


def _kill(proc: Any) -> None:
    try:
        proc.kill()
        proc.join(5)
    except (OSError, ValueError, AssertionError):
        pass
    _LIVE.discard(proc)


def _peak_memory(pid: int) -> int | None:
    """Peak resident memory of a live process, bytes (Linux /proc; None elsewhere)."""
    try:
        with open(f"/proc/{pid}/status", "rb") as fh:
            for line in fh:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _size(n: int) -> str:
    mb = n / 2**20
    return f"{mb / 1024:.1f} GB" if mb >= 1024 else f"{mb:.1f} MB"


def _signal_name(num: int) -> str:
    try:
        return signal.Signals(num).name
    except ValueError:
        return "unnamed"


LOST = "the rest of this file is not scanned, every other file is"
MEMORY_STEP = "Scan it alone with more memory free, or split it"
DEBUG_STEP = "To see why, scan it alone in one process: --engine reference (and --debug)"


def failure_of(exitcode: int | None, peak: int | None) -> Failure:
    """The Failure of a worker that ended on its own (exit status from multiprocessing)."""
    mem = f" (peak memory {_size(peak)})" if peak else ""
    what = "the worker process reading this file"
    if exitcode is not None and exitcode < 0:
        num = -exitcode
        name = _signal_name(num)
        if num == signal.SIGKILL:
            return Failure(
                "worker_killed",
                f"{what} was killed (signal {num}, {name}), probably out of memory{mem}; {LOST}. "
                f"{MEMORY_STEP}",
            )
        return Failure(
            "worker_killed", f"{what} died of signal {num} ({name}){mem}; {LOST}. {DEBUG_STEP}"
        )
    return Failure(
        "worker_died", f"{what} exited unexpectedly (exit code {exitcode}){mem}; {LOST}. {DEBUG_STEP}"
    )


def stuck_failure(after: float, limits: WorkerLimits) -> Failure:
    return Failure(
        "worker_stuck",
        f"the worker process reading this file stayed on it for {after:.0f} s, so it was "
        f"stopped ({TIMEOUT_ENV}={limits.timeout:g} s, plus {SECONDS_PER_MB:g} s per MB of the "
        f"file); {LOST}. If the file is only slow, raise {TIMEOUT_ENV}; if it is a pipe or on a "
        f"hung mount, check its source",
    )


OOM_FAILURE = Failure(
    "worker_out_of_memory",
    f"the worker process reading this file ran out of memory (MemoryError); {LOST}. {MEMORY_STEP}",
)


@dataclass(eq=False)
class _Worker:
    proc: Any
    conn: Connection
    slot: Any  # shared int: the task it last started (-1: none yet)
    queue: deque[int] = field(default_factory=deque)  # tasks sent, in order, no result yet
    on: int = -1  # the slot's value when last read, and since when (monotonic)
    since: float = 0.0
    peak: int | None = None
    broken: bool = False  # its pipe failed: it is dying, its sentinel will say how


class _Supervisor(Generic[T, R]):
    def __init__(
        self,
        tasks: Sequence[T],
        work: Callable[[T], R | Generator[Any, None, R]],
        on_failure: Callable[[T, Failure], R],
        jobs: int,
        sizes: Sequence[int | None],
        limits: WorkerLimits,
        init: Callable[[], None] | None,
        names: Callable[[T], str],
        chunk: int,
    ) -> None:
        self.tasks = tasks
        self.work = work
        self.on_failure = on_failure
        self.jobs = max(1, min(jobs, len(tasks)))
        self.sizes = sizes
        self.limits = limits
        self.init = init
        self.names = names
        self.chunk = chunk
        # at most this many tasks handed out and not yet yielded: memory stays a few tasks'
        # worth of results even when the consumer is slower than the workers
        self.window = 3 * self.jobs * chunk
        self.ctx = get_context("fork")
        self.workers: list[_Worker] = []
        self.pending = list(range(len(tasks)))  # a heap: the earliest task goes out first
        self.done: dict[int, R] = {}
        self.parts: dict[int, deque[Any]] = {}  # task -> parts received, not yet yielded
        self.nxt = 0  # the next task to yield
        self.out = 0  # handed out (assigned or done), not yet yielded
        self.failures_in_a_row = 0
        self.max_failures_in_a_row = max(4, 2 * self.jobs)
        self.sampled = 0.0  # when the workers' peak memory was last read

    # -- the loop ---------------------------------------------------------------------------

    def run(self) -> Generator[R | Part[Any], None, None]:
        n = len(self.tasks)
        try:
            for _ in range(self.jobs):
                self._start()
            while self.nxt < n:
                nxt = self.nxt
                parts = self.parts.get(nxt)
                if parts:  # (all of them arrive before the task's result)
                    yield Part(parts.popleft())
                    continue
                if nxt in self.done:
                    self.parts.pop(nxt, None)
                    res = self.done.pop(nxt)
                    self.nxt += 1
                    self.out -= 1
                    yield res
                    continue
                self._assign()
                self._step()
            self._stop()
        finally:
            for w in self.workers:
                _kill(w.proc)
                w.conn.close()
            self.workers = []

    def _start(self) -> None:
        parent_end, child_end = self.ctx.Pipe(duplex=True)
        slot = self.ctx.RawValue("q", -1)
        inherited = [w.conn for w in self.workers]
        proc = self.ctx.Process(
            target=_child,
            args=(child_end, slot, inherited, self.work, self.init, os.getpid(),
                  threading.current_thread() is threading.main_thread()),
            daemon=True,
            name="trailhound-worker",
        )
        proc.start()
        _LIVE.add(proc)
        child_end.close()  # held by the worker alone: its death is EOF here
        self.workers.append(_Worker(proc, parent_end, slot, since=time.monotonic()))

    def _stop(self) -> None:
        """Normal end: every worker idle; ask them to exit, kill any that does not."""
        deadline = time.monotonic() + 2
        for w in self.workers:
            try:
                w.conn.send(None)
            except OSError:
                pass
        for w in self.workers:
            w.proc.join(max(0.0, deadline - time.monotonic()))
            _kill(w.proc)
            w.conn.close()
        self.workers = []

    def _assign(self) -> None:
        """Up to two batches per worker: one it works on, one waiting (it never waits for us)."""
        for w in sorted(self.workers, key=lambda w: len(w.queue)):
            while (
                self.pending and not w.broken and len(w.queue) < 2 * self.chunk
                and self.out < self.window
            ):
                batch = [heapq.heappop(self.pending)
                         for _ in range(min(self.chunk, len(self.pending)))]
                if not self._send(w, batch):
                    for i in batch:
                        heapq.heappush(self.pending, i)
                    break

    def _send(self, w: _Worker, batch: list[int]) -> bool:
        data = pickle.dumps([(i, self.tasks[i]) for i in batch], pickle.HIGHEST_PROTOCOL)
        if len(data) > BIG_MESSAGE and w.queue:
            # A busy worker may be blocked sending us results while we block sending it this:
            # only an idle worker (waiting in recv) takes a message larger than a pipe buffer.
            return False
        try:
            w.conn.send_bytes(data)
        except OSError:
            w.broken = True
            return False
        w.queue.extend(batch)
        self.out += len(batch)
        return True

    def _step(self) -> None:
        """Wait for a message or a death (at most TICK), handle what came, check the time."""
        waiting: dict[Any, tuple[_Worker, bool]] = {}
        held: set[_Worker] = set()
        for w in self.workers:
            if self._held(w):
                held.add(w)
            elif not w.broken:  # (a broken pipe reads as EOF at once: wait for the sentinel)
                waiting[w.conn] = (w, False)
            waiting[w.proc.sentinel] = (w, True)
        for obj in wait(list(waiting), TICK):
            w, died = waiting[obj]
            if w not in self.workers:
                continue  # already replaced in this round
            self._receive(w, drain=died)  # (when it died: what it sent before counts)
            if died:
                self._replace(w, failure_of(self._reap(w), w.peak))
        now = time.monotonic()
        sample = now - self.sampled >= TICK  # (a /proc read per worker: not after every file)
        if sample:
            self.sampled = now
        for w in list(self.workers):
            if not w.queue:
                continue
            on = w.slot.value
            if on != w.on or w in held:  # it moved on (noticed now, at the latest), or it
                w.on, w.since = on, now  # waits for us: its time on the task starts again
            if sample:
                w.peak = _peak_memory(w.proc.pid) or w.peak
            if on not in w.queue:
                continue  # between batches
            bound = self.limits.stuck_after(self.sizes[on])
            if bound is not None and now - w.since > bound:
                _kill(w.proc)
                self._receive(w, drain=True)
                self._replace(w, stuck_failure(now - w.since, self.limits))

    def _held(self, w: _Worker) -> bool:
        """Whether `w`'s task is not the next to be yielded while PARTS_AHEAD parts of such
        tasks already wait here: then its further parts wait in the pipe (bounded memory).
        (Counted when asked: `parts` holds at most the window's few dozen tasks.)"""
        if not w.queue or w.queue[0] == self.nxt:
            return False
        nxt = self.nxt
        return sum(len(p) for i, p in self.parts.items() if i != nxt) >= PARTS_AHEAD

    def _receive(self, w: _Worker, drain: bool = False) -> None:
        """Take what `w` sent: until it is held (see _held), or all of it (`drain`: it is dead)."""
        try:
            while (drain or not self._held(w)) and w.conn.poll():
                for reply in w.conn.recv():
                    self._take(w, reply)
        except (EOFError, OSError, pickle.UnpicklingError):
            w.broken = True  # died mid-message: its sentinel says how

    def _take(self, w: _Worker, reply: tuple[Any, ...]) -> None:
        kind, i = reply[0], reply[1]
        if not w.queue or w.queue[0] != i:  # pragma: no cover - protocol invariant
            raise EngineError(f"a worker answered task {i}, expected {list(w.queue)[:1]}")
        if kind == "error":
            name = self.names(self.tasks[i])
            raise WorkerError(
                f"{name}: internal error while reading this file: {reply[2]}. This is a "
                f"trailhound bug: please report it (--debug shows the traceback)"
            ) from _RemoteTraceback(reply[3])
        if kind == "refused":
            raise WorkerRefused(reply[2], reply[3]) from _RemoteTraceback(reply[4])
        if kind == "part":
            self.parts.setdefault(i, deque()).append(reply[2])
            return
        w.queue.popleft()
        if kind == "oom":
            self._fail(i, OOM_FAILURE)
        else:
            self.done[i] = reply[2]
            self.failures_in_a_row = 0

    def _reap(self, w: _Worker) -> int | None:
        w.proc.join(5)
        _LIVE.discard(w.proc)
        code: int | None = w.proc.exitcode
        return code

    def _fail(self, i: int, why: Failure) -> None:
        self.failures_in_a_row += 1
        if self.failures_in_a_row >= self.max_failures_in_a_row:
            raise WorkersFailing(
                f"worker processes keep failing ({self.failures_in_a_row} files in a row, none "
                f"finished in between; the last, {self.names(self.tasks[i])}: {why.message}). "
                f"Check free memory, or scan with --engine reference"
            )
        self.done[i] = self.on_failure(self.tasks[i], why)

    def _replace(self, w: _Worker, why: Failure) -> None:
        """`w` is gone: fail the task it was on, requeue its others, start a fresh worker."""
        self.workers.remove(w)
        w.conn.close()
        _LIVE.discard(w.proc)
        on = w.slot.value
        culprit = on if on in w.queue else None  # (not in it: it died between batches)
        for i in w.queue:
            if i != culprit:
                heapq.heappush(self.pending, i)
                self.out -= 1
        w.queue.clear()
        if culprit is not None:
            self._fail(culprit, why)
        if self.pending:
            self._start()


def supervised(
    tasks: Sequence[T],
    work: Callable[[T], R | Generator[Any, None, R]],
    on_failure: Callable[[T, Failure], R],
    *,
    jobs: int,
    sizes: Sequence[int | None],
    names: Callable[[T], str],
    limits: WorkerLimits | None = None,
    init: Callable[[], None] | None = None,
    chunk: int | None = None,
) -> Generator[R | Part[Any], None, None]:
    """`work(task)` for every task, in `jobs` forked worker processes, results in task order
    (a task whose `work` returns a generator: its parts, as Part, then its result). A task
    whose worker died or was stopped yields `on_failure(task, Failure)` as its result (see the
    module docstring). `sizes[i]`: task i's input bytes (the time bound grows with them);
    `chunk`: tasks per message (Pool's rule by default: up to 8 when there are many, so
    thousands of small files cost few wake-ups, and still a balanced end)."""
    if chunk is None:
        chunk = max(1, min(8, len(tasks) // (max(1, jobs) * 16)))
    sup = _Supervisor(tasks, work, on_failure, jobs, sizes, limits or WorkerLimits.from_env(),
                      init, names, chunk)
    return sup.run()
