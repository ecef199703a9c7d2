"""Each signal of the seed query (iam_change, security_disable, priv_esc, compute_create) as one
attacker operation on AWS, Azure Activity, Entra ID and GCP: the table below is the whole family.
Entra ID has no compute, so it has no compute_create scenario."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from trailhound.emulate import aws_ops, azure_ops, gcp_ops
from trailhound.emulate.cloudtrail import Actor
from trailhound.emulate.scenario import Ctx, Records, Scenario
from trailhound.emulate.world import DOMAIN, Json

# ATT&CK techniques per signal (attack.mitre.org, cloud matrix)
TECHNIQUES = {
    "iam_change": ("T1136.003", "T1098.001"),  # Create Cloud Account, Additional Cloud Credentials
    "security_disable": ("T1562.008",),  # Impair Defenses: Disable or Modify Cloud Logs
    "priv_esc": ("T1098.003",),  # Account Manipulation: Additional Cloud Roles
    "compute_create": ("T1578.002", "T1496"),  # Create Cloud Instance, Resource Hijacking
}

Build = Callable[[Ctx, datetime], Records]


def _aws(op: Callable[[Ctx, Actor, datetime], Json]) -> Build:
    def build(c: Ctx, t0: datetime) -> Records:
        return {"cloudtrail": [op(c, aws_ops.attacker(c.aws), t0)]}

    return build


def _azure(op: Callable[..., list[Json]], *args: str) -> Build:
    def build(c: Ctx, t0: datetime) -> Records:
        return {"azure_activity": op(c.az, t0, azure_ops.attacker(c.az, t0), *args)}

    return build


def _entra(op: Callable[..., Json], *args: str) -> Build:
    def build(c: Ctx, t0: datetime) -> Records:
        return {"entra_audit": [op(c.entra, t0, *args)]}

    return build


def _gcp(op: Callable[..., Json], *args: str) -> Build:
    def build(c: Ctx, t0: datetime) -> Records:
        return {"gcp_audit": [op(c.gcp, t0, gcp_ops.attacker(c.gcp), *args)]}

    return build


BACKDOOR = f"helpdesk.sync@{DOMAIN}"
# (signal, cloud) -> (what the attacker does, how the records are built)
TABLE: dict[tuple[str, str], tuple[str, Build]] = {
    ("iam_change", "aws"): ("CreateUser for a backdoor IAM user", _aws(
        lambda c, w, t: aws_ops.create_user(c.aws, w, t, c.aws.backdoor))),
    ("security_disable", "aws"): ("StopLogging on the account's trail", _aws(
        lambda c, w, t: aws_ops.stop_logging(c.aws, w, t))),
    ("priv_esc", "aws"): ("AttachUserPolicy AdministratorAccess to the backdoor user", _aws(
        lambda c, w, t: aws_ops.attach_user_policy(c.aws, w, t, "aws-support-sync"))),
    ("compute_create", "aws"): ("RunInstances of two c5.4xlarge", _aws(
        lambda c, w, t: aws_ops.run_instances_call(c.aws, w, t, "c5.4xlarge", 2))),
    ("iam_change", "azure"): ("a custom role with every action (roleDefinitions/write)",
                              _azure(azure_ops.custom_role)),
    ("security_disable", "azure"): ("the activity-log export deleted (diagnosticSettings/delete)",
                                    _azure(azure_ops.delete_activity_export)),
    ("priv_esc", "azure"): ("Owner on the subscription (roleAssignments/write)",
                            _azure(azure_ops.assign_owner, "5f0c3a7e-2b9d-4e61-8c14-7a3d9e0b6f21")),
    ("compute_create", "azure"): ("a Standard_D16s_v5 VM (virtualMachines/write)",
                                  _azure(azure_ops.create_vm, "vm-bkp-relay-01",
                                         "Standard_D16s_v5")),
    ("iam_change", "entra"): ("Add user (a backdoor member account)",
                              _entra(azure_ops.add_user, BACKDOOR)),
    ("security_disable", "entra"): ("Delete conditional access policy (MFA for admins)",
                                    _entra(azure_ops.delete_ca_policy)),
    ("priv_esc", "entra"): ("Add member to role Global Administrator",
                            _entra(azure_ops.add_global_admin, BACKDOOR)),
    ("iam_change", "gcp"): ("CreateServiceAccountKey for terraform-admin",
                            _gcp(gcp_ops.create_sa_key, "terraform-admin")),
    ("security_disable", "gcp"): ("DeleteSink of the audit export", _gcp(gcp_ops.delete_sink)),
    ("priv_esc", "gcp"): ("SetIamPolicy granting roles/owner",
                          _gcp(gcp_ops.grant_owner, "user:helpdesk.sync@gmail.example")),
    ("compute_create", "gcp"): ("compute.instances.insert of an n2-highcpu-32",
                                _gcp(gcp_ops.insert_instance, "gke-pool-7f2k", "n2-highcpu-32")),
}

SCENARIOS = tuple(
    Scenario(
        name=f"{signal}_{cloud}",
        family="signal",
        summary=f"{cloud}: {what}",
        techniques=(*TECHNIQUES[signal], "T1059.009"),
        expects=(signal,),
        build=build,
    )
    for (signal, cloud), (what, build) in TABLE.items()
)
