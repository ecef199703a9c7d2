"""Small helpers shared by the readers: safe snippets of attacker-controlled text, JSON pointers."""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, Generic, TypeVar

from trailhound.jsonutil import json_type
from trailhound.registry import Registry
from trailhound.wording import count

T = TypeVar("T")

SNIPPET_MAX = 80  # longest escaped snippet of input text we put in an Issue message


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic GC while decoding a big document.

    Decoding allocates millions of containers, and each allocation burst triggers collections
    that walk everything decoded so far: a 250 MB CloudTrail file decodes 4x faster with the
    collector paused. JSON values cannot form reference cycles, so nothing is leaked.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def snippet(value: Any, limit: int = SNIPPET_MAX) -> str:
    """`repr()` of (a prefix of) `value` as text, at most `limit` characters long, quotes included.

    Input text can hold terminal escapes, newlines or bidi controls; `repr` escapes every
    non-printable character, so none of them survives into a message.
    """
    text = value if isinstance(value, str) else str(value)
    out = repr(text)
    if len(out) <= limit:
        return out
    for cut in range(min(len(text), limit), -1, -1):
        out = repr(text[:cut]) + "..."
        if len(out) <= limit:
            return out
    return "..."


def key_list(keys: Iterable[Any], limit: int = 8) -> str:
    """Escaped, truncated list of (top-level) keys for a message."""
    keys = list(keys)
    shown = ", ".join(snippet(k, 40) for k in keys[:limit])
    if len(keys) > limit:
        shown += f" and {len(keys) - limit} more"
    return shown or "none"


def pointer_token(token: str | int) -> str:
    """One escaped JSON pointer reference token (RFC 6901)."""
    if isinstance(token, int):
        return str(token)
    return token.replace("~", "~0").replace("/", "~1")


def join_pointer(base: str, token: str | int) -> str:
    return f"{base}/{pointer_token(token)}"


class OrderedRegistry(Generic[T]):
    """A `Registry` whose items are also tried in a fixed order (lowest `order` first).

    Used for envelope handlers and record classifiers: adding a shape is one function plus one
    `register(...)` line; names stay unique and `get` gives did-you-mean errors.
    """

    def __init__(self, kind: str) -> None:
        self.registry: Registry[T] = Registry(kind)
        self._order: dict[str, int] = {}
        self._ordered: tuple[T, ...] = ()

    def register(self, name: str, order: int, item: T) -> T:
        self.registry.register(name, item)
        self._order[name] = order
        self._reorder()
        return item

    def unregister(self, name: str) -> T:
        item = self.registry.unregister(name)
        del self._order[name]
        self._reorder()
        return item

    def _reorder(self) -> None:
        self._ordered = tuple(self.registry.get(n) for n in self.names())

    def ordered(self) -> tuple[T, ...]:
        return self._ordered

    def names(self) -> list[str]:
        """Names in the order the items are tried."""
        return sorted(self._order, key=lambda n: (self._order[n], n))

    def get(self, name: str) -> T:
        return self.registry.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self.registry


def describe(value: Any) -> str:
    """JSON type of a value, with a short escaped rendering of scalars: `number 5`, `string 'x'`."""
    if isinstance(value, (dict, list)) or value is None:
        return json_type(value)
    if isinstance(value, bool):
        return f"boolean {'true' if value else 'false'}"
    return f"{json_type(value)} {snippet(value, 40)}"


def read_before(i: int) -> str:
    """What was kept of an array cut at element i: `the 1 element before it was read`."""
    return f"the {count(i, 'element')} before it {'was' if i == 1 else 'were'} read"
