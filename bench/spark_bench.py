"""The Spark engine at scale: `detect --engine spark` with `local[2]` and `local[1]`, next to the
local engines, on the same generated CloudTrail (issue #10), and the ReDoS rule of issue #9 on
a warm SparkSession.

    python bench/spark_bench.py                          # 1,000,000 records, corrected profile
    python bench/spark_bench.py --records 100000 --only spark2,default
    python bench/spark_bench.py --sigma-aws              # + the 57 SigmaHQ AWS CloudTrail rules
    python bench/spark_bench.py --redos                  # only the ReDoS timing (warm session)

Data: bench/data/ct-<records> (bench/gen_cloudtrail.py, seed 1: the same files bench/run.py
uses; generated once when missing). Every run is the CLI as a user runs it (`trailhound detect
--format jsonl -q`), in its own process, timed wall-clock from start to exit (Python, JVM and
Spark start-up included). The script checks that every run printed the same lines.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
ENV = {
    **os.environ,
    "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
}
SIGMA_AWS = REPO.parent / "shared/data/external/sigmahq-sigma/rules/cloud/aws/cloudtrail"

RUNS = {  # key -> (label, extra CLI arguments)
    "spark2": ("spark local[2]", ["--engine", "spark", "--spark-master", "local[2]"]),
    "spark1": ("spark local[1]", ["--engine", "spark", "--spark-master", "local[1]"]),
    "default": ("default engine (no --engine)", []),
    "fast": ("fast engine", ["--engine", "fast"]),
}

HOSTILE_RULE = """\
title: ReDoS probe (issue 9)
id: 9e000000-0000-0000-0000-000000000009
logsource: {product: aws, service: cloudtrail}
detection: {sel: {userAgent|re: '(a+)+$'}, condition: sel}
level: high
"""


def _load() -> float:
    return os.getloadavg()[0]


def run(cmd: list[str]) -> tuple[float, str]:
    t = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, env=ENV, check=False)
    took = time.perf_counter() - t
    if p.returncode not in (0, 3):
        sys.stderr.write(p.stderr[-4000:])
        raise SystemExit(f"failed ({p.returncode}): {' '.join(cmd)}")
    return took, p.stdout


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
        eng = SparkEngine("local[2]")
        t = time.perf_counter()
        scan([str(logs)], p, engine=eng)
        print(f"session start + first scan: {time.perf_counter() - t:.1f} s")
        for label, rs in (("without the rule", None), ("with the hostile rule", hostile)):
            best = float("inf")
            for _ in range(repeat):
                t = time.perf_counter()
                res = scan([str(logs)], p, ruleset=rs, engine=eng)
                best = min(best, time.perf_counter() - t)
            print(f"warm scan {label}: best of {repeat} {best:.2f} s, "
                  f"{len(res.findings)} finding(s), {res.stats.records} record(s)")


def warm(master: str, data: Path, profile: str, strict: bool) -> None:
    """One process: start a session on `master`, then time `pipeline.scan` alone (the scan
    without JVM start-up); prints one JSON line."""
    sys.path.insert(0, str(REPO))
    import json

    from trailhound.pipeline import scan
    from trailhound.profiles import get_profile
    from trailhound.spark.engine import SparkEngine

    t0 = time.perf_counter()
    eng = SparkEngine(master, strict=strict)
    eng.session()
    t1 = time.perf_counter()
    res = scan([str(data)], get_profile(profile), engine=eng)
    t2 = time.perf_counter()
    print(json.dumps({"session_s": round(t1 - t0, 2), "scan_s": round(t2 - t1, 2),
                      "findings": len(res.findings), "records": res.stats.records}))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--data", type=Path)
    ap.add_argument("--profile", default="corrected")
    ap.add_argument("--rules", action="append", default=[], help="extra Sigma rules (repeatable)")
    ap.add_argument("--sigma-aws", action="store_true", help="add the 57 SigmaHQ AWS rules")
    ap.add_argument("--only", default="spark2,spark1,default,fast", help=f"comma list of {', '.join(RUNS)}")
    ap.add_argument("--redos", action="store_true", help="only the ReDoS timing")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--warm", action="store_true",
                    help="also time the scan alone (session started first), local[1] and [2]")
    ap.add_argument("--warm-child", nargs=2, help=argparse.SUPPRESS)  # MASTER PROJECTION
    a = ap.parse_args(argv)
    if a.warm_child:
        warm(a.warm_child[0], a.data, a.profile, a.warm_child[1] == "1")  # 1: strict
        return 0
    if a.redos:
        redos(a.repeat)
        return 0
    if a.sigma_aws:
        a.rules.append(str(SIGMA_AWS))
    data = a.data or HERE / "data" / f"ct-{a.records}"
    if a.data is None and not data.is_dir():
        print(f"generating {a.records} records into {data} ...", file=sys.stderr)
        subprocess.run([sys.executable, str(HERE / "gen_cloudtrail.py"), str(data), "--records",
                        str(a.records)], check=True, env=ENV)
    base = [sys.executable, "-m", "trailhound", "detect", "--profile", a.profile, "--format",
            "jsonl", "-q", *[x for r in a.rules for x in ("--rules", r)], str(data)]
    print(f"data: {data}; profile {a.profile}{' + ' + ', '.join(a.rules) if a.rules else ''}")
    print(f"machine: {os.cpu_count()} cores; load average before: {_load():.2f}")
    times: dict[str, float] = {}
    outputs: dict[str, str] = {}
    for key in a.only.split(","):
        times[key], outputs[key] = run([*base, *RUNS[key][1]])
    print(f"load average after: {_load():.2f}\n")
    print("| run | wall s | findings | × default engine | local[1] / this |")
    print("|---|---:|---:|---:|---:|")
    for key, took in times.items():
        vs_default = f"{took / times['default']:.2f}" if "default" in times else "-"
        vs_one = f"{times['spark1'] / took:.2f}" if "spark1" in times and key.startswith("spark") else "-"
        print(f"| {RUNS[key][0]} | {took:.1f} | {outputs[key].count(chr(10))} | {vs_default} | {vs_one} |")
    if a.warm:
        import json

        print("\n| scan alone (session started) | session s | scan s | findings |")
        print("|---|---:|---:|---:|")
        for projection in ("0", "1"):
            for master in ("local[1]", "local[2]"):
                _, out = run([sys.executable, __file__, "--data", str(data), "--profile",
                              a.profile, "--warm-child", master, projection])
                got = json.loads(out.strip().splitlines()[-1])
                what = f"{master}{' strict' if projection == '1' else ''}"
                print(f"| {what} | {got['session_s']} | {got['scan_s']} | {got['findings']} |")
    same = len(set(outputs.values())) == 1
    print(f"\nfindings identical across runs ({', '.join(outputs)}): {same}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
