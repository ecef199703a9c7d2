"""The page's false positives ("False Positives & Tuning"), emulated: legitimate activity that
raises the same signals as the attacks. Each must still be found (the signals it expects) and
must rank under every attack chain."""

from __future__ import annotations

from datetime import datetime, timedelta

from trailhound.emulate import aws_ops
from trailhound.emulate.cloudtrail import MACOS_CLI, SDK_ECS, TERRAFORM, Actor
from trailhound.emulate.scenario import Ctx, Records, Scenario
from trailhound.emulate.world import ACCT, Json

DEPLOY_ROLE = "orders-api-deploy"
ORG_ROLE = "AWSCloudFormationStackSetExecutionRole"


def _deploy_pipeline(c: Ctx, t0: datetime) -> Records:
    """A CodeBuild runner assumes the deploy role and updates the Lambda code at every release,
    every two hours through the working day."""
    a = c.aws
    day = t0.replace(hour=8, minute=0, second=0)
    out: list[Json] = []
    for n in range(6):
        when = day + timedelta(hours=2 * n, seconds=17)
        runner = Actor(a.assumed(ACCT, "codebuild-orders-api", f"build-{n:04d}", when,
                                 invoked_by="codebuild.amazonaws.com"), "10.40.3.17", SDK_ECS)
        deploy = Actor(a.assumed(ACCT, DEPLOY_ROLE, "orders-api-pipeline", when),
                       "10.40.3.17", SDK_ECS)
        out.append(aws_ops.assume_role(a, runner, when, DEPLOY_ROLE, "orders-api-pipeline"))
        out.append(aws_ops.update_function_code(a, deploy, when + timedelta(seconds=40),
                                                "orders-api"))
    return {"cloudtrail": out}


def _oncall_engineer(c: Ctx, t0: datetime) -> Records:
    """An incident at night: GetSessionToken with MFA, then AssumeRole into the responder role,
    from a mobile carrier address (100.64.0.0/10, carrier-grade NAT)."""
    a = c.aws
    night = t0.replace(hour=2, minute=14, second=5)
    me = Actor(a.iam_user("j.mensah"), "100.72.18.9", MACOS_CLI)
    return {"cloudtrail": [
        aws_ops.get_session_token(a, me, night, seconds=3600),
        aws_ops.assume_role(a, me, night + timedelta(minutes=1), "oncall-incident-responder",
                            "j.mensah"),
    ]}


def _org_automation(c: Ctx, t0: datetime) -> Records:
    """The management account's StackSets roll a baseline into this account: roles created and
    policies attached, by CloudFormation on behalf of the execution role."""
    a = c.aws
    start = t0.replace(hour=6, minute=30, second=0)
    ident = a.assumed(ACCT, ORG_ROLE, "stacksets-baseline", start,
                      invoked_by="cloudformation.amazonaws.com")
    me = Actor(ident, "cloudformation.amazonaws.com", TERRAFORM)
    trust = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":' \
            '"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}'
    out: list[Json] = []
    for n, role in enumerate(("baseline-config-recorder", "baseline-guardduty-export",
                              "baseline-backup-operator", "baseline-inventory")):
        when = start + timedelta(minutes=n, seconds=5)
        out.append(aws_ops.create_role(a, me, when, role, trust))
        out.append(aws_ops.attach_role_policy(
            a, me, when + timedelta(seconds=3), role,
            "arn:aws:iam::aws:policy/service-role/AWS_ConfigRole"))
    for n, user in enumerate(("svc-backup-reports", "svc-inventory-export")):
        out.append(aws_ops.attach_user_policy(
            a, me, start + timedelta(minutes=6 + n), user,
            "arn:aws:iam::aws:policy/ReadOnlyAccess"))
    return {"cloudtrail": out}


SCENARIOS = (
    Scenario(
        name="benign_deploy_pipeline",
        family="benign",
        summary="a deployment pipeline role assuming its deploy role and updating Lambda code "
        "on a release schedule",
        techniques=(),
        expects=("priv_esc", "compute_create"),
        build=_deploy_pipeline,
        benign=True,
    ),
    Scenario(
        name="benign_oncall_engineer",
        family="benign",
        summary="an on-call engineer's GetSessionToken and AssumeRole from a mobile address at "
        "night",
        techniques=(),
        expects=("priv_esc",),
        build=_oncall_engineer,
        benign=True,
    ),
    Scenario(
        name="benign_org_automation",
        family="benign",
        summary="AWS Organizations StackSets creating roles and attaching policies",
        techniques=(),
        expects=("iam_change", "priv_esc"),
        build=_org_automation,
        benign=True,
    ),
)
