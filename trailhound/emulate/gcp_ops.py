"""The GCP calls the scenarios are made of: Cloud Audit Logs LogEntries (Admin Activity) with
the request, response and authorization checks the services log for them."""

from __future__ import annotations

from datetime import datetime

from trailhound.emulate.gcp import GCLOUD, IAM_ADMIN, Gcp, GcpCaller
from trailhound.emulate.world import GCP_ATTACKER, PROJECT, Json

PROJECT_PATH = f"projects/{PROJECT}"
PROJECT_RES = {"type": "project", "labels": {"project_id": PROJECT}}
PROJECT_TYPE = "cloudresourcemanager.googleapis.com/Project"
IAM, CRM = "iam.googleapis.com", "cloudresourcemanager.googleapis.com"


def attacker(g: Gcp) -> GcpCaller:
    """The leaked ci-deployer key file, used with gcloud."""
    ci = g.sa("ci-deployer")
    key = f"//iam.googleapis.com/{PROJECT_PATH}/serviceAccounts/{ci}/keys/{g.ids.hex(40)}"
    return GcpCaller(ci, GCP_ATTACKER, GCLOUD, key)


def create_sa_key(g: Gcp, when: datetime, c: GcpCaller, name: str) -> Json:
    sa_path = f"projects/-/serviceAccounts/{g.uid[name]}"
    request = {"name": f"projects/-/serviceAccounts/{g.sa(name)}", "private_key_type": 2,
               "@type": IAM_ADMIN + "CreateServiceAccountKeyRequest"}
    response = {
        "name": f"{PROJECT_PATH}/serviceAccounts/{g.sa(name)}/keys/{g.ids.hex(40)}",
        "valid_after_time": {"seconds": str(int(when.timestamp()))},
        "valid_before_time": {"seconds": "253402300799"},
        "key_algorithm": 2, "private_key_type": 2, "key_origin": 2, "key_type": 1,
        "@type": IAM_ADMIN + "ServiceAccountKey"}
    return g.entry(when, "activity", c, IAM, "google.iam.admin.v1.CreateServiceAccountKey",
                   sa_path, g.sa_resource(name), cmd="iam.service-accounts.keys.create",
                   perms=[(sa_path, "iam.serviceAccountKeys.create",
                           "iam.googleapis.com/ServiceAccount")],
                   request=request, response=response)


def grant_owner(g: Gcp, when: datetime, c: GcpCaller, member: str) -> Json:
    """`gcloud projects add-iam-policy-binding --role roles/owner`: SetIamPolicy on the project."""
    return add_binding(g, when, c, "roles/owner", member)


def add_binding(g: Gcp, when: datetime, c: GcpCaller, role: str, member: str) -> Json:
    """`gcloud projects add-iam-policy-binding`: SetIamPolicy on the project adding one binding."""
    bindings = [{"role": role, "members": [member]}]
    delta = {"@type": "type.googleapis.com/google.iam.v1.logging.AuditData", "policyDelta": {
        "bindingDeltas": [{"action": "ADD", "role": role, "member": member}]}}
    return g.entry(when, "activity", c, CRM, "SetIamPolicy", PROJECT_PATH, PROJECT_RES,
                   cmd="projects.add-iam-policy-binding",
                   perms=[(PROJECT_PATH, "resourcemanager.projects.setIamPolicy", PROJECT_TYPE)],
                   request={"@type": "type.googleapis.com/google.iam.v1.SetIamPolicyRequest",
                            "resource": PROJECT, "policy": {"bindings": bindings}},
                   response={"@type": "type.googleapis.com/google.iam.v1.Policy",
                             "bindings": bindings},
                   extra={"serviceData": delta})


def delete_sink(g: Gcp, when: datetime, c: GcpCaller) -> Json:
    sink = f"{PROJECT_PATH}/sinks/audit-to-siem"
    res = {"type": "logging_sink",
           "labels": {"project_id": PROJECT, "name": "audit-to-siem", "destination": ""}}
    return g.entry(when, "activity", c, "logging.googleapis.com",
                   "google.logging.v2.ConfigServiceV2.DeleteSink", sink, res,
                   cmd="logging.sinks.delete",
                   perms=[(sink, "logging.sinks.delete", "logging.googleapis.com/LogSink")],
                   request={"@type": "type.googleapis.com/google.logging.v2.DeleteSinkRequest",
                            "sinkName": sink})


def insert_instance(g: Gcp, when: datetime, c: GcpCaller, vm: str, machine: str) -> Json:
    """The first entry of a compute insert (the one with the request)."""
    zone, vm_id = "us-central1-a", g.ids.digits(19)
    name = f"{PROJECT_PATH}/zones/{zone}/instances/{vm}"
    resource = {"type": "gce_instance",
                "labels": {"instance_id": vm_id, "project_id": PROJECT, "zone": zone}}
    op = f"operation-{int(when.timestamp() * 1000)}-{g.ids.hex(13)}"
    request = {"name": vm, "machineType": f"{PROJECT_PATH}/zones/{zone}/machineTypes/{machine}",
               "@type": "type.googleapis.com/compute.instances.insert"}
    return g.entry(when, "activity", c, "compute.googleapis.com", "v1.compute.instances.insert",
                   name, resource, cmd="compute.instances.create", location=zone,
                   perms=[(name, "compute.instances.create", "compute.instances")],
                   request=request,
                   operation={"id": op, "producer": "compute.googleapis.com", "first": True})
