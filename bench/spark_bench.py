"""The Spark engine alone: the scan on a started session (no JVM start-up), and the ReDoS rule of
issue #9 on a warm session. The CLI runs of every engine side by side (JVM start-up included,
findings compared) are bench/engines.py.

    python bench/spark_bench.py --warm                   # 1,000,000 records, corrected profile
    python bench/spark_bench.py --warm --records 100000 --sigma-aws
    python bench/spark_bench.py --redos                  # the ReDoS timing (warm session)
    python bench/spark_bench.py --phases --data DIR      # a cold run, phase by phase, and the
                                                         # bound its serial part sets

Data: bench/data/ct-<records> (bench/gen_cloudtrail.py, seed 1: the same files bench/run.py
uses; generated once when missing). `--warm` starts each session in its own process and times
`pipeline.scan` alone, local[1] then local[2], with the load average before each.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
ENV = {
    **os.environ,
    "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
}
SIGMA_AWS = REPO.parent / "shared/data/external/sigmahq-sigma/rules/cloud/aws/cloudtrail"

HOSTILE_RULE = """\
title: ReDoS probe (issue 9)
id: 9e000000-0000-0000-0000-000000000009
logsource: {product: aws, service: cloudtrail}
detection: {sel: {userAgent|re: '(a+)+$'}, condition: sel}
level: high
"""


def redos(repeat: int) -> None:
    """Issue #9's open point: the hostile rule against a 40-`a`+`!` userAgent on a warm
    SparkSession, with and without the rule (best of `repeat`)."""
    sys.path.insert(0, str(REPO))
    import orjson

    from trailhound.pipeline import scan
    from trailhound.profiles import get_profile
    from trailhound.rules.check import merge_rulesets
    from trailhound.rules.loader import load_pack, load_paths
    from trailhound.spark.engine import SparkEngine

    p = get_profile("corrected")
    with tempfile.TemporaryDirectory() as d:
        rule = Path(d, "redos.yml")
        rule.write_text(HOSTILE_RULE, encoding="utf-8")
        extra, problems = load_paths([rule])
        assert not problems, problems
        hostile, _ = merge_rulesets(load_pack(p.pack), extra)
        rec = {
            "eventVersion": "1.08", "eventTime": "2026-03-14T03:00:00Z",
            "eventSource": "sts.amazonaws.com", "eventName": "GetCallerIdentity",
            "awsRegion": "us-east-1", "sourceIPAddress": "203.0.113.7",
            "userAgent": "a" * 40 + "!", "eventID": "1",
            "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::1:user/x"},
        }
        logs = Path(d, "logs")
        logs.mkdir()
        (logs / "ua.json").write_bytes(orjson.dumps({"Records": [rec]}))
        spark = SparkEngine("local[2]").session()
        opts = {"session": spark}
        t = time.perf_counter()
        scan([str(logs)], p, engine="spark", engine_options=opts)
        print(f"session start + first scan: {time.perf_counter() - t:.1f} s")
        for label, rs in (("without the rule", None), ("with the hostile rule", hostile)):
            best = float("inf")
            for _ in range(repeat):
                t = time.perf_counter()
                res = scan([str(logs)], p, ruleset=rs, engine="spark", engine_options=opts)
                best = min(best, time.perf_counter() - t)
            print(f"warm scan {label}: best of {repeat} {best:.2f} s, "
                  f"{len(res.findings)} finding(s), {res.stats.records} record(s)")


def warm(master: str, data: Path, profile: str, rules: list[str], strict: bool) -> None:
    """One process: start a session on `master`, then time `pipeline.scan` alone (the scan
    without JVM start-up); prints one JSON line."""
    sys.path.insert(0, str(REPO))
    from trailhound.pipeline import scan
    from trailhound.profiles import get_profile
    from trailhound.rules.check import merge_rulesets
    from trailhound.rules.loader import load_pack, load_paths
    from trailhound.spark.engine import SparkEngine

    p = get_profile(profile)
    ruleset = None
    if rules:
        extra, _ = load_paths([Path(r) for r in rules])
        ruleset, _ = merge_rulesets(load_pack(p.pack), extra)
    t0 = time.perf_counter()
    spark = SparkEngine(master).session()
    t1 = time.perf_counter()
    res = scan([str(data)], p, ruleset=ruleset, engine="spark", strict=strict,
               engine_options={"session": spark})
    t2 = time.perf_counter()
    print(json.dumps({"session_s": round(t1 - t0, 2), "scan_s": round(t2 - t1, 2),
                      "findings": len(res.findings), "records": res.stats.records}))


def _since_start() -> float:
    """Seconds since this process started (its start time in /proc: the interpreter's own
    start-up included)."""
    with open("/proc/self/stat", "rb") as fh:
        fields = fh.read().rsplit(b")", 1)[1].split()
    with open("/proc/stat", "rb") as fh:
        boot = next(int(line.split()[1]) for line in fh if line.startswith(b"btime"))
    return time.time() - (boot + int(fields[19]) / os.sysconf("SC_CLK_TCK"))


def _tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) of `pid` and every live process under it, and of the
    children it has reaped."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/stat", "rb") as fh:
                f = fh.read().rsplit(b")", 1)[1].split()
            threads = os.listdir(f"/proc/{p}/task")
        except OSError:
            continue  # (gone)
        for t in threads:
            try:  # (a thread may end meanwhile: only its own entry is lost)
                with open(f"/proc/{p}/task/{t}/children", "rb") as fh:
                    todo += [int(k) for k in fh.read().split()]
            except OSError:
                pass
        total += (int(f[11]) + int(f[12]) + (int(f[13]) + int(f[14]) if p == pid else 0)) / tick
    return total


def phases(master: str, data: Path, profile: str) -> None:
    """One process, as `detect --engine spark` runs, timed phase by phase (wall seconds since
    the process started; prints one JSON line): interpreter and imports, rules, the JVM and
    SparkContext, the Python daemon and workers (a job of one empty task per core), the scan,
    and the same scan again on the warm context (workers running, plan compiled again)."""
    marks = {"python": _since_start()}
    cpu = {"python": _tree_cpu(os.getpid())}

    def mark(name: str) -> None:
        marks[name] = _since_start()
        cpu[name] = _tree_cpu(os.getpid())

    sys.path.insert(0, str(REPO))
    import trailhound.cli.app  # noqa: F401 - what the CLI imports before it reads the options
    from trailhound.pipeline import scan
    from trailhound.profiles import get_profile
    from trailhound.rules.loader import load_pack
    from trailhound.spark.engine import SparkEngine

    mark("imports")
    p = get_profile(profile)
    rules = load_pack(p.pack)
    SparkEngine(master).compile(rules)
    mark("rules")
    sc = SparkEngine(master).context()
    mark("context")
    cores = sc.defaultParallelism
    sc.parallelize(range(cores), cores).mapPartitions(lambda _: iter(())).collect()
    mark("workers")
    opts = {"spark_master": master}
    first = scan([str(data)], p, ruleset=rules, engine="spark", engine_options=opts)
    mark("scan")
    again = scan([str(data)], p, ruleset=rules, engine="spark", engine_options=opts)
    mark("scan_again")
    assert len(first.findings) == len(again.findings)
    def steps(got: dict[str, float]) -> dict[str, float]:
        first = next(iter(got))
        return {first: round(got[first], 2)} | {
            k: round(v - prev, 2) for (k, v), prev in zip(list(got.items())[1:], got.values())
        }

    print(json.dumps({"wall": steps(marks), "cpu": steps(cpu), "cores": cores,
                      "findings": len(first.findings)}))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--data", type=Path)
    ap.add_argument("--profile", default="corrected")
    ap.add_argument("--rules", action="append", default=[], help="extra Sigma rules (repeatable)")
    ap.add_argument("--sigma-aws", action="store_true", help="add the 57 SigmaHQ AWS rules")
    ap.add_argument("--strict", action="store_true", help="decode every record (--strict)")
    ap.add_argument("--redos", action="store_true", help="only the ReDoS timing")
    ap.add_argument("--warm", action="store_true", help="the scan alone, local[1] and local[2]")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--phases", action="store_true",
                    help="where a cold local[1] / local[2] run's time goes, phase by phase")
    ap.add_argument("--warm-child", help=argparse.SUPPRESS)  # MASTER
    ap.add_argument("--phases-child", help=argparse.SUPPRESS)  # MASTER
    a = ap.parse_args(argv)
    if a.sigma_aws:
        a.rules.append(str(SIGMA_AWS))
    if a.warm_child:
        warm(a.warm_child, a.data, a.profile, a.rules, a.strict)
        return 0
    if a.phases_child:
        phases(a.phases_child, a.data, a.profile)
        return 0
    if a.redos:
        redos(a.repeat)
        return 0
    if not (a.warm or a.phases):
        ap.error("say --warm, --phases or --redos (bench/engines.py compares the engines)")
    data = a.data or HERE / "data" / f"ct-{a.records}"
    if a.data is None and not data.is_dir():
        print(f"generating {a.records} records into {data} ...", file=sys.stderr)
        subprocess.run([sys.executable, str(HERE / "gen_cloudtrail.py"), str(data), "--records",
                        str(a.records)], check=True, env=ENV)
    print(f"data: {data}; profile {a.profile}{' + ' + ', '.join(a.rules) if a.rules else ''}"
          f"{' --strict' if a.strict else ''}; {os.cpu_count()} cores")
    if a.phases:
        return _phases_table(data, a.profile, a.repeat)
    print("\n| scan alone (session started) | load before | session s | scan s | findings |")
    print("|---|---:|---:|---:|---:|")
    scans = {}
    for master in ("local[1]", "local[2]"):
        load = os.getloadavg()[0]
        extra = [x for r in a.rules for x in ("--rules", r)] + (["--strict"] if a.strict else [])
        p = subprocess.run(
            [sys.executable, __file__, "--data", str(data), "--profile", a.profile, *extra,
             "--warm-child", master], capture_output=True, text=True, env=ENV, check=True,
        )
        got = json.loads(p.stdout.strip().splitlines()[-1])
        scans[master] = got["scan_s"]
        print(f"| {master} | {load:.2f} | {got['session_s']} | {got['scan_s']} | {got['findings']} |")
    print(f"\nscan alone, local[1] / local[2]: {scans['local[1]'] / scans['local[2]']:.2f}x")
    return 0


def _phases_table(data: Path, profile: str, repeat: int) -> int:
    """`phases` for local[1] and local[2], alternating, `repeat` times each; the table, then
    the bound the serial phases set on local[1] / local[2] (Amdahl: the cold run's phases
    before the scan stay, the warm scan is what a second core can divide)."""
    cols = ["python", "imports", "rules", "context", "workers", "scan", "scan_again"]
    print("\nwall s (CPU s of the process tree) per phase, one cold process per row\n")
    print("| master | load before | " + " | ".join(cols) + " | total to the first scan's end | findings |")
    print("|---|---:|" + "---:|" * (len(cols) + 2))
    runs: dict[str, list[dict[str, Any]]] = {"local[1]": [], "local[2]": []}
    for _ in range(repeat):
        for master, got_runs in runs.items():
            load = os.getloadavg()[0]
            p = subprocess.run(
                [sys.executable, __file__, "--data", str(data), "--profile", profile,
                 "--phases-child", master], capture_output=True, text=True, env=ENV, check=True,
            )
            got = json.loads(p.stdout.strip().splitlines()[-1])
            got_runs.append(got)
            wall, cpu = got["wall"], got["cpu"]
            total = sum(wall[c] for c in cols[:-1])
            print(f"| {master} | {load:.2f} | "
                  + " | ".join(f"{wall[c]:.2f} ({cpu[c]:.1f})" for c in cols)
                  + f" | {total:.2f} ({sum(cpu[c] for c in cols[:-1]):.1f}) | {got['findings']} |",
                  flush=True)
    for kind in ("wall", "cpu"):
        best = {m: {c: min(r[kind][c] for r in rs) for c in cols} for m, rs in runs.items()}
        serial = sum(best["local[2]"][c] for c in cols[:-2])
        one, two = best["local[1]"]["scan_again"], best["local[2]"]["scan_again"]
        if kind == "cpu":  # on an idle machine: the serial phases' CPU, the scan on 2 cores
            two = one / 2
        print(f"\n{kind}, best of {repeat}: phases before the scan (local[2]) {serial:.2f} s; "
              f"warm scan local[1] {one:.2f} s, local[2] {two:.2f} s"
              + (" (half of local[1]'s CPU: the best two cores can do)" if kind == "cpu" else
                 f" ({one / two:.2f}x)"))
        print(f"  cold local[1] / local[2] (serial + warm scan): "
              f"{(serial + one) / (serial + two):.2f}x; 1.6x needs the serial phases under "
              f"{max(0.0, (one - 1.6 * two) / 0.6):.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
