"""Stratus Red Team's two Azure blob ransomware techniques that touch only the data plane
(azure.impact.blob-ransomware-individual-file-deletion, blob-ransomware-cpek): the Azure Storage
resource log records (StorageBlobLogs, in the diagnostic-settings export shape: `category`
StorageRead / StorageWrite / StorageDelete, `identity.requester`, `properties.objectKey`) that
the calls of each technique's Go package leave, read by trailhound as azure_activity records.
The table is merged into emulate/stratus.py's.

From the Go packages (v2/internal/attacktechniques/azure/impact/blob-ransomware-*/main.go and
main.tf): 51 blobs in 5 containers, the Azure SDK for Go (azblob) signed in with the operator's
Entra token (OAuth). Deletion: list, download every blob, delete each (DeleteBlob), list again,
delete each remaining version, upload a ransom note. CPK: list, then per blob download (GetBlob)
and re-upload it in place under a customer-provided AES-256 key (PutBlob), upload a ransom note.
StorageBlobLogs record no encryption header, so the CPK rewrite itself reads as ordinary
GetBlob / PutBlob: what marks it is the owner's next reads, refused with 409
BlobUsesCustomerSpecifiedEncryption (the key they do not send); the scenario ends with those.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from trailhound.emulate.azure import AZ_CLI_APP, AzCaller
from trailhound.emulate.scenario import Ctx
from trailhound.emulate.stratus_base import RG, Entry, azure
from trailhound.emulate.world import TENANT, Json

BLOB_DATA_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"  # built-in role definition id
GO_UA = "azsdk-go-azblob/v1.6.0 (go1.24.4; linux)"
CONTAINERS = tuple(f"container-{i}" for i in range(1, 6))
N_BLOBS = 51
# a few of main.tf's words and extensions: the names only need to look like its blobs
WORDS = ("liable", "donated", "mayday", "blooper", "pueblo", "tantrum", "scary", "secret",
         "ignition", "credit", "kitchen", "voyage", "caravan", "portfolio", "anchor", "falcon")
EXTENSIONS = ("sql", "txt", "docx", "pdf", "png", "tar.gz")
ACTIONS = {  # the RBAC data action each operation is authorised by
    "StorageRead": "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read",
    "StorageWrite": "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write",
    "StorageDelete": "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete",
}
CATEGORY = {"GetBlob": "StorageRead", "ListBlobs": "StorageRead", "ListContainers": "StorageRead",
            "PutBlob": "StorageWrite", "CreateContainer": "StorageWrite",
            "DeleteBlob": "StorageDelete"}


def blob_log(c: Ctx, t: datetime, account: str, op: str, key: str, who: AzCaller,
             status: tuple[int, str] = (200, "Success"), ua: str = GO_UA) -> Json:
    """One StorageBlobLogs record of an OAuth request (`key`: container/blob, or "" for the
    account)."""
    i = c.ids
    category = CATEGORY[op]
    obj = f"/{account}/{key}" if key else f"/{account}"
    code, text = status
    return {
        # 7 digits as Azure writes them, the first 6 the call's own: the SDK's calls are tens of
        # milliseconds apart, and world.frac's random fraction would reorder them
        "time": t.strftime("%Y-%m-%dT%H:%M:%S.%f") + i.chars("0123456789", 1) + "Z",
        "resourceId": f"{RG}/providers/Microsoft.Storage/storageAccounts/{account}"
                      "/blobServices/default",
        "category": category,
        "operationName": op,
        "operationVersion": "2025-01-05",
        "schemaVersion": "1.0",
        "statusCode": code,
        "statusText": text,
        "durationMs": i.rng.randint(2, 40),
        "callerIpAddress": f"{who.ip}:{i.rng.randint(20000, 65000)}",
        "correlationId": i.uuid(),
        "identity": {
            "type": "OAuth",
            "tokenHash": i.hex(64).upper(),
            "authorization": [{
                "action": ACTIONS[category], "roleAssignmentId": i.uuid(),
                "roleDefinitionId": BLOB_DATA_CONTRIBUTOR,
                "principals": [{"id": who.oid, "type": who.kind}],
                "denyAssignmentId": "", "type": "RBAC", "result": "Granted", "reason": "Policy"}],
            "requester": {
                "appId": who.claims.get("appid", AZ_CLI_APP),
                "audience": "https://storage.azure.com/",
                "objectId": who.oid, "tenantId": TENANT,
                "tokenIssuer": f"https://sts.windows.net/{TENANT}/",
                **({"upn": who.name} if who.kind == "User" else {})},
        },
        "location": "westus",
        "properties": {
            "accountName": account, "userAgentHeader": ua, "clientRequestId": i.uuid(),
            "serviceType": "blob", "objectKey": obj,
            "metricResponseType": "Success" if code < 400 else "ClientOtherError",
            "serverLatencyMs": i.rng.randint(2, 30), "tlsVersion": "TLS 1.3",
        },
        "uri": f"https://{account}.blob.core.windows.net:443/{key}",
        "protocol": "HTTPS",
    }


def _blobs(c: Ctx) -> list[str]:
    """main.tf's 51 blobs: two words and an extension, spread over the 5 containers."""
    rng = c.ids.rng
    return [f"{CONTAINERS[n % 5]}/{rng.choice(WORDS)}-{rng.choice(WORDS)}-{n}."
            f"{rng.choice(EXTENSIONS)}" for n in range(N_BLOBS)]


class _Clock:
    """The SDK's calls one after another, a few tens of milliseconds apart."""

    def __init__(self, t: datetime) -> None:
        self.t = t

    def next(self, c: Ctx) -> datetime:
        self.t += timedelta(milliseconds=c.ids.rng.randint(40, 160))
        return self.t


def _list_all(c: Ctx, clock: _Clock, account: str, who: AzCaller) -> list[Json]:
    """utils.ListAllBlobVersions: the containers, then each one's blobs and versions."""
    out = [blob_log(c, clock.next(c), account, "ListContainers", "", who)]
    return out + [blob_log(c, clock.next(c), account, "ListBlobs", name, who)
                  for name in CONTAINERS]


def _ransom_note(c: Ctx, clock: _Clock, account: str, who: AzCaller, name: str) -> list[Json]:
    """utils.UploadBlob: the note's container, then the note."""
    return [blob_log(c, clock.next(c), account, "CreateContainer", name.split("/")[0], who,
                     (201, "Success")),
            blob_log(c, clock.next(c), account, "PutBlob", name, who, (201, "Success"))]


DELETION_ACCOUNT = "stratusrtd4k2mq"
CPK_ACCOUNT = "stratusrt8h3xcz"


def _individual_deletion(c: Ctx, t: datetime, who: AzCaller) -> list[Json]:
    clock, acct, blobs = _Clock(t), DELETION_ACCOUNT, _blobs(c)
    out = _list_all(c, clock, acct, who)
    out += [blob_log(c, clock.next(c), acct, "GetBlob", b, who) for b in blobs]
    out += _list_all(c, clock, acct, who)
    out += [blob_log(c, clock.next(c), acct, "DeleteBlob", b, who, (202, "Success"))
            for b in blobs]
    out += _list_all(c, clock, acct, who)  # versioning kept each deleted blob as a version
    out += [blob_log(c, clock.next(c), acct, "DeleteBlob", b, who, (200, "Success"))
            for b in blobs]
    return out + _ransom_note(c, clock, acct, who, "your-files-deleted/FILES-DELETED.txt")


def _cpek(c: Ctx, t: datetime, who: AzCaller) -> list[Json]:
    clock, acct, blobs = _Clock(t), CPK_ACCOUNT, _blobs(c)
    out = _list_all(c, clock, acct, who)
    for b in blobs:  # DownloadStream, then UploadStream with CPKInfo (one PutBlob: < 1 block)
        out.append(blob_log(c, clock.next(c), acct, "GetBlob", b, who))
        out.append(blob_log(c, clock.next(c), acct, "PutBlob", b, who, (201, "Success")))
    out += _ransom_note(c, clock, acct, who, "your-files-encrypted/FILES-ENCRYPTED.txt")
    # an hour later, the owner's application (a managed identity) reads its files as every day:
    # without the attacker's key, each read is refused
    app = c.az.app(c.az.automation_app, c.az.automation_sp, "10.20.4.17",
                   ("Storage Blob Data Reader", BLOB_DATA_CONTRIBUTOR), t)
    later = _Clock(t + timedelta(hours=1))
    return out + [blob_log(c, later.next(c), acct, "GetBlob", b, app,
                           (409, "BlobUsesCustomerSpecifiedEncryption"),
                           "azsdk-net-Storage.Blobs/12.22.2 (.NET 8.0.8; Linux)")
                  for b in blobs[:12]]


TABLE: dict[str, Entry] = {
    "azure.impact.blob-ransomware-individual-file-deletion": (
        "51 blobs downloaded, deleted one by one, their versions too, a ransom note",
        azure(_individual_deletion), ("azure_storage_blobs_bulk_deleted",)),
    "azure.impact.blob-ransomware-cpek": (
        "51 blobs rewritten under a customer-provided key; the owner's reads then refused",
        azure(_cpek), ("azure_storage_blobs_cpk_locked",)),
}
