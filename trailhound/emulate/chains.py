"""Attack chains (issue #13): one identity walking through recon, persistence, privilege
escalation, defense evasion and impact within minutes, as the page's threat intel describes
(TeamTNT with stolen AWS CLI keys, Storm-0501 in Azure). Each chain contains page tests: the AWS
one tests 1 and 3 (ListUsers, GetTrailStatus before StopLogging), the Azure one test 2 (Azure CLI
sign-in, roleAssignments/read); their recon correlations are what ranks them above the page's
false positives.

The GCP chain still ends with a large VM (the usual next step: resource hijacking). Measured:
without it (key created + SetIamPolicy) the principal collects two medium rules, risk 4, the same
as the Organizations look-alike, which then ranks first on volume (triage/principals.py
tie-breakers). No page test covers GCP, and GCP's enumeration calls (getIamPolicy,
serviceAccounts.list) are Data Access audit logs, off by default, so the pack has no GCP recon
correlation to separate them. The Azure chain needed the same VM until azure_role_recon_then_grant
(its roleAssignments/read before the grants) counted; it no longer does."""

from __future__ import annotations

from datetime import datetime, timedelta

from trailhound.emulate import aws_ops, azure_ops, gcp_ops
from trailhound.emulate.scenario import Ctx, Records, Scenario
from trailhound.emulate.world import DOMAIN

# the page: GetTrailStatus "before StopLogging calls is a strong indicator pattern"
RECON_THEN_TAMPER = "aws_cloudtrail_recon_then_tamper"
# page test 1 (ListUsers) before CreateAccessKey / AttachUserPolicy
IAM_RECON_THEN_CHANGE = "aws_iam_recon_then_change"
# page test 2 (roleAssignments/read) before the custom role and the Owner assignment
ROLE_RECON_THEN_GRANT = "azure_role_recon_then_grant"
# page test 2's other signal, the Azure CLI sign-in, ahead of the same sequence
CLI_SIGNIN_RECON_THEN_GRANT = "azure_cli_signin_recon_then_grant"


def _minutes(t0: datetime, m: float) -> datetime:
    return t0 + timedelta(minutes=m)


def _aws_compromised_key(c: Ctx, t0: datetime) -> Records:
    a = c.aws
    me = aws_ops.attacker(a)
    other = a.iam_user("deploy-bot")
    return {"cloudtrail": [
        aws_ops.get_caller_identity(a, me, t0),
        aws_ops.list_users(a, me, _minutes(t0, 0.5)),
        aws_ops.create_access_key(a, me, _minutes(t0, 2), other),
        aws_ops.attach_user_policy(a, me, _minutes(t0, 3), other["userName"]),
        aws_ops.get_trail_status(a, me, _minutes(t0, 5)),
        aws_ops.stop_logging(a, me, _minutes(t0, 6)),
        aws_ops.run_instances_call(a, me, _minutes(t0, 9), "c5.4xlarge", 4),
    ]}


def _azure_role_escalation(c: Ctx, t0: datetime) -> Records:
    az = c.az
    me = azure_ops.attacker(az, t0)
    return {
        "entra_signin": [azure_ops.cli_sign_in(c.entra, t0)],
        "azure_activity": (
            azure_ops.list_role_assignments(az, _minutes(t0, 0.7), me)
            + azure_ops.custom_role(az, _minutes(t0, 3), me)
            + azure_ops.assign_owner(az, _minutes(t0, 5), me, az.helpdesk)
        ),
    }


def _gcp_sa_key(c: Ctx, t0: datetime) -> Records:
    g = c.gcp
    me = gcp_ops.attacker(g)
    return {"gcp_audit": [
        gcp_ops.create_sa_key(g, t0, me, "terraform-admin"),
        gcp_ops.grant_owner(g, _minutes(t0, 2), me, f"user:helpdesk.sync@{DOMAIN}"),
        gcp_ops.insert_instance(g, _minutes(t0, 8), me, "gke-pool-7f2k", "n2-highcpu-32"),
    ]}


SCENARIOS = (
    Scenario(
        name="chain_aws_compromised_key",
        family="chain",
        summary="stolen access key: GetCallerIdentity, ListUsers, CreateAccessKey for another "
        "user, AttachUserPolicy, GetTrailStatus, StopLogging, RunInstances",
        techniques=("T1078.004", "T1087.004", "T1098.001", "T1098.003", "T1526", "T1562.008",
                    "T1578.002", "T1059.009"),
        expects=("iam_change", "priv_esc", "security_disable", "compute_create",
                 RECON_THEN_TAMPER, IAM_RECON_THEN_CHANGE),
        build=_aws_compromised_key,
    ),
    Scenario(
        name="chain_azure_role_escalation",
        family="chain",
        summary="Azure CLI sign-in, role assignments listed, a custom '*' role, then Owner for a "
        "backdoor user",
        techniques=("T1078.004", "T1069.003", "T1098", "T1098.003", "T1059.009"),
        expects=("iam_change", "priv_esc", ROLE_RECON_THEN_GRANT, CLI_SIGNIN_RECON_THEN_GRANT),
        build=_azure_role_escalation,
    ),
    Scenario(
        name="chain_gcp_sa_key",
        family="chain",
        summary="leaked key file: a key for another service account, roles/owner by "
        "SetIamPolicy, then a 32-vCPU VM",
        techniques=("T1078.004", "T1098.001", "T1098.003", "T1578.002", "T1059.009"),
        expects=("iam_change", "priv_esc", "compute_create"),
        build=_gcp_sa_key,
    ),
)
