"""The Azure Resource Manager and Entra ID operations the scenarios are made of: Activity Log
records in the diagnostic-settings export shape (one record per phase of an operation), Entra
audit records and sign-ins as the diagnostic export writes them."""

from __future__ import annotations

import json
from datetime import datetime

from trailhound.emulate.azure import AZ_CLI_APP, OWNER, AzCaller, Azure, role_definition_id
from trailhound.emulate.entra import ATTACK_UA, GLOBAL_ADMIN, Entra, included, mod, target
from trailhound.emulate.world import AZ_ATTACKER, DOMAIN, SUB, Json

SUBSCRIPTION = f"/subscriptions/{SUB}"
ROLE_ASSIGNMENTS = "Microsoft.Authorization/roleAssignments"
MARCUS_UPN = f"marcus.okafor@{DOMAIN}"


def attacker(az: Azure, when: datetime) -> AzCaller:
    """Marcus Okafor's stolen session, used with the Azure CLI (its first-party client id)."""
    return az.user(MARCUS_UPN, "Marcus Okafor", az.marcus, AZ_ATTACKER, AZ_CLI_APP,
                   ("Owner", OWNER), when)


def write_ok(az: Azure, when: datetime, op: str, res: str, c: AzCaller,
             body: Json | None = None) -> list[Json]:
    """A write as the export logs it: Start (with the request body), then Success."""
    start = {"requestbody": json.dumps(body)} if body else {}
    done = "Succeeded.Created" if op.endswith("/write") else "Succeeded.OK"
    phases = [("Start", 0.0, "Started.", start), ("Success", 1.1, done, {})]
    return az.export(when, op, res, c, phases)


def read_ok(az: Azure, when: datetime, op: str, res: str, c: AzCaller) -> list[Json]:
    """A read or action logged once, on success."""
    return az.export(when, op, res, c, [("Success", 0.2, "Succeeded.OK", {})])


def list_role_assignments(az: Azure, when: datetime, c: AzCaller) -> list[Json]:
    """`az role assignment list`: Microsoft.Authorization/roleAssignments/read."""
    return read_ok(az, when, f"{ROLE_ASSIGNMENTS}/read", f"{SUBSCRIPTION}/providers/"
                   f"{ROLE_ASSIGNMENTS}", c)


def assign_owner(az: Azure, when: datetime, c: AzCaller, principal: str) -> list[Json]:
    ra = az.ids.uuid()
    body = {"Id": ra, "Properties": {
        "PrincipalId": principal, "PrincipalType": "User",
        "RoleDefinitionId": role_definition_id(OWNER), "Scope": SUBSCRIPTION,
        "Condition": None, "ConditionVersion": None}}
    res = f"{SUBSCRIPTION}/providers/{ROLE_ASSIGNMENTS}/{ra}"
    return write_ok(az, when, f"{ROLE_ASSIGNMENTS}/write", res, c, body)


def custom_role(az: Azure, when: datetime, c: AzCaller) -> list[Json]:
    """A custom role allowing every action on the subscription."""
    role = {"Name": az.custom_role, "Properties": {
        "RoleName": "Acme Backup Operator", "IsCustom": True,
        "Description": "Backup and restore operations", "AssignableScopes": [SUBSCRIPTION],
        "Permissions": [{"Actions": ["*"], "NotActions": [], "DataActions": [],
                         "NotDataActions": []}]}}
    res = f"{SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions/{az.custom_role}"
    return write_ok(az, when, "Microsoft.Authorization/roleDefinitions/write", res, c, role)


def create_vm(az: Azure, when: datetime, c: AzCaller, name: str, size: str) -> list[Json]:
    res = (f"{SUBSCRIPTION}/resourceGroups/rg-backup-relay/providers/"
           f"Microsoft.Compute/virtualMachines/{name}")
    body = {"location": "westeurope", "properties": {"hardwareProfile": {"vmSize": size}}}
    return az.export(when, "Microsoft.Compute/virtualMachines/write", res, c, [
        ("Start", 0, "Started.", {"requestbody": json.dumps(body)}),
        ("Accept", 3.4, "Accepted.Created", {}),
        ("Success", 48.2, "Succeeded.", {})])


def delete_activity_export(az: Azure, when: datetime, c: AzCaller) -> list[Json]:
    res = f"{SUBSCRIPTION}/providers/microsoft.insights/diagnosticSettings/sub-activity-to-siem"
    return write_ok(az, when, "Microsoft.Insights/diagnosticSettings/delete", res, c)


def cli_sign_in(e: Entra, when: datetime) -> Json:
    """The sign-in of the Azure CLI client (page test 2's second signal)."""
    return e.sign_in(when, MARCUS_UPN, "Marcus Okafor", e.az.marcus,
                     (AZ_CLI_APP, "Microsoft Azure CLI"), ip=AZ_ATTACKER)


def _marcus(e: Entra) -> Json:
    return e.by_user(MARCUS_UPN, e.az.marcus, AZ_ATTACKER)


def add_user(e: Entra, when: datetime, upn: str) -> Json:
    oid = e.ids.uuid()
    new = target(oid, "User", upn=upn, mods=[
        mod("AccountEnabled", [True]), mod("UserPrincipalName", [upn]), mod("UserType", ["Member"]),
        included(["AccountEnabled", "UserPrincipalName", "UserType"])])
    return e.audit(when, "Add user", "UserManagement", "Add", _marcus(e), [new],
                   details=[{"key": "UserType", "value": "Member"}], ua=ATTACK_UA,
                   identity="Marcus Okafor")


def add_global_admin(e: Entra, when: datetime, upn: str) -> Json:
    ga = [target(GLOBAL_ADMIN, "Role", "Global Administrator", mods=[
              mod("Role.DisplayName", "Global Administrator"), mod("Role.TemplateId", GLOBAL_ADMIN),
              mod("Role.WellKnownObjectName", "TenantAdmins")]),
          target(e.ids.uuid(), "User", upn=upn)]
    return e.audit(when, "Add member to role", "RoleManagement", "Add", _marcus(e), ga,
                   ua=ATTACK_UA, identity="Marcus Okafor")


def delete_ca_policy(e: Entra, when: datetime) -> Json:
    return e.audit(when, "Delete conditional access policy", "Policy", "Delete", _marcus(e),
                   [target(e.az.ca_policy, "Policy", "Require MFA for administrators")],
                   ua=ATTACK_UA, service="Conditional Access", identity="Marcus Okafor")
