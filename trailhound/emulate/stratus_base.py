"""What the Stratus scenario modules share (emulate/stratus*.py): the victim's resource names,
the outsider, and the wrappers turning one cloud operation into a scenario's records."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from trailhound.emulate import aws_ops, azure_ops, gcp_ops
from trailhound.emulate.azure import AzCaller
from trailhound.emulate.cloudtrail import Actor, Aws
from trailhound.emulate.gcp import Gcp, GcpCaller
from trailhound.emulate.scenario import Ctx, Records
from trailhound.emulate.world import Json

RG = f"{azure_ops.SUBSCRIPTION}/resourceGroups/rg-app-prod"
VM = f"{RG}/providers/Microsoft.Compute/virtualMachines/vm-app-01"
OUTSIDER = "user:stratus.red.team@gmail.example"  # an identity outside the organisation

AwsOp = Callable[[Aws, datetime, Actor], list[Json]]
AzOp = Callable[[Ctx, datetime, AzCaller], list[Json]]
GcpOp = Callable[[Gcp, datetime, GcpCaller], list[Json]]
Build = Callable[[Ctx, datetime], Records]
# Stratus id -> (what the attacker does, how the records are built, labels the default profile
# raises: a flagship signal or a related rule's id)
Entry = tuple[str, Build, tuple[str, ...]]


def aws(op: AwsOp) -> Build:
    """The calls made with m.okafor's stolen long-term key (emulate/aws_ops.attacker)."""
    def build(c: Ctx, t0: datetime) -> Records:
        return {"cloudtrail": op(c.aws, t0, aws_ops.attacker(c.aws))}

    return build


def azure(op: AzOp) -> Build:
    def build(c: Ctx, t0: datetime) -> Records:
        return {"azure_activity": op(c, t0, azure_ops.attacker(c.az, t0))}

    return build


def gcp(op: GcpOp) -> Build:
    def build(c: Ctx, t0: datetime) -> Records:
        return {"gcp_audit": op(c.gcp, t0, gcp_ops.attacker(c.gcp))}

    return build


def one(op: Callable[[Gcp, datetime, GcpCaller], Json]) -> GcpOp:
    return lambda g, t, who: [op(g, t, who)]
