"""GCP Cloud Audit Logs builders: one LogEntry (protoPayload AuditLog) as a Cloud Storage sink
or `gcloud logging read` writes it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from trailhound.emulate.world import LOWER_ALNUM, PROJECT, Ids, Json, at, frac

GCLOUD = (
    "google-cloud-sdk gcloud/462.0.1 command/gcloud.{} invocation-id/{} environment/None "
    "environment-version/None client-os/LINUX client-os-ver/6.6.9 client-pltf-arch/x86_64 "
    "interactive/True from-script/False python/3.11.6 term/xterm-256color "
    "(Linux 6.6.9-amd64),gzip(gfe)"
)
IAM_ADMIN = "type.googleapis.com/google.iam.admin.v1."


@dataclass(frozen=True)
class GcpCaller:
    email: str
    ip: str
    ua: str  # may hold {} for the gcloud command
    key: str | None = None  # serviceAccountKeyName


class Gcp:
    def __init__(self, ids: Ids) -> None:
        self.ids = ids
        names = (
            "ci-deployer",
            "terraform-admin",
            "gke-node-metrics",
            "instance-scheduler",
            "grafana-reader",
        )
        self.uid = {n: ids.digits(21) for n in names}

    @staticmethod
    def sa(name: str) -> str:
        return f"{name}@{PROJECT}.iam.gserviceaccount.com"

    def sa_resource(self, name: str) -> Json:
        labels = {"email_id": self.sa(name), "project_id": PROJECT, "unique_id": self.uid[name]}
        return {"type": "service_account", "labels": labels}

    def entry(
        self,
        when: str | datetime,
        log: str,
        c: GcpCaller,
        service: str,
        method: str,
        resource_name: str,
        resource: Json,
        *,
        perms: list[tuple[str, str, str]] | None = None,
        cmd: str = "",
        status: Json | None = None,
        request: Json | None = None,
        response: Json | None = None,
        severity: str | None = None,
        operation: Json | None = None,
        location: str | None = None,
        extra: Json | None = None,
    ) -> Json:
        """One LogEntry; `perms` = (resource, permission, resource type) authorisation checks."""
        i = self.ids
        t = at(when)
        stamp = frac(t, 9, i)
        denied_ = bool(status and status.get("code"))
        auth: Json = {"principalEmail": c.email}
        if c.key:
            auth["serviceAccountKeyName"] = c.key
        auth["principalSubject"] = "serviceAccount:" + c.email
        ua = c.ua.format(cmd, i.hex(32)) if "{}" in c.ua else c.ua
        pp: Json = {"@type": "type.googleapis.com/google.cloud.audit.AuditLog"}
        if status is not None or log == "activity":
            pp["status"] = status or {}
        pp["authenticationInfo"] = auth
        pp["requestMetadata"] = {
            "callerIp": c.ip,
            "callerSuppliedUserAgent": ua,
            "requestAttributes": {"time": stamp, "auth": {}},
            "destinationAttributes": {},
        }
        pp["serviceName"] = service
        pp["methodName"] = method
        if perms:
            kind = "ADMIN_READ" if log == "data_access" else "ADMIN_WRITE"
            pp["authorizationInfo"] = [
                {
                    "resource": r,
                    "permission": p,
                    "granted": not denied_,
                    "resourceAttributes": {"service": service, "name": r, "type": rt},
                    "permissionType": kind,
                }
                for r, p, rt in perms
            ]
        pp["resourceName"] = resource_name
        if location:
            pp["resourceLocation"] = {"currentLocations": [location]}
        for k, v in (("request", request), ("response", response)):
            if v is not None:
                pp[k] = v
        pp |= extra or {}
        e: Json = {
            "protoPayload": pp,
            "insertId": i.chars(LOWER_ALNUM, 12),
            "resource": resource,
            "timestamp": stamp,
            "severity": severity or ("INFO" if log == "data_access" else "NOTICE"),
            "logName": f"projects/{PROJECT}/logs/cloudaudit.googleapis.com%2F{log}",
        }
        if operation:
            e["operation"] = operation
        e["receiveTimestamp"] = frac(t + timedelta(milliseconds=i.rng.randint(300, 1900)), 9, i)
        return e
