"""Deterministic generator of realistic CloudTrail in the S3 delivery layout, at any size.

    python bench/gen_cloudtrail.py OUT_DIR --records 1000000 [--seed 1] [--jobs 2] [--assumed-roles 0.8]

Writes OUT_DIR/AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/
<account>_CloudTrail_<region>_YYYYMMDDTHHMMZ_<16 chars>.json.gz, each a gzip'd minified
`{"Records":[...]}` document like the files CloudTrail delivers every ~5 minutes (file sizes vary
around 1,000 records), plus one CloudTrail-Digest file per account, region and hour (skipped by
every reader). Same arguments, same bytes: every file is built from its own seeded RNG.

What the records look like (field shapes copied from real CloudTrail; the mix follows the
invictus-ir dataset in ../shared/data/external, the largest real trail at hand):
* mostly benign read-only noise: Describe*/List*/Get* on EC2, S3, IAM, SSM, KMS, RDS, Secrets
  Manager, STS GetCallerIdentity; AWS services calling KMS and assuming roles;
* identity types: IAMUser ~70 %, AWSService ~27 % (KMS and role assumption by services),
  AssumedRole ~3 % (SSO and instance roles; invictus-ir has 2.6 %), Root ~0.05 %; about 4 % of
  calls fail (AccessDenied and friends);
* a thin layer (~0.4 %) of the writes the flagship detection is about: CreateUser,
  AttachUserPolicy, CreateAccessKey, RunInstances, CreateFunction20150331, StopLogging, ...;
  and AssumeRole by people, ~1.2 %;
* about 1.45 KB of JSON per record (user agents, request and response elements, TLS details).

`--assumed-roles F` makes a fraction F of all calls (AssumeRole and service calls included) by
assumed roles instead, the way an organisation that works through SSO and roles looks: every
person an AWSReservedSSO_* session, every workload an instance or task role, all with
`sessionContext.sessionIssuer` of type Role (log-formats.md, userIdentity types). Without it the
output is byte-identical to the default mix (the option draws nothing from the RNG).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from multiprocessing import Pool
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from bench/
from tools.loggen.common import digest_key, gzip_bytes, trail_key

Json = dict[str, Any]

ACCOUNTS = ["111122223333", "444455556666", "777788880000"]
REGIONS = [("us-east-1", 6), ("eu-west-1", 3), ("us-west-2", 1)]
START = datetime(2026, 3, 1, tzinfo=UTC)
MEAN_RECORDS_PER_FILE = 1000

ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
UPPER_NUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
HEX = "0123456789abcdef"

USER_AGENTS = [
    (
        "aws-cli/2.15.30 md/awscrt#0.19.19 ua/2.0 os/linux#6.5.0-1016-aws md/arch#x86_64 "
        "lang/python#3.11.8 md/pyimpl#CPython exe/x86_64.ubuntu.22 prompt/off "
        "command/ec2.describe-instances"
    ),
    (
        "aws-cli/2.13.5 md/awscrt#0.16.16 ua/2.0 os/macos#23.1.0 md/arch#arm64 lang/python#3.11.4 "
        "md/pyimpl#CPython exe/arm64 prompt/off command/s3api.list-buckets"
    ),
    (
        "Boto3/1.34.51 md/Botocore#1.34.51 ua/2.0 os/linux#5.10.210-201.852.amzn2.x86_64 "
        "md/arch#x86_64 lang/python#3.12.2 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.51"
    ),
    (
        "APN/1.0 HashiCorp/1.0 Terraform/1.7.4 (+https://www.terraform.io) terraform-provider-aws/5.40.0 "
        "(+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.25.2 os/linux "
        "lang/go#1.21.8 md/GOOS#linux md/GOARCH#amd64 api/ec2#1.149.1"
    ),
    (
        "aws-sdk-java/2.25.6 Linux/5.10.209-198.858.amzn2.x86_64 OpenJDK_64-Bit_Server_VM/17.0.10+7-LTS "
        "Java/17.0.10 vendor/Amazon.com_Inc. io/sync http/Apache cfg/retry-mode/legacy"
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/122.0.0.0 Safari/537.36"
    ),
    "aws-sdk-go/1.50.30 (go1.21.7; linux; amd64) exec-env/AWS_ECS_FARGATE",
    "AWS Internal",
]
SERVICE_HOSTS = {
    "ec2.amazonaws.com": "ec2.{r}.amazonaws.com",
    "s3.amazonaws.com": "s3.{r}.amazonaws.com",
    "iam.amazonaws.com": "iam.amazonaws.com",
    "sts.amazonaws.com": "sts.{r}.amazonaws.com",
    "kms.amazonaws.com": "kms.{r}.amazonaws.com",
    "ssm.amazonaws.com": "ssm.{r}.amazonaws.com",
    "rds.amazonaws.com": "rds.{r}.amazonaws.com",
    "secretsmanager.amazonaws.com": "secretsmanager.{r}.amazonaws.com",
    "lambda.amazonaws.com": "lambda.{r}.amazonaws.com",
    "cloudtrail.amazonaws.com": "cloudtrail.{r}.amazonaws.com",
    "guardduty.amazonaws.com": "guardduty.{r}.amazonaws.com",
    "logs.amazonaws.com": "logs.{r}.amazonaws.com",
    "monitoring.amazonaws.com": "monitoring.{r}.amazonaws.com",
    "health.amazonaws.com": "health.us-east-1.amazonaws.com",
    "ecs.amazonaws.com": "ecs.{r}.amazonaws.com",
    "elasticloadbalancing.amazonaws.com": "elasticloadbalancing.{r}.amazonaws.com",
}
PEOPLE = ["alice", "bob", "carol", "dmitri", "erin", "farah", "gwen", "hiro", "ines", "jonas"]
CI_USERS = ["ci-deployer", "terraform-runner", "backup-agent", "monitoring-exporter"]
ROLES = [
    "AWSReservedSSO_AdministratorAccess_3f2a9c1b7d4e5f60",
    "AWSReservedSSO_ReadOnly_9d8c7b6a5f4e3d21",
    "app-server-instance-role",
    "batch-worker-role",
    "eks-node-group-role",
]
SERVICES_INVOKING = ["ec2.amazonaws.com", "lambda.amazonaws.com", "ecs-tasks.amazonaws.com",
                     "cloudformation.amazonaws.com", "autoscaling.amazonaws.com"]
ERRORS = [
    ("AccessDenied", (
        "User: {arn} is not authorized to perform: {action} on resource: {res} because "
        "no identity-based policy allows the {action} action"
    )),
    ("Client.UnauthorizedOperation", "You are not authorized to perform this operation."),
    ("ThrottlingException", "Rate exceeded"),
    ("NoSuchBucketPolicy", "The bucket policy does not exist"),
    ("ResourceNotFoundException", "Secrets Manager can't find the specified secret."),
]


class Gen:
    """Builds the records of one file from its own RNG."""

    def __init__(self, rng: random.Random, account: str, region: str, assumed_roles: float | None = None) -> None:
        self.r = rng
        self.account = account
        self.region = region
        self.assumed_roles = assumed_roles  # None: the default mix (pick_identity)

    def s(self, alphabet: str, n: int) -> str:
        return "".join(self.r.choices(alphabet, k=n))

    def uuid(self) -> str:
        h = self.s(HEX, 32)
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"

    def ip(self) -> str:
        r = self.r
        if r.random() < 0.5:
            return f"10.{r.randrange(256)}.{r.randrange(256)}.{r.randrange(1, 255)}"
        return f"{r.choice([3, 18, 34, 52, 54, 35])}.{r.randrange(256)}.{r.randrange(256)}.{r.randrange(1, 255)}"

    # -- identities ------------------------------------------------------------------------

    def identity(self, kind: str, when: str) -> tuple[Json, str, str]:
        """(userIdentity, sourceIPAddress, userAgent)."""
        r, acct = self.r, self.account
        if kind == "IAMUser":
            name = r.choice(CI_USERS if r.random() < 0.7 else PEOPLE)
            ident: Json = {
                "type": "IAMUser",
                "principalId": "AIDA" + self.s(UPPER_NUM, 17),
                "arn": f"arn:aws:iam::{acct}:user/{name}",
                "accountId": acct,
                "accessKeyId": "AKIA" + self.s(UPPER_NUM, 16),
                "userName": name,
            }
            if r.random() < 0.7:  # temporary credentials of the user (console, GetSessionToken)
                ident["accessKeyId"] = "ASIA" + self.s(UPPER_NUM, 16)
                ident["sessionContext"] = {
                    "sessionIssuer": {},
                    "webIdFederationData": {},
                    "attributes": {"creationDate": when, "mfaAuthenticated": "true"},
                }
            return ident, self.ip(), r.choice(USER_AGENTS[:5])
        if kind == "AssumedRole":
            role = r.choice(ROLES)
            session = r.choice(PEOPLE) + "@acme.example" if role.startswith("AWSReserved") else "i-0" + self.s(HEX, 16)
            rid = "AROA" + self.s(UPPER_NUM, 17)
            ident = {
                "type": "AssumedRole",
                "principalId": f"{rid}:{session}",
                "arn": f"arn:aws:sts::{acct}:assumed-role/{role}/{session}",
                "accountId": acct,
                "accessKeyId": "ASIA" + self.s(UPPER_NUM, 16),
                "sessionContext": {
                    "sessionIssuer": {
                        "type": "Role",
                        "principalId": rid,
                        "arn": f"arn:aws:iam::{acct}:role/{role}",
                        "accountId": acct,
                        "userName": role,
                    },
                    "webIdFederationData": {},
                    "attributes": {"creationDate": when, "mfaAuthenticated": "false"},
                },
            }
            return ident, self.ip(), r.choice(USER_AGENTS)
        if kind == "Root":
            ident = {
                "type": "Root",
                "principalId": acct,
                "arn": f"arn:aws:iam::{acct}:root",
                "accountId": acct,
                "accessKeyId": "ASIA" + self.s(UPPER_NUM, 16),
                "sessionContext": {
                    "sessionIssuer": {},
                    "webIdFederationData": {},
                    "attributes": {"creationDate": when, "mfaAuthenticated": "true"},
                },
            }
            return ident, self.ip(), USER_AGENTS[5]
        svc = r.choice(SERVICES_INVOKING)
        return {"type": "AWSService", "invokedBy": svc}, svc, svc

    # -- request / response shapes -----------------------------------------------------------

    def params(self, source: str, name: str) -> tuple[Json | None, Json | None]:
        r, acct, reg = self.r, self.account, self.region
        inst = "i-0" + self.s(HEX, 16)
        if source == "ec2.amazonaws.com":
            if name == "RunInstances":
                return (
                    {"instancesSet": {"items": [{"imageId": "ami-0" + self.s(HEX, 16), "minCount": 1, "maxCount": 1}]},
                     "instanceType": r.choice(["t3.micro", "m5.large", "c5.4xlarge"]),
                     "blockDeviceMapping": {}, "monitoring": {"enabled": False},
                     "disableApiTermination": False, "clientToken": self.uuid()},
                    {"requestId": self.uuid(), "reservationId": "r-0" + self.s(HEX, 16), "ownerId": acct,
                     "groupSet": {}, "instancesSet": {"items": [{"instanceId": inst, "instanceState": {"code": 0, "name": "pending"}}]}},
                )
            if name in ("CreateKeyPair", "ImportKeyPair"):
                return {"keyName": "k-" + self.s(ALNUM, 8)}, {"requestId": self.uuid(), "keyName": "k", "keyFingerprint": self.s(HEX, 40)}
            filters = [
                {"name": r.choice(["vpc-id", "tag:Name", "instance-state-name", "subnet-id", "group-id"]),
                 "valueSet": {"items": [{"value": r.choice(["vpc-0", "subnet-0", "sg-0"]) + self.s(HEX, 17)}
                                        for _ in range(r.randrange(1, 3))]}}
                for _ in range(r.randrange(0, 3))
            ]
            return (
                {"instancesSet": {"items": [{"instanceId": "i-0" + self.s(HEX, 16)} for _ in range(r.randrange(1, 6))]},
                 "filterSet": {"items": filters},
                 "maxResults": r.choice([100, 1000])},
                None,
            )
        if source == "s3.amazonaws.com":
            bucket = f"acme-{r.choice(['logs', 'data', 'artifacts', 'backups'])}-{acct}-{reg}"
            p: Json = {"bucketName": bucket, "Host": f"{bucket}.s3.{reg}.amazonaws.com"}
            p[r.choice(["acl", "policy", "location", "logging", "tagging", "versioning"])] = ""
            return p, None
        if source == "iam.amazonaws.com":
            if name in ("CreateUser", "CreateAccessKey", "GetUser"):
                return {"userName": r.choice(PEOPLE + CI_USERS)}, (
                    {"user": {"path": "/", "userName": "x", "userId": "AIDA" + self.s(UPPER_NUM, 17),
                              "arn": f"arn:aws:iam::{acct}:user/x", "createDate": "Mar 1, 2026 10:00:00 AM"}}
                    if name == "CreateUser" else None
                )
            if name == "AttachUserPolicy":
                return {"userName": r.choice(PEOPLE), "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}, None
            return {"roleName": r.choice(ROLES)}, None
        if source == "kms.amazonaws.com":
            return (
                {"encryptionAlgorithm": "SYMMETRIC_DEFAULT",
                 "encryptionContext": (
                     {"aws:lambda:FunctionArn": f"arn:aws:lambda:{reg}:{acct}:function:app-{self.s(HEX, 6)}"}
                     if r.random() < 0.5 else
                     {"aws:ebs:id": "vol-0" + self.s(HEX, 16),
                      "aws:ebs:volumeKmsKeyArn": f"arn:aws:kms:{reg}:{acct}:key/{self.uuid()}"}
                 ),
                 "keyId": f"arn:aws:kms:{reg}:{acct}:key/{self.uuid()}"},
                None,
            )
        if source == "ssm.amazonaws.com":
            if name == "DescribeParameters":
                return {"parameterFilters": [{"key": "Name", "option": "BeginsWith",
                                              "values": [f"/app/{r.choice(['prod', 'staging'])}/"]}],
                        "maxResults": 50, "nextToken": self.s(ALNUM, 96)}, None
            return {"name": f"/app/{r.choice(['prod', 'staging'])}/{r.choice(['db', 'api', 'queue'])}/"
                            f"{self.s(ALNUM, 10)}", "withDecryption": True}, None
        if source == "sts.amazonaws.com":
            if name == "AssumeRole":
                role = r.choice(ROLES)
                return (
                    {"roleArn": f"arn:aws:iam::{acct}:role/{role}", "roleSessionName": self.s(ALNUM, 12),
                     "durationSeconds": 3600},
                    {"credentials": {"accessKeyId": "ASIA" + self.s(UPPER_NUM, 16),
                                     "sessionToken": self.s(ALNUM, 180), "expiration": "Mar 1, 2026 11:00:00 AM"},
                     "assumedRoleUser": {"assumedRoleId": "AROA" + self.s(UPPER_NUM, 17) + ":x",
                                         "arn": f"arn:aws:sts::{acct}:assumed-role/{role}/x"}},
                )
            return None, None
        if source == "lambda.amazonaws.com":
            fn = "app-" + self.s(HEX, 6)
            return {"functionName": fn, "runtime": "python3.12", "handler": "app.handler",
                    "role": f"arn:aws:iam::{acct}:role/lambda-exec"}, {"functionName": fn, "codeSize": r.randrange(10_000, 9_000_000)}
        if source == "cloudtrail.amazonaws.com":
            return {"name": f"arn:aws:cloudtrail:{reg}:{acct}:trail/org-trail"}, None
        if source == "rds.amazonaws.com":
            return {"dBInstanceIdentifier": "db-" + self.s(HEX, 8), "maxRecords": 100}, None
        if source == "secretsmanager.amazonaws.com":
            return {"secretId": f"arn:aws:secretsmanager:{reg}:{acct}:secret:app/{self.s(ALNUM, 6)}"}, None
        return {"maxResults": 50}, None

    def additional(self, source: str, kind: str) -> Json | None:
        r = self.r
        if source == "s3.amazonaws.com":
            return {
                "SignatureVersion": "SigV4",
                "CipherSuite": "TLS_AES_128_GCM_SHA256",
                "bytesTransferredIn": 0,
                "AuthenticationMethod": "AuthHeader",
                "x-amz-id-2": self.s(ALNUM + "+/", 76) + "=",
                "bytesTransferredOut": r.randrange(100, 5000),
            }
        if source == "kms.amazonaws.com":
            return {"keyMaterialId": self.s(HEX, 64)} if r.random() < 0.5 else None
        if kind == "AssumedRole" and r.random() < 0.2:
            return {"MFAUsed": "No", "LoginTo": "https://console.aws.amazon.com/console/home"}
        return None

    def resources(self, source: str, req: Json | None) -> list[Json] | None:
        if source == "kms.amazonaws.com" and req:
            return [{"accountId": self.account, "type": "AWS::KMS::Key", "ARN": req["keyId"]}]
        if source == "s3.amazonaws.com" and req:
            return [{"accountId": self.account, "type": "AWS::S3::Bucket",
                     "ARN": f"arn:aws:s3:::{req['bucketName']}"}]
        if source == "sts.amazonaws.com" and req and "roleArn" in req:
            return [{"accountId": self.account, "type": "AWS::IAM::Role", "ARN": req["roleArn"]}]
        if source == "ec2.amazonaws.com" and self.r.random() < 0.3:
            return [{"accountId": self.account, "type": "AWS::EC2::Instance",
                     "ARN": f"arn:aws:ec2:{self.region}:{self.account}:instance/i-0{self.s(HEX, 16)}"}]
        return None

    # -- one record ----------------------------------------------------------------------------

    def record(self, when: datetime) -> Json:
        r = self.r
        t = when.strftime("%Y-%m-%dT%H:%M:%SZ")
        source, name, read_only = pick_event(r)
        kind = pick_identity(r, source, name, self.assumed_roles)
        ident, ip, ua = self.identity(kind, t)
        req, resp = self.params(source, name)
        rec: Json = {
            "eventVersion": "1.09" if r.random() < 0.6 else "1.08",
            "userIdentity": ident,
            "eventTime": t,
            "eventSource": source,
            "eventName": name,
            "awsRegion": self.region,
            "sourceIPAddress": ip,
            "userAgent": ua,
        }
        if r.random() < 0.04 and kind != "AWSService":
            code, msg = r.choice(ERRORS)
            rec["errorCode"] = code
            rec["errorMessage"] = msg.format(arn=ident.get("arn", ""), action=f"{source.split('.')[0]}:{name}", res="*")
            resp = None
        rec["requestParameters"] = req
        rec["responseElements"] = resp
        extra = self.additional(source, kind)
        if extra is not None:
            rec["additionalEventData"] = extra
        rec["requestID"] = self.s(UPPER_NUM[:16], 16) if source == "s3.amazonaws.com" else self.uuid()
        rec["eventID"] = self.uuid()
        rec["readOnly"] = read_only
        res = self.resources(source, req)
        if res is not None:
            rec["resources"] = res
        rec["eventType"] = "AwsApiCall"
        rec["managementEvent"] = True
        rec["recipientAccountId"] = self.account
        rec["eventCategory"] = "Management"
        if kind == "AWSService":
            rec["sharedEventID"] = self.uuid()
        elif r.random() < 0.3:
            rec["vpcEndpointId"] = "vpce-0" + self.s(HEX, 16)
            rec["vpcEndpointAccountId"] = self.account
        if kind != "AWSService":
            host = SERVICE_HOSTS.get(source, source).format(r=self.region)
            rec["tlsDetails"] = {
                "tlsVersion": "TLSv1.3" if r.random() < 0.5 else "TLSv1.2",
                "cipherSuite": "TLS_AES_128_GCM_SHA256" if r.random() < 0.5 else "ECDHE-RSA-AES128-GCM-SHA256",
                "clientProvidedHostHeader": host,
            }
            if kind == "AssumedRole" and r.random() < 0.3:
                rec["sessionCredentialFromConsole"] = "true"
        return rec


# (eventSource, eventName, readOnly, weight)
NOISE: list[tuple[str, str, bool, float]] = [
    ("kms.amazonaws.com", "Decrypt", True, 90), ("kms.amazonaws.com", "GenerateDataKey", True, 30),
    ("kms.amazonaws.com", "Encrypt", False, 12),
    ("ec2.amazonaws.com", "DescribeInstances", True, 60), ("ec2.amazonaws.com", "DescribeRouteTables", True, 40),
    ("ec2.amazonaws.com", "DescribeVpcs", True, 20), ("ec2.amazonaws.com", "DescribeSubnets", True, 20),
    ("ec2.amazonaws.com", "DescribeSecurityGroups", True, 25), ("ec2.amazonaws.com", "DescribeVolumes", True, 12),
    ("ec2.amazonaws.com", "DescribeNetworkInterfaces", True, 12), ("ec2.amazonaws.com", "DescribeImages", True, 8),
    ("iam.amazonaws.com", "GetUser", True, 30), ("iam.amazonaws.com", "GetRole", True, 15),
    ("iam.amazonaws.com", "ListAttachedRolePolicies", True, 12), ("iam.amazonaws.com", "ListRolePolicies", True, 10),
    ("ssm.amazonaws.com", "GetParameter", True, 40), ("ssm.amazonaws.com", "DescribeParameters", True, 25),
    ("ssm.amazonaws.com", "DescribeInstanceInformation", True, 10), ("ssm.amazonaws.com", "UpdateInstanceInformation", False, 15),
    ("s3.amazonaws.com", "GetBucketAcl", True, 20), ("s3.amazonaws.com", "GetBucketLocation", True, 15),
    ("s3.amazonaws.com", "GetBucketPolicy", True, 6), ("s3.amazonaws.com", "GetBucketVersioning", True, 6),
    ("s3.amazonaws.com", "ListBuckets", True, 2),
    ("sts.amazonaws.com", "GetCallerIdentity", True, 15),
    ("secretsmanager.amazonaws.com", "GetSecretValue", True, 20), ("secretsmanager.amazonaws.com", "DescribeSecret", True, 8),
    ("rds.amazonaws.com", "DescribeDBInstances", True, 10), ("rds.amazonaws.com", "DescribeDBSnapshots", True, 4),
    ("logs.amazonaws.com", "DescribeLogGroups", True, 10), ("logs.amazonaws.com", "CreateLogStream", False, 8),
    ("monitoring.amazonaws.com", "GetMetricData", True, 12), ("health.amazonaws.com", "DescribeEventAggregates", True, 6),
    ("cloudtrail.amazonaws.com", "LookupEvents", True, 3), ("cloudtrail.amazonaws.com", "GetTrailStatus", True, 2),
    ("lambda.amazonaws.com", "ListFunctions20150331", True, 5), ("lambda.amazonaws.com", "GetFunction20150331v2", True, 3),
    ("ecs.amazonaws.com", "DescribeTasks", True, 5), ("elasticloadbalancing.amazonaws.com", "DescribeTargetHealth", True, 5),
]
# The calls the detection is about (a thin layer).
WRITES: list[tuple[str, str, bool, float]] = [
    ("sts.amazonaws.com", "AssumeRole", False, 10.0),
    ("iam.amazonaws.com", "CreateUser", False, 0.3), ("iam.amazonaws.com", "CreateAccessKey", False, 0.3),
    ("iam.amazonaws.com", "AttachUserPolicy", False, 0.2), ("iam.amazonaws.com", "CreateRole", False, 0.3),
    ("iam.amazonaws.com", "AttachRolePolicy", False, 0.3), ("sts.amazonaws.com", "GetSessionToken", False, 0.3),
    ("ec2.amazonaws.com", "RunInstances", False, 0.6), ("ec2.amazonaws.com", "CreateKeyPair", False, 0.1),
    ("ec2.amazonaws.com", "AuthorizeSecurityGroupIngress", False, 0.2),
    ("lambda.amazonaws.com", "CreateFunction20150331", False, 0.2),
    ("lambda.amazonaws.com", "UpdateFunctionCode20150331v2", False, 0.3),
    ("cloudtrail.amazonaws.com", "StopLogging", False, 0.02), ("cloudtrail.amazonaws.com", "UpdateTrail", False, 0.03),
    ("guardduty.amazonaws.com", "DeleteDetector", False, 0.01),
    ("s3.amazonaws.com", "PutBucketPolicy", False, 0.1), ("s3.amazonaws.com", "PutBucketLogging", False, 0.05),
    ("rds.amazonaws.com", "ModifyDBInstance", False, 0.05),
]
_EVENTS = NOISE + WRITES
_CUM: list[float] = []
_acc = 0.0
for _e in _EVENTS:
    _acc += _e[3]
    _CUM.append(_acc)


def pick_event(r: random.Random) -> tuple[str, str, bool]:
    e = r.choices(_EVENTS, cum_weights=_CUM)[0]
    return e[0], e[1], e[2]


def pick_identity(r: random.Random, source: str, name: str, assumed_roles: float | None = None) -> str:
    if assumed_roles is not None and r.random() < assumed_roles:
        return "AssumedRole"
    if name == "AssumeRole":
        return "AWSService" if r.random() < 0.85 else "IAMUser"
    if source == "kms.amazonaws.com" and r.random() < 0.6:
        return "AWSService"
    x = r.random()
    if x < 0.0005:
        return "Root"
    if x < 0.03:  # invictus-ir: 2.6 % AssumedRole, 95 % IAMUser (a Stratus Red Team account)
        return "AssumedRole"
    if x < 0.20:
        return "AWSService"
    return "IAMUser"


# ---------------------------------------------------------------------------------------------
# Files


def plan(records: int, seed: int) -> list[tuple[int, str, str, int, int]]:
    """(file number, account, region, minute offset, record count) for every data file."""
    rng = random.Random(f"plan:{seed}")
    regions = [r for r, _ in REGIONS]
    weights = [w for _, w in REGIONS]
    out = []
    left, i = records, 0
    minute = 0
    while left > 0:
        n = min(left, max(1, int(rng.triangular(200, 1800, MEAN_RECORDS_PER_FILE))))
        account = ACCOUNTS[i % len(ACCOUNTS)]
        region = rng.choices(regions, weights)[0]
        out.append((i, account, region, minute, n))
        left -= n
        i += 1
        if i % (len(ACCOUNTS) * 3) == 0:
            minute += 5
    return out


def file_name(seed: int, number: int, account: str, region: str, minute: int) -> Path:
    t = START + timedelta(minutes=minute)
    tag = hashlib.sha256(f"{seed}:{number}".encode()).digest()
    rand = "".join(ALNUM[b % len(ALNUM)] for b in tag[:16])
    return Path(trail_key(account, region, t, rand))


def build_file(args: tuple[Path, int, tuple[int, str, str, int, int], float | None]) -> tuple[int, int]:
    out, seed, (number, account, region, minute, n), assumed_roles = args
    rng = random.Random(f"file:{seed}:{number}")
    g = Gen(rng, account, region, assumed_roles)
    t0 = START + timedelta(minutes=minute)
    times = sorted(rng.randrange(300_000) for _ in range(n))
    records = [g.record(t0 + timedelta(milliseconds=ms)) for ms in times]
    data = orjson.dumps({"Records": records})
    path = out / file_name(seed, number, account, region, minute)
    path.parent.mkdir(parents=True, exist_ok=True)
    gz = gzip_bytes(data, level=6)
    path.write_bytes(gz)
    return len(data), len(gz)


def digests(out: Path, files: list[tuple[int, str, str, int, int]], seed: int) -> None:
    hours = sorted({(acct, reg, minute // 60) for _, acct, reg, minute, _ in files})
    for acct, reg, hour in hours:
        t = START + timedelta(hours=hour)
        d = {
            "awsAccountId": acct,
            "digestStartTime": t.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "digestEndTime": (t + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "digestS3Bucket": "acme-org-cloudtrail-logs",
            "digestS3Object": f"AWSLogs/{acct}/CloudTrail-Digest/{reg}/digest.json.gz",
            "digestPublicKeyFingerprint": hashlib.md5(f"{seed}{acct}".encode()).hexdigest(),
            "digestSignatureAlgorithm": "SHA256withRSA",
            "newestEventTime": t.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "logFiles": [],
        }
        path = out / digest_key(acct, reg, "org-trail", t)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(gzip_bytes(orjson.dumps(d), level=6))


def generate(out: Path, records: int, seed: int = 1, jobs: int = 2,
             progress: Callable[[str], None] | None = None,
             assumed_roles: float | None = None) -> tuple[int, int, int]:
    """Write the data set; returns (files, JSON bytes, gzip bytes). `assumed_roles`: the fraction
    of calls made by assumed roles (None: the default mix)."""
    files = plan(records, seed)
    raw = gz = 0
    work = [(out, seed, f, assumed_roles) for f in files]
    if jobs > 1:
        with Pool(jobs) as pool:
            for a, b in pool.imap_unordered(build_file, work, chunksize=4):
                raw += a
                gz += b
    else:
        for w in work:
            a, b = build_file(w)
            raw += a
            gz += b
    digests(out, files, seed)
    return len(files), raw, gz


def _fraction(text: str) -> float:
    x = float(text)
    if not 0 <= x <= 1:
        raise argparse.ArgumentTypeError(f"{text}: a fraction between 0 and 1")
    return x


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--assumed-roles", type=_fraction, default=None, metavar="F",
                    help="fraction (0-1) of calls made by assumed roles, as in an SSO/role organisation")
    a = ap.parse_args(argv)
    files, raw, gz = generate(a.out, a.records, a.seed, a.jobs, assumed_roles=a.assumed_roles)
    print(f"{a.records} records in {files} files: {raw / 1e6:.0f} MB JSON, {gz / 1e6:.0f} MB gzip "
          f"({raw / a.records:.0f} B/record)", file=sys.stderr)


if __name__ == "__main__":
    main()
