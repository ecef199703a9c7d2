"""Field mapping per log source, as pySigma processing pipelines.

Rules name fields the way one export shape spells them; the same fact sits under other names in
the other shapes of the same log (log-formats.md §2.1, §3.3). Each Sigma field below maps to the
list of raw paths where any shape keeps it, and pySigma turns a one-to-many mapping into an OR of
detection items, so the engines only ever look raw paths up in `Event.raw`.
"""

from __future__ import annotations

from sigma.processing.conditions import LogsourceCondition
from sigma.processing.pipeline import ProcessingItem, ProcessingPipeline
from sigma.processing.transformations import FieldMappingTransformation

# Azure Activity: diagnostic export (Event Hub) names -> REST/CLI, SDK snake_case, Sentinel columns.
AZURE_ACTIVITY_FIELDS: dict[str, list[str]] = {
    "operationName": [
        "operationName",
        "operationName.value",
        "operation_name.value",
        "OperationNameValue",
    ],
    "resultType": [
        "resultType",
        "status.value",
        "ActivityStatusValue",
        "ActivityStatus",
    ],
    "category": ["category", "category.value", "CategoryValue"],
    "callerIpAddress": [
        "callerIpAddress",
        "httpRequest.clientIpAddress",
        "http_request.client_ip_address",
        "CallerIpAddress",
    ],
    "caller": ["caller", "Caller"],
}

# Entra ID audit: Graph directoryAudit names -> diagnostic (`properties.*`, top-level
# operationName) and Sentinel AuditLogs columns.
ENTRA_AUDIT_FIELDS: dict[str, list[str]] = {
    "activityDisplayName": [
        "activityDisplayName",
        "properties.activityDisplayName",
        "ActivityDisplayName",
        "operationName",
        "OperationName",
    ],
    "result": ["result", "properties.result", "Result"],
    "category": ["category", "properties.category", "Category"],
    "loggedByService": ["loggedByService", "properties.loggedByService", "LoggedByService"],
}


def _mapping(product: str, service: str, fields: dict[str, list[str]], ident: str) -> ProcessingItem:
    return ProcessingItem(
        identifier=ident,
        transformation=FieldMappingTransformation(dict(fields)),  # type: ignore[arg-type]
        rule_conditions=[LogsourceCondition(product=product, service=service)],
    )


def default_pipeline() -> ProcessingPipeline:
    """The pipeline applied to every rule trailhound loads (a new one each call: pySigma
    pipelines keep per-rule state)."""
    return ProcessingPipeline(
        name="trailhound raw exports",
        priority=20,
        items=[
            _mapping("azure", "activitylogs", AZURE_ACTIVITY_FIELDS, "th_azure_activity_fields"),
            _mapping("azure", "auditlogs", ENTRA_AUDIT_FIELDS, "th_entra_audit_fields"),
        ],
    )
