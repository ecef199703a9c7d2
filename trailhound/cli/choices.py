"""click choices read from the registries at the moment they are shown or checked, so an engine,
output format or profile registered anywhere (a plugin, a test's toy one) is offered by every
command, listed in `--help` and accepted, without a hand-written list to keep in step."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import click

from trailhound.engine import ENGINES
from trailhound.profiles import PROFILES
from trailhound.report.writers import WRITERS


class RegistryChoice(click.Choice):  # type: ignore[type-arg]
    """A `click.Choice` whose choices are `names()` at each use, not a copy taken at import."""

    def __init__(self, names: Callable[[], Iterable[str]]) -> None:
        self._names = names
        super().__init__((), case_sensitive=True)

    # (a tuple: click 8.5 types `choices` as one, 8.4 as a Sequence; a tuple satisfies both)
    @property
    def choices(self) -> tuple[Any, ...]:
        return tuple(sorted(self._names()))

    @choices.setter
    def choices(self, _value: Sequence[Any]) -> None:  # click's __init__ assigns it; ignored
        pass


ENGINE_CHOICE = RegistryChoice(ENGINES.names)
FORMAT_CHOICE = RegistryChoice(WRITERS.names)
PROFILE_CHOICE = RegistryChoice(lambda: PROFILES)
