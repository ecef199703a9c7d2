"""SparkSession for the CLI and tests, and shipping trailhound's code to the executors.

`build_session(master, conf)` is what `trailhound detect --engine spark` uses: UI off, a small
shuffle partition count for a laptop-sized `local[*]`, executors running the driver's Python
(`executor_python`).
`ship_code(spark)` puts this trailhound (as a zip) on every executor's path, so the readers,
normalizers and rule values the executors run are the driver's, whether or not trailhound is
installed on the cluster (a notebook on Databricks, `spark-submit` on YARN, ...).
"""

from __future__ import annotations

import importlib
import os
import sys
import tempfile
import threading
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from trailhound.errors import UsageError
from trailhound.spark import prune

INSTALL_HINT = (
    "the Spark engine needs PySpark and Java 17+: pip install 'trailhound[spark]' "
    "(and set JAVA_HOME or put java on PATH)"
)

# The driver JVM only schedules tasks and passes result bytes on (the scanning is in Python):
# its C2 compiler spent more CPU optimising Spark's start-up code than the JVM spent on
# everything else (a 200-file scan, local[1]: 20 s of JVM CPU, 9 s with C1 only). Beside them,
# the class-data archive of cds.py when there is one.
JVM_OPTIONS = "-XX:TieredStopAtLevel=1"

_lock = threading.Lock()
_zip: list[str] = []  # the package zip, found or built once per process


def require_pyspark() -> Any:
    """The pyspark module, or a UsageError saying how to install it."""
    try:
        import pyspark
    except ImportError:
        raise UsageError(INSTALL_HINT) from None
    return pyspark


def parse_conf(items: Iterable[str] | Mapping[str, str] | None) -> dict[str, str]:
    """`--spark-conf k=v` values (or a mapping) -> dict; a malformed item is a UsageError."""
    if items is None:
        return {}
    if isinstance(items, Mapping):
        return {str(k): str(v) for k, v in items.items()}
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(
                f"--spark-conf {item!r}: expected KEY=VALUE, e.g. spark.driver.memory=8g"
            )
        out[key.strip()] = value
    return out


def executor_python(conf: Mapping[str, str]) -> str:
    """The Python the executors run: the user's choice (`spark.pyspark.python`, then
    PYSPARK_PYTHON: Spark's own precedence), else this interpreter. Not `python3` from PATH,
    pyspark's default: from a virtual environment that is another Python, without trailhound
    or pySigma, and every task dies."""
    return conf.get("spark.pyspark.python") or os.environ.get("PYSPARK_PYTHON") or sys.executable


@contextmanager
def _environ(name: str, value: str) -> Iterator[None]:
    """`name=value` in os.environ while the session starts, as before after. When the JVM is
    started from Python, the conf `spark.pyspark.python` is not read: SparkContext takes the
    executors' Python from PYSPARK_PYTHON, and so do the JVM's own Python runners (from the
    environment the JVM inherits)."""
    before = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = before


def build_context(
    master: str = "local[*]",
    conf: Iterable[str] | Mapping[str, str] | None = None,
    app_name: str = "trailhound",
) -> Any:
    """A SparkContext without a SparkSession (getOrCreate: an active one is reused). What a
    scan of files needs; a SparkSession is more: Spark 4 registers its SQL and ML functions
    through Scala reflection when one starts, several seconds of CPU before the first task
    (engine.py asks for a session only for URIs and DataFrames)."""
    require_pyspark()
    from pyspark import SparkConf, SparkContext

    settings: dict[str, str] = {
        "spark.master": master,
        "spark.app.name": app_name,
        "spark.ui.enabled": "false",
        "spark.sql.shuffle.partitions": "8",
        "spark.ui.showConsoleProgress": "false",
        # Plans of past queries are kept for the UI even without one; keep few.
        "spark.sql.ui.retainedExecutions": "20",
        "spark.ui.retainedJobs": "100",
        "spark.ui.retainedStages": "100",
        # A local master runs the executors in the driver's JVM: 1g (Spark's default) is tight.
        "spark.driver.memory": "2g",
        "spark.pyspark.driver.python": sys.executable,
        # A slice's matches (a few MB) come back in the task's own message rather than
        # through the block manager (stored, then fetched over the network service, even in
        # local mode: ~0.4 CPU-s of the JVM's for the 1M bench set). Larger results still go
        # that way (Spark caps this at spark.rpc.message.maxSize, 128 MiB).
        "spark.task.maxDirectResultSize": "64m",
        # Spark's own stack traces for Python errors are enough; keep logs quiet.
        "spark.sql.execution.pyspark.udf.simplifiedTraceback.enabled": "true",
    }
    user = parse_conf(conf)
    if "spark.driver.extraJavaOptions" not in user:  # (the user's replace ours)
        from trailhound.spark.cds import java_options

        settings["spark.driver.extraJavaOptions"] = f"{JVM_OPTIONS} {java_options()}".strip()
    python = executor_python(user)
    settings["spark.pyspark.python"] = python
    local = user.get("spark.master", master).startswith("local")  # (the executors see our files)
    if local and "spark.python.daemon.module" not in user:
        settings.update(_preloading_daemon(user.get("spark.executorEnv.PYTHONPATH")))
    settings.update(user)
    warm = threading.Thread(target=_import_quietly, args=("pyspark.testing.utils",), daemon=True)
    warm.start()  # see _import_quietly
    try:
        with _environ("PYSPARK_PYTHON", python):
            sc = SparkContext.getOrCreate(SparkConf().setAll(list(settings.items())))
    except Exception as exc:
        text = str(exc)
        if "JAVA_GATEWAY" in text or "Java gateway" in text or "JAVA_HOME" in text:
            raise UsageError(
                f"Spark could not start its JVM ({text.splitlines()[0]}); {INSTALL_HINT}"
            ) from None
        raise
    sc.setLogLevel("ERROR")
    return sc


def _preloading_daemon(pythonpath: str | None) -> dict[str, str]:
    """Settings for executors on this machine (a local master): their Python workers fork
    from daemon.py, which has imported the scan (about 0.7 CPU-s a worker otherwise spends
    before its first record), from the zip of this very trailhound put first on their path (so
    the daemon cannot import another one, whatever the environment holds)."""
    code = _code_zip()
    return {
        "spark.python.daemon.module": "trailhound.spark.daemon",
        "spark.executorEnv.PYTHONPATH": os.pathsep.join(filter(None, [code, pythonpath])),
    }


def _import_quietly(name: str) -> None:
    """Import `name` now, in a thread, while the JVM starts (launch_gateway only waits for it):
    PySpark imports pyspark.testing.utils, and pandas with it (~0.7 CPU-s), on the first py4j
    call that converts an argument (pyspark.sql.types.NumpyArrayConverter), in the middle of
    the SparkContext's start-up. Python's import lock makes that call wait for this import
    rather than run it twice. Failures are left to that call."""
    with suppress(Exception):
        importlib.import_module(name)


def build_session(
    master: str = "local[*]",
    conf: Iterable[str] | Mapping[str, str] | None = None,
    app_name: str = "trailhound",
) -> Any:
    """A SparkSession on `build_context`'s SparkContext (getOrCreate: an active session with
    the same master is reused)."""
    build_context(master, conf, app_name)
    from pyspark.sql import SparkSession

    return SparkSession.builder.getOrCreate()


def _package_zip() -> str:
    """trailhound's source as a zip, with each module's bytecode beside it for this Python.
    Why the bytecode: Python cannot cache what it compiles from a zip, so every executor's
    Python worker would compile all of trailhound from source when it starts (about a second,
    per worker, per scan); an executor on another Python version ignores the .pyc files (their
    magic number differs) and compiles the .py as before. Unchecked-hash .pyc files: the zip's
    2-second timestamps cannot vouch for a source, and both come from this build.
    The zip is kept in a private cache folder under TMPDIR, named by a hash of the sources and
    this Python's bytecode version, so a second run of the same trailhound reuses it (building
    it compiles every module: a second or more)."""
    import hashlib
    import importlib.util

    root = Path(__file__).resolve().parents[1]  # .../trailhound
    files: list[tuple[Path, str]] = []
    key = hashlib.sha256(importlib.util.MAGIC_NUMBER)
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root.parent)
        parts = rel.parts
        if path.is_dir() or "__pycache__" in parts or path.suffix in (".pyc", ".pyo"):
            continue
        if parts[:3] == ("trailhound", "demo", "data"):
            continue  # the demo dataset is input, not code
        files.append((path, rel.as_posix()))
        key.update(rel.as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    cache = _cache_dir()
    target = cache / f"spark-{key.hexdigest()[:32]}.zip" if cache is not None else None
    if target is not None and target.is_file() and prune.touch(target):
        return str(target)  # (touched: in use, spark/prune.py leaves it)
    fd, name = tempfile.mkstemp(prefix="trailhound-", suffix=".zip", dir=cache)
    os.close(fd)
    with zipfile.ZipFile(name, "w", zipfile.ZIP_DEFLATED) as zf:
        for path, arc in files:
            zf.write(path, arc)
            if path.suffix == ".py":
                code = _bytecode(path)
                if code is not None:
                    zf.writestr(arc[:-3] + ".pyc", code)
    if target is None:
        return name
    os.replace(name, target)  # atomic: a concurrent run sees the whole zip or none
    prune.prune(target, ("spark-*.zip", "trailhound-*.zip"))  # older code's, interrupted builds'
    return str(target)


def _cache_dir() -> Path | None:
    """TMPDIR/trailhound-<uid>, private to this user; None if it cannot be made so (another
    user's folder or a symlink there: build a fresh zip instead of trusting it)."""
    if not hasattr(os, "getuid"):  # (Windows: no owner check here; no cache)
        return None
    d = Path(tempfile.gettempdir(), f"trailhound-{os.getuid()}")
    try:
        d.mkdir(mode=0o700, exist_ok=True)
        st = os.lstat(d)
    except OSError:
        return None
    import stat

    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077:
        return None
    return d


def _bytecode(path: Path) -> bytes | None:
    """`path` compiled, in the .pyc layout (unchecked hash); None if it does not compile. The
    driver has imported most of trailhound, so most modules' bytecode is in __pycache__ already:
    reused when it is this source's (compiling all of trailhound takes a second or more)."""
    import importlib.util
    import marshal

    source = path.read_bytes()
    digest = importlib.util.source_hash(source)
    body = _cached_code(path, source, digest)
    if body is None:
        try:
            body = marshal.dumps(compile(source, str(path), "exec", dont_inherit=True))
        except SyntaxError:
            return None
    # the header of an unchecked hash-based .pyc (PEP 552): magic, flags 0b01, source hash
    return importlib.util.MAGIC_NUMBER + (1).to_bytes(4, "little") + digest + body


def _cached_code(path: Path, source: bytes, digest: bytes) -> bytes | None:
    """The marshalled code of `path`'s __pycache__ .pyc, if it was compiled from `source` by
    this Python (timestamp .pyc: the source's mtime and size; hash-based: its hash)."""
    import importlib.util

    try:
        data = Path(importlib.util.cache_from_source(str(path))).read_bytes()
        st = path.stat()
    except (OSError, NotImplementedError):
        return None
    if len(data) < 16 or data[:4] != importlib.util.MAGIC_NUMBER:
        return None
    flags = int.from_bytes(data[4:8], "little")
    if flags & 1:
        fresh = data[8:16] == digest
    else:
        mtime, size = int.from_bytes(data[8:12], "little"), int.from_bytes(data[12:16], "little")
        fresh = mtime == int(st.st_mtime) & 0xFFFFFFFF and size == len(source) & 0xFFFFFFFF
    return data[16:] if fresh else None


def _code_zip() -> str:
    """`_package_zip()`, found or built once per process."""
    with _lock:
        if not _zip:
            _zip.append(_package_zip())
        return _zip[0]


def ship_code(sc: Any) -> None:
    """Make this trailhound importable on every executor (once per SparkContext)."""
    code = _code_zip()
    with _lock:
        if getattr(sc, "_trailhound_shipped", False):
            return
        sc.addPyFile(code)
        sc._trailhound_shipped = True
