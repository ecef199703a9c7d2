"""The AWS API calls the scenarios are made of, one function per call, with the request and
response members CloudTrail logs for it (docs/log-formats.md 1.6; shapes as in tools/loggen)."""

from __future__ import annotations

from datetime import datetime, timedelta

from trailhound.emulate.cloudtrail import (
    KALI,
    Actor,
    Aws,
    denied,
    lambda_config,
    role_resource,
    run_instances,
)
from trailhound.emulate.world import ACCT, AWS_ATTACKER, LOCAL_TRAIL, REGION, Json, aws_date

TRAIL_ARN = f"arn:aws:cloudtrail:{REGION}:{ACCT}:trail/{LOCAL_TRAIL}"
ADMIN_POLICY = "arn:aws:iam::aws:policy/AdministratorAccess"


def attacker(a: Aws) -> Actor:
    """The stolen long-term key of m.okafor, used with aws-cli from a documentation address."""
    return Actor(a.okafor, AWS_ATTACKER, KALI)


def list_users(a: Aws, who: Actor, when: datetime, *, allowed: bool = True) -> Json:
    error = None
    if not allowed:
        error = ("AccessDenied", denied(who.ident, "iam:ListUsers", f"arn:aws:iam::{ACCT}:user/"))
    return a.call(who, when, "iam", "ListUsers", error=error)


def get_caller_identity(a: Aws, who: Actor, when: datetime) -> Json:
    return a.call(who, when, "sts", "GetCallerIdentity")


def get_trail_status(a: Aws, who: Actor, when: datetime) -> Json:
    return a.call(who, when, "cloudtrail", "GetTrailStatus", params={"name": TRAIL_ARN})


def stop_logging(a: Aws, who: Actor, when: datetime) -> Json:
    res = [{"accountId": ACCT, "type": "AWS::CloudTrail::Trail", "ARN": TRAIL_ARN}]
    return a.call(who, when, "cloudtrail", "StopLogging", params={"name": TRAIL_ARN}, resources=res)


def create_user(a: Aws, who: Actor, when: datetime, user: Json) -> Json:
    name = user["userName"]
    response = {"user": {"path": "/", "userName": name, "userId": user["principalId"],
                         "arn": user["arn"], "createDate": aws_date(when)}}
    return a.call(who, when, "iam", "CreateUser", params={"userName": name}, response=response)


def create_access_key(a: Aws, who: Actor, when: datetime, user: Json) -> Json:
    """A new key for `user` (another user than the caller: the persistence move)."""
    name = user["userName"]
    response = {"accessKey": {"userName": name, "accessKeyId": a.ids.aws("AKIA", ACCT),
                              "status": "Active", "createDate": aws_date(when)}}
    return a.call(who, when, "iam", "CreateAccessKey", params={"userName": name},
                  response=response)


def attach_user_policy(
    a: Aws, who: Actor, when: datetime, user: str, policy: str = ADMIN_POLICY
) -> Json:
    params = {"userName": user, "policyArn": policy}
    return a.call(who, when, "iam", "AttachUserPolicy", params=params)


def create_role(a: Aws, who: Actor, when: datetime, role: str, trust: str) -> Json:
    arn = f"arn:aws:iam::{ACCT}:role/{role}"
    response = {"role": {"path": "/", "roleName": role, "roleId": a.role_id(ACCT, role),
                         "arn": arn, "createDate": aws_date(when),
                         "assumeRolePolicyDocument": trust}}
    params = {"roleName": role, "assumeRolePolicyDocument": trust}
    return a.call(who, when, "iam", "CreateRole", params=params, response=response)


def attach_role_policy(a: Aws, who: Actor, when: datetime, role: str, policy: str) -> Json:
    params = {"roleName": role, "policyArn": policy}
    return a.call(who, when, "iam", "AttachRolePolicy", params=params)


def assume_role(a: Aws, who: Actor, when: datetime, role: str, session: str) -> Json:
    arn = f"arn:aws:iam::{ACCT}:role/{role}"
    response = {
        "credentials": a.credentials(ACCT, when + timedelta(hours=1)),
        "assumedRoleUser": {"assumedRoleId": f"{a.role_id(ACCT, role)}:{session}",
                            "arn": f"arn:aws:sts::{ACCT}:assumed-role/{role}/{session}"},
    }
    return a.call(who, when, "sts", "AssumeRole",
                  params={"roleArn": arn, "roleSessionName": session}, response=response,
                  resources=[role_resource(ACCT, arn)], shared=a.ids.uuid())


def get_session_token(a: Aws, who: Actor, when: datetime, seconds: int = 43200) -> Json:
    creds = a.credentials(ACCT, when + timedelta(seconds=seconds))
    return a.call(who, when, "sts", "GetSessionToken", params={"durationSeconds": seconds},
                  response={"credentials": creds})


def run_instances_call(a: Aws, who: Actor, when: datetime, itype: str, count: int) -> Json:
    call = run_instances(a.ids, when, itype, count, None)
    return a.call(who, when, "ec2", "RunInstances", **call)


def update_function_code(a: Aws, who: Actor, when: datetime, fn: str) -> Json:
    """Lambda logs the call with its API-version suffix (docs/log-formats.md 1.1)."""
    return a.call(who, when, "lambda", "UpdateFunctionCode20150331v2",
                  params={"functionName": fn, "publish": True, "dryRun": False},
                  response=lambda_config(a.ids, fn, f"{fn}-role", "app.handler", when, 5120))
