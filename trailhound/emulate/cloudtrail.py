"""CloudTrail record builders: identities, user agents and one record in the key order CloudTrail
writes (docs/log-formats.md section 1), plus the S3 delivery layout of trail files."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from trailhound.emulate.files import dumps_min, gzip_bytes, trail_key
from trailhound.emulate.world import (
    ACCT,
    ACCT2,
    ALNUM,
    B32,
    DOMAIN,
    ORG_ID,
    REGION,
    TRAIL_BUCKET,
    Ids,
    Json,
    at,
    aws_date,
    kebab,
    z,
)

EVENT_VERSION = {"sts": "1.08", "lambda": "1.08", "sqs": "1.09", "iam": "1.11", "signin": "1.11"}
EVENT_VERSION |= {"cloudtrail": "1.11", "guardduty": "1.11"}  # everything else: 1.10
GLOBAL_SERVICES = ("iam", "sts", "signin")
READ_VERBS = ("Get", "List", "Describe", "Lookup", "Filter", "Decrypt", "GenerateDataKey", "Assume")

_CLI = "aws-cli/{v} md/awscrt#0.19.19 ua/2.0 os/{os} md/arch#{arch} lang/python#{py} "
_CLI += "md/pyimpl#CPython cfg/retry-mode#standard md/installer#{inst}{distrib} md/prompt#off "
_CLI += "md/command#{{}}"
KALI = _CLI.format(
    v="2.15.12",
    os="linux#6.6.9-amd64",
    arch="x86_64",
    py="3.11.6",
    inst="exe",
    distrib=" md/distrib#kali.2024",
)
MACOS_CLI = _CLI.format(
    v="2.15.30", os="macos#23.4.0", arch="arm64", py="3.11.8", inst="source", distrib=""
)
LINUX_CLI = _CLI.format(
    v="2.15.21",
    os="linux#6.5.0-1014-aws",
    arch="x86_64",
    py="3.11.6",
    inst="exe",
    distrib=" md/distrib#ubuntu.22",
)
BROWSER = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/122.0.0.0 Safari/537.36"
)
BOTO_LAMBDA = (
    "Boto3/1.34.34 md/Botocore#1.34.34 ua/2.0 os/linux#5.10.209-219.812.amzn2.x86_64 "
    "md/arch#x86_64 lang/python#3.12.2 md/pyimpl#CPython exec-env/AWS_Lambda_python3.12 "
    "cfg/retry-mode#legacy Botocore/1.34.34"
)
SDK_ECS = (
    "aws-sdk-java/2.25.6 Linux/5.10.210-201.852.amzn2.x86_64 "
    "OpenJDK_64-Bit_Server_VM/17.0.10+7-LTS Java/17.0.10 vendor/Amazon.com_Inc. "
    "exec-env/AWS_ECS_FARGATE io/sync http/Apache cfg/retry-mode/legacy"
)
TERRAFORM = (
    "APN/1.0 HashiCorp/1.0 Terraform/1.7.4 (+https://www.terraform.io) "
    "terraform-provider-aws/5.40.0 (+https://registry.terraform.io/providers/hashicorp/aws) "
    "aws-sdk-go-v2/1.25.2 os/linux lang/go#1.21.8 md/GOOS#linux md/GOARCH#amd64 api/{}"
)
SDK_API = {"ec2": "ec2#1.150.0", "ecr": "ecr#1.27.1", "iam": "iam#1.31.1", "s3": "s3#1.51.1"}
SDK_API |= {"dynamodb": "dynamodb#1.30.2", "sts": "sts#1.28.1", "lambda": "lambda#1.53.0"}


@dataclass(frozen=True)
class Actor:
    """Who calls, from where, with what (`ua` may hold `{}` for the CLI command or SDK api)."""

    ident: Json
    ip: str
    ua: str
    acct: str = ACCT
    console: bool = False
    vpce: bool = False


class Aws:
    """The AWS side of the organisation: identities, actors and a CloudTrail record builder."""

    def __init__(self, ids: Ids) -> None:
        self.ids = ids
        self.roles: dict[tuple[str, str], str] = {}
        self.okafor = self.iam_user("m.okafor")
        self.backdoor = self.iam_user("aws-support-sync")
        self.sso_suffix = {
            "PowerUserAccess": "3f1c9a0b2d4e5f67",
            "ReadOnlyAccess": "8a2e4c6b0d1f3a59",
            "SecurityAudit": "c41d7e9a25b0f836",
        }
        self.vpce = {ACCT: "vpce-0a1b2c3d4e5f60718", ACCT2: "vpce-0f9e8d7c6b5a40312"}

    def iam_user(self, name: str) -> Json:
        return {
            "type": "IAMUser",
            "principalId": self.ids.aws("AIDA", ACCT),
            "arn": f"arn:aws:iam::{ACCT}:user/{name}",
            "accountId": ACCT,
            "accessKeyId": self.ids.aws("AKIA", ACCT),
            "userName": name,
        }

    def role_id(self, acct: str, role: str) -> str:
        if (acct, role) not in self.roles:
            self.roles[(acct, role)] = self.ids.aws("AROA", acct)
        return self.roles[(acct, role)]

    def assumed(
        self,
        acct: str,
        role: str,
        session: str,
        created: datetime,
        *,
        ec2: bool = False,
        invoked_by: str | None = None,
        path: str = "/",
    ) -> Json:
        rid = self.role_id(acct, role)
        issuer = {
            "type": "Role",
            "principalId": rid,
            "arn": f"arn:aws:iam::{acct}:role{path}{role}",
            "accountId": acct,
            "userName": role,
        }
        ctx: Json = {
            "sessionIssuer": issuer,
            "attributes": {"creationDate": z(created), "mfaAuthenticated": "false"},
        }
        if ec2:
            ctx["ec2RoleDelivery"] = "2.0"
        else:
            ctx["webIdFederationData"] = {}
        ident: Json = {
            "type": "AssumedRole",
            "principalId": f"{rid}:{session}",
            "arn": f"arn:aws:sts::{acct}:assumed-role/{role}/{session}",
            "accountId": acct,
            "accessKeyId": self.ids.aws("ASIA", acct),
            "sessionContext": ctx,
        }
        if invoked_by:
            ident["invokedBy"] = invoked_by
        return ident

    def sso(self, perm: str, user: str, created: datetime) -> Json:
        role = f"AWSReservedSSO_{perm}_{self.sso_suffix[perm]}"
        path = "/aws-reserved/sso.amazonaws.com/"
        return self.assumed(ACCT, role, f"{user}@{DOMAIN}", created, path=path)

    def service_assume(self, when: datetime, svc: str, acct: str, role: str, session: str) -> Json:
        """An AWS service assuming a role for itself (userIdentity.type AWSService)."""
        path = f"/aws-service-role/{svc}/" if role.startswith("AWSServiceRole") else "/"
        arn = f"arn:aws:iam::{acct}:role{path}{role}"
        who = Actor({"type": "AWSService", "invokedBy": svc}, svc, svc, acct=acct)
        return self.call(
            who,
            when,
            "sts",
            "AssumeRole",
            params={"roleArn": arn, "roleSessionName": session},
            response={"credentials": self.credentials(acct, when + timedelta(hours=1))},
            resources=[role_resource(acct, arn)],
            shared=self.ids.uuid(),
        )

    def credentials(self, acct: str, expires: datetime) -> Json:
        token = "IQoJb3JpZ2luX2VjE" + self.ids.chars(ALNUM + "/+", 96) + "=="
        key = self.ids.aws("ASIA", acct)
        return {"accessKeyId": key, "sessionToken": token, "expiration": aws_date(expires)}

    def s3_extra(self, bytes_in: int = 0, bytes_out: int = 0) -> Json:
        return {
            "SignatureVersion": "SigV4",
            "CipherSuite": "TLS_AES_128_GCM_SHA256",
            "bytesTransferredIn": bytes_in,
            "AuthenticationMethod": "AuthHeader",
            "x-amz-id-2": self.ids.chars(ALNUM, 56) + "=",
            "bytesTransferredOut": bytes_out,
        }

    def call(
        self,
        who: Actor,
        when: datetime | str,
        svc: str,
        name: str,
        *,
        cmd: str | None = None,
        params: Any = None,
        response: Any = None,
        error: tuple[str, str] | None = None,
        extra: Json | None = None,
        resources: list[Json] | None = None,
        shared: str | None = None,
        event_type: str = "AwsApiCall",
        host: str | None = None,
        region: str = REGION,
    ) -> Json:
        """One CloudTrail record, keys in the order CloudTrail writes them."""
        i = self.ids
        when = at(when) if isinstance(when, str) else when
        if svc in GLOBAL_SERVICES:
            region = "us-east-1"
        if "{}" in who.ua:
            cli_svc = {"s3": "s3api"}.get(svc, svc)
            if who.ua.startswith("aws-cli"):
                ua = who.ua.format(cmd or f"{cli_svc}.{kebab(name)}")
            else:
                ua = who.ua.format(SDK_API.get(svc, f"{svc}#1.0.0"))
        else:
            ua = who.ua
        rec: Json = {
            "eventVersion": EVENT_VERSION.get(svc, "1.10"),
            "userIdentity": who.ident,
            "eventTime": z(when),
            "eventSource": f"{svc}.amazonaws.com",
            "eventName": name,
            "awsRegion": region,
            "sourceIPAddress": who.ip,
            "userAgent": ua,
        }
        if error:
            rec["errorCode"], rec["errorMessage"] = error
        rec["requestParameters"] = params
        rec["responseElements"] = response
        if svc == "s3" and extra is None:
            extra = self.s3_extra(0, i.rng.randint(400, 4000))
        if extra is not None:
            rec["additionalEventData"] = extra
        if event_type != "AwsConsoleSignIn":
            rec["requestID"] = i.chars(B32[:26] + "0123456789", 16) if svc == "s3" else i.uuid()
        rec["eventID"] = i.uuid()
        rec["readOnly"] = name.startswith(READ_VERBS) or name == "GetSessionToken"
        if resources:
            rec["resources"] = resources
        rec["eventType"] = event_type
        rec["managementEvent"] = True
        rec["recipientAccountId"] = who.acct
        if shared:
            rec["sharedEventID"] = shared
        if who.vpce:
            rec["vpcEndpointId"] = self.vpce[who.acct]
            rec["vpcEndpointAccountId"] = who.acct
        rec["eventCategory"] = "Management"
        if who.ip[:1].isdigit() and not who.console and event_type == "AwsApiCall":
            if host is None:
                host = f"{svc}.amazonaws.com" if svc in GLOBAL_SERVICES else f"{svc}.{region}"
                host += "" if host.endswith(".com") else ".amazonaws.com"
            tls13 = i.rng.random() < 0.8
            rec["tlsDetails"] = {
                "tlsVersion": "TLSv1.3" if tls13 else "TLSv1.2",
                "cipherSuite": "TLS_AES_128_GCM_SHA256" if tls13 else "ECDHE-RSA-AES128-GCM-SHA256",
                "clientProvidedHostHeader": host,
            }
        if who.console:
            rec["sessionCredentialFromConsole"] = "true"
        return rec


def role_resource(acct: str, arn: str) -> Json:
    return {"accountId": acct, "type": "AWS::IAM::Role", "ARN": arn}


def denied(who: Json, action: str, resource: str) -> str:
    return (
        f"User: {who['arn']} is not authorized to perform: {action} on resource: {resource} "
        f"because no identity-based policy allows the {action} action"
    )


def lambda_config(ids: Ids, fn: str, role: str, handler: str, when: datetime, size: int) -> Json:
    creating = fn == "cloudwatch-metrics-forwarder"
    return {
        "functionName": fn,
        "functionArn": f"arn:aws:lambda:{REGION}:{ACCT}:function:{fn}",
        "runtime": "python3.12",
        "role": f"arn:aws:iam::{ACCT}:role/{role}",
        "handler": handler,
        "codeSize": size,
        "description": "",
        "timeout": 900 if creating else 300,
        "memorySize": 256,
        "lastModified": when.strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
        "codeSha256": ids.chars(ALNUM + "+/", 43) + "=",
        "version": "$LATEST",
        "tracingConfig": {"mode": "PassThrough"},
        "revisionId": ids.uuid(),
        "state": "Pending" if creating else "Active",
        "stateReason": "The function is being created." if creating else None,
        "stateReasonCode": "Creating" if creating else None,
        "lastUpdateStatus": "Successful" if creating else "InProgress",
        "lastUpdateStatusReason": None if creating else "The function is being updated.",
        "lastUpdateStatusReasonCode": None if creating else "Creating",
        "packageType": "Zip",
        "architectures": ["x86_64"],
        "ephemeralStorage": {"size": 512},
        "loggingConfig": {"logFormat": "Text", "logGroup": f"/aws/lambda/{fn}"},
    }


def ec2_instance(ids: Ids, when: datetime, itype: str, key: str | None, n: int = 0) -> Json:
    priv = ids.ip("10.10.12")
    inst: Json = {
        "instanceId": "i-0" + ids.hex(16),
        "imageId": "ami-0c7217cdde317cfec",
        "currentInstanceBootMode": "legacy-bios",
        "instanceState": {"code": 0, "name": "pending"},
        "privateDnsName": f"ip-{priv.replace('.', '-')}.ec2.internal",
        "amiLaunchIndex": n,
        "productCodes": {},
        "instanceType": itype,
        "launchTime": int(when.timestamp()) * 1000,
        "placement": {"availabilityZone": "us-east-1b", "tenancy": "default"},
        "monitoring": {"state": "disabled"},
        "subnetId": "subnet-0b7e4d2a9c1f35e80",
        "vpcId": "vpc-04d1e6b9a3c2f7018",
        "privateIpAddress": priv,
        "sourceDestCheck": True,
        "groupSet": {"items": [{"groupId": "sg-0e2a7c4b19d3f5a60", "groupName": "default"}]},
        "architecture": "x86_64",
        "rootDeviceType": "ebs",
        "rootDeviceName": "/dev/sda1",
        "virtualizationType": "hvm",
        "ebsOptimized": True,
        "enaSupport": True,
    }
    if key:
        inst["keyName"] = key
    return inst


def run_instances(ids: Ids, when: datetime, itype: str, count: int, key: str | None) -> Json:
    """RunInstances request and response."""
    item: Json = {"imageId": "ami-0c7217cdde317cfec", "minCount": count, "maxCount": count}
    if key:
        item["keyName"] = key
    params = {
        "instancesSet": {"items": [item]},
        "userData": "<sensitiveDataRemoved>",
        "instanceType": itype,
        "blockDeviceMapping": {},
        "monitoring": {"enabled": False},
        "subnetId": "subnet-0b7e4d2a9c1f35e80",
        "disableApiTermination": False,
        "disableApiStop": False,
        "clientToken": ids.uuid(),
    }
    response = {
        "requestId": ids.uuid(),
        "reservationId": "r-0" + ids.hex(16),
        "ownerId": ACCT,
        "groupSet": {},
        "instancesSet": {"items": [ec2_instance(ids, when, itype, key, n) for n in range(count)]},
        "requesterId": None,
    }
    return {"params": params, "response": response}


def trail_files(ids: Ids, records: list[Json]) -> tuple[dict[str, bytes], list[Json]]:
    """S3 delivery: a file per region and 5-minute slot, about one record in eight delayed to the
    next file, records shuffled inside each file. Returns the files and digest entries for them."""
    slots: dict[tuple[datetime, str], list[Json]] = {}
    for rec in sorted(records, key=lambda r: (r["eventTime"], r["eventID"])):
        t = datetime.strptime(rec["eventTime"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        slot = t.replace(minute=t.minute - t.minute % 5, second=0) + timedelta(minutes=5)
        if ids.rng.random() < 0.125:
            slot += timedelta(minutes=5)
        slots.setdefault((slot, rec["awsRegion"]), []).append(rec)
    files: dict[str, bytes] = {}
    listed = []
    for (slot, region), recs in sorted(slots.items()):
        ids.rng.shuffle(recs)
        delivered = slot + timedelta(minutes=ids.rng.randint(0, 2))
        key = trail_key(ACCT, region, delivered, ids.chars(ALNUM, 16), ORG_ID)
        raw = dumps_min({"Records": recs}).encode()
        files["aws/" + key] = gzip_bytes(raw)
        times = sorted(r["eventTime"] for r in recs)
        listed.append(
            {
                "s3Bucket": TRAIL_BUCKET,
                "s3Object": key,
                "hashValue": hashlib.sha256(raw).hexdigest(),
                "hashAlgorithm": "SHA-256",
                "newestEventTime": times[-1],
                "oldestEventTime": times[0],
                "_delivered": delivered,
                "_region": region,
            }
        )
    return files, listed
