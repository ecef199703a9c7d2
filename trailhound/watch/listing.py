"""A cycle's listing, in time that does not grow with the files already read.

`sources.discover` walks every folder and stats every file: a watch over a year of CloudTrail
(100,000s of files) would pay that on every cycle, and then look each file up in the state.
Here a folder's entries are listed only when the folder changed since the last cycle that
committed: a folder's mtime changes when an entry is added, removed or renamed in it (a new
log file, an atomic rewrite by rename), so an unchanged mtime means no new file in it. For each
folder the state keeps (`folders` table, committed with the cycle) its mtime and its
subfolders, so an unchanged folder costs one stat and its subfolders are visited without
listing it. A cycle's cost is then one stat per folder plus the files of the folders that
changed (CloudTrail: today's folders), however many files were read before.

Racy folders (as git's racy index entries): a folder whose mtime is within RACY_NS of the clock
when it is listed may still get an entry in the same timestamp tick after the listing, without
its mtime moving; its mark is not kept, so the next cycle lists it again.

Hot files: a file may also grow in place without its folder's mtime moving (Azure's diagnostic
settings append to the hour's PT1H.json for an hour; a local log being written). A file whose
mtime was within HOT_NS of the listing is kept in its folder's mark as hot, and every cycle
stats it again (the state's file identity, size + mtime, then says whether it changed); it
leaves the mark once its mtime is HOT_NS old. So a cycle also pays one stat per file modified
within the last HOT_NS, which stays small (the files being written), however many were read.

What it still does not see: a file changed in place after HOT_NS of silence, in a folder whose
entries did not change (the folder marks of a state can be dropped, `DELETE FROM folders`, to
list everything once again). Files named directly, and `s3://` URIs, are listed as `discover`
lists them.
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from trailhound.model import Issue, Location
from trailhound.sources import datepath
from trailhound.sources.files import InputSpec, _not_read, _reason, discover_one
from trailhound.watch.state import FileId, Folder, State

RACY_NS = 2_000_000_000
HOT_NS = 2 * 3600 * 1_000_000_000  # an hourly append blob (PT1H.json) and an hour's margin


@dataclass
class Listing:
    """The candidate inputs of a cycle, in `discover`'s order, with their identities."""

    specs: list[tuple[InputSpec, FileId | None]] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    folders: list[Folder] = field(default_factory=list)  # marks to commit with the cycle
    listed: int = 0  # folders whose entries were read this cycle


def list_inputs(paths: Sequence[str], state: State, relist: bool = False) -> Listing:
    """Every file under `paths` that may be new: all files of the folders that changed, and
    every path named directly (its identity: None, the caller stats it)."""
    out = Listing()
    seen: set[object] = set()
    for path in paths:
        if not path.startswith("s3://") and os.path.isdir(path) and not os.path.islink(path):
            _walk(path, state, out, relist)
            continue
        found, problems = discover_one(path, seen)
        out.specs.extend((s, None) for s in found)
        out.issues.extend(problems)
    return out


def _walk(root: str, state: State, out: Listing, relist: bool) -> None:
    found: list[tuple[tuple[str, ...], InputSpec, FileId]] = []
    stack: list[tuple[str, tuple[str, ...]]] = [(root, ())]
    while stack:
        folder, parts = stack.pop()
        try:
            mtime = os.stat(folder).st_mtime_ns
        except OSError as exc:
            out.issues.append(_unlistable(folder, exc))
            continue
        mark = None if relist else state.folder(folder)
        if mark is not None and mark.mtime_ns == mtime:
            subdirs: Iterable[str] = mark.subdirs
            if mark.hot:
                _hot(mark, parts, out, found)
        else:
            subdirs = _list(folder, parts, mtime, out, found)
        for name in sorted(subdirs, reverse=True):
            path = os.path.join(folder, name)
            if datepath.WALK_BEFORE is None or not datepath.before(path, datepath.WALK_BEFORE):
                stack.append((path, (*parts, name)))  # watch --lookback: old days not walked
    found.sort(key=lambda t: t[0])
    out.specs.extend((spec, fid) for _, spec, fid in found)


def _list(
    folder: str, parts: tuple[str, ...], mtime: int, out: Listing,
    found: list[tuple[tuple[str, ...], InputSpec, FileId]],
) -> list[str]:
    """List one changed folder: its files to `found`, its mark to `out`; its subfolders."""
    out.listed += 1
    listed_at = time.time_ns()
    try:
        with os.scandir(folder) as it:
            entries = list(it)
    except OSError as exc:
        out.issues.append(_unlistable(folder, exc))
        return []
    subdirs: list[str] = []
    hot: list[str] = []
    for entry in entries:
        if entry.name.startswith("."):
            continue  # as discover: hidden names (a file being written under a temporary name)
        try:
            if entry.is_dir(follow_symlinks=False):
                subdirs.append(entry.name)
                continue
            if not entry.is_file():
                out.issues.append(_not_read(entry))
                continue
            st = entry.stat()
        except OSError as exc:
            out.issues.append(
                Issue(Location(entry.path), "unreadable", f"cannot open: {_reason(exc)}", "error")
            )
            continue
        size = st.st_size if stat.S_ISREG(st.st_mode) else None
        if listed_at - st.st_mtime_ns < HOT_NS:
            hot.append(entry.name)
        found.append((
            (*parts, entry.name), InputSpec(entry.path, size, False),
            FileId(entry.path, st.st_size, st.st_mtime_ns),
        ))
    racy = listed_at - mtime < RACY_NS
    out.folders.append(
        Folder(folder, None if racy else mtime, tuple(sorted(subdirs)), tuple(sorted(hot)))
    )
    return subdirs


def _hot(
    mark: Folder, parts: tuple[str, ...], out: Listing,
    found: list[tuple[tuple[str, ...], InputSpec, FileId]],
) -> None:
    """An unchanged folder's hot files: each stat-ed again (a candidate: the state's identity
    check says whether it grew); the mark rewritten when one has cooled or gone."""
    now = time.time_ns()
    still: list[str] = []
    for name in mark.hot:
        path = os.path.join(mark.path, name)
        try:
            st = os.stat(path, follow_symlinks=False)
        except OSError:
            continue  # gone: its folder's mtime moved, or it will be listed when it does
        if not stat.S_ISREG(st.st_mode):
            continue
        found.append((
            (*parts, name), InputSpec(path, st.st_size, False),
            FileId(path, st.st_size, st.st_mtime_ns),
        ))
        if now - st.st_mtime_ns < HOT_NS:
            still.append(name)
    if len(still) != len(mark.hot):
        out.folders.append(Folder(mark.path, mark.mtime_ns, mark.subdirs, tuple(still)))


def _unlistable(folder: str, exc: OSError) -> Issue:
    return Issue(Location(folder), "unreadable", f"cannot list folder: {_reason(exc)}", "error")
