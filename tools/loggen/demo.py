"""Deterministic generator of the `trailhound demo` dataset.

    python -m tools.loggen.demo          # from the checkout: rewrites trailhound/demo/data/, same bytes every run

Everything is invented: the organisation (Acme), its accounts, tenant, project, people and keys.
Attackers use documentation addresses (198.51.100.0/24, 203.0.113.0/24, 192.0.2.0/24); normal work
comes from RFC 1918 addresses, VPC endpoints and AWS-internal callers. Record shapes follow
docs/log-formats.md (CloudTrail S3 delivery files, a digest, EventBridge, Firehose JSON lines;
Azure Activity diagnostic export and `az monitor activity-log list`; Entra audit Event Hub
`records`; GCP LogEntry sink files). No record is copied from any public sample.

The story, Saturday 2026-03-14 (UTC). An info-stealer on cloud engineer Marcus Okafor's laptop
leaked his AWS access key, a GCP service-account key file and his Entra/Azure session.

- 10:01-10:24 AWS, 203.0.113.77, aws-cli on Kali. Recon (GetCallerIdentity, ListUsers), then
  GetTrailStatus and StopLogging on the account's own trail (the organisation trail, which these
  files come from, keeps recording; an EventBridge rule forwards the StopLogging). DeleteDetector
  is denied. Backdoor admin `aws-support-sync`: CreateUser, CreateAccessKey, AttachUserPolicy
  AdministratorAccess, AddUserToGroup. As that user: UpdateDetector enable=false, PutRolePolicy,
  PutBucketPolicy for an outside account, CreateKeyPair and RunInstances, a Lambda backdoor
  (UpdateFunctionCode, CreateFunction), GetSessionToken, AssumeRole into the data account
  444455556666, and PutEventSelectors there, after which that account goes quiet.
- 10:41-10:54 GCP, 192.0.2.45, gcloud with the ci-deployer key: a key for terraform-admin is
  denied (PERMISSION_DENIED), a key for ci-deployer is created, a new service account is made
  project owner and given a key, the audit sink is deleted, a 32-vCPU VM is started.
- 11:02-11:52 Entra and Azure, 198.51.100.23. Backdoor user helpdesk.sync; a Global Administrator
  grant fails; a secret is added to an over-privileged app, which then grants the role itself;
  consent to a rogue mail app; the MFA conditional-access policy is deleted. In Azure: role
  enumeration (Get-AzRoleAssignment), Owner for the new user (first try fails: PrincipalNotFound),
  a custom role with "*", a new VM, and the activity-log export deleted. Hour 12 exists only in the
  responder's `az monitor activity-log list` pull: Run Command on the new VM.
- 11:04-11:28 Microsoft 365, 198.51.100.23 (the Unified Audit Log): the backdoor user again, as
  the UAL repeats it; full access to the CFO's mailbox for helpdesk.sync (the first try fails),
  send-as rights on it, unified audit log ingestion switched off, helpdesk.sync exempted from
  mailbox auditing.

Around it, a normal day: reads, SSO logins, CI deploys, AWS services assuming their roles,
provisioning, device updates, schedulers, and a few benign failures.
"""

from __future__ import annotations

import json
import shutil
import sys
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from tools.loggen.common import digest_key, dumps_min, gzip_bytes, json_lines
from trailhound.emulate.azure import (
    AZ_CLI_APP,
    AZ_PS_APP,
    CONTRIBUTOR,
    OWNER,
    VM_CONTRIBUTOR,
    AzCaller,
    Azure,
    role_definition_id,
)
from trailhound.emulate.azure_ops import custom_role, read_ok, write_ok
from trailhound.emulate.cloudtrail import (
    BOTO_LAMBDA,
    BROWSER,
    GLOBAL_SERVICES,
    KALI,
    LINUX_CLI,
    MACOS_CLI,
    SDK_ECS,
    TERRAFORM,
    Actor,
    Aws,
    denied,
    lambda_config,
    role_resource,
    run_instances,
    trail_files,
)
from trailhound.emulate.entra import (
    ATTACK_UA,
    EDGE_UA,
    GLOBAL_ADMIN,
    Entra,
    included,
    mod,
    target,
    updated,
)
from trailhound.emulate.gcp import (
    GCLOUD,
    IAM_ADMIN,
    Gcp,
    GcpCaller,
)
from trailhound.emulate.world import (
    ACCT,
    ACCT2,
    ALNUM,
    AWS_ATTACKER,
    AZ_ATTACKER,
    DATA_TRAIL,
    DAY,
    DETECTOR,
    DOMAIN,
    EXT_ACCT,
    GCP_ATTACKER,
    LOCAL_TRAIL,
    ORG_ID,
    ORG_TRAIL,
    PROJECT,
    PROJECT_NUM,
    REGION,
    SUB,
    TENANT,
    TRAIL_BUCKET,
    Ids,
    at,
    aws_date,
    z,
)

Json = dict[str, Any]
Prop = dict[str, str | None]  # an Entra modifiedProperties item

SEED = 20260314
DATA_DIR = Path(__file__).resolve().parents[2] / "trailhound" / "demo" / "data"

# =================================================================================================
# AWS CloudTrail

# fmt: off
SHADOW_TRAILS = {"includeShadowTrails": True}


def aws_attack(a: Aws) -> tuple[list[Json], list[Json], Json]:
    """(records of 111122223333, records of 444455556666, the StopLogging record)."""
    i = a.ids
    mo = Actor(a.okafor, AWS_ATTACKER, KALI)  # the stolen key
    bd = Actor(a.backdoor, AWS_ATTACKER, KALI)  # the backdoor user's key
    trail = f"arn:aws:cloudtrail:{REGION}:{ACCT}:trail/{LOCAL_TRAIL}"
    trail_res = [{"accountId": ACCT, "type": "AWS::CloudTrail::Trail", "ARN": trail}]
    detector = f"arn:aws:guardduty:{REGION}:{ACCT}:detector/{DETECTOR}"
    new_user = {"userName": "aws-support-sync"}
    stop = a.call(mo, "10:04:16", "cloudtrail", "StopLogging", params={"name": trail},
                  resources=trail_res)
    out = [
        a.call(mo, "10:01:37", "sts", "GetCallerIdentity"),
        a.call(mo, "10:02:05", "iam", "ListUsers"),
        a.call(mo, "10:02:31", "iam", "ListAttachedUserPolicies", params={"userName": "m.okafor"}),
        a.call(mo, "10:02:58", "iam", "ListRoles"),
        a.call(mo, "10:03:12", "cloudtrail", "DescribeTrails", params=SHADOW_TRAILS),
        a.call(mo, "10:03:40", "cloudtrail", "GetTrailStatus", params={"name": trail}),
        stop,
        a.call(mo, "10:05:02", "guardduty", "ListDetectors", params={}),
        a.call(mo, "10:05:29", "guardduty", "DeleteDetector", params={"detectorId": DETECTOR},
               error=("AccessDenied", denied(a.okafor, "guardduty:DeleteDetector", detector))),
        a.call(mo, "10:06:10", "iam", "ListGroups"),
        a.call(mo, "10:06:45", "iam", "CreateUser", params=new_user, response={"user": {
            "path": "/", "userName": "aws-support-sync", "userId": a.backdoor["principalId"],
            "arn": a.backdoor["arn"], "createDate": aws_date(at("10:06:45"))}}),
        a.call(mo, "10:07:03", "iam", "CreateAccessKey", params=new_user, response={"accessKey": {
            "userName": "aws-support-sync", "accessKeyId": a.backdoor["accessKeyId"],
            "status": "Active", "createDate": aws_date(at("10:07:03"))}}),
        a.call(mo, "10:07:26", "iam", "AttachUserPolicy",
               params=new_user | {"policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}),
        a.call(mo, "10:07:51", "iam", "AddUserToGroup", params=new_user | {"groupName": "Admins"}),
        # --- from here on, the backdoor user's own key
        a.call(bd, "10:09:14", "sts", "GetCallerIdentity"),
        a.call(bd, "10:09:40", "guardduty", "UpdateDetector",
               params={"detectorId": DETECTOR, "enable": False}),
    ]
    policy = {"Version": "2012-10-17",
              "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    out.append(a.call(bd, "10:10:33", "iam", "PutRolePolicy", params={
        "roleName": "invoice-export-nightly-role", "policyName": "s3-replication-helper",
        "policyDocument": json.dumps(policy, indent=2)}))
    bucket = "acme-prod-exports"
    bucket_policy = {"Version": "2012-10-17", "Statement": [{
        "Sid": "ReplicationRead", "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{EXT_ACCT}:root"},
        "Action": ["s3:GetObject", "s3:ListBucket"],
        "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]}]}
    host = f"{bucket}.s3.amazonaws.com"
    out.append(a.call(
        bd, "10:11:58", "s3", "PutBucketPolicy", host=host,
        params={"bucketPolicy": bucket_policy, "bucketName": bucket, "Host": host, "policy": ""},
        extra=a.s3_extra(bytes_in=len(json.dumps(bucket_policy))),
        resources=[{"accountId": ACCT, "type": "AWS::S3::Bucket",
                    "ARN": f"arn:aws:s3:::{bucket}"}]))
    out.append(a.call(bd, "10:13:20", "ec2", "DescribeImages", params={
        "executableSet": {}, "imagesSet": {}, "ownersSet": {"items": [{"owner": "099720109477"}]}}))
    key = "ops-maint-0314"
    out.append(a.call(
        bd, "10:13:47", "ec2", "CreateKeyPair",
        params={"keyName": key, "keyType": "rsa", "keyFormat": "pem"},
        response={"requestId": i.uuid(), "keyName": key,
                  "keyFingerprint": ":".join(i.hex(2) for _ in range(20)),
                  "keyPairId": "key-0" + i.hex(16), "keyMaterial": "<sensitiveDataRemoved>"}))
    out.append(a.call(bd, "10:14:31", "ec2", "RunInstances",
                      **run_instances(i, at("10:14:31"), "c5.4xlarge", 2, key)))
    fn = "invoice-export-nightly"
    out.append(a.call(bd, "10:16:40", "lambda", "GetFunction20150331v2",
                      params={"functionName": fn}))
    out.append(a.call(
        bd, "10:17:22", "lambda", "UpdateFunctionCode20150331v2",
        params={"functionName": fn, "publish": False, "dryRun": False},
        response=lambda_config(i, fn, f"{fn}-role", "app.handler", at("10:17:22"), 4417)))
    new_fn = "cloudwatch-metrics-forwarder"
    out.append(a.call(
        bd, "10:18:55", "lambda", "CreateFunction20150331",
        params={"functionName": new_fn, "runtime": "python3.12",
                "role": f"arn:aws:iam::{ACCT}:role/{fn}-role",
                "handler": "lambda_function.lambda_handler", "code": {}, "timeout": 900,
                "memorySize": 256, "publish": False, "packageType": "Zip"},
        response=lambda_config(i, new_fn, f"{fn}-role", "lambda_function.lambda_handler",
                               at("10:18:55"), 1210)))
    out.append(a.call(
        bd, "10:20:30", "sts", "GetSessionToken", params={"durationSeconds": 129600},
        response={"credentials": a.credentials(ACCT, at("10:20:30") + timedelta(hours=36))}))

    # Cross-account: one AssumeRole, a copy delivered to each account (shared event id).
    xrole = "acme-data-crossaccount-admin"
    xarn = f"arn:aws:iam::{ACCT2}:role/{xrole}"
    creds = a.credentials(ACCT2, at("10:22:10") + timedelta(hours=1))
    assume: Json = {
        "params": {"roleArn": xarn, "roleSessionName": "aws-support-sync"},
        "response": {"credentials": creds, "assumedRoleUser": {
            "assumedRoleId": f"{a.role_id(ACCT2, xrole)}:aws-support-sync",
            "arn": f"arn:aws:sts::{ACCT2}:assumed-role/{xrole}/aws-support-sync"}},
        "resources": [role_resource(ACCT2, xarn)], "shared": i.uuid()}
    out.append(a.call(bd, "10:22:10", "sts", "AssumeRole", **assume))
    remote = {"type": "AWSAccount", "principalId": a.backdoor["principalId"], "accountId": ACCT}
    sess = a.assumed(ACCT2, xrole, "aws-support-sync", at("10:22:10"))
    sess["accessKeyId"] = creds["accessKeyId"]
    xs = Actor(sess, AWS_ATTACKER, KALI, acct=ACCT2)
    dtrail = f"arn:aws:cloudtrail:{REGION}:{ACCT2}:trail/{DATA_TRAIL}"
    selectors = [{"readWriteType": "All", "includeManagementEvents": False, "dataResources": [],
                  "excludeManagementEventSources": []}]
    s3_host = "s3.us-east-1.amazonaws.com"
    data = [
        a.call(Actor(remote, AWS_ATTACKER, KALI, acct=ACCT2), "10:22:10", "sts", "AssumeRole",
               **assume),
        a.call(xs, "10:22:41", "sts", "GetCallerIdentity"),
        a.call(xs, "10:23:05", "s3", "ListBuckets", cmd="s3.ls", params={"Host": s3_host},
               host=s3_host),
        a.call(xs, "10:23:40", "cloudtrail", "DescribeTrails", params=SHADOW_TRAILS),
        a.call(xs, "10:24:12", "cloudtrail", "PutEventSelectors",
               params={"trailName": DATA_TRAIL, "eventSelectors": selectors},
               response={"trailARN": dtrail, "eventSelectors": selectors},
               resources=[{"accountId": ACCT2, "type": "AWS::CloudTrail::Trail", "ARN": dtrail}]),
    ]
    return out, data, stop
# fmt: on


SERVICE_ROLES = [  # (service, role, session); "*" = a random task or instance id
    ("lambda.amazonaws.com", "invoice-export-nightly-role", "invoice-export-nightly"),
    ("lambda.amazonaws.com", "orders-api-authorizer-role", "orders-api-authorizer"),
    ("ecs-tasks.amazonaws.com", "orders-api-task-role", "*"),
    ("ec2.amazonaws.com", "ci-jenkins-instance", "i-*"),
    ("config.amazonaws.com", "AWSServiceRoleForConfig", "AWSConfig-Describe"),
]
WORKLOAD_CALLS = [
    ("kms", "Decrypt", {"encryptionAlgorithm": "SYMMETRIC_DEFAULT"}),
    ("kms", "GenerateDataKey", {"keySpec": "AES_256", "keyId": "alias/orders-data"}),
    ("secretsmanager", "GetSecretValue", {"secretId": "prod/orders-db"}),
    ("dynamodb", "DescribeTable", {"tableName": "orders"}),
    ("ssm", "GetParameter", {"name": "/prod/invoice-export/bucket", "withDecryption": False}),
    ("sqs", "GetQueueAttributes", {"attributeNames": ["ApproximateNumberOfMessages"]}),
]
CONFIG_CALLS = [
    ("ec2", "DescribeInstances", {"instancesSet": {}, "filterSet": {}}),
    ("ec2", "DescribeSecurityGroups", {"securityGroupSet": {}, "filterSet": {}}),
    ("iam", "GetRole", {"roleName": "orders-api-task-role"}),
    ("iam", "GetRole", {"roleName": "deploy-prod"}),
    ("iam", "ListAttachedRolePolicies", {"roleName": "invoice-export-nightly-role"}),
    ("s3", "GetBucketPolicyStatus", {"bucketName": "acme-prod-exports", "policyStatus": ""}),
    ("lambda", "ListFunctions20150331", {"functionVersion": "ALL"}),
]
PEOPLE_CALLS = [
    ("ec2", "DescribeInstances", {"instancesSet": {}, "filterSet": {}}),
    ("ec2", "DescribeVolumes", {"volumeSet": {}, "filterSet": {}}),
    ("ec2", "DescribeSubnets", {"subnetSet": {}, "filterSet": {}}),
    ("ec2", "DescribeVpcs", {"vpcSet": {}, "filterSet": {}}),
    ("s3", "ListBuckets", {"Host": "s3.amazonaws.com"}),
    ("iam", "ListRoles", None),
    ("iam", "ListPolicies", {"scope": "Local", "onlyAttached": False}),
    ("lambda", "ListFunctions20150331", None),
    ("cloudtrail", "LookupEvents", {"maxResults": 50}),
    ("monitoring", "GetMetricData", {"maxDatapoints": 100800}),
    ("elasticloadbalancing", "DescribeTargetHealth", {"targetGroupArn": "orders-api"}),
    ("guardduty", "ListFindings", {"detectorId": DETECTOR, "maxResults": 50}),
]
OKAFOR_CALLS = [
    ("ec2", "DescribeInstances", {"instancesSet": {}, "filterSet": {}}),
    ("logs", "FilterLogEvents", {"logGroupName": "/aws/lambda/invoice-export-nightly"}),
    ("lambda", "GetFunction20150331v2", {"functionName": "invoice-export-nightly"}),
    ("s3", "ListBuckets", {"Host": "s3.amazonaws.com"}),
    ("sts", "GetCallerIdentity", None),
]
CI_CALLS = [
    ("ec2", "DescribeInstances", {"instancesSet": {}, "filterSet": {}}),
    ("ecr", "GetAuthorizationToken", {"registryIds": [ACCT]}),
    ("iam", "GetPolicyVersion", {"policyArn": "orders-api-runtime", "versionId": "v7"}),
    ("s3", "GetBucketAcl", {"bucketName": "acme-tf-state", "acl": ""}),
    ("dynamodb", "DescribeTable", {"tableName": "terraform-locks"}),
]
DATA_CALLS = [
    ("kms", "Decrypt", {"encryptionAlgorithm": "SYMMETRIC_DEFAULT"}),
    ("glue", "GetTable", {"databaseName": "curated", "name": "orders_daily"}),
    ("glue", "GetPartitions", {"databaseName": "curated", "tableName": "orders_daily"}),
    ("dynamodb", "DescribeTable", {"tableName": "etl-checkpoints"}),
]
JENKINS_ID = "i-04c1e9a7b3d5f20861"


def expand(acct: str, params: Json | None) -> Json | None:
    """Fill the short names of the call tables in with this account's ARNs."""
    if params is None:
        return None
    p = dict(params)
    arns = {
        "keyId": f"arn:aws:kms:{REGION}:{acct}:alias/orders-data",
        "secretId": f"arn:aws:secretsmanager:{REGION}:{acct}:secret:prod/orders-db-AbC123",
        "policyArn": f"arn:aws:iam::{acct}:policy/orders-api-runtime",
        "targetGroupArn": f"arn:aws:elasticloadbalancing:{REGION}:{acct}:targetgroup/orders-api/"
        "9f3c1a7e2b4d6085",
    }
    for k, v in arns.items():
        if k in p:
            p[k] = v
    if "attributeNames" in p:
        p = {"queueUrl": f"https://sqs.{REGION}.amazonaws.com/{acct}/orders-events"} | p
    if "bucketName" in p:
        p["Host"] = f"{p['bucketName']}.s3.amazonaws.com"
    return p


def aws_noise(a: Aws, start: str, end: str, n: int, acct: str = ACCT) -> list[Json]:
    """`n` ordinary records between `start` and `end`."""
    t0 = at(start)
    span = int((at(end) - t0).total_seconds())
    times = sorted(t0 + timedelta(seconds=a.ids.rng.randrange(span)) for _ in range(n))
    one = noise_prod if acct == ACCT else noise_data
    return [one(a, t) for t in times]


def noise_prod(a: Aws, t: datetime) -> Json:
    i = a.ids
    r = i.rng.random()
    created = t - timedelta(minutes=i.rng.randint(3, 50))
    if r < 0.14:  # AWS services assuming their roles: the seed scores each, corrected filters them
        svc, role, session = i.pick(SERVICE_ROLES)
        session = session.replace("*", i.hex(32) if session == "*" else "0" + i.hex(16))
        return a.service_assume(t, svc, ACCT, role, session)
    if r < 0.36:  # Lambda and ECS workloads, through VPC endpoints
        if i.rng.random() < 0.5:
            ident = a.assumed(
                ACCT, "invoice-export-nightly-role", "invoice-export-nightly", created
            )
            who = Actor(ident, i.ip("10.40.3"), BOTO_LAMBDA, vpce=True)
        else:
            ident = a.assumed(ACCT, "orders-api-task-role", i.hex(32), created)
            who = Actor(ident, i.ip("10.40.7"), SDK_ECS, vpce=True)
        svc, name, params = i.pick(WORKLOAD_CALLS)
        res = None
        if svc == "kms":
            res = [
                {
                    "accountId": ACCT,
                    "type": "AWS::KMS::Key",
                    "ARN": f"arn:aws:kms:{REGION}:{ACCT}:key/{i.uuid()}",
                }
            ]
        return a.call(who, t, svc, name, params=expand(ACCT, params), resources=res)
    if r < 0.48:  # AWS Config recording through its service-linked role
        path = "/aws-service-role/config.amazonaws.com/"
        ident = a.assumed(
            ACCT,
            "AWSServiceRoleForConfig",
            "AWSConfig-Describe",
            created,
            invoked_by="config.amazonaws.com",
            path=path,
        )
        who = Actor(ident, "config.amazonaws.com", "config.amazonaws.com")
        svc, name, params = i.pick(CONFIG_CALLS)
        return a.call(who, t, svc, name, params=expand(ACCT, params))
    if r < 0.70:  # people, signed in through IAM Identity Center
        user, perm = i.pick(
            [
                ("alice.nguyen", "PowerUserAccess"),
                ("bharat.iyer", "ReadOnlyAccess"),
                ("sofia.rossi", "SecurityAudit"),
            ]
        )
        console = user == "alice.nguyen"
        ip = i.ip("10.20.22" if user == "sofia.rossi" else "10.20.14")
        who = Actor(
            a.sso(perm, user, created), ip, BROWSER if console else LINUX_CLI, console=console
        )
        svc, name, params = i.pick(PEOPLE_CALLS)
        return a.call(who, t, svc, name, params=expand(ACCT, params))
    if r < 0.80:  # Marcus himself: the same key, from the office, macOS CLI
        svc, name, params = i.pick(OKAFOR_CALLS)
        cmd = "s3.ls" if svc == "s3" else None
        return a.call(
            Actor(a.okafor, "10.20.14.37", MACOS_CLI),
            t,
            svc,
            name,
            cmd=cmd,
            params=expand(ACCT, params),
        )
    ident = a.assumed(ACCT, "ci-jenkins-instance", JENKINS_ID, created, ec2=True)
    svc, name, params = i.pick(CI_CALLS)
    return a.call(Actor(ident, "10.30.1.15", TERRAFORM), t, svc, name, params=expand(ACCT, params))


def noise_data(a: Aws, t: datetime) -> Json:
    i = a.ids
    if i.rng.random() < 0.3:
        if i.rng.random() < 0.5:
            return a.service_assume(
                t, "lambda.amazonaws.com", ACCT2, "etl-loader-role", "etl-loader"
            )
        return a.service_assume(
            t, "glue.amazonaws.com", ACCT2, "AWSGlueServiceRole-curated", "GlueJobRunnerSession"
        )
    created = t - timedelta(minutes=i.rng.randint(3, 50))
    ident = a.assumed(ACCT2, "etl-loader-role", "etl-loader", created)
    region = i.pick(["us-east-1", "us-west-2"])
    svc, name, params = i.pick(DATA_CALLS)
    who = Actor(ident, i.ip("10.50.4"), BOTO_LAMBDA, acct=ACCT2, vpce=True)
    return a.call(who, t, svc, name, params=params, region=region)


# fmt: off
def aws_benign_specials(a: Aws) -> list[Json]:
    """Ordinary events that still look like the detection: an SSO console login, CI assuming its
    deploy role and shipping Lambda code, a planned launch, Terraform creating a role, and benign
    failures."""
    i = a.ids
    alice = Actor(a.sso("PowerUserAccess", "alice.nguyen", at("08:03:12")), "10.20.14.61",
                  BROWSER, console=True)
    out = [a.call(replace(alice, console=False), "08:03:12", "signin", "ConsoleLogin",
                  event_type="AwsConsoleSignIn", response={"ConsoleLogin": "Success"},
                  extra={"MobileVersion": "No", "MFAUsed": "No"})]
    jenkins = a.assumed(ACCT, "ci-jenkins-instance", JENKINS_ID, at("09:02:40"), ec2=True)
    deploy = f"arn:aws:iam::{ACCT}:role/deploy-prod"
    session = "jenkins-orders-api-1873"
    creds = a.credentials(ACCT, at("09:24:40") + timedelta(hours=1))
    out.append(a.call(
        Actor(jenkins, "10.30.1.15", TERRAFORM), "09:24:40", "sts", "AssumeRole",
        params={"roleArn": deploy, "roleSessionName": session, "durationSeconds": 3600},
        response={"credentials": creds, "assumedRoleUser": {
            "assumedRoleId": f"{a.role_id(ACCT, 'deploy-prod')}:{session}",
            "arn": f"arn:aws:sts::{ACCT}:assumed-role/deploy-prod/{session}"}},
        resources=[role_resource(ACCT, deploy)], shared=i.uuid()))
    dep = a.assumed(ACCT, "deploy-prod", session, at("09:24:40"))
    dep["accessKeyId"] = creds["accessKeyId"]
    fn = "orders-api-authorizer"
    out.append(a.call(
        Actor(dep, "10.30.1.15", TERRAFORM), "09:26:03", "lambda", "UpdateFunctionCode20150331v2",
        params={"functionName": fn, "publish": True, "dryRun": False},
        response=lambda_config(i, fn, f"{fn}-role", "authorizer.handler", at("09:26:03"), 18842)))
    alice = replace(alice, ident=a.sso("PowerUserAccess", "alice.nguyen", at("12:54:18")))
    launch = run_instances(i, at("13:34:18"), "t3.medium", 1, None)
    launch["params"]["tagSpecificationSet"] = {"items": [{"resourceType": "instance", "tags": [
        {"key": "Name", "value": "reporting-sandbox"}, {"key": "owner", "value": "alice.nguyen"}]}]}
    out.append(a.call(alice, "13:34:18", "ec2", "RunInstances", **launch))
    iid = launch["response"]["instancesSet"]["items"][0]["instanceId"]
    bharat = a.sso("ReadOnlyAccess", "bharat.iyer", at("13:21:02"))
    not_allowed = denied(bharat, "ec2:StopInstances", f"arn:aws:ec2:{REGION}:{ACCT}:instance/{iid}")
    out.append(a.call(
        Actor(bharat, "10.20.14.88", LINUX_CLI), "13:36:02", "ec2", "StopInstances",
        params={"instancesSet": {"items": [{"instanceId": iid}]}, "force": False},
        error=("Client.UnauthorizedOperation",
               f"You are not authorized to perform this operation. {not_allowed}.")))
    jenkins = a.assumed(ACCT, "ci-jenkins-instance", JENKINS_ID, at("16:21:44"), ec2=True)
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
        "Action": "sts:AssumeRole"}]})
    tags = [{"key": "managed-by", "value": "terraform"}]
    out.append(a.call(
        Actor(jenkins, "10.30.1.15", TERRAFORM), "16:52:44", "iam", "CreateRole",
        params={"roleName": "reports-renderer-role", "path": "/",
                "assumeRolePolicyDocument": trust, "tags": tags},
        response={"role": {
            "path": "/", "roleName": "reports-renderer-role",
            "roleId": a.role_id(ACCT, "reports-renderer-role"),
            "arn": f"arn:aws:iam::{ACCT}:role/reports-renderer-role",
            "createDate": aws_date(at("16:52:44")),
            "assumeRolePolicyDocument": trust.replace('"', "%22").replace(" ", "%20"),
            "tags": tags}}))
    task = a.assumed(ACCT, "orders-api-task-role", i.hex(32), at("16:48:20"))
    out.append(a.call(
        Actor(task, "10.40.7.31", SDK_ECS, vpce=True), "16:53:20", "secretsmanager",
        "GetSecretValue", params={"secretId": "prod/orders-db-rotated"},
        error=("ResourceNotFoundException", "Secrets Manager can't find the specified secret.")))
    return out
# fmt: on


# =================================================================================================
# Azure Activity Log

# fmt: off
def azure_records(az: Azure) -> tuple[list[Json], list[Json], list[Json]]:
    """(hour 09 export blob, hour 11 export blob, hour 12 `az monitor activity-log list`)."""
    i = az.ids
    sub = f"/subscriptions/{SUB}"
    rg_app = f"{sub}/resourceGroups/rg-orders-prod"
    rg_new = f"{sub}/resourceGroups/rg-backup-relay"
    owner, contrib = ("Owner", OWNER), ("Contributor", CONTRIBUTOR)

    def marcus(when: str, app: str = AZ_CLI_APP) -> AzCaller:
        return az.user(f"marcus.okafor@{DOMAIN}", "Marcus Okafor", az.marcus, AZ_ATTACKER, app,
                       owner, at(when))

    def deployer(when: str) -> AzCaller:
        return az.app(az.deploy_app, az.deploy_sp, i.ip("10.60.2"), contrib, at(when))

    def automation(when: str) -> AzCaller:
        role = ("Virtual Machine Contributor", VM_CONTRIBUTOR)
        return az.app(az.automation_app, az.automation_sp, "10.60.8.4", role, at(when))

    def ok(when: str, op: str, res: str, c: AzCaller, body: Json | None = None) -> list[Json]:
        return write_ok(az, at(when), op, res, c, body)

    def single(when: str, op: str, res: str, c: AzCaller) -> list[Json]:
        return read_ok(az, at(when), op, res, c)

    deploy_op = "Microsoft.Resources/deployments/write"
    keys_op = "Microsoft.Storage/storageAccounts/listKeys/action"
    storage = f"{rg_app}/providers/Microsoft.Storage/storageAccounts/acmeordersprod"
    vm_batch = f"{rg_app}/providers/Microsoft.Compute/virtualMachines/vm-orders-batch-01"
    vm_jump = (f"{sub}/resourceGroups/rg-ops-tools/providers/Microsoft.Compute/virtualMachines/"
               "vm-jumpbox-02")
    template = {"properties": {"mode": "Incremental",
                               "parameters": {"imageTag": {"value": "2026.03.14-0912"}}}}
    deployment = f"{rg_app}/providers/Microsoft.Resources/deployments/orders-api-20260314-0912"
    priya = az.user(f"priya.natarajan@{DOMAIN}", "Priya Natarajan", az.priya, "10.20.14.92",
                    AZ_CLI_APP, contrib, at("09:41:07"))
    jump_body = {"location": "eastus",
                 "properties": {"hardwareProfile": {"vmSize": "Standard_B2s"}},
                 "tags": {"owner": "priya.natarajan"}}
    h09 = (ok("09:00:04", "Microsoft.Compute/virtualMachines/start/action", vm_batch,
              automation("09:00:04"))
           + ok("09:12:30", deploy_op, deployment, deployer("09:12:30"), template)
           + single("09:13:11", keys_op, storage, deployer("09:13:11"))
           + ok("09:41:07", "Microsoft.Compute/virtualMachines/write", vm_jump, priya, jump_body))

    # Atomic test 2: Get-AzRoleAssignment (Azure PowerShell) lists role assignments.
    h11: list[Json] = []
    for when, scope in (("11:02:14", sub), ("11:02:19", rg_app)):
        res = f"{scope}/providers/Microsoft.Authorization/roleAssignments"
        h11 += single(when, "Microsoft.Authorization/roleAssignments/read", res,
                      marcus(when, AZ_PS_APP))
    # Owner for the freshly created Entra user: fails on replication delay, then succeeds.
    assign_op = "Microsoft.Authorization/roleAssignments/write"
    ra_failed, ra = i.uuid(), i.uuid()
    body: Json = {"Id": ra_failed, "Properties": {
        "PrincipalId": az.helpdesk, "PrincipalType": "User",
        "RoleDefinitionId": role_definition_id(OWNER), "Scope": sub,
        "Condition": None, "ConditionVersion": None}}
    message = (
        f"Principal {az.helpdesk.replace('-', '')} does not exist in the directory {TENANT}. "
        "Check that you have the correct principal ID. If you are creating this principal and then "
        "immediately assigning a role, this error might be related to a replication delay. In this "
        "case, set the role assignment principalType property to a value, such as "
        "ServicePrincipal, User, or Group.  See https://aka.ms/docs-principaltype")
    error = {"code": "PrincipalNotFound", "message": message}
    res = f"{sub}/providers/Microsoft.Authorization/roleAssignments/{ra_failed}"
    h11 += az.export(at("11:05:20"), assign_op, res, marcus("11:05:20"), [
        ("Start", 0, "Started.", {"requestbody": json.dumps(body)}),
        ("Failure", 0.7, "Failed.BadRequest", {"statusMessage": json.dumps({"error": error})})])
    body["Id"] = ra
    res = f"{sub}/providers/Microsoft.Authorization/roleAssignments/{ra}"
    h11 += ok("11:06:48", assign_op, res, marcus("11:06:48"), body)
    # A custom role with every action, assignable on the whole subscription.
    h11 += custom_role(az, at("11:22:37"), marcus("11:22:37"))
    # A big VM in a new resource group.
    vm_new = f"{rg_new}/providers/Microsoft.Compute/virtualMachines/vm-bkp-relay-01"
    vm_body = {"location": "westeurope", "properties": {
        "hardwareProfile": {"vmSize": "Standard_D16s_v5"},
        "storageProfile": {"imageReference": {
            "publisher": "Canonical", "offer": "0001-com-ubuntu-server-jammy",
            "sku": "22_04-lts-gen2", "version": "latest"}},
        "osProfile": {"computerName": "vm-bkp-relay-01", "adminUsername": "azureops",
                      "linuxConfiguration": {"disablePasswordAuthentication": True}}}}
    h11 += az.export(at("11:31:52"), "Microsoft.Compute/virtualMachines/write", vm_new,
                     marcus("11:31:52"), [
        ("Start", 0, "Started.", {"requestbody": json.dumps(vm_body)}),
        ("Accept", 3.4, "Accepted.Created", {}),
        ("Success", 48.2, "Succeeded.", {})])
    h11 += single("11:40:26", keys_op, storage, deployer("11:40:26"))
    # The subscription's export to the SIEM workspace: the last record it exported.
    res = f"{sub}/providers/microsoft.insights/diagnosticSettings/sub-activity-to-sentinel"
    h11 += ok("11:52:09", "Microsoft.Insights/diagnosticSettings/delete", res, marcus("11:52:09"))

    # Hour 12 exists only in the responder's pull (the export was gone): REST / CLI shape.
    rest = az.rest(at("12:03:11"), "Microsoft.Compute/virtualMachines/runCommand/action",
                   "Run Command on Virtual Machine", vm_new, marcus("12:03:11"),
                   [("Started", "", 0), ("Accepted", "Accepted", 1.2), ("Succeeded", "", 17.5)])
    rest += az.rest(at("12:15:40"), "Microsoft.Compute/virtualMachines/start/action",
                    "Start Virtual Machine", vm_batch, automation("12:15:40"),
                    [("Started", "", 0), ("Succeeded", "", 58.6)])
    rest.sort(key=lambda r: str(r["eventTimestamp"]), reverse=True)  # the CLI lists newest first
    return h09, h11, rest
# fmt: on


# =================================================================================================
# Entra ID audit logs (Event Hub diagnostic shape)

# fmt: off
def entra_records(az: Azure) -> list[Json]:
    e = Entra(az)
    i = az.ids
    admin_upn, admin = f"it.admin@{DOMAIN}", i.uuid()
    it = e.by_user(admin_upn, admin, "10.20.22.14")
    as_it: Json = {"ua": EDGE_UA, "identity": "IT Admin"}
    sync = e.by_app(i.uuid(), "Microsoft Entra Connect Provisioning", i.uuid())
    recs: list[Json] = []

    # A normal morning: HR provisioning, licences, groups, devices, policy upkeep.
    for when, user, change in (
        ("07:41:18", "lena.fischer", {"Department": (["Finance"], ["Finance Ops"])}),
        ("08:12:55", "tom.becker", {"JobTitle": (["Analyst"], ["Senior Analyst"])}),
        ("08:30:07", "ana.souza", {"Department": (["Sales"], ["Partner Sales"])}),
    ):
        who = target(i.uuid(), "User", upn=f"{user}@{DOMAIN}", mods=updated(change))
        recs.append(e.audit(when, "Update user", "UserManagement", "Update", sync, [who],
                            identity="Microsoft Entra Connect Provisioning", ip=""))
    kenji = target(i.uuid(), "User", upn=f"kenji.mori@{DOMAIN}")
    licence: Json = {"AssignedLicense": ([], [f"[SkuName=ENTERPRISEPACK, AccountId={i.uuid()}]"])}
    group = [kenji | {"modifiedProperties": [mod("Group.DisplayName", "sg-finance-readers")]},
             target(i.uuid(), "Group", "sg-finance-readers")]
    device = target(i.uuid(), "Device", "ACME-LT-0417", mods=updated(
        {"ApproximateLastLogonTimestamp": (None, ["2026-03-14T09:17:58Z"])}))
    recs += [
        e.audit("08:47:31", "Change user license", "UserManagement", "Update", it, [kenji],
                **as_it),
        e.audit("08:47:33", "Update user", "UserManagement", "Update", it,
                [kenji | {"modifiedProperties": updated(licence)}], **as_it),
        e.audit("09:05:44", "Add member to group", "GroupManagement", "Assign", it, group, **as_it),
        e.audit("09:18:02", "Update device", "Device", "Update",
                e.by_app(i.uuid(), "Device Registration Service", i.uuid()), [device],
                identity="Device Registration Service", ip=""),
        e.audit("09:33:17", "Update conditional access policy", "Policy", "Update", it,
                [target(i.uuid(), "Policy", "Block legacy authentication")],
                service="Conditional Access", **as_it),
    ]

    # The intrusion.
    marcus_upn, helpdesk_upn = f"marcus.okafor@{DOMAIN}", f"helpdesk.sync@{DOMAIN}"
    marcus = e.by_user(marcus_upn, az.marcus, AZ_ATTACKER)
    as_marcus: Json = {"ua": ATTACK_UA, "identity": "Marcus Okafor"}
    ga = [target(GLOBAL_ADMIN, "Role", "Global Administrator", mods=[
              mod("Role.DisplayName", "Global Administrator"), mod("Role.TemplateId", GLOBAL_ADMIN),
              mod("Role.WellKnownObjectName", "TenantAdmins")]),
          target(az.helpdesk, "User", upn=helpdesk_upn)]
    new_user = target(az.helpdesk, "User", upn=helpdesk_upn, mods=[
        mod("AccountEnabled", [True]), mod("DisplayName", ["Helpdesk Sync"]),
        mod("UserPrincipalName", [helpdesk_upn]), mod("UserType", ["Member"]),
        included(["AccountEnabled", "DisplayName", "UserPrincipalName", "UserType"])])
    key_id = i.uuid()
    key = f"[KeyIdentifier={key_id},KeyType=Password,KeyUsage=Verify,DisplayName=sync-2026]"
    app_key = target(az.billing_obj, "Application", "Acme Billing Connector",
                     mods=updated({"KeyDescription": ([], [key])}))
    sp_key = target(az.billing_sp, "ServicePrincipal", "Acme Billing Connector",
                    mods=updated({"KeyDescription": ([], [key.replace(key_id, i.uuid())])}))
    billing = e.by_app(az.billing_app, "Acme Billing Connector", az.billing_sp)
    app_id = [{"key": "AppId", "value": az.billing_app}]
    grant = (f"[] => [[Id: {i.chars(ALNUM + '-_', 43)}, ClientId: {az.rogue_sp}, PrincipalId: "
             f"{az.marcus}, ResourceId: {i.uuid()}, ConsentType: Principal, Scope:  Mail.Read "
             "Mail.Send offline_access User.Read, CreatedDateTime: , LastModifiedDateTime ]]; ")
    rogue = target(az.rogue_sp, "ServicePrincipal", "Mail Archive Sync", mods=[
        mod("ConsentContext.IsAdminConsent", "False"), mod("ConsentContext.IsAppOnly", "False"),
        mod("ConsentContext.OnBehalfOfAll", "False"), mod("ConsentAction.Permissions", grant),
        mod("TargetId.ServicePrincipalNames", az.rogue_app)])
    recs += [
        e.sign_in("11:01:58", marcus_upn, "Marcus Okafor", az.marcus,
                  (AZ_PS_APP, "Microsoft Azure PowerShell")),
        e.audit("11:04:51", "Add user", "UserManagement", "Add", marcus, [new_user],
                details=[{"key": "UserType", "value": "Member"}], **as_marcus),
        e.audit("11:08:26", "Add member to role", "RoleManagement", "Add", marcus, ga,
                result="failure", reason="Insufficient privileges to complete the operation.",
                **as_marcus),
        # Real logs write this name with an en dash and a trailing space.
        e.audit("11:10:03", "Update application \u2013 Certificates and secrets management ",
                "ApplicationManagement", "Update", marcus, [app_key], details=app_id, **as_marcus),
        e.audit("11:10:41", "Add service principal credentials", "ApplicationManagement", "Add",
                marcus, [sp_key], details=app_id, **as_marcus),
        # The app holds RoleManagement.ReadWrite.Directory: with the new secret it grants the role.
        e.audit("11:13:15", "Add member to role", "RoleManagement", "Add", billing, ga,
                ua="python-requests/2.31.0", identity="Acme Billing Connector", ip=AZ_ATTACKER),
        e.audit("11:15:52", "Consent to application", "ApplicationManagement", "Assign", marcus,
                [rogue], details=[{"key": "AppId", "value": az.rogue_app}], **as_marcus),
        e.audit("11:17:34", "Delete conditional access policy", "Policy", "Delete",
                e.by_user(helpdesk_upn, az.helpdesk, AZ_ATTACKER),
                [target(az.ca_policy, "Policy", "Require MFA for administrators")],
                ua=ATTACK_UA, service="Conditional Access", identity="Helpdesk Sync"),
    ]

    # The afternoon.
    description = {"Description": (["Orders on-call"], ["Orders on-call rota (PagerDuty)"])}
    recs += [
        e.audit("14:21:09", "Reset user password", "UserManagement", "Update", it,
                [target(i.uuid(), "User", upn=f"tom.becker@{DOMAIN}")], **as_it),
        e.audit("15:48:12", "Update group", "GroupManagement", "Update", it,
                [target(i.uuid(), "Group", "sg-orders-oncall", mods=updated(description))],
                **as_it),
    ]
    recs.sort(key=lambda r: str(r["time"]))
    return recs
# fmt: on


# =================================================================================================
# Microsoft 365 Unified Audit Log (a Management Activity API content blob: a JSON array)

EXO_SERVER = "AM6PR04MB5927 (15.20.7409.031)"


class M365:
    """UAL records: Exchange admin cmdlets (RecordType 1), Entra activities the UAL repeats
    (AzureActiveDirectory, RecordType 8), sign-ins (15), mailbox (50) and SharePoint (6) access."""

    def __init__(self, az: Azure) -> None:
        self.az = az
        self.ids = az.ids

    def base(self, when: str, op: str, workload: str, record_type: int, upn: str,
             ip: str, result: str, user_type: int = 0) -> Json:
        return {
            "CreationTime": f"{DAY:%Y-%m-%d}T{when}",  # the API writes UTC without a zone
            "Id": self.ids.uuid(),
            "Operation": op,
            "OrganizationId": TENANT,
            "RecordType": record_type,
            "ResultStatus": result,
            "UserKey": f"1003{self.ids.hex(12).upper()}",
            "UserType": user_type,
            "Version": 1,
            "Workload": workload,
            "ClientIP": ip,
            "UserId": upn,
        }

    def cmdlet(self, when: str, op: str, upn: str, ip: str, obj: str,
               params: list[tuple[str, str]], ok: bool = True) -> Json:
        rec = self.base(when, op, "Exchange", 1, upn, f"{ip}:{self.ids.rng.randint(40000, 65000)}",
                        "True" if ok else "False", user_type=2)
        rec |= {
            "ObjectId": obj,
            "AppId": "",
            "ClientAppId": "",
            "ExternalAccess": False,
            "OrganizationName": "acmeexample.onmicrosoft.com",
            "OriginatingServer": EXO_SERVER,
            "Parameters": [{"Name": k, "Value": v} for k, v in params],
            "SessionId": self.ids.uuid(),
        }
        return rec

    def directory(self, when: str, op: str, upn: str, oid: str, ip: str, target: str) -> Json:
        rec = self.base(when, op, "AzureActiveDirectory", 8, upn, ip, "Success")
        rec |= {
            "ObjectId": target,
            "AzureActiveDirectoryEventType": 1,
            "ExtendedProperties": [
                {"Name": "additionalDetails", "Value": "{}"},
                {"Name": "extendedAuditEventCategory", "Value": "User"},
            ],
            "ModifiedProperties": [],
            "Actor": [{"ID": upn, "Type": 5}, {"ID": oid, "Type": 2}],
            "ActorContextId": TENANT,
            "ActorIpAddress": ip,
            "InterSystemsId": self.ids.uuid(),
            "IntraSystemId": self.ids.uuid(),
            "Target": [{"ID": target, "Type": 5}],
            "TargetContextId": TENANT,
        }
        return rec


# fmt: off
def m365_records(az: Azure) -> list[Json]:
    m = M365(az)
    marcus_upn, helpdesk_upn = f"marcus.okafor@{DOMAIN}", f"helpdesk.sync@{DOMAIN}"
    admin_upn, cfo = f"it.admin@{DOMAIN}", f"elena.vargas@{DOMAIN}"
    admin_ip = "10.20.22.14"
    recs: list[Json] = []

    # A normal day: sign-ins, mailbox and file access, mailbox upkeep, a shared-mailbox grant.
    login = m.base("07:58:12", "UserLoggedIn", "AzureActiveDirectory", 15,
                   f"lena.fischer@{DOMAIN}", "10.20.31.77", "Success")
    login |= {"ObjectId": "00000003-0000-0ff1-ce00-000000000000", "AzureActiveDirectoryEventType": 1,
              "ExtendedProperties": [{"Name": "UserAgent", "Value": EDGE_UA},
                                     {"Name": "RequestType", "Value": "OAuth2:Authorize"}]}
    mail = m.base("09:12:40", "MailItemsAccessed", "Exchange", 50, f"tom.becker@{DOMAIN}",
                  "10.20.31.102", "Succeeded")
    mail |= {"ClientInfoString": "Client=OWA;Action=ViaProxy", "MailboxOwnerUPN": f"tom.becker@{DOMAIN}",
             "OperationProperties": [{"Name": "MailAccessType", "Value": "Bind"}]}
    doc = m.base("09:40:02", "FileAccessed", "SharePoint", 6, f"ana.souza@{DOMAIN}",
                 "10.20.31.58", "Succeeded")
    doc |= {"ObjectId": "https://acmeexample.sharepoint.com/sites/sales/Shared Documents/Q1.xlsx",
            "SourceFileName": "Q1.xlsx", "UserAgent": EDGE_UA}
    recs += [
        login, mail, doc,
        m.cmdlet("10:15:27", "Set-Mailbox", admin_upn, admin_ip, f"tom.becker@{DOMAIN}",
                 [("Identity", f"tom.becker@{DOMAIN}"), ("ProhibitSendQuota", "49 GB")]),
        m.cmdlet("14:30:11", "Add-MailboxPermission", admin_upn, admin_ip, f"orders@{DOMAIN}",
                 [("Identity", f"orders@{DOMAIN}"), ("User", f"tom.becker@{DOMAIN}"),
                  ("AccessRights", "FullAccess"), ("InheritanceType", "All")]),
    ]

    # The intrusion: the UAL repeats the Entra user creation (11:04); after the consent to the
    # rogue mail app (11:15) the new account gets the CFO's mailbox and auditing is switched off.
    recs += [
        m.directory("11:04:52", "Add user.", marcus_upn, az.marcus, AZ_ATTACKER, helpdesk_upn),
        m.cmdlet("11:20:44", "Add-MailboxPermission", helpdesk_upn, AZ_ATTACKER, cfo,
                 [("Identity", cfo), ("User", helpdesk_upn), ("AccessRights", "FullAccess")],
                 ok=False),
        m.cmdlet("11:21:30", "Add-MailboxPermission", marcus_upn, AZ_ATTACKER, cfo,
                 [("Identity", cfo), ("User", helpdesk_upn), ("AccessRights", "FullAccess"),
                  ("AutoMapping", "False")]),
        m.cmdlet("11:23:10", "Add-RecipientPermission", marcus_upn, AZ_ATTACKER, cfo,
                 [("Identity", cfo), ("Trustee", helpdesk_upn), ("AccessRights", "SendAs"),
                  ("Confirm", "False")]),
        m.cmdlet("11:26:05", "Set-AdminAuditLogConfig", marcus_upn, AZ_ATTACKER,
                 "acmeexample.onmicrosoft.com\\Admin Audit Log Settings",
                 [("UnifiedAuditLogIngestionEnabled", "False")]),
        m.cmdlet("11:27:40", "Set-MailboxAuditBypassAssociation", marcus_upn, AZ_ATTACKER,
                 helpdesk_upn, [("Identity", helpdesk_upn), ("AuditBypassEnabled", "True")]),
    ]
    recs.sort(key=lambda r: str(r["CreationTime"]))
    return recs
# fmt: on


# =================================================================================================
# GCP Cloud Audit Logs (Cloud Storage sink files)

# fmt: off
def gcp_records(g: Gcp) -> tuple[list[Json], list[Json]]:
    """(Admin Activity entries, Data Access entries), hour 10."""
    i = g.ids
    ci = g.sa("ci-deployer")
    key = f"//iam.googleapis.com/projects/{PROJECT}/serviceAccounts/{ci}/keys/{i.hex(40)}"
    me = GcpCaller(ci, GCP_ATTACKER, GCLOUD, key)
    project = f"projects/{PROJECT}"
    proj = {"type": "project", "labels": {"project_id": PROJECT}}
    proj_type = "cloudresourcemanager.googleapis.com/Project"
    iam, logging = "iam.googleapis.com", "logging.googleapis.com"
    crm = "cloudresourcemanager.googleapis.com"

    # Recon (Data Access, ADMIN_READ).
    reads = [
        g.entry("10:41:03", "data_access", me, crm, "GetIamPolicy", project, proj,
                cmd="projects.get-iam-policy",
                perms=[(project, "resourcemanager.projects.getIamPolicy", proj_type)],
                request={"@type": "type.googleapis.com/google.iam.v1.GetIamPolicyRequest",
                         "resource": PROJECT, "options": {"requestedPolicyVersion": 3}},
                response={"@type": "type.googleapis.com/google.iam.v1.Policy"}),
        g.entry("10:41:37", "data_access", me, iam, "google.iam.admin.v1.ListServiceAccounts",
                project, proj, cmd="iam.service-accounts.list",
                perms=[(project, "iam.serviceAccounts.list", proj_type)],
                request={"name": project, "@type": IAM_ADMIN + "ListServiceAccountsRequest"},
                extra={"numResponseItems": "9"}),
    ]

    def create_key(when: str, name: str, *, ok: bool = True) -> Json:
        sa_path = f"projects/-/serviceAccounts/{g.uid[name]}"
        kw: Json = {"request": {"name": f"projects/-/serviceAccounts/{g.sa(name)}",
                                "private_key_type": 2,
                                "@type": IAM_ADMIN + "CreateServiceAccountKeyRequest"}}
        if ok:
            kw["response"] = {
                "name": f"{project}/serviceAccounts/{g.sa(name)}/keys/{i.hex(40)}",
                "valid_after_time": {"seconds": str(int(at(when).timestamp()))},
                "valid_before_time": {"seconds": "253402300799"},
                "key_algorithm": 2, "private_key_type": 2, "key_origin": 2, "key_type": 1,
                "@type": IAM_ADMIN + "ServiceAccountKey"}
        else:
            kw["status"] = {"code": 7, "message": "Permission 'iam.serviceAccountKeys.create' "
                            "denied on resource (or it may not exist)."}
            kw["severity"] = "ERROR"
        return g.entry(when, "activity", me, iam, "google.iam.admin.v1.CreateServiceAccountKey",
                       sa_path, g.sa_resource(name), cmd="iam.service-accounts.keys.create",
                       perms=[(sa_path, "iam.serviceAccountKeys.create",
                               "iam.googleapis.com/ServiceAccount")], **kw)

    new_sa = g.sa("gke-node-metrics")
    member = f"serviceAccount:{new_sa}"
    bindings = [{"role": "roles/owner", "members": [member, f"user:it.admin@{DOMAIN}"]},
                {"role": "roles/editor", "members": [f"serviceAccount:{ci}"]}]
    delta = {"@type": "type.googleapis.com/google.iam.v1.logging.AuditData", "policyDelta": {
        "bindingDeltas": [{"action": "ADD", "role": "roles/owner", "member": member}]}}
    sink = f"{project}/sinks/audit-to-siem"
    act = [
        create_key("10:43:10", "terraform-admin", ok=False),
        create_key("10:44:08", "ci-deployer"),
        g.entry("10:45:21", "activity", me, iam, "google.iam.admin.v1.CreateServiceAccount",
                f"{project}/serviceAccounts/{g.uid['gke-node-metrics']}",
                g.sa_resource("gke-node-metrics"), cmd="iam.service-accounts.create",
                perms=[(project, "iam.serviceAccounts.create", proj_type)],
                request={"account_id": "gke-node-metrics", "name": project,
                         "service_account": {"display_name": "GKE node metrics"},
                         "@type": IAM_ADMIN + "CreateServiceAccountRequest"},
                response={"email": new_sa, "project_id": PROJECT,
                          "unique_id": g.uid["gke-node-metrics"],
                          "display_name": "GKE node metrics",
                          "etag": "MDEwMjE5MjA=", "name": f"{project}/serviceAccounts/{new_sa}",
                          "@type": IAM_ADMIN + "ServiceAccount"}),
        g.entry("10:46:02", "activity", me, crm, "SetIamPolicy", project, proj,
                cmd="projects.add-iam-policy-binding",
                perms=[(project, "resourcemanager.projects.setIamPolicy", proj_type)],
                request={"@type": "type.googleapis.com/google.iam.v1.SetIamPolicyRequest",
                         "resource": PROJECT,
                         "policy": {"etag": "BwYQ2x7k1mE=", "bindings": bindings}},
                response={"@type": "type.googleapis.com/google.iam.v1.Policy",
                          "etag": "BwYQ2yRzc0Y=", "bindings": bindings},
                extra={"serviceData": delta}),
        create_key("10:48:30", "gke-node-metrics"),
        g.entry("10:51:09", "activity", me, logging, "google.logging.v2.ConfigServiceV2.DeleteSink",
                sink, {"type": "logging_sink", "labels": {"project_id": PROJECT,
                                                          "name": "audit-to-siem",
                                                          "destination": ""}},
                cmd="logging.sinks.delete",
                perms=[(sink, "logging.sinks.delete", "logging.googleapis.com/LogSink")],
                request={"@type": "type.googleapis.com/google.logging.v2.DeleteSinkRequest",
                         "sinkName": sink}),
    ]
    reads.append(g.entry(
        "10:50:12", "data_access", me, logging, "google.logging.v2.ConfigServiceV2.ListSinks",
        project, proj, cmd="logging.sinks.list",
        perms=[(project, "logging.sinks.list", "logging.googleapis.com/LogSink")],
        request={"@type": "type.googleapis.com/google.logging.v2.ListSinksRequest",
                 "parent": project}))
    act += instance_insert(g, me)

    # Benign: the instance scheduler, a Cloud Build deploy, dashboards reading.
    sched = GcpCaller(g.sa("instance-scheduler"), "private", "Cloud Scheduler,gzip(gfe)")
    for when, vm, verb in (("10:00:03", "batch-orders-1", "start"),
                           ("10:00:04", "batch-orders-2", "start"),
                           ("10:30:02", "reports-worker-1", "stop")):
        name = f"{project}/zones/us-east1-b/instances/{vm}"
        op = f"operation-{int(at(when).timestamp() * 1000)}-{i.hex(13)}-{i.hex(8)}-{i.hex(8)}"
        labels = {"instance_id": i.digits(19), "project_id": PROJECT, "zone": "us-east1-b"}
        act.append(g.entry(
            when, "activity", sched, "compute.googleapis.com", f"v1.compute.instances.{verb}",
            name, {"type": "gce_instance", "labels": labels},
            perms=[(name, f"compute.instances.{verb}", "compute.instances")], location="us-east1-b",
            operation={"id": op, "producer": "compute.googleapis.com", "first": True},
            request={"@type": f"type.googleapis.com/compute.instances.{verb}"},
            response={"@type": "type.googleapis.com/operation", "name": op, "status": "RUNNING",
                      "operationType": verb, "progress": "0", "user": sched.email}))
    build = GcpCaller(f"{PROJECT_NUM}@cloudbuild.gserviceaccount.com", "gce-internal-ip",
                      "google-cloud-sdk gcloud/462.0.1 command/gcloud.{} invocation-id/{} "
                      "environment/GCE environment-version/None,gzip(gfe)")
    svc = f"{project}/locations/us-east1/services/orders-web"
    image = f"us-east1-docker.pkg.dev/{PROJECT}/apps/orders-web:2026.03.14-{i.hex(7)}"
    run = {"type": "cloud_run_revision", "labels": {
        "service_name": "orders-web", "project_id": PROJECT, "location": "us-east1",
        "revision_name": "", "configuration_name": ""}}
    act.append(g.entry(
        "10:18:44", "activity", build, "run.googleapis.com",
        "google.cloud.run.v2.Services.UpdateService", svc, run, cmd="run.deploy",
        perms=[(svc, "run.services.update", "run.googleapis.com/Service")], location="us-east1",
        request={"@type": "type.googleapis.com/google.cloud.run.v2.UpdateServiceRequest",
                 "service": {"name": svc, "template": {"containers": [{"image": image}]}}},
        response={"@type": "type.googleapis.com/google.longrunning.Operation",
                  "name": f"{svc}/operations/{i.uuid()}"}))
    grafana = GcpCaller(g.sa("grafana-reader"), i.ip("10.128.0"),
                        "Grafana/10.3.3 google-api-go-client/0.5,gzip(gfe)")
    dashboards = [
        ("v1.compute.instances.list", "compute.instances.list", "compute.googleapis.com",
         f"{project}/zones/us-east1-b/instances"),
        ("storage.buckets.list", "storage.buckets.list", "storage.googleapis.com",
         "projects/_/buckets"),
        ("google.iam.admin.v1.ListServiceAccounts", "iam.serviceAccounts.list", iam, project),
    ]
    for k in range(5):
        t = at("10:05:00") + timedelta(minutes=9 * k, seconds=i.rng.randint(0, 59))
        method, perm, service, name = i.pick(dashboards)
        reads.append(g.entry(f"{t:%H:%M:%S}", "data_access", grafana, service, method, name,
                             proj, perms=[(project, perm, proj_type)],
                             extra={"numResponseItems": str(i.rng.randint(3, 40))}))
    act.sort(key=lambda e: str(e["timestamp"]))
    reads.sort(key=lambda e: str(e["timestamp"]))
    return act, reads


def instance_insert(g: Gcp, me: GcpCaller) -> list[Json]:
    """A long-running compute insert: a `first` entry with request/response, then a `last`."""
    i = g.ids
    zone, vm, vm_id = "us-central1-a", "gke-node-metrics-pool-7f2k", i.digits(19)
    op = f"operation-{int(at('10:53:27').timestamp() * 1000)}-{i.hex(13)}-{i.hex(8)}-{i.hex(8)}"
    op_id = i.digits(19)
    name = f"projects/{PROJECT}/zones/{zone}/instances/{vm}"
    api = "https://www.googleapis.com/compute/v1/"
    subnet = f"projects/{PROJECT}/regions/us-central1/subnetworks/default"
    resource = {"type": "gce_instance",
                "labels": {"instance_id": vm_id, "project_id": PROJECT, "zone": zone}}
    perms = [(name, "compute.instances.create", "compute.instances"),
             (f"projects/{PROJECT}/zones/{zone}/disks/{vm}", "compute.disks.create",
              "compute.disks"),
             (subnet, "compute.subnetworks.use", "compute.subnetworks"),
             (subnet, "compute.subnetworks.useExternalIp", "compute.subnetworks")]
    image = api + "projects/ubuntu-os-cloud/global/images/family/ubuntu-2204-lts"
    request = {
        "name": vm, "machineType": f"projects/{PROJECT}/zones/{zone}/machineTypes/n2-highcpu-32",
        "canIpForward": False, "deletionProtection": False,
        "disks": [{"autoDelete": True, "boot": True, "type": "PERSISTENT",
                   "initializeParams": {"sourceImage": image}}],
        "networkInterfaces": [{
            "network": f"{api}projects/{PROJECT}/global/networks/default",
            "accessConfigs": [{"name": "external-nat", "type": "ONE_TO_ONE_NAT"}]}],
        "serviceAccounts": [{"email": g.sa("gke-node-metrics"),
                             "scopes": ["https://www.googleapis.com/auth/cloud-platform"]}],
        "@type": "type.googleapis.com/compute.instances.insert"}
    response = {
        "id": op_id, "name": op, "zone": f"{api}projects/{PROJECT}/zones/{zone}",
        "operationType": "insert", "targetLink": api + name, "targetId": vm_id,
        "status": "RUNNING", "user": me.email, "progress": "0",
        "insertTime": "2026-03-14T03:53:27.612-07:00",  # compute writes Pacific time
        "startTime": "2026-03-14T03:53:27.615-07:00",
        "selfLink": f"{api}projects/{PROJECT}/zones/{zone}/operations/{op}",
        "selfLinkWithId": f"{api}projects/{PROJECT}/zones/{zone}/operations/{op_id}",
        "@type": "type.googleapis.com/operation"}
    common: Json = {"cmd": "compute.instances.create", "location": zone}
    method, producer = "v1.compute.instances.insert", "compute.googleapis.com"
    return [
        g.entry("10:53:27", "activity", me, producer, method, name, resource, perms=perms,
                request=request, response=response,
                operation={"id": op, "producer": producer, "first": True}, **common),
        g.entry("10:53:41", "activity", me, producer, method, name, resource,
                operation={"id": op, "producer": producer, "last": True}, **common),
    ]
# fmt: on


# =================================================================================================
# Files


def digest(ids: Ids, listed: list[Json], start: datetime) -> tuple[str, bytes]:
    """The hourly integrity digest of the us-east-1 files delivered in [start, start + 1h)."""
    end = start + timedelta(hours=1)
    logs = [
        {k: v for k, v in f.items() if not k.startswith("_")}
        for f in listed
        if f["_region"] == REGION and start <= f["_delivered"] < end
    ]
    key = digest_key(ACCT, REGION, ORG_TRAIL, end, ORG_ID)
    body = {
        "awsAccountId": ACCT,
        "digestStartTime": z(start),
        "digestEndTime": z(end),
        "digestS3Bucket": TRAIL_BUCKET,
        "digestS3Object": key,
        "digestPublicKeyFingerprint": ids.hex(32),
        "digestSignatureAlgorithm": "SHA256withRSA",
        "newestEventTime": max(f["newestEventTime"] for f in logs),
        "oldestEventTime": min(f["oldestEventTime"] for f in logs),
        "previousDigestS3Bucket": TRAIL_BUCKET,
        "previousDigestS3Object": key.replace(f"{end:%H%M%S}Z", f"{start:%H%M%S}Z"),
        "previousDigestHashValue": ids.hex(64),
        "previousDigestHashAlgorithm": "SHA-256",
        "previousDigestSignature": ids.hex(512),
        "logFiles": logs,
    }
    return "aws/" + key, gzip_bytes(dumps_min(body).encode())


def build(out_dir: Path) -> list[Path]:
    """Generate the whole dataset into `out_dir` (created if needed); returns the files written."""
    ids = Ids(SEED)
    aws = Aws(ids)
    files: dict[str, bytes] = {}

    # AWS 111122223333: organisation-trail delivery files, their digest, an EventBridge alert.
    attack, data_attack, stop = aws_attack(aws)
    records = attack + aws_benign_specials(aws)
    for start, end, n in (
        ("08:00:00", "08:15:00", 34),
        ("09:20:00", "09:35:00", 40),
        ("09:55:00", "10:35:00", 150),
        ("13:30:00", "13:45:00", 36),
        ("16:50:00", "17:05:00", 34),
    ):
        records += aws_noise(aws, start, end, n)
    west = aws_noise(aws, "10:10:00", "10:20:00", 10)
    west = [r for r in west if r["eventSource"].split(".")[0] not in GLOBAL_SERVICES]
    for r in west:  # a workload in the second region
        r["awsRegion"] = "us-west-2"
        if "tlsDetails" in r:
            host = r["tlsDetails"]["clientProvidedHostHeader"]
            r["tlsDetails"]["clientProvidedHostHeader"] = host.replace(REGION, "us-west-2")
    trails, listed = trail_files(ids, records + west)
    files |= trails
    files.update([digest(ids, listed, at("09:17:31"))])
    alert_id = ids.uuid()
    alert = {
        "version": "0",
        "id": alert_id,
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.cloudtrail",
        "account": ACCT,
        "time": "2026-03-14T10:04:17Z",
        "region": REGION,
        "resources": [],
        "detail": stop,
    }
    files[f"aws/eventbridge/security-alerts/{alert_id}.json"] = (
        json.dumps(alert, indent=2) + "\n"
    ).encode()

    # AWS 444455556666: the account trail through Firehose to S3 (GZIP), one record per line.
    data = data_attack + aws_noise(aws, "09:58:00", "10:24:00", 40, acct=ACCT2)
    data.sort(key=lambda r: str(r["eventTime"]))
    stream = f"acme-data-cloudtrail-1-2026-03-14-10-29-41-{ids.uuid()}"
    files[f"aws/firehose/acme-data-{ACCT2}/2026/03/14/10/{stream}.jsonl.gz"] = gzip_bytes(
        json_lines(data)
    )

    # Azure Activity: two hourly blobs of the diagnostic export, then the responder's CLI pull.
    az = Azure(ids)
    h09, h11, rest = azure_records(az)
    blob = f"azure/activity/resourceId=/SUBSCRIPTIONS/{SUB.upper()}/y=2026/m=03/d=14"
    files[f"{blob}/h=09/m=00/PT1H.json"] = json_lines(h09, compact=False)
    files[f"{blob}/h=11/m=00/PT1H.json"] = json_lines(h11, compact=False)
    pull = json.dumps(rest, indent=2, ensure_ascii=False) + "\n"
    files["azure/activity/az-monitor-activity-log-list_2026-03-14T12.json"] = pull.encode()

    # Entra ID audit logs as an Event Hub message body.
    files["entra/auditlogs.json"] = (dumps_min({"records": entra_records(az)}) + "\n").encode()

    # GCP: hourly Cloud Storage sink files.
    act, reads = gcp_records(Gcp(ids))
    sink = "gcp/cloudaudit.googleapis.com/{}/2026/03/14/10:00:00_10:59:59_S0.json"
    files[sink.format("activity")] = json_lines(act)
    files[sink.format("data_access")] = json_lines(reads)

    # Microsoft 365: one Management Activity API content blob (generated last: the ids drawn
    # before it, and so every other file, stay as they were).
    blob = json.dumps(m365_records(az), indent=2, ensure_ascii=False) + "\n"
    files["m365/audit-general_2026-03-14.json"] = blob.encode()

    written = []
    for rel in sorted(files):
        path = Path(out_dir) / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(files[rel])
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    out = Path(args[0]) if args else DATA_DIR
    if out.resolve() == DATA_DIR and out.exists():
        shutil.rmtree(out)  # our own data folder only: stale files must not survive a rebuild
    written = build(out)
    total = sum(p.stat().st_size for p in written)
    print(f"wrote {len(written)} files, {total:,} bytes, to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
