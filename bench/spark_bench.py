"""The Spark engine at scale: one job over generated CloudTrail with `local[2]`, next to
`local[1]` and the local fast engine, on the same files (issue "[P4] Apache Spark engine").

    python bench/spark_bench.py                          # 1,000,000 records, corrected profile
    python bench/spark_bench.py --records 100000 --rules ../shared/data/external/sigmahq-sigma/rules
    python bench/spark_bench.py --sigma-aws                # + the 57 SigmaHQ AWS CloudTrail rules
    python bench/spark_bench.py --data /path/to/AWSLogs-root --only spark2,fast

Data: bench/data/ct-<records> (bench/gen_cloudtrail.py, seed 1: the same files bench/run.py
uses; generated once when missing). Each run is its own process, timed wall-clock from start to
exit (Python, JVM and Spark start-up included); the Spark runs also report their in-job step
times. The Spark job is the whole pipeline: Spark reads the files, executors read + normalize
+ extract, Spark SQL matches, correlates, scores, and the executors write the findings as
JSON lines (bench/out/spark-local-N/, part files in order). The fast engine writes its JSON
lines to bench/out/fast.jsonl; the script checks that every run produced the same lines.

Spark is the scale-out path, not the laptop path: on one machine it pays for the JVM, the
Python <-> JVM row transfer and its scheduler, and the fast engine skips records no rule can
match without decoding them. The ratio to record is what one Spark core costs against the
local engine, and how the job scales from 1 to 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
ENV = {
    **os.environ,
    "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
}
OUT = HERE / "out"
SIGMA_AWS = REPO.parent / "shared/data/external/sigmahq-sigma/rules/cloud/aws/cloudtrail"


def _load() -> float:
    return os.getloadavg()[0]


def child(a: argparse.Namespace) -> int:
    """One Spark job (runs in its own process): prints one JSON line of measurements."""
    sys.path.insert(0, str(REPO))
    t0 = time.perf_counter()
    from trailhound.spark.api import detect_dataframe, write_findings
    from trailhound.spark.session import build_session

    conf = {
        "spark.sql.shuffle.partitions": str(a.shuffle_partitions),
        "spark.driver.memory": a.driver_memory,
        "spark.ui.enabled": "false",
    }
    spark = build_session(a.master, conf, app_name=f"trailhound-bench-{a.master}")
    t_session = time.perf_counter()
    ruleset = None
    if a.rules:
        from trailhound.cli.app import _ruleset
        from trailhound.profiles import get_profile

        ruleset = _ruleset(get_profile(a.profile), a.rules, None)
    res = detect_dataframe(spark, [str(a.data)], ruleset, a.profile, keep_raw=False)
    t_detect = time.perf_counter()
    out = Path(a.out)
    write_findings(
        res.findings, str(out), "jsonl", mode="overwrite", ruleset=res.ruleset, profile=res.profile
    )
    t_write = time.perf_counter()
    s = res.summary
    print(
        json.dumps(
            {
                "master": a.master,
                "session_s": round(t_session - t0, 2),
                "detect_s": round(t_detect - t_session, 2),
                "write_s": round(t_write - t_detect, 2),
                "steps": res.timings,
                "files": s.files,
                "records": s.records,
                "events": s.events,
                "findings": s.findings,
                "errors": s.error_count,
                "partitions": spark.sparkContext.defaultParallelism,
            }
        )
    )
    spark.stop()
    return 0


def run(cmd: list[str]) -> tuple[float, str]:
    t = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, env=ENV, check=False)
    took = time.perf_counter() - t
    if p.returncode not in (0, 3):
        sys.stderr.write(p.stderr[-4000:])
        raise SystemExit(f"failed ({p.returncode}): {' '.join(cmd)}")
    return took, p.stdout


def fast_cmd(a: argparse.Namespace) -> list[str]:
    """The local fast engine, through the CLI as a user runs it."""
    extra = [x for r in a.rules for x in ("--rules", r)]
    return [sys.executable, "-m", "trailhound", "detect", "--engine", "fast", "--profile", a.profile,
            "--format", "jsonl", "--quiet", *extra, str(a.data)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--data", type=Path)
    ap.add_argument("--profile", default="corrected")
    ap.add_argument("--rules", action="append", default=[], help="extra Sigma rules (repeatable)")
    ap.add_argument(
        "--sigma-aws", action="store_true", help="add the 57 SigmaHQ AWS CloudTrail rules"
    )
    ap.add_argument(
        "--only", default="spark2,spark1,fast", help="comma list of spark2, spark1, fast"
    )
    ap.add_argument("--driver-memory", default="8g")
    ap.add_argument("--shuffle-partitions", type=int, default=8)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--master", default="local[2]", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.sigma_aws:
        a.rules.append(str(SIGMA_AWS))
    if a.child:
        return child(a)

    data = a.data = a.data or HERE / "data" / f"ct-{a.records}"
    if a.data is None and not data.is_dir():
        print(f"generating {a.records} records into {data} ...", file=sys.stderr)
        subprocess.run(
            [
                sys.executable,
                str(HERE / "gen_cloudtrail.py"),
                str(data),
                "--records",
                str(a.records),
            ],
            check=True,
            env=ENV,
        )
    OUT.mkdir(exist_ok=True)
    only = a.only.split(",")
    print(f"data: {data}; profile {a.profile}{' + ' + ', '.join(a.rules) if a.rules else ''}")
    print(f"machine: {os.cpu_count()} cores; load average before: {_load():.2f}")
    results: list[tuple[str, float, dict[str, object] | None]] = []
    lines: dict[str, list[str]] = {}
    common = [
        "--data",
        str(data),
        "--profile",
        a.profile,
        "--driver-memory",
        a.driver_memory,
        "--shuffle-partitions",
        str(a.shuffle_partitions),
        *[x for r in a.rules for x in ("--rules", r)],
    ]
    for key, master in (("spark2", "local[2]"), ("spark1", "local[1]")):
        if key not in only:
            continue
        out = OUT / f"spark-{master.replace('[', '-').replace(']', '')}"
        took, stdout = run(
            [sys.executable, __file__, "--child", "--master", master, "--out", str(out), *common]
        )
        info = json.loads(stdout.strip().splitlines()[-1])
        results.append((f"spark {master}", took, info))
        lines[key] = [
            ln
            for p in sorted(out.glob("part-*"))
            for ln in p.read_text(encoding="utf-8").splitlines()
        ]
    if "fast" in only:
        took, stdout = run(fast_cmd(a))
        results.append(("fast engine (local, all cores)", took, None))
        (OUT / "fast.jsonl").write_text(stdout, encoding="utf-8")
        lines["fast"] = stdout.splitlines()
    print(f"load average after: {_load():.2f}\n")

    records = next((int(i["records"]) for _, _, i in results if i), None)
    fast = next((t for label, t, _ in results if label.startswith("fast")), None)
    one = next((t for label, t, _ in results if label == "spark local[1]"), None)
    print(
        "| run | wall s | records/s | in-job detect s | write s | findings | × fast engine "
        "| speed-up vs local[1] |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for label, took, info in results:
        rps = f"{records / took:,.0f}" if records else "-"
        detect = f"{info['detect_s']:.1f}" if info else "-"
        write = f"{info['write_s']:.1f}" if info else "-"
        found = str(info["findings"]) if info else str(len(lines.get("fast", [])))
        vs_fast = f"{took / fast:.1f}" if fast and not label.startswith("fast") else "-"
        vs_one = f"{one / took:.2f}" if one and label.startswith("spark") else "-"
        cells = [label, f"{took:.1f}", rps, detect, write, found, vs_fast, vs_one]
        print("| " + " | ".join(cells) + " |")
    for label, _, info in results:
        if info:
            print(
                f"\n{label}: steps {info['steps']}; session start {info['session_s']} s; "
                f"{info['files']} files, {info['records']} records, {info['errors']} input errors"
            )
    keys = list(lines)
    same = all(lines[k] == lines[keys[0]] for k in keys)
    print(f"\nfindings identical across runs ({', '.join(keys)}): {same}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
