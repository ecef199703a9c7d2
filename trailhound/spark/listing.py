"""What the Spark engine reads, listed on the driver (metadata only).

Local paths are walked by `sources.discover_one` (the CLI's own walk: order, hidden files, a
file named twice read once, `not_found` issues). A URI (`s3a://`, `abfss://`, `gs://`,
`hdfs://`, `file:/...`) is listed through Hadoop's FileSystem, the layer Spark itself reads
with, and ordered as `discover` orders a folder (by path components, hidden names skipped):
each file becomes an InputSpec whose `path` is the URI of that file, read by Spark
(`binaryFile`) and scanned by the executors.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from typing import Any

from trailhound.model import Issue, Location
from trailhound.sources.files import STDIN, InputSpec, discover_one

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_GLOB = "*?[]{}"


def is_uri(path: str) -> bool:
    """`scheme:...`, but not a Windows drive letter (`C:\\logs`)."""
    return bool(_SCHEME.match(path)) and not (len(path) > 1 and path[1] == ":" and os.name == "nt")


def discover(spark_context: Any, paths: Sequence[str]) -> tuple[list[InputSpec], list[Issue]]:
    """`sources.discover`, with URIs listed by Hadoop (`spark_context()` is called only when
    there is a URI: a scan of local files needs no JVM to be listed)."""
    specs: list[InputSpec] = []
    issues: list[Issue] = []
    seen: set[object] = set()
    for path in paths:
        if path != STDIN and is_uri(path):
            found, problems = _list_uri(spark_context(), path, seen)
        else:
            found, problems = discover_one(path, seen)
        specs.extend(found)
        issues.extend(problems)
    return specs, issues


def _hidden(rel: str) -> bool:
    return any(part.startswith(".") for part in rel.split("/") if part)


def _list_uri(sc: Any, uri: str, seen: set[object]) -> tuple[list[InputSpec], list[Issue]]:
    jvm = sc._jvm
    root = jvm.org.apache.hadoop.fs.Path(uri)
    fs = root.getFileSystem(sc._jsc.hadoopConfiguration())
    try:
        matched = fs.globStatus(root)
    except Exception as exc:  # noqa: BLE001 - any Hadoop error (auth, unknown scheme...) names it
        text = str(exc).strip().splitlines()
        why = text[0] if text else type(exc).__name__
        return [], [Issue(Location(uri), "unreadable", f"cannot list: {why}", "error")]
    if matched is None or len(matched) == 0:
        return [], [Issue(Location(uri), "not_found", "no such file or folder; check the URI", "error")]
    explicit = len(matched) == 1 and matched[0].isFile() and not any(ch in uri for ch in _GLOB)
    found: list[tuple[tuple[str, ...], InputSpec]] = []
    for status in matched:
        base = status.getPath().toString()
        if status.isFile():
            files = [(base, status.getLen())]
        else:
            it = fs.listFiles(status.getPath(), True)
            files = []
            while it.hasNext():
                st = it.next()
                files.append((st.getPath().toString(), st.getLen()))
        for name, size in files:
            rel = name[len(base) :]
            if name in seen or (name != base and _hidden(rel)):
                continue
            seen.add(name)
            found.append((tuple(name.split("/")), InputSpec(name, int(size), explicit)))
    found.sort(key=lambda t: t[0])
    return [spec for _, spec in found], []
