"""Output that cannot be written, and output paths that are not regular files.

- Disk full (or an I/O error) on stdout: every command died with a traceback and exit 120 (the
  interpreter's failed last flush, "Exception ignored in: <_io.TextIOWrapper name=1>"); on a
  -o FILE with a traceback and exit 1. Now one line naming why, exit 1 (fatal).
- `report -o` and `baseline build -o` write through a temporary file renamed over the target;
  over a FIFO or a device that replaced the pipe or the device node itself (run as root,
  `report -o /dev/full` swapped /dev/full for a regular file). Now such a target is written in
  place (atomic.replaced).
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests import hostile_inputs as H
from trailhound.atomic import replaced

FULL = "/dev/full"


def _need_dev_full() -> None:
    if not os.path.exists(FULL) or not stat.S_ISCHR(os.stat(FULL).st_mode):
        if os.environ.get("CI") == "true":
            pytest.fail("/dev/full (a Linux character device that is always full) is missing")
        pytest.skip("/dev/full is missing: no always-full device to write to")


def run(*args: str | Path, stdout: int | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "trailhound", *map(str, args)], stdout=stdout,
        stderr=subprocess.PIPE, text=True, timeout=300, check=False,
    )


@pytest.mark.parametrize("args", [
    ["detect", "--format", "table"], ["detect", "--format", "jsonl"], ["principals"],
    ["hunt", "recon_then_tampering"],
], ids=["table", "jsonl", "principals", "hunt"])
def test_disk_full_on_stdout_is_one_line_and_exit_1(tmp_path: Path, args: list[str]) -> None:
    _need_dev_full()
    control = H.control_file(tmp_path / "c.json")
    with open(FULL, "w") as full:
        p = run(*args, control, stdout=full.fileno())
    assert p.returncode == 1, p.stderr
    assert "Traceback" not in p.stderr and "Exception ignored" not in p.stderr
    assert p.stderr.endswith("trailhound: error: cannot write the output: No space left on "
                             "device; free space there or write elsewhere\n")


def test_disk_full_on_an_output_file(tmp_path: Path) -> None:
    _need_dev_full()
    p = run("attack-layer", "-o", FULL, H.control_file(tmp_path / "c.json"))
    assert p.returncode == 1 and "Traceback" not in p.stderr
    assert "cannot write the output: No space left on device" in p.stderr


def _drain(fifo: Path, got: list[bytes]) -> threading.Thread:
    def read() -> None:
        with open(fifo, "rb") as f:  # blocks until a writer opens the FIFO
            got.append(f.read())

    t = threading.Thread(target=read, daemon=True)
    t.start()
    return t


@pytest.mark.parametrize("command", ["report", "baseline"])
def test_output_to_a_fifo_is_written_into_it(tmp_path: Path, command: str) -> None:
    fifo = tmp_path / "out.fifo"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = _drain(fifo, got)
    control = H.control_file(tmp_path / "c.json")
    args = ["report", "-o", fifo] if command == "report" else ["baseline", "build", "-o", fifo]
    p = run(*args, control)
    if not got:  # nothing opened the FIFO: unblock the reader before failing
        with open(fifo, "wb"):
            pass
    reader.join(10)
    assert p.returncode == 0, p.stderr
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)  # still the pipe, not a file renamed over it
    if command == "report":  # (the control file teaches the baseline no pair: it is empty)
        assert got and got[0].rstrip().endswith(b"</html>")
    assert sorted(q.name for q in tmp_path.iterdir()) == ["c.json", "out.fifo"]  # no temp left


def test_replaced_is_all_or_nothing_for_a_regular_file(tmp_path: Path) -> None:
    target = tmp_path / "t.txt"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), replaced(target) as out:
        out.write(b"half")
        raise RuntimeError("interrupted")
    assert target.read_bytes() == b"old"
    with replaced(target) as out:
        out.write(b"new")
    assert target.read_bytes() == b"new"
    assert [q.name for q in tmp_path.iterdir()] == ["t.txt"]


@pytest.mark.parametrize("args", [["baseline", "build", "-o"], ["report", "-o"]])
def test_output_folder_that_does_not_exist_is_a_usage_error(tmp_path: Path,
                                                            args: list[str]) -> None:
    # baseline build ran the whole scan, then died with FileNotFoundError on its temporary file
    target = tmp_path / "missing" / "out"
    p = run(*args, target, H.control_file(tmp_path / "c.json"))
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert p.stderr == (f"trailhound: error: {target}: the folder {target.parent} does not "
                        "exist; create it or pick another -o\n")


@pytest.mark.parametrize("kind", ["fifo", "folder"])
def test_watch_output_that_is_not_a_file_is_a_usage_error(tmp_path: Path, kind: str) -> None:
    # watch cuts its output back after a crash: it seeked a FIFO or device (OSError EINVAL, a
    # traceback) and opened a folder for writing
    target = tmp_path / "out"
    os.mkfifo(target) if kind == "fifo" else target.mkdir()
    p = run("watch", "--state", tmp_path / "s.db", "--cycles", "1", "--output", target,
            H.control_file(tmp_path / "c.json"))
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert p.stderr == (f"trailhound: error: --output {target}: not a regular file; watch cuts "
                        "its file back to the state after a crash (each alert exactly once), "
                        "so give a file path, or - for stdout\n")
