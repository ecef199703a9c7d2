"""Stratus Red Team Azure techniques added with Stratus v2.36 (rules/stratus.py
STRATUS_EMULATED): one scenario each, the Activity Log operations the technique's Go package
makes (its "Detection" section names them), in the diagnostic-settings export shape. The two
blob ransomware techniques that only touch the data plane (StorageBlobLogs) are in
emulate/stratus_azure_blob.py. The table is merged into emulate/stratus.py's."""

from __future__ import annotations

from datetime import datetime, timedelta

from trailhound.emulate import azure_ops
from trailhound.emulate.azure import AzCaller
from trailhound.emulate.scenario import Ctx
from trailhound.emulate.stratus_base import RG, AzOp, Entry, azure
from trailhound.emulate.world import Json
from trailhound.rules.related_ids import related_id

STORAGE = f"{RG}/providers/Microsoft.Storage/storageAccounts/stratusredteamstorage"
VAULT = f"{RG}/providers/Microsoft.KeyVault/vaults/stratus-kv-7f3a"


def _action(op: str, res: str) -> AzOp:
    """One POST action (listKeys, publishxml, elevateAccess): logged once, on success."""
    return lambda c, t, who: azure_ops.read_ok(c.az, t, op, res, who)


def _writes(*steps: tuple[str, str, Json | None]) -> AzOp:
    """Writes / deletes in order, 5 seconds apart: (operation, resource, request body)."""
    def op(c: Ctx, t: datetime, who: AzCaller) -> list[Json]:
        out = []
        for i, (name, res, body) in enumerate(steps):
            out += azure_ops.write_ok(c.az, t + timedelta(seconds=5 * i), name, res, who, body)
        return out
    return op


def _then(*ops: AzOp) -> AzOp:
    def op(c: Ctx, t: datetime, who: AzCaller) -> list[Json]:
        return [r for i, o in enumerate(ops) for r in o(c, t + timedelta(seconds=10 * i), who)]
    return op


SA_WRITE = "Microsoft.Storage/storageAccounts/write"
CONTAINER = f"{STORAGE}/blobServices/default/containers/stratus-container"
COGNITIVE = f"{RG}/providers/Microsoft.CognitiveServices/accounts/stratus-foundry-2kq1"
IDENTITY = f"{RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/stratus-victim-mi"
FIC = {"properties": {"issuer": "https://stratusficmi3qbu.blob.core.windows.net/oidc",
                      "subject": "stratus-red-team-oidc",
                      "audiences": ["api://AzureADTokenExchange"]}}
KEY = {"keyName": "stratus-ransom-key", "keyVaultUri": "https://stratus-kv-7f3a.vault.azure.net/"}


def _r(name: str) -> str:
    return related_id(name)


TABLE: dict[str, Entry] = {
    "azure.credential-access.app-service-publishing-credentials": (
        "the App Service publishing profile downloaded (publishxml)", azure(_action(
            "Microsoft.Web/sites/publishxml/action",
            f"{RG}/providers/Microsoft.Web/sites/srt-asp-cred")),
        (_r("azure_activity_app_service_publishing_profile_read"),)),
    "azure.exfiltration.storage-public-access": (
        "anonymous blob access enabled on the account, then on a container", azure(_writes(
            (SA_WRITE, STORAGE, {"properties": {"allowBlobPublicAccess": True}}),
            ("Microsoft.Storage/storageAccounts/blobServices/containers/write", CONTAINER,
             {"properties": {"publicAccess": "Container"}}))),
        (_r("azure_activity_storage_public_access_enabled"),)),
    "azure.exfiltration.storage-sas-export": (
        "the storage account keys listed (to sign a SAS URL)", azure(_action(
            "Microsoft.Storage/storageAccounts/listKeys/action", STORAGE)),
        (_r("azure_activity_storage_keys_listed"),)),
    "azure.impact.blob-ransomware-client-encryption-scope": (
        "purge protection on the vault, an encryption scope on its new key", azure(_writes(
            ("Microsoft.KeyVault/vaults/write", VAULT,
             {"properties": {"enablePurgeProtection": True}}),
            ("Microsoft.Storage/storageAccounts/encryptionScopes/write",
             f"{STORAGE}/encryptionScopes/stratus-scope",
             {"properties": {"source": "Microsoft.KeyVault",
                             "keyVaultProperties": {"keyUri": KEY["keyVaultUri"] + "keys/"
                                                    + KEY["keyName"]}}}))),
        (_r("azure_activity_storage_encryption_key_changed"),)),
    "azure.impact.blob-ransomware-service-storage-cmk": (
        "the account moved to the attacker's Key Vault key, then the vault deleted", azure(_writes(
            ("Microsoft.KeyVault/vaults/write", VAULT,
             {"properties": {"enablePurgeProtection": True}}),
            (SA_WRITE, STORAGE, {"properties": {"encryption": {
                "keySource": "Microsoft.Keyvault",
                "keyvaultproperties": {"keyname": KEY["keyName"],
                                       "keyvaulturi": KEY["keyVaultUri"]}}}}),
            ("Microsoft.KeyVault/vaults/delete", VAULT, None))),
        (_r("azure_activity_key_vault_deleted"), _r("azure_activity_storage_encryption_key_changed"))),
    "azure.impact.resource-lock": (
        "the resource group's ReadOnly lock deleted", azure(_writes(
            ("Microsoft.Authorization/locks/delete",
             f"{RG}/providers/Microsoft.Authorization/locks/stratus-storage-lock", None))),
        (_r("azure_activity_resource_lock_deleted"),)),
    "azure.persistence.backdoor-managed-identity-fic": (
        "a federated identity credential on a managed identity", azure(_writes(
            ("Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/write",
             f"{IDENTITY}/federatedIdentityCredentials/stratus-red-team-oidc-fic", FIC))),
        (_r("azure_activity_managed_identity_fic_written"),)),
    "azure.persistence.exfiltrate-foundry-key": (
        "listKeys denied, disableLocalAuth set false, listKeys", azure(_then(
            lambda c, t, who: c.az.export(
                t, "Microsoft.CognitiveServices/accounts/listKeys/action", COGNITIVE, who,
                [("Failure", 0.2, "Failed.BadRequest", {"statusCode": "BadRequest"})]),
            _writes(("Microsoft.CognitiveServices/accounts/write", COGNITIVE,
                     {"properties": {"disableLocalAuth": False}})),
            _action("Microsoft.CognitiveServices/accounts/listKeys/action", COGNITIVE))),
        (_r("azure_activity_ai_local_auth_enabled"),)),
    "azure.privilege-escalation.root-user-access-administrator": (
        "elevateAccess: User Access Administrator at /", azure(_action(
            "Microsoft.Authorization/elevateAccess/action", "/providers/Microsoft.Authorization")),
        ("priv_esc",)),  # the flagship's Azure priv_esc rule names elevateAccess
}
