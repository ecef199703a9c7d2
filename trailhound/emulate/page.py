"""The detection page's three adversary tests ("Testing Methodology", Atomic Red Team), each
with the telemetry the page says it produces. Alone, none of them raises a finding: ListUsers,
roleAssignments/read and GetTrailStatus are in none of the seed query's four flags, and the page
calls GetTrailStatus "benign" alone. Followed by scored actions of the same principal they count,
through the corrected pack's recon correlations (aws_iam_recon_then_change,
azure_role_recon_then_grant with the CLI sign-in as context, aws_cloudtrail_recon_then_tamper);
the chain scenarios contain them (chains.py)."""

from __future__ import annotations

from datetime import datetime, timedelta

from trailhound.emulate import aws_ops, azure_ops
from trailhound.emulate.azure import AZ_CLI_APP
from trailhound.emulate.cloudtrail import KALI, Actor
from trailhound.emulate.scenario import Ctx, Probe, Records, Scenario
from trailhound.emulate.world import AWS_ATTACKER


def _iam_user_enum(c: Ctx, t0: datetime) -> Records:
    a = c.aws
    intern = Actor(a.iam_user("build-intern"), AWS_ATTACKER, KALI)
    return {"cloudtrail": [
        aws_ops.list_users(a, aws_ops.attacker(a), t0),
        # "logged regardless of success or failure": a key without iam:ListUsers
        aws_ops.list_users(a, intern, t0 + timedelta(seconds=41), allowed=False),
    ]}


def _role_assignment_enum(c: Ctx, t0: datetime) -> Records:
    return {
        "entra_signin": [azure_ops.cli_sign_in(c.entra, t0)],
        "azure_activity": azure_ops.list_role_assignments(
            c.az, t0 + timedelta(seconds=38), azure_ops.attacker(c.az, t0)),
    }


def _trail_status(c: Ctx, t0: datetime) -> Records:
    return {"cloudtrail": [aws_ops.get_trail_status(c.aws, aws_ops.attacker(c.aws), t0)]}


SCENARIOS = (
    Scenario(
        name="aws_iam_user_enum",
        family="page",
        summary="Test 1, AWS IAM user enumeration via CLI: ListUsers with aws-cli, once allowed "
        "and once denied",
        techniques=("T1087.004", "T1059.009"),
        expects=(),
        build=_iam_user_enum,
        telemetry=(
            Probe("cloudtrail", {"eventName": "ListUsers", "userAgent": "aws-cli/*",
                                 "sourceIPAddress": AWS_ATTACKER,
                                 "userIdentity.arn": "arn:aws:iam::*"},
                  "ListUsers API call with source IP, user identity ARN, and user agent "
                  "showing 'aws-cli'"),
            Probe("cloudtrail", {"eventName": "ListUsers", "errorCode": "AccessDenied"},
                  "logged regardless of success or failure"),
        ),
    ),
    Scenario(
        name="azure_role_assignment_enum",
        family="page",
        summary="Test 2, Azure role assignment enumeration: `az role assignment list` after an "
        "Azure CLI sign-in",
        techniques=("T1069.003", "T1087.004", "T1059.009"),
        expects=(),
        build=_role_assignment_enum,
        telemetry=(
            Probe("azure_activity",
                  {"operationName": "Microsoft.Authorization/roleAssignments/read"},
                  "Activity Log: Microsoft.Authorization/roleAssignments/read operation"),
            Probe("entra_signin", {"category": "SignInLogs",
                                   "properties.appId": AZ_CLI_APP},
                  "Sign-in log showing authentication event for the Azure CLI client"),
        ),
    ),
    Scenario(
        name="aws_trail_status_check",
        family="page",
        summary="Test 3, AWS CloudTrail status check: GetTrailStatus alone (benign alone)",
        techniques=("T1526", "T1059.009"),
        expects=(),
        build=_trail_status,
        telemetry=(
            Probe("cloudtrail", {"eventSource": "cloudtrail.amazonaws.com",
                                 "eventName": "GetTrailStatus"},
                  "CloudTrail: GetTrailStatus API call"),
        ),
    ),
)
