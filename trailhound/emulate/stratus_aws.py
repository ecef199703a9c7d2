"""Stratus Red Team AWS techniques with no detonation log in ../shared (rules/stratus.py
STRATUS_EMULATED): one scenario each, the CloudTrail records of the API calls the technique's Go
package (v2/internal/attacktechniques/aws/...) makes, built with the same record builder as
every other AWS scenario (emulate/cloudtrail.py). The table is merged into emulate/stratus.py's."""

from __future__ import annotations

from datetime import datetime, timedelta

from trailhound.emulate.cloudtrail import Actor, Aws
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
                 extra_params: Json | None = None) -> Json:
    """One S3 object-level call on the victim bucket, with the resources CloudTrail lists."""
    host = f"{RANSOM_BUCKET}.s3.{REGION}.amazonaws.com"
    params: Json = {"bucketName": RANSOM_BUCKET, "Host": host, **(extra_params or {})}
    bucket = {"accountId": ACCT, "type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{RANSOM_BUCKET}"}
    res: list[Json] = [bucket]
    if key is not None:
        params["key"] = key
        res = [{"type": "AWS::S3::Object", "ARN": f"arn:aws:s3:::{RANSOM_BUCKET}/{key}"}, bucket]
    params["x-id"] = name
    return _data_event(a.call(who, t, "s3", name, params=params, resources=res, host=host))


def _ransom_individual(a: Aws, t: datetime, who: Actor) -> list[Json]:
    """List every version, download each object, delete each version one by one, upload the
    note (Stratus: 51 objects, one version each)."""
    n = len(RANSOM_WORDS)
    keys = [f"{RANSOM_WORDS[i % n]}_{RANSOM_WORDS[(i // n + i + 1) % n]}.{RANSOM_EXT[i % 6]}"
            for i in range(RANSOM_OBJECTS)]
    ms = timedelta(milliseconds=150)
    out = [_object_call(a, t, who, "ListObjectVersions", None, {"versions": ""})]
    out += [_object_call(a, t + (i + 1) * ms, who, "GetObject", k) for i, k in enumerate(keys)]
    t_del = t + timedelta(seconds=12)
    out += [_object_call(a, t_del + i * ms, who, "DeleteObject", k,
                         {"versionId": a.ids.chars(VERSION_CHARS, 32)})
            for i, k in enumerate(keys)]
    out.append(_object_call(a, t_del + timedelta(seconds=10), who, "PutObject", RANSOM_NOTE))
    return out


# a rule raising a finding is labelled by its id, a correlation by its name (emulate/check.py)
TRAIL_LIFECYCLE = related_id("aws_s3_cloudtrail_bucket_lifecycle_expiry")
NOTEBOOK_LIFECYCLE = related_id("aws_sagemaker_notebook_lifecycle_config_attached")
AMI_DEREGISTERED = related_id("aws_ec2_ami_deregistered")

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
}
