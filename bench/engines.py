"""Every engine on one record set, in one run: the table issue #10 asks for.

    python bench/engines.py                               # 1,000,000 records, corrected profile
    python bench/engines.py --records 100000 --only decompress,default,spark1,spark2
    python bench/engines.py --data /path/to/AWSLogs-root --records N

Runs, each as its own process, one after the other: the decompression bound
(bench/decompress_only.py, ISA-L in 2 processes, output thrown away), `trailhound detect`
with the default engine, `--engine fast`, `--strict`, `--engine reference` (the whole set, not
a sample) and `--engine spark` with `local[1]` and `local[2]` (JVM start-up included). Every
detect run is the CLI as a user runs it (`--format jsonl --quiet`, output to a pipe).

Per run: wall seconds (start to exit), CPU seconds (user + system of the whole process tree:
workers, the JVM and its Python workers; sampled every 50 ms, so a process's last 50 ms may be
missed), peak RSS (the largest sum over the process tree of each process's proportional set
size, as bench/run.py measures it) and the machine's 1-minute load average before the run
(other jobs on the machine slow everything: compare CPU seconds when the load is high). Then the
ratios against the decompression bound and the default engine, local[1] / local[2], and a check
that every detect run printed byte-identical findings (exit 1 if not).

Data: bench/data/ct-<records> (bench/gen_cloudtrail.py, seed 1: the files bench/run.py uses;
generated once when missing).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from run import ENV, REPO, _children, _rss_kb, machine  # (bench/ is not a package)

TICK = os.sysconf("SC_CLK_TCK")
DETECT = ["-m", "trailhound", "detect", "--format", "jsonl", "--quiet"]
RUNS: dict[str, tuple[str, list[str]]] = {  # key -> (label, detect options; None: the bound)
    "default": ("default engine (no --engine)", []),
    "fast": ("--engine fast", ["--engine", "fast"]),
    "strict": ("--strict", ["--strict"]),
    "reference": ("--engine reference", ["--engine", "reference"]),
    "spark1": ("--engine spark, local[1]", ["--engine", "spark", "--spark-master", "local[1]"]),
    "spark2": ("--engine spark, local[2]", ["--engine", "spark", "--spark-master", "local[2]"]),
}
ORDER = ["decompress", *RUNS]


@dataclass
class Measured:
    wall: float
    cpu: float  # user + system seconds, whole process tree
    peak_rss_mb: float  # whole process tree (PSS)
    load: float  # 1-minute load average before the run
    lines: int
    digest: str  # sha256 of stdout
    returncode: int


def _cpu_seconds(pid: int) -> float:
    """utime + stime of one process (0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read()
    except OSError:
        return 0.0
    fields = stat[stat.rindex(b")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def measure(cmd: list[str]) -> Measured:
    """Run `cmd`, sampling its process tree's memory and CPU every 50 ms."""
    load = os.getloadavg()[0]
    peak = [0]
    cpu: dict[int, float] = {}  # pid -> the last CPU seconds seen
    done = threading.Event()
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO, env=ENV)

    def sample() -> None:
        while not done.is_set():
            tree = _children(proc.pid)
            peak[0] = max(peak[0], sum(_rss_kb(p) for p in tree))
            for p in tree:
                cpu[p] = max(cpu.get(p, 0.0), _cpu_seconds(p))
            done.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    digest = hashlib.sha256()
    lines = 0
    assert proc.stdout is not None and proc.stderr is not None
    err = bytearray()
    reader = threading.Thread(target=lambda: err.extend(proc.stderr.read()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    for line in proc.stdout:
        digest.update(line)
        lines += 1
    rc = proc.wait()
    wall = time.perf_counter() - t0
    done.set()
    sampler.join()
    reader.join()
    if rc not in (0, 3):  # 3: input issues reported (findings still printed)
        raise SystemExit(f"failed ({rc}): {' '.join(cmd)}\n{err.decode(errors='replace')[-3000:]}")
    return Measured(wall, sum(cpu.values()), peak[0] / 1024, load, lines, digest.hexdigest(), rc)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--records", type=int, default=1_000_000, help="records to generate (or in --data)")
    ap.add_argument("--data", type=Path, help="an existing folder of CloudTrail S3 files")
    ap.add_argument("--profile", default="corrected")
    ap.add_argument("--only", default=",".join(ORDER), help=f"comma list of {', '.join(ORDER)}")
    a = ap.parse_args(argv)
    only = a.only.split(",")
    unknown = [k for k in only if k not in ORDER]
    if unknown:
        ap.error(f"unknown run(s) {', '.join(unknown)}; choose from {', '.join(ORDER)}")
    data = a.data or HERE / "data" / f"ct-{a.records}"
    if a.data is None and not data.is_dir():
        print(f"generating {a.records} records into {data} ...", file=sys.stderr)
        subprocess.run([sys.executable, str(HERE / "gen_cloudtrail.py"), str(data), "--records",
                        str(a.records)], check=True, env=ENV)
    print(f"machine: {machine()}")
    print(f"data: {data} ({a.records:,} records), profile {a.profile}")
    got: dict[str, Measured] = {}
    for key in [k for k in ORDER if k in only]:
        if key == "decompress":
            cmd = [sys.executable, str(HERE / "decompress_only.py"), str(data), "--jobs", "2"]
            label = "decompress only (ISA-L, 2 processes)"
        else:
            label = RUNS[key][0]
            cmd = [sys.executable, *DETECT, "--profile", a.profile, *RUNS[key][1], str(data)]
        got[key] = m = measure(cmd)
        print(f"  {label}: {m.wall:.2f} s wall, {m.cpu:.1f} s CPU, {m.peak_rss_mb:.0f} MB, "
              f"load {m.load:.2f} before", file=sys.stderr, flush=True)
    print(f"load average after: {os.getloadavg()[0]:.2f}\n")
    bound = got.get("decompress")
    default = got.get("default")
    print("| run | wall s | CPU s | peak RSS MB | load before | findings | × decompress | × default |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for key, m in got.items():
        label = "decompress only (ISA-L, 2 processes)" if key == "decompress" else RUNS[key][0]
        findings = "-" if key == "decompress" else f"{m.lines:,}"
        vs_bound = f"{m.wall / bound.wall:.2f}" if bound else "-"
        vs_default = f"{m.wall / default.wall:.2f}" if default and key != "decompress" else "-"
        print(f"| {label} | {m.wall:.2f} | {m.cpu:.1f} | {m.peak_rss_mb:.0f} | {m.load:.2f} | "
              f"{findings} | {vs_bound} | {vs_default} |")
    if "spark1" in got and "spark2" in got:
        one, two = got["spark1"], got["spark2"]
        print(f"\nspark local[1] / local[2]: {one.wall / two.wall:.2f}x wall "
              f"(target: at least 1.6x); local[2] / default engine: "
              + (f"{two.wall / default.wall:.2f}x (target: at most 5x)" if default else "-"))
    digests = {k: m.digest for k, m in got.items() if k != "decompress"}
    same = len(set(digests.values())) <= 1
    if same:
        print(f"\nfindings byte-identical across {', '.join(digests)}: yes")
    else:
        groups: dict[str, list[str]] = {}
        for k, d in digests.items():
            groups.setdefault(d, []).append(f"{k} ({got[k].lines} lines)")
        print("\nfindings DIFFER: " + " | ".join(", ".join(g) for g in groups.values()))
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
