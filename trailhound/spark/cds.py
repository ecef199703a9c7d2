"""A class-data-sharing archive of the Spark driver JVM's classes, made once per Java and Spark.

Why: most of the driver JVM's start-up is loading, parsing and verifying Spark's classes from
its jars (the JVM's main thread and the py4j thread that builds the SparkContext: ~4 of ~5.5
CPU-s to start a context and run one job, bench/README "Spark"). The JDK's dynamic AppCDS
(JDK 13+, `-XX:ArchiveClassesAtExit` then `-XX:SharedArchiveFile`) maps those classes in from
one file, already parsed and verified: the same start took 2.5-2.8 CPU-s with the archive.

`java_options()` is what session.build_context adds to the driver's JVM options: the archive
for this Java, these Spark jars and this class path if it exists; if not, it starts building it
in the background (`python -m trailhound.spark.cds PATH`: a tiny scan on `local[1]` in a JVM
that writes the archive when it exits) and this run starts without one.

Safety: a truncated archive crashes the JVM (SIGBUS), so the builder writes a private temporary
file and renames it into place only after the JVM that wrote it exited cleanly; the folder is
session._cache_dir's (this user's, mode 0700). An archive that no longer fits (another Java,
changed jars) is refused by the JVM and the run goes on without it; its warning, which the JVM
prints on stdout (the findings' stream), is turned off (-Xlog:cds=off). The name of the archive
hashes what the JVM checks, so a change of Java or Spark makes a new one.

TRAILHOUND_SPARK_CDS=0 turns all of this off.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from trailhound.spark import prune

ENV = "TRAILHOUND_SPARK_CDS"
QUIET = "-Xlog:cds=off -Xlog:cds+dynamic=off"  # the JVM's CDS warnings go to stdout
STALE = 15 * 60  # seconds after which another builder's lock is taken to be abandoned
# Where spark-class finds the class path beyond SPARK_HOME/jars: a change invalidates the archive.
CLASSPATH_ENV = ("SPARK_CONF_DIR", "HADOOP_CONF_DIR", "YARN_CONF_DIR", "SPARK_DIST_CLASSPATH")


def java_options() -> str:
    """JVM options for the driver: the archive (and QUIET) when it exists, else "" (and the
    archive is being built for the next run)."""
    if os.environ.get(ENV, "1") == "0":
        return ""
    path = archive_path()
    if path is None:
        return ""
    if path.is_file() and prune.touch(path):  # (touched: in use, prune.py leaves it)
        return f"-XX:SharedArchiveFile={path} {QUIET}"
    _start_builder(path)
    return ""


def archive_path() -> Path | None:
    """The archive's path for this Java and Spark; None without a private cache folder or a
    Java to start."""
    from trailhound.spark.session import _cache_dir

    cache = _cache_dir()
    java = _java()
    home = _spark_home()
    if cache is None or java is None or home is None:
        return None
    key = hashlib.sha256()
    jvm = Path(java).resolve()
    for f in [jvm, *sorted(jvm.parent.parent.glob("lib/server/libjvm.*"))]:
        key.update(_stamp(f))
    for f in sorted(Path(home, "jars").glob("*.jar")):
        key.update(_stamp(f))
    for name in CLASSPATH_ENV:
        key.update(f"{name}={os.environ.get(name, '')}\0".encode())
    return cache / f"spark-cds-{key.hexdigest()[:32]}.jsa"


def _stamp(path: Path) -> bytes:
    try:
        st = path.stat()
    except OSError:
        return f"{path}\0-\0".encode()
    return f"{path}\0{st.st_size}\0{st.st_mtime_ns}\0".encode()


def _java() -> str | None:
    """The java that spark-class runs: JAVA_HOME's, else the one on PATH."""
    home = os.environ.get("JAVA_HOME")
    if home:
        java = os.path.join(home, "bin", "java")
        return java if os.path.isfile(java) else None
    return shutil.which("java")


def _spark_home() -> str | None:
    try:
        from pyspark.find_spark_home import _find_spark_home
    except ImportError:
        return None
    try:
        return str(_find_spark_home())
    except SystemExit:  # (it exits when it finds none)
        return None


def _start_builder(path: Path) -> None:
    """`python -m trailhound.spark.cds PATH` in the background, detached, at the lowest CPU
    priority (it must not slow the scan that started it), unless one is building already."""
    lock = path.with_suffix(".lock")
    try:
        if time.time() - lock.stat().st_mtime < STALE:
            return
        lock.unlink()
    except OSError:
        pass
    try:
        fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except OSError:
        return  # another run took it first
    os.close(fd)
    root = str(Path(__file__).resolve().parents[2])  # this trailhound, for the builder
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    try:
        subprocess.Popen(
            [sys.executable, "-m", "trailhound.spark.cds", str(path)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True, env=env,
        )
    except OSError:
        lock.unlink(missing_ok=True)


def build(path: Path) -> bool:
    """Write the archive at `path`: a scan of one small CloudTrail file on `local[1]`, in a
    JVM that dumps the classes it loaded when it exits. True if the archive is in place."""
    fd, tmp = tempfile.mkstemp(prefix=path.stem + "-", suffix=".tmp", dir=path.parent)
    os.close(fd)
    os.unlink(tmp)  # (the JVM creates it)
    try:
        if _dump(Path(tmp)) and os.path.getsize(tmp) > 0:
            os.replace(tmp, path)  # atomic: a JVM maps the whole archive or none
            # other installs' archives (~70 MB each), interrupted builds, abandoned locks
            prune.prune(path, ("spark-cds-*.jsa", "spark-cds-*.tmp", "spark-cds-*.lock"))
            return True
        return False
    finally:
        Path(tmp).unlink(missing_ok=True)
        path.with_suffix(".lock").unlink(missing_ok=True)


def _dump(tmp: Path) -> bool:
    import json

    from pyspark import SparkContext

    from trailhound.pipeline import scan
    from trailhound.profiles import get_profile
    from trailhound.spark.session import JVM_OPTIONS

    record = {
        "eventVersion": "1.08", "eventTime": "2026-01-01T00:00:00Z",
        "eventSource": "cloudtrail.amazonaws.com", "eventName": "StopLogging",
        "awsRegion": "us-east-1", "sourceIPAddress": "203.0.113.7",
        "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/a"},
        "eventID": "00000000-0000-4000-8000-000000000000",
    }
    with tempfile.TemporaryDirectory() as d:
        log = Path(d, "cds.json")
        log.write_text(json.dumps({"Records": [record]}))
        options = f"{JVM_OPTIONS} -XX:ArchiveClassesAtExit={tmp}"
        conf = {"spark.driver.extraJavaOptions": options}
        scan([str(log)], get_profile("seed"), engine="spark",
             engine_options={"spark_master": "local[1]", "spark_conf": conf})
    gateway = SparkContext._gateway
    proc = getattr(gateway, "proc", None)
    SparkContext.getOrCreate().stop()
    if proc is None or proc.stdin is None:
        return False
    proc.stdin.close()  # the gateway JVM exits at the end of its stdin, writing the archive
    return bool(proc.wait(timeout=STALE) == 0)


if __name__ == "__main__":
    os.nice(19)  # (here, not in a preexec_fn: the parent has threads)
    sys.exit(0 if build(Path(sys.argv[1])) else 1)
