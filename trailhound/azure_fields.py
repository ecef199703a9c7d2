"""Azure record paths read both by the normalizer (normalize/azure_activity.py) and by the Sigma
field tables (rules/pipelines.py): one definition, outside both packages, which import each
other's neighbours at load time."""

from __future__ import annotations

# Who called, in Azure Storage resource logs (StorageBlobLogs in the diagnostic-settings export,
# read as azure_activity records): they carry no token claims. Most specific first: the OAuth
# requester's UPN, object id, app id; else the SAS / account key hash (`key1(...)`,
# `SasSignature(...)`), the only name a shared-key request has (Microsoft Learn, "Azure Blob
# Storage monitoring data reference", identity).
STORAGE_CALLER: tuple[str, ...] = (
    "identity.requester.upn",
    "identity.requester.objectId",
    "identity.requester.appId",
    "identity.tokenHash",
)
