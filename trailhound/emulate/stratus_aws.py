"""Stratus Red Team AWS techniques with no detonation log in ../shared (rules/stratus.py
STRATUS_EMULATED): one scenario each, the CloudTrail records of the API calls the technique's Go
package (v2/internal/attacktechniques/aws/...) makes, built with the same record builder as
every other AWS scenario (emulate/cloudtrail.py). The table is merged into emulate/stratus.py's."""

from __future__ import annotations

from datetime import datetime, timedelta

from trailhound.emulate.cloudtrail import Actor, Aws, denied
from trailhound.emulate.stratus_base import Entry
from trailhound.emulate.stratus_base import aws as _aws
from trailhound.emulate.world import ACCT, REGION, TRAIL_BUCKET, Json
from trailhound.rules.related_ids import related_id

NOTEBOOK = "ds-notebook-prod"
LIFECYCLE_CONFIG = "priv-esc-config"  # the technique's configName
RANSOM_BUCKET = "acme-finance-exports"
RANSOM_OBJECTS = 51  # the technique's Terraform creates 51 objects (num-files)
RANSOM_WORDS = ("liable", "donated", "mayday", "blooper", "pueblo", "tantrum", "scary",
                "secret", "secluded", "babied", "ignition", "unfasten", "affirm", "credit",
                "underage", "june", "licking", "approve")
RANSOM_EXT = ("sql", "txt", "docx", "pdf", "png", "tar.gz")
RANSOM_NOTE = "FILES-DELETED.txt"
VERSION_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._"
S3_XMLNS = "http://s3.amazonaws.com/doc/2006-03-01/"
SSE_C_HEADER = "x-amz-server-side-encryption-customer-algorithm"
# ec2-enumerate-from-instance: the Terraform's instance, its role (resource_prefix + "-role"),
# and the discovery commands it runs through SSM, as (service, call, CLI command, IAM action,
# request): `aws s3 ls` is ListBuckets
INSTANCE_ID = "i-0adc17a5acb70d9ae"  # the id in the technique's Detection section
INSTANCE_ROLE = "stratus-red-team-ec2-enumerate-role"
INSTANCE_IP = "54.162.71.208"  # the instance's public address (its subnet routes to the internet)
INSTANCE_CLI = ("aws-cli/2.15.30 md/awscrt#0.19.19 ua/2.0 os/linux#6.1.79-99.164.amzn2023.x86_64 "
                "md/arch#x86_64 lang/python#3.11.8 md/pyimpl#CPython "
                "exec-env/stratus-red-team_4c0e3f7a-6b2d-4f8e-9a1c-5d7b3e9f2a60 "
                "cfg/retry-mode#standard md/installer#exe md/distrib#amzn.2023 md/prompt#off "
                "md/command#{}")
INSTANCE_CALLS: tuple[tuple[str, str, str, str, Json | None], ...] = (
    ("sts", "GetCallerIdentity", "sts.get-caller-identity", "sts:GetCallerIdentity", None),
    ("s3", "ListBuckets", "s3.ls", "s3:ListAllMyBuckets", {"Host": f"s3.{REGION}.amazonaws.com"}),
    ("iam", "GetAccountSummary", "iam.get-account-summary", "iam:GetAccountSummary", None),
    ("iam", "ListRoles", "iam.list-roles", "iam:ListRoles", None),
    ("iam", "ListUsers", "iam.list-users", "iam:ListUsers", None),
    ("iam", "GetAccountAuthorizationDetails", "iam.get-account-authorization-details",
     "iam:GetAccountAuthorizationDetails", None),
    ("ec2", "DescribeSnapshots", "ec2.describe-snapshots", "ec2:DescribeSnapshots",
     {"snapshotSet": {}, "ownersSet": {}, "restorableBySet": {}, "filterSet": {}}),
    ("cloudtrail", "DescribeTrails", "cloudtrail.describe-trails", "cloudtrail:DescribeTrails",
     {"includeShadowTrails": True}),
    ("guardduty", "ListDetectors", "guardduty.list-detectors", "guardduty:ListDetectors", None),
)
SES_IDENTITIES = ("acme.example", "billing@acme.example")


def _lifecycle_rule(a: Aws, t: datetime, who: Actor) -> list[Json]:
    """PutBucketLifecycleConfiguration on the trail's bucket: every object expires after 1 day.
    CloudTrail names the call PutBucketLifecycle and logs the XML body as a dict."""
    host = f"{TRAIL_BUCKET}.s3.{REGION}.amazonaws.com"
    params = {"bucketName": TRAIL_BUCKET, "Host": host, "lifecycle": "",
              "LifecycleConfiguration": {"xmlns": S3_XMLNS, "Rule": {
                  "ID": "nuke-cloudtrail-logs-after-1-day", "Status": "Enabled",
                  "Filter": {"Prefix": "*"}, "Expiration": {"Days": 1}}}}
    res = [{"accountId": ACCT, "type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{TRAIL_BUCKET}"}]
    return [a.call(who, t, "s3", "PutBucketLifecycle", cmd="s3api.put-bucket-lifecycle-configuration",
                   params=params, resources=res, host=host)]


def _sagemaker_lifecycle(a: Aws, t: datetime, who: Actor) -> list[Json]:
    """Create the configuration, stop the notebook, attach it, start: the OnStart script then
    runs as the notebook's execution role. CloudTrail hides the script's content."""
    sm = "sagemaker"
    nb = {"notebookInstanceName": NOTEBOOK}
    arn = f"arn:aws:sagemaker:{REGION}:{ACCT}:notebook-instance-lifecycle-config/{LIFECYCLE_CONFIG}"
    s = timedelta(seconds=1)
    return [
        a.call(who, t, sm, "CreateNotebookInstanceLifecycleConfig",
               params={"notebookInstanceLifecycleConfigName": LIFECYCLE_CONFIG,
                       "onStart": [{"content": "HIDDEN_DUE_TO_SECURITY_REASONS"}]},
               response={"notebookInstanceLifecycleConfigArn": arn}),
        a.call(who, t + 2 * s, sm, "StopNotebookInstance", params=nb),
        a.call(who, t + 95 * s, sm, "DescribeNotebookInstance", params=nb),
        a.call(who, t + 97 * s, sm, "UpdateNotebookInstance",
               params={**nb, "lifecycleConfigName": LIFECYCLE_CONFIG}),
        a.call(who, t + 160 * s, sm, "DescribeNotebookInstance", params=nb),
        a.call(who, t + 162 * s, sm, "StartNotebookInstance", params=nb),
    ]


def _deregister_ami(a: Aws, t: datetime, who: Actor) -> list[Json]:
    ami = "ami-0b87ea1d007078d18"
    return [a.call(who, t, "ec2", "DeregisterImage",
                   params={"imageId": ami, "deleteAssociatedSnapshots": False},
                   response={"requestId": a.ids.uuid(), "_return": True})]


def _data_event(rec: Json) -> Json:
    """S3 object calls are data events: the record builder writes management events only."""
    rec["managementEvent"], rec["eventCategory"] = False, "Data"
    return rec


def _object_call(a: Aws, t: datetime, who: Actor, name: str, key: str | None,
                 extra_params: Json | None = None, *, response: Json | None = None,
                 extra: Json | None = None, batch: bool = False) -> Json:
    """One S3 object-level call on the victim bucket, with the resources CloudTrail lists (a
    batch call names the bucket's key prefix, not its keys)."""
    host = f"{RANSOM_BUCKET}.s3.{REGION}.amazonaws.com"
    params: Json = {"bucketName": RANSOM_BUCKET, "Host": host, **(extra_params or {})}
    bucket = {"accountId": ACCT, "type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{RANSOM_BUCKET}"}
    res: list[Json] = [bucket]
    if key is not None:
        params["key"] = key
        res = [{"type": "AWS::S3::Object", "ARN": f"arn:aws:s3:::{RANSOM_BUCKET}/{key}"}, bucket]
    elif batch:
        res = [{"type": "AWS::S3::Object", "ARNPrefix": f"arn:aws:s3:::{RANSOM_BUCKET}/"}, bucket]
    params["x-id"] = name
    return _data_event(a.call(who, t, "s3", name, params=params, resources=res, host=host,
                              response=response, extra=extra))


def _ransom_keys() -> list[str]:
    """The 51 object names of the technique's Terraform (two words, an extension)."""
    n = len(RANSOM_WORDS)
    return [f"{RANSOM_WORDS[i % n]}_{RANSOM_WORDS[(i // n + i + 1) % n]}.{RANSOM_EXT[i % 6]}"
            for i in range(RANSOM_OBJECTS)]


def _download_all(a: Aws, t: datetime, who: Actor, keys: list[str]) -> list[Json]:
    """utils.DownloadAllObjects: ListObjectsV2 (CloudTrail names it ListObjects, list-type 2),
    then GetObject of every key."""
    ms = timedelta(milliseconds=150)
    out = [_object_call(a, t, who, "ListObjects", None, {"list-type": "2"})]
    return out + [_object_call(a, t + (i + 1) * ms, who, "GetObject", k) for i, k in enumerate(keys)]


def _ransom_individual(a: Aws, t: datetime, who: Actor) -> list[Json]:
    """List every version, download each object, delete each version one by one, upload the
    note (Stratus: 51 objects, one version each)."""
    keys = _ransom_keys()
    ms = timedelta(milliseconds=150)
    out = [_object_call(a, t, who, "ListObjectVersions", None, {"versions": ""})]
    out += [_object_call(a, t + (i + 1) * ms, who, "GetObject", k) for i, k in enumerate(keys)]
    t_del = t + timedelta(seconds=12)
    out += [_object_call(a, t_del + i * ms, who, "DeleteObject", k,
                         {"versionId": a.ids.chars(VERSION_CHARS, 32)})
            for i, k in enumerate(keys)]
    out.append(_object_call(a, t_del + timedelta(seconds=10), who, "PutObject", RANSOM_NOTE))
    return out


def _ransom_batch(a: Aws, t: datetime, who: Actor) -> list[Json]:
    """Download everything, list every version, delete them all in one DeleteObjects request
    (CloudTrail logs neither its keys nor their number), upload the note."""
    out = _download_all(a, t, who, _ransom_keys())
    t_del = t + timedelta(seconds=12)
    out.append(_object_call(a, t_del, who, "ListObjectVersions", None, {"versions": ""}))
    out.append(_object_call(a, t_del + timedelta(seconds=1), who, "DeleteObjects", None,
                            {"delete": ""}, batch=True))
    out.append(_object_call(a, t_del + timedelta(seconds=3), who, "PutObject", RANSOM_NOTE))
    return out


def _ransom_sse_c(a: Aws, t: datetime, who: Actor) -> list[Json]:
    """Download everything, list the versions, copy every object onto itself under the
    technique's customer-provided AES256 key (CopyObject with the SSE-C headers: S3 logs the
    algorithm, never the key), upload the note."""
    keys = _ransom_keys()
    out = _download_all(a, t, who, keys)
    t_enc = t + timedelta(seconds=12)
    out.append(_object_call(a, t_enc, who, "ListObjectVersions", None, {"versions": ""}))
    ms = timedelta(milliseconds=200)
    out += [_object_call(a, t_enc + (i + 1) * ms, who, "CopyObject", k,
                         {SSE_C_HEADER: "AES256", "x-amz-copy-source": f"{RANSOM_BUCKET}/{k}"},
                         response={SSE_C_HEADER: "AES256"},
                         extra={**a.s3_extra(0, 0), "SSEApplied": "SSE_C"})
            for i, k in enumerate(keys)]
    out.append(_object_call(a, t_enc + timedelta(seconds=12), who, "PutObject", RANSOM_NOTE))
    return out


def _instance_discovery(a: Aws, t: datetime, who: Actor) -> list[Json]:
    """The operator waits for the instance in SSM, sends the discovery commands
    (AWS-RunShellScript), and reads the result; the instance runs them with its role, whose
    only policy is AmazonSSMManagedInstanceCore: every call but GetCallerIdentity is denied."""
    s = timedelta(seconds=1)
    ssm_filter = {"filters": [{"key": "InstanceIds", "values": [INSTANCE_ID]}]}
    command_id = a.ids.uuid()
    out = [a.call(who, t, "ssm", "DescribeInstanceInformation", params=ssm_filter),
           a.call(who, t + 2 * s, "ssm", "SendCommand",
                  params={"documentName": "AWS-RunShellScript", "instanceIds": [INSTANCE_ID],
                          "parameters": "HIDDEN_DUE_TO_SECURITY_REASONS", "interactive": False},
                  response={"command": {"commandId": command_id,
                                        "documentName": "AWS-RunShellScript",
                                        "instanceIds": [INSTANCE_ID], "status": "Pending",
                                        "parameters": "HIDDEN_DUE_TO_SECURITY_REASONS"}})]
    # the session is named after the instance: userIdentity.arn ends with its id (Stratus's
    # Detection section)
    box = Actor(a.assumed(ACCT, INSTANCE_ROLE, INSTANCE_ID, t - timedelta(minutes=6), ec2=True),
                INSTANCE_IP, INSTANCE_CLI)
    for i, (svc, name, cmd, action, params) in enumerate(INSTANCE_CALLS):
        out.append(a.call(box, t + (5 + 2 * i) * s, svc, name, cmd=cmd, params=params,
                          error=None if svc == "sts" else _denial(box, svc, action)))
    out.append(a.call(who, t + 40 * s, "ssm", "GetCommandInvocation",
                      params={"commandId": command_id, "instanceId": INSTANCE_ID}))
    return out


def _denial(who: Actor, svc: str, action: str) -> tuple[str, str]:
    """(errorCode, errorMessage) of a call the role's policy does not allow, as each service
    words it (S3 says no more than "Access Denied")."""
    if svc == "s3":
        return "AccessDenied", "Access Denied"
    message = denied(who.ident, action, "*")
    if svc == "ec2":
        return ("Client.UnauthorizedOperation",
                f"You are not authorized to perform this operation. {message}")
    # the JSON / REST APIs (CloudTrail, GuardDuty) name it AccessDeniedException, the query ones
    # (IAM, STS) AccessDenied
    json_api = svc in ("cloudtrail", "guardduty")
    return ("AccessDeniedException" if json_api else "AccessDenied"), message


def _ses_enumerate(a: Aws, t: datetime, who: Actor) -> list[Json]:
    """Sending enabled? which identities? verified? the quota (Stratus v2.36's order)."""
    s = timedelta(seconds=1)
    return [
        a.call(who, t, "ses", "GetAccountSendingEnabled"),
        a.call(who, t + s, "ses", "ListIdentities"),
        a.call(who, t + 2 * s, "ses", "GetIdentityVerificationAttributes",
               params={"identities": list(SES_IDENTITIES)}),
        a.call(who, t + 3 * s, "ses", "GetSendQuota"),
    ]


# a rule raising a finding is labelled by its id, a correlation by its name (emulate/check.py)
TRAIL_LIFECYCLE = related_id("aws_s3_cloudtrail_bucket_lifecycle_expiry")
NOTEBOOK_LIFECYCLE = related_id("aws_sagemaker_notebook_lifecycle_config_attached")
AMI_DEREGISTERED = related_id("aws_ec2_ami_deregistered")
SSM_SHELL = related_id("aws_ssm_send_command_shell")  # the operator's SendCommand itself

TABLE: dict[str, Entry] = {
    "aws.defense-evasion.cloudtrail-lifecycle-rule": (
        "a 1-day expiry lifecycle rule on the CloudTrail bucket", _aws(_lifecycle_rule),
        (TRAIL_LIFECYCLE,)),
    "aws.execution.sagemaker-update-lifecycle-config": (
        "a lifecycle configuration attached to a stopped SageMaker notebook, then started",
        _aws(_sagemaker_lifecycle), (NOTEBOOK_LIFECYCLE,)),
    "aws.impact.ec2-deregister-ami": (
        "DeregisterImage of an AMI", _aws(_deregister_ami), (AMI_DEREGISTERED,)),
    "aws.impact.s3-ransomware-individual-deletion": (
        "51 objects of a versioned bucket downloaded, deleted version by version, a note left",
        _aws(_ransom_individual), ("aws_s3_objects_bulk_deleted",)),
    "aws.impact.s3-ransomware-batch-deletion": (
        "51 objects downloaded, every version deleted in one DeleteObjects request, a note left",
        _aws(_ransom_batch), ("aws_s3_versions_batch_deleted_then_uploaded",)),
    "aws.impact.s3-ransomware-client-side-encryption": (
        "51 objects downloaded and copied onto themselves under a customer-provided key, a note left",
        _aws(_ransom_sse_c), ("aws_s3_objects_bulk_encrypted_sse_c",)),
    "aws.discovery.ec2-enumerate-from-instance": (
        "discovery commands sent through SSM, run by the instance's role (all but one denied)",
        _aws(_instance_discovery), ("aws_instance_role_discovery_burst", SSM_SHELL)),
    "aws.discovery.ses-enumerate": (
        "SES sending status, identities, their verification and the quota read with a stolen key",
        _aws(_ses_enumerate), ("aws_ses_sending_enumerated",)),
}
