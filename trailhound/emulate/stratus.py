"""The Stratus Red Team techniques for Azure and GCP that have no detonation log here, one scenario
each: the control-plane records the technique's detonation writes (per the Stratus page's
"Detection" section and the service's audit-log reference), built with the same record builders
as every other scenario. `techniques` is the Stratus technique's ATT&CK ids (rules/stratus.py);
`expects` the labels the default profile raises on it (tests/test_stratus_emulated.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from trailhound.emulate import (
    azure_ops,
    gcp_ops,
    stratus_aws,
    stratus_azure,
    stratus_azure_blob,
    stratus_gcp,
)
from trailhound.emulate.azure import AzCaller
from trailhound.emulate.entra import ATTACK_UA, GLOBAL_ADMIN, Entra, included, mod, target
from trailhound.emulate.gcp import IAM_ADMIN, Gcp, GcpCaller
from trailhound.emulate.gcp_ops import CRM, IAM, PROJECT_PATH, PROJECT_RES, PROJECT_TYPE
from trailhound.emulate.scenario import Ctx, Records, Scenario
from trailhound.emulate.stratus_base import OUTSIDER, RG, VM, Entry, GcpOp
from trailhound.emulate.stratus_base import azure as _azure
from trailhound.emulate.stratus_base import gcp as _gcp
from trailhound.emulate.stratus_base import one as _one
from trailhound.emulate.world import AZ_ATTACKER, DOMAIN, PROJECT, PROJECT_NUM, Json
from trailhound.rules.related_ids import related_id
from trailhound.rules.stratus import STRATUS_EMULATED

SA_TYPE = "iam.googleapis.com/ServiceAccount"


# --- Azure: Activity Log records in the diagnostic-settings export shape ------------------------

def _custom_script(c: Ctx, t: datetime, who: AzCaller) -> list[Json]:
    body = {"location": "westeurope", "properties": {
        "publisher": "Microsoft.Compute", "type": "CustomScriptExtension",
        "typeHandlerVersion": "1.10", "autoUpgradeMinorVersion": True,
        "settings": {"commandToExecute": "powershell -c \"whoami /all\""}}}
    return azure_ops.write_ok(c.az, t, "Microsoft.Compute/virtualMachines/extensions/write",
                              f"{VM}/extensions/CustomScriptExtension", who, body)


def _run_command(c: Ctx, t: datetime, who: AzCaller) -> list[Json]:
    body = {"commandId": "RunPowerShellScript", "script": ["whoami /all"]}
    return azure_ops.write_ok(c.az, t, "Microsoft.Compute/virtualMachines/runCommand/action",
                              VM, who, body)


def _disk_export(c: Ctx, t: datetime, who: AzCaller) -> list[Json]:
    disk = f"{RG}/providers/Microsoft.Compute/disks/vm-app-01_OsDisk_1"
    return azure_ops.write_ok(c.az, t, "Microsoft.Compute/disks/beginGetAccess/action", disk,
                              who, {"access": "Read", "durationInSeconds": 86400})


def _bastion_link(c: Ctx, t: datetime, who: AzCaller) -> list[Json]:
    bastion = f"{RG}/providers/Microsoft.Network/bastionHosts/bas-app-prod"
    return azure_ops.write_ok(c.az, t, "Microsoft.Network/bastionHosts/createShareableLinks/action",
                              bastion, who, {"vms": [{"vm": {"id": VM}}]})


# --- GCP: Cloud Audit Logs LogEntries ------------------------------------------------------------

def _disable_audit_logs(g: Gcp, t: datetime, who: GcpCaller) -> list[Json]:
    """SetIamPolicy with updateMask auditConfigs and none left: Data Access logs stop."""
    delta = {"@type": "type.googleapis.com/google.iam.v1.logging.AuditData", "policyDelta": {
        "auditConfigDeltas": [{"action": "REMOVE", "service": "allServices",
                               "logType": "DATA_READ"},
                              {"action": "REMOVE", "service": "allServices",
                               "logType": "DATA_WRITE"}]}}
    return [g.entry(t, "activity", who, CRM, "SetIamPolicy", PROJECT_PATH, PROJECT_RES,
                    cmd="projects.set-iam-policy",
                    perms=[(PROJECT_PATH, "resourcemanager.projects.setIamPolicy",
                            PROJECT_TYPE)],
                    request={"@type": "type.googleapis.com/google.iam.v1.SetIamPolicyRequest",
                             "resource": PROJECT, "policy": {"auditConfigs": []},
                             "updateMask": "auditConfigs"},
                    response={"@type": "type.googleapis.com/google.iam.v1.Policy"},
                    extra={"serviceData": delta})]


def _move_project(g: Gcp, t: datetime, who: GcpCaller) -> list[Json]:
    """Projects.MoveProject to the attacker's organisation; the page expects it denied (the
    caller lacks resourcemanager.projects.move), and Admin Activity logs it either way."""
    name = f"projects/{PROJECT_NUM}"
    return [g.entry(t, "activity", who, CRM, "google.cloud.resourcemanager.v3.Projects.MoveProject",
                    name, PROJECT_RES, cmd="projects.move",
                    perms=[(name, "resourcemanager.projects.move", PROJECT_TYPE)],
                    status={"code": 7, "message": "The caller does not have permission"},
                    severity="ERROR",
                    request={"@type": "type.googleapis.com/google.cloud.resourcemanager.v3."
                             "MoveProjectRequest", "name": name,
                             "destinationParent": "organizations/734120998201"})]


def _share(kind: str, res_type: str) -> GcpOp:
    """`gcloud compute <kind>s add-iam-policy-binding --member <outsider>`."""
    def op(g: Gcp, t: datetime, who: GcpCaller) -> list[Json]:
        name = f"{PROJECT_PATH}/{'zones/us-central1-a/' if kind == 'disk' else 'global/'}" \
               f"{kind}s/stratus-{kind}"
        bindings = [{"role": "roles/owner", "members": [OUTSIDER]}]
        return [g.entry(t, "activity", who, "compute.googleapis.com",
                        f"v1.compute.{kind}s.setIamPolicy", name,
                        {"type": res_type, "labels": {"project_id": PROJECT}},
                        cmd=f"compute.{kind}s.add-iam-policy-binding",
                        perms=[(name, f"compute.{kind}s.setIamPolicy", f"compute.{kind}s")],
                        request={"@type": f"type.googleapis.com/compute.{kind}s.setIamPolicy",
                                 "policy": {"bindings": bindings}},
                        response={"@type": "type.googleapis.com/compute.Policy",
                                  "bindings": bindings})]
    return op


def _backdoor_sa_policy(g: Gcp, t: datetime, who: GcpCaller) -> list[Json]:
    """The service account's own policy lets an outsider mint its tokens."""
    sa_path = f"{PROJECT_PATH}/serviceAccounts/{g.sa('terraform-admin')}"
    bindings = [{"role": "roles/iam.serviceAccountTokenCreator", "members": [OUTSIDER]}]
    return [g.entry(t, "activity", who, IAM, "google.iam.admin.v1.SetIAMPolicy", sa_path,
                    g.sa_resource("terraform-admin"),
                    cmd="iam.service-accounts.add-iam-policy-binding",
                    perms=[(sa_path, "iam.serviceAccounts.setIamPolicy", SA_TYPE)],
                    request={"@type": "type.googleapis.com/google.iam.v1.SetIamPolicyRequest",
                             "resource": sa_path, "policy": {"bindings": bindings}},
                    response={"@type": "type.googleapis.com/google.iam.v1.Policy",
                              "bindings": bindings})]


def _create_admin_sa(g: Gcp, t: datetime, who: GcpCaller) -> list[Json]:
    name = "stratus-red-team-admin"
    email = f"{name}@{PROJECT}.iam.gserviceaccount.com"
    create = g.entry(t, "activity", who, IAM, "google.iam.admin.v1.CreateServiceAccount",
                     PROJECT_PATH, {"type": "service_account",
                                    "labels": {"email_id": email, "project_id": PROJECT}},
                     cmd="iam.service-accounts.create",
                     perms=[(PROJECT_PATH, "iam.serviceAccounts.create", PROJECT_TYPE)],
                     request={"@type": IAM_ADMIN + "CreateServiceAccountRequest",
                              "name": PROJECT_PATH, "account_id": name},
                     response={"@type": IAM_ADMIN + "ServiceAccount", "email": email,
                               "project_id": PROJECT})
    grant = gcp_ops.add_binding(g, t + timedelta(seconds=4), who, "roles/owner",
                        f"serviceAccount:{email}")
    return [create, grant]


def _impersonate(g: Gcp, t: datetime, who: GcpCaller) -> list[Json]:
    """GenerateAccessToken for another service account (a Data Access entry)."""
    target = f"projects/-/serviceAccounts/{g.sa('terraform-admin')}"
    return [g.entry(t, "data_access", who, "iamcredentials.googleapis.com",
                    "GenerateAccessToken", target, g.sa_resource("terraform-admin"),
                    perms=[(target, "iam.serviceAccounts.getAccessToken", SA_TYPE)],
                    request={"@type": "type.googleapis.com/google.iam.credentials.v1."
                             "GenerateAccessTokenRequest", "name": target},
                    extra={"metadata": {"identityDelegationChain": [target]}})]


# --- Entra ID: audit records as the diagnostic export writes them --------------------------------

GUEST = "stratus.guest@gmail.example"
APP_CREDS = "Update application – Certificates and secrets management "  # Entra's trailing space


def _by(e: Entra) -> Json:
    return e.by_user(azure_ops.MARCUS_UPN, e.az.marcus, AZ_ATTACKER)


def _audit(e: Entra, t: datetime, activity: str, category: str, op: str, targets: list[Json],
           service: str = "Core Directory", details: list[dict[str, str]] | None = None) -> Json:
    return e.audit(t, activity, category, op, _by(e), targets, ua=ATTACK_UA,
                   identity="Marcus Okafor", service=service, details=details)


def _app_secret(e: Entra, t: datetime, app: str, name: str) -> Json:
    key = [{"KeyIdentifier": e.ids.uuid(), "KeyType": "Password", "KeyUsage": "Verify",
            "DisplayName": "stratus"}]
    return _audit(e, t, APP_CREDS, "ApplicationManagement", "Update",
                  [target(app, "Application", name, mods=[mod("KeyDescription", key),
                                                          included(["KeyDescription"])])])


def _guest(e: Entra, t: datetime) -> list[Json]:
    """The invitation (Invited Users) and the guest account it creates (Core Directory)."""
    oid = e.ids.uuid()
    upn = GUEST.replace("@", "_") + f"#EXT#@{DOMAIN}"
    invite = _audit(e, t, "Invite external user", "UserManagement", "Add",
                    [target(oid, "User", "stratus.guest")], service="Invited Users",
                    details=[{"key": "invitedUserEmailAddress", "value": GUEST}])
    user = _audit(e, t + timedelta(seconds=1), "Add user", "UserManagement", "Add",
                  [target(oid, "User", upn=upn, mods=[
                      mod("UserType", ["Guest"]), mod("UserPrincipalName", [upn]),
                      included(["UserType", "UserPrincipalName"])])],
                  details=[{"key": "UserType", "value": "Guest"}])
    return [invite, user]


def _backdoor_app(e: Entra, t: datetime) -> list[Json]:
    return [_app_secret(e, t, e.ids.uuid(), "acme-billing-sync")]


def _backdoor_fic(e: Entra, t: datetime) -> list[Json]:
    """A federated identity credential trusting the attacker's OIDC issuer (a storage account)."""
    fic = [{"Name": "stratus-red-team-oidc-fic", "Issuer":
            "https://stratusficapply1h.blob.core.windows.net/oidc",
            "Subject": "stratus-red-team-oidc", "Id": e.ids.uuid(),
            "Audiences": ["api://AzureADTokenExchange"], "EncodingVersion": 2}]
    return [_audit(e, t, "Update application", "ApplicationManagement", "Update",
                   [target(e.ids.uuid(), "Application", "acme-billing-sync",
                           mods=[mod("FederatedIdentityCredentials", fic, []),
                                 included(["FederatedIdentityCredentials"])])])]


def _backdoor_sp(e: Entra, t: datetime) -> list[Json]:
    key = [{"KeyIdentifier": e.ids.uuid(), "KeyType": "Password", "KeyUsage": "Verify",
            "DisplayName": "stratus"}]
    return [_audit(e, t, "Add service principal credentials", "ApplicationManagement", "Update",
                   [target(e.ids.uuid(), "ServicePrincipal", "acme-billing-sync",
                           mods=[mod("KeyDescription", key), included(["KeyDescription"])])])]


def _new_app(e: Entra, t: datetime) -> list[Json]:
    """A new application, its service principal, a secret, and a privileged role for it."""
    app, sp = e.ids.uuid(), e.ids.uuid()
    name = "stratus-red-team-app"
    return [
        _audit(e, t, "Add application", "ApplicationManagement", "Add",
               [target(app, "Application", name)]),
        _audit(e, t + timedelta(seconds=1), "Add service principal", "ApplicationManagement",
               "Add", [target(sp, "ServicePrincipal", name)]),
        _app_secret(e, t + timedelta(seconds=2), app, name),
        _audit(e, t + timedelta(seconds=3), "Add member to role", "RoleManagement", "Add",
               [target(GLOBAL_ADMIN, "Role", "Global Administrator", mods=[
                   mod("Role.DisplayName", "Global Administrator"),
                   mod("Role.TemplateId", GLOBAL_ADMIN)]),
                target(sp, "ServicePrincipal", name)]),
    ]


def _admin_unit(setting: str, value: object) -> Callable[[Entra, datetime], list[Json]]:
    """An administrative unit made hidden or restricted, a backdoor user put in it, and a role
    scoped to it: its members are invisible or untouchable to the tenant's own admins."""
    def op(e: Entra, t: datetime) -> list[Json]:
        au, user = e.ids.uuid(), e.ids.uuid()
        backdoor = f"svc-au-sync@{DOMAIN}"
        return [
            _audit(e, t, "Add administrative unit", "AdministrativeUnit", "Add",
                   [target(au, "Other", "Stratus AU", mods=[mod(setting, [value]),
                                                            included([setting])])]),
            _audit(e, t + timedelta(seconds=2), "Add member to administrative unit",
                   "AdministrativeUnit", "Assign",
                   [target(au, "Other", "Stratus AU"), target(user, "User", upn=backdoor)]),
            _audit(e, t + timedelta(seconds=4), "Add scoped member to role", "RoleManagement",
                   "Add", [target(e.ids.uuid(), "Role", "User Administrator"),
                           target(user, "User", upn=backdoor)]),
        ]
    return op


def _entra(op: Callable[[Entra, datetime], list[Json]]) -> Callable[[Ctx, datetime], Records]:
    def build(c: Ctx, t0: datetime) -> Records:
        return {"entra_audit": op(c.entra, t0)}

    return build


# The related pack's rules raising on these scenarios (a finding labels a rule without a signal
# by its id, emulate/check.py)
VM_EXTENSION = related_id("azure_activity_vm_extension_written")
DISK_EXPORTED = related_id("azure_activity_disk_exported")
BASTION_LINK = related_id("azure_activity_bastion_shareable_link")
AUDIT_CONFIG_REMOVED = related_id("gcp_audit_audit_config_removed")
PROJECT_MOVED = related_id("gcp_audit_project_moved")
TOKEN_MINTED = related_id("gcp_audit_service_account_token_minted")
ADMIN_UNIT = related_id("entra_audit_administrative_unit_scoped")
GCP_SHARED = related_id("gcp_audit_compute_resource_shared")
APP_FIC = related_id("entra_audit_application_fic_added")

TABLE: dict[str, Entry] = {
    "azure.execution.vm-custom-script-extension": (
        "a Custom Script Extension on a VM", _azure(_custom_script),
        (VM_EXTENSION,)),
    "azure.execution.vm-run-command": (
        "Run Command on a VM", _azure(_run_command), ("compute_create",)),
    "azure.exfiltration.disk-export": (
        "a read SAS URL for a managed disk (beginGetAccess)", _azure(_disk_export),
        (DISK_EXPORTED,)),
    "azure.persistence.create-bastion-shareable-link": (
        "an Azure Bastion shareable link to a VM", _azure(_bastion_link),
        (BASTION_LINK,)),
    "gcp.defense-evasion.delete-logging-sink": (
        "DeleteSink of the audit export", _gcp(_one(gcp_ops.delete_sink)),
        ("security_disable",)),
    "gcp.defense-evasion.disable-audit-logs": (
        "SetIamPolicy removing the project's audit configs", _gcp(_disable_audit_logs),
        ("priv_esc", AUDIT_CONFIG_REMOVED)),
    "gcp.defense-evasion.remove-project-from-organization": (
        "MoveProject out of the organisation", _gcp(_move_project),
        (PROJECT_MOVED,)),
    "gcp.exfiltration.share-compute-disk": (
        "a disk's IAM policy granting an outsider", _gcp(_share("disk", "gce_disk")),
        ("priv_esc", GCP_SHARED)),
    "gcp.exfiltration.share-compute-image": (
        "an image's IAM policy granting an outsider", _gcp(_share("image", "gce_image")),
        ("priv_esc", GCP_SHARED)),
    "gcp.exfiltration.share-compute-snapshot": (
        "a snapshot's IAM policy granting an outsider", _gcp(_share("snapshot", "gce_snapshot")),
        ("priv_esc", GCP_SHARED)),
    "gcp.persistence.backdoor-service-account-policy": (
        "a service account's policy granting an outsider Token Creator",
        _gcp(_backdoor_sa_policy), ("priv_esc",)),
    "gcp.persistence.create-admin-service-account": (
        "a new service account granted roles/owner", _gcp(_create_admin_sa),
        ("iam_change", "priv_esc")),
    "gcp.persistence.create-service-account-key": (
        "CreateServiceAccountKey for terraform-admin",
        _gcp(_one(lambda g, t, w: gcp_ops.create_sa_key(g, t, w, "terraform-admin"))),
        ("iam_change",)),
    "gcp.persistence.invite-external-user": (
        "SetIamPolicy granting an outside user roles/viewer",
        _gcp(_one(lambda g, t, w: gcp_ops.add_binding(g, t, w, "roles/viewer", OUTSIDER))),
        ("priv_esc",)),
    "gcp.privilege-escalation.impersonate-service-accounts": (
        "GenerateAccessToken for terraform-admin", _gcp(_impersonate), (TOKEN_MINTED,)),
    "entra-id.persistence.backdoor-application": (
        "a client secret added to an existing application", _entra(_backdoor_app),
        ("iam_change",)),
    "entra-id.persistence.backdoor-application-fic": (
        "a federated identity credential added to an application", _entra(_backdoor_fic),
        (APP_FIC,)),
    "entra-id.persistence.backdoor-application-sp": (
        "a client secret added to an application's service principal", _entra(_backdoor_sp),
        ("iam_change",)),
    "entra-id.persistence.guest-user": (
        "an external guest user invited", _entra(_guest), ("iam_change",)),
    "entra-id.persistence.hidden-au": (
        "a hidden-membership administrative unit with a scoped admin in it",
        _entra(_admin_unit("Visibility", "HiddenMembership")), (ADMIN_UNIT,)),
    "entra-id.persistence.new-application": (
        "a new application with a secret, made Global Administrator", _entra(_new_app),
        ("iam_change", "priv_esc")),
    "entra-id.persistence.restricted-au": (
        "a restricted-management administrative unit with a backdoor user in it",
        _entra(_admin_unit("IsMemberManagementRestricted", True)), (ADMIN_UNIT,)),
    **stratus_azure.TABLE,
    **stratus_azure_blob.TABLE,
    **stratus_gcp.TABLE,
    **stratus_aws.TABLE,
}


def scenario_name(stratus_id: str) -> str:
    """`gcp.persistence.create-service-account-key` -> `stratus_gcp_persistence_create_...`."""
    return "stratus_" + stratus_id.replace(".", "_").replace("-", "_")


SCENARIOS = tuple(
    Scenario(
        name=scenario_name(sid),
        family="stratus",
        summary=f"Stratus {sid}: {what}",
        techniques=tuple(sorted(t.upper() for t in STRATUS_EMULATED[sid])),
        expects=expects,
        build=build,
    )
    for sid, (what, build, expects) in TABLE.items()
)
