"""Background noise: the everyday calls around an attack (workloads reading, VMs started,
directory upkeep, GCP reads), `n` records, the same for the same seed. None of them is one of the
detection's calls: noise must change volume, never findings. It draws from its own generator
(seed-derived), so a scenario's own records are the same with or without noise."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from trailhound.emulate import azure_ops
from trailhound.emulate.cloudtrail import BOTO_LAMBDA, SDK_ECS, Actor
from trailhound.emulate.entra import target, updated
from trailhound.emulate.gcp import GcpCaller
from trailhound.emulate.scenario import Ctx, Records
from trailhound.emulate.world import ACCT, PROJECT, Json

NOISE_SALT = 0x5EED  # noise seed = scenario seed ^ NOISE_SALT
SPREAD = timedelta(hours=2)  # noise falls within an hour either side of the scenario start

# (service, event name, request parameters): read-only calls of workloads
AWS_READS: tuple[tuple[str, str, Json | None], ...] = (
    ("ec2", "DescribeInstances", {"instancesSet": {}, "filterSet": {}}),
    ("ssm", "GetParameter", {"name": "/orders-api/prod/db-host", "withDecryption": False}),
    ("kms", "Decrypt", {"encryptionAlgorithm": "SYMMETRIC_DEFAULT"}),
    ("sts", "GetCallerIdentity", None),
    ("logs", "DescribeLogGroups", {"logGroupNamePrefix": "/aws/lambda/"}),
    ("dynamodb", "DescribeTable", {"tableName": "orders"}),
)
AZURE_OPS = (
    "Microsoft.Compute/virtualMachines/start/action",
    "Microsoft.Storage/storageAccounts/listKeys/action",
    "Microsoft.Resources/deployments/write",
)
ENTRA_CHANGES = ("Department", "JobTitle", "OfficeLocation")
GCP_READS = (
    ("storage.googleapis.com", "storage.buckets.list"),
    ("compute.googleapis.com", "v1.compute.instances.list"),
    ("iam.googleapis.com", "google.iam.admin.v1.ListServiceAccounts"),
)


def _aws(c: Ctx, when: datetime) -> Json:
    a, i = c.aws, c.ids
    svc, name, params = i.pick(list(AWS_READS))
    role, ua = i.pick([("orders-api-task", SDK_ECS), ("invoice-export-nightly-role", BOTO_LAMBDA)])
    who = Actor(a.assumed(ACCT, role, i.hex(12), when - timedelta(minutes=20)),
                i.ip("10.40.7"), ua)
    return a.call(who, when, svc, name, params=params)


def _azure(c: Ctx, when: datetime) -> list[Json]:
    az, i = c.az, c.ids
    app = az.app(az.automation_app, az.automation_sp, "10.60.8.4",
                 ("Contributor", "b24988ac618042a0ab8820f7382dd24c"), when)
    res = (f"{azure_ops.SUBSCRIPTION}/resourceGroups/rg-orders-prod/providers/"
           f"Microsoft.Compute/virtualMachines/vm-orders-batch-0{i.rng.randint(1, 4)}")
    return azure_ops.read_ok(az, when, i.pick(list(AZURE_OPS)), res, app)


def _entra(c: Ctx, when: datetime) -> Json:
    e, i = c.entra, c.ids
    sync = e.by_app(i.uuid(), "Microsoft Entra Connect Provisioning", i.uuid())
    change = {i.pick(list(ENTRA_CHANGES)): (["Finance"], ["Finance Ops"])}
    who = target(i.uuid(), "User", upn=f"user{i.digits(4)}@acme.example", mods=updated(change))
    return e.audit(when, "Update user", "UserManagement", "Update", sync, [who],
                   identity="Microsoft Entra Connect Provisioning", ip="")


def _gcp(c: Ctx, when: datetime) -> Json:
    g, i = c.gcp, c.ids
    service, method = i.pick(list(GCP_READS))
    me = GcpCaller(g.sa("grafana-reader"), i.ip("10.128.0"), "grpc-go/1.62.1,gzip(gfe)")
    return g.entry(when, "data_access", me, service, method, f"projects/{PROJECT}",
                   {"type": "project", "labels": {"project_id": PROJECT}})


MAKERS: dict[str, Callable[[Ctx, datetime], Json | list[Json]]] = {
    "cloudtrail": _aws, "azure_activity": _azure, "entra_audit": _entra, "gcp_audit": _gcp,
}


def noise(seed: int, n: int, streams: list[str], start: datetime) -> Records:
    """`n` background records over `streams` (those of MAKERS; all of them when none is given),
    at random times within SPREAD around `start`. An Azure operation may write two records:
    the count is of records, so the last one may be cut to keep `n` exact."""
    c = Ctx(seed ^ NOISE_SALT)
    kinds = [s for s in streams if s in MAKERS] or list(MAKERS)
    out: Records = {}
    made = 0
    while made < n:
        stream = c.ids.pick(kinds)
        when = start - SPREAD / 2 + timedelta(seconds=c.ids.rng.randint(0, int(SPREAD.seconds)))
        got = MAKERS[stream](c, when)
        recs = got if isinstance(got, list) else [got]
        recs = recs[: n - made]
        out.setdefault(stream, []).extend(recs)
        made += len(recs)
    return out
