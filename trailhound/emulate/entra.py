"""Entra ID builders: audit-log records and sign-ins as the Event Hub diagnostic export carries
them (category AuditLogs / SignInLogs)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from trailhound.emulate.azure import Azure
from trailhound.emulate.world import AZ_ATTACKER, B32, TENANT, Json, at, frac

Prop = dict[str, str | None]  # an Entra modifiedProperties item

EDGE_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/122.0.0.0 Safari/537.36 Edg/122.0.2365.80"
)
ATTACK_UA = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/121.0.0.0 Safari/537.36"
)
GLOBAL_ADMIN = "62e90394-69f5-4237-9190-012177145e10"  # Global Administrator role template id


def mod(name: str, new: Any, old: Any = None) -> Prop:
    """A modifiedProperties item: values are JSON text, as Entra writes them."""
    return {
        "displayName": name,
        "oldValue": "[]" if old is None else json.dumps(old),
        "newValue": json.dumps(new),
    }


def target(
    oid: str,
    kind: str,
    display: str | None = None,
    upn: str | None = None,
    mods: list[Prop] | None = None,
) -> Json:
    t: Json = {"id": oid, "displayName": display, "type": kind}
    if upn:
        t["userPrincipalName"] = upn
    t["modifiedProperties"] = mods or []
    t["administrativeUnits"] = []
    return t


def included(names: list[str]) -> Prop:
    """The 'Included Updated Properties' item that closes a list of changes (oldValue null)."""
    return mod("Included Updated Properties", ", ".join(names)) | {"oldValue": None}


def updated(props: dict[str, Any]) -> list[Prop]:
    """modifiedProperties of an update: each change, then 'Included Updated Properties'."""
    return [mod(k, new, old) for k, (old, new) in props.items()] + [included(list(props))]


class Entra:
    def __init__(self, az: Azure) -> None:
        self.az, self.ids = az, az.ids

    @staticmethod
    def by_user(upn: str, oid: str, ip: str) -> Json:
        return {
            "user": {
                "id": oid,
                "displayName": None,
                "userPrincipalName": upn,
                "ipAddress": ip,
                "roles": [],
            }
        }

    @staticmethod
    def by_app(app_id: str, name: str, sp: str) -> Json:
        return {
            "app": {
                "appId": app_id,
                "displayName": name,
                "servicePrincipalId": sp,
                "servicePrincipalName": None,
            }
        }

    def audit(
        self,
        when: str | datetime,
        activity: str,
        category: str,
        op_type: str,
        by: Json,
        targets: list[Json],
        *,
        identity: str,
        ua: str | None = None,
        ip: str | None = None,
        service: str = "Core Directory",
        result: str = "success",
        reason: str = "",
        details: list[dict[str, str]] | None = None,
    ) -> Json:
        i = self.ids
        corr = i.uuid()
        stamp = frac(at(when), 7, i)
        extra = list(details or []) + ([{"key": "User-Agent", "value": ua}] if ua else [])
        if ip is None:
            ip = by.get("user", {}).get("ipAddress", "")
        return {
            "time": stamp,
            "resourceId": f"/tenants/{TENANT}/providers/Microsoft.aadiam",
            "operationName": activity,
            "operationVersion": "1.0",
            "category": "AuditLogs",
            "tenantId": TENANT,
            "resultSignature": "None",
            "durationMs": 0,
            "callerIpAddress": ip,
            "correlationId": corr,
            "identity": identity,
            "Level": 4,
            "properties": {
                "id": f"Directory_{corr}_{i.chars(B32[:26], 5)}_{i.digits(9)}",
                "category": category,
                "correlationId": corr,
                "result": result,
                "resultReason": reason,
                "activityDisplayName": activity,
                "activityDateTime": stamp[:-1] + "+00:00",
                "loggedByService": service,
                "operationType": op_type,
                "initiatedBy": by,
                "targetResources": targets,
                "additionalDetails": extra,
            },
        }

    def sign_in(
        self,
        when: str | datetime,
        upn: str,
        name: str,
        oid: str,
        app: tuple[str, str],
        *,
        ip: str = AZ_ATTACKER,
        ua: str = ATTACK_UA,
    ) -> Json:
        """An Entra sign-in on the same hub (category SignInLogs): readers must not mistake it."""
        i = self.ids
        stamp = frac(at(when), 7, i)
        return {
            "time": stamp,
            "resourceId": f"/tenants/{TENANT}/providers/Microsoft.aadiam",
            "operationName": "Sign-in activity",
            "operationVersion": "1.0",
            "category": "SignInLogs",
            "tenantId": TENANT,
            "resultType": "0",
            "resultSignature": "None",
            "resultDescription": "",
            "durationMs": 0,
            "callerIpAddress": ip,
            "correlationId": i.uuid(),
            "identity": name,
            "Level": 4,
            "location": "NL",
            "properties": {
                "id": i.uuid(),
                "createdDateTime": stamp[:-1] + "+00:00",
                "userDisplayName": name,
                "userPrincipalName": upn,
                "userId": oid,
                "appId": app[0],
                "appDisplayName": app[1],
                "ipAddress": ip,
                "status": {"errorCode": 0},
                "clientAppUsed": "Mobile Apps and Desktop clients",
                "userAgent": ua,
                "conditionalAccessStatus": "notApplied",
                "authenticationRequirement": "singleFactorAuthentication",
                "incomingTokenType": "primaryRefreshToken",
                "isInteractive": False,
                "resourceDisplayName": "Windows Azure Service Management API",
                "resourceId": "797f4846-ba00-4fd7-ba43-dac1f8f63013",
                "location": {
                    "city": "Amsterdam",
                    "state": "Noord-Holland",
                    "countryOrRegion": "NL",
                },
                "riskLevelDuringSignIn": "none",
                "riskState": "none",
            },
        }
