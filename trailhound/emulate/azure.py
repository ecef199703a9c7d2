"""Azure Activity Log builders: callers with their token claims, and one ARM operation in the
diagnostic-settings export shape and in the `az monitor activity-log list` (REST) shape."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from trailhound.emulate.world import ALNUM, SUB, TENANT, Ids, Json, frac

AZ_CLI_APP = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"  # Microsoft Azure CLI (first-party client id)
AZ_PS_APP = "1950a258-227b-4e31-a9cf-717495945fc2"  # Microsoft Azure PowerShell
OWNER, CONTRIBUTOR = "8e3af657a8ff443ca75c2fe8c4bcb635", "b24988ac618042a0ab8820f7382dd24c"
VM_CONTRIBUTOR = "9980e02cc2be4d7394e8173b1dc7cf3c"


@dataclass(frozen=True)
class AzCaller:
    claims: dict[str, str]
    oid: str
    kind: str  # User | ServicePrincipal
    ip: str
    role: tuple[str, str]  # (role name, role definition id) that authorised the call
    name: str  # what `caller` shows in the REST shape: UPN or app id


class Azure:
    """Azure and Entra identities, and builders for Activity records in both export shapes."""

    def __init__(self, ids: Ids) -> None:
        self.ids = ids
        u = ids.uuid
        self.marcus, self.priya, self.helpdesk = u(), u(), u()
        self.deploy_sp, self.deploy_app = u(), u()
        self.automation_sp, self.automation_app = u(), u()
        self.billing_app, self.billing_sp, self.billing_obj = u(), u(), u()
        self.rogue_app, self.rogue_sp = u(), u()
        self.ca_policy, self.custom_role = u(), u()

    def user(
        self,
        upn: str,
        name: str,
        oid: str,
        ip: str,
        app: str,
        role: tuple[str, str],
        when: datetime,
    ) -> AzCaller:
        i = self.ids
        iat = int((when - timedelta(minutes=i.rng.randint(5, 40))).timestamp())
        # A real token carries a few more claims (aio, puid, nameidentifier, given/surname).
        claims = {
            "aud": "https://management.core.windows.net/",
            "iss": f"https://sts.windows.net/{TENANT}/",
            "iat": str(iat),
            "nbf": str(iat),
            "exp": str(iat + 4487),
            "http://schemas.microsoft.com/claims/authnmethodsreferences": "pwd,mfa",
            "appid": app,
            "appidacr": "0",
            "ipaddr": ip,
            "name": name,
            "http://schemas.microsoft.com/identity/claims/objectidentifier": oid,
            "http://schemas.microsoft.com/identity/claims/scope": "user_impersonation",
            "http://schemas.microsoft.com/identity/claims/tenantid": TENANT,
            "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn": upn,
            "uti": i.chars(ALNUM + "-_", 22),
            "ver": "1.0",
        }
        return AzCaller(claims, oid, "User", ip, role, upn)

    def app(self, app: str, oid: str, ip: str, role: tuple[str, str], when: datetime) -> AzCaller:
        i = self.ids
        iat = int((when - timedelta(minutes=i.rng.randint(5, 40))).timestamp())
        claims = {
            "aud": "https://management.core.windows.net/",
            "iss": f"https://sts.windows.net/{TENANT}/",
            "iat": str(iat),
            "nbf": str(iat),
            "exp": str(iat + 86399),
            "appid": app,
            "appidacr": "2",
            "idtyp": "app",
            "http://schemas.microsoft.com/identity/claims/objectidentifier": oid,
            "http://schemas.microsoft.com/identity/claims/tenantid": TENANT,
            "uti": i.chars(ALNUM + "-_", 22),
            "ver": "1.0",
        }
        return AzCaller(claims, oid, "ServicePrincipal", ip, role, app)

    def evidence(self, c: AzCaller) -> Json:
        return {
            "role": c.role[0],
            "roleAssignmentScope": f"/subscriptions/{SUB}",
            "roleAssignmentId": self.ids.hex(32),
            "roleDefinitionId": c.role[1],
            "principalId": c.oid.replace("-", ""),
            "principalType": c.kind,
        }

    def export(
        self,
        start: datetime,
        op: str,
        resource: str,
        c: AzCaller,
        phases: list[tuple[str, float, str, Json]],
    ) -> list[Json]:
        """One ARM operation in the diagnostic-settings export: a record per phase
        (resultType, seconds after start, resultSignature, extra properties), one correlationId,
        operation and resource ids upper-cased as exports often write them."""
        i = self.ids
        corr = i.uuid()
        authz = {"scope": resource, "action": op, "evidence": self.evidence(c)}
        out = []
        for result, delay, sig, props in phases:
            p: Json = {}
            if result != "Start":
                p["statusCode"] = sig.partition(".")[2] or "OK"
                p["serviceRequestId"] = None if "Authorization" in op else i.uuid()
            p |= props
            p |= {"eventCategory": "Administrative", "entity": resource, "message": op}
            p["hierarchy"] = f"{TENANT}/mg-acme-platform/{SUB}"
            out.append(
                {
                    "time": frac(start + timedelta(seconds=delay), 7, i),
                    "resourceId": resource.upper(),
                    "operationName": op.upper(),
                    "category": "Administrative",
                    "resultType": result,
                    "resultSignature": sig,
                    "durationMs": str(int(delay * 1000)),
                    "callerIpAddress": c.ip,
                    "correlationId": corr,
                    "identity": {"authorization": authz, "claims": c.claims},
                    "level": "Error" if result == "Failure" else "Information",
                    "location": "global",
                    "properties": p,
                }
            )
        return out

    def rest(
        self,
        start: datetime,
        op: str,
        label: str,
        resource: str,
        c: AzCaller,
        phases: list[tuple[str, str, float]],
    ) -> list[Json]:
        """One operation as `az monitor activity-log list` prints it: (status, subStatus, delay)."""
        i = self.ids
        corr, op_id, client_req = i.uuid(), i.uuid(), i.uuid()
        provider, rtype = op.split("/")[0], "/".join(op.split("/")[:2])
        rg = resource.split("/")[4]
        out = []
        for status, sub_status, delay in phases:
            when = start + timedelta(seconds=delay)
            edid = i.uuid()
            ticks = int((when - datetime(1, 1, 1, tzinfo=UTC)).total_seconds() * 10_000_000)
            begin = status == "Started"
            props: Json = {"eventCategory": "Administrative", "entity": resource, "message": op}
            props["hierarchy"] = f"{TENANT}/mg-acme-platform/{SUB}"
            if not begin:
                props["statusCode"] = "OK" if status == "Succeeded" else "Accepted"
            out.append(
                {
                    "authorization": {"action": op, "role": c.role[0], "scope": resource},
                    "caller": c.name,
                    "category": {"localizedValue": "Administrative", "value": "Administrative"},
                    "claims": c.claims,
                    "correlationId": corr,
                    "description": "",
                    "eventDataId": edid,
                    "eventName": {
                        "localizedValue": "Begin request" if begin else "End request",
                        "value": "BeginRequest" if begin else "EndRequest",
                    },
                    "eventTimestamp": frac(when, 7, i),
                    "httpRequest": {
                        "clientIpAddress": c.ip,
                        "clientRequestId": client_req,
                        "method": "POST",
                    },
                    "id": f"{resource}/events/{edid}/ticks/{ticks}",
                    "level": "Informational",
                    "operationId": op_id,
                    "operationName": {"localizedValue": label, "value": op},
                    "properties": props,
                    "relatedEvents": [],
                    "resourceGroupName": rg.upper(),
                    "resourceId": resource,
                    "resourceProviderName": {"localizedValue": provider, "value": provider},
                    "resourceType": {"localizedValue": rtype, "value": rtype},
                    "status": {"localizedValue": status, "value": status},
                    "subStatus": {"localizedValue": sub_status, "value": sub_status},
                    "submissionTimestamp": frac(
                        when + timedelta(seconds=i.rng.randint(20, 90)), 7, i
                    ),
                    "subscriptionId": SUB,
                    "tenantId": "",
                }
            )
        return out


def role_definition_id(guid: str) -> str:
    g = guid
    return f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/" + (
        f"{g[:8]}-{g[8:12]}-{g[12:16]}-{g[16:20]}-{g[20:]}"
    )
