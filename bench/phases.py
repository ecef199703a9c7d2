"""Wall time of a command, when its worker processes were gone, and CPU of all its processes.

    python bench/phases.py python -m trailhound detect --format jsonl --quiet ... > /dev/null

The command's stdout goes to /tmp/ph.out (compare it with `cmp`). Prints the wall time, the
time its last child process exited (the fast engine's workers: what is left after it is the
main process alone - the post-scan tail), the main process's CPU at its last sample and the CPU
of every process (`getrusage` of the reaped children). By hand only, like everything in bench/.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import time

import psutil


def main() -> int:
    t0 = time.time()
    with open("/tmp/ph.out", "wb") as out:
        proc = subprocess.Popen(sys.argv[1:], stdout=out)
        pp = psutil.Process(proc.pid)
        seen, gone, cpu = False, None, None
        while proc.poll() is None:
            try:
                kids = pp.children()
                cpu = pp.cpu_times()
            except psutil.Error:
                break
            if kids:
                seen, gone = True, None
            elif seen and gone is None:
                gone = time.time() - t0
            time.sleep(0.05)
    wall = time.time() - t0
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    main_cpu = "?" if cpu is None else f"user {cpu.user:.2f} sys {cpu.system:.2f}"
    print(f"rc={proc.returncode} wall {wall:.2f} s, workers gone at "
          f"{'-' if gone is None else f'{gone:.2f}'} s, main cpu (last sample) {main_cpu}, "
          f"all processes user {r.ru_utime:.2f} sys {r.ru_stime:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
