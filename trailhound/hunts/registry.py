"""The shipped hunts (sql/*.sql) and user hunt files: a YAML header in leading `--` comments,
then the query. The registry drives `trailhound hunt list`, the CLI and docs/hunts.md."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

import yaml

from trailhound.errors import RuleError, UsageError
from trailhound.registry import Registry

# Names a hunt may take: they are typed on the command line and are file stems.
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
# `hunt list` and `hunt show` are sub-commands: no hunt may be called that.
RESERVED = frozenset({"list", "show"})


@dataclass(frozen=True)
class Hunt:
    name: str
    title: str
    description: str
    tags: tuple[str, ...]
    sources: tuple[str, ...]  # the log sources it reads (model.LOGSOURCES keys); () = any
    sql: str  # the query, header included (DuckDB ignores comments)
    path: str


def _header(text: str) -> str:
    """The YAML of the leading `--` comment block (the `-- ` prefix removed)."""
    lines: list[str] = []
    for line in text.splitlines():
        if not line.startswith("--"):
            break
        lines.append(line[3:] if line.startswith("-- ") else line[2:])
    return "\n".join(lines)


def parse_hunt(text: str, path: str, *, shipped: bool) -> Hunt:
    """A hunt from its file text. A shipped hunt must carry a full header (a missing field is a
    bug: RuleError); a user's file needs none (its name is the file stem)."""
    stem = Path(path).stem
    try:
        meta = yaml.safe_load(_header(text))
    except yaml.YAMLError:
        meta = None
    if not isinstance(meta, dict):
        if shipped:
            raise RuleError(f"{path}: shipped hunt has no YAML mapping in its `--` header")
        meta = {}  # a user's file may open with plain comments: they are just comments
    if shipped:
        missing = [k for k in ("name", "title", "tags", "description") if not meta.get(k)]
        if missing:
            raise RuleError(f"{path}: shipped hunt lacks {', '.join(missing)} in its header")
        if meta["name"] != stem or not _NAME.match(stem) or stem in RESERVED:
            raise RuleError(f"{path}: hunt name {meta['name']!r} must be the file stem {stem!r}")
    return Hunt(
        name=str(meta.get("name") or stem),
        title=str(meta.get("title") or stem),
        description=" ".join(str(meta.get("description") or "").split()),
        tags=tuple(str(t) for t in meta.get("tags") or ()),
        sources=tuple(str(s) for s in meta.get("sources") or ()),
        sql=text,
        path=path,
    )


def sql_dir() -> Path:
    return Path(str(resources.files("trailhound.hunts") / "sql"))


@cache
def hunts() -> Registry[Hunt]:
    """Every shipped hunt; `_`-prefixed files are not hunts (the shared lists)."""
    reg: Registry[Hunt] = Registry("hunt")
    for f in sorted(sql_dir().glob("*.sql")):
        if f.name.startswith("_"):
            continue
        hunt = parse_hunt(f.read_text(encoding="utf-8"), str(f), shipped=True)
        reg.register(hunt.name, hunt)
    return reg


def read_user_hunt(path: str) -> Hunt:
    """`--hunt-sql FILE`: the user's own query (header optional)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        raise UsageError(f"{path}: cannot read this hunt file ({reason})") from None
    return parse_hunt(text, path, shipped=False)
