"""Worker processes that die or hang (issue #9, "[P1] Hardening"), for the engines that read files
in workers (`parallel`, the CLI's default, and `fast`).

The CLI cases use a real trigger, seen from outside: one input is a FIFO (named pipe). The
worker that opens it blocks until a writer comes, so "the worker busy with that file" can be
observed: the test opens the write end (the rendezvous returns once a worker has the FIFO open),
finds that worker among the CLI's children by its open file descriptors in /proc, and kills it
(SIGKILL, as the kernel's OOM killer does) - or leaves it blocked, for the time bound to stop it.
The oracle for the other files' findings is the reference engine (one process, no workers) run
by the CLI on those files alone.

The supervisor cases run `workers.supervised` on plain Python tasks that kill themselves,
exit, raise or sleep, and check every result against the task list.
"""

from __future__ import annotations

import faulthandler
import gzip
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import require
from tests.test_engine_parallel import ct
from trailhound.engine import workers
from trailhound.engine.workers import (
    Failure,
    Part,
    WorkerError,
    WorkerLimits,
    WorkersFailing,
    supervised,
)
from trailhound.errors import UsageError

REPO = Path(__file__).resolve().parents[1]
LIVENESS = 10.0  # the CLI must be gone this long after its worker died or got stuck (s)
ENDED = 120.0  # the CLI that would run forever without a fix must have ended (s)


def _needs_proc_and_fork() -> None:
    import multiprocessing

    require(Path("/proc/self/fd").is_dir() and hasattr(os, "mkfifo"), "needs Linux (/proc, mkfifo)")
    require("fork" in multiprocessing.get_all_start_methods(), "needs the fork start method")


# ---------------------------------------------------------------------------------------------
# The supervisor on plain tasks


def _work(task: Any) -> Any:
    """Each task says what its worker does."""
    kind, value = task
    if kind == "kill":
        faulthandler.disable()  # (pytest's, inherited: it would print the worker's stack)
        os.kill(os.getpid(), value)
        time.sleep(30)  # (a signal whose default is not to end the process)
    if kind == "exit":
        os._exit(value)
    if kind == "grow_and_die":  # hold `value` MB for a while (the supervisor samples), then die
        ballast = bytearray(value << 20)
        time.sleep(2)
        os.kill(os.getpid(), signal.SIGKILL)
        del ballast
    if kind == "raise":
        raise value
    if kind == "sleep":
        time.sleep(value)
    return ("done", value)


def _failed(task: Any, why: Failure) -> Any:
    return ("failed", task[1], why)


def run(tasks: list[tuple[str, Any]], jobs: int = 2, timeout: float = 600, chunk: int = 3) -> list[Any]:
    """Three tasks per message: a worker that dies mid-batch leaves tasks done but not sent."""
    return list(supervised(
        tasks, _work, _failed, jobs=jobs, sizes=[None] * len(tasks),
        names=lambda t: f"task-{t[1]}", limits=WorkerLimits(timeout), chunk=chunk,
    ))


def test_results_in_task_order_without_trouble() -> None:
    _needs_proc_and_fork()
    tasks = [("ok", i) for i in range(40)]
    assert run(tasks, jobs=3) == [("done", i) for i in range(40)]


@pytest.mark.parametrize(
    ("how", "kind", "words"),
    [
        (("kill", signal.SIGKILL), "worker_killed", ["signal 9", "SIGKILL", "probably out of memory"]),
        (("kill", signal.SIGSEGV), "worker_killed", ["signal 11", "SIGSEGV"]),
        (("exit", 7), "worker_died", ["exit code 7"]),
        (("raise", MemoryError()), "worker_out_of_memory", ["MemoryError"]),
    ],
)
def test_a_dying_worker_costs_its_task_only(how: tuple[str, Any], kind: str, words: list[str]) -> None:
    _needs_proc_and_fork()
    tasks = [("ok", i) for i in range(30)]
    tasks[11] = how
    got = run(tasks)
    assert len(got) == 30
    for i, res in enumerate(got):
        if i == 11:
            assert res[0] == "failed" and res[2].kind == kind, res
            for w in words:
                assert w in res[2].message, res[2].message
        else:  # queued behind it on the same worker, or on the other one: all done, in order
            assert res == ("done", i)


def test_the_dead_worker_s_memory_is_reported() -> None:
    _needs_proc_and_fork()
    tasks = [("ok", 0), ("grow_and_die", 300), ("ok", 2)]
    got = run(tasks)
    why = got[1][2]
    assert why.kind == "worker_killed" and "peak memory" in why.message, why
    m = re.search(r"peak memory ([0-9.]+) (MB|GB)\)", why.message)
    assert m and (float(m[1]) >= 300 or m[2] == "GB"), why.message
    assert got[0] == ("done", 0) and got[2] == ("done", 2)


def test_several_deaths_are_each_reported_and_the_rest_done() -> None:
    _needs_proc_and_fork()
    tasks = [("ok", i) for i in range(30)]
    for k in (0, 5, 6, 29):
        tasks[k] = ("exit", 3)
    got = run(tasks)
    assert [r[0] for r in got] == ["failed" if k in (0, 5, 6, 29) else "done" for k in range(30)]


def test_a_stuck_worker_is_stopped_after_the_bound() -> None:
    _needs_proc_and_fork()
    tasks = [("ok", i) for i in range(12)]
    tasks[4] = ("sleep", 120)
    t0 = time.monotonic()
    got = run(tasks, timeout=1)
    assert time.monotonic() - t0 < 60  # liveness: far below the 120 s sleep
    assert got[4][0] == "failed" and got[4][2].kind == "worker_stuck"
    assert "TRAILHOUND_WORKER_TIMEOUT" in got[4][2].message
    assert [r for k, r in enumerate(got) if k != 4] == [("done", k) for k in range(12) if k != 4]


def test_the_bound_is_per_task_not_per_batch() -> None:
    """Five 1 s tasks in one message to one worker: 5 s on the batch, 1 s on each task, so a
    3 s bound stops none of them (the worker shows which task it is on)."""
    _needs_proc_and_fork()
    tasks = [("sleep", 1.0)] * 5
    got = run(tasks, jobs=1, timeout=3, chunk=5)
    assert got == [("done", 1.0)] * 5


def test_the_bound_grows_with_the_file_size() -> None:
    lim = WorkerLimits(10)
    assert lim.stuck_after(None) == 10
    assert lim.stuck_after(50_000_000) == 60
    assert WorkerLimits(0).stuck_after(10**9) is None


@pytest.mark.parametrize("raw", ["soon", "-1", "nan", "inf"])
def test_a_bad_bound_is_a_usage_error(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv("TRAILHOUND_WORKER_TIMEOUT", raw)
    with pytest.raises(UsageError, match="TRAILHOUND_WORKER_TIMEOUT"):
        WorkerLimits.from_env()


def test_an_exception_in_a_task_is_a_bug_and_stops_the_scan() -> None:
    _needs_proc_and_fork()
    tasks = [("ok", i) for i in range(10)]
    tasks[3] = ("raise", KeyError("boom"))
    with pytest.raises(WorkerError, match=r"task-.*KeyError: 'boom'.*bug") as info:
        run(tasks)
    assert "Traceback" in str(info.value.__cause__)  # the worker's, for --debug


_BLOB = bytes(64 << 10)


def _parts_work(task: tuple[str, int]) -> Iterator[Any]:
    """A task handing its output on in parts (as a file of many matches does): `many` yields
    50 parts of 64 KiB at once (more than a pipe holds), `slow` sleeps first, `die` is killed
    after its parts."""
    kind, i = task
    if kind == "slow":
        time.sleep(0.9)
    for k in range(50 if kind == "many" else 3):
        yield (i, k, _BLOB if kind == "many" else b"")
    if kind == "die":
        faulthandler.disable()
        os.kill(os.getpid(), signal.SIGKILL)
    return ("done", i)


def _parts_want(tasks: list[tuple[str, int]]) -> list[Any]:
    out: list[Any] = []
    for kind, i in tasks:
        out += [Part((i, k, _BLOB if kind == "many" else b"")) for k in range(50 if kind == "many" else 3)]
        out.append(("failed", i) if kind == "die" else ("done", i))
    return out


def _parts_run(tasks: list[tuple[str, int]], timeout: float) -> list[Any]:
    got = list(supervised(
        tasks, _parts_work, _failed, jobs=2, sizes=[None] * len(tasks), names=str,
        limits=WorkerLimits(timeout), chunk=3,
    ))
    return [r[:2] if isinstance(r, tuple) and r[0] == "failed" else r for r in got]


def test_parts_come_in_task_order_and_a_waiting_worker_is_not_stuck() -> None:
    """The first worker takes tasks 0-5 (two batches of three; 0-2 take 0.9 s each), the
    second 6-8, whose parts arrive long before their turn: it waits in its send (about 2.7 s,
    past the 1.5 s bound) and is not stopped as stuck for it."""
    _needs_proc_and_fork()
    tasks = [("slow", 0), ("slow", 1), ("slow", 2), ("ok", 3), ("ok", 4), ("ok", 5),
             ("many", 6), ("ok", 7), ("many", 8)]
    assert _parts_run(tasks, timeout=1.5) == _parts_want(tasks)


def test_parts_of_tasks_ahead_are_bounded_in_all(monkeypatch: pytest.MonkeyPatch) -> None:
    """While task 0 sleeps, the other worker runs ahead through many small tasks (3 parts
    each) and large ones (50): the parts held for tasks that are not next stay within
    workers.PARTS_AHEAD in all, however many tasks are handed out (a count per task let
    small tasks pile up to the window), and every part still comes in order."""
    _needs_proc_and_fork()
    monkeypatch.setattr(workers, "PARTS_AHEAD", 20)
    tasks = [("slow", 0), *[("ok", i) for i in range(1, 40)], ("many", 40), ("many", 41)]
    gen = supervised(
        tasks, _parts_work, _failed, jobs=2, sizes=[None] * len(tasks), names=str,
        limits=WorkerLimits(60), chunk=3,
    )
    got: list[Any] = []
    most = 0
    for r in gen:
        got.append(r)
        sup = gen.gi_frame.f_locals["self"] if gen.gi_frame is not None else None
        if sup is not None:
            most = max(most, sum(len(p) for i, p in sup.parts.items() if i != sup.nxt))
    assert got == _parts_want(tasks)
    assert 3 < most <= 20  # (ran ahead, within the bound)


def test_parts_sent_before_a_worker_died_are_kept_then_its_failure() -> None:
    _needs_proc_and_fork()
    tasks = [("ok", i) for i in range(12)]
    tasks[4] = ("die", 4)
    assert _parts_run(tasks, timeout=60) == _parts_want(tasks)


def test_workers_that_always_die_stop_the_scan_with_one_error() -> None:
    _needs_proc_and_fork()
    tasks = [("exit", 1)] * 50
    with pytest.raises(WorkersFailing, match="keep failing"):
        run(tasks)


def test_no_worker_outlives_an_abandoned_scan() -> None:
    _needs_proc_and_fork()
    tasks = [("ok", i) for i in range(200)]
    # children other tests left running (the shared Spark JVM, a browser driver) are not ours
    before = set(_children(os.getpid()))
    it = supervised(tasks, _work, _failed, jobs=2, sizes=[None] * 200, names=str,
                    limits=WorkerLimits(60))
    assert next(it) == ("done", 0)
    workers = [pid for pid in _children(os.getpid()) if pid not in before]
    assert workers
    it.close()
    assert not [pid for pid in workers if _alive(pid)]


# ---------------------------------------------------------------------------------------------
# The CLI, with a real worker killed or stuck


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])  # (the name may hold spaces)
        if ppid == pid:
            out.append(int(entry.name))
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _where(pid: int, workers: list[int]) -> str:
    """What the CLI and its workers are doing (for a failure's message): each one's state, the
    kernel function it waits in, its signal masks; the Python stacks when py-spy is here."""
    lines = []
    for q in [pid, *workers, *(set(_children(pid)) - set(workers))]:
        try:
            status = Path(f"/proc/{q}/status").read_text().splitlines()
            wchan = Path(f"/proc/{q}/wchan").read_text()
        except OSError:
            lines.append(f"{q}: gone")
            continue
        keep = ("State", "SigPnd", "ShdPnd", "SigBlk", "SigIgn", "SigCgt")
        lines.append(f"{q}: wchan={wchan} " + " ".join(
            line.replace("\t", "") for line in status if line.split(":")[0] in keep))
        spy = shutil.which("py-spy")
        if spy:
            dump = subprocess.run([spy, "dump", "--pid", str(q)], capture_output=True, text=True,
                                  timeout=30, check=False)
            lines.append(dump.stdout + dump.stderr)
    return "\n".join(lines)


def _holder(parent: int, path: Path, deadline: float) -> int:
    """The child of `parent` that has `path` open."""
    target = str(path)
    while time.monotonic() < deadline:
        for pid in _children(parent):
            try:
                fds = list(Path(f"/proc/{pid}/fd").iterdir())
            except OSError:
                continue
            for fd in fds:
                try:
                    if os.readlink(fd) == target:
                        return pid
                except OSError:
                    continue
        time.sleep(0.05)
    raise AssertionError(f"no worker of {parent} opened {path}")


def _open_writer(fifo: Path, proc: subprocess.Popen[str], deadline: float) -> int:
    """The FIFO's write end, once a reader (a worker) has it open."""
    while time.monotonic() < deadline:
        try:
            return os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError:  # ENXIO: no reader yet
            if proc.poll() is not None:
                raise AssertionError(f"the CLI ended before reading {fifo}: {proc.communicate()}") from None
            time.sleep(0.05)
    raise AssertionError(f"no worker opened {fifo}")


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Eight CloudTrail files, each with records the shipped rules flag."""
    root = tmp_path_factory.mktemp("hostile")
    names = ["CreateUser", "AttachUserPolicy", "RunInstances", "CreateAccessKey", "DescribeInstances"]
    files = []
    for k in range(8):
        recs = [ct(k * 40 + i, eventName=names[i % 5]) for i in range(40)]
        path = root / f"f{k}.json.gz"
        path.write_bytes(gzip.compress(json.dumps({"Records": recs}).encode()))
        files.append(path)
    return files


def _cli(args: list[str], **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "trailhound", "detect", "--format", "jsonl", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO), "TRAILHOUND_JOBS": "2", **env},
        start_new_session=True,
    )


@pytest.fixture(scope="module")
def reference_out(inputs: list[Path]) -> str:
    p = _cli(["--engine", "reference", *map(str, inputs)])
    out, err = p.communicate(timeout=300)
    assert p.returncode == 0, err
    assert len(out.splitlines()) >= 8 * 8  # findings in every file: losing one file shows
    return out


@pytest.fixture
def fifo(tmp_path: Path) -> Iterator[Path]:
    _needs_proc_and_fork()
    path = tmp_path / "hostile.json"
    os.mkfifo(path)
    yield path


@pytest.fixture
def cleanup() -> Iterator[list[Any]]:
    """Processes and descriptors a failing test leaves behind."""
    left: list[Any] = []
    yield left
    for x in left:
        if isinstance(x, int):
            try:
                os.close(x)
            except OSError:
                pass
        elif x.poll() is None:
            os.killpg(x.pid, signal.SIGKILL)
            x.wait()


def _check_report(p: subprocess.Popen[str], out: str, err: str, fifo: Path, words: list[str],
                  reference_out: str) -> None:
    assert p.returncode == 3, err  # scan finished, some input bad
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if str(fifo) in line]
    assert len(lines) == 1, err
    for w in words:
        assert w in lines[0], lines[0]
    assert out == reference_out  # every finding of every other file, in the same order


@pytest.mark.parametrize("engine", ["parallel", "fast"])
def test_cli_worker_killed_mid_file(inputs: list[Path], fifo: Path, reference_out: str,
                                    cleanup: list[Any], engine: str) -> None:
    args = [*map(str, inputs[:3]), str(fifo), *map(str, inputs[3:])]
    p = _cli(["--engine", engine, *args])
    cleanup.append(p)
    deadline = time.monotonic() + 120  # CLI start-up (rules compile) on a loaded machine
    w = _open_writer(fifo, p, deadline)
    cleanup.append(w)
    worker = _holder(p.pid, fifo, deadline)
    os.kill(worker, signal.SIGKILL)
    try:
        out, err = p.communicate(timeout=LIVENESS)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the CLI still runs {LIVENESS} s after its worker was killed")
    _check_report(p, out, err, fifo, ["signal 9", "SIGKILL", "probably out of memory"], reference_out)
    assert "worker_killed 1" in err


@pytest.mark.parametrize("engine", ["parallel", "fast"])
def test_cli_stuck_worker_stopped_after_the_bound(inputs: list[Path], fifo: Path, reference_out: str,
                                                  cleanup: list[Any], engine: str) -> None:
    args = [*map(str, inputs[:5]), str(fifo), *map(str, inputs[5:])]
    # 3 s: far above what the other (small) files take, even on a loaded machine
    p = _cli(["--engine", engine, *args], TRAILHOUND_WORKER_TIMEOUT="3")
    cleanup.append(p)
    w = _open_writer(fifo, p, time.monotonic() + 120)  # held open, never written: read blocks
    cleanup.append(w)
    try:
        out, err = p.communicate(timeout=3 + LIVENESS)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the CLI still runs {LIVENESS} s after the 3 s bound")
    _check_report(p, out, err, fifo, ["stayed on it for", "TRAILHOUND_WORKER_TIMEOUT=3"], reference_out)
    assert "worker_stuck 1" in err


def _blocked_cli(inputs: list[Path], fifo: Path, cleanup: list[Any], **env: str
                 ) -> tuple[subprocess.Popen[str], int, list[int]]:
    """The CLI on `inputs` and `fifo`, once a worker is blocked reading the FIFO (no time bound:
    TRAILHOUND_WORKER_TIMEOUT=0): (the CLI, that worker, all its workers)."""
    p = _cli([*map(str, inputs), str(fifo)], TRAILHOUND_WORKER_TIMEOUT="0", **env)
    cleanup.append(p)
    deadline = time.monotonic() + 120
    w = _open_writer(fifo, p, deadline)
    cleanup.append(w)
    return p, _holder(p.pid, fifo, deadline), _children(p.pid)


def _ended(p: subprocess.Popen[str], workers: list[int], signal_name: str) -> str:
    """The CLI's stderr once it has ended (ENDED at most: see the Ctrl-C test)."""
    try:
        return p.communicate(timeout=ENDED)[1]
    except subprocess.TimeoutExpired:
        pytest.fail(f"the CLI ignored {signal_name} ({ENDED:g} s):\n{_where(p.pid, workers)}")


def test_cli_ctrl_c_stops_the_workers(inputs: list[Path], fifo: Path, cleanup: list[Any]) -> None:
    """Ctrl-C while a worker is blocked on a pipe: the CLI stops its workers and ends (130).

    How long to wait: a CLI that did not honour Ctrl-C would never end here (the worker waits
    on the FIFO forever: no time bound, TRAILHOUND_WORKER_TIMEOUT=0), so the wait needs no
    tight bound to fail, and has a loose one (ENDED): the CLI takes ~0.2 s, but the bound is
    measured by this process, which a loaded machine can leave unscheduled for seconds (or
    another thread of it, holding the GIL). A 10 s bound once failed so under pytest-xdist,
    with nothing read from the CLI: the clock is checked before what the CLI wrote is read.
    """
    p, worker, workers = _blocked_cli(inputs, fifo, cleanup)
    os.killpg(p.pid, signal.SIGINT)  # what a terminal's Ctrl-C does: the whole process group
    err = _ended(p, workers, "Ctrl-C")
    assert p.returncode == 130 and "aborted" in err, err
    assert "Traceback" not in err, err
    assert worker in workers and not [pid for pid in workers if _alive(pid)]


@pytest.mark.parametrize("to_group", [False, True], ids=["to-the-cli", "to-its-group"])
def test_cli_sigterm_stops_the_workers_and_removes_its_files(
    inputs: list[Path], fifo: Path, cleanup: list[Any], tmp_path: Path, to_group: bool
) -> None:
    """SIGTERM (`timeout`, `kill`, a stopping container: to the CLI alone or to its group)
    while a worker is blocked: it ends as for Ctrl-C, its workers stopped and its temporary
    folder (the rows of a JSON-lines scan) removed, with SIGTERM's code (143). Before, the
    signal killed it outright and left the folder in TMPDIR (~1.3 GB for 1M findings). The
    wait: as in the Ctrl-C test above."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    p, worker, workers = _blocked_cli(inputs, fifo, cleanup, TMPDIR=str(tmp))
    assert [d.name for d in tmp.iterdir() if d.name.startswith("trailhound-rows-")], list(tmp.iterdir())
    if to_group:
        os.killpg(p.pid, signal.SIGTERM)
    else:
        os.kill(p.pid, signal.SIGTERM)
    err = _ended(p, workers, "SIGTERM")
    assert p.returncode == 143 and "terminated" in err, (p.returncode, err)
    assert "Traceback" not in err, err
    assert worker in workers and not [pid for pid in workers if _alive(pid)]
    assert list(tmp.iterdir()) == []


# Holds the CLI's import of trailhound.cli.app (click, the rules, the engines: the ~0.3-1 s
# before its own Ctrl-C handling exists) until a signal comes, then runs `python -m trailhound`.
_HELD_START = """
import importlib.abc, runpy, sys, time

class Hold(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name == "trailhound.cli.app":
            print("importing", flush=True)
            time.sleep(120)
        return None

sys.meta_path.insert(0, Hold())
sys.argv = ["trailhound", "sources"]
runpy.run_module("trailhound", run_name="__main__", alter_sys=True)
"""


def test_cli_ctrl_c_while_starting_is_an_abort_not_a_traceback(cleanup: list[Any]) -> None:
    p = subprocess.Popen(
        [sys.executable, "-c", _HELD_START], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, start_new_session=True,
    )
    cleanup.append(p)
    assert p.stdout is not None and p.stdout.readline() == "importing\n"
    os.killpg(p.pid, signal.SIGINT)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 130 and "aborted" in err, (p.returncode, err)
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err


def test_the_script_starts_where_python_m_does() -> None:
    """The `trailhound` script and `python -m trailhound` enter through the same main (the one
    that handles a Ctrl-C during the imports)."""
    import tomllib

    from trailhound.__main__ import main

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    module, name = project["scripts"]["trailhound"].split(":")
    assert (module, name) == (main.__module__, main.__name__) == ("trailhound.__main__", "main")


def test_cli_killed_takes_its_workers_along(
    inputs: list[Path], fifo: Path, cleanup: list[Any], tmp_path: Path
) -> None:
    """SIGKILL of the CLI runs none of its code: the kernel stops the workers (Linux). (Its
    temporary folder stays, as any program's would: here, under the test's own.)"""
    p = _cli([*map(str, inputs), str(fifo)], TMPDIR=str(tmp_path))
    cleanup.append(p)
    deadline = time.monotonic() + 120
    cleanup.append(_open_writer(fifo, p, deadline))
    worker = _holder(p.pid, fifo, deadline)
    os.kill(p.pid, signal.SIGKILL)
    p.wait(timeout=LIVENESS)
    end = time.monotonic() + LIVENESS
    while _alive(worker) and time.monotonic() < end:
        time.sleep(0.05)
    assert not _alive(worker), "a worker outlived the CLI"
