"""What a scenario is: the records it writes (per log stream), what the page says its telemetry
looks like, which ATT&CK techniques it emulates and which signals it must raise. The expected
signals are written from the detection page and ATT&CK, never read back from trailhound's output:
tests and `trailhound validate` hold the engine to them."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from trailhound.emulate.azure import Azure
from trailhound.emulate.cloudtrail import Aws
from trailhound.emulate.entra import Entra
from trailhound.emulate.gcp import Gcp
from trailhound.emulate.world import Ids, Json

# The log streams a scenario can write; the names are trailhound's source registry names.
STREAMS = ("cloudtrail", "azure_activity", "entra_audit", "entra_signin", "gcp_audit")

Records = dict[str, list[Json]]  # stream -> records, in the order they happened


class Ctx:
    """Everything a scenario builds with: one seeded id generator feeding the cloud builders, so
    the same seed gives the same bytes."""

    def __init__(self, seed: int) -> None:
        self.ids = Ids(seed)
        self.aws = Aws(self.ids)
        self.az = Azure(self.ids)
        self.entra = Entra(self.az)
        self.gcp = Gcp(self.ids)


@dataclass(frozen=True)
class Probe:
    """One record the page says the test produces: a record of `stream` whose fields (dotted
    paths) hold these values, compared case-insensitively (exports upper-case Azure operation
    names); a value ending in `*` is a prefix. `says` quotes the page."""

    stream: str
    fields: Mapping[str, Any]
    says: str

    def matches(self, rec: Json) -> bool:
        for path, want in self.fields.items():
            got: Any = rec
            for part in path.split("."):
                got = got.get(part) if isinstance(got, dict) else None
            if isinstance(want, str):
                text = got.casefold() if isinstance(got, str) else None
                wanted = want.casefold()
                ok = text is not None and (
                    text.startswith(wanted[:-1]) if wanted.endswith("*") else text == wanted
                )
                if not ok:
                    return False
            elif got != want:
                return False
        return True


@dataclass(frozen=True)
class Scenario:
    """`expects`: the signals (seed-query flags: iam_change, security_disable, priv_esc,
    compute_create) and correlation names the scenario must raise, and, for an attack, nothing
    else; empty = it must raise no finding. `benign` look-alikes must rank under every attack."""

    name: str
    family: str  # page | signal | chain | benign | noise
    summary: str
    techniques: tuple[str, ...]
    expects: tuple[str, ...]
    build: Callable[[Ctx, datetime], Records] = field(repr=False, compare=False)
    telemetry: tuple[Probe, ...] = ()
    benign: bool = False

    def records(self, seed: int, start: datetime) -> Records:
        out = self.build(Ctx(seed), start)
        unknown = set(out) - set(STREAMS)
        if unknown:  # a scenario bug, not a user error
            raise ValueError(f"scenario {self.name} wrote unknown streams {sorted(unknown)}")
        return {s: out[s] for s in STREAMS if out.get(s)}
